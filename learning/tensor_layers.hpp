#pragma once
// The tensor layers of the surrogate-gradient path, one header each (their shared conventions:
// learning/tensor_common.hpp). Include this for all of them.
#include "learning/batch_norm_layer.hpp"
#include "learning/conv2d_layer.hpp"
#include "learning/flatten_layer.hpp"
#include "learning/linear_layer.hpp"
#include "learning/pooling_layers.hpp"
#include "learning/relu_layers.hpp"
#include "learning/tensor_common.hpp"

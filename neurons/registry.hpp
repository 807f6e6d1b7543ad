#pragma once
// The neuron models the program knows. A new model is one header (see neurons/common.hpp for
// what it declares) and its entry in `models` below; the engine, the network-file reader,
// validation, recorders and `kspike info --models` find it here.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "neurons/adaptive_lif.hpp"
#include "neurons/adex.hpp"
#include "neurons/cuba_lif.hpp"
#include "neurons/discrete_lif.hpp"
#include "neurons/hoyer_spike.hpp"
#include "neurons/if_neuron.hpp"
#include "neurons/lif.hpp"
#include "neurons/mpbn_folded.hpp"

namespace kspike::neurons {

template <class... M>
struct model_list {
  static constexpr std::size_t size = sizeof...(M);
};

using models = model_list<lif, if_neuron, cuba_lif, adaptive_lif, adex, discrete_lif, accumulator, hoyer_spike, mpbn_folded>;

// A value standing for a model type, for generic lambdas: [](auto tag) { using M = typename decltype(tag)::type; }.
template <class M>
struct model_tag {
  using type = M;
};

// Calls f(model_tag<M>{}) for every registered model, in order.
template <class F, class... M>
void for_each_model(model_list<M...>, F&& f) {
  (f(model_tag<M>{}), ...);
}
template <class F>
void for_each_model(F&& f) {
  for_each_model(models{}, std::forward<F>(f));
}

// Calls f(model_tag<M>{}) for the model at `index` of the list; false when there is none.
template <class F, class... M>
bool with_model_at(model_list<M...>, std::size_t index, F&& f) {
  std::size_t k = 0;
  return ((k++ == index ? (f(model_tag<M>{}), true) : false) || ...);
}
template <class F>
bool with_model_at(std::size_t index, F&& f) {
  return with_model_at(models{}, index, std::forward<F>(f));
}

// A model's own state variables by name, in storage order.
template <class M>
std::vector<std::string> variable_names() {
  std::vector<std::string> names;
  M::variables([&](const char* name, auto, const char*, const char*) { names.emplace_back(name); });
  return names;
}

// The variable's unit ("" for none of the model's own).
template <class M>
std::string variable_unit(const std::string& variable) {
  std::string unit;
  M::variables([&](const char* name, auto, const char* u, const char*) {
    if (variable == name) unit = u;
  });
  return unit;
}

// The model's own state variables for any model, by index.
inline std::vector<std::string> variable_names_at(std::size_t index) {
  std::vector<std::string> names;
  with_model_at(index, [&](auto tag) { names = variable_names<typename decltype(tag)::type>(); });
  return names;
}

}  // namespace kspike::neurons

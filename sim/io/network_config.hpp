#pragma once
// TOML network configurations (schema: docs/config.md). Host-only.
#include <string>
#include <string_view>

#include "sim/network.hpp"

namespace kspike::io {

// Reads and validates a network file. Any problem throws kspike::error with one line
// "FILE: FIELD: what is wrong" (FIELD a dotted path such as populations.exc.tau).
network load_network(const std::string& path);
// The same from text; `source` names it in error messages.
network parse_network(std::string_view toml_text, const std::string& source);

// A quantity: a bare number (SI) or a string "number unit", e.g. "20 ms", "-49 mV", "5 Hz".
// Throws kspike::error naming `field` if the unit is unknown or of the wrong dimension.
double parse_quantity(std::string_view text, std::string_view expected_dimension, const std::string& field);

}  // namespace kspike::io

#pragma once
// A small valid network file (Poisson input -> LIF), the base that input-error tests edit.
namespace kspike_test {

inline const char* small_network_toml = R"(dt = "0.1 ms"
duration = "50 ms"
seed = 1
[populations.src]
size = 10
model = "poisson"
rate = "100 Hz"
[populations.n]
size = 5
model = "lif"
tau = "10 ms"
v_threshold = "15 mV"
[projections.in]
pre = "src"
post = "n"
receptor = "excitatory"
connector = { type = "fixed_probability", p = 0.5 }
weight = "4 mV"
delay = "1 ms"
[[record.spikes]]
population = "n"
)";

}  // namespace kspike_test

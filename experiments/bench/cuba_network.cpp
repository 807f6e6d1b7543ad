#include "experiments/bench/cuba_network.hpp"

namespace kspike::bench {

network cuba_network() {
  network net;
  net.source = "CUBA (built in, = experiments/networks/cuba.toml)";
  net.dt = 0.1e-3;
  net.duration = 1.0;
  net.seed = 42;
  neurons::cuba_lif::params p;
  p.tau_mem = 20e-3;
  p.tau_syn_e = 5e-3;
  p.tau_syn_i = 10e-3;
  p.r = 1.0;  // so that weights in A move v as Brian2's weights in V do
  p.v_leak = -49e-3;
  p.v_threshold = -50e-3;
  p.v_reset = -60e-3;
  p.t_ref = 5e-3;
  for (auto [name, size] : {std::pair{"exc", 3200}, {"inh", 800}}) {
    population pop;
    pop.name = name;
    pop.size = size;
    pop.model = p;
    pop.has_v_init = true;
    pop.v_init = value_dist::uniform(-60e-3, -50e-3);
    net.populations.push_back(pop);
  }
  const struct {
    const char *name, *pre, *post;
    receptor target;
    double weight;
  } projections[] = {{"ee", "exc", "exc", receptor::excitatory, 1.62e-3},
                     {"ei", "exc", "inh", receptor::excitatory, 1.62e-3},
                     {"ie", "inh", "exc", receptor::inhibitory, -9e-3},
                     {"ii", "inh", "inh", receptor::inhibitory, -9e-3}};
  for (const auto& d : projections) {
    projection pr;
    pr.name = d.name;
    pr.pre = d.pre;
    pr.post = d.post;
    pr.target = d.target;
    pr.conn.type = connector::kind::fixed_probability;
    pr.conn.p = 0.02;
    pr.conn.allow_self = true;
    pr.weight = value_dist::constant(d.weight);
    net.projections.push_back(pr);
  }
  net.spike_recorders = {{"exc"}, {"inh"}};
  return net;
}

}  // namespace kspike::bench

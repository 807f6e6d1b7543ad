#include "sim/window_circuit.hpp"

#include <cmath>
#include <string>

#include "sim/core/error.hpp"

namespace kspike {

namespace {

// Delays in whole steps, as the engine counts them (at least one).
std::int64_t steps_of(double seconds, double dt) { return std::llround(seconds / dt); }

}  // namespace

window_circuit read_window_circuit(const network& net) {
  const std::string where = (net.source.empty() ? std::string("network") : net.source) + ": window schedule: ";
  auto need = [&](bool ok, const std::string& what) {
    if (!ok) throw error(where + what);
  };
  window_circuit c;
  need(net.populations.size() == 3 && net.projections.size() == 3,
       "runs a circuit of 3 populations (input, excitatory, inhibitory) and 3 projections (docs/architecture.md)");
  need(net.currents.empty(), "current sources are not supported");
  need(net.state_recorders.empty(), "state recorders are not supported");

  for (std::size_t i = 0; i < net.populations.size(); ++i) {
    const population& p = net.populations[i];
    if (const auto* src = std::get_if<poisson_source>(&p.model)) {
      if (c.input >= 0)
        throw error(where + "expects one Poisson population (found '" +
                    net.populations[static_cast<std::size_t>(c.input)].name + "' and '" + p.name + "')");
      need(src->draw == poisson_source::sampling::gaps,
           "populations." + p.name + ".sampling: must be \"gaps\" (the window schedule draws input spikes by gaps)");
      c.input = static_cast<int>(i);
    } else {
      need(std::holds_alternative<neurons::adaptive_lif::params>(p.model),
           "populations." + p.name + ".model: must be poisson or adaptive_lif (got " + model_name(p.model) + ")");
      need(p.background.inputs == 0, "populations." + p.name + ".background: not supported");
      const auto& a = std::get<neurons::adaptive_lif::params>(p.model);
      need(a.method == neurons::integrator::euler, "populations." + p.name + ".method: must be \"euler\"");
      need(!p.has_v_init || p.v_init.type == value_dist::kind::constant,
           "populations." + p.name + ".v_init: must be a single value");
    }
  }
  need(c.input >= 0, "expects one population of model poisson");

  // The projections by their shape: the input onto the excitatory layer, one-to-one onto the
  // inhibitory partners, and back to every other excitatory neuron.
  for (std::size_t k = 0; k < net.projections.size(); ++k) {
    const projection& pr = net.projections[k];
    const std::string field = "projections." + pr.name;
    need(pr.procedural.type == procedural_connection::kind::none, field + ": procedural projections are not supported");
    if (net.find_population(pr.pre) == c.input) {
      need(c.input_proj < 0, field + ": one projection may leave the input population");
      c.input_proj = static_cast<int>(k);
      c.exc = net.find_population(pr.post);
    } else if (pr.conn.type == connector::kind::one_to_one) {
      need(c.exc_to_inh < 0, field + ": expects one one_to_one projection (excitatory to inhibitory)");
      c.exc_to_inh = static_cast<int>(k);
    } else {
      need(c.inh_to_exc < 0, field + ": expects one projection back onto the excitatory layer");
      c.inh_to_exc = static_cast<int>(k);
    }
  }
  need(c.input_proj >= 0 && c.exc_to_inh >= 0 && c.inh_to_exc >= 0,
       "expects a projection from the input, a one_to_one projection and an all_to_all projection without self-connections");
  const projection& in = net.projections[static_cast<std::size_t>(c.input_proj)];
  const projection& ei = net.projections[static_cast<std::size_t>(c.exc_to_inh)];
  const projection& ie = net.projections[static_cast<std::size_t>(c.inh_to_exc)];
  c.inh = net.find_population(ei.post);
  need(c.exc != c.input && c.exc >= 0 && c.inh >= 0 && net.find_population(ei.pre) == c.exc && c.inh != c.exc && c.inh != c.input,
       "projections." + ei.name + ": must connect the input's target population one-to-one to a third population");
  need(net.find_population(ie.pre) == c.inh && net.find_population(ie.post) == c.exc,
       "projections." + ie.name + ": must connect '" + ei.post + "' back to '" + in.post + "'");

  const population& exc = net.populations[static_cast<std::size_t>(c.exc)];
  const population& inh = net.populations[static_cast<std::size_t>(c.inh)];
  const population& input = net.populations[static_cast<std::size_t>(c.input)];
  c.n_input = input.size;
  c.n = exc.size;
  need(c.n_input >= 1 && c.n_input <= 65535, "populations." + input.name + ".size: must be 1..65535");
  need(c.n >= 1 && c.n <= 4096, "populations." + exc.name + ".size: must be 1..4096");
  need(inh.size == c.n, "populations." + inh.name + ".size: must equal " + exc.name + "'s (" + std::to_string(c.n) + ")");
  c.exc_params = std::get<neurons::adaptive_lif::params>(exc.model);
  c.inh_params = std::get<neurons::adaptive_lif::params>(inh.model);
  need(!c.inh_params.adapt, "populations." + inh.name + ".adapt: must be false (the inhibitory threshold does not adapt)");
  c.v_init_exc = exc.has_v_init ? exc.v_init.a : c.exc_params.v_leak;
  c.v_init_inh = inh.has_v_init ? inh.v_init.a : c.inh_params.v_leak;

  // Input projection.
  const std::string fin = "projections." + in.name;
  need(in.conn.type == connector::kind::all_to_all, fin + ".connector: must be all_to_all");
  need(in.target == receptor::excitatory, fin + ".receptor: must be excitatory");
  need(in.weight.type == value_dist::kind::constant || in.weight.type == value_dist::kind::uniform,
       fin + ".weight: must be a single value or uniform");
  c.input_weight = in.weight;
  const double lo = in.has_delay ? in.delay.a : net.dt;
  const double hi = in.has_delay && in.delay.type == value_dist::kind::uniform ? in.delay.b : lo;
  need(!in.has_delay || in.delay.type != value_dist::kind::normal, fin + ".delay: must be a single value or uniform");
  c.delay_first = static_cast<std::int32_t>(steps_of(lo, net.dt) - 1);
  c.delay_span = static_cast<std::int32_t>(steps_of(hi - lo, net.dt));
  need(c.delay_first >= 0 && c.delay_first + c.delay_span <= 255, fin + ".delay: must be 1 to 256 steps");
  c.plastic = in.plastic;
  c.stdp = in.stdp;
  if (c.plastic) {
    need(in.stdp.pairs == stdp_rule::pairing::nearest, fin + ".stdp.pairing: must be \"nearest\"");
    need(in.stdp.rule == stdp_rule::update::additive, fin + ".stdp.update: must be additive");
  }

  // The circuit's fixed projections: one step, constant weight, the receptor their role needs.
  auto fixed = [&](const projection& pr, receptor r, double& w) {
    const std::string f = "projections." + pr.name;
    need(pr.target == r, f + ".receptor: must be " + (r == receptor::excitatory ? "excitatory" : "inhibitory"));
    need(pr.weight.type == value_dist::kind::constant, f + ".weight: must be a single value");
    need(!pr.plastic, f + ".stdp: only the input projection may learn");
    need(!pr.has_delay || (pr.delay.type == value_dist::kind::constant && steps_of(pr.delay.a, net.dt) == 1),
         f + ".delay: must be one step");
    w = pr.weight.a;
  };
  fixed(ei, receptor::excitatory, c.w_exc_to_inh);
  fixed(ie, receptor::inhibitory, c.w_inh_to_exc);
  need(ie.conn.type == connector::kind::all_to_all && !ie.conn.allow_self,
       "projections." + ie.name + ".connector: must be all_to_all with allow_self = false");

  for (const auto& r : net.spike_recorders) {
    const int p = net.find_population(r.population);
    c.record[p == c.input ? 0 : p == c.exc ? 1 : 2] = true;
  }
  return c;
}

}  // namespace kspike

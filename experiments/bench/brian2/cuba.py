#!/usr/bin/env python3
"""The Vogels-Abbott CUBA network in Brian2, the workload of `kspike bench cuba`.

4000 LIF neurons (3200 excitatory, 800 inhibitory), p = 0.02 between every pair with
self-connections allowed, exponential synaptic "currents" in volts, exact integration,
dt 0.1 ms; the parameters of experiments/networks/cuba.toml. Brian2's C++ standalone mode
generates and compiles a program and runs it; the time reported is that program's own
simulation loop (Brian2 measures it), without code generation and compilation, which is the
loop `kspike bench cuba` times as well.

Prints one JSON object: sim_loop_s, rtf (loop seconds per biological second), spikes,
rate_hz, synapses, codegen_compile_s.

  /usr/bin/python3 cuba.py [--duration 10] [--threads 1] [--seed 1]
"""
import json
import os

from standalone import OneLineErrors, build_and_run, standalone_project


def main():
    ap = OneLineErrors(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="biological seconds (default 10)")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads of the generated program")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.duration <= 0 or a.threads < 1:
        ap.error("--duration must be > 0 and --threads >= 1")

    import brian2 as b2
    from brian2 import ms, mV, second

    with standalone_project(b2, "cuba", a.threads, a.seed) as work:
        n_exc, n_inh = 3200, 800
        params = dict(tau_m=20 * ms, tau_e=5 * ms, tau_i=10 * ms,
                      v_t=-50 * mV, v_r=-60 * mV, e_l=-49 * mV)
        cells = b2.NeuronGroup(
            n_exc + n_inh,
            """dv/dt = (ge + gi - (v - e_l)) / tau_m : volt (unless refractory)
               dge/dt = -ge / tau_e : volt
               dgi/dt = -gi / tau_i : volt""",
            threshold="v > v_t", reset="v = v_r", refractory=5 * ms, method="exact",
            namespace=params)
        cells.v = "v_r + rand() * (v_t - v_r)"
        exc = b2.Synapses(cells, cells, on_pre="ge += 1.62 * mV")
        inh = b2.Synapses(cells, cells, on_pre="gi += -9 * mV")
        exc.connect(condition=f"i < {n_exc}", p=0.02)
        inh.connect(condition=f"i >= {n_exc}", p=0.02)
        spikes = b2.SpikeMonitor(cells, record=False)  # counts only, as kspike's benchmark

        b2.run(a.duration * second)
        loop_s, compile_s = build_and_run(b2, work)
        n_spikes = int(spikes.num_spikes)
        out = dict(tool="brian2", version=b2.__version__, workload="cuba", threads=a.threads,
                   duration_s=a.duration, sim_loop_s=loop_s, rtf=loop_s / a.duration,
                   spikes=n_spikes, rate_hz=n_spikes / ((n_exc + n_inh) * a.duration),
                   synapses=int(len(exc) + len(inh)), codegen_compile_s=compile_s)
        print(json.dumps(out))


if __name__ == "__main__":
    os.environ.setdefault("OMP_PROC_BIND", "false")
    main()

#!/usr/bin/env python3
"""Song, Miller & Abbott (2000) in Brian2, the same model as experiments/networks/stdp_song2000.toml.

1000 Poisson inputs (15 Hz) -> one conductance-based LIF neuron (forward Euler, dt 0.1 ms) through
additive all-pairs STDP with event-driven traces, weights clipped to [0, g_max]. Writes the final
weights and the output spike count to OUT (.npz) and prints the wall time of the run.

  python3 song2000.py --out brian2_song.npz [--duration 100] [--seed 2000] [--target cpp_standalone|runtime]
"""
import argparse
import os
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=100.0, help="biological seconds")
    ap.add_argument("--seed", type=int, default=2000)
    ap.add_argument("--target", default="cpp_standalone", choices=["cpp_standalone", "runtime"])
    a = ap.parse_args()

    import brian2 as b2
    from brian2 import ms, mV, Hz, second

    build_dir = None
    if a.target == "cpp_standalone":
        build_dir = tempfile.mkdtemp(prefix="brian2_song_")
        b2.set_device("cpp_standalone", directory=build_dir)
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(a.seed)

    n, g_max = 1000, 0.01
    tau_m, tau_e, tau_pre, tau_post = 10 * ms, 5 * ms, 20 * ms, 20 * ms
    e_e, v_t, v_r, e_l = 0 * mV, -54 * mV, -60 * mV, -74 * mV
    a_pre = 0.01 * g_max
    a_post = -a_pre * tau_pre / tau_post * 1.05

    inputs = b2.PoissonGroup(n, rates=15 * Hz)
    neuron = b2.NeuronGroup(
        1,
        """dv/dt = (ge * (e_e - v) + e_l - v) / tau_m : volt
           dge/dt = -ge / tau_e : 1""",
        threshold="v > v_t", reset="v = v_r", method="euler")
    syn = b2.Synapses(
        inputs, neuron,
        """w : 1
           dapre/dt = -apre / tau_pre : 1 (event-driven)
           dapost/dt = -apost / tau_post : 1 (event-driven)""",
        on_pre="""ge += w
                  apre += a_pre
                  w = clip(w + apost, 0, g_max)""",
        on_post="""apost += a_post
                   w = clip(w + apre, 0, g_max)""")
    syn.connect()
    syn.w = "rand() * g_max"
    out_spikes = b2.SpikeMonitor(neuron)

    t0 = time.perf_counter()
    b2.run(a.duration * second)
    wall = time.perf_counter() - t0  # standalone: includes compiling the generated code
    run_time = wall
    if a.target == "cpp_standalone":
        # The generated program's own time for the simulation, without code generation and compilation.
        run_time = float(b2.device._last_run_time)
    np.savez(a.out, weights=np.asarray(syn.w[:]), spikes=int(out_spikes.num_spikes),
             duration=a.duration, wall_s=wall, run_s=run_time)
    print(f"brian2 {a.target}: {a.duration:g} s simulated, output {out_spikes.num_spikes / a.duration:.2f} Hz, "
          f"simulation {run_time:.3f} s (with code generation and compilation {wall:.1f} s)")


if __name__ == "__main__":
    main()

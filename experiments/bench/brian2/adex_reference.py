#!/usr/bin/env python3
"""AdEx (Brette & Gerstner 2005) in Brian2: the reference spike times kspike's adex model is tested against.

Two protocols, 1 s each at dt = 0.1 ms, forward Euler (Brian2's method='euler'), the paper's
regular-spiking parameters (kspike's adex defaults), the spike cut at v_t + 5 delta_t:
  step:  three neurons, no current for 100 ms, then 0.6, 0.8 and 1.5 nA until the end
  noisy: two neurons driven by the same Ornstein-Uhlenbeck current (tau 5 ms), one with a mean of
         0.5 nA and sd 0.3 nA, the other 0.9 nA and 0.4 nA; the current is drawn once here with a
         fixed seed, written to noisy_current.txt (one value per step, in nA) and read by both
         simulators, so both integrate the same input.
Writes into FOLDER: noisy_current.txt, brian2_step_spikes.txt and brian2_noisy_spikes.txt (one line per
spike: neuron index and time in ms, Brian2's convention: the start of the step in which v crossed).

  python3 adex_reference.py FOLDER        (needs Debian's python3-brian; runtime target, numpy code)
"""
import os
import sys

import numpy as np


def ou_current(n_steps, dt, tau, seed):
    # x_{k+1} = x_k e^{-dt/tau} + sqrt(1 - e^{-2 dt/tau}) N(0, 1): unit variance, stationary from x_0 ~ N(0, 1).
    rng = np.random.default_rng(seed)
    a = np.exp(-dt / tau)
    x = np.empty(n_steps)
    x[0] = rng.standard_normal()
    noise = rng.standard_normal(n_steps) * np.sqrt(1 - a * a)
    for k in range(1, n_steps):
        x[k] = x[k - 1] * a + noise[k]
    return x


def run(currents_na, dt_s, duration_s):
    """currents_na: array [steps, neurons] of injected current in nA; returns (indices, times in ms)."""
    import brian2 as b2
    from brian2 import ms, mV, nA, nS, pF, second

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt_s * second
    c_m, g_l, e_l = 281 * pF, 30 * nS, -70.6 * mV
    v_t, delta_t = -50.4 * mV, 2 * mV
    v_peak = v_t + 5 * delta_t
    a, b, tau_w, v_r = 4 * nS, 0.0805 * nA, 144 * ms, -70.6 * mV
    drive = b2.TimedArray(currents_na * nA, dt=dt_s * second)
    eqs = """
    dv/dt = (g_l * (e_l - v) + g_l * delta_t * exp((v - v_t) / delta_t) - w + I) / c_m : volt
    dw/dt = (a * (v - e_l) - w) / tau_w : amp
    I = drive(t, i) : amp
    """
    group = b2.NeuronGroup(currents_na.shape[1], eqs, threshold="v > v_peak", reset="v = v_r; w += b",
                           method="euler")
    group.v = e_l
    mon = b2.SpikeMonitor(group)
    b2.run(duration_s * second)
    return np.asarray(mon.i[:]), np.asarray(mon.t[:] / ms)


def write_spikes(path, idx, t_ms):
    order = np.lexsort((t_ms, idx))
    with open(path, "w") as f:
        f.write("# neuron time_ms (Brian2 2.5, method euler, dt 0.1 ms)\n")
        for k in order:
            f.write(f"{int(idx[k])} {t_ms[k]:.4f}\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    dt, duration = 1e-4, 1.0
    steps = int(round(duration / dt))

    step = np.zeros((steps, 3))
    step[int(round(0.1 / dt)):, :] = [0.6, 0.8, 1.5]
    idx, t = run(step, dt, duration)
    write_spikes(os.path.join(folder, "brian2_step_spikes.txt"), idx, t)

    x = ou_current(steps, dt, 5e-3, seed=2005)
    with open(os.path.join(folder, "noisy_current.txt"), "w") as f:
        f.write("# standard Ornstein-Uhlenbeck noise, tau 5 ms, one value per 0.1 ms step (seed 2005)\n")
        for v in x:
            f.write(f"{v:.9f}\n")
    x = np.loadtxt(os.path.join(folder, "noisy_current.txt"))  # what kspike reads, to the digit
    noisy = np.stack([0.5 + 0.3 * x, 0.9 + 0.4 * x], axis=1)
    idx, t = run(noisy, dt, duration)
    write_spikes(os.path.join(folder, "brian2_noisy_spikes.txt"), idx, t)
    print(f"wrote {folder}: {len(t)} noisy-current spikes")


if __name__ == "__main__":
    main()

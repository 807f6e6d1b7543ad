#!/usr/bin/env python3
"""One place-recognition module (the Diehl & Cook network of `kspike vpr`) in Brian2, learning.

The workload of `kspike bench vpr --threads 1 --modules 1 --no-normalise`: 784 Poisson inputs
whose rates come from a CSV that kspike writes (`--write-rates FILE`, one row of 784 rates in Hz
per image, cycled), N_e adaptive-threshold excitatory and N_e inhibitory conductance LIF
neurons, forward Euler at dt 0.1 ms, all-to-all plastic input synapses with delays U[0, 10) ms
and the nearest-spike STDP of docs/vpr.md, 350 ms of input and 150 ms of rest per image after
0.5 s without input. No weight normalisation: Brian2's standalone mode cannot run it between
images, so kspike is asked to leave it out too (the parameters are those of docs/vpr.md).

The time reported is the generated program's simulation loop of the training images (Brian2
measures it), without code generation and compilation. Prints one JSON object: sim_loop_s,
ms_per_image, exc_spikes_per_image, input_spikes_per_image, codegen_compile_s.

  /usr/bin/python3 vpr_module.py --rates rates.csv [--images 40] [--n-e 400] [--threads 1]
"""
import json
import os
import sys

from standalone import OneLineErrors, build_and_run, standalone_project


def refuse(message):
    sys.stderr.write(f"vpr_module.py: {message}\n")
    raise SystemExit(2)


def read_rates(path):
    """The rows of 784 rates (Hz) of a CSV from `kspike bench vpr --write-rates` (checked before
    Brian2 and numpy are imported, so that a bad file costs nothing)."""
    if not os.path.isfile(path):
        refuse(f"{path}: not a regular file (--rates)")
    rows = []
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            try:
                row = [float(x) for x in line.split(",")]
            except ValueError:
                refuse(f"{path}: line {n}: not a row of numbers (--rates)")
            if len(row) != 784:
                refuse(f"{path}: line {n}: {len(row)} rates, expected 784 (--rates)")
            if not all(0 <= x < float("inf") for x in row):  # also refuses nan
                refuse(f"{path}: line {n}: rates must be finite and >= 0 (--rates)")
            rows.append(row)
    if not rows:
        refuse(f"{path}: no rates (--rates)")
    return rows


def main():
    ap = OneLineErrors(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", required=True, help="CSV from `kspike bench vpr --write-rates`")
    ap.add_argument("--images", type=int, default=40, help="training images (default 40)")
    ap.add_argument("--n-e", type=int, default=400, help="excitatory (= inhibitory) neurons")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.images < 1 or a.n_e < 1 or a.threads < 1:
        ap.error("--images, --n-e and --threads must be >= 1")
    rates = read_rates(a.rates)

    import numpy as np
    import brian2 as b2
    from brian2 import ms, mV, Hz, second

    with standalone_project(b2, "vpr", a.threads, a.seed) as work:
        # Input: rows of 50 ms. 0.5 s of silence, then per image 7 rows of its rates and 3 of rest.
        silent = np.zeros(784)
        rows = [silent] * 10
        for k in range(a.images):
            rows += [rates[k % len(rates)]] * 7 + [silent] * 3
        stimulus = b2.TimedArray(np.array(rows) * Hz, dt=50 * ms)
        inputs = b2.PoissonGroup(784, rates="stimulus(t, i)")

        exc = b2.NeuronGroup(
            a.n_e,
            """dv/dt = ((v_rest - v) + ge * (0 * mV - v) + gi * (e_inh - v)) / tau_m : volt (unless refractory)
               dge/dt = -ge / (1 * ms) : 1
               dgi/dt = -gi / (2 * ms) : 1
               dtheta/dt = -theta / tau_theta : volt
               dtimer/dt = 1 : second""",
            threshold="(v > theta - theta_offset + v_thresh) and (timer > t_block)",
            reset="v = v_rest; theta += theta_plus; timer = 0 * ms",
            refractory=5 * ms, method="euler",
            namespace=dict(v_rest=-65 * mV, e_inh=-100 * mV, tau_m=100 * ms, tau_theta=1e7 * ms,
                           theta_offset=20 * mV, v_thresh=-52 * mV, t_block=50 * ms,
                           theta_plus=0.05 * mV))
        exc.v = -105 * mV
        exc.theta = 20 * mV
        inh = b2.NeuronGroup(
            a.n_e,
            """dv/dt = ((v_rest - v) + ge * (0 * mV - v) + gi * (e_inh - v)) / (10 * ms) : volt (unless refractory)
               dge/dt = -ge / (1 * ms) : 1
               dgi/dt = -gi / (2 * ms) : 1""",
            threshold="v > -40 * mV", reset="v = -45 * mV", refractory=2 * ms, method="euler",
            namespace=dict(v_rest=-60 * mV, e_inh=-85 * mV))
        inh.v = -100 * mV

        learn = b2.Synapses(
            inputs, exc,
            """w : 1
               post2_before : 1
               dpre/dt = -pre / (20 * ms) : 1 (event-driven)
               dpost1/dt = -post1 / (20 * ms) : 1 (event-driven)
               dpost2/dt = -post2 / (40 * ms) : 1 (event-driven)""",
            on_pre="""ge_post += w
                      pre = 1
                      w = clip(w + 1e-4 * post1, 0, 1)""",
            on_post="""post2_before = post2
                       w = clip(w + 1e-2 * pre * post2_before, 0, 1)
                       post1 = 1
                       post2 = 1""")
        learn.connect()
        learn.w = "(rand() + 0.01) * 0.3"
        learn.delay = "rand() * 10 * ms"
        excite = b2.Synapses(exc, inh, on_pre="ge_post += 10.4")
        excite.connect(j="i")
        inhibit = b2.Synapses(inh, exc, on_pre="gi_post += 17")
        inhibit.connect(condition="i != j")
        exc_count = b2.SpikeMonitor(exc, record=False)
        in_count = b2.SpikeMonitor(inputs, record=False)

        b2.run(0.5 * second)                    # silence, as kspike's benchmark starts
        b2.run(a.images * 0.5 * second)         # the timed run: the training images
        loop_s, compile_s = build_and_run(b2, work)  # the last run() alone: the images
        out = dict(tool="brian2", version=b2.__version__, workload="vpr", threads=a.threads,
                   n_e=a.n_e, images=a.images, sim_loop_s=loop_s,
                   ms_per_image=1e3 * loop_s / a.images,
                   exc_spikes_per_image=int(exc_count.num_spikes) / a.images,
                   input_spikes_per_image=int(in_count.num_spikes) / a.images,
                   synapses=int(len(learn)), codegen_compile_s=compile_s)
        print(json.dumps(out))


if __name__ == "__main__":
    os.environ.setdefault("OMP_PROC_BIND", "false")
    main()

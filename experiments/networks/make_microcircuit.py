#!/usr/bin/env python3
"""Writes the cortical microcircuit network files (Potjans & Diesmann 2014, Cereb. Cortex
24:785-806) from the model's published parameters: experiments/networks/microcircuit.toml
(full scale) and microcircuit-0.1.toml (10 % of the neurons and 10 % of the in-degrees,
rescaled as the model's reference implementation in NEST does). docs/microcircuit.md explains
every number. Usage: make_microcircuit.py [--scale N_SCALE K_SCALE OUT.toml | --check]
(default: both files next to this script; --check: exit 1 when the committed files differ from
what this script writes). Python's standard library only."""
import math
import os
import sys

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
N_FULL = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
# Connection probabilities, target (row) from source (column), Table 5 of the paper.
CONN_PROBS = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]  # external (background) inputs per neuron
BG_RATE = 8.0  # Hz per external input
# Population mean rates of the full-scale model in NEST's reference implementation [Hz]: the
# scaled-down network's DC compensation uses them, and tests compare against them.
FULL_MEAN_RATES = [0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523]
# Initial membrane potentials per population [mV], mean and sd (the reference implementation's
# "optimized" start, which avoids the all-at-once first volley of a common N(-58, 10) start).
V0_MEAN = [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]
V0_SD = [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]

C_M, TAU_M, TAU_SYN, T_REF = 250.0, 10.0, 0.5, 2.0  # pF, ms, ms, ms
E_L, V_TH, V_RESET = -65.0, -50.0, -65.0  # mV
PSP_E, PSP_REL_SD, G = 0.15, 0.1, -4.0  # mV, relative, inhibitory / excitatory
DELAY_E, DELAY_I, DELAY_REL_SD = 1.5, 0.75, 0.5  # ms, ms, relative
DT = 0.1  # ms


def psc_per_psp():
    """Peak current [pA] of an exponential synaptic current whose PSP peaks at 1 mV on an
    iaf_psc_exp membrane (C_M, TAU_M, TAU_SYN): the PSP's maximum in closed form."""
    a = 1.0 / (TAU_SYN - TAU_M)
    pre = TAU_M * TAU_SYN / C_M * a
    frac = (TAU_M / TAU_SYN) ** a
    return 1.0 / (pre * (frac ** TAU_M - frac ** TAU_SYN))


def full_synapses(i, j):
    """Synapses from population j onto i at full scale: the number of independent uniform
    draws of (pre, post) pairs that leaves a given pair unconnected with probability 1 - p."""
    p = CONN_PROBS[i][j]
    if p == 0:
        return 0.0
    pairs = float(N_FULL[i]) * float(N_FULL[j])
    return math.log(1.0 - p) / math.log((pairs - 1.0) / pairs)


def text_of(n_scale, k_scale):
    w_psp = psc_per_psp() * PSP_E  # pA, one excitatory synapse
    n = [int(round(x * n_scale)) for x in N_FULL]
    weight = [[w_psp * (G if j % 2 else 1.0) * (2.0 if (i, j) == (0, 2) else 1.0) for j in range(8)] for i in range(8)]
    # Fewer inputs with stronger weights keep the input's variance; a constant current puts
    # back the mean that the weaker in-degree loses (van Albada, Helias & Diesmann 2015).
    root = math.sqrt(k_scale)
    dc = [0.0] * 8
    if k_scale != 1:
        for i in range(8):
            recurrent = sum(weight[i][j] * full_synapses(i, j) / N_FULL[i] * FULL_MEAN_RATES[j] for j in range(8))
            external = w_psp * K_EXT[i] * BG_RATE
            dc[i] = 1e-3 * TAU_SYN * (1.0 - root) * (recurrent + external)  # pA (ms * pA * Hz * 1e-3)
    total = 0
    out = []
    scale_note = ("full scale" if n_scale == 1 and k_scale == 1 else
                  f"{n_scale:g} of the neurons, {k_scale:g} of the in-degrees (weights / sqrt({k_scale:g}), "
                  "a constant current for the lost mean input)")
    out.append(f"""# The cortical microcircuit of Potjans & Diesmann (2014),
# {scale_note}.
# Written by experiments/networks/make_microcircuit.py; docs/microcircuit.md explains the model.
# 8 populations of current-based LIF neurons (NEST's iaf_psc_exp: exponential currents, exact
# integration), connections drawn as fixed total numbers of uniform (pre, post) pairs,
# normal weights and delays redrawn outside their bounds (delays one step longer than NEST's
# numbers: kspike's delay counts the step that delivers), and independent Poisson background
# input at {BG_RATE:g} Hz per external input.

dt = "{DT:g} ms"
duration = "1 s"
seed = 55
""")
    for i, name in enumerate(POPULATIONS):
        bg_inputs = int(round(K_EXT[i] * k_scale))
        out.append(f"""[populations.{name}]
size = {n[i]}
model = "cuba_lif"
tau_mem = "{TAU_M:g} ms"
tau_syn = "{TAU_SYN:g} ms"
r = "{TAU_M / C_M * 1e3:g} MOhm"   # tau_m / C_m with C_m = {C_M:g} pF
v_leak = "{E_L:g} mV"
v_threshold = "{V_TH:g} mV"
v_reset = "{V_RESET:g} mV"
t_ref = "{T_REF:g} ms"
i_offset = "{dc[i]:.6g} pA"
v_init = {{ normal = ["{V0_MEAN[i]:g} mV", "{V0_SD[i]:g} mV"] }}
background = {{ inputs = {bg_inputs}, rate = "{BG_RATE:g} Hz", weight = "{w_psp / root:.6g} pA" }}
""")
    for i in range(8):
        for j in range(8):
            count = int(round(full_synapses(i, j) * n_scale * k_scale))
            if count == 0:
                continue
            total += count
            w = weight[i][j] / root
            inhibitory = j % 2 == 1
            mean_delay = DELAY_I if inhibitory else DELAY_E
            bound = f'max = "0 pA"' if inhibitory else f'min = "0 pA"'
            # NEST's delay D makes a spike of time stamp t change the current at t + D; a kspike
            # delay of d steps changes it at the start of step t/dt + d - 1 (docs/architecture.md):
            # the same latency takes one step more, so the distribution moves up by dt.
            out.append(f"""[projections.{POPULATIONS[j]}_to_{POPULATIONS[i]}]
pre = "{POPULATIONS[j]}"
post = "{POPULATIONS[i]}"
receptor = "{'inhibitory' if inhibitory else 'excitatory'}"
connector = {{ type = "fixed_total_number", n = {count} }}
weight = {{ normal = ["{w:.6g} pA", "{abs(w) * PSP_REL_SD:.6g} pA"], {bound} }}
delay = {{ normal = ["{mean_delay + DT:g} ms", "{mean_delay * DELAY_REL_SD:g} ms"], min = "{2 * DT:g} ms" }}
""")
    for name in POPULATIONS:
        out.append(f"""[[record.spikes]]
population = "{name}"
""")
    text = "\n".join(out)
    text = text.replace("# 8 populations", f"# {sum(n)} neurons, {total} synapses.\n# 8 populations", 1)
    return text, sum(n), total


def write(n_scale, k_scale, path):
    text, neurons, synapses = text_of(n_scale, k_scale)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    print(f"{path}: {neurons} neurons, {synapses} synapses")


def check(here):
    stale = []
    for n_scale, k_scale, name in ((1.0, 1.0, "microcircuit.toml"), (0.1, 0.1, "microcircuit-0.1.toml")):
        with open(os.path.join(here, name)) as f:
            if f.read() != text_of(n_scale, k_scale)[0]:
                stale.append(name)
    if stale:
        sys.exit("out of date (run experiments/networks/make_microcircuit.py): " + ", ".join(stale))
    print("microcircuit files match make_microcircuit.py")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if len(argv) == 4 and argv[0] == "--scale":
        write(float(argv[1]), float(argv[2]), argv[3])
    elif argv == ["--check"]:
        check(here)
    elif not argv:
        write(1.0, 1.0, os.path.join(here, "microcircuit.toml"))
        write(0.1, 0.1, os.path.join(here, "microcircuit-0.1.toml"))
    else:
        sys.exit("usage: make_microcircuit.py [--scale N_SCALE K_SCALE OUT.toml | --check]")


if __name__ == "__main__":
    main(sys.argv[1:])

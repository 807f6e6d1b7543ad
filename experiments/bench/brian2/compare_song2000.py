#!/usr/bin/env python3
"""kspike and Brian2 side by side on Song, Miller & Abbott (2000): final weight histograms,
output rates and run times, for one or more seeds, run one after the other on this machine.

  python3 experiments/bench/brian2/compare_song2000.py [--kspike build/kspike] [--seeds 2000,1,2]
        [--duration 100] [--out song2000]
Needs Debian's python3-brian, python3-h5py, python3-matplotlib. Writes OUT.csv (one row per run)
and OUT.png (weight histograms of both, rates in the legend) and prints a Markdown table.
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
G_MAX = 0.01


def run_kspike(binary, seed, duration, folder):
    out = os.path.join(folder, f"kspike_{seed}.h5")
    t0 = time.perf_counter()
    text = subprocess.run([binary, "run", os.path.join(REPO, "experiments/networks/stdp_song2000.toml"), "--seed",
                           str(seed), "--duration", str(duration), "--backend", "serial", "--out", out],
                          check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    sim = float(re.search(r"simulated .* in ([0-9.]+) s", text).group(1))
    spikes = int(re.search(r"neuron\s+1 neurons\s+(\d+) spikes", text).group(1))
    with h5py.File(out[:-3] + "_weights.h5", "r") as f:
        w = f["weights/input"][:]
    return w, spikes / duration, sim, wall


def run_brian2(seed, duration, folder):
    out = os.path.join(folder, f"brian2_{seed}.npz")
    subprocess.run([sys.executable, os.path.join(HERE, "song2000.py"), "--out", out, "--seed", str(seed), "--duration",
                    str(duration)], check=True, capture_output=True, text=True)
    r = np.load(out)
    return r["weights"], float(r["spikes"]) / duration, float(r["run_s"]), float(r["wall_s"])


def summary(w):
    h, _ = np.histogram(w / G_MAX, bins=10, range=(0, 1))
    return h, float((w < 0.1 * G_MAX).mean()), float((w > 0.9 * G_MAX).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kspike", default=os.path.join(REPO, "build", "kspike"))
    ap.add_argument("--seeds", default="2000")
    ap.add_argument("--duration", type=float, default=100.0)
    ap.add_argument("--out", default="song2000")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    rows, hist = [], {"kspike": [], "brian2": []}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            for who in ("kspike", "brian2"):
                w, rate, sim, wall = (run_kspike(a.kspike, seed, a.duration, folder) if who == "kspike"
                                      else run_brian2(seed, a.duration, folder))
                h, low, high = summary(w)
                hist[who].append(h)
                rows.append({"simulator": who, "seed": seed, "rate_hz": round(rate, 3), "low_tenth": low,
                             "high_tenth": high, "mean_w_over_gmax": round(float(w.mean() / G_MAX), 4),
                             "simulation_s": round(sim, 3), "wall_s": round(wall, 3),
                             "histogram": " ".join(map(str, h))})
                print(f"{who} seed {seed}: {rate:.2f} Hz, tenths {list(h)}, simulation {sim:.2f} s", file=sys.stderr)
    with open(a.out + ".csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    centers = (np.arange(10) + 0.5) / 10
    fig, ax = plt.subplots(figsize=(7, 4))
    for who, colour, off in (("kspike", "tab:blue", -0.02), ("brian2", "tab:orange", 0.02)):
        m = np.mean(hist[who], axis=0)
        rates = [r["rate_hz"] for r in rows if r["simulator"] == who]
        ax.bar(centers + off, m, width=0.04, color=colour,
               label=f"{who}: output {np.mean(rates):.1f} Hz")
    ax.set_xlabel("final weight / g_max")
    ax.set_ylabel(f"synapses (mean over {len(seeds)} seed(s))")
    ax.set_title(f"Song, Miller & Abbott (2000): 1000 inputs, {a.duration:g} s, additive STDP")
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out + ".png", dpi=120)

    print("| simulator | seed | output rate [Hz] | weights < 0.1 g_max | weights > 0.9 g_max | tenths of [0, g_max] | simulation [s] |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['simulator']} | {r['seed']} | {r['rate_hz']:.2f} | {r['low_tenth']:.3f} | {r['high_tenth']:.3f} | "
              f"{r['histogram']} | {r['simulation_s']:.2f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""kspike against Brian2 (C++ standalone) on the same workloads, run alternately on one machine.

Workloads (each side times only its simulation loop, not building or compiling):
  cuba  the Vogels-Abbott network, 4000 LIF, dt 0.1 ms (`kspike bench cuba`, cuba.py): real-time factor
  vpr   one place-recognition module learning, 313,600 plastic synapses, dt 0.1 ms, the same input
        rates on both sides and no weight normalisation on either (`kspike bench vpr
        --no-normalise --write-rates`, vpr_module.py): ms per training image

Each round runs every workload on both sides, the side going first alternating between rounds, so
that a slow phase of the machine does not fall on one side only. Writes OUT/brian2_comparison.json
and OUT/brian2_comparison.md (every run, and per workload the ratio of the medians), and prints the
table. Called by scripts/compare-brian2, which installs Brian2 and builds kspike first.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

from standalone import OneLineErrors

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def run_json(cmd, env=None):
    """Runs cmd and returns the JSON object of its last stdout line (stderr passes through on failure)."""
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"compare-brian2: '{' '.join(cmd)}' failed (exit {p.returncode})")
    lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
    if not lines:
        raise SystemExit(f"compare-brian2: '{' '.join(cmd)}' printed no JSON result")
    return json.loads(lines[-1])


def measure(workload, side, a, rates_csv):
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_PROC_BIND="false")
    py = "/usr/bin/python3"
    if workload == "cuba":
        if side == "kspike":
            r = run_json([a.kspike, "bench", "cuba", "--duration", str(a.duration), "--threads", "1", "--json"], env)
            return dict(time=r["real_time_factor"], unit="real-time factor", spikes=r["spikes"],
                        rate_hz=r["mean_rate_hz"], synapses=r["synapses"])
        r = run_json([py, os.path.join(HERE, "cuba.py"), "--duration", str(a.duration), "--threads", "1"], env)
        return dict(time=r["rtf"], unit="real-time factor", spikes=r["spikes"], rate_hz=r["rate_hz"],
                    synapses=r["synapses"])
    if side == "kspike":
        cmd = [a.kspike, "bench", "vpr", "--threads", "1", "--modules", "1", "--images", str(a.images),
               "--no-normalise", "--write-rates", rates_csv, "--json"]
        if a.data:
            cmd += ["--data", a.data]
        r = run_json(cmd, env)
        return dict(time=r["train_ms_per_module_image"], unit="ms per training image",
                    exc_spikes_per_image=r["train_spikes_per_image"], inputs=r["inputs"])
    if not os.path.exists(rates_csv):  # Brian2 went first: let kspike write the rates without timing it
        measure("vpr", "kspike", a, rates_csv)
    r = run_json([py, os.path.join(HERE, "vpr_module.py"), "--rates", rates_csv, "--images", str(a.images),
                  "--threads", "1"], env)
    return dict(time=r["ms_per_image"], unit="ms per training image",
                exc_spikes_per_image=r["exc_spikes_per_image"],
                input_spikes_per_image=r["input_spikes_per_image"])


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = OneLineErrors(prog="compare-brian2", description=__doc__.split("\n\n")[0])
    ap.add_argument("--kspike", default="build/kspike")
    ap.add_argument("--workloads", default="cuba,vpr")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10.0, help="CUBA: biological seconds (default 10)")
    ap.add_argument("--images", type=int, default=40, help="VPR: training images (default 40)")
    ap.add_argument("--data", default="", help="VPR: kspike's --data (default: kspike's default)")
    ap.add_argument("--out", default="brian2-comparison")
    a = ap.parse_args()
    workloads = [w for w in a.workloads.split(",") if w]
    bad = [w for w in workloads if w not in ("cuba", "vpr")]
    if bad or not workloads:
        ap.error(f"--workloads: unknown '{','.join(bad)}' (available: cuba, vpr)")
    if a.rounds < 1 or a.images < 1 or not a.duration > 0:
        ap.error("--rounds and --images must be >= 1 and --duration > 0")
    if not os.access(a.kspike, os.X_OK):
        ap.error(f"--kspike: '{a.kspike}' is not an executable (build kspike with scripts/setup)")
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        ap.error(f"--out: {a.out} exists and is not a folder")
    os.makedirs(a.out, exist_ok=True)

    runs = []
    with tempfile.TemporaryDirectory(prefix="kspike_compare_") as tmp:
        rates_csv = os.path.join(tmp, "rates.csv")
        for rnd in range(a.rounds):
            order = ["kspike", "brian2"] if rnd % 2 == 0 else ["brian2", "kspike"]
            for w in workloads:
                for side in order:
                    r = measure(w, side, a, rates_csv)
                    r.update(workload=w, side=side, round=rnd + 1)
                    runs.append(r)
                    print(f"round {rnd + 1} {w:5s} {side:7s} {r['time']:.4g} ({r['unit']})", flush=True)

    rows, summary = [], {}
    for w in workloads:
        med = {s: statistics.median(r["time"] for r in runs if r["workload"] == w and r["side"] == s)
               for s in ("kspike", "brian2")}
        unit = next(r["unit"] for r in runs if r["workload"] == w)
        summary[w] = dict(unit=unit, kspike_median=med["kspike"], brian2_median=med["brian2"],
                          speedup=med["brian2"] / med["kspike"])
        for rnd in range(1, a.rounds + 1):
            k = next(r for r in runs if r["workload"] == w and r["side"] == "kspike" and r["round"] == rnd)
            b = next(r for r in runs if r["workload"] == w and r["side"] == "brian2" and r["round"] == rnd)
            if w == "cuba":
                note = f"rates {b['rate_hz']:.2f} / {k['rate_hz']:.2f} Hz, synapses {b['synapses']} / {k['synapses']}"
            else:
                note = (f"excitatory spikes per image {b['exc_spikes_per_image']:.1f} / "
                        f"{k['exc_spikes_per_image']:.1f}, input spikes per image (Brian2) "
                        f"{b['input_spikes_per_image']:.0f}")
            rows.append(f"| {w} | {rnd} | {b['time']:.4g} | {k['time']:.4g} | {b['time'] / k['time']:.1f}x | {note} |")

    machine = dict(cpu=cpu_model(), cores=os.cpu_count(), python=platform.python_version())
    md = [f"kspike vs Brian2 (C++ standalone), one thread each, alternating; CPU: {machine['cpu']} "
          f"({machine['cores']} cores)", "",
          "| workload | round | Brian2 | kspike | Brian2 / kspike | same workload (Brian2 / kspike) |",
          "|---|---|---|---|---|---|", *rows, ""]
    for w, s in summary.items():
        md.append(f"- {w} ({s['unit']}): medians Brian2 {s['brian2_median']:.4g}, kspike {s['kspike_median']:.4g}: "
                  f"kspike {s['speedup']:.1f}x faster")
    text = "\n".join(md) + "\n"
    write_atomically(os.path.join(a.out, "brian2_comparison.md"), text)
    write_atomically(os.path.join(a.out, "brian2_comparison.json"),
                     json.dumps(dict(machine=machine, runs=runs, summary=summary,
                                     settings=dict(duration_s=a.duration, images=a.images, rounds=a.rounds)),
                                indent=1) + "\n")
    print()
    print(text, end="")
    print(f"written: {a.out}/brian2_comparison.md, {a.out}/brian2_comparison.json")


if __name__ == "__main__":
    main()

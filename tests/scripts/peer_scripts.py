#!/usr/bin/env python3
"""The peer-comparison scripts (experiments/bench/brian2/) without running a peer: each answers
--help, and refuses bad options and inputs with one line and exit status 2, creating nothing.
Brian2 itself is not needed: the scripts import it only after checking their options.

  peer_scripts.py REPO_ROOT
"""
import os
import subprocess
import sys
import tempfile

repo = os.path.abspath(sys.argv[1])
here = os.path.join(repo, "experiments", "bench", "brian2")
failures = []


def run(args, cwd):
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, cwd=cwd)


with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "short.csv"), "w") as f:
        f.write(",".join(["1"] * 783) + "\n")
    with open(os.path.join(tmp, "plain"), "w") as f:
        f.write("x")
    for script in ("cuba.py", "vpr_module.py", "compare.py"):
        r = run([os.path.join(here, script), "--help"], tmp)
        if r.returncode != 0 or "usage" not in r.stdout:
            failures.append(f"{script} --help: exit {r.returncode}")
    refused = [
        ("cuba.py", ["--duration", "0"], "--duration"),
        ("cuba.py", ["--threads", "x"], "--threads"),
        ("vpr_module.py", ["--rates", "missing.csv"], "missing.csv: not a regular file"),
        ("vpr_module.py", ["--rates", "short.csv"], "short.csv: line 1: 783 rates, expected 784"),
        ("vpr_module.py", ["--rates", "plain"], "plain: line 1: not a row of numbers"),
        ("vpr_module.py", ["--rates", "short.csv", "--images", "0"], "--images"),
        ("compare.py", ["--workloads", "cuba,warp"], "--workloads: unknown 'warp'"),
        ("compare.py", ["--rounds", "0"], "--rounds"),
        ("compare.py", ["--kspike", "no-such-binary"], "--kspike"),
        ("compare.py", ["--kspike", sys.executable, "--out", "plain"], "--out: plain exists and is not a folder"),
    ]
    before = sorted(os.listdir(tmp))
    for script, args, words in refused:
        r = run([os.path.join(here, script)] + args, tmp)
        lines = r.stderr.splitlines()
        if r.returncode != 2 or len(lines) != 1 or words not in r.stderr:
            failures.append(f"{script} {' '.join(args)}: exit {r.returncode}, stderr {r.stderr!r}")
    if sorted(os.listdir(tmp)) != before:
        failures.append(f"a refused run left files: {sorted(set(os.listdir(tmp)) - set(before))}")

for f in failures:
    print("FAIL:", f)
print(f"{len(refused) + 3 - len(failures)} of {len(refused) + 3} checks passed")
sys.exit(1 if failures else 0)

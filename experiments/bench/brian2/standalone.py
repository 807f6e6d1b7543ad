"""What the Brian2 peer scripts share: one-line option errors, and a C++ standalone project in a
temporary folder whose simulation loop is timed apart from code generation and compilation."""
import argparse
import contextlib
import shutil
import sys
import tempfile
import time


class OneLineErrors(argparse.ArgumentParser):
    """Bad options: one line naming the option, exit status 2 (argparse would add its usage)."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


@contextlib.contextmanager
def standalone_project(b2, name, threads, seed):
    """Brian2 set to generate a C++ standalone program in a temporary folder (removed afterwards),
    dt 0.1 ms, the given OpenMP threads and seed. Yields the folder."""
    work = tempfile.mkdtemp(prefix=f"kspike_brian2_{name}_")
    try:
        b2.set_device("cpp_standalone", directory=work, build_on_run=False)
        # 0 means "no OpenMP" to Brian2; one thread is the same program without it.
        b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
        b2.defaultclock.dt = 0.1 * b2.ms
        b2.seed(seed)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_and_run(b2, work):
    """Generates, compiles and runs the program; returns (seconds of the last run() call's
    simulation loop as the program measured it, seconds of generation and compilation)."""
    t0 = time.perf_counter()
    b2.device.build(directory=work, compile=True, run=False)
    compile_s = time.perf_counter() - t0
    b2.device.run(directory=work, with_output=False, run_args=[])
    return float(b2.device._last_run_time), compile_s

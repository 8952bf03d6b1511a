"""Run the full benchmark suite on a quiet machine and write ``benchmarks/results.{json,md}``.

    python benchmarks/run.py                 # wait until the 1-minute load average is < 1.2
    python benchmarks/run.py --max-load 0    # do not wait
    python benchmarks/run.py --quick         # smoke run (results go to benchmarks/quick.*)

It is ``neuralcrn bench --out benchmarks/results.json --markdown benchmarks/results.md
--max-load 1.2`` plus a wait before it starts: timings on a 2-core machine are only comparable
when nothing else runs. The load average is checked once a minute (up to ``--wait-minutes``) and
again before each benchmark, and recorded in the JSON either way.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wait_for_quiet(max_load: float, minutes: float) -> float:
    """Block until the 1-minute load average is below ``max_load`` (or the time is up)."""
    deadline = time.monotonic() + 60 * minutes
    while True:
        load = os.getloadavg()[0]
        if max_load <= 0 or load < max_load or time.monotonic() > deadline:
            return load
        print(f"load average {load:.2f} ≥ {max_load}; waiting a minute", file=sys.stderr,
              flush=True)
        time.sleep(60)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-load", type=float, default=1.2)
    ap.add_argument("--wait-minutes", type=float, default=60)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("extra", nargs="*", help="more `neuralcrn bench` options (after --)")
    a = ap.parse_args(argv)
    load = wait_for_quiet(a.max_load, a.wait_minutes)
    print(f"starting at load average {load:.2f}", file=sys.stderr, flush=True)
    stem = "quick" if a.quick else "results"
    cmd = ["neuralcrn", "bench", "--out", str(HERE / f"{stem}.json"),
           "--markdown", str(HERE / f"{stem}.md")] + (["--quick"] if a.quick else []) + a.extra
    if a.max_load > 0:  # and again before each benchmark, inside the run
        cmd += ["--max-load", str(a.max_load)]
    return subprocess.call(cmd)


if __name__ == "__main__":
    raise SystemExit(main())

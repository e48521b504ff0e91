"""Parallel devices: wall time of a scenario subset on 1 emulated amd64 core versus 4 (``-n 4 --dist loadgroup``).

    python benchmarks/parallel_suite.py [--subset EXPR] [--keep]

Brings up two scratch labs (``par1``: one core, ``par4``: four cores, all profile ml_c5), runs the
same pytest selection on each (the 4-core lab with one xdist worker per device) and prints both wall
times and their ratio; the goal is ≤ 1.5×. Measurements (host lock) are left out of the default
subset: they are serialized by design. The labs are taken down at the end unless --keep.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.progress import say

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "harness" / "scenarios"
SUBSET = "test_compile or test_deploy or test_compatibility or test_dlr_matches"
GOAL = 1.5
RUN_TIMEOUT = 1800


def lab_file(work: Path, name: str, cores: int) -> Path:
    path = work / f"{name}.yaml"
    devices = [{"name": f"core{i}", "profile": "ml_c5", "emulated": True} for i in range(1, cores + 1)]
    path.write_text(yaml.safe_dump({"lab": name, "devices": devices}))
    return path


def run_suite(lab: Path, subset: str, workers: int) -> tuple[float, int, str]:
    argv = [sys.executable, "-m", "pytest", str(SCENARIOS), "-k", subset, f"--lab={lab}", "--no-lab-up",
            "-p", "no:cacheprovider", "-q"]
    if workers > 1:
        argv += ["-n", str(workers), "--dist", "loadgroup"]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    return time.perf_counter() - start, done.returncode, (done.stdout + done.stderr).strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", default=SUBSET, help=f"pytest -k expression (default: {SUBSET!r})")
    parser.add_argument("--keep", action="store_true", help="leave the scratch labs up afterwards")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hil-parallel-"))
    labs = {n: LabController(load_lab(lab_file(work, f"par{n}", n)), say) for n in (1, 4)}
    figures: dict[int, float] = {}
    try:
        for cores, controller in labs.items():
            say(f"bringing up lab par{cores} ({cores} amd64 core(s))")
            controller.up()
        run_suite(work / "par1.yaml", "test_compile", 1)  # warm the compile cache: both runs then start alike
        for cores in labs:
            say(f"running {args.subset!r} on {cores} core(s){' with -n 4 --dist loadgroup' if cores > 1 else ''}")
            wall, code, last = run_suite(work / f"par{cores}.yaml", args.subset, cores)
            print(f"{cores} core(s): {wall:.1f} s wall ({last})")
            if code != 0:
                print(f"the {cores}-core run failed (pytest exit {code}): its time is not a figure", file=sys.stderr)
                return 1
            figures[cores] = wall
    finally:
        if not args.keep:
            for controller in labs.values():
                controller.down()
    ratio = figures[4] / figures[1]
    print(f"4 cores / 1 core: {ratio:.2f}x (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Parallel devices: wall time of the shipped suite on 1 emulated amd64 core versus 4, run by `hil run`.

    python benchmarks/parallel_suite.py [--subset EXPR] [--rounds N] [--keep]

Brings up two scratch labs (``par1``: one core, ``par4``: four cores, all profile ml_c4) and runs
``hil run --no-lab-up`` on each, alternating, ``--rounds`` times: the 4-core lab with hil run's own
worker policy (one xdist worker per device). Prints each run's wall time and the host CPU it used
(all processes, containers included, from /proc/stat) and the ratio of the medians; the goal is
≤ 1.5× (IDT runs devices one after another: 4×). The whole suite is measured by default, latency
measurements included although they take turns by design (one measurement per physical host at a
time). The compile cache is warmed first, so both labs start alike. The labs are taken down at the
end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.primitives.progress import say

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5
RUN_TIMEOUT = 1800
TICKS = os.sysconf("SC_CLK_TCK")


def lab_file(work: Path, name: str, cores: int) -> Path:
    path = work / f"{name}.yaml"
    devices = [{"name": f"core{i}", "profile": "ml_c4", "emulated": True} for i in range(1, cores + 1)]
    path.write_text(yaml.safe_dump({"lab": name, "devices": devices}))
    return path


def busy_cpu_seconds() -> float:
    """CPU time the whole host has spent busy (user, nice, system, irq, softirq, steal) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / TICKS


def hil_run(lab: Path, reports: Path, pytest_args: list[str]) -> tuple[float, float, str]:
    """(wall s, host CPU s, hil run's last line) of one `hil run` on an up lab; raises on a failed run."""
    argv = [sys.executable, "-m", "harness.cli", "run", "--lab", str(lab), "--reports", str(reports),
            "--", "--no-lab-up", "-q", *pytest_args]
    cpu, start = busy_cpu_seconds(), time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    wall, used = time.perf_counter() - start, busy_cpu_seconds() - cpu
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode != 0:
        raise SystemExit(f"hil run on {lab.stem} failed (exit {done.returncode}): its time is not a figure\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, used, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", default=None, metavar="EXPR",
                        help="pytest -k expression (default: the whole suite)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per lab, alternating (default 2)")
    parser.add_argument("--keep", action="store_true", help="leave the scratch labs up afterwards")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hil-parallel-"))
    labs = {n: LabController(load_lab(lab_file(work, f"par{n}", n)), say) for n in (1, 4)}
    selection = ["-k", args.subset] if args.subset else []
    walls: dict[int, list[float]] = {1: [], 4: []}
    try:
        for cores, controller in labs.items():
            say(f"bringing up lab par{cores} ({cores} amd64 core(s))")
            controller.up()
        say("warming the compile cache")
        hil_run(work / "par1.yaml", work / "reports", ["-k", "test_model_compiles"])
        for round_ in range(1, args.rounds + 1):
            for cores in labs:
                say(f"round {round_}: {args.subset or 'the whole suite'} on {cores} core(s)")
                wall, cpu, last = hil_run(work / f"par{cores}.yaml", work / "reports", selection)
                walls[cores].append(wall)
                print(f"{cores} core(s): {wall:.1f} s wall, {cpu:.1f} s host CPU ({last})", flush=True)
    finally:
        if not args.keep:
            for controller in labs.values():
                controller.down()
    one, four = statistics.median(walls[1]), statistics.median(walls[4])
    ratio = four / one
    print(f"median: 1 core {one:.1f} s, 4 cores {four:.1f} s; 4 cores / 1 core: {ratio:.2f}x "
          f"(goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'}) on {os.cpu_count()} host CPU(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

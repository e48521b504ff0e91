"""Cold compile time of the bundled tiny CNN per Neo target (goal: ≤ 5 s each), and a cache hit.

Each target is compiled in a fresh process with the cache off, so the figure includes importing
TVM and the frontend, LLVM codegen and the (cross) link: what a user waits for on a first run.
Then, in the same process, the same target twice more without cache (warm process) and once
through a fresh cache (miss, then hit).

    .venv/bin/python benchmarks/compile.py [--targets ml_c5,rasp4b,rasp3b,jetson_nano] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 5.0
CHILD = r"""
import json, sys, tempfile, time
t0 = time.perf_counter()
from harness.compile import compile_model
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL
target, repeat = sys.argv[1], int(sys.argv[2])
runs = []
with tempfile.TemporaryDirectory() as tmp:
    for i in range(repeat):
        start = time.perf_counter()
        compile_model(BUNDLED_MODEL, target, BUNDLED_INPUT_CONFIG, f"{tmp}/out{i}", use_cache=False,
                      cache_dir=f"{tmp}/cache{i}")
        runs.append(time.perf_counter() - start)
    first_incl_import = time.perf_counter() - t0 - sum(runs[1:])
    compile_model(BUNDLED_MODEL, target, BUNDLED_INPUT_CONFIG, f"{tmp}/hit", cache_dir=f"{tmp}/cache0")
    start = time.perf_counter()
    compile_model(BUNDLED_MODEL, target, BUNDLED_INPUT_CONFIG, f"{tmp}/hit2", cache_dir=f"{tmp}/cache0")
    hit = time.perf_counter() - start
print(json.dumps({"target": target, "cold_process_s": first_incl_import, "warm_runs_s": runs[1:], "cache_hit_s": hit}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="ml_c5,rasp4b,rasp3b,jetson_nano")
    parser.add_argument("--repeat", type=int, default=3, help="compiles per target in one process (first is cold)")
    args = parser.parse_args()
    rows = []
    for target in args.targets.split(","):
        print(f"compiling for {target} …", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, "-c", CHILD, target, str(max(2, args.repeat))], cwd=REPO,
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
            return 1
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'target':<14}{'cold (new process)':>20}{'warm median':>14}{'cache hit':>12}  goal ≤ {GOAL_S:g} s")
    ok = True
    for r in rows:
        warm = statistics.median(r["warm_runs_s"])
        ok &= r["cold_process_s"] <= GOAL_S
        print(f"{r['target']:<14}{r['cold_process_s']:>19.2f}s{warm:>13.2f}s{r['cache_hit_s']:>11.3f}s  "
              f"{'ok' if r['cold_process_s'] <= GOAL_S else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

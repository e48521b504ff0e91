"""Cold compile time per Neo target (goal for the bundled tiny CNN: ≤ 5 s each), and a cache hit.

Each target is compiled in a fresh process with the cache off, so the figure includes importing
TVM and the frontend, LLVM codegen and the (cross) link: what a user waits for on a first run.
Then, in the same process, the same target twice more without cache (warm process) and once
through a fresh cache (miss, then hit).

    .venv/bin/python benchmarks/compile.py [--targets ml_c5,rasp4b,rasp3b,jetson_nano] [--repeat 3]
    .venv/bin/python benchmarks/compile.py --workloads any --targets ml_c4,rasp4b --repeat 2

``--workloads any`` compiles the models of tests/lab/test_any_model.py (a 2-D sensor input, two inputs, a
1000-class classifier, a dynamic-batch export) and the BlazeFace detector instead of the bundled CNN.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 5.0
CHILD = r"""
import json, sys, tempfile, time
t0 = time.perf_counter()
from harness.compile import compile_model
target, repeat, model, config = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
runs = []
with tempfile.TemporaryDirectory() as tmp:
    for i in range(repeat):
        start = time.perf_counter()
        compile_model(model, target, config, f"{tmp}/out{i}", use_cache=False,
                      cache_dir=f"{tmp}/cache{i}")
        runs.append(time.perf_counter() - start)
    first_incl_import = time.perf_counter() - t0 - sum(runs[1:])
    compile_model(model, target, config, f"{tmp}/hit", cache_dir=f"{tmp}/cache0")
    start = time.perf_counter()
    compile_model(model, target, config, f"{tmp}/hit2", cache_dir=f"{tmp}/cache0")
    hit = time.perf_counter() - start
print(json.dumps({"target": target, "model": model.rsplit("/", 1)[-1], "cold_process_s": first_incl_import,
                  "warm_runs_s": runs[1:], "cache_hit_s": hit}))
"""


def workloads(kind: str, tmp: Path) -> list[tuple[Path, dict]]:
    """(model, input config) pairs: the bundled CNN, or the users' models of the any-model lab test."""
    if kind == "bundled":
        from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL
        return [(Path(BUNDLED_MODEL), dict(BUNDLED_INPUT_CONFIG))]
    sys.path.insert(0, str(REPO))
    from harness.models.catalog import blazeface_workload
    from tests.lab.test_any_model import MODELS

    blazeface = blazeface_workload()
    return [*(build(tmp) for build in MODELS.values()), (blazeface.model, blazeface.input_config)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="ml_c5,rasp4b,rasp3b,jetson_nano")
    parser.add_argument("--repeat", type=int, default=3, help="compiles per target in one process (first is cold)")
    parser.add_argument("--workloads", choices=("bundled", "any"), default="bundled")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, input_config in workloads(args.workloads, Path(tmp)):
            for target in args.targets.split(","):
                print(f"compiling {model.name} for {target} …", file=sys.stderr, flush=True)
                out = subprocess.run([sys.executable, "-c", CHILD, target, str(max(2, args.repeat)), str(model),
                                      json.dumps(input_config)], cwd=REPO, capture_output=True, text=True, timeout=900)
                if out.returncode != 0:
                    print(out.stderr[-2000:], file=sys.stderr)
                    return 1
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'model':<22}{'target':<14}{'cold (new process)':>20}{'warm median':>14}{'cache hit':>12}"
          + (f"  goal ≤ {GOAL_S:g} s" if args.workloads == "bundled" else ""))
    ok = True
    for r in rows:
        warm = statistics.median(r["warm_runs_s"])
        over = args.workloads == "bundled" and r["cold_process_s"] > GOAL_S
        ok &= not over
        verdict = ("  OVER" if over else "  ok") if args.workloads == "bundled" else ""
        print(f"{r['model']:<22}{r['target']:<14}{r['cold_process_s']:>19.2f}s{warm:>13.2f}s{r['cache_hit_s']:>11.3f}s"
              + verdict)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

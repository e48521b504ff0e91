"""What the DLR path costs on top of the TVM runtime, on the same x86_64 artifact.

TVM's own ``time_evaluator`` median of ``main`` (the floor) against the PyPI dlr wrapper's
``DLRModel.run`` median (ctypes, input copy, output numpy arrays) over the project's libdlr.
Each side runs in its own process (both load a libtvm_runtime.so), alternating rounds so that
load from other users of the machine hits both alike. Goal: DLR adds <= 5 %.

    .venv/bin/python benchmarks/runtime_overhead.py [--runs 100] [--rounds 3]
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
sys.path.insert(0, str(REPO))

from harness.compile import compile_model  # noqa: E402
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL, INPUT_SHAPE  # noqa: E402
from harness.runtime.build import LIBS, build_libdlr  # noqa: E402
from harness.runtime.venv import disable_phone_home  # noqa: E402

SHAPE = list(INPUT_SHAPE)
WARMUP = 20

TVM_CHILD = r"""
import json, sys, numpy as np, tvm
from tvm import relax
model_dir, runs, warmup, shape = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
vm = relax.VirtualMachine(tvm.runtime.load_module(model_dir + "/compiled.so"), tvm.cpu())
x = tvm.runtime.tensor(np.random.default_rng(0).standard_normal(shape).astype("float32"))
vm.time_evaluator("main", tvm.cpu(), number=1, repeat=warmup)(x)
res = vm.time_evaluator("main", tvm.cpu(), number=1, repeat=runs)(x)
print(json.dumps({"median_ms": float(np.median(res.results)) * 1e3}))
"""

DLR_CHILD = r"""
import json, sys, time, numpy as np, dlr
model_dir, runs, warmup, shape = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
m = dlr.DLRModel(model_dir, "cpu", 0)
feed = {m.get_input_names()[0]: np.random.default_rng(0).standard_normal(shape).astype("float32")}
for _ in range(warmup):
    m.run(feed)
times = []
for _ in range(runs):
    t = time.perf_counter()
    m.run(feed)
    times.append(time.perf_counter() - t)
print(json.dumps({"median_ms": float(np.median(times)) * 1e3, "lib": m._impl._lib._name}))
"""


def child(code: str, model_dir: Path, runs: int) -> float:
    argv = [sys.executable, "-c", code, str(model_dir), str(runs), str(WARMUP), json.dumps(SHAPE)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["median_ms"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    disable_phone_home()
    with tempfile.TemporaryDirectory(prefix="runtime-overhead-") as tmp:
        libs = Path(tmp) / "lib"
        build_libdlr("x86_64", "tvm-0.27", libs)
        model = Path(tmp) / "tinycnn"
        compile_model(BUNDLED_MODEL, {"Os": "LINUX", "Arch": "X86_64"}, BUNDLED_INPUT_CONFIG, model,
                      runtime_libs=[libs / n for n in LIBS])
        tvm_ms, dlr_ms = [], []
        for r in range(args.rounds):
            tvm_ms.append(child(TVM_CHILD, model, args.runs))
            dlr_ms.append(child(DLR_CHILD, model, args.runs))
            print(f"round {r + 1}: TVM time_evaluator median {tvm_ms[-1]:.3f} ms, "
                  f"DLR wrapper median {dlr_ms[-1]:.3f} ms", file=sys.stderr)
    tvm_med, dlr_med = statistics.median(tvm_ms), statistics.median(dlr_ms)
    overhead = (dlr_med - tvm_med) / tvm_med * 100
    print(f"{BUNDLED_MODEL.stem} {'x'.join(map(str, SHAPE))} x86_64, {args.runs} runs x {args.rounds} rounds:")
    print(f"  TVM time_evaluator median  {tvm_med:8.3f} ms")
    print(f"  DLR wrapper run() median   {dlr_med:8.3f} ms")
    print(f"  DLR overhead               {dlr_med - tvm_med:+8.3f} ms ({overhead:+.1f} %, goal <= 5 %)")
    return 0 if overhead <= 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())

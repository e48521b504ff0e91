"""Tuned against untuned offline Neo on this host, beside ONNX Runtime (and LiteRT for a .tflite).

Per model, in one run on the controller (a local:// device: the x86_64 core runs the same CPU): DLR p50 of
the artifact compiled with TVM's default schedules, DLR p50 with the tuning database applied, ONNX
Runtime p50 of the source model (LiteRT too for a .tflite), their ratios, and the tuning wall time and
trial count (0 when the database already had every task). The runtimes are measured in turn, ``--rounds``
times over, and each figure is the median of its rounds' p50s: load that comes and goes on a shared host
then falls on every runtime alike. Every runtime gets the same threads, one per physical core unless
``--threads`` says otherwise (harness.ondevice.cpus), and the tuner times candidates with as many. Goal:
tuned DLR p50 <= 1.5x ONNX Runtime. Tuning runs under the caller's niceness.

    .venv/bin/python benchmarks/tuned.py [--model M --input-config JSON] [--target ml_c4] [--rounds 3]
                                         [--trials 0] [--tuning-db DIR] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.bench.measure import RuntimeUnavailable, measure  # noqa: E402
from harness.compile import compile_model  # noqa: E402
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL  # noqa: E402
from harness.lab.device import Device  # noqa: E402
from harness.lab.inventory import DeviceSpec  # noqa: E402
from harness.lab.profiles import load_profiles  # noqa: E402
from harness.models import convert  # noqa: E402
from harness.runtime.build import LIBS, build_libdlr  # noqa: E402
from harness.runtime.venv import disable_phone_home  # noqa: E402
from harness.transport.local import LocalTransport  # noqa: E402

SETTINGS = {"warmup_count": 20, "warmup_seconds": 1.0, "min_count": 100, "min_seconds": 3.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=BUNDLED_MODEL)
    ap.add_argument("--input-config", default=json.dumps(BUNDLED_INPUT_CONFIG))
    ap.add_argument("--target", default="ml_c4", help="an x86_64 TargetDevice this CPU runs (default %(default)s)")
    ap.add_argument("--trials", type=int, default=0, help="tune first with this many trials (0: database as is)")
    ap.add_argument("--time-budget", type=float, help="seconds of tuning at most")
    ap.add_argument("--tuning-db", type=Path, help="database root (default: the user's, then the shipped one)")
    ap.add_argument("--rounds", type=int, default=3, help="measure every runtime this many times, in turn")
    ap.add_argument("--threads", type=int, default=0, help="threads per runtime (0: one per physical core)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    disable_phone_home()
    tuning = {"trials": 0, "seconds": 0.0}
    if args.trials:
        from harness.compile.tune import tune_model

        r = tune_model(args.model, args.target, args.input_config, trials=args.trials, time_budget=args.time_budget,
                       root=args.tuning_db, progress=lambda m: print(f"tune: {m}", file=sys.stderr))
        tuning = {"trials": r.trials, "seconds": round(r.seconds, 1), "tasks": r.tasks, "untuned": r.untuned}
    spec = DeviceSpec(name="controller", profile=args.target, connection="local://")
    host = Device(spec, load_profiles()[args.target], LocalTransport("controller"), "local://")
    figures: dict[str, object] = {"model": args.model.name, "target": args.target, "tuning": tuning}
    with tempfile.TemporaryDirectory(prefix="tuned-bench-") as tmp:
        libs = Path(tmp) / "lib"
        build_libdlr("x86_64", "tvm-0.27", libs)
        runtime_libs = [libs / n for n in LIBS]
        arts = {}
        for label, tuned in (("untuned", False), ("tuned", True)):
            arts[label] = compile_model(args.model, args.target, args.input_config, Path(tmp) / label,
                                        runtime_libs=runtime_libs, tuning=tuned, tuning_db=args.tuning_db,
                                        progress=lambda m: print(f"compile: {m}", file=sys.stderr))
        t = arts["tuned"].meta.tuning
        figures["tasks"] = {"tuned": t.tuned_tasks, "default": t.default_tasks} if t else {"tuned": 0}
        runs = [("dlr_untuned", arts["untuned"], "dlr"), ("dlr_tuned", arts["tuned"], "dlr"),
                ("onnxruntime", arts["untuned"], "onnxruntime")]
        onnx, how = convert.onnx_for(args.model, Path(tmp))
        print(f"onnxruntime: {how}", file=sys.stderr)
        tflite = args.model if args.model.suffix == ".tflite" else None
        if tflite:
            runs.append(("litert", arts["untuned"], "litert"))
        runs = [r for r in runs if r[2] != "onnxruntime" or onnx]
        rounds: dict[str, list[float]] = {}
        with host.transport:
            for n in range(args.rounds):
                for label, art, runtime in runs:
                    if n and label not in rounds:
                        continue  # unavailable in the first round
                    try:
                        res = measure(host, art.directory, runtime=runtime, python=sys.executable,
                                      onnx=onnx, tflite=tflite, threads=args.threads, **SETTINGS)
                    except RuntimeUnavailable as exc:
                        print(f"{label}: {exc.detail}", file=sys.stderr)
                        continue
                    rounds.setdefault(label, []).append(res.latency_ms["p50"])
                    figures["threads"] = res.settings["threads"]
                    print(f"round {n + 1} {label}: {res.summary()}", file=sys.stderr)
    p50 = {label: round(statistics.median(v), 3) for label, v in rounds.items()}
    figures["p50_ms_rounds"] = {label: [round(x, 3) for x in v] for label, v in rounds.items()}
    figures["p50_ms"] = p50
    for base in ("onnxruntime", "litert"):
        if base in p50:
            figures[f"ratio_vs_{base}"] = {k: round(v / p50[base], 2) for k, v in p50.items() if k.startswith("dlr")}
    if "dlr_untuned" in p50 and "dlr_tuned" in p50:
        figures["speedup"] = round(p50["dlr_untuned"] / p50["dlr_tuned"], 2)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(f"{figures['model']} on {args.target} (this host): tuning {tuning['trials']} trials in "
              f"{tuning['seconds']} s; tasks {figures['tasks']}; {figures.get('threads')} threads per runtime")
        for k, v in p50.items():
            ratios = [f"{figures[f'ratio_vs_{b}'][k]}x {name}" for b, name in (("onnxruntime", "ONNX Runtime"),
                                                                               ("litert", "LiteRT"))
                      if k in figures.get(f"ratio_vs_{b}", {})]
            print(f"  {k:<12} p50 {v:8.3f} ms (median of {len(rounds[k])})"
                  + (f"  ({', '.join(ratios)})" if ratios else ""))
        if "speedup" in figures:
            print(f"  tuned/untuned speedup {figures['speedup']}x (goal: tuned <= 1.5x ONNX Runtime)")
    ratio = (figures.get("ratio_vs_onnxruntime") or figures.get("ratio_vs_litert") or {}).get("dlr_tuned")
    return 0 if ratio is not None and ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())

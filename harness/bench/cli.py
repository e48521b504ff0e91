"""`hil bench ARTIFACT --device NAME`: single-stream latency and memory of an artifact on a lab device."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.bench.budgets import BudgetExceeded, budgets_for, parse_override
from harness.bench.measure import BenchResult, RuntimeUnavailable, assert_within_budgets, measure
from harness.ondevice.agent import PROFILES
from harness.primitives.progress import say

CHOICES = ("dlr", "onnxruntime", "litert", "all")


def _bench(args: argparse.Namespace) -> int:
    from harness.artifact.meta import load_meta
    from harness.lab.bringup import LabController
    from harness.lab.inventory import load_lab

    overrides = [parse_override(text) for text in args.budget]  # bad input fails before anything runs
    model = load_meta(args.artifact).model.name
    device = LabController(load_lab(args.lab), say).device(args.device)
    runtimes = ("dlr", "onnxruntime", "litert") if args.runtime == "all" else (args.runtime,)
    results: list[BenchResult] = []
    unavailable: dict[str, str] = {}
    with device.transport:
        for runtime in runtimes:
            try:
                results.append(measure(device, args.artifact, runtime=runtime, profile=args.profile,
                                       onnx=args.onnx, tflite=args.tflite, inputs=args.inputs,
                                       threads=args.threads, say=say))
            except RuntimeUnavailable as exc:
                if args.runtime != "all":
                    raise
                unavailable[runtime] = exc.detail
    budgets = budgets_for(device, overrides, model)
    failures = []
    for result in results:
        if result.runtime == "dlr":  # budgets are for the deployed artifact, which DLR runs
            try:
                assert_within_budgets(result, budgets)
            except BudgetExceeded as exc:
                failures += exc.lines
    if args.pytest_benchmark_json:
        from harness.bench.pytest_benchmark_json import write

        say(f"wrote {write(args.pytest_benchmark_json, results)}")
    if args.json:
        print(json.dumps({"results": [r.as_dict() for r in results], "unavailable": unavailable,
                          "budgets": budgets, "budget_failures": failures}, indent=1))
    else:
        for result in results:
            print(result.summary())
        for reason in unavailable.values():
            print(f"{device.name}: {reason}")
        print(f"budgets {budgets or '(none)'}: " + ("; ".join(failures) if failures else "within budget"))
    for line in failures:
        print(f"hil: {line}", file=sys.stderr)
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure an artifact's latency and memory on a lab device")
    p.add_argument("artifact", type=Path, metavar="ARTIFACT", help="Neo artifact directory (compiled.so + .meta)")
    p.add_argument("--device", required=True, metavar="NAME", help="the lab device to measure on")
    p.add_argument("--lab", type=Path, default=None, metavar="FILE",
                   help="lab file (default: the embedded lab, devices/lab.yaml)")
    p.add_argument("--runtime", choices=CHOICES, default="dlr",
                   help="dlr (the artifact), onnxruntime (the source .onnx), litert (a .tflite), or all")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci",
                   help="ci: 20 queries / 1 s; nightly: 300 queries / 10 s (default: %(default)s)")
    p.add_argument("--onnx", type=Path, default=None, help="source .onnx for onnxruntime "
                   "(default: the bundled model when the artifact was compiled from it)")
    p.add_argument("--tflite", type=Path, default=None, help=".tflite model for litert")
    p.add_argument("--inputs", type=Path, default=None, help=".npz of inputs by name (default: random data)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="threads every runtime gets (default 0: one per physical core of the device)")
    p.add_argument("--budget", action="append", default=[], metavar="[MODEL:]KEY=VALUE",
                   help="override a budget: p90_ms, peak_rss_mb or load_s (repeatable)")
    p.add_argument("--pytest-benchmark-json", type=Path, default=None, metavar="FILE",
                   help="also write the results in pytest-benchmark's JSON format")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_bench)

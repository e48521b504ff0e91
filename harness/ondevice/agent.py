"""On-device measurement agent: load a model with one runtime, time single-stream queries, print one JSON.

Shipped to the device with the rest of harness.ondevice (harness.ship) and run with the device's
own Python (stdlib + numpy + the runtime). Follows MLPerf single-stream rules: one query at a time,
a warm-up (count and minimum time), then queries until BOTH a minimum count and a minimum duration
are met, timed with the device's own ``time.perf_counter_ns``. A runtime that is not installed, or
a model file that was not given, is reported as ``"available": false`` with the reason (exit 0):
an absent comparison is a result. Exit 2 = bad arguments, 1 = the runtime failed (its error on
stderr and in ``error``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

try:  # imported from the host as harness.ondevice.agent
    from . import cpus, stats
except ImportError:  # run on the device as a script: its siblings are shipped beside it
    import cpus  # type: ignore[no-redef]
    import stats  # type: ignore[no-redef]

SCHEMA = "hil.bench/1"
RUNTIMES = ("dlr", "onnxruntime", "litert")
#: name -> (warm-up count, warm-up seconds, minimum count, minimum seconds)
PROFILES = {"ci": (2, 0.2, 20, 1.0), "nightly": (10, 2.0, 300, 10.0)}
MIB = 1 << 20


class Unavailable(Exception):
    """This runtime cannot be measured here; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="agent.py", description="single-stream latency of one model on this device")
    p.add_argument("--model-dir", help="Neo artifact directory (compiled.so + compiled.meta)")
    p.add_argument("--runtime", choices=RUNTIMES, default="dlr")
    p.add_argument("--onnx", help="the source .onnx, for --runtime onnxruntime")
    p.add_argument("--tflite", help="a .tflite model, for --runtime litert")
    p.add_argument("--inputs", help=".npz of inputs by name (default: random data of compiled.meta's shapes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0,
                   help="threads every runtime gets (default 0: one per physical core this process may use)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    p.add_argument("--warmup-count", type=int)
    p.add_argument("--warmup-seconds", type=float)
    p.add_argument("--min-count", type=int)
    p.add_argument("--min-seconds", type=float)
    p.add_argument("--max-seconds", type=float, default=600.0,
                   help="stop here even if the minimums are not met (the result is then invalid)")
    p.add_argument("--self-test-alloc-mib", type=int, metavar="N",
                   help="no model: allocate and touch N MiB, report the peak-RSS figures")
    args = p.parse_args(argv)
    defaults = dict(zip(("warmup_count", "warmup_seconds", "min_count", "min_seconds"), PROFILES[args.profile],
                        strict=True))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    problem = settings_problem(args)
    if problem:
        p.error(problem)
    if args.self_test_alloc_mib is None and not args.model_dir:
        p.error("--model-dir is required (or --self-test-alloc-mib)")
    if args.self_test_alloc_mib is not None and args.self_test_alloc_mib < 1:
        p.error("--self-test-alloc-mib must be >= 1")
    return args


def settings_problem(args: argparse.Namespace) -> str | None:
    """Why these measurement settings cannot work, or None (checked on the host before uploading too)."""
    if args.warmup_count < 0 or args.min_count < 1 or args.warmup_seconds < 0 or args.min_seconds < 0:
        return "warm-up count/seconds must be >= 0, minimum count >= 1 and minimum seconds >= 0"
    if args.max_seconds <= 0:
        return "--max-seconds must be > 0"
    if getattr(args, "threads", 0) < 0:
        return "--threads must be >= 0 (0: one per physical core)"
    return None


def peak_rss_bytes() -> tuple[int, str]:
    """This process's peak resident set: VmHWM from /proc/self/status, else ru_maxrss (KiB on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024, "VmHWM"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "ru_maxrss"


def self_test(mib: int) -> dict:
    """Allocate and touch ``mib`` MiB so the host can check the peak-RSS figure against a known amount."""
    before, source = peak_rss_bytes()
    buf = bytearray(mib * MIB)  # calloc'd: pages exist only once written
    for offset in range(0, len(buf), 4096):
        buf[offset] = 1
    after, _ = peak_rss_bytes()
    return {"schema": SCHEMA, "self_test": True, "alloc_bytes": len(buf), "baseline_peak_rss_bytes": before,
            "peak_rss_bytes": after, "peak_rss_source": source, "touched": sum(buf[::4096])}


def model_inputs(args: argparse.Namespace) -> dict:
    """Inputs by name: the .npz if given, else seeded random data of compiled.meta's shapes and dtypes."""
    import numpy as np

    if args.inputs:
        with np.load(args.inputs) as npz:
            return {name: npz[name] for name in npz.files}
    with open(os.path.join(args.model_dir, "compiled.meta")) as f:
        meta = json.load(f)
    rng = np.random.default_rng(args.seed)
    feed = {}
    for spec in meta["inputs"]:
        dtype = np.dtype(spec["dtype"])
        if dtype.kind == "f":
            feed[spec["name"]] = rng.standard_normal(spec["shape"]).astype(dtype)
        elif dtype.kind == "b":
            feed[spec["name"]] = rng.integers(0, 2, spec["shape"]).astype(dtype)
        else:
            feed[spec["name"]] = rng.integers(0, min(np.iinfo(dtype).max, 255), spec["shape"]).astype(dtype)
    return feed


def load_runtime(args: argparse.Namespace, feed: dict, threads: int):
    """(run, version) for the chosen runtime with ``threads`` threads; run() does one inference on ``feed``."""
    if args.runtime == "dlr":
        cpus.tvm_threads(threads)
        try:
            import dlr
        except ImportError as exc:
            raise Unavailable(f"the dlr package is not installed ({exc})") from None
        model = dlr.DLRModel(args.model_dir, "cpu", 0)
        return (lambda: model.run(feed)), f"dlr {dlr.__version__} ({model.get_version()})"
    if args.runtime == "onnxruntime":
        if not args.onnx:
            raise Unavailable("no source .onnx model was given (--onnx)")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise Unavailable(f"onnxruntime is not installed on this device ({exc})") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
        return (lambda: session.run(None, feed)), f"onnxruntime {ort.__version__}"
    if not args.tflite:
        raise Unavailable("no .tflite model was given (--tflite)")
    try:
        from ai_edge_litert import __version__ as litert_version
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise Unavailable(f"ai-edge-litert is not installed on this device ({exc})") from None
    interpreter = Interpreter(model_path=args.tflite, num_threads=threads)
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()

    def run() -> None:
        for d in details:
            interpreter.set_tensor(d["index"], feed[d["name"]])
        interpreter.invoke()

    return run, f"litert {litert_version}"


def single_stream(run, args: argparse.Namespace, clock=time.perf_counter_ns) -> dict:
    """Warm-up, then timed queries one at a time until both minimums are met (or max-seconds passes)."""
    t0 = clock()
    run()
    first_ns = clock() - t0
    warm = 1
    while warm < args.warmup_count or clock() - t0 < args.warmup_seconds * 1e9:
        run()
        warm += 1
    warmup_ns = clock() - t0
    samples: list[int] = []
    wall_start = time.time()
    start = clock()
    cpu0 = os.times()
    while len(samples) < args.min_count or clock() - start < args.min_seconds * 1e9:
        if clock() - start > args.max_seconds * 1e9:
            break
        a = clock()
        run()
        samples.append(clock() - a)
    duration_ns = clock() - start
    cpu1 = os.times()
    valid = len(samples) >= args.min_count and duration_ns >= args.min_seconds * 1e9
    return {"first_inference_ms": first_ns / 1e6, "warmup": {"count": warm, "seconds": warmup_ns / 1e9},
            "samples_ns": samples, "duration_s": duration_ns / 1e9, "valid": valid,
            "wall_start": wall_start, "wall_end": wall_start + duration_ns / 1e9,
            "cpu_measure_s": {"user": cpu1.user - cpu0.user, "system": cpu1.system - cpu0.system}}


def measure(args: argparse.Namespace) -> dict:
    report = {"schema": SCHEMA, "runtime": args.runtime, "machine": platform.machine(),
              "python": platform.python_version(), "clock": "perf_counter_ns",
              "settings": {k: getattr(args, k) for k in ("profile", "warmup_count", "warmup_seconds",
                                                         "min_count", "min_seconds", "max_seconds")}}
    threads = args.threads or cpus.physical_cores()
    report["settings"]["threads"] = threads
    try:
        feed = model_inputs(args)
        t0 = time.perf_counter_ns()
        run, version = load_runtime(args, feed, threads)
        load_s = (time.perf_counter_ns() - t0) / 1e9
    except Unavailable as exc:
        return {**report, "available": False, "reason": str(exc)}
    loop = single_stream(run, args)
    loop["process_threads"] = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    samples_ms = [ns / 1e6 for ns in loop.pop("samples_ns")]
    peak, source = peak_rss_bytes()
    cpu = os.times()
    return {**report, "available": True, "runtime_version": version, "load_s": load_s, **loop,
            "latency_ms": stats.summarize(samples_ms), "samples_ms": samples_ms,
            "peak_rss_bytes": peak, "peak_rss_source": source,
            "cpu_s": {"user": cpu.user, "system": cpu.system}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.self_test_alloc_mib is not None:
        print(json.dumps(self_test(args.self_test_alloc_mib)))
        return 0
    try:
        report = measure(args)
    except Exception as exc:  # noqa: BLE001 - the runtime's own error is the product here
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        print(json.dumps({"schema": SCHEMA, "runtime": args.runtime, "available": True,
                          "error": f"{type(exc).__name__}: {str(exc)[-2000:]}"}))
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the on-device agent measure what the model costs? Its p50 against two floors, per core.

On the same artifact and core:
- agent p50: `harness.bench.measure` (the agent's single-stream loop, stats, JSON, over SSH);
- bare loop p50: a minimal in-process loop on the device timing only ``DLRModel.run`` (no stats);
- TVM ``time_evaluator`` median of ``main``: the cores have no TVM Python package, so it runs on this
  host, and only for the x86_64 core, which is a container on this host's CPU (same artifact, same CPU,
  but outside the core's cgroup).
Rounds alternate the three so load from other users of the machine hits all alike; the table shows the
median over rounds. Goal: agent/bare and agent/time_evaluator in 0.97-1.03, agent - bare <= 20 us per
inference; "timing/query" is the agent's loop around a no-op on the device (its cost per query, exactly).
Also: DLR vs ONNX Runtime p50 per core, and the wall time of one full `measure` per core.

    .venv/bin/python benchmarks/bench_fidelity.py [--lab FILE] [--device NAME ...] [--rounds 3]
        [--queries 100] [--profile ci|nightly]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.bench.lock import host_key, measurement_lock  # noqa: E402
from harness.bench.measure import RuntimeUnavailable, measure  # noqa: E402
from harness.compile.bundled import INPUT_SHAPE, compile_bundled  # noqa: E402
from harness.lab.bringup import LabController  # noqa: E402
from harness.lab.device import DEVICE_PYTHON  # noqa: E402
from harness.lab.inventory import load_lab  # noqa: E402
from harness.primitives.progress import say  # noqa: E402
from harness.primitives.scratch import scratch_dir  # noqa: E402
from harness.ship import ship  # noqa: E402

WARMUP = 5
TIMEOUT = 900.0

# On this host: TVM's own timer on the same compiled.so.
TIME_EVALUATOR = r"""
import json, sys, numpy as np, tvm
from tvm import relax
model_dir, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vm = relax.VirtualMachine(tvm.runtime.load_module(model_dir + "/compiled.so"), tvm.cpu())
x = tvm.runtime.tensor(np.random.default_rng(0).standard_normal(json.loads(sys.argv[4])).astype("float32"))
vm.time_evaluator("main", tvm.cpu(), number=1, repeat=warmup)(x)
res = vm.time_evaluator("main", tvm.cpu(), number=1, repeat=runs)(x)
print(json.dumps({"median_ms": float(np.median(res.results)) * 1e3}))
"""


def on_device(device, artifact_dir: Path, mode: str, *args: str) -> dict:
    """Run harness/ondevice/fidelity.py ``mode`` on the device under the measurement lock (``{model}`` in
    ``args`` is the uploaded artifact)."""
    t = device.transport
    code = ship(t)
    with scratch_dir(t, "fidelity") as remote:
        t.put_dir(artifact_dir, f"{remote}/model", timeout=120)
        argv = code.argv(DEVICE_PYTHON, "fidelity", mode, *(a.format(model=f"{remote}/model") for a in args))
        with measurement_lock(host_key(device.connection, device.emulated), timeout=TIMEOUT, device=device.name):
            out = t.check(argv, timeout=TIMEOUT, step="fidelity loop")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bare_loop(device, artifact_dir: Path, runs: int) -> float:
    shape = ",".join(map(str, INPUT_SHAPE))
    return on_device(device, artifact_dir, "bare", "{model}", str(runs), str(WARMUP), shape)["p50_ms"]


def time_evaluator(artifact_dir: Path, runs: int) -> float:
    with measurement_lock("controller", timeout=TIMEOUT):
        out = subprocess.run([sys.executable, "-c", TIME_EVALUATOR, str(artifact_dir), str(runs), str(WARMUP),
                              json.dumps(list(INPUT_SHAPE))],
                             capture_output=True, text=True, timeout=TIMEOUT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["median_ms"]


def fidelity(device, artifact_dir: Path, rounds: int, queries: int) -> dict:
    native = device.profile.arch == platform.machine()
    agent, bare, tve = [], [], []
    for i in range(rounds):
        say(f"{device.name}: round {i + 1}/{rounds}")
        r = measure(device, artifact_dir, warmup_count=WARMUP, warmup_seconds=0, min_count=queries,
                    min_seconds=0)
        agent.append(r.latency_ms["p50"])
        bare.append(bare_loop(device, artifact_dir, queries))
        if native:
            tve.append(time_evaluator(artifact_dir, queries))
    row = {"agent_p50_ms": statistics.median(agent), "bare_p50_ms": statistics.median(bare),
           "rounds_agent": agent, "rounds_bare": bare}
    row["agent_over_bare"] = row["agent_p50_ms"] / row["bare_p50_ms"]
    row["overhead_us"] = (row["agent_p50_ms"] - row["bare_p50_ms"]) * 1e3
    row["timing_cost"] = on_device(device, artifact_dir, "null", "10000")
    if tve:
        row["time_evaluator_ms"] = statistics.median(tve)
        row["agent_over_time_evaluator"] = row["agent_p50_ms"] / row["time_evaluator_ms"]
    return row


def runtime_ratio(device, artifact_dir: Path, queries: int) -> dict:
    dlr = measure(device, artifact_dir, min_count=queries, min_seconds=0)
    try:
        ort = measure(device, artifact_dir, runtime="onnxruntime", min_count=queries, min_seconds=0)
    except RuntimeUnavailable as exc:
        return {"dlr_p50_ms": dlr.latency_ms["p50"], "onnxruntime": exc.detail}
    return {"dlr_p50_ms": dlr.latency_ms["p50"], "ort_p50_ms": ort.latency_ms["p50"],
            "dlr_over_ort": dlr.latency_ms["p50"] / ort.latency_ms["p50"], "ort_version": ort.runtime_version}


def full_benchmark_wall(device, artifact_dir: Path, profile: str) -> dict:
    start = time.monotonic()
    r = measure(device, artifact_dir, profile=profile)
    return {"profile": profile, "wall_s": time.monotonic() - start, "queries": r.latency_ms["count"],
            "p90_ms": r.latency_ms["p90"], "peak_rss_mb": r.peak_rss_mb, "load_s": r.load_s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", type=Path, default=None)
    ap.add_argument("--device", action="append", default=[])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=100, help="queries per round on x86_64 (arm64: a tenth)")
    ap.add_argument("--profile", choices=("ci", "nightly"), default="ci", help="for the full-benchmark wall time")
    args = ap.parse_args()
    controller = LabController(load_lab(args.lab), say)
    controller.up()
    names = args.device or [d.name for d in controller.lab.spec.devices]
    table = {}
    for name in names:
        device = controller.device(name)
        artifact = compile_bundled(device.profile.neo_target, Path("/tmp/hil-fidelity"))
        queries = args.queries if device.profile.arch == platform.machine() else max(10, args.queries // 10)
        say(f"{name}: fidelity, {args.rounds} rounds of {queries} queries")
        row = {"arch": device.profile.arch, "queries": queries,
               **fidelity(device, artifact.directory, args.rounds, queries)}
        say(f"{name}: DLR vs ONNX Runtime")
        row.update(runtime_ratio(device, artifact.directory, queries))
        say(f"{name}: one full `measure` ({args.profile})")
        row["full"] = full_benchmark_wall(device, artifact.directory, args.profile)
        table[name] = row
        device.transport.close()
    print(f"{'device':12} {'agent p50':>10} {'bare p50':>9} {'agent/bare':>10} {'overhead':>9} "
          f"{'TVM t_e':>8} {'agent/t_e':>9} {'DLR/ORT':>8} {'full wall':>10} {'timing/query':>12}")
    for name, r in table.items():
        tve = f"{r['time_evaluator_ms']:7.2f}ms" if "time_evaluator_ms" in r else f"{'n/a':>9}"
        ratio_te = f"{r['agent_over_time_evaluator']:9.3f}" if "agent_over_time_evaluator" in r else f"{'n/a':>9}"
        ratio_ort = f"{r['dlr_over_ort']:8.1f}" if "dlr_over_ort" in r else f"{'n/a':>8}"
        print(f"{name:12} {r['agent_p50_ms']:8.2f}ms {r['bare_p50_ms']:7.2f}ms {r['agent_over_bare']:10.3f} "
              f"{r['overhead_us']:7.0f}us {tve} {ratio_te} {ratio_ort} {r['full']['wall_s']:9.1f}s "
              f"{r['timing_cost']['p50_us']:10.2f}us")
    print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

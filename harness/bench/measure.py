"""Measure a Neo artifact on a device: ship the agent, upload the artifact, run the agent under the host lock.

The figures come from the device's own clock and /proc (harness/ondevice/agent.py); the host only
moves files, serializes measurements that share CPUs (harness/bench/lock.py) and checks budgets.
"""

from __future__ import annotations

import json
import platform
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from harness.artifact.meta import load_meta
from harness.bench.budgets import BudgetExceeded, violations
from harness.bench.lock import Hold, host_key, measurement_lock
from harness.errors import FailureClass, HilError
from harness.ondevice import agent
from harness.primitives import hostcmd
from harness.primitives.digest import sha256_file
from harness.primitives.progress import Say, quiet
from harness.primitives.scratch import scratch_dir
from harness.ship import ship
from harness.transport.base import Transport

#: Python, numpy and a runtime take a while to start under qemu-user; added to the measuring time.
START_ALLOWANCE_S = 180.0
UPLOAD_TIMEOUT = 120.0
QEMU_NOTE = "qemu figures are not device figures; still useful as ratios"
NATIVE_EMULATED_NOTE = "emulated core: this host's CPU, not the device's; still useful as ratios"


class BenchError(HilError):
    """The agent could not measure: it failed, timed out or printed something that is not its report."""

    failure_class = FailureClass.COMMAND


class RuntimeUnavailable(BenchError):
    """The runtime asked for is not installed on the device, or its model file was not given."""

    failure_class = FailureClass.RUNTIME_MISMATCH


class BenchDevice(Protocol):
    """What measure() needs of a lab device (harness.lab.device.Device has it)."""

    name: str
    transport: Transport
    emulated: bool
    connection: str
    python: str


@dataclass
class BenchResult:
    """One runtime's single-stream figures for one artifact on one device (times from the device's clock)."""

    device: str
    runtime: str
    runtime_version: str
    model: str
    latency_ms: dict[str, float]
    samples_ms: list[float]
    first_inference_ms: float
    load_s: float
    peak_rss_mb: float
    peak_rss_source: str
    cpu_s: dict[str, float]
    cpu_measure_s: dict[str, float]
    duration_s: float
    valid: bool
    settings: dict[str, Any]
    host: str
    emulated: bool
    machine: str
    note: str | None
    wall_start: float
    wall_end: float
    lock: Hold
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> dict[str, float]:
        """The figures budgets are checked against."""
        return {"p90_ms": self.latency_ms["p90"], "peak_rss_mb": self.peak_rss_mb, "load_s": self.load_s}

    def summary(self) -> str:
        lat = self.latency_ms
        line = (f"{self.device} {self.runtime}: p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, "
                f"p99 {lat['p99']:.2f} ms (n={lat['count']}, {self.duration_s:.1f} s), first "
                f"{self.first_inference_ms:.1f} ms, load {self.load_s:.2f} s, peak RSS {self.peak_rss_mb:.1f} MB"
                + (f", {self.settings['threads']} threads" if "threads" in self.settings else ""))
        return line + (f" [{self.note}]" if self.note else "") + ("" if self.valid else " [INVALID: minimums not met]")

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "lock"}
        data["lock"] = {"host": self.lock.key, "asked": self.lock.asked, "acquired": self.lock.acquired,
                        "released": self.lock.released}
        return data


def assert_within_budgets(result: BenchResult, budgets: Mapping[str, float]) -> None:
    """Raise BudgetExceeded (an AssertionError) naming every figure over budget."""
    lines = violations(result.device, result.figures, budgets, p50_ms=result.latency_ms["p50"],
                       count=int(result.latency_ms["count"]))
    if lines:
        raise BudgetExceeded(result.device, lines)


def source_model(meta_sha256: str, candidates: list[Path]) -> Path | None:
    """The .onnx among ``candidates`` whose digest is the one compiled.meta records, if any."""
    for path in candidates:
        if path.is_file() and sha256_file(path) == meta_sha256:
            return path
    return None


def _note(device: BenchDevice, machine: str) -> str | None:
    if not device.emulated:
        return None
    return NATIVE_EMULATED_NOTE if machine == platform.machine() else QEMU_NOTE


def measure(device: BenchDevice, artifact_dir: Path | str, *, runtime: str = "dlr", profile: str = "ci",
            onnx: Path | None = None, tflite: Path | None = None, inputs: Path | None = None,
            warmup_count: int | None = None, warmup_seconds: float | None = None,
            min_count: int | None = None, min_seconds: float | None = None, max_seconds: float = 300.0,
            threads: int = 0, python: str | None = None, lock_timeout: float = 1800.0,
            say: Say | None = None) -> BenchResult:
    """Upload ``artifact_dir`` (+ the agent, + the source model if given) and measure it with ``runtime``.

    ``python`` is the device's interpreter with the runtimes: by default ``device.python`` (the lab file's
    ``python`` feature, else the emulated cores' venv). Every runtime gets ``threads`` threads, by default one
    per physical core of the device (harness.ondevice.cpus says why the runtimes' own choices differ).

    Raises RuntimeUnavailable when the device cannot run ``runtime``, BenchError when the agent fails
    (with its stderr tail), CommandTimeout/TransportError from the transport.
    """
    if runtime not in agent.RUNTIMES or profile not in agent.PROFILES:
        raise BenchError(f"unknown runtime {runtime!r} or profile {profile!r}", device=device.name, step="measure",
                         failure_class=FailureClass.INVENTORY,
                         advice=f"runtimes: {', '.join(agent.RUNTIMES)}; profiles: {', '.join(agent.PROFILES)}")
    chosen = dict(zip(("warmup_count", "warmup_seconds", "min_count", "min_seconds"), agent.PROFILES[profile],
                      strict=True))
    given = {"warmup_count": warmup_count, "warmup_seconds": warmup_seconds, "min_count": min_count,
             "min_seconds": min_seconds}
    chosen.update({k: v for k, v in given.items() if v is not None}, max_seconds=max_seconds, threads=threads)
    problem = agent.settings_problem(SimpleNamespace(**chosen))  # bad settings fail here, before any upload
    if problem:
        raise BenchError(problem, device=device.name, step="measure", failure_class=FailureClass.INVENTORY)
    argv = [f"--profile={profile}", *(f"--{k.replace('_', '-')}={v}" for k, v in chosen.items())]
    artifact_dir = Path(artifact_dir)
    meta = load_meta(artifact_dir)
    if onnx is None and runtime == "onnxruntime":
        from harness.compile.bundled import BUNDLED_MODEL  # the one source model whose path the host knows

        onnx = source_model(meta.model.sha256, [BUNDLED_MODEL])
    tell = say or quiet
    python = python or device.python
    transport, name = device.transport, device.name
    code = ship(transport)
    with scratch_dir(transport, "bench") as remote:
        model_dir = posixpath.join(remote, "model")
        tell(f"{name}: uploading {artifact_dir.name} to {remote} (agent in {code.directory})")
        transport.put_dir(artifact_dir, model_dir, timeout=UPLOAD_TIMEOUT)
        argv += ["--model-dir", model_dir, "--runtime", runtime]
        for flag, path in (("--onnx", onnx), ("--tflite", tflite), ("--inputs", inputs)):
            if path is not None:
                target = posixpath.join(remote, "in-" + Path(path).name)
                transport.put(Path(path), target, timeout=UPLOAD_TIMEOUT)
                argv += [flag, target]
        key = host_key(device.connection, device.emulated)
        tell(f"{name}: waiting for the measurement lock of host {key}")
        with measurement_lock(key, timeout=lock_timeout, device=name) as hold:
            tell(f"{name}: measuring {meta.model.name} with {runtime} ({profile} profile)")
            result = transport.run(code.argv(python, "agent", *argv), timeout=START_ALLOWANCE_S + max_seconds)
    report = _report(result.stdout, result.stderr, result.exit_status, name, runtime)
    return _result(device, meta.model.name, report, hold)


def peak_rss_self_test(device: BenchDevice, mib: int, *, python: str | None = None) -> dict[str, Any]:
    """Run the agent's self-test on the device: its VmHWM before and after touching ``mib`` MiB.

    Proves on each device that the peak-RSS figure means what it says (qemu-user, cgroups and kernels
    differ); the caller compares the growth with the allocation.
    """
    code = ship(device.transport)
    result = device.transport.run(code.argv(python or device.python, "agent", f"--self-test-alloc-mib={mib}"),
                                  timeout=START_ALLOWANCE_S)
    return _report(result.stdout, result.stderr, result.exit_status, device.name, "self-test")


def _report(stdout: str, stderr: str, status: int, device: str, runtime: str) -> dict[str, Any]:
    tail = hostcmd.tail(stderr, 5)
    lines = stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1]) if lines else None
    except ValueError:
        report = None
    if not isinstance(report, dict) or report.get("schema") != agent.SCHEMA:
        raise BenchError(f"the agent exited {status} without a report; stderr: {tail}", device=device,
                         step=f"measure {runtime}", advice="run `hil bench` again with the same artifact; "
                         "an exit status of 137 or 139 is the kernel killing the runtime (memory or a crash)")
    if report.get("available") is False:
        raise RuntimeUnavailable(f"{runtime} is unavailable: {report.get('reason')}", device=device,
                                 step=f"measure {runtime}", advice="install it on the device (image layer "
                                 "35-ml-runtimes does for emulated cores) or give the model file it needs")
    if status != 0 or "error" in report:
        raise BenchError(f"{runtime} failed on the device: {report.get('error') or tail}", device=device,
                         step=f"measure {runtime}", advice="the artifact does not run with this runtime here: "
                         "check `hil inspect`/preflight (target, DLR version) and the agent's stderr above")
    return report


def _numbers(value: object, keys: tuple[str, ...] = ()) -> bool:
    def num(x: object) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool)

    if keys:
        return isinstance(value, dict) and all(num(value.get(k)) for k in keys)
    return isinstance(value, list) and all(num(x) for x in value)


def _result(device: BenchDevice, model: str, r: dict[str, Any], hold: Hold) -> BenchResult:
    shapes_ok = (_numbers(r.get("latency_ms"), ("count", "mean", "std", "min", "p50", "p90", "p99", "max"))
                 and _numbers(r.get("samples_ms")) and _numbers(r.get("cpu_s"), ("user", "system"))
                 and _numbers(r.get("cpu_measure_s"), ("user", "system")) and isinstance(r.get("settings"), dict)
                 and _numbers([r.get(k) for k in ("first_inference_ms", "load_s", "peak_rss_bytes", "duration_s",
                                                  "wall_start", "wall_end")]))
    if not shapes_ok:
        raise BenchError("the agent's report has missing or non-numeric figures", device=device.name, step="measure",
                         advice="the agent on the device is from another harness version")
    try:
        return BenchResult(
            device=device.name, runtime=r["runtime"], runtime_version=r["runtime_version"], model=model,
            latency_ms=r["latency_ms"], samples_ms=r["samples_ms"], first_inference_ms=r["first_inference_ms"],
            load_s=r["load_s"], peak_rss_mb=r["peak_rss_bytes"] / 2**20, peak_rss_source=r["peak_rss_source"],
            cpu_s=r["cpu_s"], cpu_measure_s=r["cpu_measure_s"], duration_s=r["duration_s"], valid=r["valid"],
            settings=r["settings"], host=hold.key, emulated=device.emulated, machine=r["machine"],
            note=_note(device, r["machine"]), wall_start=r["wall_start"], wall_end=r["wall_end"], lock=hold,
            extra={"warmup": r["warmup"], "python": r["python"], "clock": r["clock"],
                   "process_threads": r.get("process_threads")})
    except (KeyError, TypeError) as exc:
        raise BenchError(f"the agent's report lacks {exc}", device=device.name, step="measure",
                         advice="the agent on the device is from another harness version") from None

"""`hil run`: the shipped scenarios against a lab, with the reports written under reports/<run-id>/.

reports/<run-id>/ gets index.html (the self-contained report), results.json (one record per device ×
scenario), junit.xml and pytest.html (pytest-html's per-test page). With ``--baseline`` the run fails
on latency regressions and new failures even when every test passed.

Devices are health-checked first; a quarantined device's tests are skipped with its reasons. Exit status:
pytest's (0 all passed, 1 failures, 2 interrupted, 3 internal error, 4 usage error, 5 nothing collected);
1 also for baseline regressions and, with ``--fail-on-quarantine``, for a quarantined device; 6 when the
tests that ran passed but a quarantined device's tests were skipped.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import resources
from harness.health.checks import MIB, HealthLimits
from harness.health.cli import add_limit_options
from harness.lab.bringup import LabController
from harness.lab.cli import add_lab_option
from harness.lab.inventory import load_lab
from harness.primitives.progress import say
from harness.pytest_plugin.quarantine import EXIT_QUARANTINED
from harness.records import redact
from harness.report.cli import add_threshold_options
from harness.report.compare import compare, previous_runs
from harness.report.render import render_index
from harness.report.results_json import load_results, summary_line, write_results
from harness.shard import Shard, ShardError, parse_shard, shard_devices

SCENARIOS = Path(__file__).parent / "scenarios"
REWRITE_WARNING = "pytest.PytestAssertRewriteWarning"


def new_run_id() -> str:
    """Sortable and unique: UTC time plus a short random suffix for runs started in the same second."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


#: `hil run` options handed to the scenarios as they are (flag, attribute).
MODEL_OPTIONS = (("--model", "model"), ("--input-config", "input_config"), ("--inputs", "inputs"),
                 ("--reference-model", "reference_model"), ("--reference-input-config", "reference_input_config"),
                 ("--max-latency-ratio", "max_latency_ratio"), ("--max-memory-ratio", "max_memory_ratio"),
                 ("--min-agreement", "min_agreement"))


def _model_options(args: argparse.Namespace) -> list[tuple[str, object]]:
    return [(flag, getattr(args, name, None)) for flag, name in MODEL_OPTIONS]


def rerun_command(args: argparse.Namespace) -> str:
    """The exact `hil run` line that repeats this run (same lab, model, baseline and pytest arguments)."""
    words = ["hil", "run"]
    for flag, value in (("--lab", args.lab), *_model_options(args), ("--baseline", args.baseline),
                        ("--reports", args.reports), ("--shard", args.shard)):
        if value is not None:
            words += [flag, str(value)]
    if args.baseline is not None:
        words += ["--threshold", f"{args.threshold * 100:g}", "--metric", args.metric]
    return shlex.join(words + args.pytest_args)


def pytest_argv(args: argparse.Namespace, run_dir: Path, *, devices: int = 1, lab_is_up: bool = False,
                shard: list[str] | None = None) -> list[str]:
    # The hil plugin (and its report collector) arrives as every pytest run gets it: the pytest11 entry
    # point, or the root conftest.py in a bare checkout; xdist workers load it the same way.
    argv = [str(SCENARIOS), "-p", "no:cacheprovider",
            "-W", f"ignore:Module already imported so cannot be rewritten; harness:{REWRITE_WARNING}",
            f"--hil-results={run_dir / 'results.json'}", "-rfEs", f"--html={run_dir / 'pytest.html'}",
            "--self-contained-html", f"--junitxml={run_dir / 'junit.xml'}", "-o", "junit_family=xunit1"]
    for flag, value in (("--lab", args.lab), *_model_options(args)):
        if value is not None:
            argv.append(f"{flag}={value}")
    argv += health_argv(args)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    argv += [f"--device={name}" for name in shard or ()]
    return argv + pytest_args + parallel_args(pytest_args, devices) + (["--no-lab-up"] if lab_is_up else [])


def health_argv(args: argparse.Namespace) -> list[str]:
    """The health-check options of ``hil run`` as the pytest plugin spells them."""
    argv = [flag for flag, on in (("--no-health-check", args.no_health_check),
                                  ("--fail-on-quarantine", args.fail_on_quarantine)) if on]
    default = HealthLimits()
    for flag, value, unset in (("--max-clock-skew", args.max_clock_skew, default.max_clock_skew_s),
                               ("--min-free-mib", args.min_free_mib, default.min_free_greengrass // MIB),
                               ("--health-budget", args.health_budget, default.device_budget_s)):
        if value != unset:
            argv.append(f"{flag}={value}")
    return argv


def quarantined(results: dict[str, Any]) -> list[str]:
    """The devices whose tests the health check took out of the run (results.json cells)."""
    return sorted({str(r["device"]) for r in results.get("records") or () if r.get("quarantined")})


#: A worker costs ~0.6 s of CPU to start and ~100 MB; it spends its time waiting on its device.
WORKERS_PER_CPU = 4


def parallel_args(pytest_args: list[str], devices: int, cpus: int | None = None) -> list[str]:
    """Devices in parallel, one xdist worker per device, unless the user chose.

    Not capped at the CPU count: a device's tests mostly wait (deployments, lifecycle steps, SSH round
    trips), so four emulated cores on two CPUs finish sooner with four workers than with two
    (benchmarks/parallel_suite.py). Capped at WORKERS_PER_CPU per CPU for labs of many boards.
    """
    chosen = any(a in ("-n", "--numprocesses", "--dist", "no:xdist", "-pno:xdist")
                 or a.startswith(("-n", "--numprocesses=", "--dist=")) for a in pytest_args)
    workers = min(devices, WORKERS_PER_CPU * (cpus or os.cpu_count() or 1))
    return [] if chosen or workers < 2 else ["-n", str(workers), "--dist", "loadgroup"]


def _run(args: argparse.Namespace) -> int:
    baseline = load_results(args.baseline) if args.baseline is not None else None  # bad input: before any run
    reports = args.reports or resources.reports_dir()
    lab = load_lab(args.lab)
    shard = _shard(args.shard, [d.name for d in lab.spec.devices], args.pytest_args)
    run_dir = reports / new_run_id()
    run_dir.mkdir(parents=True)
    bring_up = "--no-lab-up" not in args.pytest_args
    if bring_up:
        # Here, not in the session fixture: image builds take minutes on a fresh machine and xdist
        # workers' output is not shown while they run.
        LabController(lab, say).up()
    devices = len(shard) if shard is not None else len(lab.spec.devices)
    code = int(pytest.main(pytest_argv(args, run_dir, devices=devices, lab_is_up=bring_up, shard=shard)))
    results_path = run_dir / "results.json"
    if not results_path.exists():  # pytest stopped before the session (usage error, bad option)
        print(f"hil run: FAILED (pytest exit {code}) before any test ran; no report in {run_dir}", file=sys.stderr)
        return code or 4
    results = load_results(results_path)
    results["run_id"] = run_dir.name
    results["environment"]["rerun"] = redact(rerun_command(args))
    if args.shard is not None:
        results["environment"]["shard"] = str(parse_shard(args.shard))
    if baseline is not None:
        comparison = compare(baseline, results, metric=args.metric, threshold=args.threshold,
                             baseline=str(args.baseline))
        results["comparison"] = comparison.as_dict()
        for line in comparison.lines():
            print(f"hil run: {line}", file=sys.stderr)
    write_results(results_path, results)
    index = render_index(results, run_dir / "index.html", previous_runs(reports, exclude=run_dir),
                         links={"results.json": "results.json", "junit.xml": "junit.xml",
                                "pytest-html": "pytest.html"})
    regressed = bool(results.get("comparison", {}).get("failed"))
    verdict = " (baseline: regressions or new failures)" if regressed else ""
    out = quarantined(results)
    if out:
        verdict += f" ({len(out)} quarantined: {', '.join(out)})"
    print(f"hil run: {summary_line(results['summary'])}{verdict}; report: {_shown(index)}", file=sys.stderr)
    return code if code else (1 if regressed else EXIT_QUARANTINED if out else 0)


def _shard(text: str | None, names: list[str], pytest_args: list[str]) -> list[str] | None:
    """The device names of ``--shard K/N`` (None without it); with --device/--arch the slice would be ambiguous."""
    if text is None:
        return None
    shard: Shard = parse_shard(text)
    if any(a in ("--device", "--arch") or a.startswith(("--device=", "--arch=")) for a in pytest_args):
        raise ShardError(f"--shard {shard}: shards slice the whole lab; drop --device/--arch, or give each job "
                         "its own --device list instead of --shard", step="shard")
    return shard_devices(shard, names)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run the shipped scenarios on a lab and write the reports")
    add_lab_option(run)
    run.add_argument("--model", default=None, metavar="MODEL",
                     help="model to compile and run instead of the bundled one (passed to the scenarios)")
    run.add_argument("--input-config", default=None, metavar="JSON",
                     help='Neo DataInputConfig of --model, e.g. \'{"input": [1, 3, 224, 224]}\'')
    run.add_argument("--inputs", type=Path, default=None, metavar="NPZ",
                     help="inputs of the model (numpy.savez, keys = input names), fed on the devices and on the host")
    run.add_argument("--reference-model", default=None, metavar="MODEL",
                     help="the version --model replaces: both are measured on every device and NEW's outputs are "
                          "checked against it (scenario versus; blazeface/tinycnn or a path)")
    run.add_argument("--reference-input-config", default=None, metavar="JSON",
                     help="DataInputConfig of --reference-model (default: --input-config)")
    for flag, what in (("--max-latency-ratio", "p50 of --model / p50 of --reference-model at most X (default 1.1)"),
                       ("--max-memory-ratio", "peak RSS of --model / that of --reference-model at most X "
                                              "(default 1.1)"),
                       ("--min-agreement", "share of input sets whose outputs agree with --reference-model's, "
                                           "at least X (default 1.0)")):
        run.add_argument(flag, type=float, default=None, metavar="X", help=f"model against model: {what}")
    run.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                     help="results.json of an earlier run: fail on latency regressions and new failures")
    add_threshold_options(run)
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run only the K-th of N shards of the lab's devices (whole devices, sorted by name and "
                          "dealt round-robin), e.g. one CI matrix job each; merge with `hil report merge`")
    run.add_argument("--no-health-check", action="store_true",
                     help="do not health-check the devices first (nothing is quarantined)")
    run.add_argument("--fail-on-quarantine", action="store_true",
                     help="exit 1, not 6, when a device is quarantined by the health check")
    add_limit_options(run, budget_flag="--health-budget")
    run.add_argument("--reports", type=Path, default=None, metavar="DIR",
                     help="where run directories go (default: reports/ of the source checkout, "
                          "or of the current directory for an installed wheel)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_ARGS",
                     help="passed to pytest, e.g. -k smoke --device rasp4b-emu")
    run.set_defaults(func=_run)

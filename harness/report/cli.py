"""`hil compare OLD NEW`: a run's results.json against a baseline (exit 1 on regressions or new failures);
`hil report merge RUNDIR... -o OUT`: shard runs as one report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.report.compare import METRICS, compare_files
from harness.report.merge import merge_run_dirs
from harness.report.results_json import summary_line


def percent(text: str) -> float:
    """``10``, ``10%`` or ``12.5`` -> a fraction (0.10); a clear one-line error otherwise."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage, e.g. 10 or 10%") from None
    if not 0.0 <= value < 10000.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a threshold is a percentage >= 0")
    return value / 100.0


def add_threshold_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=percent, default=0.10, metavar="PCT",
                        help="latency regression threshold in percent (default 10)")
    parser.add_argument("--metric", choices=METRICS, default="p90", help="latency percentile compared (default p90)")


def _compare(args: argparse.Namespace) -> int:
    result = compare_files(args.old, args.new, metric=args.metric, threshold=args.threshold)
    for line in result.lines():
        print(line)
    verdict = "FAILED" if result.failed else "ok"
    print(f"hil compare: {verdict}: {len(result.regressions)} regression(s), {len(result.new_failures)} new "
          f"failure(s), {len(result.fixed)} fixed, {len(result.improvements)} improvement(s) "
          f"({args.metric}, threshold +{args.threshold:.0%})", file=sys.stderr)
    return 1 if result.failed else 0


def _merge(args: argparse.Namespace) -> int:
    merged = merge_run_dirs(args.run_dirs, args.out)
    print(f"hil report merge: {len(args.run_dirs)} run(s): {summary_line(merged['summary'])}; report: "
          f"{args.out / 'index.html'}", file=sys.stderr)
    failed = merged["summary"]["failed"] or merged["summary"]["error"]
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="compare a run's results.json with a baseline results.json")
    p.add_argument("old", type=Path, metavar="OLD", help="baseline: reports/<run-id>/results.json")
    p.add_argument("new", type=Path, metavar="NEW", help="the run to judge: reports/<run-id>/results.json")
    add_threshold_options(p)
    p.set_defaults(func=_compare)
    report = subparsers.add_parser("report", help="work with run reports (merge shard runs)")
    actions = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    merge = actions.add_parser("merge", help="merge the run directories of `hil run --shard K/N` jobs into one report")
    merge.add_argument("run_dirs", type=Path, nargs="+", metavar="RUNDIR", help="reports/<run-id>/ of each shard")
    merge.add_argument("-o", "--out", type=Path, required=True, metavar="OUT", help="directory of the merged report")
    merge.set_defaults(func=_merge)

"""pytest options and fixtures of the measurement room (loaded by harness/pytest_plugin.py).

``--budget [MODEL:]KEY=VALUE`` overrides budgets like ``hil bench --budget``; ``--bench-json FILE``
collects every result a test hands to ``bench_record`` into one pytest-benchmark file per worker
(pytest-benchmark itself switches off under xdist), for ``pytest-benchmark compare`` across nights.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.bench.budgets import BudgetSyntaxError, Override, parse_override
from harness.bench.measure import BenchResult

_RESULTS = pytest.StashKey[list[BenchResult]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil")
    group.addoption("--budget", action="append", default=[], metavar="[MODEL:]KEY=VALUE",
                    help="override a budget for device tests: p90_ms, peak_rss_mb or load_s (repeatable)")
    group.addoption("--bench-json", type=Path, default=None, metavar="FILE",
                    help="write recorded measurements in pytest-benchmark's JSON format (per xdist worker)")


def pytest_configure(config: pytest.Config) -> None:
    try:
        for text in config.getoption("--budget"):
            parse_override(text)
    except BudgetSyntaxError as exc:
        raise pytest.UsageError(f"--budget: {exc.detail}") from None
    config.stash[_RESULTS] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    path: Path | None = session.config.getoption("--bench-json")
    results = session.config.stash.get(_RESULTS, [])
    if path is None or not results:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        path = path.with_name(f"{path.stem}.{worker}{path.suffix}")
    from harness.bench.pytest_benchmark_json import write

    write(path, results)


@pytest.fixture
def budget_overrides(request: pytest.FixtureRequest) -> list[Override]:
    """The ``--budget`` overrides of this run (already validated at start-up)."""
    return [parse_override(text) for text in request.config.getoption("--budget")]


@pytest.fixture
def bench_record(request: pytest.FixtureRequest) -> Callable[[BenchResult], BenchResult]:
    """Hand a result to ``--bench-json``; returns it unchanged."""
    results = request.config.stash[_RESULTS]

    def record(result: BenchResult) -> BenchResult:
        results.append(result)
        return result

    return record

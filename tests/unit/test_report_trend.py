"""The p50/p90 trend: one point per run, the mean over a device's scenarios, oldest first."""

from __future__ import annotations

from harness.report.trend import Point, trend_of


def run(run_id: str, *cells: tuple[str, str, dict]) -> dict:
    return {"run_id": run_id, "records": [{"device": d, "scenario": s, "stats": stats} for d, s, stats in cells]}


def test_trend_is_the_mean_over_scenarios_per_run_oldest_first() -> None:
    runs = [run("r1", ("x86", "inference", {"dlr": {"p50": 8.0, "p90": 10.0}}),
                ("x86", "bench", {"dlr": {"p50": 16.0, "p90": 20.0}})),
            run("r2", ("x86", "inference", {"dlr": {"p50_ms": 9.0, "p90": 12.0}, "onnxruntime": {"p90": 3.0}}),
                ("arm", "inference", {"dlr": "not a stats mapping"}))]
    assert trend_of(runs) == {"x86": {("dlr", "p50"): [Point("r1", 12.0), Point("r2", 9.0)],
                                      ("dlr", "p90"): [Point("r1", 15.0), Point("r2", 12.0)],
                                      ("onnxruntime", "p90"): [Point("r2", 3.0)]}}
    assert trend_of([run("r3", ("x86", "compile", {}))]) == {}

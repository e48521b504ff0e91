"""results.json from synthetic phase reports: status folding, device × scenario cells, classes, loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import KEY
from harness.report.results_json import (
    ERROR_KEY,
    ITEM_KEY,
    NO_DEVICE,
    ReportError,
    build_results,
    load_results,
    summary_line,
)


def phase(nodeid: str, when: str, outcome: str, props: list | None = None, **extra: object) -> dict:
    return {"nodeid": nodeid, "when": when, "outcome": outcome, "longrepr": extra.get("longrepr"),
            "duration": 0.5, "wasxfail": extra.get("wasxfail"), "user_properties": props or []}


def passing(nodeid: str, device: str | None, scenario: str, record: dict | None = None) -> list[dict]:
    props = [(ITEM_KEY, {"device": device, "scenario": scenario})]
    return [phase(nodeid, "setup", "passed", props),
            phase(nodeid, "call", "passed", props + ([(KEY, record)] if record else [])),
            phase(nodeid, "teardown", "passed", props)]


def test_one_cell_per_device_and_scenario_with_the_worst_status() -> None:
    item = [(ITEM_KEY, {"device": "x86", "scenario": "deploy"})]
    phases = [*passing("s/test_deploy.py::test_a[x86]", "x86", "deploy"),
              phase("s/test_deploy.py::test_b[x86]", "setup", "passed", item),
              phase("s/test_deploy.py::test_b[x86]", "call", "failed",
                    item + [(ERROR_KEY, {"class": "deployment", "advice": "look at greengrass.log"})],
                    longrepr="DeploymentFailed: ..."),
              *passing("s/test_deploy.py::test_a[arm]", "arm", "deploy")]
    results = build_results(phases, {"harness": "0.1.0"})
    cells = {(r["device"], r["scenario"]): r for r in results["records"]}
    assert set(cells) == {("x86", "deploy"), ("arm", "deploy")}
    assert cells["x86", "deploy"]["status"] == "failed" and cells["x86", "deploy"]["class"] == "deployment"
    assert [t["status"] for t in cells["x86", "deploy"]["tests"]] == ["passed", "failed"]
    assert cells["arm", "deploy"]["status"] == "passed" and cells["arm", "deploy"]["class"] is None
    assert results["summary"] == {"passed": 2, "failed": 1, "error": 0, "skipped": 0, "devices": 2}
    assert results["schema_version"] == 1 and results["environment"] == {"harness": "0.1.0"}


def test_setup_failure_is_an_error_skips_and_xfails_are_skipped_teardown_failure_wins() -> None:
    phases = [phase("test_compile.py::test_e[x86]", "setup", "failed", longrepr="unreachable"),
              phase("test_compile.py::test_s[x86]", "setup", "skipped", longrepr="arm only"),
              phase("test_compile.py::test_s[x86]", "teardown", "passed"),
              phase("test_compile.py::test_x[x86]", "call", "skipped", wasxfail="known bug"),
              phase("test_compile.py::test_t[x86]", "call", "passed"),
              phase("test_compile.py::test_t[x86]", "teardown", "failed", longrepr="cleanup failed")]
    tests = {t["nodeid"].split("::")[1]: t for t in build_results(phases, {})["records"][0]["tests"]}
    assert {k: t["status"] for k, t in tests.items()} == {
        "test_e[x86]": "error", "test_s[x86]": "skipped", "test_x[x86]": "skipped", "test_t[x86]": "error"}
    assert tests["test_e[x86]"]["class"] == "unclassified" and tests["test_s[x86]"]["message"] == "arm only"


def test_tests_without_a_record_take_device_from_the_parametrize_id_and_scenario_from_the_module() -> None:
    phases = [phase("harness/scenarios/test_rollback.py::test_r[rasp4b-emu]", "call", "passed"),
              phase("harness/scenarios/test_rollback.py::test_r[install-ml-c5-emu]", "call", "passed"),
              phase("harness/scenarios/test_rollback.py::test_r[other-board]", "call", "passed"),
              phase("tests/test_host_only.py::test_h", "call", "passed")]
    env = {"devices": [{"name": "rasp4b-emu"}, {"name": "ml-c5-emu"}]}
    where = {(r["device"], r["scenario"]) for r in build_results(phases, env)["records"]}
    assert where == {("rasp4b-emu", "rollback"), ("ml-c5-emu", "rollback"), (NO_DEVICE, "rollback"),
                     (NO_DEVICE, "host_only")}


def test_record_facts_merge_and_the_diagnosis_class_names_the_failure() -> None:
    record = {"device": "arm", "scenario": "inference", "emulated": True, "stats": {"dlr": {"p90": 5.0}},
              "budgets": {"p90_ms": 9.0}, "diagnosis": {"class": "runtime-mismatch", "summary": "TVM 0.26",
                                                         "evidence": ["abi"], "advice": "rebuild libdlr"},
              "logs": {"greengrass.log": "ok\npassword=hunter2"},
              "facts": {"tvm": "0.27", "env": ["MQTT_PASSWORD=hunter2"]}}
    props = [(KEY, record), (ERROR_KEY, {"class": "command", "advice": None})]
    phases = [phase("test_inference.py::test_i[arm]", "call", "failed", props, longrepr="boom")]
    cell = build_results(phases, {})["records"][0]
    assert (cell["device"], cell["scenario"], cell["emulated"]) == ("arm", "inference", True)
    assert cell["class"] == "runtime-mismatch" and cell["stats"] == {"dlr": {"p90": 5.0}}
    assert cell["budgets"] == {"p90_ms": 9.0} and cell["facts"] == {"tvm": "0.27", "env": ["[redacted]"]}
    diagnoses = [(d["class"], d["test"]) for d in cell["diagnoses"]]
    assert diagnoses == [("runtime-mismatch", "test_inference.py::test_i[arm]")]
    assert "hunter2" not in cell["logs"]["greengrass.log"] and cell["logs"]["greengrass.log"].startswith("ok")


def test_summary_line_reads_like_a_sentence() -> None:
    assert summary_line({"passed": 14, "failed": 1, "error": 0, "skipped": 2, "devices": 2}) == \
        "14 passed, 1 failed, 2 skipped on 2 devices"
    assert summary_line({"passed": 0, "failed": 0, "error": 1, "skipped": 0, "devices": 1}) == \
        "0 passed, 1 errors on 1 device"


def test_load_results_round_trips_and_refuses_foreign_files(tmp_path: Path) -> None:
    good = tmp_path / "results.json"
    good.write_text(json.dumps(build_results([phase("test_a.py::test[x]", "call", "passed")],
                                             {"devices": [{"name": "x"}]})))
    assert load_results(good)["records"][0]["device"] == "x"
    for name, text in (("other.json", '{"tests": []}'), ("old.json", '{"schema": "edge-hil/results", '
                       '"schema_version": 0, "records": []}'), ("bad.json", "{not json")):
        (tmp_path / name).write_text(text)
        with pytest.raises(ReportError, match=name):
            load_results(tmp_path / name)
    with pytest.raises(ReportError, match="no such results file"):
        load_results(tmp_path / "missing.json")


json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.dictionaries(st.sampled_from(["device", "scenario", "status", "stats"]), json_values),
                        max_size=3))
def test_load_results_fuzz_gives_a_typed_error_or_valid_records(tmp_path_factory: pytest.TempPathFactory,
                                                                 records: list) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "results.json"
    path.write_text(json.dumps({"schema": "edge-hil/results", "schema_version": 1, "records": records}))
    try:
        data = load_results(path)
    except ReportError:
        return
    assert all(isinstance(r["device"], str) and r["status"] in ("passed", "failed", "error", "skipped")
               for r in data["records"])


def test_the_last_phase_record_wins_over_its_earlier_copies() -> None:
    early = {"device": None, "scenario": "bench", "stats": {}}
    late = {"device": "x86", "scenario": "bench", "stats": {"dlr": {"p90": 3.0}}}
    phases = [phase("test_bench.py::test_b[x86]", "setup", "passed", [(KEY, early)]),
              phase("test_bench.py::test_b[x86]", "call", "passed", [(KEY, late)]),
              phase("test_bench.py::test_b[x86]", "teardown", "passed", [(KEY, late)])]
    (cell,) = build_results(phases, {})["records"]
    assert cell["device"] == "x86" and cell["stats"] == {"dlr": {"p90": 3.0}} and len(cell["tests"]) == 1


def test_every_test_keeps_its_own_diagnosis_in_the_cell() -> None:
    def rec(cls: str) -> dict:
        return {"device": "arm", "scenario": "field_failures", "diagnosis": {"class": cls, "summary": cls}}
    phases = [phase("test_field_failures.py::test_f[arm-wrong]", "call", "passed", [(KEY, rec("wrong-target"))]),
              phase("test_field_failures.py::test_f[arm-oom]", "call", "failed", [(KEY, rec("out-of-memory"))])]
    cell = build_results(phases, {})["records"][0]
    assert [d["class"] for d in cell["diagnoses"]] == ["wrong-target", "out-of-memory"]
    assert cell["class"] == "out-of-memory"  # the failing test's diagnosis names the cell's failure

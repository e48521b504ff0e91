"""`hil report merge`: shard results written by the real results.json builder, merged or refused."""

from __future__ import annotations

import pytest

from harness.report.merge import merge_junit, merge_results, versions
from harness.report.results_json import ReportError, build_results


def _shard(devices: list[str], *, harness: str = "0.1.0", argv: tuple[str, ...] = (), fail: str | None = None):
    phases = [{"nodeid": "harness/scenarios/test_compile.py::test_host_compiles", "when": "call",
               "outcome": "passed", "duration": 0.5, "user_properties": []}]
    for device in devices:
        phases.append({"nodeid": f"harness/scenarios/test_smoke.py::test_answers[{device}]", "when": "call",
                       "outcome": "failed" if device == fail else "passed", "longrepr": "boom", "duration": 1.0,
                       "user_properties": [("hil_item", {"device": device, "scenario": "smoke"})]})
    env = {"harness": harness, "tvm": "0.27", "dlr": "1.10.0", "onnxruntime": "1.20", "argv": list(argv),
           "devices": [{"name": d, "connection": "local://"} for d in devices]}
    return build_results(phases, env, run_id="r-" + "-".join(devices))


def test_two_shards_make_one_matrix():
    merged = merge_results([("a", _shard(["b1", "b3"])), ("b", _shard(["b2"], fail="b2"))])
    cells = [(r["device"], r["scenario"], r["status"]) for r in merged["records"]]
    assert cells == [("(host)", "compile", "passed"), ("b1", "smoke", "passed"), ("b2", "smoke", "failed"),
                     ("b3", "smoke", "passed")]
    assert merged["summary"] == {"passed": 3, "failed": 1, "error": 0, "skipped": 0, "devices": 3}
    assert [d["name"] for d in merged["environment"]["devices"]] == ["b1", "b2", "b3"]
    assert [m["path"] for m in merged["environment"]["merged_from"]] == ["a", "b"]


def test_a_device_in_two_inputs_is_refused():
    with pytest.raises(ReportError, match=r"device 'b2' appears in both a and b: shards must be disjoint"):
        merge_results([("a", _shard(["b1", "b2"])), ("b", _shard(["b2", "b3"]))])


def test_different_harness_versions_are_refused():
    with pytest.raises(ReportError, match=r"different versions: harness '0.1.0' vs '0.2.0'"):
        merge_results([("a", _shard(["b1"])), ("b", _shard(["b2"], harness="0.2.0"))])


def test_different_models_are_refused():
    other = _shard(["b2"], argv=("--model=/m/resnet.onnx",))
    assert versions(other)["model"] == "/m/resnet.onnx"
    with pytest.raises(ReportError, match=r"model '\(bundled\)' vs '/m/resnet.onnx'"):
        merge_results([("a", _shard(["b1"])), ("b", other)])


def test_junit_cases_are_merged_and_counted(tmp_path):
    def write(name: str, cases: str):
        path = tmp_path / name
        path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
        return path
    host = '<testcase classname="c" name="host" time="1.0"/>'
    a = write("a.xml", host + '<testcase classname="s" name="t[b1]" time="2.0"/>')
    b = write("b.xml", host + '<testcase classname="s" name="t[b2]" time="3.0"><failure message="x"/></testcase>')
    suite = merge_junit([a, b]).getroot().find("testsuite")
    assert [c.get("name") for c in suite.iter("testcase")] == ["host", "t[b1]", "t[b2]"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("3", "1", "6.000")


def test_unreadable_junit_is_a_report_error(tmp_path):
    bad = tmp_path / "junit.xml"
    bad.write_text("<testsuites>")
    with pytest.raises(ReportError, match="not a readable junit.xml"):
        merge_junit([bad])

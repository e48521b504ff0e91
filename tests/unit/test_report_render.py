"""Secrets scrubbed, plots drawn from samples, the page's matrix and sections from a results document."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from harness.records import redact
from harness.report import plots
from harness.report.render import comparisons, lab_health_rows, render_index, split_diagnoses, verdict, view
from harness.report.trend import Point

PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4"
KEY = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"
CERT = f"-----BEGIN CERTIFICATE-----\n{PEM_BODY[::-1]}\n-----END CERTIFICATE-----"


def test_scrub_removes_whole_pem_blocks_also_cut_ones_and_password_lines() -> None:
    text = f"start\n{KEY}\nmiddle\n{CERT}\nmqtt password: hunter2\nend"
    clean = redact(text)
    assert PEM_BODY not in clean and PEM_BODY[::-1] not in clean and "hunter2" not in clean
    assert clean.startswith("start") and "middle" in clean and clean.endswith("end")
    assert PEM_BODY not in redact(KEY[10:]) and PEM_BODY not in redact(KEY[:-10])  # a log's tail, a cut block
    assert redact("plain log\nline") == "plain log\nline"


def test_redact_removes_whole_pem_blocks_and_is_idempotent() -> None:
    body = "\n".join([PEM_BODY[:64]] * 3 + ["Zw=="])
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    clean = redact(f"deployment SUCCEEDED\n{key}\nmqtt password: x\ndone")  # what Record.log keeps
    assert PEM_BODY[:64] not in clean and "Zw==" not in clean and "password" not in clean
    assert redact(clean) == clean  # the report redacts records again
    assert clean.splitlines()[0] == "deployment SUCCEEDED" and clean.splitlines()[-1] == "done"
    assert redact(f"{PEM_BODY[:64]}\nZw==\n-----END CERTIFICATE-----\nnext") == "[redacted PEM block]\nnext"
    sha = "a" * 64
    assert redact(f"artifact digest\n{sha}") == f"artifact digest\n{sha}"  # hex alone is not a key


def png_pixels(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    assert image.format == "PNG"
    return image.convert("L")


def test_latency_memory_and_trend_plots_are_pngs_with_content() -> None:
    samples = {"dlr": [4.0 + (i % 17) / 10 for i in range(200)],
               "onnxruntime": [6.0 + (i % 13) / 7 for i in range(200)]}
    latency = png_pixels(plots.latency_plot("x86", samples))
    assert latency.width > 400 and latency.getextrema()[0] < 100  # dark pixels: axes, bars, text
    assert png_pixels(plots.memory_plot("x86", {"dlr": 40.0, "onnxruntime": 70.0}, 64.0)).height > 100
    two = png_pixels(plots.trend_plot("x86", {("dlr", "p50"): [Point("r1", 4.0), Point("r2", 5.0)],
                                              ("dlr", "p90"): [Point("r1", 5.0), Point("r2", 6.5)]}))
    assert two.width > 300 and two.getextrema()[0] < 100
    assert plots.trend_plot("x86", {("dlr", "p50"): [Point("r1", 4.0)]}) is None
    assert plots.latency_plot("x86", {"dlr": []}) is None and plots.memory_plot("x86", {}, None) is None
    assert plots.samples_of({"samples_ms": [1, 2.5, True]}) == [1.0, 2.5]


def results_doc() -> dict:
    stats = {"dlr": {"count": 100, "p50": 4.0, "p90": 5.0, "p99": 6.0, "peak_rss_mb": 40.0,
                     "samples": [4.0 + i / 50 for i in range(100)]},
             "onnxruntime": {"count": 100, "p50": 7.0, "p90": 8.0, "p99": 9.0, "peak_rss_mb": 80.0,
                             "samples": [7.0 + i / 50 for i in range(100)]}}
    test = {"nodeid": "t", "status": "passed", "class": None, "message": None, "duration_s": 1.0}
    failed = dict(test, status="failed", message="boom", **{"class": "wrong-target"})
    return {"run_id": "20260101-000000-abcd", "summary": {"passed": 1, "failed": 1, "error": 0, "skipped": 0,
                                                          "devices": 2},
            "environment": {"harness": "0.1.0", "tvm": "0.27.0", "rerun": "hil run --lab /tmp/l.yaml",
                            "lab": {"name": "t", "file": "/tmp/l.yaml"},
                            "devices": [{"name": "x86", "profile": "ml_c5", "arch": "x86_64", "emulated": True,
                                         "connection": "emulated core (ssh)", "dlr_abi": "tvm-0.27", "qemu": False},
                                        {"name": "arm", "profile": "rasp4b", "arch": "aarch64", "emulated": True,
                                         "connection": "emulated core (ssh)", "dlr_abi": "tvm-0.27", "qemu": True}]},
            "records": [
                {"device": "x86", "scenario": "inference", "status": "passed", "class": None, "emulated": True,
                 "tests": [test], "stats": stats, "budgets": {"peak_rss_mb": 64.0}, "diagnoses": [],
                 "logs": {"greengrass.log": "deployment SUCCEEDED"}, "facts": {"neo_target": "ml_c5"}},
                {"device": "arm", "scenario": "deploy", "status": "failed", "class": "wrong-target", "emulated": True,
                 "tests": [failed], "stats": {}, "budgets": {}, "logs": {}, "facts": {},
                 "diagnoses": [{"class": "wrong-target", "summary": "model compiled for x86_64, device is aarch64",
                                "evidence": ["ELF e_machine EM_X86_64"], "advice": "compile for rasp4b",
                                "test": "test_deploy.py::test_d[arm]"}]}]}


def test_view_has_the_matrix_runtime_comparison_and_diagnoses() -> None:
    v = view(results_doc())
    assert v["devices"] == ["x86", "arm"] and v["scenarios"] == ["deploy", "inference"]
    assert v["matrix"]["arm", "deploy"]["class"] == "wrong-target" and ("x86", "deploy") not in v["matrix"]
    x86 = v["device_views"][0]
    assert [r["runtime"] for r in x86["rows"]] == ["dlr", "onnxruntime"]
    assert x86["comparisons"] == [f"DLR p50 is {4.0 / 7.0:.2f}× ONNX Runtime's"]
    assert x86["latency_png"] and x86["memory_png"] and x86["trend_png"] is None
    assert v["device_views"][1]["rows"] == [] and v["emulated"]
    assert [(u["record"]["device"], u["test"]["class"]) for u in v["unexpected"]] == [("arm", "wrong-target")]
    assert [d["class"] for d in v["unexpected"][0]["diagnoses"]] == ["wrong-target"] and v["expected"] == []
    assert v["verdict"]["word"] == "FAIL" and "arm/deploy" in v["verdict"]["why"]


def test_index_html_is_one_page_with_every_section(tmp_path: Path) -> None:
    html = render_index(results_doc(), tmp_path / "index.html", links={"results.json": "results.json"}).read_text()
    for needle in ('data-verdict="FAIL"', 'id="matrix-table"', 'data-status="failed"', "[wrong-target]",
                   "compile for rasp4b",
                   "qemu figures are not device figures", "deployment SUCCEEDED", "hil run --lab /tmp/l.yaml",
                   "tvm-0.27", "yes (qemu-user)", "&#34;neo_target&#34;: &#34;ml_c5&#34;",
                   "DLR p50 is 0.57× ONNX Runtime&#39;s", "data:image/png;base64,"):
        assert needle in html, needle
    assert "http://" not in html and "https://" not in html
    assert html.index('id="verdict"') < html.index('id="matrix-table"') < html.index('id="figures-table"') \
        < html.index('id="failures"') < html.index('id="environment"')
    assert 'id="lab-health"' not in html  # no lab_health in this run


def test_diagnoses_of_passing_tests_are_expected_reproductions_of_failing_ones_unexpected() -> None:
    passed = {"nodeid": "ff::w[x86]", "status": "passed"}
    broken = {"nodeid": "ff::r[x86]", "status": "failed"}
    rec = {"device": "x86", "scenario": "field_failures", "status": "failed", "tests": [passed, broken],
           "diagnoses": [{"class": "wrong-target", "test": "ff::w[x86]"},
                         {"class": "runtime-mismatch", "test": "ff::r[x86]"},
                         {"class": "input-config", "test": "ff::gone"}]}
    unexpected, expected = split_diagnoses([rec])
    # a diagnosis naming no test of its record goes with the record's first failure
    assert [(u["test"]["nodeid"], [d["class"] for d in u["diagnoses"]]) for u in unexpected] == \
        [("ff::r[x86]", ["runtime-mismatch", "input-config"])]
    assert [e["diagnosis"]["class"] for e in expected] == ["wrong-target"]
    suffix = dict(rec, tests=[dict(passed, nodeid="harness/scenarios/ff::w[x86]")], status="passed")
    assert split_diagnoses([suffix]) == ([], [{"record": suffix, "diagnosis": d} for d in rec["diagnoses"]])


def test_verdict_fails_on_unexpected_failures_regressions_and_new_failures() -> None:
    summary = {"passed": 3, "failed": 0, "error": 0, "skipped": 1, "devices": 1}
    assert verdict({"summary": summary}, []) == {"ok": True, "word": "PASS", "why": "no unexpected failures"}
    with_baseline = {"summary": summary, "comparison": {"regressions": [{}, {}], "new_failures": []}}
    assert verdict(with_baseline, []) == {"ok": False, "word": "FAIL", "why": "2 latency regressions"}
    clean_baseline = {"summary": summary, "comparison": {"regressions": [], "new_failures": []}}
    assert verdict(clean_baseline, [])["why"] == "no unexpected failures, no regressions against the baseline"
    one = [{"record": {"device": "arm", "scenario": "deploy"}}]
    assert verdict({"summary": dict(summary, failed=1)}, one)["why"] == "1 unexpected failure (arm/deploy)"


def test_runtime_comparison_reads_dlr_against_each_runtime_per_model() -> None:
    rows = [{"model": "tinycnn", "runtime": "dlr", "p50": 2.0},
            {"model": "tinycnn", "runtime": "onnxruntime", "p50": 8.0},
            {"model": "blazeface", "runtime": "dlr", "p50": 9.0},
            {"model": "blazeface", "runtime": "litert", "p50": 3.0},
            {"model": "blazeface", "runtime": "onnxruntime", "p50": None}]
    assert comparisons(rows) == ["DLR p50 is 0.25× ONNX Runtime's (tinycnn)", "DLR p50 is 3.00× LiteRT's (blazeface)"]
    assert comparisons(rows[:2]) == ["DLR p50 is 0.25× ONNX Runtime's"]
    assert comparisons([{"model": "m", "runtime": "onnxruntime", "p50": 1.0}]) == []


def test_a_runtime_not_measured_shows_its_reason_in_its_row(tmp_path: Path) -> None:
    from harness.records import Record

    props: list = []
    record = Record(props)
    record.stats("dlr", results_doc()["records"][0]["stats"]["dlr"])
    record.not_measured("onnxruntime", "ONNX Runtime runs .onnx models; this model is tflite")
    doc = results_doc()
    doc["records"][0]["stats"] = props[0][1]["stats"]
    x86 = view(doc)["device_views"][0]
    assert [(r["runtime"], r["not_measured"]) for r in x86["rows"]] == [
        ("dlr", None), ("onnxruntime", "ONNX Runtime runs .onnx models; this model is tflite")]
    assert x86["rows"][1]["p50"] is None and x86["comparisons"] == []  # no ratio against a runtime that did not run
    html = render_index(doc, tmp_path / "index.html").read_text()
    assert "not measured: ONNX Runtime runs .onnx models; this model is tflite" in html


def test_lab_health_is_rendered_when_the_run_recorded_it(tmp_path: Path) -> None:
    from harness.health.record import DeviceHealth, HealthVerdict, LabHealth

    ok = HealthVerdict("reachable", True, "answered", None, 0.1)
    full = HealthVerdict("disk", False, "/tmp: 12 MiB free, below 512 MiB", "free space on the board", 0.2)
    health = LabHealth((DeviceHealth("x86", (ok,), 0.3), DeviceHealth("arm", (ok, full), 0.5)), 0.5)
    doc = results_doc()
    doc["lab_health"] = health.as_dict()  # what the plugin writes into results.json
    doc["retries"] = {"arm": [{"device": "arm", "step": "exec", "cause": "connection reset", "delay_s": 0.5}]}
    rows = lab_health_rows(doc)
    assert [(r["device"], r["healthy"], r["retries"]) for r in rows] == [("x86", True, 0), ("arm", False, 1)]
    assert rows[1]["failed"] == ["disk: /tmp: 12 MiB free, below 512 MiB"]
    html = render_index(doc, tmp_path / "index.html").read_text()
    assert 'id="lab-health"' in html and "12 MiB free" in html and "quarantined" in html


@settings(max_examples=150, deadline=None)
@given(before=st.text(max_size=80), after=st.text(max_size=80), pre_redacted=st.booleans())
def test_scrub_fuzz_never_leaks_a_planted_key_body(before: str, after: str, pre_redacted: bool) -> None:
    text = f"{before}\n{KEY}\n{after}"
    clean = redact(redact(text) if pre_redacted else text)
    assert PEM_BODY not in clean


def test_model_against_model_reads_one_table_per_device(tmp_path: Path) -> None:
    from harness.models.versus import SetAgreement, Thresholds, judge

    doc = results_doc()
    verdict = judge("x86", "sensor-v2", "sensor-v1", p50_ms=6.0, reference_p50_ms=4.0, peak_rss_mb=40.0,
                    reference_peak_rss_mb=40.0, sets=[SetAgreement("seed-0", True, True, "")], thresholds=Thresholds())
    doc["records"][0]["facts"]["versus"] = {**verdict.as_dict(), "note": None}
    (row,) = view(doc)["versus"]
    assert (row["device"], row["model"], row["reference"], row["ok"]) == ("x86", "sensor-v2", "sensor-v1", False)
    html = render_index(doc, tmp_path / "index.html").read_text()
    assert 'id="versus-table"' in html and "1.50&times;" in html and "100% of 1" in html
    assert "p50 6 ms is 1.50x the reference&#39;s 4 ms (limit 1.1x)" in html
    plain = render_index(results_doc(), tmp_path / "plain.html").read_text()
    assert view(results_doc())["versus"] == [] and 'id="versus"' not in plain


def test_the_dlr_row_says_whether_its_artifact_was_tuned(tmp_path: Path) -> None:
    from harness.artifact.meta import TuningInfo, schedules_of

    doc = results_doc()
    tuned = schedules_of(TuningInfo(database="ab" * 32, tuned_tasks=7, default_tasks=2))
    doc["records"][0]["facts"]["schedules"] = tuned
    rows = view(doc)["device_views"][0]["rows"]
    assert [(r["runtime"], r["schedules"]) for r in rows] == [("dlr", tuned), ("onnxruntime", None)]
    assert tuned == "tuned: 7 of 9 tasks (database abababababab…)"
    html = render_index(doc, tmp_path / "index.html").read_text()
    assert f'<small class="schedules">{tuned}</small>' in html
    untuned = results_doc()
    untuned["records"][0]["facts"]["schedules"] = schedules_of(None)
    untuned["records"][0]["stats"]["dlr"]["threads"] = 2
    assert '<small class="threads">(2 threads)</small>' in render_index(untuned, tmp_path / "t.html").read_text()
    assert "untuned: every task on TVM&#39;s default schedule" in render_index(untuned, tmp_path / "u.html").read_text()

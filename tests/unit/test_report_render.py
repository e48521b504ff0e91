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
from harness.report.render import render_index, view

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
    assert plots.trend_plot("x86", {"dlr": [("r1", 4.0), ("r2", 5.0)]}, "p90") is not None
    assert plots.trend_plot("x86", {"dlr": [("r1", 4.0)]}, "p90") is None
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
    assert [r["runtime"] for r in x86["rows"]] == ["dlr", "onnxruntime"] and x86["ratio"] == 8.0 / 5.0
    assert x86["latency_png"] and x86["memory_png"] and x86["trend_png"] is None
    assert v["device_views"][1]["rows"] == [] and v["emulated"]
    assert [(r["device"], d["class"]) for r, d in v["diagnosed"]] == [("arm", "wrong-target")]


def test_index_html_is_one_page_with_every_section(tmp_path: Path) -> None:
    html = render_index(results_doc(), tmp_path / "index.html", links={"results.json": "results.json"}).read_text()
    for needle in ('id="matrix-table"', 'data-status="failed"', "[wrong-target]", "compile for rasp4b",
                   "qemu figures are not device figures", "deployment SUCCEEDED", "hil run --lab /tmp/l.yaml",
                   "tvm-0.27", "yes (qemu-user)", "&#34;neo_target&#34;: &#34;ml_c5&#34;",
                   "ONNX Runtime p90 is 1.60× DLR", "data:image/png;base64,"):
        assert needle in html, needle
    assert "http://" not in html and "https://" not in html


@settings(max_examples=150, deadline=None)
@given(before=st.text(max_size=80), after=st.text(max_size=80), pre_redacted=st.booleans())
def test_scrub_fuzz_never_leaks_a_planted_key_body(before: str, after: str, pre_redacted: bool) -> None:
    text = f"{before}\n{KEY}\n{after}"
    clean = redact(redact(text) if pre_redacted else text)
    assert PEM_BODY not in clean

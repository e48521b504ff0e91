"""The report plugin and `hil run` in real pytest processes: records, classes, secrets, xdist, baseline exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4"
SECRETS = (PEM_BODY, PEM_BODY[::-1], "hunter2")

SCENARIO = f'''
import pytest
from harness.errors import FailureClass, HilError

KEY = "-----BEGIN PRIVATE KEY-----\\n{PEM_BODY}\\n-----END PRIVATE KEY-----"
CERT = "-----BEGIN CERTIFICATE-----\\n{PEM_BODY[::-1]}\\n-----END CERTIFICATE-----"
P90 = float(__import__("os").environ.get("P90", "5.0"))


@pytest.mark.parametrize("board", ["x86", "arm"])
def test_latency(board, hil_record):
    hil_record.device(board, emulated=True)
    hil_record.stats("dlr", {{"count": 50, "p50": 4.0, "p90": P90, "p99": 6.0, "peak_rss_mb": 40.0,
                             "samples": [4.0 + i / 25 for i in range(50)]}})
    hil_record.budgets({{"peak_rss_mb": 64.0}})
    hil_record.log("greengrass.log", "deployment SUCCEEDED\\n" + KEY + "\\npassword: hunter2\\ndone")
    hil_record.log("certs.log", CERT)
    hil_record.data["logs"]["raw.log"] = "raw\\n" + KEY  # past Record.log's own redaction
    print("stdout", KEY, "password=hunter2")
    if board == "arm" and __import__("os").environ.get("FAIL_ARM"):
        hil_record.diagnosis({{"class": "wrong-target", "summary": "model for x86_64", "evidence": ["EM_X86_64"],
                              "advice": "compile for rasp4b"}})
        raise HilError("deploy failed " + KEY, device=board, step="deploy",
                       failure_class=FailureClass.DEPLOYMENT, advice="password=hunter2")


def test_host_only():
    pytest.skip("nothing to do on the host")


def test_budget():
    if __import__("os").environ.get("FAIL_ARM"):
        raise HilError("p90 over budget", step="bench", failure_class=FailureClass.BUDGET)
'''


def write_scenarios(path: Path) -> Path:
    path.mkdir()
    (path / "test_inference.py").write_text(SCENARIO)
    return path


def pytest_run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "pytest", str(tmp_path / "scen"),
            "-p", "no:cacheprovider", f"--hil-results={out / 'results.json'}", f"--junitxml={out / 'junit.xml'}",
            f"--html={out / 'pytest.html'}", "--self-contained-html", *extra]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def assert_no_secrets(*paths: Path) -> None:
    for path in paths:
        text = path.read_text()
        for secret in SECRETS:
            assert secret not in text, f"{secret[:12]}… in {path.name}"


def test_results_json_junit_and_html_carry_records_and_classes_but_no_secrets(tmp_path: Path) -> None:
    write_scenarios(tmp_path / "scen")
    proc = pytest_run(tmp_path, env={"FAIL_ARM": "1"})
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text())
    cells = {(r["device"], r["scenario"]): r for r in results["records"]}
    assert set(cells) == {("x86", "inference"), ("arm", "inference"), ("(host)", "inference")}
    assert cells["arm", "inference"]["status"] == "failed" and cells["arm", "inference"]["class"] == "wrong-target"
    assert cells["arm", "inference"]["tests"][0]["class"] == "deployment"
    assert cells["x86", "inference"]["stats"]["dlr"]["p90"] == 5.0 and cells["x86", "inference"]["emulated"]
    kept = cells["x86", "inference"]["logs"]["greengrass.log"].splitlines()
    assert (kept[0], kept[-1]) == ("deployment SUCCEEDED", "done")
    assert results["summary"] == {"passed": 1, "failed": 2, "error": 0, "skipped": 1, "devices": 2}
    assert cells["(host)", "inference"]["class"] == "budget"
    junit = (out / "junit.xml").read_text()
    assert junit.count('<property name="hil.class" value="wrong-target" />') == 1 and \
        '<property name="hil.class" value="budget" />' in junit and "deployment SUCCEEDED" not in junit
    assert_no_secrets(out / "results.json", out / "junit.xml", out / "pytest.html")
    assert PEM_BODY not in proc.stdout


@pytest.mark.slow
def test_records_survive_xdist(tmp_path: Path) -> None:
    write_scenarios(tmp_path / "scen")
    proc = pytest_run(tmp_path, "-n", "2")
    assert proc.returncode == 0, proc.stdout[-2000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    stats = {r["device"]: r["stats"] for r in results["records"]}
    assert stats["x86"]["dlr"]["count"] == 50 and stats["arm"]["dlr"]["p90"] == 5.0
    assert_no_secrets(tmp_path / "out" / "results.json", tmp_path / "out" / "junit.xml")


def hil_run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`hil run` on stand-in scenarios that need no lab (`--no-lab-up`: the lab is neither built nor started)."""
    code = ("import sys; from pathlib import Path; import harness.run as r; r.SCENARIOS = Path(sys.argv[1]); "
            "from harness.cli import main; sys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, str(tmp_path / "scen"), "run",
                           "--reports", str(tmp_path / "reports"), *args, "--no-lab-up"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_hil_run_writes_the_report_and_fails_on_a_baseline_regression(tmp_path: Path) -> None:
    write_scenarios(tmp_path / "scen")
    first = hil_run(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("hil run: 3 passed, 1 skipped on 2 devices; report: ") and last.endswith("index.html")
    (run_dir,) = (tmp_path / "reports").iterdir()
    for name in ("index.html", "results.json", "junit.xml", "pytest.html"):
        assert (run_dir / name).is_file(), name
    assert_no_secrets(*(run_dir / n for n in ("index.html", "results.json", "junit.xml", "pytest.html")))
    baseline = run_dir / "results.json"
    assert json.loads(baseline.read_text())["environment"]["rerun"].startswith("hil run --reports ")

    slower = hil_run(tmp_path, "--baseline", str(baseline), env={"P90": "6.0"})  # +20 % > +10 %
    assert slower.returncode == 1, slower.stderr[-3000:]
    assert "regression x86 inference dlr: p90 5.000 -> 6.000 ms (+20.0%" in slower.stderr
    newest = max((tmp_path / "reports").iterdir())
    results = json.loads((newest / "results.json").read_text())
    assert results["comparison"]["failed"] and len(results["comparison"]["regressions"]) == 2
    html = (newest / "index.html").read_text()
    assert "Regressions against the baseline" in html
    assert html.count("data:image/png;base64,") >= 6  # + trend per device

    tolerated = hil_run(tmp_path, "--baseline", str(baseline), "--threshold", "25", env={"P90": "6.0"})
    assert tolerated.returncode == 0, tolerated.stderr[-3000:]


def test_hil_run_refuses_a_bad_baseline_before_running(tmp_path: Path) -> None:
    write_scenarios(tmp_path / "scen")
    (tmp_path / "bad.json").write_text("[]")
    proc = hil_run(tmp_path, "--baseline", str(tmp_path / "bad.json"))
    assert proc.returncode == 2 and "not an edge-hil results file" in proc.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("flag", ["--model", "--input-config"])
def test_hil_run_passes_model_options_to_pytest(flag: str) -> None:
    import argparse

    from harness.run import pytest_argv, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["run", flag, "value", "--", "-k", "smoke"])
    argv = pytest_argv(args, Path("/tmp/x"))
    assert f"{flag}=value" in argv and argv[-2:] == ["-k", "smoke"]


LAB_DEVICES = """
import types

import pytest


@pytest.fixture
def device(request):  # the lab plugin parametrizes `device` over the lab's devices; no core is started
    return types.SimpleNamespace(name=request.param, emulated=True, connection=f"ssh://hil@{request.param}:22")


def test_answers(device, hil_record):
    hil_record.stats("dlr", {"p90": 3.0})


def test_without_record(device):
    pass
"""


def test_lab_parametrized_tests_land_on_their_device_with_its_connection(tmp_path: Path) -> None:
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "test_deploy.py").write_text(LAB_DEVICES)
    proc = pytest_run(tmp_path, "--no-lab-up")
    assert proc.returncode == 0, proc.stdout[-2000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    cells = {(r["device"], r["scenario"]): r for r in results["records"]}
    assert set(cells) == {("ml-c4-emu", "deploy"), ("rasp4b-emu", "deploy")}  # the embedded lab's devices
    assert [len(c["tests"]) for c in cells.values()] == [2, 2]
    assert {d["name"]: d["connection"] for d in results["environment"]["devices"]} == {
        "ml-c4-emu": "ssh://hil@ml-c4-emu:22", "rasp4b-emu": "ssh://hil@rasp4b-emu:22"}

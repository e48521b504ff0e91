"""The plugin as a user meets it, through pytester: a lab of one reachable device (``local://``, this
host) and one that refuses connections (``ssh://hil@127.0.0.1:1``), used as it is (``--no-lab-up``),
without the health check (``--no-health-check``: this host is no Greengrass core;
tests/host/test_quarantine_run.py runs the check).

Marker mismatches are skips whose reasons reach the report, the unreachable device errors only its
own tests and the session goes on, ``--device`` / ``--arch`` choose the devices.
"""

from __future__ import annotations

import json

import pytest
import yaml

SUITE = """
import pytest

def test_answers(device):
    assert device.arch

@pytest.mark.arch("aarch64")
def test_arm_only(device):
    pass

@pytest.mark.profile("rasp4b")
def test_rasp4b_only(device):
    pass

@pytest.mark.feature("camera", "csi")
def test_camera(device):
    pass

def test_on_the_host():
    pass
"""


@pytest.fixture
def lab_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "known_hosts").write_text("")
    (pytester.path / "lab.yaml").write_text(yaml.safe_dump({"lab": "plugin", "devices": [
        {"name": "here", "profile": "ml_c4", "connection": "local://", "features": {"camera": "csi"}},
        {"name": "gone-pi", "profile": "rasp4b", "connection": "ssh://hil@127.0.0.1:1",
         "credentials": {"known_hosts": "known_hosts"}}]}))
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--lab", str(pytester.path / "lab.yaml"), "--no-lab-up",
                              "--no-health-check", "-rsE", "--hil-results=results.json", *args)


def statuses(pytester: pytest.Pytester) -> dict[str, str]:
    results = json.loads((pytester.path / "results.json").read_text())
    return {t["nodeid"].split("::", 1)[1]: t["status"] for r in results["records"] for t in r["tests"]}


def test_mismatches_skip_with_reasons_and_an_unreachable_device_errors_only_its_tests(lab_suite) -> None:
    result = run(lab_suite)
    result.assert_outcomes(passed=3, skipped=3, errors=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "SKIPPED * here is x86_64; test needs aarch64",
        "SKIPPED * here has profile ml_c4; test needs rasp4b",
        "SKIPPED * gone-pi lacks feature camera=csi (has camera=None)"], consecutive=False)
    for test in ("test_answers", "test_arm_only", "test_rasp4b_only"):
        assert f"ERROR test_suite.py::{test}[gone-pi]" in out
    assert "[unreachable]" in out and "gone-pi" in out
    assert statuses(lab_suite) == {
        "test_answers[here]": "passed", "test_answers[gone-pi]": "error",
        "test_arm_only[here]": "skipped", "test_arm_only[gone-pi]": "error",
        "test_rasp4b_only[here]": "skipped", "test_rasp4b_only[gone-pi]": "error",
        "test_camera[here]": "passed", "test_camera[gone-pi]": "skipped", "test_on_the_host": "passed"}
    records = json.loads((lab_suite.path / "results.json").read_text())
    errors = {t["class"] for r in records["records"] for t in r["tests"] if t["status"] == "error"}
    assert errors == {"unreachable"}
    assert {d["name"]: d["connection"] for d in records["environment"]["devices"]} == {
        "here": "local://", "gone-pi": "ssh://hil@127.0.0.1:1"}


def test_device_option_runs_only_that_device(lab_suite) -> None:
    result = run(lab_suite, "--device", "here")
    result.assert_outcomes(passed=3, skipped=2)
    assert "gone-pi" not in result.stdout.str()


def test_arch_option_runs_only_devices_of_that_architecture(lab_suite) -> None:
    result = run(lab_suite, "--arch", "aarch64")
    result.assert_outcomes(passed=1, skipped=1, errors=3)
    assert "[here]" not in result.stdout.str()


def test_an_unknown_device_name_is_refused_with_the_known_ones(lab_suite) -> None:
    result = run(lab_suite, "--device", "nowhere")
    assert result.ret != pytest.ExitCode.OK
    assert "nowhere" in result.stdout.str() + result.stderr.str()
    assert "here" in result.stdout.str() + result.stderr.str()

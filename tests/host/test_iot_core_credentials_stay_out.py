"""A lab that sends results to the user's own AWS IoT Core names its certificate and key by path: a run's
results.json and junit.xml never carry the key material, even when a test or a component log prints it."""

from __future__ import annotations

import json

import pytest
import yaml

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" \
      "-----END RSA PRIVATE KEY-----\n"
SUITE = """
from pathlib import Path

def test_answers(device, hil_record):  # a component that printed its key into its log and a fact
    key = Path("key.pem").read_text()
    hil_record.log("component.log", "starting\\n" + key + "connected")
    hil_record.fact("iot", {"key": key})
    print(key)
    assert False, key
"""


def test_own_iot_core_files_never_reach_the_results(pytester: pytest.Pytester) -> None:
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (pytester.path / name).write_text(PEM)
    (pytester.path / "lab.yaml").write_text(yaml.safe_dump({
        "lab": "own-iot", "iot": {"endpoint": "abc-ats.iot.eu-west-1.amazonaws.com", "cert": "cert.pem",
                                  "key": "key.pem", "ca": "ca.pem"},
        "devices": [{"name": "here", "profile": "ml_c4", "connection": "local://"}]}))
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lab", str(pytester.path / "lab.yaml"),
                                           "--no-lab-up", "--no-health-check", "--hil-results=results.json",
                                           "--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    for name in ("results.json", "junit.xml"):
        text = (pytester.path / name).read_text()
        assert "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun" not in text, name
        assert "BEGIN RSA PRIVATE KEY" not in text, name
    results = json.loads((pytester.path / "results.json").read_text())
    assert results["environment"]["lab"]["name"] == "own-iot"
    (record,) = results["records"]
    assert "[redacted" in record["logs"]["component.log"] and record["logs"]["component.log"].endswith("connected")

"""One failure-class vocabulary: typed errors, diagnoses, results.json and junit.xml all speak FailureClass."""

from __future__ import annotations

import importlib
import json
import pkgutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import harness
from harness.diagnose import CLASSES, UNKNOWN, Evidence, diagnose
from harness.errors import FailureClass, HilError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnose.md"


def _error_classes() -> list[type[HilError]]:
    for module in pkgutil.walk_packages(harness.__path__, "harness."):
        if ".scenarios." not in module.name:  # test modules, collected by pytest only
            importlib.import_module(module.name)
    found, todo = [], [HilError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


def test_every_typed_error_names_a_class_of_the_vocabulary() -> None:
    errors = _error_classes()
    assert len(errors) > 10  # the harness's errors were found, not just the base
    assert {cls.__qualname__: cls.failure_class for cls in errors
            if not isinstance(cls.failure_class, FailureClass)} == {}


def test_every_diagnosis_class_is_in_the_vocabulary_and_documented() -> None:
    documented = DOCS.read_text(encoding="utf-8")
    for cls in (*CLASSES, UNKNOWN):
        assert isinstance(cls, FailureClass)
        assert f"| `{cls}` |" in documented  # the user-visible strings stay those docs/diagnose.md lists
    assert isinstance(diagnose(Evidence(exit_status=132)).failure_class, FailureClass)
    assert isinstance(diagnose(Evidence()).failure_class, FailureClass)


SUITE = """
import pytest
from harness.errors import FailureClass, HilError

def test_typed():
    raise HilError("p90 over budget", step="bench", failure_class=FailureClass.BUDGET)

def test_assertion():
    assert 1 == 2

def test_unexpected():
    {}["missing"]

def test_diagnosed(hil_record):
    hil_record.diagnosis({"class": "out-of-memory", "summary": "oom", "evidence": [], "advice": "smaller"})
    raise HilError("killed", failure_class=FailureClass.COMMAND)
"""


def test_results_json_and_junit_use_the_vocabulary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_classes=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--hil-results=results.json", "--junitxml=junit.xml",
                                "-o", "junit_family=xunit1")
    result.assert_outcomes(failed=4)
    vocabulary = {c.value for c in FailureClass}
    tests = {t["nodeid"].rsplit("::", 1)[1]: t["class"]
             for r in json.loads((pytester.path / "results.json").read_text())["records"] for t in r["tests"]}
    junit = {case.get("name"): prop.get("value") for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
             for prop in case.iter("property") if prop.get("name") == "hil.class"}
    assert tests == {"test_typed": "budget", "test_assertion": "assertion", "test_unexpected": "unexpected KeyError",
                     "test_diagnosed": "command"}
    assert junit == {**tests, "test_diagnosed": "out-of-memory"}  # junit names the diagnosis, best of both
    assert all(value.split(" ", 1)[0] in vocabulary for value in (*tests.values(), *junit.values()))

"""`hil reproduce`'s contract without a lab: every failure class has a reproduction, bad input is refused
before anything runs, and a result says whether its diagnosis named the class that was set up."""

from __future__ import annotations

import pytest

from harness.cli import build_parser, main
from harness.diagnose import CLASSES, Diagnosis, from_command
from harness.errors import HilError
from harness.reproduce import CASES, Reproduction, reproduce
from harness.transport.base import CommandResult


def test_every_failure_class_has_a_reproduction() -> None:
    assert {expected for expected, _case in CASES.values()} == set(CLASSES)
    assert set(CLASSES) <= set(CASES)


def test_unknown_class_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["reproduce", "flux-capacitor", "--device", "x"])
    assert exit_.value.code == 2
    assert "invalid choice: 'flux-capacitor'" in capsys.readouterr().err


def test_device_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "wrong-target"])
    assert "--device" in capsys.readouterr().err


def test_unknown_device_names_the_lab_devices(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("lab: unit-reproduce\ndevices:\n  - {name: x86, profile: ml_c5, emulated: true}\n")
    assert main(["reproduce", "wrong-target", "--device", "nope", "--lab", str(lab)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "x86" in err


def test_reproduce_refuses_an_unknown_name_before_touching_a_device() -> None:
    with pytest.raises(HilError, match="unknown failure class 'nope'") as err:
        reproduce("nope", device=None)  # type: ignore[arg-type]
    assert "wrong-target" in (err.value.advice or "")


def test_a_reproduction_matches_only_its_own_class() -> None:
    wrong = Diagnosis("wrong-target", "s", ["e"], "a")
    assert Reproduction("wrong-target-cpu", "wrong-target", "d", wrong).matched
    miss = Reproduction("runtime-mismatch", "runtime-mismatch", "d", wrong)
    assert not miss.matched
    assert miss.as_dict() == {"reproduced": "runtime-mismatch", "expected": "runtime-mismatch", "device": "d",
                              "matched": False, "diagnosis": wrong.as_dict()}


def test_command_result_evidence_reads_the_signal() -> None:
    ev = from_command(CommandResult("python -c ...", 132, "", "Illegal instruction\n"))
    assert ev.killed_by == 4 and "killed by signal 4 (SIGILL)" in ev.lines()

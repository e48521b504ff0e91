"""`hil init` through argparse, registered as harness.cli registers every room's sub-commands."""

import argparse
from pathlib import Path

import pytest

from harness.starter import cli


def run_init(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hil")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_init_writes_then_keeps(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert run_init(["init", str(tmp_path / "demo")]) == 0
    first = capsys.readouterr().out
    assert first.count("wrote") == 4 and "kept" not in first
    assert "next: cd " in first and "pytest" in first
    assert run_init(["init", str(tmp_path / "demo")]) == 0
    second = capsys.readouterr().out
    assert second.count("kept") == 4 and "wrote" not in second
    for name in ("lab.yaml", "pytest.ini", "tests/test_hil_devices.py", "README.md"):
        assert name in second


def test_init_defaults_to_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    assert run_init(["init"]) == 0
    assert (tmp_path / "lab.yaml").is_file()
    assert "next: pytest" in capsys.readouterr().out

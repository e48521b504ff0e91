"""Files we write in pytest-benchmark's format, read back by the installed `pytest-benchmark compare`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness.bench import pytest_benchmark_json as pbj
from tests.unit.test_bench_pytest_benchmark import result


def test_pytest_benchmark_compare_reads_two_written_files(tmp_path):
    beside = Path(sys.executable).with_name("pytest-benchmark")  # the one installed with this interpreter
    cli = str(beside) if beside.exists() else shutil.which("pytest-benchmark")
    assert cli, "pytest-benchmark (a project dependency) is not installed"
    night1 = pbj.write(tmp_path / "0001_night1.json", [result([30.0, 31.0, 35.0, 32.0])])
    night2 = pbj.write(tmp_path / "0002_night2.json", [result([40.0, 41.0, 45.0, 42.0])])
    json.loads(night1.read_text())
    proc = subprocess.run([cli, "compare", str(night1), str(night2), "--columns", "min,median,max",
                           "--csv", str(tmp_path / "cmp")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "tinycnn[ml-c4-emu-dlr]" in proc.stdout and "night1" in proc.stdout and "night2" in proc.stdout
    rows = (tmp_path / "cmp.csv").read_text().splitlines()
    assert [r.split(",")[-3:] for r in rows[1:]] == [["0.03", "0.032", "0.035"], ["0.04", "0.042", "0.045"]]

"""harness.report works from plain data: it never reaches a device, a lab or the pytest plugin's handles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("harness.transport", "harness.lab", "harness.pytest_plugin", "harness.greengrass", "paramiko",
             "docker", "labgrid")
PROBE = """
import importlib, json, pkgutil, sys
import harness.report
for module in pkgutil.walk_packages(harness.report.__path__, "harness.report."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_report_imports_no_transport_lab_or_plugin() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    loaded = json.loads(proc.stdout)
    assert "harness.report.collector" in loaded  # every report module was imported
    assert [name for name in loaded if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN)] == []

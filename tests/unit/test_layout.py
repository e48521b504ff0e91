"""The layout's rules (docs/architecture.md), enforced: each test fails naming the module and the import.

Imports are read with ``ast`` from the source, every ``import`` statement wherever it sits (inside a
function or under ``if TYPE_CHECKING`` too: a late import is still a dependency).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS, SIMULATORS, ONDEVICE = REPO / "harness", REPO / "simulators", REPO / "harness" / "ondevice"
MAX_LINES = 400
#: What device code may import besides the standard library and its own package: numpy and the
#: device's ML runtimes, OpenCV and the AWS CRT (MQTT over mutual TLS).
DEVICE_THIRD_PARTY = {"numpy", "dlr", "onnxruntime", "ai_edge_litert", "cv2", "awscrt"}


def module_name(path: Path, repo: Path = REPO) -> str:
    parts = path.relative_to(repo).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, repo: Path = REPO) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in ``path``; relative imports resolved against its package."""
    name = module_name(path, repo)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                found += [(node.lineno, f"{target}.{a.name}" if not node.module else target) for a in node.names]
            else:
                found.append((node.lineno, node.module or ""))
    return found


def sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def offences(root: Path, banned: tuple[str, ...], repo: Path = REPO) -> list[str]:
    """``path:line imports module`` for each import under ``root`` of a module in (or under) ``banned``."""
    return [f"{p.relative_to(repo)}:{line} imports {mod}" for p in sources(root) for line, mod in imports(p, repo)
            if any(mod == b or mod.startswith(b + ".") for b in banned)]


def test_the_import_reader_sees_late_relative_and_guarded_imports(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    mod = pkg / "mod.py"
    mod.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import simulators.camera\n"
                   "def f():\n    from . import sibling\n    from .other import x\n")
    assert imports(mod, tmp_path) == [(1, "typing"), (3, "simulators.camera"), (5, "pkg.sibling"),
                                      (6, "pkg.other")]
    assert offences(pkg, ("simulators",), tmp_path) == ["pkg/mod.py:3 imports simulators.camera"]


def test_device_code_imports_only_the_stdlib_numpy_and_the_device_runtimes():
    siblings = {p.stem for p in sources(ONDEVICE)}
    bad = []
    for path in sources(ONDEVICE):
        for line, mod in imports(path):
            top = mod.split(".")[0]
            if mod.startswith("harness.ondevice") or top in siblings:  # a sibling, relative or flat
                continue
            if top not in sys.stdlib_module_names and top not in DEVICE_THIRD_PARTY and top != "__future__":
                bad.append(f"{path.relative_to(REPO)}:{line} imports {mod}")
    assert not bad, "device code may import only the stdlib, its siblings and " + ", ".join(
        sorted(DEVICE_THIRD_PARTY)) + ":\n" + "\n".join(bad)


def test_device_code_imports_no_harness_module_outside_its_package():
    bad = [o for o in offences(ONDEVICE, ("harness",)) if not o.split(" imports ")[1].startswith("harness.ondevice")]
    assert not bad, "\n".join(bad)


def test_a_device_module_runs_alone_without_site_packages(tmp_path):
    """The bench agent copied out of the repository as harness.ship copies it, run as a device runs it,
    without the venv or harness."""
    from harness.ship import device_files

    for path in device_files():
        shutil.copy(path, tmp_path / path.name)
    proc = subprocess.run([sys.executable, "-S", "-E", "-s", str(tmp_path / "agent.py"), "--self-test-alloc-mib=4"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["self_test"] is True and report["alloc_bytes"] == 4 << 20
    missing = subprocess.run([sys.executable, "-S", "-E", "-s", "-c", "import harness"], capture_output=True,
                             timeout=60, cwd=tmp_path, check=False)
    assert missing.returncode != 0, "harness was importable: the isolation above proves nothing"


def test_harness_never_imports_simulators():
    bad = offences(HARNESS, ("simulators",))
    assert not bad, "simulators stand in for devices and services; the harness reaches them as a user does:\n" + \
        "\n".join(bad)


def test_transports_know_nothing_of_greengrass_compile_or_reports():
    bad = offences(HARNESS / "transport", ("harness.greengrass", "harness.compile", "harness.report"))
    assert not bad, "\n".join(bad)


def test_reports_read_records_not_devices():
    bad = offences(HARNESS / "report", ("harness.transport", "harness.lab", "harness.pytest_plugin"))
    assert not bad, "a report is built from results.json records, never from a live device:\n" + "\n".join(bad)


@pytest.mark.parametrize("root", [HARNESS, SIMULATORS], ids=["harness", "simulators"])
def test_no_module_is_over_400_lines(root):
    long = [f"{p.relative_to(REPO)}: {n} lines" for p in sources(root)
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, f"split these (at most {MAX_LINES} lines a module):\n" + "\n".join(long)

"""`inspect_artifact` consistency checks on hand-made artifact directories (no compiler needed)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from harness.artifact import ArtifactError, inspect_artifact, print_inspection
from harness.primitives.digest import sha256_file
from tests.unit.test_artifact_meta import VALID

AARCH64_SO = Path("/usr/aarch64-linux-gnu/lib/libm.so.6")
ARMHF_SO = Path("/usr/arm-linux-gnueabihf/lib/libm.so.6")


def _artifact(tmp_path: Path, so: Path, **target) -> Path:
    shutil.copyfile(so, tmp_path / "compiled.so")
    meta = json.loads(json.dumps(VALID))
    meta["target"].update(target)
    meta["files"] = {"compiled.so": {"sha256": sha256_file(tmp_path / "compiled.so"),
                                     "size": (tmp_path / "compiled.so").stat().st_size}}
    (tmp_path / "compiled.meta").write_text(json.dumps(meta))
    return tmp_path


def test_consistent_aarch64_artifact(tmp_path):
    ins = inspect_artifact(_artifact(tmp_path, AARCH64_SO))
    assert ins.ok and ins.elf["compiled.so"].arch == "aarch64"
    out = io.StringIO()
    print_inspection(ins, out)
    assert "consistency: ok" in out.getvalue() and "EM_AARCH64 → aarch64" in out.getvalue()


def test_meta_arch_that_lies_is_caught(tmp_path):
    ins = inspect_artifact(_artifact(tmp_path, ARMHF_SO))  # meta says aarch64, the ELF is 32-bit ARM
    bad = [v for v in ins.checks if not v.ok]
    assert [v.check for v in bad] == ["arch:compiled.so"]
    assert "EM_ARM (armv7l), meta says EM_AARCH64 (aarch64)" in bad[0].reason
    assert "TargetDevice=rasp4b" in bad[0].advice


def test_changed_or_missing_files_and_stray_runtime_libs(tmp_path):
    art = _artifact(tmp_path, AARCH64_SO)
    shutil.copyfile(ARMHF_SO, art / "libdlr.so")
    checks = {v.check: v for v in inspect_artifact(art).checks}
    assert not checks["file:libdlr.so"].ok and "not recorded" in checks["file:libdlr.so"].reason
    assert not checks["arch:libdlr.so"].ok
    (art / "compiled.so").unlink()
    checks = {v.check: v for v in inspect_artifact(art).checks}
    assert not checks["file:compiled.so"].ok and "missing" in checks["file:compiled.so"].reason


def test_nothing_to_inspect(tmp_path):
    with pytest.raises(ArtifactError, match="no compiled.meta"):
        inspect_artifact(tmp_path)
    with pytest.raises(ArtifactError, match="not a directory"):
        inspect_artifact(tmp_path / "absent")

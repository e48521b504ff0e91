"""An artifact directory is replaced whole: no stale runtime library, no new compiled.so beside an old
compiled.meta after an interrupt, and never a directory that is not an artifact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.artifact.meta import ArtifactError
from harness.artifact.publish import ARTIFACT_FILES, publish_dir


def _artifact(tmp: Path, tag: str, libs: tuple[str, ...] = ()) -> None:
    for name in ("compiled.so", "compiled.meta", *libs):
        (tmp / name).write_text(f"{tag}:{name}")


def _contents(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in d.iterdir()}


def test_a_new_artifact_replaces_every_file_of_the_old(tmp_path):
    out = tmp_path / "out"
    publish_dir(out, lambda t: _artifact(t, "old", ("libdlr.so", "libtvm_runtime.so")))
    publish_dir(out, lambda t: _artifact(t, "new"))
    assert _contents(out) == {"compiled.so": "new:compiled.so", "compiled.meta": "new:compiled.meta"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing left beside it
    assert out.stat().st_mode & 0o777 == 0o755


def test_an_interrupt_mid_write_leaves_the_old_artifact_whole(tmp_path):
    out = tmp_path / "out"
    publish_dir(out, lambda t: _artifact(t, "old"))

    def interrupted(tmp: Path) -> None:
        (tmp / "compiled.so").write_text("new:compiled.so")
        raise KeyboardInterrupt  # what SIGINT raises between the two files

    with pytest.raises(KeyboardInterrupt):
        publish_dir(out, interrupted)
    assert _contents(out) == {"compiled.so": "old:compiled.so", "compiled.meta": "old:compiled.meta"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@given(foreign=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda n: n not in ARTIFACT_FILES and n not in (".", "..")))
def test_a_directory_holding_anything_else_is_refused_and_left_alone(tmp_path_factory, foreign):
    out = tmp_path_factory.mktemp("user") / "out"
    out.mkdir()
    (out / foreign).write_text("theirs")
    (out / "compiled.meta").write_text("also theirs")
    with pytest.raises(ArtifactError, match="not an artifact directory"):
        publish_dir(out, lambda t: _artifact(t, "new"))
    assert _contents(out) == {foreign: "theirs", "compiled.meta": "also theirs"}


def test_a_file_or_a_symlink_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "link", tmp_path / "file"):
        with pytest.raises(ArtifactError, match="refusing"):
            publish_dir(out, lambda t: _artifact(t, "new"))
    assert os.listdir(target) == []


def test_an_empty_directory_is_filled(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    publish_dir(out, lambda t: _artifact(t, "new"))
    assert set(_contents(out)) == {"compiled.so", "compiled.meta"}

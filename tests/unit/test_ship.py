"""harness.ship on a real (local) transport: device code uploaded once per digest, private, runnable alone."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from harness import ship
from harness.errors import TransportError
from harness.transport.local import LocalTransport


class CountingTransport(LocalTransport):
    """The local transport, counting the files it is asked to upload."""

    def __init__(self) -> None:
        super().__init__("board")
        self.puts: list[str] = []

    def put(self, local: Path, remote: str, **kwargs) -> None:
        self.puts.append(remote)
        super().put(local, remote, **kwargs)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "hil" / "ondevice"


def test_the_code_is_uploaded_once_per_digest_and_only_its_owner_can_enter(cache):
    t = CountingTransport()
    first = ship.ship(t)
    assert first.uploaded and first.directory == str(cache / ship.code_digest())
    assert sorted(Path(p).name for p in t.puts) == sorted(p.name for p in ship.device_files())
    for path in ship.device_files():
        assert (Path(first.directory) / path.name).read_bytes() == path.read_bytes()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(first.directory).stat().st_mode) == 0o700

    again = ship.ship(t)
    assert (again.directory, again.uploaded) == (first.directory, False)
    assert len(t.puts) == len(ship.device_files())  # nothing sent the second time
    assert [p.name for p in cache.iterdir()] == [ship.code_digest()]  # no half-made copies left


def test_an_incomplete_copy_is_not_taken_for_one(cache):
    t = CountingTransport()
    (cache / ship.code_digest()).mkdir(parents=True)  # an earlier upload cut before it was published
    shipped = ship.ship(t)
    assert shipped.uploaded
    assert (Path(shipped.directory) / "agent.py").is_file()


def test_the_shipped_agent_runs_from_its_directory(cache):
    t = LocalTransport("board")
    shipped = ship.ship(t)
    result = t.check(shipped.argv(sys.executable, "agent", "--self-test-alloc-mib=2"), timeout=60)
    assert json.loads(result.stdout)["alloc_bytes"] == 2 << 20


def test_an_unknown_module_is_refused_before_anything_runs(cache):
    with pytest.raises(ValueError, match="no module 'nope'"):
        ship.Shipped("/x", "d", False).argv("python3", "nope")


def test_a_device_without_home_is_a_typed_error_naming_the_step(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    with pytest.raises(TransportError) as err:
        ship.ship(LocalTransport("board"))
    assert err.value.device == "board" and err.value.step == "ship device code"
    assert "no HOME" in str(err.value)


def test_a_component_carries_the_whole_package_as_flat_artifacts(tmp_path):
    from harness.greengrass import builders

    main, siblings = ship.component_artifacts()
    assert main.name == "component.py" and main not in siblings
    assert sorted([main, *siblings]) == ship.device_files()
    model_dir = tmp_path / "artifact"
    model_dir.mkdir()
    (model_dir / "compiled.so").write_bytes(b"\x7fELF not really")
    model = builders.model_component("com.example.M", "1.0.0", model_dir, tmp_path / "work")
    component = builders.inference_component("com.example.I", "1.0.0", model, main, extra_files=siblings)
    assert set(component.files) == {p.name for p in ship.device_files()}
    assert {"link.py", "payload.py", "preprocess.py"} <= set(component.files)  # what component.py imports


def test_copies_of_other_versions_unused_for_long_are_removed_when_a_new_one_lands(cache):
    import os
    import time

    old, recent = cache / "0000000000000000", cache / "1111111111111111"
    for path in (old, recent):
        (path / ship.COMPLETE).parent.mkdir(parents=True)
        (path / ship.COMPLETE).touch()
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    shipped = ship.ship(LocalTransport("board"))
    assert sorted(p.name for p in cache.iterdir()) == sorted([recent.name, shipped.digest])

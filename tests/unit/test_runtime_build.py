"""Building and installing libdlr: typed errors, wheel handling, phone-home, the image layer's install.sh."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from harness.errors import FailureClass
from harness.lab.paths import SOURCE_ROOT
from harness.runtime import build
from harness.runtime.build import LIBS, build_libdlr, compiler_for, image_files
from harness.runtime.venv import disable_phone_home, install_libdlr
from harness.runtime.wheels import RuntimeBuildError, extract, fetch_wheel, release

LAYER = SOURCE_ROOT / "devices" / "images" / "layers" / "30-dlr-runtime"


def test_unknown_arch_and_runtime_are_typed_errors():
    with pytest.raises(RuntimeBuildError) as arch:
        build_libdlr("riscv64", "tvm-0.27", "/nonexistent")
    assert arch.value.failure_class == FailureClass.INVENTORY and "x86_64, aarch64" in str(arch.value)
    with pytest.raises(RuntimeBuildError) as runtime:
        build_libdlr("x86_64", "tvm-0.99", "/nonexistent")
    assert "tvm-0.27, tvm-0.26" in str(runtime.value)
    assert not Path("/nonexistent").exists()


def test_missing_cross_compiler_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(build.shutil, "which", lambda _name: None)
    monkeypatch.setattr(build.platform, "machine", lambda: "x86_64")
    with pytest.raises(RuntimeBuildError) as err:
        compiler_for("aarch64")
    assert err.value.failure_class == FailureClass.HOST_SETUP
    assert "apt-get install g++-aarch64-linux-gnu" in str(err.value)


def test_native_arch_uses_plain_gxx(monkeypatch):
    monkeypatch.setattr(build.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(build.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert compiler_for("aarch64") == "g++"
    assert compiler_for("x86_64") == "x86_64-linux-gnu-g++"


def test_release_drops_post_suffix():
    assert release("0.27.0.post1") == "0.27.0"
    assert release("0.26.0") == "0.26.0"
    with pytest.raises(RuntimeBuildError):
        release("main")


def _wheel(path: Path, members: dict[str, bytes], record_overrides: dict[str, str] | None = None) -> Path:
    rows = []
    for name, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},{(record_overrides or {}).get(name, 'sha256=' + digest)},{len(data)}")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("pkg-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return path


def test_extract_takes_only_the_prefixes_and_checks_digests(tmp_path):
    whl = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"tvm/lib/libtvm_runtime.so": b"\x7fELF", "tvm/x.py": b"x"})
    got = extract(whl, ("tvm/lib/",), tmp_path / "out")
    assert got == [(tmp_path / "out" / "tvm/lib/libtvm_runtime.so").resolve()]
    assert not (tmp_path / "out" / "tvm/x.py").exists()

    bad = _wheel(tmp_path / "bad-1.0-py3-none-any.whl", {"tvm/lib/a.so": b"real"}, {"tvm/lib/a.so": "sha256=AAAA"})
    with pytest.raises(RuntimeBuildError) as err:
        extract(bad, ("tvm/lib/",), tmp_path / "out2")
    assert "does not match its RECORD digest" in str(err.value)
    assert not (tmp_path / "out2" / "tvm/lib/a.so").exists()


def test_extract_refuses_members_escaping_the_directory(tmp_path):
    evil = _wheel(tmp_path / "evil-1.0-py3-none-any.whl", {"tvm/lib/../../../escape.so": b"x"})
    with pytest.raises(RuntimeBuildError) as err:
        extract(evil, ("tvm/lib/",), tmp_path / "out")
    assert "escapes the extraction directory" in str(err.value)
    assert not (tmp_path / "escape.so").exists()


def test_fetch_wheel_uses_the_cache_without_pip(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip, if it ran, could find nothing and would fail
    cached = tmp_path / "wheels" / "aarch64" / "apache_tvm-0.27.0.post1-py3-none-manylinux_2_28_aarch64.whl"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert fetch_wheel("apache-tvm", "0.27.0.post1", "aarch64", print) == cached
    with pytest.raises(RuntimeBuildError) as err:  # not cached: pip runs, and its failure is typed
        fetch_wheel("apache-tvm-ffi", "0.1.14.post0", "aarch64", print)
    assert err.value.step == "libdlr wheels" and "pip" in str(err.value)


def test_image_files_rejects_an_unknown_docker_arch(tmp_path):
    with pytest.raises(RuntimeBuildError) as err:
        image_files("riscv64", tmp_path, {})
    assert err.value.failure_class == FailureClass.IMAGE
    assert list(tmp_path.iterdir()) == []


def test_disable_phone_home_keeps_other_keys(tmp_path):
    (tmp_path / "counter").mkdir()
    config = tmp_path / "counter" / "ccm_config.json"
    config.write_text('{"enable_device_info": true, "enable_phone_home": true}')
    disable_phone_home(tmp_path)
    assert json.loads(config.read_text()) == {"enable_device_info": True, "enable_phone_home": False}
    config.write_text("not json")
    disable_phone_home(tmp_path)
    assert json.loads(config.read_text()) == {"enable_phone_home": False}


@pytest.mark.slow
def test_image_layer_install_sh_makes_the_unmodified_wrapper_find_libdlr(tmp_path):
    """install.sh from 30-dlr-runtime, run against a fresh venv that sees the host's dlr wrapper."""
    stage = tmp_path / "layer"
    stage.mkdir()
    image_files("amd64", stage, {"runtime": "tvm-0.27"})
    assert sorted(p.name for p in stage.iterdir()) == sorted(LIBS)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "host.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "HIL_VENV": str(venv), "ARCH": "amd64"}
    proc = subprocess.run(["sh", str(LAYER / "install.sh")], cwd=stage, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert f"libdlr 1.10.0+tvm-0.27.0 at {venv}/dlr/libdlr.so" in proc.stdout
    for name in LIBS:
        assert (venv / "dlr" / name).stat().st_size == (stage / name).stat().st_size


def test_install_libdlr_replaces_the_libraries(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in LIBS:
        (src / name).write_bytes(name.encode())
    path = install_libdlr(src, tmp_path / "prefix")
    assert path == tmp_path / "prefix" / "dlr" / "libdlr.so"
    assert [(tmp_path / "prefix" / "dlr" / n).read_bytes() for n in LIBS] == [n.encode() for n in LIBS]

"""Host-tier fixtures shared by the runtime, bench and health tests: the project's libdlr for this machine,
a Python that finds it as a board's would, and the Greengrass core emulator laid out as a real core."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness.compile import compile_model
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL
from harness.runtime.build import LIBS, build_libdlr
from harness.runtime.venv import disable_phone_home

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def host_libdlr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with this host's libdlr.so (TVM 0.27) and the TVM runtime it links; `import dlr` stays quiet."""
    disable_phone_home()
    out = tmp_path_factory.mktemp("libdlr")
    build_libdlr("x86_64", "tvm-0.27", out)
    return out


@pytest.fixture(scope="session")
def ml_c4_with_libdlr(tmp_path_factory: pytest.TempPathFactory, host_libdlr: Path) -> Path:
    """The bundled model for ml_c4 with this host's libdlr bundled (and recorded) beside it: DLR prefers the
    model's own runtime, so the host venv needs none installed."""
    root = tmp_path_factory.mktemp("ml_c4-with-libdlr")
    return compile_model(BUNDLED_MODEL, "ml_c4", BUNDLED_INPUT_CONFIG, root / "ml_c4", cache_dir=root / "cache",
                         runtime_libs=[host_libdlr / name for name in LIBS]).directory


@pytest.fixture
def laid_out_core(tmp_path: Path):
    """A Greengrass core emulator's root under tmp_path; yields (root, start) where start() runs its nucleus."""
    root = tmp_path / "greengrass" / "v2"
    subprocess.run([sys.executable, "-m", "simulators.greengrass.layout", "--root", str(root),
                    "--pythonpath", str(REPO), "--run-as", ""], check=True, cwd=REPO, timeout=60)
    procs: list[subprocess.Popen] = []

    def start() -> None:
        log = open(tmp_path / "nucleus.out", "wb")  # noqa: SIM115 - the nucleus writes it until teardown
        procs.append(subprocess.Popen([str(root / "bin" / "greengrass-nucleus")], stdout=log, stderr=log,
                                      stdin=subprocess.DEVNULL, start_new_session=True))

    yield root, start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def python_with_libdlr(tmp_path_factory: pytest.TempPathFactory, host_libdlr: Path) -> Path:
    """A venv's interpreter that sees this environment (one ``.pth`` line) and finds libdlr.so where
    the dlr wrapper looks first, ``<sys.prefix>/dlr/`` (neo-ai-dlr, python/dlr/libpath.py)."""
    root = tmp_path_factory.mktemp("dlr-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    (site,) = (root / "lib").glob("python3*/site-packages")
    (site / "environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (root / "dlr").mkdir()
    for lib in host_libdlr.iterdir():
        if lib.suffix == ".so":
            (root / "dlr" / lib.name).symlink_to(lib)
    return root / "bin" / "python"

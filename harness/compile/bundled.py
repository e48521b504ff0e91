"""The bundled tiny CNN: its one definition (file, input, output) and its compile for a Neo target.

fixtures/model/make_model.py builds it, the scenarios and reproductions compile and feed it, the
`compiled_model` fixture calls compile_bundled(). Its input is what the inference component's
preprocessing produces (harness.ondevice.preprocess: one RGB image, NCHW float32, SIZE×SIZE).
"""

from __future__ import annotations

from pathlib import Path

from harness import resources
from harness.artifact.package import Artifact
from harness.compile.api import compile_model
from harness.ondevice.preprocess import SIZE
from harness.primitives.progress import Say

MODEL_DIR = resources.fixtures_dir() / "model"
BUNDLED_NAME = "tinycnn"
BUNDLED_MODEL = MODEL_DIR / f"{BUNDLED_NAME}.onnx"
#: Its test scenes (PNG) and their ONNX Runtime outputs, written by fixtures/model/make_model.py.
IMAGES_DIR = resources.fixture_images_dir()
REFERENCE = MODEL_DIR / "reference.json"
INPUT_NAME, OUTPUT_NAME = "data", "output0"
INPUT_SHAPE = (1, 3, SIZE, SIZE)
INPUT_DTYPE = "float32"
BUNDLED_INPUT_CONFIG = {INPUT_NAME: list(INPUT_SHAPE)}


def compile_bundled(neo_target: str, output_root: Path, *, cache_dir: Path | None = None,
                    progress: Say | None = None) -> Artifact:
    """Compile the bundled model for ``neo_target`` into ``output_root/neo_target`` (cached)."""
    return compile_model(BUNDLED_MODEL, neo_target, BUNDLED_INPUT_CONFIG, Path(output_root) / neo_target,
                         cache_dir=cache_dir, progress=progress)

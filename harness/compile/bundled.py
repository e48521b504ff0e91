"""The bundled tiny CNN compiled for a Neo target: what the `compiled_model` fixture calls."""

from __future__ import annotations

from pathlib import Path

from harness.artifact.package import Artifact
from harness.compile.api import Progress, compile_model

REPO = Path(__file__).resolve().parents[2]
BUNDLED_MODEL = REPO / "fixtures" / "model" / "tinycnn.onnx"
BUNDLED_INPUT_CONFIG = {"data": [1, 3, 224, 224]}


def compile_bundled(neo_target: str, output_root: Path, *, cache_dir: Path | None = None,
                    progress: Progress | None = None) -> Artifact:
    """Compile fixtures/model/tinycnn.onnx for ``neo_target`` into ``output_root/neo_target`` (cached)."""
    return compile_model(BUNDLED_MODEL, neo_target, BUNDLED_INPUT_CONFIG, Path(output_root) / neo_target,
                         cache_dir=cache_dir, progress=progress)

"""A .tflite model as ONNX, so ONNX Runtime is measured on the same model beside LiteRT and DLR.

tflite2onnx (Apache-2.0, PyPI; github.com/zhenhuaw-me/tflite2onnx) converts the graph and moves 4-D
activations to ONNX's NCHW layout (``tflite2onnx/layout.py``), inputs included. A Transpose in front of each
such input gives the ONNX model the .tflite's own input names and shapes, so the same inputs feed both.
A conversion counts only once it agrees with LiteRT on the host on seeded inputs (``check``): otherwise its
figure would be another model's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.models.errors import ModelWorkloadError
from harness.models.samples import InputSpec, random_inputs

REQUIREMENT = "tflite2onnx==0.4.1"
NHWC_TO_NCHW = [0, 3, 1, 2]


class ConversionUnavailable(ModelWorkloadError):
    """The .tflite cannot be had as an equivalent ONNX model here (converter missing, unsupported, disagrees)."""


def tflite_inputs(model: Path) -> list[InputSpec]:
    """The .tflite's inputs (name, shape, dtype) as LiteRT reads them."""
    from ai_edge_litert.interpreter import Interpreter

    return [InputSpec(d["name"], tuple(int(n) for n in d["shape"]), np.dtype(d["dtype"]).name)
            for d in Interpreter(model_path=str(model)).get_input_details()]


def restore_input_layouts(graph, shapes: Mapping[str, list[int]]) -> list[str]:
    """Give ``graph`` (an onnx.GraphProto) the inputs ``shapes`` names; returns the inputs given a Transpose.

    An input whose converted shape is the NCHW permutation of its NHWC shape is fed through a Transpose;
    any other difference is refused.
    """
    from onnx import helper

    moved = []
    for value in graph.input:
        if value.name not in shapes:
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        want = list(shapes[value.name])
        if dims == want:
            continue
        if len(want) != 4 or dims != [want[i] for i in NHWC_TO_NCHW]:
            raise ConversionUnavailable(f"converted input {value.name!r} has shape {dims}, the .tflite's is {want}",
                                        step="convert")
        inner = f"{value.name}__nchw"
        for node in graph.node:
            node.input[:] = [inner if name == value.name else name for name in node.input]
        for dim, size in zip(value.type.tensor_type.shape.dim, want, strict=True):
            dim.dim_value = size
        graph.node.insert(0, helper.make_node("Transpose", [value.name], [inner], perm=NHWC_TO_NCHW,
                                              name=f"{value.name}_to_nchw"))
        moved.append(value.name)
    missing = sorted(set(shapes) - {v.name for v in graph.input})
    if missing:
        raise ConversionUnavailable(f"the converted model lost inputs {missing}", step="convert")
    return moved


def tflite_to_onnx(model: Path, out: Path) -> Path:
    """Convert ``model`` (.tflite) to ``out`` (.onnx) taking the same inputs; ConversionUnavailable if it cannot."""
    import onnx

    try:
        import tflite2onnx
    except ImportError:
        raise ConversionUnavailable("tflite2onnx is not installed on this host", step="convert",
                                    advice=f"pip install {REQUIREMENT}") from None
    logging.getLogger("tflite2onnx").setLevel(logging.ERROR)  # it warns on every float16 constant
    raw = out.with_name(out.stem + ".nchw.onnx")
    try:
        tflite2onnx.convert(str(model), str(raw))
    except Exception as exc:  # noqa: BLE001 - the converter raises bare asserts and NotImplementedError
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ConversionUnavailable(f"tflite2onnx cannot convert {model.name}: {first}", step="convert") from None
    converted = onnx.load(raw)
    restore_input_layouts(converted.graph, {i.name: list(i.shape) for i in tflite_inputs(model)})
    onnx.checker.check_model(converted)
    onnx.save(converted, out)
    raw.unlink()
    return out


def check(tflite: Path, converted: Path, seed: int = 0) -> str:
    """How the conversion agrees with LiteRT on seeded inputs; ConversionUnavailable when it does not."""
    from harness.models.reference import run_reference
    from harness.models.tolerance import compare_all

    inputs = random_inputs(tflite_inputs(tflite), seed)
    want, got = run_reference(tflite, inputs), run_reference(converted, inputs)
    verdicts = compare_all(want, got)
    bad = [v.describe() for v in verdicts if not v.ok]
    if bad:
        raise ConversionUnavailable(f"the ONNX conversion of {tflite.name} disagrees with LiteRT: {'; '.join(bad)}",
                                    step="convert")
    return "; ".join(v.describe() for v in verdicts)


def onnx_for(model: Path, workdir: Path) -> tuple[Path | None, str]:
    """The model ONNX Runtime runs and how it was had: the .onnx itself, or a .tflite converted into ``workdir``
    and checked against LiteRT on the host; (None, why) otherwise."""
    suffix = model.suffix.lower()
    if suffix == ".onnx":
        return model, "the model itself"
    if suffix != ".tflite":
        return None, f"ONNX Runtime runs .onnx models; this model is {model.suffix or model.name}"
    try:
        out = tflite_to_onnx(model, workdir / f"{model.stem}.onnx")
        agreement = check(model, out)
    except ConversionUnavailable as exc:
        return None, f"{exc.detail}" + (f" ({exc.advice})" if exc.advice else "")
    return out, f"converted from .tflite by {REQUIREMENT}; against LiteRT on the host: {agreement}"

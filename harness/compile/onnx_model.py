"""ONNX: the model's declared inputs, the operators TVM cannot convert, and the Relax import.

Operators are checked against the relax ONNX frontend's converter table before importing, so
an unknown operator reads as Neo reports it, never as a TVM traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import onnx

from harness.compile.errors import CompileError, UnsupportedOperatorError
from harness.compile.input_config import ModelInput

DEFAULT_DOMAINS = ("", "ai.onnx")


def load_onnx(data: bytes, name: str) -> onnx.ModelProto:
    try:
        return onnx.load_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise CompileError(f"ClientError: {name} is not a readable ONNX model ({type(exc).__name__})",
                           step="compile", advice="export the model again with onnx.save / torch.onnx.export") from None


def load_external_data(model: onnx.ModelProto, base: Path) -> list[Path]:
    """Load tensors stored in files beside the model (confined to its directory); return those files."""
    from onnx.external_data_helper import ExternalDataInfo, load_external_data_for_model, uses_external_data

    locations = sorted({ExternalDataInfo(t).location for t in model.graph.initializer if uses_external_data(t)})
    root = base.resolve()
    files = [(root / loc).resolve() for loc in locations]
    for loc, path in zip(locations, files, strict=True):
        if not path.is_relative_to(root) or not path.is_file():
            raise CompileError(f"ClientError: external data {loc!r} must be a file beside the model in {base}",
                               advice="keep the .onnx file and its external data files in one directory")
    if files:
        try:
            load_external_data_for_model(model, str(root))
        except Exception as exc:  # onnx raises ValueError/OSError/checker errors
            raise CompileError(f"ClientError: cannot load external data: {str(exc)[:200]}") from None
    return files


def onnx_inputs(model: onnx.ModelProto) -> list[ModelInput]:
    """Graph inputs that are not initializers; symbolic or unset dimensions become None."""
    weights = {t.name for t in model.graph.initializer}
    found = []
    for vi in model.graph.input:
        if vi.name in weights:
            continue
        tt = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim)
        try:
            dtype = str(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except (KeyError, ValueError):
            dtype = f"onnx-type-{tt.elem_type}"
        found.append(ModelInput(vi.name, dims, dtype))
    return found


def _nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node, including those in If/Loop/Scan bodies."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _nodes(attr.g)
            for g in attr.graphs:
                yield from _nodes(g)


def unsupported_operators(model: onnx.ModelProto) -> set[str]:
    """Operator types the relax ONNX frontend has no converter for (custom domains never convert)."""
    from tvm.relax.frontend.onnx.onnx_frontend import _get_convert_map

    supported = set(_get_convert_map()) | {"If", "Constant"}
    return {n.op_type for n in _nodes(model.graph)
            if n.op_type not in supported or n.domain not in DEFAULT_DOMAINS}


def check_operators(model: onnx.ModelProto) -> None:
    missing = unsupported_operators(model)
    if missing:
        raise UnsupportedOperatorError(
            "ClientError: InputConfiguration: TVM cannot convert ONNX model. "
            f"The following operators are not implemented: {set(sorted(missing))}", step="compile",
            advice="replace these operators with standard ONNX ops (or decompose them) before compiling")


def import_onnx(model: onnx.ModelProto, inputs: list[ModelInput]):  # -> tvm.IRModule
    """Relax IRModule with the bound input shapes; frontend failures become CompileError."""
    from tvm.relax.frontend.onnx import from_onnx

    check_operators(model)
    try:
        return from_onnx(model, shape_dict={i.name: list(i.shape) for i in inputs},
                         dtype_dict={i.name: i.dtype for i in inputs})
    except Exception as exc:  # the frontend raises anything from assert to TVMError
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
        raise CompileError(f"ClientError: TVM cannot convert ONNX model: {first}", step="compile",
                           advice="check the opset and operator attributes; simplify the model with onnxsim") from None

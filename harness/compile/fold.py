"""Make an exported ONNX graph static once DataInputConfig has bound every input's shape.

PyTorch and PaddlePaddle exports keep dynamic dimensions and compute shapes at run time
(Shape -> Gather/Slice -> Concat -> Reshape, Identity on shapes). TVM's Relax ONNX importer
rejects those ("cannot handle ShapeExpr inputs", "Reshape requires the input new shape to be
Shape"). With the inputs bound, each of those subgraphs is a constant: this module binds the
shapes, infers the rest with ``onnx.shape_inference`` and evaluates every node whose inputs are
all known with ``onnx.reference`` (ONNX's own operator semantics), until nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from harness.compile.errors import CompileError

#: Operators never folded: their value is not a function of their inputs, they carry subgraphs, or they are
#: the quantization of a QDQ model (folding DequantizeLinear of int8 weights would store them as float32).
NOT_FOLDABLE = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
                          "Bernoulli", "If", "Loop", "Scan", "SequenceMap",
                          "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})
#: A folded tensor larger than this stays a computation (folding would bloat the model file).
MAX_FOLDED_BYTES = 64 << 20
MAX_ROUNDS = 64


class StaticShapeError(CompileError):
    """A tensor's shape still depends on run-time data after binding the inputs; names the node that makes it."""


def bind_and_fold(model: str | Path | onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]]) -> onnx.ModelProto:
    """A copy of ``model`` with ``input_shapes`` bound, shape subgraphs folded and every output shape static.

    Outputs are the same tensors, names and order; only nodes whose values are constants go away.
    Raises StaticShapeError naming the first node (and operator) whose output shape stays unknown.
    """
    proto = onnx.load(str(model)) if isinstance(model, (str, Path)) else _copy(model)
    _bind_inputs(proto.graph, input_shapes)
    for _ in range(MAX_ROUNDS):
        proto = _infer(proto)
        if not _fold_once(proto):
            break
    _drop_unused_initializers(proto.graph)
    proto = _infer(proto)
    _check_static(proto)
    return proto


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def _bind_inputs(graph: onnx.GraphProto, shapes: Mapping[str, Sequence[int]]) -> None:
    weights = {t.name for t in graph.initializer}
    inputs = {vi.name: vi for vi in graph.input if vi.name not in weights}
    for name in shapes:
        if name not in inputs:
            raise CompileError(f"ClientError: InputConfiguration: input {name!r} not found; the model's inputs are "
                               f"{', '.join(inputs) or '(none)'}", advice="name the model's inputs in DataInputConfig")
    for name, vi in inputs.items():
        if name not in shapes:
            raise CompileError(f"ClientError: InputConfiguration: input {name!r} of the model is missing from "
                               "DataInputConfig", advice="give every model input a shape in DataInputConfig")
        dims = vi.type.tensor_type.shape.dim
        want = [int(d) for d in shapes[name]]
        if len(dims) and len(dims) != len(want):
            raise CompileError(f"ClientError: InputConfiguration: input {name!r} has rank {len(dims)}, "
                               f"DataInputConfig gives {want}")
        del dims[:]
        for d in want:
            dims.add().dim_value = d
    # Declared intermediate and output shapes carry the old symbols ("batch"); inference restates them.
    del graph.value_info[:]
    for out in graph.output:
        if out.type.tensor_type.HasField("shape"):
            out.type.tensor_type.ClearField("shape")


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        return shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:  # onnx raises InferenceError / ValidationError with the node in the text
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise CompileError(f"ClientError: InputConfiguration: shape inference failed with the bound inputs: {first}",
                           advice="check DataInputConfig against the shapes the model was exported for") from None


def _static_shapes(graph: onnx.GraphProto) -> dict[str, tuple[int, ...] | None]:
    """Every known tensor's shape: a tuple when all dimensions are numbers, else None."""
    shapes: dict[str, tuple[int, ...] | None] = {}
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            shapes.setdefault(vi.name, None)
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        shapes[vi.name] = None if any(d is None for d in dims) else tuple(dims)  # type: ignore[misc]
    for t in graph.initializer:
        shapes[t.name] = tuple(t.dims)
    return shapes


def _fold_once(model: onnx.ModelProto) -> bool:
    """Replace every node computable from constants (and Shape/Size of static tensors) by an initializer."""
    graph = model.graph
    consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    shapes = _static_shapes(graph)
    outputs = {o.name for o in graph.output}
    opsets = list(model.opset_import)
    kept: list[onnx.NodeProto] = []
    changed = False
    for node in graph.node:
        values = _evaluate(node, consts, shapes, opsets) if not outputs & set(node.output) else None
        if values is None:
            kept.append(node)
            continue
        for name, value in zip(node.output, values, strict=True):
            consts[name] = value
            graph.initializer.append(numpy_helper.from_array(value, name))
        changed = True
    if changed:
        del graph.node[:]
        graph.node.extend(kept)
    return changed


def _evaluate(node: onnx.NodeProto, consts: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...] | None],
              opsets: list[onnx.OperatorSetIdProto]) -> list[np.ndarray] | None:
    if node.domain not in ("", "ai.onnx") or node.op_type in NOT_FOLDABLE:
        return None
    if node.op_type in ("Shape", "Size") and node.input[0] not in consts:
        shape = shapes.get(node.input[0])
        if shape is None:
            return None
        if node.op_type == "Size":
            return [np.array(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)]
        attrs = {a.name: a.i for a in node.attribute}
        rank = len(shape)
        start, end = attrs.get("start", 0), attrs.get("end", rank)
        return [np.array(shape[slice(start, end)], dtype=np.int64)]
    present = [n for n in node.input if n]
    if not all(n in consts for n in present):
        return None
    # Nodes with no inputs (Constant, ConstantOfShape-like generators) fold too; Constant is the common one.
    try:
        single = onnx.helper.make_graph([node], "fold", [], [onnx.helper.make_tensor_value_info(o, 0, None)
                                                             for o in node.output],
                                        initializer=[numpy_helper.from_array(consts[n], n) for n in present])
        evaluator = ReferenceEvaluator(onnx.helper.make_model(single, opset_imports=opsets))
        values = [np.asarray(v) for v in evaluator.run(None, {})]
    except Exception:  # an operator onnx.reference lacks or rejects: leave it to TVM
        return None
    if sum(v.nbytes for v in values) > MAX_FOLDED_BYTES or any(v.dtype == object for v in values):
        return None
    return values


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    """Initializers nothing reads any more go, with their graph-input entries (old IR models list weights there)."""
    used = {n for node in graph.node for n in node.input} | {o.name for o in graph.output}
    weights = {t.name for t in graph.initializer}
    keep = [t for t in graph.initializer if t.name in used]
    inputs = [vi for vi in graph.input if vi.name not in weights or vi.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    del graph.input[:]
    graph.input.extend(inputs)


def _check_static(model: onnx.ModelProto) -> None:
    """Every graph output must have a static shape; blame the earliest node whose output shape is unknown."""
    graph = model.graph
    if any(not onnx.defs.has(n.op_type, n.domain or "") for n in graph.node):
        return  # an operator ONNX does not know has no shape to infer: the importer reports it, as Neo does
    shapes = _static_shapes(graph)
    if all(shapes.get(o.name) is not None for o in graph.output):
        return
    for node in graph.node:
        known = [n for n in node.input if n]
        if all(shapes.get(n) is not None for n in known) and any(shapes.get(o) is None for o in node.output if o):
            label = node.name or node.output[0]
            raise StaticShapeError(
                f"ClientError: InputConfiguration: node {label!r} (operator {node.op_type}) has an output shape "
                "that depends on run-time values even with every input shape bound", step="compile",
                advice="export the model with static shapes for this operator, or replace it")
    dynamic = next(o.name for o in graph.output if shapes.get(o.name) is None)
    raise StaticShapeError(f"ClientError: InputConfiguration: output {dynamic!r} has no static shape after binding "
                           "the inputs", step="compile", advice="give every dynamic dimension a value in "
                                                                "DataInputConfig")

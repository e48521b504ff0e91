"""Which framework a model file is, and each framework's importer behind one signature.

ONNX and TFLite (the ``tflite`` flatbuffer package, a dependency) are complete. PyTorch (torch.export
programs) needs torch, which this harness does not install; without it the user gets one clear line.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.compile.batchnorm import FOLD_BATCH_NORM, fold_batch_norm
from harness.compile.errors import CompileError, FrameworkUnavailable
from harness.compile.input_config import ModelInput

FRAMEWORKS = ("onnx", "pytorch", "tflite")
_SUFFIXES = {".onnx": "onnx", ".pt2": "pytorch", ".pt": "pytorch", ".pth": "pytorch", ".tflite": "tflite"}
_PACKAGES = {"pytorch": ("torch", "pip install torch==2.13.0 (CPU build)"),
             "tflite": ("tflite", "pip install tflite==2.18.0")}


@dataclass
class LoadedModel:
    framework: str
    inputs: list[ModelInput]
    output_names: list[str]
    handle: Any  # the framework's own model object
    extra_files: list[Path] = field(default_factory=list)  # e.g. ONNX external data, part of the cache key


def detect_framework(path: Path, data: bytes) -> str:
    """From the suffix, else the bytes: TFLite has 'TFL3' at offset 4, torch saves are zip files."""
    if path.suffix.lower() in _SUFFIXES:
        return _SUFFIXES[path.suffix.lower()]
    if data[4:8] == b"TFL3":
        return "tflite"
    if data[:2] == b"PK":
        return "pytorch"
    return "onnx"


def require_package(framework: str) -> None:
    if framework in _PACKAGES:
        pkg, how = _PACKAGES[framework]
        if importlib.util.find_spec(pkg) is None:
            raise FrameworkUnavailable(f"framework {framework} needs package {pkg}, which is not installed",
                                       step="compile", advice=f"{how}, or export the model to ONNX")


def load_model(framework: str, path: Path, data: bytes) -> LoadedModel:
    if framework not in FRAMEWORKS:
        raise CompileError(f"ValidationException: Framework {framework!r} is not one of {', '.join(FRAMEWORKS)}",
                           step="compile")
    require_package(framework)
    if framework == "onnx":
        from harness.compile.onnx_model import load_external_data, load_onnx, onnx_inputs

        model = load_onnx(data, path.name)
        extra = load_external_data(model, path.parent)
        return LoadedModel("onnx", onnx_inputs(model), [o.name for o in model.graph.output], model, extra)
    try:
        return _load_pytorch(path) if framework == "pytorch" else _load_tflite(data)
    except Exception as exc:  # each framework's own parse errors
        raise CompileError(f"ClientError: {path.name} is not a readable {framework} model "
                           f"({type(exc).__name__}: {str(exc)[:200]})", step="compile") from None


def _load_pytorch(path: Path) -> LoadedModel:
    import torch

    program = torch.export.load(str(path))
    placeholders = [s for s in program.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    metas = {n.name: n.meta.get("val") for n in program.graph.nodes if n.op == "placeholder"}
    inputs = [ModelInput(s.arg.name, tuple(int(d) for d in metas[s.arg.name].shape),
                         str(metas[s.arg.name].dtype).removeprefix("torch.")) for s in placeholders]
    return LoadedModel("pytorch", inputs, [f"output{i}" for i in range(len(program.graph_signature.user_outputs))],
                       program)


def _load_tflite(data: bytes) -> LoadedModel:
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    tensors = [graph.Tensors(graph.Inputs(i)) for i in range(graph.InputsLength())]
    inputs = [ModelInput(t.Name().decode(), tuple(int(d) for d in t.ShapeAsNumpy()), _TFLITE_DTYPES.get(t.Type(), "?"))
              for t in tensors]
    outputs = [graph.Tensors(graph.Outputs(i)).Name().decode() for i in range(graph.OutputsLength())]
    return LoadedModel("tflite", inputs, outputs, model)


_TFLITE_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 9: "int8"}


def to_relax(loaded: LoadedModel, inputs: list[ModelInput]):  # -> tvm.IRModule
    """Import into Relax with the bound input shapes, simplified for inference (for_inference)."""
    return for_inference(_imported(loaded, inputs))


#: Passes run on every imported model, in order (part of the compile cache key): constants folded (a conv bias
#: reshape becomes a constant), batch normalization on constant statistics made a per-channel scale and shift
#: (harness.compile.batchnorm: into the preceding convolution's weights and bias, as ONNX Runtime's
#: Conv+BatchNormalization fusion does, else one multiply-add), any norm left decomposed for inference. A
#: legalized batch_norm is a pass of its own over the activations (ShuffleNet has 49).
INFERENCE_PASSES = ("FoldConstant", FOLD_BATCH_NORM, "DecomposeOpsForInference", "FoldConstant")


def for_inference(mod):  # (tvm.IRModule) -> tvm.IRModule
    """``mod`` after INFERENCE_PASSES."""
    from tvm import relax

    for name in INFERENCE_PASSES:
        mod = fold_batch_norm(mod) if name == FOLD_BATCH_NORM else getattr(relax.transform, name)()(mod)
    return mod


def _imported(loaded: LoadedModel, inputs: list[ModelInput]):  # -> tvm.IRModule
    if loaded.framework == "onnx":
        from harness.compile.onnx_model import import_onnx

        return import_onnx(loaded.handle, inputs)
    try:
        if loaded.framework == "pytorch":
            from tvm.relax.frontend.torch import from_exported_program

            return from_exported_program(loaded.handle)
        from tvm.relax.frontend.tflite import from_tflite

        return from_tflite(loaded.handle, shape_dict={i.name: i.shape for i in inputs},
                           dtype_dict={i.name: i.dtype for i in inputs})
    except Exception as exc:  # frontends raise anything; the user needs one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
        raise CompileError(f"ClientError: TVM cannot convert {loaded.framework} model: {first}",
                           step="compile") from None

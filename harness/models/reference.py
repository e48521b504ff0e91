"""The user's own model run on the host: the reference every device output is checked against.

ONNX Runtime runs .onnx files, LiteRT (``ai_edge_litert``) runs .tflite files, both on the CPU and
on the same inputs the device gets. The answer is ``{output name: array}`` in the model's output
order, the order compiled.meta records.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.models.errors import ModelWorkloadError

RUNTIMES = {".onnx": "onnxruntime", ".tflite": "litert"}


def runtime_for(model: Path | str) -> str:
    """"onnxruntime" or "litert", from the file: TFLite flatbuffers carry 'TFL3' at byte 4."""
    path = Path(model)
    if path.suffix.lower() in RUNTIMES:
        return RUNTIMES[path.suffix.lower()]
    with path.open("rb") as f:
        head = f.read(8)
    return "litert" if head[4:8] == b"TFL3" else "onnxruntime"


def run_reference(model: Path | str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs of ``model`` on ``inputs`` (keys = input names) with the framework's own host runtime."""
    path = Path(model)
    if not path.is_file():
        raise ModelWorkloadError(f"reference model {path} not found", step="reference")
    runtime = runtime_for(path)
    try:
        return _onnxruntime(path, inputs) if runtime == "onnxruntime" else _litert(path, inputs)
    except ModelWorkloadError:
        raise
    except Exception as exc:  # each runtime raises its own error types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelWorkloadError(f"{runtime} cannot run {path.name} on the host: {first}", step="reference") from None


def _check_names(want: list[str], given: Mapping[str, np.ndarray], model: str) -> None:
    missing = [n for n in want if n not in given]
    extra = [n for n in given if n not in want]
    if missing or extra:
        raise ModelWorkloadError(f"{model}: inputs {sorted(given)} do not match the model's {want}"
                                 f" (missing {missing}, unknown {extra})", step="reference")


def _onnxruntime(path: Path, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    _check_names(names, inputs, path.name)
    outputs = [o.name for o in session.get_outputs()]
    values = session.run(outputs, {n: np.ascontiguousarray(inputs[n]) for n in names})
    return {n: np.asarray(v) for n, v in zip(outputs, values, strict=True)}


def _litert(path: Path, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    details = interpreter.get_input_details()
    _check_names([d["name"] for d in details], inputs, path.name)
    for d in details:
        shape = tuple(np.asarray(inputs[d["name"]]).shape)
        if shape != tuple(int(s) for s in d["shape"]):
            interpreter.resize_tensor_input(d["index"], list(shape))
    interpreter.allocate_tensors()
    for d in interpreter.get_input_details():
        value = np.asarray(inputs[d["name"]])
        if value.dtype != d["dtype"]:
            raise ModelWorkloadError(f"{path.name}: input {d['name']!r} is {np.dtype(d['dtype']).name}, "
                                     f"got {value.dtype}", step="reference")
        interpreter.set_tensor(d["index"], np.ascontiguousarray(value))
    interpreter.invoke()
    return {d["name"]: np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()}

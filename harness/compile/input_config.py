"""Neo's DataInputConfig: parse it, and check it against the model's real inputs before compiling.

Forms accepted (as Neo does): ``{"data": [1,3,224,224]}`` by name, ``[[1,3,224,224]]`` by position,
and ``[{"name": "data", "shape": [1,3,224,224]}]``. NCHW for ONNX/PyTorch, NHWC for TFLite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.compile.errors import InputConfigError, TargetError
from harness.compile.targets import parse_json_option

MAX_RANK = 8
MAX_DIM = 1 << 31
MAX_INPUTS = 64


@dataclass(frozen=True)
class ModelInput:
    """One input as the model declares it; ``None`` in shape is a dynamic dimension."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def describe(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name} [{dims}] {self.dtype}"


def describe_inputs(inputs: list[ModelInput]) -> str:
    return ", ".join(i.describe() for i in inputs) or "(none)"


def _fail(detail: str, inputs: list[ModelInput] | None = None) -> InputConfigError:
    tail = f"; the model's inputs are {describe_inputs(inputs)}" if inputs is not None else ""
    return InputConfigError(f"ClientError: InputConfiguration: {detail}{tail}", step="compile",
                            advice="set DataInputConfig to the model's input names and shapes, "
                                   "e.g. --input-config '{\"data\": [1,3,224,224]}'")


def parse_input_config(raw: str | dict | list) -> dict[str, tuple[int, ...]] | list[tuple[int, ...]]:
    """Return ``{name: shape}`` or ``[shape, …]`` (positional); any malformed input raises InputConfigError."""
    if isinstance(raw, str):
        try:
            raw = parse_json_option(raw, "DataInputConfig")  # type: ignore[assignment]
        except TargetError:
            raise _fail(f"DataInputConfig is not valid JSON: {raw[:80]!r}") from None
    if isinstance(raw, dict):
        if not raw or len(raw) > MAX_INPUTS:
            raise _fail(f"DataInputConfig must name 1..{MAX_INPUTS} inputs")
        return {_name(k): _shape(v, str(k)) for k, v in raw.items()}
    if isinstance(raw, list):
        if not raw or len(raw) > MAX_INPUTS:
            raise _fail(f"DataInputConfig must list 1..{MAX_INPUTS} inputs")
        if all(isinstance(e, dict) for e in raw):
            named: dict[str, tuple[int, ...]] = {}
            for e in raw:
                if set(e) != {"name", "shape"}:
                    raise _fail('each DataInputConfig entry must be {"name": ..., "shape": [...]}')
                named[_name(e["name"])] = _shape(e["shape"], str(e["name"]))
            return named
        return [_shape(v, f"#{i}") for i, v in enumerate(raw)]
    raise _fail(f"DataInputConfig must be an object or a list, not {type(raw).__name__}")


def _name(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > 256:
        raise _fail(f"input names must be non-empty strings, got {str(name)[:40]!r}")
    return name


def _shape(value: object, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_RANK:
        raise _fail(f"input {where!r}: shape must be a list of 1..{MAX_RANK} integers, got {str(value)[:60]}")
    if not all(type(d) is int and 1 <= d < MAX_DIM for d in value):
        raise _fail(f"input {where!r}: every dimension must be an integer ≥ 1, got {str(value)[:60]}")
    return tuple(value)


def bind_inputs(config: dict[str, tuple[int, ...]] | list[tuple[int, ...]],
                inputs: list[ModelInput]) -> list[ModelInput]:
    """Match the config to the model's inputs; return them with concrete shapes, in model order."""
    if isinstance(config, list):
        if len(config) != len(inputs):
            raise _fail(f"DataInputConfig lists {len(config)} input shape(s), the model has {len(inputs)}", inputs)
        config = {i.name: shape for i, shape in zip(inputs, config, strict=True)}
    by_name = {i.name: i for i in inputs}
    for name in config:
        if name not in by_name:
            raise _fail(f"input {json.dumps(name)} not found", inputs)
    bound = []
    for inp in inputs:
        if inp.name not in config:
            raise _fail(f"input {json.dumps(inp.name)} of the model is missing from DataInputConfig", inputs)
        shape = config[inp.name]
        if len(shape) != len(inp.shape):
            raise _fail(f"input {json.dumps(inp.name)} has rank {len(inp.shape)} in the model, DataInputConfig "
                        f"gives rank {len(shape)} ({_dims(shape)})", inputs)
        for axis, (want, got) in enumerate(zip(inp.shape, shape, strict=True)):
            if want is not None and want != got:
                raise _fail(f"input {json.dumps(inp.name)} dimension {axis} is {want} in the model, DataInputConfig "
                            f"gives {got} ({_dims(shape)})", inputs)
        bound.append(ModelInput(inp.name, shape, inp.dtype))
    return bound


def _dims(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(map(str, shape)) + "]"

"""compiled.meta: the JSON written beside compiled.so, shared with the project's libdlr.

Schema ``hil.neo-artifact/1``. The compiled .so records neither the TVM version nor the CPU
features it needs, so this file does; preflight and libdlr trust it only after validation.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from harness.errors import FailureClass, HilError
from harness.primitives import arch as _arch
from harness.primitives.validation import first_error

SCHEMA = "hil.neo-artifact/1"
META_NAME = "compiled.meta"
SO_NAME = "compiled.so"
#: Bundled runtime libraries the DLR wrapper / libdlr look for beside the model.
RUNTIME_LIBS = ("libdlr.so", "libtvm_runtime.so", "libtvm_ffi.so")
MAX_META_BYTES = 1 << 20
_SCALAR_LIST = re.compile(r"\[\n\s*([^\[\]{}]*?)\n\s*\]")  # a raw newline never occurs inside a JSON string
ARCHES = tuple(_arch.ARCHES)
ELF_MACHINES = tuple(a.elf_machine for a in _arch.ARCHES.values())

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")]
DTYPES = ("float32", "float16", "float64", "int8", "uint8", "int16", "int32", "int64", "bool")


class ArtifactError(HilError):
    """A Neo artifact directory or its compiled.meta is missing, malformed or inconsistent."""

    failure_class = FailureClass.ARTIFACT


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelInfo(_Strict):
    name: Name
    framework: Literal["onnx", "pytorch", "tflite"]
    sha256: Hex64


class TensorSpec(_Strict):
    name: Name
    shape: list[Annotated[int, Field(ge=0, le=1 << 31)]] = Field(max_length=8)
    dtype: Literal[DTYPES]  # type: ignore[valid-type]


class TvmTarget(BaseModel):
    """The TVM target in dict form (string targets no longer parse in TVM 0.27)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    kind: Literal["llvm"]
    mtriple: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(-[a-z0-9_]+){1,3}$")]
    mcpu: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.+-]{1,64}$")] | None = None
    mattr: list[Annotated[str, StringConstraints(pattern=r"^[+-][a-z0-9_.-]{1,64}$")]] = Field(
        default_factory=list, max_length=64)
    mfloat_abi: Literal["hard", "soft"] | None = Field(default=None, alias="mfloat-abi")

    def as_tvm_dict(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=False)


class TargetInfo(_Strict):
    neo: Name
    tvm: TvmTarget
    arch: Literal[ARCHES]  # type: ignore[valid-type]
    elf_machine: Literal[ELF_MACHINES]  # type: ignore[valid-type]
    cpu_features: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]] = Field(max_length=64)


class CompilerInfo(_Strict):
    tvm: Name
    tvm_ffi: Name
    llvm: Name


class RuntimeInfo(_Strict):
    dlr_abi: Annotated[str, StringConstraints(pattern=r"^tvm-\d+\.\d+$")]
    entry: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class FileInfo(_Strict):
    sha256: Hex64
    size: Annotated[int, Field(ge=0)]


class TuningInfo(_Strict):
    """The tuning database applied at compile time (absent: every task on TVM's default schedule)."""

    database: Hex64
    tuned_tasks: Annotated[int, Field(ge=0)]
    default_tasks: Annotated[int, Field(ge=0)]


def schedules_of(tuning: TuningInfo | None) -> str:
    """How an artifact's TIR was scheduled, in the words `hil inspect` and the report use."""
    if tuning is None:
        return "untuned: every task on TVM's default schedule"
    return (f"tuned: {tuning.tuned_tasks} of {tuning.tuned_tasks + tuning.default_tasks} tasks "
            f"(database {tuning.database[:12]}…)")


class ArtifactMeta(_Strict):
    schema_: Literal["hil.neo-artifact/1"] = Field(alias="schema")
    model: ModelInfo
    inputs: list[TensorSpec] = Field(min_length=1, max_length=64)
    outputs: list[TensorSpec] = Field(min_length=1, max_length=64)
    target: TargetInfo
    compiler: CompilerInfo
    runtime: RuntimeInfo
    files: dict[FileName, FileInfo]
    created: datetime
    tuning: TuningInfo | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("files")
    @classmethod
    def _has_library(cls, files: dict[str, FileInfo]) -> dict[str, FileInfo]:
        if SO_NAME not in files:
            raise ValueError(f"files must list {SO_NAME}")
        return files

    @property
    def dlr_abi_version(self) -> tuple[int, int]:
        major, minor = re.fullmatch(r"tvm-(\d+)\.(\d+)", self.runtime.dlr_abi).groups()  # type: ignore[union-attr]
        return int(major), int(minor)

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["created"] = self.created.strftime("%Y-%m-%dT%H:%M:%SZ")
        text = json.dumps(data, indent=1)
        # Lists of scalars on one line (shapes, mattr); only whitespace between tokens is rewritten.
        return _SCALAR_LIST.sub(lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text) + "\n"


def parse_meta(raw: bytes | str, *, source: str = META_NAME) -> ArtifactMeta:
    """Validate compiled.meta text; any malformed input raises ArtifactError naming the first problem."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_META_BYTES:
        raise ArtifactError(f"{source}: {len(raw)} bytes, larger than {MAX_META_BYTES}", step="inspect")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ArtifactError(f"{source}: not JSON ({str(exc)[:120]})", step="inspect",
                            advice="recompile the model; compiled.meta is written by `hil compile`") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{source}: top level must be an object", step="inspect")
    if data.get("schema") != SCHEMA:
        raise ArtifactError(f"{source}: schema is {str(data.get('schema'))[:60]!r}, expected {SCHEMA!r}",
                            step="inspect", advice="recompile with this harness's `hil compile`")
    try:
        return ArtifactMeta.model_validate(data)
    except ValidationError as exc:
        raise ArtifactError(f"{source}: {first_error(exc)}", step="inspect") from None


def load_meta(artifact_dir: Path) -> ArtifactMeta:
    path = Path(artifact_dir) / META_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"{artifact_dir}: no {META_NAME}", step="inspect",
                            advice=f"point at the output directory of `hil compile` ({SO_NAME} + {META_NAME})",
                            ) from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read: {exc.strerror or exc}", step="inspect") from exc
    return parse_meta(raw, source=str(path))

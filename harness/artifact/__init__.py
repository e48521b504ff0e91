"""The Neo artifact on disk: compiled.so + compiled.meta (+ bundled runtime libs), and inspection."""

from harness.artifact.elf import ElfError, ElfInfo, parse_elf, read_elf
from harness.artifact.inspect import Inspection, inspect_artifact, print_inspection
from harness.artifact.meta import (
    META_NAME,
    RUNTIME_LIBS,
    SCHEMA,
    SO_NAME,
    ArtifactError,
    ArtifactMeta,
    TensorSpec,
    load_meta,
    parse_meta,
)
from harness.artifact.verdict import Verdict, print_verdicts

__all__ = [
    "META_NAME", "RUNTIME_LIBS", "SCHEMA", "SO_NAME", "ArtifactError", "ArtifactMeta", "ElfError", "ElfInfo",
    "Inspection", "TensorSpec", "Verdict", "inspect_artifact", "load_meta", "parse_elf", "parse_meta",
    "print_inspection", "print_verdicts", "read_elf",
]

"""The tuning database: MetaSchedule's JSON tables, one directory per TVM target and toolchain.

A record holds a schedule trace for one TIR workload (keyed by MetaSchedule on the workload's
structural hash) measured on one CPU. Traces are only meaningful to the TVM that wrote them and for
the target they were measured on, so each directory is named by the stable key of the TVM target
dict and the installed apache-tvm / apache-tvm-ffi; any other toolchain or target finds no
directory and compiles with the default schedules. Two places are searched: the user's database
(``$HIL_TUNING_DB``, else ``tuning/`` in the lab state directory), which `hil tune` writes, and the
database shipped in the repository (``fixtures/tuning/``) for the bundled model. Nothing here
imports TVM: the digest that enters the compile cache key is taken from the files' bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.lab.paths import SOURCE_ROOT, state_dir
from harness.primitives.digest import sha256_bytes, sha256_file, stable_key

ENV_VAR = "HIL_TUNING_DB"
#: Databases shipped with the repository (tuned for the bundled model).
SHIPPED_ROOT = SOURCE_ROOT / "fixtures" / "tuning"
#: MetaSchedule's JSONDatabase file names (tvm/s_tir/meta_schedule/database/json_database.py).
WORKLOADS = "database_workload.json"
RECORDS = "database_tuning_record.json"


#: A failed candidate's run_secs, as MetaSchedule's AddToDatabase records it.
FAILED_RUN = 1e9


def _run_secs(line: str) -> list[float] | None:
    """run_secs of one JSONDatabase record line: ``[workload, [trace, run_secs, target, args_info]]``."""
    try:
        return json.loads(line)[1][1]
    except (ValueError, IndexError, TypeError, KeyError):
        return None


def default_root() -> Path:
    """``$HIL_TUNING_DB``, else ``tuning/`` under the lab state directory (``$HIL_STATE_DIR``)."""
    return Path(os.environ.get(ENV_VAR) or state_dir() / "tuning")


def target_dir_name(tvm_target: dict[str, object], toolchain: dict[str, str]) -> str:
    """``<mcpu or triple>-<key>``: readable, and different for any change of target or toolchain."""
    label = str(tvm_target.get("mcpu") or tvm_target.get("mtriple") or "llvm")
    key = stable_key({"tvm_target": tvm_target, "toolchain": toolchain}, length=16)
    return f"{label}-{key}"


@dataclass(frozen=True)
class TuningDatabase:
    """One directory of MetaSchedule JSON tables."""

    directory: Path

    @property
    def workloads(self) -> Path:
        return self.directory / WORKLOADS

    @property
    def records(self) -> Path:
        return self.directory / RECORDS

    def has_records(self) -> bool:
        """True when the records table holds at least one line (a workload table alone tunes nothing)."""
        try:
            return self.records.stat().st_size > 0 and self.workloads.is_file()
        except OSError:
            return False

    def digest(self) -> str | None:
        """sha256 over both tables' digests; None when the database holds no records."""
        if not self.has_records():
            return None
        return sha256_bytes(f"{sha256_file(self.workloads)}\n{sha256_file(self.records)}\n".encode())

    def record_count(self) -> int:
        return sum(1 for line in self.records.read_text().splitlines() if line.strip()) if self.has_records() else 0

    def failed_since(self, count: int) -> int:
        """Records after the first ``count`` that hold MetaSchedule's failure time (1e9 s: a candidate that did
        not build or run; tvm/s_tir/meta_schedule/testing/validate_database.py tests for it the same way)."""
        if not self.has_records():
            return 0
        lines = [line for line in self.records.read_text().splitlines() if line.strip()][count:]
        return sum(1 for line in lines if _run_secs(line) == [FAILED_RUN])


def databases_for(tvm_target: dict[str, object], toolchain: dict[str, str], *, root: Path | None = None,
                  shipped_root: Path | None = SHIPPED_ROOT) -> list[TuningDatabase]:
    """The databases (user's first, then shipped) that hold records for this target, in search order."""
    name = target_dir_name(tvm_target, toolchain)
    roots = [root or default_root()] + ([shipped_root] if shipped_root is not None else [])
    found: list[TuningDatabase] = []
    for r in roots:
        db = TuningDatabase(Path(r) / name)
        if db.has_records() and db not in found:
            found.append(db)
    return found


def combined_digest(databases: list[TuningDatabase]) -> str | None:
    """The digest compile caches and compiled.meta carry: one value for the ordered set of databases."""
    digests = [d for d in (db.digest() for db in databases) if d]
    if not digests:
        return None
    return digests[0] if len(digests) == 1 else sha256_bytes("\n".join(digests).encode())

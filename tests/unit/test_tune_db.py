"""Tuning database keying and digests (harness.compile.tune_db), and the tune refusals (no TVM needed).

Table names follow MetaSchedule's JSONDatabase (apache/tvm python/tvm/s_tir/meta_schedule/database/json_database.py).
"""

from __future__ import annotations

from pathlib import Path

from harness.compile.targets import resolve_target
from harness.compile.tune import host_cpu_flags, host_refusal
from harness.compile.tune_db import (
    RECORDS,
    WORKLOADS,
    TuningDatabase,
    combined_digest,
    databases_for,
    target_dir_name,
)

HASWELL = {"kind": "llvm", "mtriple": "x86_64-linux-gnu", "mcpu": "haswell"}
TOOLCHAIN = {"apache-tvm": "0.27.0.post1", "apache-tvm-ffi": "0.1.14.post0"}


def _fill(directory: Path, records: str = '[0, [["trace"], [1e-5]]]\n') -> TuningDatabase:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / WORKLOADS).write_text('["0x1", "{}"]\n')
    (directory / RECORDS).write_text(records)
    return TuningDatabase(directory)


def test_directory_name_changes_with_target_and_toolchain() -> None:
    base = target_dir_name(HASWELL, TOOLCHAIN)
    assert base.startswith("haswell-")
    assert target_dir_name(dict(HASWELL), dict(TOOLCHAIN)) == base
    assert target_dir_name({**HASWELL, "mcpu": "skylake-avx512"}, TOOLCHAIN) != base
    assert target_dir_name({**HASWELL, "mattr": ["+avx2"]}, TOOLCHAIN) != base
    assert target_dir_name(HASWELL, {**TOOLCHAIN, "apache-tvm": "0.28.0"}) != base
    assert target_dir_name(HASWELL, {**TOOLCHAIN, "apache-tvm-ffi": "0.1.15.post2"}) != base


def test_digest_follows_the_records(tmp_path: Path) -> None:
    db = _fill(tmp_path / "a")
    first = db.digest()
    assert first is not None and len(first) == 64
    assert db.record_count() == 1
    (db.records).write_text(db.records.read_text() + '[0, [["other"], [2e-5]]]\n')
    assert db.digest() not in (None, first)
    assert db.record_count() == 2


def test_empty_or_missing_tables_are_no_database(tmp_path: Path) -> None:
    assert TuningDatabase(tmp_path / "none").digest() is None
    empty = _fill(tmp_path / "empty", records="")
    assert empty.digest() is None and empty.record_count() == 0


def test_search_order_user_then_shipped(tmp_path: Path) -> None:
    name = target_dir_name(HASWELL, TOOLCHAIN)
    user, shipped = tmp_path / "user", tmp_path / "shipped"
    assert databases_for(HASWELL, TOOLCHAIN, root=user, shipped_root=shipped) == []
    s = _fill(shipped / name)
    assert databases_for(HASWELL, TOOLCHAIN, root=user, shipped_root=shipped) == [s]
    u = _fill(user / name, records='[0, [["mine"], [3e-5]]]\n')
    found = databases_for(HASWELL, TOOLCHAIN, root=user, shipped_root=shipped)
    assert found == [u, s]
    both = combined_digest(found)
    assert both not in (None, u.digest(), s.digest())
    assert combined_digest([s]) == s.digest()
    assert databases_for({**HASWELL, "mcpu": "znver3"}, TOOLCHAIN, root=user, shipped_root=shipped) == []


def test_refusals_name_the_reason() -> None:
    rasp = resolve_target("rasp4b", check_cpu=False)
    why = host_refusal(rasp, machine="x86_64", flags=frozenset({"avx2"}))
    assert why is not None and "TVM RPC" in why and "qemu" in why
    c5 = resolve_target("ml_c5", check_cpu=False)
    why = host_refusal(c5, machine="x86_64", flags=frozenset({"avx", "avx2", "fma"}))
    assert why is not None and "avx512f" in why
    c4 = resolve_target("ml_c4", check_cpu=False)
    assert host_refusal(c4, machine="x86_64", flags=frozenset({"avx", "avx2", "fma", "sse4_2"})) is None


def test_cpu_flags_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert host_cpu_flags(info) == frozenset({"fpu", "sse", "avx", "avx2", "fma"})
    info.write_text("processor\t: 0\nFeatures\t: fp asimd evtstrm\n")
    assert host_cpu_flags(info) == frozenset({"fp", "asimd", "evtstrm"})
    assert host_cpu_flags(tmp_path / "missing") == frozenset()

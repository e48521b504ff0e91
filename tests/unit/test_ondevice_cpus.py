"""Threads per inference: one per physical core the process may use, SMT siblings counted once.

The sysfs layout is the kernel's (Documentation/ABI/stable/sysfs-devices-system-cpu,
``topology/thread_siblings_list``); tests/host/test_bench_measure.py checks the count on this machine
against util-linux's ``lscpu``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.ondevice import agent
from harness.ondevice.cpus import physical_cores


def sysfs(tmp_path: Path, siblings: dict[int, str]) -> str:
    for cpu, listed in siblings.items():
        topo = tmp_path / f"cpu{cpu}" / "topology"
        topo.mkdir(parents=True)
        (topo / "thread_siblings_list").write_text(listed + "\n")
    return str(tmp_path)


def test_hyperthread_siblings_count_once(tmp_path: Path) -> None:
    root = sysfs(tmp_path, {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})
    assert physical_cores({0, 1, 2, 3}, root) == 2
    assert physical_cores({0, 2}, root) == 1  # a process pinned to one core's two threads


def test_cores_without_smt_each_count(tmp_path: Path) -> None:
    root = sysfs(tmp_path, {0: "0", 1: "1"})
    assert physical_cores({0, 1}, root) == 2


def test_unreadable_topology_counts_each_cpu_and_never_zero(tmp_path: Path) -> None:
    assert physical_cores({0, 1, 5}, str(tmp_path / "absent")) == 3
    assert physical_cores(set(), str(tmp_path)) == 1


def test_the_agent_takes_a_thread_count_and_refuses_a_negative_one() -> None:
    assert agent.parse_args(["--model-dir", "m"]).threads == 0  # 0: one per physical core
    assert agent.parse_args(["--model-dir", "m", "--threads", "3"]).threads == 3
    with pytest.raises(SystemExit) as info:
        agent.parse_args(["--model-dir", "m", "--threads", "-1"])
    assert info.value.code == 2


def test_tvm_threads_keeps_a_count_the_user_set_and_an_explicit_one_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.ondevice.cpus import tvm_threads

    monkeypatch.setenv("TVM_NUM_THREADS", "3")
    assert tvm_threads() == 3
    assert tvm_threads(5) == 5 and os.environ["TVM_NUM_THREADS"] == "5"
    monkeypatch.setenv("TVM_NUM_THREADS", "many")
    assert tvm_threads() == physical_cores()

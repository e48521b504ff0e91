"""What network faults left behind, read straight from iptables-save, tc and /proc rather than from the harness's
own records: the tag every rule carries, the qdisc handle of ours, and latency proxies still running."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path


def _out(argv: Sequence[str]) -> str:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=30).stdout


def left_behind(iptables_in: Sequence[str], tc_in: Sequence[Sequence[str]]) -> list[str]:
    """Tagged rules in the namespace ``iptables_in`` enters (``()``: this one), our qdiscs in each of ``tc_in``,
    and the pids of latency proxies: every line names one thing a fault did not take away."""
    left = [line for line in _out([*iptables_in, "iptables-save"]).splitlines() if "hil-fault" in line]
    left += [line for prefix in tc_in for line in _out([*prefix, "tc", "qdisc", "show"]).splitlines()
             if " 4849: " in line]
    left += [f"proxy pid {pid}" for pid in os.listdir("/proc") if pid.isdigit() and _is_proxy(pid)]
    return left


def _is_proxy(pid: str) -> bool:
    try:
        return b"harness/faults/proxy.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False

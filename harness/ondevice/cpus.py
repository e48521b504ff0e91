"""How many threads an inference gets on this device: one per physical core the process may run on.

Every runtime the harness times gets this count, so their latencies compare like for like. Left to
itself each runtime picks differently: TVM's thread pool (and DLR's, which is TVM's) takes half of
``std::thread::hardware_concurrency()`` on x86_64 to skip hyper-threads (apache/tvm
src/runtime/threading_backend.cc, ``MaxConcurrency``), so on a machine or VM without SMT it uses half
the cores, while ONNX Runtime takes one thread per physical core. ``TVM_NUM_THREADS`` overrides TVM's
choice; the count here is what MetaSchedule's ``num-cores`` and the tuning runner's pool use too.

Run as a script, prints the count (``hil tune --device`` asks a board this way).
"""

from __future__ import annotations

import os

SYSFS = "/sys/devices/system/cpu"


def physical_cores(cpus: set[int] | None = None, sysfs: str = SYSFS) -> int:
    """Physical cores among ``cpus`` (default: this process's affinity): SMT siblings count once; a CPU
    whose topology cannot be read counts as a core of its own."""
    if cpus is None:
        cpus = os.sched_getaffinity(0)
    cores = set()
    for cpu in cpus:
        try:
            with open(f"{sysfs}/cpu{cpu}/topology/thread_siblings_list") as f:
                cores.add(f.read().strip())
        except OSError:
            cores.add(f"cpu{cpu}")
    return max(1, len(cores))


def tvm_threads(threads: int = 0) -> int:
    """Give TVM's (DLR's) thread pool ``threads`` threads; with 0, keep a ``TVM_NUM_THREADS`` the user set,
    else one per physical core. Call before the first inference: the pool reads the variable when it starts.
    Returns the count in effect."""
    if not threads:
        given = os.environ.get("TVM_NUM_THREADS", "")
        threads = int(given) if given.isdigit() and int(given) > 0 else physical_cores()
    os.environ["TVM_NUM_THREADS"] = str(threads)
    return threads


if __name__ == "__main__":
    print(physical_cores())

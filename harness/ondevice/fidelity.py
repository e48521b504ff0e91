"""What the bench agent's own timing costs, measured on the device (benchmarks/bench_fidelity.py).

``fidelity.py bare MODEL_DIR RUNS WARMUP SHAPE``: nothing but the clock around DLR's run() on random
float32 data of SHAPE (``1,3,224,224``); prints ``{"p50_ms": …}``.
``fidelity.py null COUNT``: the agent's single-stream loop around a no-op, i.e. what timing one query
costs; prints ``{"p50_us": …, "max_us": …}``.
"""

from __future__ import annotations

import json
import sys
import time
from argparse import Namespace

try:  # imported from the host as harness.ondevice.fidelity
    from . import agent
except ImportError:  # run on the device as a script: agent.py is shipped beside it
    import agent  # type: ignore[no-redef]


def bare(model_dir: str, runs: int, warmup: int, shape: list[int]) -> dict[str, float]:
    agent.cpus.tvm_threads(agent.cpus.physical_cores())  # the agent's count
    import dlr
    import numpy as np

    m = dlr.DLRModel(model_dir, "cpu", 0)
    feed = {m.get_input_names()[0]: np.random.default_rng(0).standard_normal(shape).astype("float32")}
    for _ in range(warmup):
        m.run(feed)
    clock, run, times = time.perf_counter_ns, m.run, []
    for _ in range(runs):
        t = clock()
        run(feed)
        times.append(clock() - t)
    times.sort()
    return {"p50_ms": times[len(times) // 2] / 1e6}


def null(count: int) -> dict[str, float]:
    ns = Namespace(warmup_count=100, warmup_seconds=0.0, min_count=count, min_seconds=0.0, max_seconds=60.0)
    samples = sorted(agent.single_stream(lambda: None, ns)["samples_ns"])
    return {"p50_us": samples[len(samples) // 2] / 1e3, "max_us": samples[-1] / 1e3}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["bare"] and len(args) == 5:
        out = bare(args[1], int(args[2]), int(args[3]), [int(n) for n in args[4].split(",")])
    elif args[:1] == ["null"] and len(args) == 2:
        out = null(int(args[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Allocate a float32 input batch of at least N bytes, touching every page, as a batch job would.

``alloc.py N``: under a cgroup memory limit below N the kernel's OOM killer ends it (SIGKILL, 137).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    size = int((argv if argv is not None else sys.argv[1:])[0])
    n = size // (3 * 224 * 224 * 4) + 1
    batch = np.ones((n, 3, 224, 224), dtype="float32")
    print("allocated", batch.nbytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

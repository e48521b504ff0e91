"""A respawning supervisor for the nucleus (what systemd's Restart=on-failure does on a real core).

A nucleus that dies by a signal or a non-zero exit is started again (without GG_CRASH_AT, so a test's
crash fires once); SIGTERM is forwarded and ends both. Gives up after `--max-restarts` within a minute.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="greengrass-supervisor", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("GG_ROOT", "/greengrass/v2")))
    parser.add_argument("--max-restarts", type=int, default=10)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    stopping = False
    child: subprocess.Popen | None = None

    def on_term(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    restarts: list[float] = []
    with open(root / "logs" / "loader.log", "ab") as out:
        while True:
            child = subprocess.Popen([sys.executable, "-m", "simulators.greengrass.nucleus", "--root", str(root)],
                                     env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
            rc = child.wait()
            if stopping or rc == 0:
                return 0
            env.pop("GG_CRASH_AT", None)
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            out.write(f"nucleus exited with {rc}; restart {len(restarts)}\n".encode())
            out.flush()
            if len(restarts) > args.max_restarts:
                out.write(b"too many nucleus restarts within a minute; giving up\n")
                return 1
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())

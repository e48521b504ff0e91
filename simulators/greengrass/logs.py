"""greengrass.log and <component>.log lines in the nucleus's format, so log readers work on both."""

from __future__ import annotations

import threading
import time
from pathlib import Path


def _stamp() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


class LogFile:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def write(self, level: str, logger: str, event: str, message: str = "", **context: object) -> None:
        ctx = ", ".join(f"{k}={v}" for k, v in context.items())
        line = (f"{_stamp()} [{level}] ({threading.current_thread().name}) {logger}: {event}."
                f"{' ' + message + '.' if message else ''} {{{ctx}}}\n")
        with self._lock, open(self._path, "a", encoding="utf-8") as f:
            f.write(line)


class Logs:
    """One greengrass.log plus a log file per component under <root>/logs."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "logs"
        self.main = LogFile(self.dir / "greengrass.log")
        self._components: dict[str, LogFile] = {}
        self._lock = threading.Lock()

    def component(self, name: str) -> LogFile:
        with self._lock:
            if name not in self._components:
                self._components[name] = LogFile(self.dir / f"{name}.log")
            return self._components[name]

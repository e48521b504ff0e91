"""Commands on the lab controller itself (apt-get, debootstrap, pip download, g++ …), bounded and typed.

One runner: a timeout, a missing program or a non-zero exit becomes the caller's error class
naming the step, quoting the last lines the command printed (where its reason usually is).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.errors import FailureClass, HilError, LabError


def tail(text: str, lines: int = 3) -> str:
    """The last non-empty lines of a command's output on one line, or ``(no output)``."""
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


def run_controller(argv: Sequence[str], timeout: float, *, step: str,
                   failure_class: FailureClass = FailureClass.HOST_SETUP, advice: str | None = None,
                   error: type[HilError] = LabError, env: Mapping[str, str] | None = None,
                   cwd: Path | None = None, stdin: bytes | None = None) -> str:
    """Run ``argv`` on the controller and return its stdout.

    Raises ``error`` (a HilError subclass) naming ``step``: TIMEOUT when it runs past ``timeout``
    (it is killed), ``failure_class`` when the program is missing or exits non-zero.
    """
    argv = [str(a) for a in argv]
    line = shlex.join(argv)
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, input=stdin, cwd=cwd,
                              env=None if env is None else {**os.environ, **env}, check=False)
    except subprocess.TimeoutExpired:
        raise error(f"`{line}` did not finish in {timeout:g} s", step=step, failure_class=FailureClass.TIMEOUT,
                    advice=advice) from None
    except FileNotFoundError:
        raise error(f"`{argv[0]}` is not installed", step=step, failure_class=failure_class,
                    advice=advice or "as root, `./dev setup` (or `hil lab up`) installs what the lab needs") from None
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    if proc.returncode:
        raise error(f"`{line}` exited {proc.returncode}: {tail(err or out)}", step=step,
                    failure_class=failure_class, advice=advice)
    return out

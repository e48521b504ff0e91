"""The one way device code (harness.ondevice) reaches a device: its files, uploaded once per digest.

A board has no image of ours, so nothing may rely on one: the package's files are uploaded through
the device's own transport into ``$XDG_CACHE_HOME/hil/ondevice/<digest>`` (``~/.cache`` by default;
private, 0700, created under ``umask 077``) and run from there with the device's Python. A second
run with the same code finds the directory complete and uploads nothing; changed code has another
digest, so a stale copy is never run; copies unused for KEEP_DAYS are removed. Greengrass
components carry the same files as their artifacts (:func:`device_files`), because a component runs
as its own user, who cannot read the login user's cache.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FailureClass, TransportError
from harness.ondevice import __file__ as _package_init
from harness.primitives.digest import sha256_file, stable_key
from harness.transport.base import Transport

PACKAGE = Path(_package_init).parent
#: Marks a complete copy; written last, so an upload cut halfway is never taken for one.
COMPLETE = ".complete"
#: Copies of other versions not used for this long are removed when a new version is published
#: (each use touches its copy's directory).
KEEP_DAYS = 14
STEP_TIMEOUT = 30.0
UPLOAD_TIMEOUT = 120.0


def device_files() -> list[Path]:
    """The package's modules, the files every device copy holds (flat: a module runs with its siblings).

    ``__init__.py`` stays on the host: a flat copy is no package, and Greengrass artifact names may
    not start with an underscore.
    """
    return sorted(p for p in PACKAGE.glob("*.py") if p.is_file() and p.name != "__init__.py")


def code_digest() -> str:
    """16 hex digits naming this version of the device code (names and contents of every file)."""
    return stable_key({p.name: sha256_file(p) for p in device_files()}, 16)


def script(module: str) -> Path:
    """The host path of one device module (``component`` → harness/ondevice/component.py)."""
    path = PACKAGE / f"{module}.py"
    if not path.is_file():
        raise ValueError(f"harness.ondevice has no module {module!r}")
    return path


def component_artifacts(module: str = "component") -> tuple[Path, list[Path]]:
    """A Greengrass component's script and the rest of the device code, its other artifacts."""
    main = script(module)
    return main, [p for p in device_files() if p != main]


@dataclass(frozen=True)
class Shipped:
    """Where the device code sits on one device."""

    directory: str
    digest: str
    uploaded: bool  # False: this version was already there

    def argv(self, python: str, module: str, *args: str) -> list[str]:
        """The command that runs ``module`` with the device's ``python``."""
        script(module)
        return [python, f"{self.directory}/{module}.py", *args]


_PREPARE = """set -eu
umask 077
cache="${{XDG_CACHE_HOME:-${{HOME:?no HOME for the device code cache}}/.cache}}/hil/ondevice"
final="$cache/{digest}"
if [ -f "$final/{complete}" ]; then touch "$final"; echo "have $final"; exit 0; fi
mkdir -p "$cache"
echo "new $final $(mktemp -d "$cache/.{digest}.XXXXXXXX")"
"""
# Another process may have published the same digest meanwhile: then its copy is kept and ours dropped
# (a copy in use is never replaced). A directory of that name without the mark is no copy: replaced.
_PUBLISH = r"""set -eu
touch "$2/{complete}"
[ -e "$1" ] || mv "$2" "$1"
if [ ! -f "$1/{complete}" ]; then rm -rf -- "$1"; mv "$2" "$1"; fi
rm -rf -- "$2"
find "${{1%/*}}" -mindepth 1 -maxdepth 1 -mtime +{keep_days} ! -path "$1" -exec rm -rf {{}} \; 2>/dev/null || true
"""


def ship(transport: Transport) -> Shipped:
    """Make this version of harness.ondevice present on the device behind ``transport``.

    Raises TransportError (step ``ship device code``) when the device cannot hold it; CommandTimeout
    and DeviceUnreachable come from the transport.
    """
    digest = code_digest()
    step = "ship device code"
    out = transport.check(["sh", "-c", _PREPARE.format(digest=digest, complete=COMPLETE)],
                          timeout=STEP_TIMEOUT, step=step).stdout.split()
    if len(out) == 2 and out[0] == "have":
        return Shipped(out[1], digest, uploaded=False)
    if len(out) != 3 or out[0] != "new":
        raise TransportError(f"unexpected answer while preparing the device code cache: {' '.join(out)[:200]!r}",
                             device=transport.device, step=step, failure_class=FailureClass.COMMAND)
    final, tmp = out[1], out[2]
    try:
        for path in device_files():
            transport.put(path, f"{tmp}/{path.name}", timeout=UPLOAD_TIMEOUT)
        transport.check(["sh", "-c", _PUBLISH.format(complete=COMPLETE, keep_days=KEEP_DAYS), "publish", final, tmp],
                        timeout=STEP_TIMEOUT, step=step)
    except BaseException:
        try:
            transport.run(f"rm -rf -- {shlex.quote(tmp)}", timeout=STEP_TIMEOUT)
        except TransportError:
            pass  # the upload's own error is the one to report
        raise
    return Shipped(final, digest, uploaded=True)

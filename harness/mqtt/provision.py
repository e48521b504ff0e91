"""``hil lab provision DEVICE [--force]``: a board's thing certificate, key, CA and broker endpoint,
installed where its Greengrass keeps them.

The paths come from the nucleus's effective configuration (``<root>/config/effectiveConfig.yaml``,
``system.certificateFilePath`` / ``privateKeyPath`` / ``rootCaPath``, as aws-greengrass-nucleus writes it),
else the defaults under the Greengrass root. A file that exists with other content is the user's: it is
left alone unless ``--force``, and then kept beside it as ``<file>.hil-backup``. Every change is printed,
with the command that undoes it. As root, the key is root:<component_group> 0640 where that group exists
(default ggc_group): the components read it, the login user does not.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from harness.errors import FailureClass, LabError
from harness.greengrass.privilege import greengrass_root
from harness.primitives.scratch import make_scratch

if TYPE_CHECKING:
    from harness.lab.device import Device
    from harness.mqtt.lab import LabIoT

STEP = "iot provision"
BACKUP = ".hil-backup"
#: The group Greengrass runs components under (its default ``runWithDefault.posixUser`` is ggc_user:ggc_group).
COMPONENT_GROUP = "ggc_group"
_SETTINGS = (("certificateFilePath", "thingCert.crt", "0644"), ("privateKeyPath", "privKey.key", "0600"),
             ("rootCaPath", "rootCA.pem", "0644"))

#: $1 staging dir, $2 force (0/1), $3 the components' group, then triples: staged name, destination, mode.
#: Prints one line per file: CONFLICT, SAME, NEW or REPLACED (the old file kept as <dst>.hil-backup);
#: exits 3 on a conflict.
_INSTALL = """set -eu
src=$1; force=$2; group=$3; shift 3
conflict=0
check() { while [ $# -ge 3 ]; do
  if [ -e "$2" ] && ! cmp -s "$src/$1" "$2" && [ "$force" != 1 ]; then echo "CONFLICT $2"; conflict=1; fi
  shift 3; done; }
check "$@"
if [ "$conflict" = 1 ]; then rm -rf "$src"; exit 3; fi
while [ $# -ge 3 ]; do
  name=$1; dst=$2; mode=$3; shift 3
  if [ -e "$dst" ] && cmp -s "$src/$name" "$dst"; then echo "SAME $dst"; continue; fi
  if [ -e "$dst" ]; then cp -p "$dst" "$dst.hil-backup"; state=REPLACED; else state=NEW; fi
  install -d "$(dirname "$dst")"
  install -m "$mode" "$src/$name" "$dst"
  if [ "$name" = privKey.key ] && [ "$(id -u)" = 0 ] && getent group "$group" >/dev/null; then
    chgrp "$group" "$dst"; chmod 0640 "$dst"
  fi
  echo "$state $dst"
done
rm -rf "$src"
"""


@dataclass(frozen=True)
class Change:
    """One file on the device: NEW, REPLACED (backup kept), SAME or CONFLICT, and how to undo it."""

    state: str
    path: str

    @property
    def undo(self) -> str | None:
        if self.state == "NEW":
            return f"rm {shlex.quote(self.path)}"
        if self.state == "REPLACED":
            return f"mv {shlex.quote(self.path + BACKUP)} {shlex.quote(self.path)}"
        return None


def effective_config(device: Device, timeout: float = 30) -> dict[str, object]:
    """The nucleus's effective configuration (``<root>/config/effectiveConfig.yaml``, written by
    aws-greengrass-nucleus Kernel.writeEffectiveConfig), or {} where it cannot be read (an emulated core
    has only config.yaml)."""
    config = f"{greengrass_root(device.features)}/config/effectiveConfig.yaml"
    result = device.transport.run([*device.root_prefix, "cat", config], timeout=timeout)
    if not result.ok:
        return {}
    try:
        loaded = yaml.safe_load(result.stdout) or {}
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def destinations(device: Device, timeout: float = 30, config: dict[str, object] | None = None) -> dict[str, str]:
    """Staged name → path on the device: from its effective configuration where it can be read
    (``system.certificateFilePath``, ``privateKeyPath``, ``rootCaPath``: DeviceConfiguration.java)."""
    root = greengrass_root(device.features)
    config = effective_config(device, timeout) if config is None else config
    system = config.get("system")
    system = system if isinstance(system, dict) else {}
    paths = {name: str(system.get(key) or f"{root}/{name}") for key, name, _ in _SETTINGS}
    paths["iot-endpoint"] = f"{root}/iot-endpoint"
    return paths


def provision(device: Device, iot: LabIoT, endpoint: tuple[str, int], *, force: bool = False,
              timeout: float = 60) -> list[Change]:
    """Install ``device``'s thing certificate, key, the lab CA and ``endpoint``; returns what changed.

    Raises LabError (naming the files) when a file holds other content and ``force`` is not given.
    """
    creds = iot.device_credentials(device.name)
    staging = iot.directory / "staging" / device.name
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "iot-endpoint").write_text(f"{endpoint[0]}:{endpoint[1]}\n")
    local = {"thingCert.crt": creds.cert, "privKey.key": creds.key, "rootCA.pem": creds.ca,
             "iot-endpoint": staging / "iot-endpoint"}
    modes = {name: mode for _, name, mode in _SETTINGS} | {"iot-endpoint": "0644"}
    paths = destinations(device)
    remote = make_scratch(device.transport, "provision")  # the install script removes it
    for name, path in local.items():
        device.transport.put(Path(path), f"{remote}/{name}", timeout=timeout)
    args = [word for name in local for word in (name, paths[name], modes[name])]
    group = device.features.get("component_group") or COMPONENT_GROUP
    result = device.transport.run([*device.root_prefix, "sh", "-c", _INSTALL, "provision", remote,
                                   "1" if force else "0", group, *args], timeout=timeout)
    changes = [Change(*line.split(" ", 1)) for line in result.stdout.splitlines() if " " in line]
    conflicts = [c.path for c in changes if c.state == "CONFLICT"]
    if conflicts:
        raise LabError(f"{len(conflicts)} file(s) on the device hold other content: {', '.join(conflicts)}",
                       device=device.name, step=STEP, failure_class=FailureClass.INVENTORY,
                       advice="they are the device's own: pass --force to replace them (each is kept as "
                              f"<file>{BACKUP})")
    if not result.ok:
        raise LabError(f"installing the certificates failed (exit {result.exit_status}): "
                       f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}", device=device.name,
                       step=STEP, failure_class=FailureClass.COMMAND,
                       advice="the device user needs passwordless sudo, or set `sudo: no` for a writable root")
    return changes

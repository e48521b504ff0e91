"""A device of the lab as tests see it: a name, its type, and a transport that reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from harness.greengrass.privilege import for_user, root_prefixes
from harness.lab.inventory import DeviceSpec
from harness.lab.profiles import Profile
from harness.transport.base import Transport

UNAME_TIMEOUT = 15.0
#: The emulated cores' interpreter with DLR, ONNX Runtime, numpy, OpenCV and awscrt; a board names its
#: own with the lab file's ``python`` feature.
DEVICE_PYTHON = "/opt/hil/venv/bin/python"


@dataclass
class Device:
    spec: DeviceSpec
    profile: Profile
    transport: Transport
    #: The hostspec the transport uses, e.g. ssh://hil@10.213.7.2:22.
    connection: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def emulated(self) -> bool:
        return self.spec.emulated

    @property
    def features(self) -> dict[str, str]:
        """The device's features: its profile's, overridden key by key by the lab file's."""
        return {**self.profile.features, **self.spec.features}

    @property
    def python(self) -> str:
        """The interpreter that has the device's ML runtimes (``python`` feature, else DEVICE_PYTHON)."""
        return self.features.get("python") or DEVICE_PYTHON

    @cached_property
    def arch(self) -> str:
        """The machine as the device reports it (`uname -m`), never assumed from the profile."""
        return self.transport.check(["uname", "-m"], timeout=UNAME_TIMEOUT, step="uname").stdout.strip()

    @cached_property
    def root_prefix(self) -> tuple[str, ...]:
        """What runs a command as root on the device (harness.greengrass.privilege decides); the user id, where
        the decision needs it, is asked once per device handle."""
        return tuple(for_user(root_prefixes(self.features), self.transport))

    def __repr__(self) -> str:
        return f"Device({self.name!r}, profile={self.profile.name!r}, {self.connection})"

"""How root-only Greengrass steps run on a device: one decision for the client, the health check and provisioning.

On a real core (and an emulated one) the CLI's socket, the logs and the certificates are root-only. A device's
features (profile, then lab file) decide: ``greengrass_cli`` is the whole CLI invocation, shell-quoted, taken
as given; ``sudo`` (yes/no) says whether root-only steps go through ``sudo -n``; without it the device decides
by its user id: root runs them directly, any other user through ``sudo -n`` (docs/boards.md).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from harness.transport.base import Transport

DEFAULT_ROOT = "/greengrass/v2"
SUDO = ["sudo", "-n"]
USER_ID_TIMEOUT = 15.0
_YES, _NO = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def greengrass_root(features: Mapping[str, str]) -> str:
    """The nucleus's root directory on the device (``greengrass_root``, else /greengrass/v2), no trailing ``/``."""
    return (features.get("greengrass_root") or DEFAULT_ROOT).rstrip("/") or "/"


def root_prefixes(features: Mapping[str, str]) -> tuple[list[str], list[str] | None]:
    """(prefix as root, prefix otherwise): the second is None when the ``sudo`` feature decides for every user."""
    wanted = (features.get("sudo") or "").strip().lower()
    if wanted in _YES:
        return list(SUDO), None
    if wanted in _NO:
        return [], None
    return [], list(SUDO)


def cli_invocations(features: Mapping[str, str]) -> tuple[list[str], list[str] | None]:
    """The CLI invocation as root and otherwise, as :func:`root_prefixes` pairs them."""
    if features.get("greengrass_cli"):
        return shlex.split(features["greengrass_cli"]), None
    cli = f"{greengrass_root(features)}/bin/greengrass-cli"
    as_root, otherwise = root_prefixes(features)
    return [*as_root, cli], None if otherwise is None else [*otherwise, cli]


def for_user(pair: tuple[list[str], list[str] | None], transport: Transport) -> list[str]:
    """The member of ``pair`` for the device's login user: its user id is asked only when the pair needs it."""
    as_root, otherwise = pair
    if otherwise is None:
        return as_root
    uid = transport.check(["id", "-u"], timeout=USER_ID_TIMEOUT, step="device user").stdout.strip()
    return as_root if uid == "0" else otherwise

"""Import an IDT for AWS IoT Greengrass V2 ``device.json`` (device pools) into a lab file.

IDT's pool features (arch, ml, docker, ...) become device features; the pool's ``arch`` picks a
default profile. A password is never copied: the lab file names an environment variable instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InventoryError
from harness.lab.schema import validation_message

#: IDT's arch feature → the profile a device of that arch gets unless the user names one.
DEFAULT_PROFILES = {"x86_64": "ml_c5", "aarch64": "rasp4b", "armv7l": "rasp3b"}


class _IDT(BaseModel):
    model_config = ConfigDict(extra="allow")  # IDT grows keys between releases; unknown ones are ignored


class IdtCredentials(_IDT):
    user: str
    privKeyPath: str | None = None
    password: str | None = None


class IdtAuth(_IDT):
    method: Literal["pki", "password"]
    credentials: IdtCredentials


class IdtConnectivity(_IDT):
    protocol: Literal["ssh"]
    ip: str
    port: int = Field(default=22, ge=1, le=65535)
    auth: IdtAuth


class IdtDevice(_IDT):
    id: str
    operatingSystem: str = "Linux"
    connectivity: IdtConnectivity


class IdtFeature(_IDT):
    name: str
    value: str


class IdtPool(_IDT):
    id: str
    sku: str | None = None
    features: list[IdtFeature] = Field(default_factory=list)
    devices: list[IdtDevice] = Field(min_length=1)


def _device_name(raw: str, source: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "-", raw).strip("-")[:63]
    if not name:
        raise InventoryError(f"{source}: device id {raw!r} has no usable characters for a device name")
    return name


def import_idt(text: str, source: str = "device.json", lab_name: str = "idt",
               profile: str | None = None) -> dict[str, object]:
    """The lab document (a dict, ready for YAML) for the pools in an IDT device.json."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InventoryError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise InventoryError(f"{source}: expected a list of device pools, got {type(data).__name__}")
    devices: list[dict[str, object]] = []
    for index, raw_pool in enumerate(data):
        try:
            pool = IdtPool.model_validate(raw_pool)
        except ValidationError as exc:
            raise InventoryError(f"{source}: pool {index}: {validation_message(exc, raw_pool)}") from None
        features = {f.name: f.value for f in pool.features}
        arch = features.get("arch", "")
        chosen = profile or DEFAULT_PROFILES.get(arch)
        if chosen is None:
            raise InventoryError(f"{source}: pool {pool.id!r}: arch {arch!r} has no default profile "
                                 f"(known: {', '.join(DEFAULT_PROFILES)}); pass --profile")
        for dev in pool.devices:
            conn = dev.connectivity
            name = _device_name(dev.id, source)
            host = f"[{conn.ip}]" if ":" in conn.ip else conn.ip
            credentials: dict[str, object] = {}
            if conn.auth.method == "pki":
                if not conn.auth.credentials.privKeyPath:
                    raise InventoryError(f"{source}: device {dev.id!r}: auth method pki needs privKeyPath")
                credentials["key"] = conn.auth.credentials.privKeyPath
            else:
                credentials["password_env"] = "HIL_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
            credentials["known_hosts"] = str(Path("~/.ssh/known_hosts"))
            devices.append({
                "name": name, "profile": chosen,
                "connection": f"ssh://{conn.auth.credentials.user}@{host}:{conn.port}",
                "credentials": credentials,
                "features": {k: v for k, v in features.items() if k != "arch"} | {"idt_pool": pool.id},
            })
    if not devices:
        raise InventoryError(f"{source}: no devices in any pool")
    return {"lab": lab_name, "devices": devices}


def to_yaml(document: dict[str, object]) -> str:
    return yaml.safe_dump(document, sort_keys=False)

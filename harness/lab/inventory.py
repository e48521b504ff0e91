"""The lab file: which devices exist, how to reach them, what type each one is.

Validated as a whole before anything acts on it: an unknown key, a bad hostspec, a missing key
file, an unknown profile or a duplicate name is one line naming the file, the device and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.errors import InventoryError
from harness.lab.idt import import_idt, to_yaml
from harness.lab.paths import DEFAULT_LAB_FILE
from harness.lab.profiles import Budgets, Profile, load_profiles
from harness.lab.schema import NAME_PATTERN, load_yaml_model
from harness.records import secret_env
from harness.transport.hostspec import HostSpecError, parse_hostspec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(_Strict):
    key: Path | None = None
    #: Name of an environment variable holding the password: secrets stay out of lab files.
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    known_hosts: Path | None = None
    auto_add_host_key: bool = False


class LabgridPlace(_Strict):
    """A board behind a labgrid coordinator: the place to acquire for the session, and how long to wait."""

    place: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    coordinator: str = Field(pattern=r"^[A-Za-z0-9.\[\]:-]+$")  # HOST:PORT of labgrid-coordinator
    wait_s: float = Field(default=60.0, ge=0)

    def hostspec(self) -> str:
        return f"labgrid://{self.coordinator}?place={self.place}&wait_s={self.wait_s:g}"


class DeviceSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    profile: str = Field(pattern=NAME_PATTERN)
    #: Hostspec of a real device; emulated cores get theirs when the lab starts them.
    connection: str | None = None
    emulated: bool = False
    #: For emulated cores, how the harness reaches them: OpenSSH (like a board) or docker exec.
    transport: str = Field(default="ssh", pattern=r"^(ssh|docker)$")
    #: Emulated image options, e.g. {runtime: tvm-0.26} for a core whose DLR lags the compiler.
    image: dict[str, str] = Field(default_factory=dict)
    credentials: Credentials = Credentials()
    features: dict[str, str] = Field(default_factory=dict)
    #: Over the profile's budgets for this device (e.g. a slower board of the same type).
    budgets: Budgets = Budgets()
    #: Instead of `connection`: a labgrid place, acquired for the run (the connection is made from it).
    labgrid: LabgridPlace | None = None

    @model_validator(mode="before")
    @classmethod
    def _place_connection(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("labgrid") is not None:
            if data.get("connection"):
                raise ValueError("`labgrid` and `connection` exclude each other: the place says where the board is")
            data = {**data, "connection": LabgridPlace.model_validate(data["labgrid"]).hostspec()}
        return data

    @field_validator("connection")
    @classmethod
    def _hostspec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_hostspec(value)
            except HostSpecError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("image")
    @classmethod
    def _image_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.isidentifier() or not key.islower():
                raise ValueError(f"image option {key!r} must be a lower-case identifier")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> DeviceSpec:
        if self.emulated and self.connection:
            raise ValueError("an emulated device gets its connection from the lab; remove `connection`")
        if not self.emulated and not self.connection:
            raise ValueError("a real device needs `connection` (e.g. ssh://user@host:22), or set emulated: true")
        return self


class EngineSpec(_Strict):
    #: A Docker engine the user already runs (e.g. unix:///var/run/docker.sock); unset → private dockerd.
    host: str | None = None
    #: How the cores are reached (harness.lab.reach): unset → ``published`` exactly when the engine's
    #: container addresses are not routable from this host (Desktop, rootless, remote), else ``routed``.
    reach: Literal["published", "routed"] | None = None


class IoTSpec(_Strict):
    """Where the devices' results go: the lab's own broker (``broker_address``/``port``: where boards reach
    the controller; unset for emulated-only labs: the lab network's gateway), or the user's own AWS IoT
    Core endpoint with their certificate, key and CA (paths only: the files are never copied into reports)."""

    broker_address: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    #: `host` (port 8883) or `host:port` of the account's IoT data endpoint (`aws iot describe-endpoint`).
    endpoint: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?$")
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint_port(cls, value: str | None) -> str | None:
        if value and ":" in value and not 0 < int(value.rsplit(":", 1)[1]) < 65536:
            raise ValueError(f"endpoint {value!r}: the port must be 1-65535")
        return value

    @model_validator(mode="after")
    def _one_destination(self) -> IoTSpec:
        own = (self.endpoint, self.cert, self.key, self.ca)
        if any(own) and not all(own):
            raise ValueError("an IoT Core endpoint needs endpoint, cert, key and ca together")
        if self.endpoint and self.broker_address:
            raise ValueError("broker_address (the lab's broker) and endpoint (IoT Core) exclude each other")
        return self


class LabSpec(_Strict):
    lab: str = Field(pattern=NAME_PATTERN)
    engine: EngineSpec = EngineSpec()
    iot: IoTSpec = IoTSpec()
    devices: list[DeviceSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> LabSpec:
        seen: set[str] = set()
        for device in self.devices:
            if device.name in seen:
                raise ValueError(f"duplicate device name {device.name!r}")
            seen.add(device.name)
        return self


class Lab(BaseModel):
    """A validated lab file with its profiles resolved and paths made absolute."""

    model_config = ConfigDict(frozen=True)

    source: Path
    spec: LabSpec
    profiles: dict[str, Profile]

    @property
    def name(self) -> str:
        return self.spec.lab

    def device(self, name: str) -> DeviceSpec:
        for device in self.spec.devices:
            if device.name == name:
                return device
        known = ", ".join(d.name for d in self.spec.devices)
        raise InventoryError(f"{self.source}: no device {name!r} (devices: {known})")

    def profile_of(self, device: DeviceSpec) -> Profile:
        return self.profiles[device.profile]


def _resolve(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else (base / path)


def check_files(spec: LabSpec, source: Path | str) -> LabSpec:
    """Key files must exist; known_hosts may be absent only where auto-add may create it."""
    base = Path(source).parent if isinstance(source, Path) else Path.cwd()
    devices = []
    for device in spec.devices:
        creds = device.credentials
        if creds.password_env:
            secret_env(creds.password_env)  # its value never reaches a report
        key = _resolve(creds.key, base)
        known_hosts = _resolve(creds.known_hosts, base)
        if key is not None and not key.is_file():
            raise InventoryError(f"{source}: device {device.name!r}: credentials.key: file not found: {key}")
        if known_hosts is not None and not known_hosts.is_file() and not creds.auto_add_host_key:
            raise InventoryError(f"{source}: device {device.name!r}: credentials.known_hosts: file not found: "
                                 f"{known_hosts} (create it with ssh-keyscan after verifying the key, "
                                 "or set auto_add_host_key: true)")
        devices.append(device.model_copy(update={
            "credentials": creds.model_copy(update={"key": key, "known_hosts": known_hosts})}))
    iot = spec.iot
    paths = {name: _resolve(getattr(iot, name), base) for name in ("cert", "key", "ca")}
    for name, path in paths.items():
        if path is not None and not path.is_file():
            raise InventoryError(f"{source}: iot.{name}: file not found: {path}")
    return spec.model_copy(update={"devices": devices, "iot": iot.model_copy(update=paths)})


def parse_lab(text: str, source: Path | str, profiles: dict[str, Profile]) -> Lab:
    spec = check_files(load_yaml_model(LabSpec, source, text), source)
    for device in spec.devices:
        profile = profiles.get(device.profile)
        if profile is None:
            raise InventoryError(f"{source}: device {device.name!r}: profile: unknown profile {device.profile!r} "
                                 f"(known: {', '.join(sorted(profiles))})")
        if device.emulated and profile.docker_arch is None:
            raise InventoryError(f"{source}: device {device.name!r}: emulated: profile {profile.name!r} is "
                                 f"{profile.arch}, which cannot be emulated here (amd64 and arm64 can)")
    return Lab(source=Path(source), spec=spec, profiles=profiles)


def load_lab(path: Path | str | None = None, profiles: dict[str, Profile] | None = None) -> Lab:
    """Load and validate a lab file (default: the embedded lab, devices/lab.yaml) or an IDT device.json."""
    path = Path(path) if path else DEFAULT_LAB_FILE
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read the lab file: {exc.strerror or exc}") from None
    if path.suffix == ".json":  # an IDT for Greengrass V2 device.json, used as it is
        text = to_yaml(import_idt(text, str(path), lab_name=path.stem if re.fullmatch(NAME_PATTERN, path.stem)
                                  else "idt"))
    return parse_lab(text, path, load_profiles() if profiles is None else profiles)

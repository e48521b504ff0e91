"""``labgrid://COORDINATOR:PORT?place=NAME``: a board behind a labgrid coordinator, reached over our own SSH.

For as long as the transport is open the place is acquired through labgrid's client API
(harness.transport.labgrid_client); the place's NetworkService resource (exported by the board's lab controller:
``address``, ``username``, ``port``, labgrid/resource/networkservice.py) says where the board is, and the
harness's SSH transport reaches it with the device's credentials, host keys checked. ``close()`` releases the
place; so does the interpreter's exit (after Ctrl-C, and after SIGTERM in a pytest session: the plugin turns it
into Ctrl-C, harness.pytest_plugin.interrupt). A place held by someone else is waited for up to ``wait_s``
(default 60 s), then the device is unavailable: "locked by USER since TIME".
The coordinator does not release a place whose holder died (SIGKILL): its owner releases it, or anyone with
``labgrid-client -p NAME release --kick``.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from harness.errors import FailureClass, TransportError
from harness.primitives.progress import TransferProgress
from harness.transport.base import DEFAULT_TIMEOUT, Command, CommandResult, Transport
from harness.transport.hostspec import HostSpec
from harness.transport.labgrid_client import DEFAULT_PORT, PlaceClient, place_info
from harness.transport.registry import TransportSpec, register, transport_for

DEFAULT_WAIT_S = 60.0


def coordinator_address(spec: TransportSpec) -> str:
    return f"{spec.hostspec.host}:{spec.hostspec.port or DEFAULT_PORT}"


def place_row(coordinator: str, place: str, device: str) -> dict[str, object]:
    """The `hil lab status` view of a place: coordinator, exporters, NetworkService address, lock owner."""
    info = place_info(coordinator, place, device)
    service = info.network_service or {}
    return {"place": place, "coordinator": coordinator, "exporters": list(info.exporters),
            "address": f"{service.get('username')}@{service.get('address')}:{service.get('port')}" if service else None,
            "locked_by": str(info.holder) if info.holder else None}


@register("labgrid")
class LabgridTransport(Transport):
    """Holds a labgrid place and reaches its board through the NetworkService over SSH."""

    def __init__(self, spec: TransportSpec) -> None:
        super().__init__(spec.device)
        self.spec = spec
        self.coordinator = coordinator_address(spec)
        self.place = spec.option("place") or ""
        if not self.place:
            raise TransportError("a labgrid:// hostspec needs ?place=NAME", device=spec.device,
                                 step="labgrid place", failure_class=FailureClass.INVENTORY)
        self.wait_s = float(spec.option("wait_s") or DEFAULT_WAIT_S)
        self._client: PlaceClient | None = None
        self._ssh: Transport | None = None

    @classmethod
    def from_spec(cls, spec: TransportSpec) -> LabgridTransport:
        return cls(spec)

    def __repr__(self) -> str:
        return f"LabgridTransport({self.device!r}, place {self.place} on {self.coordinator})"

    def board(self) -> Transport:
        """The SSH transport to the board, acquiring the place on first use."""
        if self._ssh is None:
            client = PlaceClient(self.coordinator, self.device)
            self._client = client  # from here on close() releases it, also if the acquire is interrupted
            atexit.register(self.close)
            try:
                client.acquire(self.place, self.wait_s)
                service = client.network_service(self.place)
                hostspec = HostSpec("ssh", str(service["address"]), service.get("username") or None,
                                    int(service.get("port") or 22))
                self._ssh = transport_for(TransportSpec(self.device, hostspec, self.spec.credentials))
            except BaseException:
                self.close()
                raise
        return self._ssh

    def run(self, command: Command, *, timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> CommandResult:
        return self.board().run(command, timeout=timeout, stdin=stdin, env=env)

    def put(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        self.board().put(local, remote, timeout=timeout, progress=progress)

    def get(self, remote: str, local: Path, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        self.board().get(remote, local, timeout=timeout, progress=progress)

    def close(self) -> None:
        """Close the SSH connection and release the place (the next use acquires it again)."""
        ssh, client, self._ssh, self._client = self._ssh, self._client, None, None
        if ssh is not None:
            ssh.close()
        if client is not None:
            try:
                client.release(self.place)
            finally:
                atexit.unregister(self.close)
                client.close()

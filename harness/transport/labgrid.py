"""``labgrid://COORDINATOR:PORT?place=NAME``: a board behind a labgrid coordinator, reached over our own SSH.

For as long as the transport lives the place is acquired through labgrid's client API (the gRPC client of
labgrid 24+: ``labgrid.remote.client.start_session``); the place's NetworkService resource (exported by the
board's lab controller: ``address``, ``username``, ``port``, labgrid/resource/networkservice.py) says where
the board is, and the harness's SSH transport reaches it with the device's credentials, host keys checked.
``close()`` releases the place; so does the interpreter's exit (also after Ctrl-C). A place held by someone
else is waited for up to ``wait_s`` (default 60 s), then the device is unavailable: "locked by USER since TIME".
The coordinator does not release a place whose holder died (SIGKILL): its owner releases it, or anyone with
``labgrid-client -p NAME release --kick``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import DeviceUnreachable, FailureClass, TransportError
from harness.primitives.deadline import Timeout
from harness.primitives.progress import TransferProgress
from harness.transport.base import DEFAULT_TIMEOUT, Command, CommandResult, Transport
from harness.transport.hostspec import HostSpec
from harness.transport.registry import TransportSpec, register, transport_for

DEFAULT_PORT = 20408  # labgrid-coordinator's default listening port
DEFAULT_WAIT_S = 60.0
POLL_S = 0.5  # place updates stream in from the coordinator between polls


class PlaceLocked(DeviceUnreachable):
    """The place stayed acquired by another user for the whole wait: the device is unavailable this run."""


@dataclass(frozen=True)
class Holder:
    """Who holds a place: labgrid's ``HOST/USER`` and the time the place last changed hands."""

    user: str
    host: str
    since: datetime

    def __str__(self) -> str:
        return f"locked by {self.user} (on {self.host}) since {self.since.isoformat(timespec='seconds')}"


@dataclass(frozen=True)
class PlaceInfo:
    """One place as `hil lab status` shows it: its exporters, holder and NetworkService."""

    name: str
    exporters: tuple[str, ...]
    holder: Holder | None
    network_service: dict[str, Any] | None


def coordinator_address(spec: TransportSpec) -> str:
    return f"{spec.hostspec.host}:{spec.hostspec.port or DEFAULT_PORT}"


#: One labgrid session per coordinator and process, shared by its places: the coordinator refuses a second
#: stream from the same peer, and grpc multiplexes a process's channels to one target over one connection.
_SESSIONS: dict[str, tuple[Any, int]] = {}


class PlaceClient:
    """A handle on the process's labgrid client session with one coordinator (the harness is synchronous)."""

    def __init__(self, coordinator: str, device: str) -> None:
        from labgrid.remote.client import ensure_event_loop, start_session  # only places need the package

        self.coordinator, self.device = coordinator, device
        # labgrid keeps one loop per thread (grpc.aio binds channels to it); sessions share it in turn.
        self.loop = ensure_event_loop()
        session, users = _SESSIONS.get(coordinator, (None, 0))
        if session is None:
            try:
                session = start_session(coordinator, loop=self.loop, extra={"args": argparse.Namespace(
                    allow_unmatched=False, kick=False, place=None)})
            except Exception as exc:  # noqa: BLE001 - labgrid raises ServerError, grpc and OS errors alike
                raise DeviceUnreachable(f"labgrid coordinator {coordinator}: {exc}", device=device,
                                        step="labgrid connect",
                                        advice="is labgrid-coordinator running there?") from None
        _SESSIONS[coordinator] = (session, users + 1)
        self.session = session
        self._open = True

    def _place(self, name: str) -> Any:
        place = self.session.places.get(name)
        if place is None:
            known = ", ".join(sorted(self.session.places)) or "none"
            raise TransportError(f"no labgrid place {name!r} on {self.coordinator} (places: {known})",
                                 device=self.device, step="labgrid place", failure_class=FailureClass.INVENTORY,
                                 advice="labgrid-client -p NAME create; labgrid-client -p NAME add-match ...")
        return place

    def holder(self, name: str) -> Holder | None:
        place = self._place(name)
        if not place.acquired:
            return None
        host, _, user = place.acquired.partition("/")
        return Holder(user, host, datetime.fromtimestamp(place.changed, UTC))

    def _sync(self) -> None:
        self.loop.run_until_complete(self.session.sync_with_coordinator())

    def acquire(self, name: str, wait_s: float) -> None:
        """Acquire ``name``; wait while another holds it, then PlaceLocked naming the holder."""
        from grpc.aio import AioRpcError
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        deadline = Timeout(wait_s)
        while True:
            holder = self.holder(name)
            if holder is None:
                try:
                    self.loop.run_until_complete(self.session.stub.AcquirePlace(pb2.AcquirePlaceRequest(
                        placename=name)))
                    self._sync()
                    return
                except AioRpcError:
                    self._sync()  # someone else won the race: wait for them like for any holder
                    holder = self.holder(name)
            if deadline.expired:
                raise PlaceLocked(f"labgrid place {name} {holder or 'could not be acquired'} (waited "
                                  f"{wait_s:g} s)", device=self.device, step="labgrid acquire",
                                  advice=f"labgrid-client -x {self.coordinator} who; wait for the holder, or raise "
                                         "wait_s")
            self.loop.run_until_complete(asyncio.sleep(min(POLL_S, max(deadline.remaining, 0.01))))

    def release(self, name: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        self.loop.run_until_complete(self.session.stub.ReleasePlace(pb2.ReleasePlaceRequest(placename=name)))
        self._sync()

    def network_service(self, name: str) -> dict[str, Any]:
        """address, username and port of the acquired place's NetworkService."""
        resources = self.session.get_target_resources(self._place(name))
        found = [{k: r.params.get(k) for k in ("address", "username", "port")}
                 for (_, cls), r in resources.items() if cls == "NetworkService"]
        if not found:
            raise TransportError(f"labgrid place {name} has no NetworkService resource", device=self.device,
                                 step="labgrid resources", failure_class=FailureClass.INVENTORY,
                                 advice="export NetworkService: {address, username, port} for the board and "
                                        "add-match it to the place")
        return found[0]

    def info(self, name: str) -> PlaceInfo:
        place = self._place(name)
        exporters = {path[0] for path in getattr(place, "acquired_resources", ()) or ()}
        service = None
        for exporter, groups in self.session.resources.items():
            for group, entries in groups.items():
                for rname, entry in entries.items():
                    if place.getmatch((exporter, group, entry.cls, rname)) is not None:
                        exporters.add(exporter)
                        if entry.cls == "NetworkService":
                            service = {k: entry.params.get(k) for k in ("address", "username", "port")}
        return PlaceInfo(name, tuple(sorted(exporters)), self.holder(name), service)

    def close(self) -> None:
        """Drop this handle; the last one closes the session."""
        if not self._open:
            return
        self._open = False
        session, users = _SESSIONS.pop(self.coordinator)
        if users > 1:
            _SESSIONS[self.coordinator] = (session, users - 1)
            return
        self.loop.run_until_complete(session.stop())
        self.loop.run_until_complete(session.close())


def place_info(coordinator: str, place: str, device: str) -> PlaceInfo:
    """A place's exporters, holder and NetworkService, without acquiring it."""
    client = PlaceClient(coordinator, device)
    try:
        return client.info(place)
    finally:
        client.close()


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
            try:
                client.acquire(self.place, self.wait_s)
            except BaseException:
                client.close()
                raise
            self._client = client
            atexit.register(self.close)
            service = client.network_service(self.place)
            hostspec = HostSpec("ssh", str(service["address"]), service.get("username") or None,
                                int(service.get("port") or 22))
            self._ssh = transport_for(TransportSpec(self.device, hostspec, self.spec.credentials))
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
            atexit.unregister(self.close)
            try:
                client.release(self.place)
            finally:
                client.close()

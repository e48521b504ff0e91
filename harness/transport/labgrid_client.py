"""The harness's handle on labgrid's client API: acquire, read, release a place, every call bounded.

labgrid's client (``labgrid.remote.client.ClientSession``, gRPC since labgrid 24) is asyncio and grpc.aio binds a
channel to the loop that made it, while the harness is synchronous and asks places from several threads (the
health check and ``hil lab status`` ask devices at once). So one event loop runs in a daemon thread of the process
and every thread hands it its calls, each with a timeout. One session per coordinator serves all of them: the
coordinator keys client streams by peer address and refuses a second from the same connection
(labgrid/remote/coordinator.py, ``ClientStream``: ``assert peer not in self.clients``).

A release asks the coordinator to release the place *only if we hold it* (``ReleasePlaceRequest.fromuser``,
labgrid/remote/coordinator.py ``ReleasePlace``; ``labgrid-client release-from``): a release after someone kicked
us, or one sent twice (the session's teardown, then the interpreter's exit), changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from harness.errors import DeviceUnreachable, FailureClass, TransportError
from harness.primitives.deadline import Timeout

DEFAULT_PORT = 20408  # labgrid-coordinator's default listening port
RPC_TIMEOUT_S = 30.0  # one coordinator round trip (connect, acquire, release, sync)
POLL_S = 0.5  # place updates stream in from the coordinator between polls
T = TypeVar("T")


class PlaceLocked(DeviceUnreachable):
    """The place stayed acquired by another user for the whole wait: the device is unavailable this run."""


@dataclass(frozen=True)
class Holder:
    """Who holds a place: labgrid's ``HOST/USER`` and the time the place last changed hands."""

    user: str
    host: str
    since: datetime

    def __str__(self) -> str:
        return f"locked by {self.user} since {self.since.isoformat(timespec='seconds')} (on {self.host})"


@dataclass(frozen=True)
class PlaceInfo:
    """One place as `hil lab status` shows it: its exporters, holder and NetworkService."""

    name: str
    exporters: tuple[str, ...]
    holder: Holder | None
    network_service: dict[str, Any] | None


class _LabgridLoop:
    """The process's asyncio loop for labgrid, in a daemon thread; ``call`` runs a coroutine there, bounded."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="labgrid-client", daemon=True).start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = RPC_TIMEOUT_S) -> T:
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self.loop)
        return future.result(timeout + 5)  # wait_for cancels it on the loop first

    def read(self, fn: Callable[[], T]) -> T:
        """``fn`` on the loop's thread: the session's place and resource maps change only there."""
        async def apply() -> T:
            return fn()
        return self.call(apply())


_LOOP: _LabgridLoop | None = None
#: One labgrid session per coordinator, shared by the process's places, with its number of open handles.
_SESSIONS: dict[str, tuple[Any, int]] = {}
_LOCK = threading.Lock()


def _loop() -> _LabgridLoop:
    global _LOOP
    if _LOOP is None:
        _LOOP = _LabgridLoop()
    return _LOOP


async def _start(coordinator: str, loop: asyncio.AbstractEventLoop) -> Any:
    """labgrid's ``start_session`` (labgrid/remote/client.py) on our running loop: it would run its own."""
    from labgrid.remote.client import ClientSession
    from labgrid.util.proxy import proxymanager

    address = proxymanager.get_grpc_address(coordinator, default_port=DEFAULT_PORT)
    session = ClientSession(address, loop, args=argparse.Namespace(allow_unmatched=False, kick=False, place=None))
    await session.start()
    return session


async def _stop(session: Any) -> None:
    await session.stop()
    await session.close()


class PlaceClient:
    """A handle on the process's labgrid session with one coordinator, for one device."""

    def __init__(self, coordinator: str, device: str) -> None:
        self.coordinator, self.device = coordinator, device
        self._lab = _loop()
        with _LOCK:
            session, users = _SESSIONS.get(coordinator, (None, 0))
            if session is None:
                try:
                    session = self._lab.call(_start(coordinator, self._lab.loop))
                except Exception as exc:  # noqa: BLE001 - labgrid raises ServerError, grpc, OS errors, timeouts
                    raise DeviceUnreachable(f"labgrid coordinator {coordinator}: {type(exc).__name__}: {exc}",
                                            device=device, step="labgrid connect",
                                            advice="is labgrid-coordinator running there?") from None
            _SESSIONS[coordinator] = (session, users + 1)
        self.session = session
        self.me = f"{session.gethostname()}/{session.getuser()}"  # labgrid's name of this client (LG_*)
        self._open = True

    def _place(self, name: str) -> Any:
        place = self._lab.read(lambda: self.session.places.get(name))
        if place is None:
            known = ", ".join(self._lab.read(lambda: sorted(self.session.places))) or "none"
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

    def _rpc(self, method: str, request: Any) -> None:
        """One request (made on the loop: grpc.aio calls belong to it), then labgrid's own sync, so the
        session's view of the places includes its effect."""
        async def both() -> None:
            await getattr(self.session.stub, method)(request, timeout=RPC_TIMEOUT_S)
            await self.session.sync_with_coordinator()
        self._lab.call(both())

    def acquire(self, name: str, wait_s: float) -> None:
        """Acquire ``name``; wait while another holds it, then PlaceLocked naming the holder."""
        from grpc.aio import AioRpcError
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        deadline = Timeout(wait_s)
        while True:
            holder = self.holder(name)
            if holder is None:
                try:
                    self._rpc("AcquirePlace", pb2.AcquirePlaceRequest(placename=name))
                    return
                except AioRpcError:
                    holder = self.holder(name)  # someone else won the race: wait for them like for any holder
            if deadline.expired:
                raise PlaceLocked(f"labgrid place {name} {holder or 'could not be acquired'} (waited "
                                  f"{wait_s:g} s)", device=self.device, step="labgrid acquire",
                                  advice=f"labgrid-client -x {self.coordinator} who; wait for the holder, or raise "
                                         "wait_s")
            time.sleep(min(POLL_S, max(deadline.remaining, 0.01)))

    def release(self, name: str) -> None:
        """Release ``name`` if this client holds it (else nothing changes)."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        self._rpc("ReleasePlace", pb2.ReleasePlaceRequest(placename=name, fromuser=self.me))

    def network_service(self, name: str) -> dict[str, Any]:
        """address, username and port of the acquired place's NetworkService."""
        place = self._place(name)
        resources = self._lab.read(lambda: self.session.get_target_resources(place))
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

        def matched() -> tuple[set[str], dict[str, Any] | None]:
            exporters = {path[0] for path in getattr(place, "acquired_resources", ()) or ()}
            service = None
            for exporter, groups in self.session.resources.items():
                for group, entries in groups.items():
                    for rname, entry in entries.items():
                        if place.getmatch((exporter, group, entry.cls, rname)) is not None:
                            exporters.add(exporter)
                            if entry.cls == "NetworkService":
                                service = {k: entry.params.get(k) for k in ("address", "username", "port")}
            return exporters, service

        exporters, service = self._lab.read(matched)
        return PlaceInfo(name, tuple(sorted(exporters)), self.holder(name), service)

    def close(self) -> None:
        """Drop this handle; the last one closes the session."""
        if not self._open:
            return
        self._open = False
        with _LOCK:
            session, users = _SESSIONS.pop(self.coordinator)
            if users > 1:
                _SESSIONS[self.coordinator] = (session, users - 1)
                return
            self._lab.call(_stop(session))


def place_info(coordinator: str, place: str, device: str) -> PlaceInfo:
    """A place's exporters, holder and NetworkService, without acquiring it."""
    client = PlaceClient(coordinator, device)
    try:
        return client.info(place)
    finally:
        client.close()

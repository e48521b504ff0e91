"""Lab bring-up as a state machine whose state is read back, and the controller that composes the lab's parts.

    down → host-ready → engine-up → images-ready → devices-up → ready

Each state has a cheap check ("does it still hold?") and an idempotent action. ``up()`` reads the
state a previous run reached, checks the reached states in order, and redoes only from the first
that no longer holds: a bring-up killed between two states resumes from the last one reached, and
``up()`` on a lab that is up only verifies it. A file lock keeps parallel test workers from racing.
"""

from __future__ import annotations

import fcntl
import os
import platform
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from harness.errors import FailureClass, HilError, LabError
from harness.lab import engine as engines
from harness.lab import hostsetup, images
from harness.lab.cores import DEVICE_USER, EmulatedCores, Published
from harness.lab.device import Device
from harness.lab.factory import DeviceFactory
from harness.lab.hostkeys import LabKeys
from harness.lab.inventory import DeviceSpec, Lab
from harness.lab.network import LabNetwork
from harness.lab.paths import state_dir
from harness.lab.reach import HOST_ALIAS, HOST_GATEWAY, Reach, ReachMode, choose, is_local_address
from harness.lab.state import LabState, StateFile, after, resume_point
from harness.lab.status import status
from harness.mqtt.lab import LabIoT, gateway_of
from harness.mqtt.route import ResultsRoute
from harness.primitives.progress import Say, quiet
from harness.transport.docker import DockerTransport

__all__ = ["DEVICE_USER", "BringUp", "LabController", "LabState"]


class BringUp:
    """The bring-up of one lab: for every state, ``holds`` (checked on resume) and ``enter`` (its action)."""

    def __init__(self, lab: LabController) -> None:
        self.lab = lab
        self.say = lab.say
        self.cores = lab.emulated
        self.need_arm64 = hostsetup.needs_arm64_emulation([lab.lab.profile_of(d).docker_arch for d in self.cores])
        self._inputs: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self.checks: dict[LabState, Callable[[], bool]] = {
            LabState.HOST_READY: lambda: hostsetup.host_ready(self.need_arm64),
            LabState.ENGINE_UP: lambda: engines.answers(lab.engine_url),
            LabState.IMAGES_READY: self._images_hold,
            LabState.DEVICES_UP: self._devices_hold,
            LabState.READY: self._ready_holds,
        }
        self.actions: dict[LabState, Callable[[], dict[str, object]]] = {
            LabState.HOST_READY: self._prepare_host,
            LabState.ENGINE_UP: self._start_engine,
            LabState.IMAGES_READY: self._build_images,
            LabState.DEVICES_UP: self._start_cores,
            LabState.READY: self._ready_cores,
        }

    def holds(self, state: LabState) -> bool:
        """True when ``state``'s outcome is still in place; any error while checking means it is not."""
        try:
            return bool(self.checks[state]())
        except (HilError, DockerException, OSError, KeyError, TypeError, ValueError):
            return False

    def run(self) -> LabState:
        """Resume from the last state that holds and enter every state after it."""
        reached = self.lab.state_file.state
        start = resume_point(reached, self.holds)
        if start is not LabState.DOWN:
            lost = f" ({after(start)[0]} no longer holds)" if start is not reached else ""
            self.say(f"lab {self.lab.lab.name}: resuming from {start}{lost}")
        elif reached is not LabState.DOWN:
            self.say(f"lab {self.lab.lab.name}: {reached} recorded, but the host set-up no longer holds: "
                     "starting over")
        for state in after(start):
            self.lab.state_file.enter(state, **self.actions[state]())
        return LabState.READY

    # -- host-ready, engine-up ----------------------------------------------------------------------
    def _prepare_host(self) -> dict[str, object]:
        hostsetup.prepare_host(self.need_arm64, self.say)
        return {}

    def _start_engine(self) -> dict[str, object]:
        if self.lab.private:
            self.lab.private_engine.start(self.say)
        self.lab.docker_client()
        return {}

    # -- images-ready -------------------------------------------------------------------------------
    def _image_inputs(self, device: DeviceSpec) -> str:
        key = (self.lab.lab.profile_of(device).docker_arch or "", tuple(sorted(device.image.items())))
        if key not in self._inputs:
            self._inputs[key] = images.sources_key(key[0], dict(key[1]))
        return self._inputs[key]

    def _build_images(self) -> dict[str, object]:
        client = self.lab.docker_client()
        built: dict[tuple[str, str], str] = {}
        tags, inputs = {}, {}
        for device in self.cores:
            arch = self.lab.lab.profile_of(device).docker_arch or ""
            key = (arch, repr(sorted(device.image.items())))
            if key not in built:  # cores of one arch and image options share their image
                built[key] = images.ensure_core(client, arch, dict(device.image), self.say)
            tags[device.name], inputs[device.name] = built[key], self._image_inputs(device)
        return {"images": tags, "image_inputs": inputs}

    def _images_hold(self) -> bool:
        data = self.lab.state_file.data
        client = self.lab.docker_client()
        for device in self.cores:
            if data["image_inputs"].get(device.name) != self._image_inputs(device):
                return False
            try:
                client.images.get(data["images"][device.name])
            except ImageNotFound:
                return False
        return True

    # -- devices-up ---------------------------------------------------------------------------------
    def _start_cores(self) -> dict[str, object]:
        client = self.lab.docker_client()
        self.lab.network.ensure(client, self.say)
        pub = self.lab.keys.public_key()
        tags = self.lab.state_file.data["images"]
        published = self.lab.published()
        self.say(f"lab {self.lab.lab.name}: cores reached {self.lab.reach.describe()}")
        for device in self.cores:
            self.lab.cores.ensure(client, device, tags[device.name], pub, self.say, published)
        return {}

    def _devices_hold(self) -> bool:
        if not self.lab.keys.key_file.exists():
            return False
        client = self.lab.docker_client()
        pub = self.lab.keys.public_key()
        tags = self.lab.state_file.data["images"]
        if not self.lab.network.exists(client):
            return False
        published = self.lab.published()
        return all(self.lab.cores.running_as(client, device, tags[device.name], pub, published)
                   for device in self.cores)

    # -- ready --------------------------------------------------------------------------------------
    def _ready_cores(self) -> dict[str, object]:
        client = self.lab.docker_client()
        # The lab's IoT Core stand-in (mosquitto, mutual TLS) on loopback and where the cores reach the host.
        if self.lab.published() is None:
            endpoint = self.lab.iot.start(gateway_of(self.lab.network.attrs(client)))
        else:  # listen where host.docker.internal leads, when that is an address of this host
            alias = self.lab.cores.host_alias(self.cores[0])
            endpoint = self.lab.iot.start(alias if alias and is_local_address(alias) else None,
                                          cores_host=HOST_ALIAS)
        for device in self.cores:
            sshd = self.lab.cores.await_sshd(client, device)
            self.lab.keys.pin(sshd.known_hosts_name, self.lab.cores.host_key(device))
            self.lab.iot.provision(self.lab.cores.engine_transport(device), device.name, endpoint)
            self.lab.cores.check_nucleus(device, self.lab.lab.profile_of(device))
        return {}

    def _ready_holds(self) -> bool:
        client = self.lab.docker_client()
        endpoint = self.lab.iot.cores_endpoint()
        if endpoint is None or not self.lab.iot.current():  # a broker on an older config is restarted
            return False
        for device in self.cores:
            sshd = self.lab.cores.answering(client, device)
            if sshd is None or self.lab.keys.pinned(sshd.known_hosts_name) != self.lab.cores.host_key(device):
                return False
            if not self.lab.iot.provisioned(self.lab.cores.engine_transport(device), endpoint):
                return False
        return True


class LabController:
    """Brings one lab file's emulated cores up and down and hands out devices."""

    def __init__(self, lab: Lab, say: Say = quiet) -> None:
        self.lab = lab
        self.say = say
        self.home = state_dir() / "labs" / lab.name
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_file = StateFile(self.home / "state.json")
        self.private_engine = engines.private_engine()
        self.keys = LabKeys(self.home, lab.name)
        self.network = LabNetwork(lab.name)
        self.cores = EmulatedCores(lab, self.network.name, self.engine_url)
        self.factory = DeviceFactory(lab, self.cores, self.keys)
        self._client: docker.DockerClient | None = None

    @property
    def state(self) -> LabState:
        """The last bring-up state reached, as ``state.json`` records it."""
        return self.state_file.state

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.home / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- names, keys, engine ------------------------------------------------------------------------
    @property
    def emulated(self) -> list[DeviceSpec]:
        return [d for d in self.lab.spec.devices if d.emulated]

    def container_name(self, device: DeviceSpec) -> str:
        return self.cores.container_name(device)

    @property
    def network_name(self) -> str:
        return self.network.name

    @property
    def key_file(self) -> Path:
        return self.keys.key_file

    @property
    def known_hosts(self) -> Path:
        return self.keys.known_hosts

    @property
    def iot(self) -> LabIoT:
        """The lab's CA, MQTT broker and thing certificates (harness.mqtt.lab)."""
        return LabIoT(self.home / "iot")

    @property
    def results(self) -> ResultsRoute:
        """Where results go (the lab broker, or the lab file's own IoT Core endpoint): harness.mqtt.route."""
        return ResultsRoute(self.lab.spec.iot, self.iot)

    @property
    def engine_url(self) -> str:
        return engines.engine_url(self.lab.spec.engine.host) or self.private_engine.base_url

    @property
    def private(self) -> bool:
        """True when the lab runs on the project's private dockerd (no engine in the lab file or DOCKER_HOST)."""
        return engines.engine_url(self.lab.spec.engine.host) is None

    @cached_property
    def reach(self) -> ReachMode:
        """How the cores are reached (harness.lab.reach): the lab file's choice, else from the engine's /info."""
        configured = self.lab.spec.engine.reach
        info = None if configured is not None else self.docker_client().info()
        return choose(configured, self.engine_url, info, platform.release())

    def published(self) -> Published | None:
        """The cores' published-mode settings, or None when they are routed.

        ``host.docker.internal`` is ``host-gateway`` on engines that define one; the private engine has no
        default bridge, hence no host gateway, so there it names the lab network's gateway (this host).
        """
        mode = self.reach
        if mode.reach is not Reach.PUBLISHED:
            return None
        gateway = gateway_of(self.network.attrs(self.docker_client())) if self.private else HOST_GATEWAY
        return Published(mode.bind, gateway)

    def reach_status(self) -> dict[str, object] | None:
        """The engine and how its cores are reached, for `hil lab status`; None for a lab of boards only."""
        if not self.emulated:
            return None
        try:
            mode = self.reach
        except HilError as exc:
            return {"url": self.engine_url, "reach": None, "reason": exc.detail}
        except DockerException as exc:
            return {"url": self.engine_url, "reach": None, "reason": str(exc)}
        return {"url": self.engine_url, "reach": str(mode.reach), "reason": mode.reason,
                **({"published_on": mode.connect} if mode.reach is Reach.PUBLISHED else {})}

    def docker_client(self) -> docker.DockerClient:
        """A client of the lab's Docker engine (LabError when it does not answer)."""
        if self._client is None:
            self._client = engines.connect(self.engine_url)
        return self._client

    # -- up, down -----------------------------------------------------------------------------------
    def up(self) -> None:
        """Bring every emulated core up, resuming a cut bring-up; verify a lab that is up.

        Boards are left as they are; a lab of boards gets its broker where its ``iot`` section says
        they reach it (``hil lab provision DEVICE`` gives a board its certificate).
        """
        if not self.emulated:
            with self._locked():
                endpoint = self.iot.start_for(self.lab.spec.iot)
            if endpoint is not None:
                self.say(f"lab {self.lab.name}: MQTT broker at {endpoint[0]}:{endpoint[1]}")
            self.state_file.enter(LabState.READY)
            self._sweep_faults()
            return
        with self._locked():
            BringUp(self).run()
            self._sweep_faults()

    def _sweep_faults(self) -> None:
        """Remove network faults a crashed session left on this controller (harness.faults)."""
        if os.geteuid() != 0:
            return  # faults need root to be added, and to be removed
        from harness.faults.lab import sweep_lab
        from harness.faults.model import FaultError

        try:
            swept = sweep_lab(self)
        except FaultError as exc:  # no iptables or tc here: no fault can have been left either
            self.say(f"lab {self.lab.name}: network faults not swept: {exc.detail}")
            return
        for what in swept:
            self.say(f"lab {self.lab.name}: removed a leftover network fault: {what}")

    def down(self) -> None:
        """Stop and remove this lab's containers and network; stop the private engine if idle."""
        with self._locked():
            if self.iot.stop():
                self.say("stopped the lab's MQTT broker")
            own_engine = not self.private
            if not own_engine and self.private_engine.pid() is None:
                self.state_file.enter(LabState.DOWN)
                return
            client = self.docker_client()
            self.cores.remove_all(client, self.say)
            self.network.remove(client)
            self.state_file.enter(LabState.DOWN)
            if not own_engine and not client.containers.list():
                client.close()
                self._client = None
                self.private_engine.stop(self.say)

    # -- devices ------------------------------------------------------------------------------------
    def docker_transport(self, name: str) -> DockerTransport:
        """The engine-side path into an emulated core (the lab's own back door; tests compare it with SSH)."""
        device = self.lab.device(name)
        if not device.emulated:
            raise LabError(f"{name} is not an emulated core", device=name, step="docker transport",
                           failure_class=FailureClass.INVENTORY)
        return self.cores.engine_transport(device)

    def device(self, name: str) -> Device:
        """A handle on one device; raises DeviceUnreachable with the reason when it cannot be reached."""
        return self.factory.device(name, self.docker_client)

    def status(self) -> list[dict[str, object]]:
        """One record per device: name, connection, arch (read from the device), profile, reachable, error."""
        return status(self.lab.spec.devices, self.device)

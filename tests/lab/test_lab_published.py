"""The published-ports reach mode for real, on the lab's own private engine: one core of a scratch lab
(its own name, network and broker, so the shared lab's cores are not touched), forced to
``engine: {reach: published}`` as a Docker Desktop, rootless or remote engine would choose it.

The core is reached at 127.0.0.1 on the port the engine picked, its host key verified against the
pin, and its thing connects to the lab broker as ``host.docker.internal`` over mutual TLS, as the
device of an engine with unroutable containers would. Everything it started is removed at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from harness.errors import HostKeyMismatch
from harness.lab.bringup import LabController, LabState
from harness.lab.inventory import load_lab
from harness.lab.reach import HOST_ALIAS, Reach
from harness.mqtt.acl import thing_topic
from harness.mqtt.lab import gateway_of
from harness.primitives.progress import quiet
from harness.ship import ship
from harness.transport.ssh import SSHOptions, SSHTransport

CORE = "core-p"


@contextmanager
def scratch_lab(directory: Path, name: str, engine: dict[str, str]) -> Iterator[tuple[LabController, Path]]:
    """A one-core lab brought up on the private engine, and everything it started removed afterwards."""
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"lab": name, "engine": engine, "devices": [
        {"name": CORE, "profile": "ml_c4", "emulated": True}]}))
    controller = LabController(load_lab(path))
    try:
        controller.up()
        yield controller, path
    finally:  # not `down()`: that would stop the private engine once no container is left
        client = controller.docker_client()
        controller.cores.remove_all(client, quiet)
        controller.network.remove(client)
        controller.iot.stop()
        shutil.rmtree(controller.home, ignore_errors=True)
        assert not client.containers.list(all=True, filters={"label": f"hil.lab={name}"})
        assert not client.networks.list(names=[controller.network_name])


@pytest.fixture(scope="module")
def published(tmp_path_factory):  # the embedded lab is not needed: only its amd64 core image
    with scratch_lab(tmp_path_factory.mktemp("published"), "published", {"reach": "published"}) as lab:
        yield lab


def test_the_private_engine_is_detected_as_routed(tmp_path):
    """No ``engine.reach``: the private engine's /info (rootful, this kernel, a local socket) means routed."""
    with scratch_lab(tmp_path, "routed", {}) as (controller, _):
        assert controller.reach.reach is Reach.ROUTED
        device = controller.device(CORE)
        try:
            assert device.connection.startswith("ssh://hil@10.213.") and device.connection.endswith(":22")
            assert device.arch == "x86_64"
        finally:
            device.transport.close()
        container = controller.docker_client().containers.get(controller.container_name(controller.lab.device(CORE)))
        assert not container.attrs["HostConfig"].get("PortBindings")  # nothing published in routed mode


def _published_port(controller: LabController) -> int:
    container = controller.docker_client().containers.get(controller.container_name(controller.lab.device(CORE)))
    (binding,) = container.attrs["NetworkSettings"]["Ports"]["22/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    return int(binding["HostPort"])


def test_the_core_is_reached_on_a_loopback_port_with_its_host_key_verified(published, tmp_path):
    controller, _ = published
    assert controller.state is LabState.READY
    port = _published_port(controller)
    device = controller.device(CORE)
    try:
        assert device.connection == f"ssh://hil@127.0.0.1:{port}"
        assert device.arch == "x86_64"  # over SSH, through the engine's published port
    finally:
        device.transport.close()
    host_key = controller.cores.host_key(controller.lab.device(CORE))
    assert controller.keys.pinned(f"[127.0.0.1]:{port}") == host_key
    # Another ed25519 key pinned for that port is refused: the pin is what is checked.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True,
                   timeout=30)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[127.0.0.1]:{port} {other}\n")
    options = SSHOptions("127.0.0.1", "hil", port, controller.key_file, None, forged, False)
    with pytest.raises(HostKeyMismatch, match="host-key"):
        SSHTransport(CORE, options).run("true")


def test_status_names_the_reach_mode(published):
    controller, path = published
    port = _published_port(controller)
    text = subprocess.run([sys.executable, "-m", "harness.cli", "lab", "status", "--lab", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    assert "cores reached published on 127.0.0.1 (lab file engine.reach)" in text.stdout
    as_json = subprocess.run([sys.executable, "-m", "harness.cli", "lab", "status", "--json", "--lab", str(path)],
                             capture_output=True, text=True, timeout=60)
    document = json.loads(as_json.stdout)
    assert document["engine"]["reach"] == "published"
    assert document["devices"][0]["connection"] == f"ssh://hil@127.0.0.1:{port}"
    assert document["devices"][0]["reachable"] is True


def test_the_core_connects_to_the_broker_as_host_docker_internal(published):
    controller, _ = published
    device = controller.device(CORE)
    try:
        endpoint = device.transport.check("cat /greengrass/v2/iot-endpoint").stdout.strip()
        assert endpoint == f"{HOST_ALIAS}:{controller.iot.cores_endpoint()[1]}"  # the things' listener
        # On the private engine (no default bridge, so no host-gateway) the alias is the lab network's gateway.
        alias = device.transport.check(["getent", "ahostsv4", HOST_ALIAS]).stdout.split()[0]
        assert alias == gateway_of(controller.network.attrs(controller.docker_client()))
        # One MQTT connect + publish with the thing certificate (readable by root only), TLS name checked.
        topic = thing_topic("latency", CORE, "reach")  # the broker's ACL: the thing's own topics
        probe = ship(device.transport).argv(device.python, "mqtt_probe", topic, "1", "0")
        device.transport.check(["sudo", "-n", *probe], timeout=60, step="mqtt probe")
    finally:
        device.transport.close()
    log = controller.iot.broker().log_tail(400)  # the client id is the certificate's CN (use_username_as_clientid)
    assert f"as {CORE} (" in log and f"u'{CORE}'" in log, log[-2000:]

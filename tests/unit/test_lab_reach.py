"""Which reach mode a lab's cores get (harness.lab.reach), and what each mode starts a core with.

The engine facts are the fields of Docker's ``GET /info`` that tell the engines apart: moby's
``api/types/system/info.go`` (``SecurityOptions`` holds ``name=rootless`` under rootlesskit, see
``daemon/info.go``; Docker Desktop reports ``OperatingSystem: Docker Desktop``; ``KernelVersion`` is
the engine's kernel, a VM's for Desktop, Colima or podman machine).
"""

from __future__ import annotations

import pytest
import yaml
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InventoryError
from harness.lab.bringup import LabController
from harness.lab.cores import EmulatedCores, Published, SSHEndpoint
from harness.lab.inventory import load_lab
from harness.lab.reach import HOST_ALIAS, Reach, as_engine_reports, choose, is_local_address, remote_host
from harness.mqtt.pki import CertificateAuthority

KERNEL = "6.1.0-18-amd64"
PRIVATE = "unix:///root/.cache/hil/engine/docker.sock"
ROOTFUL = {"SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"], "OperatingSystem": "Debian 12",
           "KernelVersion": KERNEL}


@pytest.mark.parametrize(("url", "info", "reach", "why"), [
    (PRIVATE, ROOTFUL, Reach.ROUTED, "routed from this host"),
    ("unix:///var/run/docker.sock", ROOTFUL, Reach.ROUTED, "routed from this host"),
    ("tcp://127.0.0.1:2375", ROOTFUL, Reach.ROUTED, "routed from this host"),
    ("unix:///run/user/1000/docker.sock",
     {**ROOTFUL, "SecurityOptions": ["name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"]},
     Reach.PUBLISHED, "rootless engine"),
    ("unix:///Users/me/.docker/run/docker.sock",
     {"OperatingSystem": "Docker Desktop", "KernelVersion": "6.10.14-linuxkit"}, Reach.PUBLISHED, "Docker Desktop"),
    ("unix:///Users/me/.colima/default/docker.sock", {**ROOTFUL, "OperatingSystem": "Ubuntu 24.04 LTS",
                                                      "KernelVersion": "6.8.0-50-generic"},
     Reach.PUBLISHED, "a VM"),
    ("tcp://lab-engine.example:2376", ROOTFUL, Reach.PUBLISHED, "remote engine on lab-engine.example"),
    ("ssh://ci@10.0.0.9", ROOTFUL, Reach.PUBLISHED, "remote engine on 10.0.0.9"),
])
def test_published_exactly_when_the_engine_is_not_routable(url, info, reach, why):
    mode = choose(None, url, info, KERNEL)
    assert mode.reach is reach
    assert why in mode.reason


@pytest.mark.parametrize(("release", "reported"), [
    ("6.1.0-18-amd64", "6.1.0-18-amd64"), ("3.12-1-amd64", "3.12.0-1-amd64"), ("6.8", "6.8.0"),
    ("6.18.44-fc-v1045", "6.18.44-fc-v1045"), ("4.1.2-generic", "4.1.2-generic")])
def test_this_hosts_kernel_is_compared_as_dockerd_spells_it(release, reported):
    assert as_engine_reports(release) == reported
    assert choose(None, PRIVATE, {"KernelVersion": reported}, release).reach is Reach.ROUTED


def test_the_lab_file_decides_without_asking_the_engine():
    assert choose("published", PRIVATE, None, KERNEL).reach is Reach.PUBLISHED
    desktop = {"OperatingSystem": "Docker Desktop", "KernelVersion": "6.10.14-linuxkit"}
    mode = choose("routed", "unix:///Users/me/.docker/run/docker.sock", desktop, KERNEL)
    assert (mode.reach, mode.reason) == (Reach.ROUTED, "lab file engine.reach")


def test_published_ports_are_bound_on_loopback_locally_and_connected_to_on_a_remote_engine_host():
    local = choose(None, "unix:///run/user/1000/docker.sock", {"SecurityOptions": ["name=rootless"]}, KERNEL)
    assert (local.bind, local.connect) == ("127.0.0.1", "127.0.0.1")
    remote = choose(None, "ssh://ci@engine-7", ROOTFUL, KERNEL)
    assert (remote.bind, remote.connect) == ("0.0.0.0", "engine-7")  # noqa: S104
    assert remote.describe() == "published on engine-7 (remote engine on engine-7)"


@given(st.text(max_size=80))
def test_remote_host_never_raises(text):
    host = remote_host(text)
    assert host is None or host in text.lower()


def test_loopback_is_local_and_a_documentation_address_is_not():
    assert is_local_address("127.0.0.1")
    assert not is_local_address("192.0.2.77")  # TEST-NET-1 (RFC 5737): never assigned to a host


def test_engine_reach_in_the_lab_file(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({"lab": "x", "engine": {"reach": "published"},
                                    "devices": [{"name": "a", "profile": "ml_c4", "emulated": True}]}))
    assert load_lab(path).spec.engine.reach == "published"
    path.write_text(yaml.safe_dump({"lab": "x", "engine": {"reach": "tunnel"},
                                    "devices": [{"name": "a", "profile": "ml_c4", "emulated": True}]}))
    with pytest.raises(InventoryError, match="engine.reach"):
        load_lab(path)


def test_a_configured_mode_is_the_controllers_without_an_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({"lab": "pub", "engine": {"reach": "published", "host": "tcp://10.0.0.9:2375"},
                                    "devices": [{"name": "a", "profile": "ml_c4", "emulated": True}]}))
    controller = LabController(load_lab(path))
    assert controller.reach.reach is Reach.PUBLISHED and controller.reach.connect == "10.0.0.9"
    assert controller.reach_status() == {"url": "tcp://10.0.0.9:2375", "reach": "published",
                                         "reason": "lab file engine.reach", "published_on": "10.0.0.9"}


def test_a_published_core_publishes_22_and_names_the_host_and_switching_modes_recreates_it():
    lab = load_lab()
    device = next(d for d in lab.spec.devices if lab.profile_of(d).docker_arch == "amd64")
    cores = EmulatedCores(lab, "hil-default", PRIVATE)
    routed = cores.run_spec(device, "hil-core:amd64", "ssh-ed25519 AAAA")
    published = cores.run_spec(device, "hil-core:amd64", "ssh-ed25519 AAAA", Published("127.0.0.1", "10.213.9.1"))
    assert "ports" not in routed and "extra_hosts" not in routed
    assert published["ports"] == {"22/tcp": ("127.0.0.1", None)}
    assert published["extra_hosts"] == {HOST_ALIAS: "10.213.9.1"}
    assert {k: v for k, v in published.items() if k not in ("ports", "extra_hosts")} == routed
    from harness.primitives.digest import stable_key

    assert stable_key(routed, 16) != stable_key(published, 16)


def test_known_hosts_names_follow_openssh():
    # paramiko's SSHClient.connect looks a key up as "[host]:port" off port 22 (paramiko/client.py)
    assert SSHEndpoint("10.213.7.2").known_hosts_name == "10.213.7.2"
    assert SSHEndpoint("127.0.0.1", 49153).known_hosts_name == "[127.0.0.1]:49153"
    assert str(SSHEndpoint("127.0.0.1", 49153)) == "127.0.0.1:49153"


def _dns_names(path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return sorted(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                  .get_values_for_type(x509.DNSName))


def test_the_broker_certificate_names_the_published_cores_host_alias(tmp_path):
    ca = CertificateAuthority(tmp_path)
    plain = ca.server(["127.0.0.1", "10.213.9.1"])
    assert _dns_names(plain.cert) == ["localhost"]
    first = plain.cert.read_bytes()
    aliased = ca.server(["127.0.0.1", "10.213.9.1"], (HOST_ALIAS,))
    assert _dns_names(aliased.cert) == [HOST_ALIAS, "localhost"]
    assert aliased.cert.read_bytes() != first  # reissued for the new name
    again = aliased.cert.read_bytes()
    assert ca.server(["127.0.0.1", "10.213.9.1"], (HOST_ALIAS,)).cert.read_bytes() == again  # kept

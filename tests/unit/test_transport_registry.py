"""The transport registry: one table keyed by hostspec scheme, filled by the backends themselves."""

from pathlib import Path

import pytest

from harness.errors import FailureClass
from harness.transport import (
    CommandResult,
    Credentials,
    Transport,
    TransportSpec,
    UnknownTransport,
    parse_hostspec,
    register,
    transport_for,
)
from harness.transport.docker import DockerTransport
from harness.transport.hostspec import HostSpec
from harness.transport.local import LocalTransport
from harness.transport.registry import schemes
from harness.transport.ssh import SSHTransport


def test_the_shipped_backends_register_their_schemes():
    assert {"ssh", "docker", "local"} <= set(schemes())


def test_an_unknown_scheme_names_the_device_and_lists_the_registered_ones():
    with pytest.raises(UnknownTransport) as err:
        transport_for(TransportSpec("pi-07", HostSpec("serial", "ttyUSB0")))
    text = str(err.value)
    assert text.startswith("pi-07: transport: [inventory] no transport for serial://")
    assert all(scheme in text for scheme in schemes())
    assert err.value.failure_class is FailureClass.INVENTORY


def test_a_backend_registered_elsewhere_is_found_by_its_scheme(tmp_path):
    @register("testloop")
    class Loopback(Transport):
        """Answers every command with its own line: enough to prove the registry picked it."""

        @classmethod
        def from_spec(cls, spec):
            made = cls(spec.device)
            made.host = spec.hostspec.host
            return made

        def run(self, command, *, timeout=60.0, stdin=None, env=None):
            return CommandResult(str(command), 0, f"{self.host}: {command}", "")

        def put(self, local, remote, *, timeout=60.0, progress=None):
            raise NotImplementedError

        def get(self, remote, local, *, timeout=60.0, progress=None):
            raise NotImplementedError

    spec = parse_hostspec("testloop://bench-3")  # the hostspec parser accepts what the registry knows
    transport = transport_for(TransportSpec("dev", spec))
    assert isinstance(transport, Loopback) and transport.scheme == "testloop"
    assert transport.check("uname -m").stdout == "bench-3: uname -m"
    assert "testloop" in schemes()


def test_a_scheme_cannot_be_taken_twice():
    with pytest.raises(ValueError, match="taken by harness.transport.local.LocalTransport"):
        @register("local")
        class Other(LocalTransport):
            pass


def test_hostspecs_become_the_backends_with_their_credentials(tmp_path):
    key, known = tmp_path / "id", tmp_path / "known_hosts"
    ssh = transport_for(TransportSpec("pi-07", parse_hostspec("ssh://pi@10.0.0.7:2222"),
                                      Credentials(key, "pw", known, True)))
    assert isinstance(ssh, SSHTransport) and ssh.device == "pi-07"
    opts = ssh.options
    assert (opts.host, opts.user, opts.port, opts.key_file, opts.password, opts.known_hosts,
            opts.auto_add_host_key) == ("10.0.0.7", "pi", 2222, key, "pw", known, True)
    assert transport_for(TransportSpec("b", parse_hostspec("ssh://board"))).options.user == "hil"
    docker = transport_for(TransportSpec("c", parse_hostspec("docker://hil@core-1?docker_host=unix:///x.sock")))
    assert isinstance(docker, DockerTransport)
    assert (docker.container, docker.user, docker.base_url) == ("core-1", "hil", "unix:///x.sock")
    local = transport_for(TransportSpec("host", parse_hostspec("local://")))
    assert isinstance(local, LocalTransport)
    assert local.run(["cat", str(Path(__file__))]).stdout.startswith('"""The transport registry')

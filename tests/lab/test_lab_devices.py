"""The embedded lab for real: containers on the private engine, OpenSSH in them, files both ways."""

import hashlib
import math
import os
import time

import paramiko
import pytest

from harness.errors import CommandTimeout, HostKeyMismatch
from harness.transport.ssh import SSHOptions, SSHTransport

EXPECTED_ARCH = {"x86_64": "x86_64", "aarch64": "aarch64"}


def test_uname_over_ssh_matches_the_profile(device):
    assert device.connection.startswith("ssh://hil@")
    assert device.arch == EXPECTED_ARCH[device.profile.arch]


def test_uname_over_docker_exec_matches_ssh(device, lab):
    with lab.docker_transport(device.name) as docker_side:
        assert docker_side.check(["uname", "-m"]).stdout.strip() == device.arch
        assert docker_side.check("id -un").stdout.strip() == device.transport.check("id -un").stdout.strip() == "hil"


@pytest.mark.arch("aarch64")
def test_arm64_core_runs_with_a72_cpu_model(device):
    # Under qemu's default CPU model (max, with SVE) OpenBLAS picks SVE kernels and runs ~400x slower.
    assert device.transport.check("echo $QEMU_CPU").stdout.strip() == "cortex-a72"


@pytest.mark.parametrize("side", ["ssh", "docker"])
def test_20mb_file_round_trips_with_equal_sha256(device, lab, tmp_path, side):
    transport = device.transport if side == "ssh" else lab.docker_transport(device.name)
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(20 * 1024 * 1024))
    remote = f"/tmp/blob-{side}.bin"
    progress = []
    transport.put(src, remote, timeout=60, progress=lambda done, total: progress.append((done, total)))
    remote_sum = transport.check(["sha256sum", remote]).stdout.split()[0]
    transport.get(remote, tmp_path / "back.bin", timeout=60)
    local_sum = hashlib.sha256(src.read_bytes()).hexdigest()
    assert remote_sum == local_sum == hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest()
    assert progress and progress[-1] == (src.stat().st_size, src.stat().st_size)
    assert transport.check(["stat", "-c", "%U", remote]).stdout.strip() == "hil"
    transport.check(["rm", "-f", remote])


@pytest.mark.parametrize("side", ["ssh", "docker"])
def test_command_past_its_timeout_is_killed_within_two_seconds(device, lab, side):
    transport = device.transport if side == "ssh" else lab.docker_transport(device.name)
    start = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        transport.run("sleep 30", timeout=1.5)
    assert time.monotonic() - start < 1.5 + 2
    assert f"{device.name}: exec: [timeout]" in str(err.value)
    # The device kills it too, ceil(timeout) + 1 s after it started: no sleeper is left behind.
    deadline = start + math.ceil(1.5) + 1 + 3
    while "sleep 30" in transport.check("ps -eo args").stdout:
        assert time.monotonic() < deadline, f"{device.name}: `sleep 30` still running after the device-side kill"
        time.sleep(0.2)


def test_wrong_host_key_is_refused(device, lab, tmp_path):
    host = device.connection.split("@")[1].split(":")[0]
    forged = tmp_path / "known_hosts"
    rsa = paramiko.RSAKey.generate(2048)
    forged.write_text(f"{host} {rsa.get_name()} {rsa.get_base64()}\n")
    options = SSHOptions(host, "hil", 22, lab.key_file, None, forged, False)
    with pytest.raises(HostKeyMismatch, match="host-key"):
        SSHTransport(device.name, options).run("true")


def test_unknown_host_is_refused_unless_auto_add(device, lab, tmp_path):
    host = device.connection.split("@")[1].split(":")[0]
    empty = tmp_path / "known_hosts"
    options = SSHOptions(host, "hil", 22, lab.key_file, None, empty, False)
    with pytest.raises(HostKeyMismatch, match="not in known_hosts"):
        SSHTransport(device.name, options).run("true")
    trusting = SSHOptions(host, "hil", 22, lab.key_file, None, empty, True)
    assert SSHTransport(device.name, trusting).check("echo ok").stdout == "ok\n"


def test_exit_status_and_streams_come_back_apart(device):
    result = device.transport.run("echo out; echo err >&2; exit 7")
    assert (result.exit_status, result.stdout, result.stderr) == (7, "out\n", "err\n")

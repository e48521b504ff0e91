"""Network faults with the real iptables, tc and the latency proxy, between two network namespaces of
this machine: a "controller" and a "device" joined by a veth pair, as an emulated core is to the host.

Nothing here touches the host's own namespace: the injector runs its commands through
``ip netns exec`` (Target.host_prefix), as it runs them through ``nsenter`` into a core.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.faults.inject import Injector, sweep
from harness.faults.model import Target, make_fault
from harness.faults.session import FaultSet
from tests.fault_leftovers import left_behind

PEER = Path(__file__).with_name("netns_peer.py")
CTL_IP, DEV_IP = "10.254.77.1", "10.254.77.2"
SSH_PORT, BROKER_PORT, UDP_PORT = 2222, 8883, 5001
FAST_MS = 40  # a round trip with no fault, on a loaded 2-core machine: well under any delay we add

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables"),
                                reason="network faults need root, iproute2 and iptables (./dev setup as root)")


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


class Pair:
    """Two namespaces, a veth between them, an echo server on each side."""

    def __init__(self) -> None:
        tag = os.getpid() % 100000
        self.ctl, self.dev = f"hilf{tag}c", f"hilf{tag}d"
        self.ctl_if, self.dev_if = f"hf{tag}c0", f"hf{tag}d0"
        self.servers: list[subprocess.Popen[str]] = []

    def up(self) -> None:
        for ns in (self.ctl, self.dev):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.ctl_if, "netns", self.ctl, "type", "veth", "peer", "name", self.dev_if,
           "netns", self.dev)
        for ns, iface, ip in ((self.ctl, self.ctl_if, CTL_IP), (self.dev, self.dev_if, DEV_IP)):
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", iface)
            sh("ip", "-n", ns, "link", "set", iface, "up")
        self.serve(self.dev, SSH_PORT)  # the device's "sshd"
        self.serve(self.ctl, BROKER_PORT)  # the controller's "broker"

    def serve(self, ns: str, port: int) -> None:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(PEER), "serve", str(port)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        self.servers.append(proc)

    def down(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait()
        for ns in (self.ctl, self.dev):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)

    def prefix(self, ns: str) -> tuple[str, ...]:
        return ("ip", "netns", "exec", ns)

    @property
    def target(self) -> Target:
        return Target("ns-device", DEV_IP, SSH_PORT, BROKER_PORT, self.ctl_if, self.dev_if,
                      self.prefix(self.dev), self.prefix(self.ctl))

    def peer(self, ns: str, *args: object, timeout: float = 60) -> object:
        out = sh(*self.prefix(ns), sys.executable, str(PEER), *map(str, args))
        return json.loads(out)

    def rtt_ms(self, count: int = 20, timeout: float = 5) -> list[float] | dict:
        return self.peer(self.ctl, "rtt", DEV_IP, SSH_PORT, count, timeout)  # type: ignore[return-value]

    def ours(self) -> list[str]:
        """Every rule and qdisc of ours left in either namespace, and any latency proxy still running."""
        return left_behind(self.prefix(self.ctl), [self.prefix(self.ctl), self.prefix(self.dev)])


@pytest.fixture(scope="module")
def pair():
    p = Pair()
    try:
        p.up()
        yield p
    finally:
        p.down()


@pytest.fixture
def faults(pair, tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path / "state"))
    fs = FaultSet(lambda name: pair.target)
    yield fs
    fs.clear()
    assert pair.ours() == []  # every test leaves both namespaces as it found them


def test_latency_adds_the_round_trip_with_its_jitter_and_goes_away(pair, faults):
    base = pair.rtt_ms()
    assert statistics.median(base) < FAST_MS
    fault = faults.add("ns-device", "latency", "200ms", jitter="20ms", link="controller")
    slowed = pair.rtt_ms(count=15)
    assert 185 <= statistics.median(slowed) <= 230, slowed
    assert max(slowed) - min(slowed) > 2  # jitter, not a constant
    faults.remove("ns-device", fault)
    assert statistics.median(pair.rtt_ms()) < FAST_MS


def test_latency_on_the_broker_link_delays_the_devices_connections_only(pair, faults):
    faults.add("ns-device", "latency", "100ms", link="broker")
    from_device = pair.peer(pair.dev, "rtt", CTL_IP, BROKER_PORT, 10, 5)
    assert 95 <= statistics.median(from_device) <= 130, from_device
    assert statistics.median(pair.rtt_ms()) < FAST_MS  # the controller's link is untouched


def test_loss_drops_its_share_of_packets(pair, faults):
    faults.add("ns-device", "loss", "30%")
    sink = subprocess.Popen([*pair.prefix(pair.dev), sys.executable, str(PEER), "udp-sink", str(UDP_PORT), "4"],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    sh(*pair.prefix(pair.ctl), sys.executable, str(PEER), "udp-send", DEV_IP, str(UDP_PORT), "1500")
    received = int(sink.communicate(timeout=30)[0].strip())
    assert 0.62 <= received / 1500 <= 0.78, received  # 30 % ± 8 points: > 6 standard deviations of 1500 draws


def test_a_rate_cap_holds_both_directions_near_the_rate(pair, faults):
    size = 300_000
    fast = pair.peer(pair.ctl, "bulk", DEV_IP, SSH_PORT, size, 30)["seconds"]
    faults.add("ns-device", "rate", "4mbit")
    capped = pair.peer(pair.ctl, "bulk", DEV_IP, SSH_PORT, size, 30)["seconds"]
    mbit = size * 8 / capped / 1e6
    assert fast < 1.0 and 3.0 <= mbit <= 4.3, (fast, capped)


def test_link_down_stops_everything_until_cleared(pair, faults):
    with faults.during("ns-device", "down"):
        t0 = time.monotonic()
        assert pair.rtt_ms(count=1, timeout=1) == {"error": "TimeoutError"}
        assert time.monotonic() - t0 < 10
    assert statistics.median(pair.rtt_ms(count=3)) < FAST_MS


def test_a_reset_cuts_a_transfer_after_its_bytes_and_spares_small_talk(pair, faults):
    faults.add("ns-device", "reset", "64k", link="controller")
    assert statistics.median(pair.rtt_ms(count=5)) < FAST_MS  # under 64 KiB: untouched
    cut = pair.peer(pair.ctl, "bulk", DEV_IP, SSH_PORT, 2_000_000, 20)
    # the device's socket is reset: the controller reads a reset or the end of the stream, at once
    assert cut["error"] in ("ConnectionResetError", "closed") and cut["after"] < 2_000_000, cut
    assert cut["seconds"] < 5, cut


def test_a_fault_is_refused_twice_and_a_missing_one_named(pair, faults):
    faults.add("ns-device", "loss", "1%")
    with pytest.raises(Exception, match="already active"):
        faults.add("ns-device", "loss", "2%")
    with pytest.raises(Exception, match=r"no fault 'down-all' .*active: loss-all"):
        faults.remove("ns-device", make_fault("down"))


def test_the_sweep_removes_what_a_dead_session_left_and_keeps_the_rest(pair, faults, tmp_path):
    code = ("import sys; from harness.faults.inject import Injector; from harness.faults.model import Target, "
            "make_fault; t = Target(*sys.argv[1:4], int(sys.argv[4]), sys.argv[5], sys.argv[6], "
            "tuple(sys.argv[7].split()), tuple(sys.argv[8].split())); i = Injector(t); "
            "[i.add(make_fault(*w.split(':'))) for w in sys.argv[9:]]")
    t = pair.target
    # A session that added faults and died without clearing them:
    subprocess.run([sys.executable, "-c", code, t.device, t.address, str(t.ssh_port), str(t.broker_port),
                    t.host_iface, t.device_iface, " ".join(t.device_prefix), " ".join(t.host_prefix),
                    "latency:300ms", "rate:8mbit", "reset:1M"], check=True, timeout=60,
                   cwd=Path(__file__).resolve().parents[2], env=dict(os.environ))
    kept = Injector(t, owned=False).add(make_fault("loss", "1%"))  # `hil fault add`: stays until cleared
    sh(*t.host_prefix, "iptables", "-t", "filter", "-I", "INPUT", "-m", "comment", "--comment",
       "hil-fault:gone:down-all", "-j", "DROP")  # a rule whose record was lost
    assert len(pair.ours()) > 4
    removed = sweep(t.host_prefix, [(t.device_prefix, t.device_iface)])
    assert any("RTT" in r for r in removed) and any("hil-fault:gone" in r for r in removed), removed
    assert [line for line in pair.ours() if "loss-all" not in line] == []  # the proxy too
    assert [f.id for f in Injector(t).active()] == [kept.id]
    assert Injector(t).clear() == [kept]

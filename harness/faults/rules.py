"""The commands a fault installs and the ones that remove it: pure, so they are tested without a kernel.

Where each rule sits, and why there (netfilter's order: conntrack → mangle → nat → filter):

- loss and link down drop in ``mangle`` PREROUTING (packets from the device, before the latency
  proxy's redirect rewrites their port) and POSTROUTING (packets to it, after the redirect moved the
  controller's own leg onto loopback): only the wire between controller and device loses packets;
- resets are ``REJECT --reject-with tcp-reset`` in ``filter`` INPUT (the only table REJECT lives in), once
  the connection carried N bytes (``connbytes``): the device's socket is reset, and the controller's with
  the device's answer to its next segment;
- a link is matched by the connection's original destination port (``conntrack --ctorigdstport``):
  SSH on the device, the broker's port on the controller, both directions, redirected or not;
- latency redirects new connections to the proxy (``nat`` OUTPUT for the controller's, PREROUTING for
  the device's); the proxy's own connections carry PROXY_MARK and are not redirected again;
- a rate cap is ``tc tbf`` on both ends of the device's veth (no ingress shaping on this kernel).

Every rule carries ``-m comment --comment hil-fault:<device>:<fault>``; every qdisc has handle 4849:.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from harness.faults.model import PROXY_MARK, QDISC_HANDLE, TAG, Fault, FaultInputError, Kind, Link, Target

IN, OUT = "in", "out"  # packets from the device, packets to it
#: tbf's queue bound: packets waiting longer are dropped (TCP slows down to the rate).
TBF_LATENCY = "200ms"
IPTABLES_WAIT_S = "5"


@dataclass(frozen=True)
class Rule:
    """One iptables rule: ``iptables -t TABLE -I CHAIN 1 ARGS`` adds it, ``-D CHAIN ARGS`` removes it."""

    table: str
    chain: str
    args: tuple[str, ...]

    def add(self) -> list[str]:
        return ["iptables", "-w", IPTABLES_WAIT_S, "-t", self.table, "-I", self.chain, "1", *self.args]

    def delete(self) -> list[str]:
        return ["iptables", "-w", IPTABLES_WAIT_S, "-t", self.table, "-D", self.chain, *self.args]

    def as_list(self) -> list[str]:
        return [self.table, self.chain, *self.args]

    @classmethod
    def from_list(cls, data: list[str]) -> Rule:
        return cls(data[0], data[1], tuple(data[2:]))


def link_port(target: Target, link: Link) -> int | None:
    """The original destination port that names ``link``'s connections (None: every packet)."""
    if link is Link.ALL:
        return None
    if link is Link.CONTROLLER:
        return target.ssh_port
    if target.broker_port is None:
        raise FaultInputError("the lab has no broker port for this device (is the broker up?)",
                              device=target.device, step="fault add")
    return target.broker_port


def match(target: Target, link: Link, direction: str, tcp: bool = False) -> list[str]:
    """iptables matches for ``link``'s packets of one direction."""
    args = ["-s" if direction == IN else "-d", target.address]
    port = link_port(target, link)
    if port is not None:
        return [*args, "-p", "tcp", "-m", "conntrack", "--ctorigdstport", str(port)]
    return [*args, "-p", "tcp"] if tcp else args


def _tagged(target: Target, fault: Fault, body: list[str], jump: list[str]) -> tuple[str, ...]:
    return (*body, "-m", "comment", "--comment", target.tag(fault.id), *jump)


def filter_rules(target: Target, fault: Fault) -> list[Rule]:
    """The iptables rules of a loss, down or reset fault."""
    rules = []
    for direction, chain in ((IN, "PREROUTING"), (OUT, "POSTROUTING")):
        if fault.kind is Kind.LOSS:
            # statistic keeps 10 decimals: 5 % stays 5 %
            stat = ["-m", "statistic", "--mode", "random", "--probability", f"{fault.loss_percent / 100:.10g}"]
            rules.append(Rule("mangle", chain, _tagged(target, fault, [*match(target, fault.link, direction), *stat],
                                                       ["-j", "DROP"])))
        elif fault.kind is Kind.DOWN:
            rules.append(Rule("mangle", chain, _tagged(target, fault, match(target, fault.link, direction),
                                                       ["-j", "DROP"])))
    if fault.kind is Kind.RESET:
        # Only packets from the device: its socket gets the reset, and its kernel answers the controller's
        # next segment with one (a REJECT in OUTPUT does not reach a local socket on this kernel). The
        # device's own resets pass, or the controller would never hear of it.
        after = ["!", "--tcp-flags", "RST", "RST", "-m", "connbytes", "--connbytes", f"{fault.after_bytes}:",
                 "--connbytes-dir", "both", "--connbytes-mode", "bytes"]
        rules.append(Rule("filter", "INPUT", _tagged(target, fault, [*match(target, fault.link, IN, tcp=True), *after],
                                                     ["-j", "REJECT", "--reject-with", "tcp-reset"])))
    return rules


def redirect_rules(target: Target, fault: Fault, link: Link, port: int) -> list[Rule]:
    """The nat rule that sends ``link``'s new connections through the latency proxy on ``port``."""
    if link is Link.CONTROLLER:
        body = ["-d", target.address, "-p", "tcp", "--dport", str(target.ssh_port),
                "-m", "mark", "!", "--mark", hex(PROXY_MARK)]
        return [Rule("nat", "OUTPUT", _tagged(target, fault, body, ["-j", "REDIRECT", "--to-ports", str(port)]))]
    body = ["-s", target.address, "-p", "tcp", "--dport", str(link_port(target, Link.BROKER))]
    return [Rule("nat", "PREROUTING", _tagged(target, fault, body, ["-j", "REDIRECT", "--to-ports", str(port)]))]


def proxied_links(fault: Fault) -> list[Link]:
    return [Link.CONTROLLER, Link.BROKER] if fault.link is Link.ALL else [fault.link]


def tbf_burst(rate_kbit: int) -> int:
    """Bytes of burst: 20 ms at the rate, never below 4 KiB (below the MTU TCP stalls)."""
    return max(4096, rate_kbit * 1000 // 8 // 50)


def qdisc_add(iface: str, fault: Fault) -> list[str]:
    """``tc qdisc add`` for one end of the device's link: tbf for a rate, netem for latency."""
    head = ["tc", "qdisc", "add", "dev", iface, "root", "handle", QDISC_HANDLE]
    if fault.kind is Kind.RATE:
        return [*head, "tbf", "rate", f"{fault.rate_kbit}kbit", "burst", str(tbf_burst(fault.rate_kbit)),
                "latency", TBF_LATENCY]
    if fault.kind is Kind.LATENCY:  # half the round trip on each end
        return [*head, "netem", "delay", f"{fault.rtt_ms / 2:g}ms", f"{fault.jitter_ms / 2:g}ms"]
    raise ValueError(f"{fault.kind} is not a qdisc")


def qdisc_delete(iface: str) -> list[str]:
    return ["tc", "qdisc", "del", "dev", iface, "root", "handle", QDISC_HANDLE]


def tagged_deletes(table: str, listing: str, device: str | None = None) -> list[list[str]]:
    """``iptables -t TABLE -D ...`` for every rule of ours in ``iptables -t TABLE -S``'s output
    (``device``: only that device's)."""
    prefix = f"{TAG}:{device}:" if device else f"{TAG}:"
    deletes = []
    for line in listing.splitlines():
        try:
            tokens = shlex.split(line)
        except ValueError:
            continue
        if len(tokens) < 2 or tokens[0] != "-A" or "--comment" not in tokens[:-1]:
            continue
        if tokens[tokens.index("--comment") + 1].startswith(prefix):
            deletes.append(["iptables", "-w", IPTABLES_WAIT_S, "-t", table, "-D", *tokens[1:]])
    return deletes


def owned_qdiscs(listing: str) -> list[str]:
    """Interfaces whose root qdisc is ours, from ``tc qdisc show``'s output."""
    ifaces = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] == "qdisc" and fields[2] == QDISC_HANDLE and fields[3] == "dev":
            ifaces.append(fields[4])
    return ifaces

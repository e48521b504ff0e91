"""What a network fault is and where it goes: pure data, parsed from the words of ``hil fault add``.

A fault sits on one *link* of one device: ``controller`` (the controller's SSH connections to it),
``broker`` (its MQTT connections to the lab broker) or ``all`` (every packet to or from it).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum

from harness.errors import FailureClass, HilError

#: The comment every iptables rule of ours carries (``hil-fault:<device>:<fault id>``).
TAG = "hil-fault"
#: The tc handle (major) of every qdisc of ours: 0x4849 is "HI".
QDISC_HANDLE = "4849:"
#: The firewall mark on the latency proxy's own connections, so its redirect does not catch them.
PROXY_MARK = 0x4849
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class FaultError(HilError):
    """A fault could not be installed or removed (a missing mechanism, a command that failed)."""

    failure_class = FailureClass.HOST_SETUP


class FaultInputError(FaultError):
    """A fault described wrongly; nothing was changed."""

    failure_class = FailureClass.INVENTORY


class Kind(StrEnum):
    LATENCY = "latency"  # added round-trip time with jitter
    LOSS = "loss"  # a share of packets dropped, both directions
    RATE = "rate"  # a bandwidth cap, both directions
    DOWN = "down"  # every packet dropped: the cable pulled
    RESET = "reset"  # TCP resets once a connection carried N bytes


class Link(StrEnum):
    CONTROLLER = "controller"
    BROKER = "broker"
    ALL = "all"


@dataclass(frozen=True)
class Fault:
    kind: Kind
    link: Link = Link.ALL
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_percent: float = 0.0
    rate_kbit: int = 0
    after_bytes: int = 0

    @property
    def id(self) -> str:
        """One fault of a kind per link and device: adding it twice is refused, clearing names it."""
        return f"{self.kind}-{self.link}"

    def describe(self) -> str:
        what = {Kind.LATENCY: f"+{self.rtt_ms:g} ms RTT ±{self.jitter_ms:g} ms",
                Kind.LOSS: f"{self.loss_percent:g} % loss", Kind.RATE: f"{self.rate_kbit} kbit/s",
                Kind.DOWN: "link down", Kind.RESET: f"TCP reset after {self.after_bytes} B"}[self.kind]
        return f"{what} ({self.link} link)"

    def as_dict(self) -> dict[str, object]:
        return {"kind": str(self.kind), "link": str(self.link), "rtt_ms": self.rtt_ms, "jitter_ms": self.jitter_ms,
                "loss_percent": self.loss_percent, "rate_kbit": self.rate_kbit, "after_bytes": self.after_bytes}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Fault:
        return cls(Kind(str(data["kind"])), Link(str(data["link"])), float(data["rtt_ms"]),  # type: ignore[arg-type]
                   float(data["jitter_ms"]), float(data["loss_percent"]),  # type: ignore[arg-type]
                   int(data["rate_kbit"]), int(data["after_bytes"]))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Target:
    """Where a device's traffic can be caught.

    ``host_iface`` carries only this device's traffic on the controller's side (an emulated core's
    veth); ``device_iface`` is its end inside the device, entered with ``device_prefix``
    (``nsenter -t PID -n``). ``host_prefix`` runs the controller's commands in another network
    namespace (empty: this one). Without interfaces a rate cap cannot be set (a board on a shared LAN).
    """

    device: str
    address: str
    ssh_port: int = 22
    broker_port: int | None = None
    host_iface: str | None = None
    device_iface: str | None = None
    device_prefix: tuple[str, ...] = ()
    host_prefix: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.device):
            raise FaultInputError(f"device name {self.device!r} cannot tag a rule (letters, digits, . _ -)",
                                  device=self.device, step="fault target")
        try:
            ipaddress.IPv4Address(self.address)
        except ValueError:
            raise FaultInputError(f"{self.address!r} is not an IPv4 address", device=self.device,
                                  step="fault target") from None

    def tag(self, fault_id: str) -> str:
        return f"{TAG}:{self.device}:{fault_id}"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%?")
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(kbit|mbit|gbit)", re.IGNORECASE)
_BYTES = re.compile(r"(\d+)\s*([kKmM]?)(i?B)?")
_RATE_UNITS = {"kbit": 1, "mbit": 1000, "gbit": 1_000_000}
_BYTE_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


def _bad(text: str, what: str, example: str) -> FaultInputError:
    return FaultInputError(f"{text!r} is not {what} (e.g. {example})", step="fault add")


def parse_ms(text: str) -> float:
    """``200ms``, ``0.2s`` or ``200`` (milliseconds)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise _bad(text, "a duration", "200ms")
    value = float(match.group(1))
    return value * 1000 if match.group(2) == "s" else value


def parse_percent(text: str) -> float:
    match = _PERCENT.fullmatch(text.strip())
    if not match or not 0 < float(match.group(1)) <= 100:
        raise _bad(text, "a share of packets in (0, 100] %", "5%")
    return float(match.group(1))


def parse_rate(text: str) -> int:
    """``1mbit`` → 1000 (kbit/s); tc's units."""
    match = _RATE.fullmatch(text.strip())
    if not match:
        raise _bad(text, "a rate", "1mbit or 512kbit")
    kbit = int(float(match.group(1)) * _RATE_UNITS[match.group(2).lower()])
    if kbit < 8:
        raise _bad(text, "a rate of at least 8 kbit/s", "1mbit")
    return kbit


def parse_bytes(text: str) -> int:
    """``64k``, ``1M``, ``4096`` (binary units)."""
    match = _BYTES.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise _bad(text, "a positive byte count", "64k")
    return int(match.group(1)) * _BYTE_UNITS[match.group(2).lower()]


def make_fault(kind: str, value: str | None = None, *, link: str = "all", jitter: str | None = None) -> Fault:
    """A fault from ``hil fault add``'s words: ``latency 200ms --jitter 20ms``, ``loss 5%``, ``rate 1mbit``,
    ``down``, ``reset 64k``."""
    try:
        k, where = Kind(kind), Link(link)
    except ValueError as exc:
        raise FaultInputError(f"{exc}: kinds are {', '.join(Kind)}; links are {', '.join(Link)}",
                              step="fault add") from None
    needs_value = k is not Kind.DOWN
    if needs_value and value is None:
        raise FaultInputError(f"{k} needs a value (latency 200ms, loss 5%, rate 1mbit, reset 64k)", step="fault add")
    if not needs_value and value is not None:
        raise FaultInputError(f"down takes no value (got {value!r})", step="fault add")
    if jitter is not None and k is not Kind.LATENCY:
        raise FaultInputError("--jitter belongs to latency", step="fault add")
    if k is Kind.RATE and where is not Link.ALL:
        raise FaultInputError("a rate cap is on the device's whole link (--link all)", step="fault add")
    if k is Kind.LATENCY:
        rtt, jit = parse_ms(value or ""), parse_ms(jitter) if jitter else 0.0
        if rtt <= 0 or jit > rtt / 2:
            raise FaultInputError(f"latency needs RTT > 0 and jitter ≤ RTT/2 (got {rtt:g} ms ±{jit:g} ms)",
                                  step="fault add")
        return Fault(k, where, rtt_ms=rtt, jitter_ms=jit)
    if k is Kind.LOSS:
        return Fault(k, where, loss_percent=parse_percent(value or ""))
    if k is Kind.RATE:
        return Fault(k, where, rate_kbit=parse_rate(value or ""))
    if k is Kind.RESET:
        return Fault(k, where, after_bytes=parse_bytes(value or ""))
    return Fault(k, where)

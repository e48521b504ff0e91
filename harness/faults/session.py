"""The faults one test (or one block of code) added, removed when it ends: the ``network_fault`` fixture's object."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from harness.faults.inject import Injector
from harness.faults.model import Fault, Kind, Link, Target, make_fault


class _Handle(Protocol):  # a lab Device: its name, and a transport to reconnect through a new proxy
    name: str

    @property
    def transport(self) -> object: ...


class FaultSet:
    """``add`` faults on devices (by name or handle); ``clear`` (or the fixture's teardown) removes them all."""

    def __init__(self, target_of: Callable[[str], Target]) -> None:
        self._target_of = target_of
        self._injectors: dict[str, Injector] = {}

    def _injector(self, device: str) -> Injector:
        if device not in self._injectors:
            self._injectors[device] = Injector(self._target_of(device))
        return self._injectors[device]

    def add(self, device: str | _Handle, kind: str, value: str | None = None, *, link: str = "all",
            jitter: str | None = None) -> Fault:
        """Install a fault (``add(device, "latency", "200ms", jitter="20ms")``); a latency fault on the
        controller's link closes the device's SSH connection so the next command goes through the proxy."""
        name = device if isinstance(device, str) else device.name
        fault = self._injector(name).add(make_fault(kind, value, link=link, jitter=jitter))
        if fault.kind is Kind.LATENCY and fault.link is not Link.BROKER and not isinstance(device, str):
            device.transport.close()  # type: ignore[attr-defined]
        return fault

    def remove(self, device: str | _Handle, fault: Fault) -> None:
        self._injector(device if isinstance(device, str) else device.name).remove(fault.id)

    @contextmanager
    def during(self, device: str | _Handle, kind: str, value: str | None = None, **how: str) -> Iterator[Fault]:
        """The fault for the ``with`` block only."""
        fault = self.add(device, kind, value, **how)
        try:
            yield fault
        finally:
            self.remove(device, fault)

    def active(self) -> dict[str, list[Fault]]:
        return {name: injector.active() for name, injector in self._injectors.items()}

    def clear(self) -> None:
        for injector in self._injectors.values():
            injector.clear()

"""One table of transports keyed by hostspec scheme; each backend registers itself.

The shape of pytest-testinfra's ``BACKENDS`` and labgrid's ``target_factory``: a backend file
decorates its class with ``@register("scheme")`` and implements ``from_spec``; nothing else names
it. :func:`transport_for` turns a device's address (hostspec, credentials, options) into a
transport. Every module of this package is imported once, on the first lookup, so a new backend
is one file and one registration.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from harness.errors import FailureClass, TransportError
from harness.transport.hostspec import HostSpec

if TYPE_CHECKING:
    from harness.transport.base import Transport

_NOT_BACKENDS = {"base", "hostspec", "registry"}
_BACKENDS: dict[str, type[Transport]] = {}
_discovered = False
_discovering = threading.RLock()

B = TypeVar("B", bound="Transport")


@dataclass(frozen=True)
class Credentials:
    """How a backend proves who it is and checks who it reached; a password is never logged."""

    key_file: Path | None = None
    password: str | None = None
    known_hosts: Path | None = None
    auto_add_host_key: bool = False


@dataclass(frozen=True)
class TransportSpec:
    """Everything a backend needs to reach one device: its name (for errors), hostspec, credentials."""

    device: str
    hostspec: HostSpec
    credentials: Credentials = Credentials()
    #: Backend settings that are not part of the address (e.g. ``docker_host`` for docker://).
    options: Mapping[str, str] = field(default_factory=dict)

    def option(self, name: str) -> str | None:
        return self.options.get(name) or self.hostspec.options.get(name)


class UnknownTransport(TransportError):
    """A hostspec scheme no backend registered."""

    failure_class = FailureClass.INVENTORY


def register(scheme: str) -> Callable[[type[B]], type[B]]:
    """Class decorator: make ``scheme://`` hostspecs reach devices through the decorated backend."""

    def add(cls: type[B]) -> type[B]:
        known = _BACKENDS.get(scheme)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"transport scheme {scheme!r} is taken by {known.__module__}.{known.__qualname__}")
        cls.scheme = scheme
        _BACKENDS[scheme] = cls
        return cls

    return add


def _discover() -> None:
    """Import every backend module once; threads that ask meanwhile wait for the imports to finish."""
    global _discovered
    with _discovering:
        if _discovered:
            return
        package = importlib.import_module("harness.transport")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name not in _NOT_BACKENDS and not module.name.startswith("_"):
                importlib.import_module(f"harness.transport.{module.name}")
        _discovered = True


def schemes() -> list[str]:
    """The registered hostspec schemes, sorted."""
    _discover()
    return sorted(_BACKENDS)


def backend(scheme: str, device: str | None = None) -> type[Transport]:
    """The backend class registered for ``scheme``; UnknownTransport lists the registered ones."""
    _discover()
    try:
        return _BACKENDS[scheme]
    except KeyError:
        raise UnknownTransport(f"no transport for {scheme}:// (registered: {', '.join(sorted(_BACKENDS))})",
                               device=device, step="transport",
                               advice="fix the device's connection hostspec in the lab file") from None


def transport_for(spec: TransportSpec) -> Transport:
    """The transport that reaches ``spec.device`` as its hostspec says."""
    return backend(spec.hostspec.scheme, spec.device).from_spec(spec)

"""Transports: how commands and files reach a device. One interface, one file per backend,
chosen by hostspec scheme through the registry (``transport_for``)."""

from __future__ import annotations

from harness.transport.base import CommandResult, Transport
from harness.transport.hostspec import HostSpec, HostSpecError, parse_hostspec
from harness.transport.registry import Credentials, TransportSpec, UnknownTransport, register, transport_for

__all__ = ["CommandResult", "Credentials", "HostSpec", "HostSpecError", "Transport", "TransportSpec",
           "UnknownTransport", "parse_hostspec", "register", "transport_for"]

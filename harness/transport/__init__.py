"""Transports: how commands and files reach a device. One interface, one file per backend."""

from __future__ import annotations

from harness.transport.base import CommandResult, Transport
from harness.transport.hostspec import HostSpec, HostSpecError, parse_hostspec

__all__ = ["CommandResult", "HostSpec", "HostSpecError", "Transport", "parse_hostspec"]

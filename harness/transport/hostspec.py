"""Hostspec URLs in the style of pytest-testinfra: ``ssh://user@host:port``, ``docker://[user@]container``, ``local://``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

# RFC 1123 host names, IPv4, or a bracketed IPv6 literal; docker names are [a-zA-Z0-9][a-zA-Z0-9_.-]*.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9_.-]{0,252}))$")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")


class HostSpecError(ValueError):
    """A hostspec that does not parse; the message says what a valid one looks like."""


@dataclass(frozen=True)
class HostSpec:
    scheme: str
    host: str = ""
    user: str | None = None
    port: int | None = None
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{user}{self.host}{port}"


def parse_hostspec(text: str) -> HostSpec:
    """Parse and validate a hostspec; raises HostSpecError with the expected forms."""
    from harness.transport.registry import schemes  # the backends register their schemes

    expected = "expected ssh://[user@]host[:port], docker://[user@]container or local://"
    if not isinstance(text, str) or "://" not in text:
        raise HostSpecError(f"not a hostspec: {text!r} ({expected})")
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as exc:
        raise HostSpecError(f"not a hostspec: {text!r} ({exc})") from None
    if url.scheme not in schemes():
        raise HostSpecError(f"unknown transport {url.scheme!r} in {text!r} "
                            f"(registered: {', '.join(schemes())}; {expected})")
    if url.path not in ("", "/") or url.fragment or url.password:
        raise HostSpecError(f"unexpected path, fragment or password in {text!r} ({expected})")
    host = url.hostname or ""
    if url.scheme == "local":
        if host or url.username or port:
            raise HostSpecError(f"local:// takes no host, user or port: {text!r}")
        return HostSpec("local")
    if not host or not _HOST.fullmatch(host if ":" not in host else f"[{host}]"):
        raise HostSpecError(f"bad host {host!r} in {text!r} ({expected})")
    if url.username is not None and not _USER.fullmatch(url.username):
        raise HostSpecError(f"bad user name {url.username!r} in {text!r}")
    if url.scheme == "docker" and port is not None:
        raise HostSpecError(f"docker:// takes no port: {text!r}")
    # urlsplit lower-cases hostname; docker container names are case-sensitive.
    netloc_host = url.netloc.rsplit("@", 1)[-1]
    if url.scheme == "docker":
        host = netloc_host
    return HostSpec(url.scheme, host, url.username, port, dict(parse_qsl(url.query)))

"""SHA-256 streamed from files (a large model never sits in memory twice) and stable keys of values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    return sha256_file_raw(path).hex()


def sha256_file_raw(path: Path | str) -> bytes:
    """Raw SHA-256 of a file (Greengrass recipes carry it base64-encoded)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.digest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stable_key(value: Any, length: int | None = None) -> str:
    """Hex SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces), optionally cut to ``length``.

    The same value gives the same key in every process and on every machine: use it for cache keys
    and "did anything change" labels.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return digest[:length] if length else digest

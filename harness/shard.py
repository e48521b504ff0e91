"""`--shard K/N`: the K-th of N disjoint slices of a lab's devices, for CI matrix jobs sharing one lab file.

Whole devices only (a device's scenarios share its state: deployments, rollbacks, its bench lock), and the
same slice for the same device list on every machine: devices sorted by name, dealt round-robin. Sorting
first means the order of the lab file does not matter; dealing (not cutting into runs) spreads boards of
one type, which sit next to each other in a lab file, over the shards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import InventoryError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(InventoryError):
    """A --shard that is not K/N with 1 <= K <= N, or a shard left without devices."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def devices(self, names: Iterable[str]) -> list[str]:
        """This shard's device names (sorted); every name lands in exactly one of the N shards."""
        return [name for i, name in enumerate(sorted(set(names))) if i % self.count == self.index - 1]


def parse_shard(text: str) -> Shard:
    """``2/4`` -> Shard(2, 4); anything else is one line saying what is expected."""
    match = _SHARD.match(text)
    if not match:
        raise ShardError(f"--shard {text!r}: expected K/N, e.g. 1/2 (the K-th of N shards)", step="shard")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text!r}: K must be between 1 and N (N >= 1)", step="shard")
    return Shard(index, count)


def shard_devices(shard: Shard, names: Iterable[str]) -> list[str]:
    """The shard's devices; a shard with none is an error (more shards than devices is a CI matrix mistake)."""
    names = list(names)
    mine = shard.devices(names)
    if not mine:
        raise ShardError(f"--shard {shard}: no device in this shard: the lab has {len(set(names))} device(s) "
                         f"for {shard.count} shards", step="shard",
                         advice="use at most as many shards as the lab has devices")
    return mine

"""`--shard K/N`: every device in exactly one shard, whole, the same slice whatever the lab file's order."""

from __future__ import annotations

import argparse
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import run as run_cli
from harness.run import _shard, pytest_argv
from harness.shard import Shard, ShardError, parse_shard, shard_devices

names = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True), min_size=1, max_size=40, unique=True)


@given(names, st.integers(min_value=1, max_value=12))
def test_shards_partition_the_devices(devices, count):
    shards = [Shard(k, count).devices(devices) for k in range(1, count + 1)]
    flat = [name for shard in shards for name in shard]
    assert sorted(flat) == sorted(devices)  # each device once: none lost, none twice
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1  # dealt round-robin: shards differ by at most one device


@given(names, st.integers(min_value=1, max_value=6), st.randoms(use_true_random=False))
def test_a_shard_does_not_depend_on_the_lab_file_order(devices, count, rnd: random.Random):
    shuffled = list(devices)
    rnd.shuffle(shuffled)
    for k in range(1, count + 1):
        assert Shard(k, count).devices(devices) == Shard(k, count).devices(shuffled)


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "1/-2", ""])
def test_bad_shard_syntax_is_one_line(text):
    with pytest.raises(ShardError, match="--shard"):
        parse_shard(text)


def test_parse_accepts_spaces_and_prints_back():
    assert str(parse_shard(" 2 / 3 ")) == "2/3"


def test_more_shards_than_devices_is_refused():
    with pytest.raises(ShardError, match="no device in this shard: the lab has 2 device"):
        shard_devices(Shard(3, 3), ["a", "b"])


def test_shard_with_device_selection_is_refused():
    with pytest.raises(ShardError, match="drop --device"):
        _shard("1/2", ["a", "b"], ["--device", "a"])
    assert _shard(None, ["a", "b"], []) is None


def test_run_passes_the_shard_as_device_options(tmp_path):
    parser = argparse.ArgumentParser()
    run_cli.register(parser.add_subparsers())
    args, rest = parser.parse_known_args(["run", "--lab", "lab.yaml", "-k", "smoke"])  # every option of `hil run`
    args.pytest_args = rest
    shard = _shard("2/2", ["c", "a", "b"], args.pytest_args)
    argv = pytest_argv(args, tmp_path, devices=len(shard), shard=shard)
    assert [a for a in argv if a.startswith("--device=")] == ["--device=b"]

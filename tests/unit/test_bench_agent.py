"""The on-device agent's pure logic: its arguments, the single-stream stopping rule, its inputs."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest

from harness.ondevice import agent


def test_profiles_give_defaults_and_flags_override_them():
    ci = agent.parse_args(["--model-dir", "m"])
    assert (ci.warmup_count, ci.warmup_seconds, ci.min_count, ci.min_seconds) == agent.PROFILES["ci"]
    nightly = agent.parse_args(["--model-dir", "m", "--profile", "nightly", "--min-count", "50"])
    assert nightly.min_count == 50 and nightly.min_seconds == agent.PROFILES["nightly"][3]
    assert agent.PROFILES["nightly"][2] >= 300 and agent.PROFILES["nightly"][3] >= 10


@pytest.mark.parametrize("argv", [
    [],  # no model
    ["--model-dir", "m", "--min-count", "0"],
    ["--model-dir", "m", "--warmup-seconds", "-1"],
    ["--model-dir", "m", "--max-seconds", "0"],
    ["--model-dir", "m", "--runtime", "tensorrt"],
    ["--self-test-alloc-mib", "0"],
])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        agent.parse_args(argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


class Clock:
    """A device clock that advances ``step_ns`` per inference: the loop's logic without real time."""

    def __init__(self, step_ns: int) -> None:
        self.now, self.step, self.calls = 0, step_ns, 0

    def __call__(self) -> int:
        return self.now

    def run(self) -> None:
        self.calls += 1
        self.now += self.step


def settings(**kw) -> Namespace:
    base = {"warmup_count": 2, "warmup_seconds": 0.0, "min_count": 20, "min_seconds": 1.0, "max_seconds": 600.0}
    return Namespace(**{**base, **kw})


@pytest.mark.parametrize(("step_ms", "kw", "count"), [
    (10, {}, 100),                               # duration is the binding minimum: 1 s / 10 ms
    (100, {}, 20),                               # count is binding: 20 queries take 2 s
    (10, {"min_count": 150}, 150),
    (10, {"max_seconds": 0.5, "min_count": 1000}, 51),  # stops at max-seconds, flagged invalid
])
def test_single_stream_stops_when_both_minimums_are_met(step_ms, kw, count):
    clock = Clock(step_ms * 1_000_000)
    out = agent.single_stream(clock.run, settings(**kw), clock=clock)
    assert len(out["samples_ns"]) == count
    assert all(s == step_ms * 1_000_000 for s in out["samples_ns"])
    assert out["valid"] is ("max_seconds" not in kw)
    assert out["first_inference_ms"] == step_ms


def test_warm_up_honours_count_and_time():
    clock = Clock(10_000_000)
    out = agent.single_stream(clock.run, settings(warmup_count=3, warmup_seconds=0.2, min_count=1, min_seconds=0),
                              clock=clock)
    assert out["warmup"]["count"] == 20 and out["warmup"]["seconds"] == pytest.approx(0.2)
    clock = Clock(100_000_000)
    out = agent.single_stream(clock.run, settings(warmup_count=5, warmup_seconds=0.2, min_count=1, min_seconds=0),
                              clock=clock)
    assert out["warmup"]["count"] == 5


def test_inputs_come_from_meta_shapes_or_an_npz(tmp_path):
    import numpy as np

    (tmp_path / "compiled.meta").write_text(json.dumps({"inputs": [
        {"name": "data", "shape": [1, 3, 4, 4], "dtype": "float32"},
        {"name": "ids", "shape": [2], "dtype": "int64"},
        {"name": "mask", "shape": [2], "dtype": "bool"}]}))
    feed = agent.model_inputs(agent.parse_args(["--model-dir", str(tmp_path)]))
    assert {k: (v.shape, str(v.dtype)) for k, v in feed.items()} == {
        "data": ((1, 3, 4, 4), "float32"), "ids": ((2,), "int64"), "mask": ((2,), "bool")}
    np.savez(tmp_path / "in.npz", data=np.ones((1, 3, 4, 4), "float32"))
    feed = agent.model_inputs(agent.parse_args(["--model-dir", str(tmp_path), "--inputs", str(tmp_path / "in.npz")]))
    assert list(feed) == ["data"] and feed["data"].sum() == 48

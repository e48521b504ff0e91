"""The latency statistics shared by the agent and the host: LoadGen's percentile rule, checked three ways."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ondevice.stats import percentile, summarize

samples = st.lists(st.floats(min_value=0.0, max_value=1e6, allow_nan=False), min_size=1, max_size=400)
quantiles = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


def test_hand_computed_values():
    data = [float(x) for x in range(1, 11)]  # 1..10, shuffled order must not matter
    shuffled = data[5:] + data[:5]
    assert percentile(shuffled, 50) == 6.0  # sorted[floor(10*0.5)] = sorted[5]
    assert percentile(shuffled, 90) == 10.0  # sorted[9], not 9.1 (numpy's linear)
    assert percentile(shuffled, 99) == 10.0
    assert percentile(shuffled, 0) == 1.0
    assert percentile(shuffled, 100) == 10.0
    assert percentile([float(x) for x in range(300)], 90) == 270.0


@given(samples, quantiles)
def test_percentile_is_an_observed_value_with_the_loadgen_rank(data, q):
    value = percentile(data, q)
    assert value in data
    rank = min(math.floor(len(data) * q / 100), len(data) - 1)
    assert sum(x < value for x in data) <= rank < sum(x <= value for x in data)


@given(samples, st.sampled_from([50.0, 90.0, 99.0, 12.5]))
def test_matches_numpy_inverted_cdf_when_n_times_q_is_not_whole(data, q):
    if (len(data) * q / 100).is_integer():
        return  # the two rules differ by one rank exactly there (LoadGen takes the next sample)
    assert percentile(data, q) == np.percentile(np.array(data), q, method="inverted_cdf")


@given(samples)
def test_summary_agrees_with_numpy(data):
    s = summarize(data)
    arr = np.array(data)
    assert s["count"] == len(data)
    assert s["min"] == arr.min() and s["max"] == arr.max()
    assert s["mean"] == pytest.approx(float(arr.mean()), rel=1e-9, abs=1e-9)
    assert s["std"] == pytest.approx(float(arr.std(ddof=1)) if len(data) > 1 else 0.0, rel=1e-6, abs=1e-6)
    assert s["min"] <= s["p50"] <= s["p90"] <= s["p99"] <= s["max"]


@pytest.mark.parametrize("bad", [-0.1, 100.1, math.nan])
def test_bad_percentile_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="outside 0..100"):
        percentile([1.0], bad)


def test_no_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="no samples"):
        summarize([])
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)

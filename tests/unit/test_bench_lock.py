"""The measurement lock: keyed by physical host; different hosts never wait for each other."""

from __future__ import annotations

import pytest

from harness.bench.lock import THIS_HOST, host_key, measurement_lock


@pytest.mark.parametrize(("connection", "emulated", "key"), [
    (None, True, THIS_HOST),
    ("local://", False, THIS_HOST),
    ("docker://hil@core-1", False, THIS_HOST),
    ("ssh://pi@10.0.0.7:22", False, "10.0.0.7"),
    ("ssh://hil@10.213.7.2:22", True, THIS_HOST),
])
def test_host_key(connection, emulated, key):
    assert host_key(connection, emulated) == key


def test_other_hosts_do_not_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    with measurement_lock("10.0.0.7", timeout=5), measurement_lock("10.0.0.8", timeout=0.1) as other:
        assert other.waited_s < 0.1

"""The compile cache publishes whole entries atomically, also when two compiles race for one key."""

from __future__ import annotations

import threading
import time

import pytest

from harness.compile.cache import CompileCache, cache_key


def _produce(tag: str, delay: float = 0.0):
    def produce(tmp):
        (tmp / "compiled.so").write_text(tag)
        time.sleep(delay)
        (tmp / "compiled.meta").write_text(tag)
    return produce


def test_key_depends_on_every_part():
    base = {"model": "a" * 64, "inputs": [["data", [1, 3, 224, 224], "float32"]], "tvm_target": {"mcpu": "x"}}
    keys = {cache_key(base), cache_key({**base, "model": "b" * 64}),
            cache_key({**base, "inputs": [["data", [1, 3, 112, 112], "float32"]]}),
            cache_key({**base, "tvm_target": {"mcpu": "y"}})}
    assert len(keys) == 4
    assert cache_key(dict(reversed(list(base.items())))) == cache_key(base)


def test_racing_fills_leave_one_complete_entry(tmp_path):
    cache, key = CompileCache(tmp_path), "f" * 64
    results, errors = [], []

    def worker(tag):
        try:
            results.append(cache.fill(key, _produce(tag, 0.05)))
        except Exception as exc:  # pragma: no cover - would fail the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("one", "two", "three")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and len(set(results)) == 1
    entry = cache.lookup(key)
    assert entry == results[0]
    assert (entry / "compiled.so").read_text() == (entry / "compiled.meta").read_text()
    assert [p.name for p in entry.parent.iterdir()] == [key]  # no temporary directories left behind


def test_failed_produce_leaves_nothing_and_damaged_entry_is_replaced(tmp_path):
    cache, key = CompileCache(tmp_path), "e" * 64

    def broken(tmp):
        (tmp / "compiled.so").write_text("half")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError):
        cache.fill(key, broken)
    assert cache.lookup(key) is None and list(cache.entry(key).parent.iterdir()) == []
    cache.entry(key).mkdir()
    (cache.entry(key) / "compiled.so").write_text("stale")  # meta missing: a damaged entry
    assert cache.lookup(key) is None
    assert (cache.fill(key, _produce("new")) / "compiled.so").read_text() == "new"


def test_temporary_entries_left_by_a_sigkill_are_swept_by_age_on_the_next_use(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    child = ("import sys, time\nfrom pathlib import Path\nfrom harness.compile.cache import CompileCache\n"
             "def produce(tmp):\n    (tmp / 'compiled.so').write_text('half')\n    print('ready', flush=True)\n"
             "    time.sleep(60)\n"
             "CompileCache(Path(sys.argv[1])).fill('ab' + 'c' * 62, produce)\n")
    proc = subprocess.Popen([sys.executable, "-c", child, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    (abandoned,) = (tmp_path / "ab").glob(".*")
    fresh = Path(tmp_path / "ab" / ".abcccccccccc-inprogress")
    fresh.mkdir()  # another compile at work right now: young, so kept
    old = time.time() - 7 * 3600
    os.utime(abandoned, (old, old))
    cache = CompileCache(tmp_path)
    assert cache.lookup("ab" + "c" * 62) is None
    assert not abandoned.exists() and fresh.exists()
    assert cache.fill("ab" + "c" * 62, _produce("whole")) == tmp_path / "ab" / ("ab" + "c" * 62)

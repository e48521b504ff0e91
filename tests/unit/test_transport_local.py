import hashlib
import time

import pytest

from harness.errors import CommandTimeout, TransferError, TransportError
from harness.transport.base import CommandResult, bounded, to_shell
from harness.transport.local import LocalTransport


def test_argv_is_quoted_word_by_word():
    assert to_shell(["echo", "a b", "$HOME;rm -rf /"]) == "echo 'a b' '$HOME;rm -rf /'"
    result = LocalTransport("host").run(["echo", "a b", "$HOME;x"])
    assert result.stdout == "a b $HOME;x\n"


def test_exit_status_stdout_stderr_and_stdin():
    result = LocalTransport("host").run("cat; echo err >&2; exit 3", stdin=b"in")
    assert (result.exit_status, result.stdout, result.stderr) == (3, "in", "err\n")
    assert not result.ok


def test_signal_is_reported_by_number():
    assert CommandResult("x", 132, "", "").signal == 4  # SIGILL: what a CPU without the model's ISA does
    assert CommandResult("x", 1, "", "").signal is None


def test_timeout_kills_the_whole_group_and_names_the_device():
    start = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        LocalTransport("bench-1").run("sleep 30 & sleep 30", timeout=0.5)
    assert time.monotonic() - start < 2.5
    assert "bench-1: exec: [timeout]" in str(err.value)


def test_check_raises_with_step_and_tail():
    with pytest.raises(TransportError, match=r"bench-1: probe: \[command\] `echo nope >&2; false` exited 1: nope"):
        LocalTransport("bench-1").check("echo nope >&2; false", step="probe")


def test_bounded_makes_the_device_kill_the_command():
    line = bounded("sleep 5; echo done", 1.2, {"A": "b c"})
    assert line == "env 'A=b c' timeout -s KILL 3 sh -c 'sleep 5; echo done'"
    start = time.monotonic()
    result = LocalTransport("host").run(line, timeout=10)
    assert result.exit_status == 137 and time.monotonic() - start < 4


def test_put_get_round_trip(tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    seen = []
    transport = LocalTransport("host")
    transport.put(src, str(tmp_path / "remote" / "b.bin"), progress=lambda done, total: seen.append(done))
    transport.get(str(tmp_path / "remote" / "b.bin"), tmp_path / "c.bin")
    assert hashlib.sha256((tmp_path / "c.bin").read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()
    assert seen == [256000]
    with pytest.raises(TransferError, match="host: get"):
        transport.get(str(tmp_path / "missing"), tmp_path / "x")

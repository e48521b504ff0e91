import hashlib
import time
from pathlib import Path

import pytest

from harness.errors import CommandTimeout, TransferError, TransportError
from harness.primitives.deadline import poll_until
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


def test_bounded_makes_the_device_itself_kill_a_timed_out_command(tmp_path):
    """The wrapper a remote backend sends: the device ends the command even if nobody waits for it."""
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    result = LocalTransport("host").run(bounded(f"sleep 30 & echo $! > {pidfile}; wait; echo done", 0.5),
                                        timeout=20)
    assert result.exit_status == 137 and result.signal == 9 and "done" not in result.stdout
    assert time.monotonic() - start < 5
    status = Path(f"/proc/{int(pidfile.read_text())}/status")

    def ended() -> bool:  # killed, not left running: gone, or a zombie where nothing reaps orphans
        try:
            return "\tZ" in status.read_text().split("State:", 1)[1].splitlines()[0]
        except OSError:
            return True

    # SIGKILL is delivered asynchronously: on a loaded host the process may linger a moment
    assert poll_until(ended, 5.0, interval=0.05)


def test_bounded_passes_the_environment_and_the_exit_status():
    result = LocalTransport("host").run(bounded('echo "$A"; exit 4', 5, {"A": "b c; $HOME"}), timeout=10)
    assert (result.exit_status, result.stdout) == (4, "b c; $HOME\n")


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

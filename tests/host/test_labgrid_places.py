"""Places through a real labgrid coordinator and exporter on 127.0.0.1: acquire, read the NetworkService,
wait for and report another holder, and what happens to a place when its holder is interrupted or killed."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.primitives.deadline import poll_until
from harness.transport.hostspec import parse_hostspec
from harness.transport.labgrid import LabgridTransport
from harness.transport.labgrid_client import PlaceClient, PlaceLocked, place_info
from harness.transport.registry import TransportSpec, transport_for
from tests.host.labgrid_lab import interruptible, labgrid_lab

ROOT = Path(__file__).resolve().parents[2]
SERVICE = {"address": "192.0.2.7", "username": "hil", "port": 2222}  # TEST-NET-1: never dialled here


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with labgrid_lab(tmp_path_factory.mktemp("labgrid"), {"board1": SERVICE}) as coordinator:
        coordinator.add_place("rpi4-07", "exp1", "board1")
        yield coordinator


@pytest.fixture
def place(lab):
    yield "rpi4-07"
    lab.client("-p", "rpi4-07", "release", "--kick", check=False)  # a failed test leaves the next one a free place


def _holder(lab, place) -> str | None:
    info = place_info(lab.address, place, "board")
    return None if info.holder is None else info.holder.user


def test_acquire_reads_the_network_service_and_release_frees_the_place(lab, place):
    client = PlaceClient(lab.address, "board")
    try:
        client.acquire(place, wait_s=5)
        assert client.network_service(place) == SERVICE
        assert _holder(lab, place) == os.environ.get("LG_USERNAME", getpass.getuser())  # labgrid's own rule
        client.release(place)
        assert _holder(lab, place) is None
    finally:
        client.close()


def test_status_shows_exporter_holder_and_service_without_acquiring(lab, place):
    lab.client("-p", place, "acquire", user="alice")
    info = place_info(lab.address, place, "board")
    assert info.exporters == ("exp1",)
    assert info.network_service == SERVICE
    assert info.holder is not None and info.holder.user == "alice"
    lab.client("-p", place, "release", user="alice")
    assert place_info(lab.address, place, "board").holder is None


def test_a_place_held_by_another_user_is_locked_by_them_after_the_wait(lab, place):
    lab.client("-p", place, "acquire", user="alice")
    transport = transport_for(TransportSpec("board", parse_hostspec(f"labgrid://{lab.address}?place={place}&wait_s=2")))
    assert isinstance(transport, LabgridTransport)
    started = time.monotonic()
    with pytest.raises(PlaceLocked, match=r"labgrid place rpi4-07 locked by alice since 20\d\d-\S+ \(on .+\)") as err:
        transport.run(["true"])
    waited = time.monotonic() - started
    assert 2.0 <= waited < 10.0, waited
    assert err.value.failure_class == "unreachable" and err.value.device == "board"
    assert _holder(lab, place) == "alice"  # the waiter took nothing


def test_a_waiter_gets_the_place_once_the_holder_releases(lab, place):
    lab.client("-p", place, "acquire", user="alice")
    releaser = threading.Timer(2.0, lambda: lab.client("-p", place, "release", user="alice"))
    releaser.start()
    client = PlaceClient(lab.address, "board")
    try:
        started = time.monotonic()
        client.acquire(place, wait_s=30)
        waited = time.monotonic() - started
        assert 2.0 <= waited < 15.0, waited
        assert _holder(lab, place) not in (None, "alice")
        client.release(place)
    finally:
        releaser.join()
        client.close()


HOLDER = """
import sys, time
from harness.transport.hostspec import parse_hostspec
from harness.transport.registry import TransportSpec, transport_for
t = transport_for(TransportSpec("board", parse_hostspec(sys.argv[1])))
try:
    t.board()
except Exception:
    pass  # the SSH connect to the NetworkService (a TEST-NET address) fails; the place is held
print("held", flush=True)
time.sleep(600)
"""


def _holding_child(lab, place, user):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LG_USERNAME": user}
    child = subprocess.Popen([sys.executable, "-c", HOLDER, f"labgrid://{lab.address}?place={place}&wait_s=5"],
                             env=env, stdout=subprocess.PIPE, text=True, preexec_fn=interruptible)
    assert poll_until(lambda: _holder(lab, place) == user or None, 60), "the child never acquired the place"
    return child


def test_ctrl_c_of_the_holding_run_releases_the_place(lab, place):
    child = _holding_child(lab, place, "carol")
    child.send_signal(signal.SIGINT)
    child.wait(timeout=30)
    assert poll_until(lambda: _holder(lab, place) is None or None, 10), "place still held after Ctrl-C"


def test_sigkill_leaves_the_place_held_until_someone_releases_it(lab, place):
    """labgrid's coordinator keeps a place acquired when its holder's connection drops (places survive
    client restarts): a killed run's place is reclaimed with `labgrid-client -p NAME release --kick`."""
    child = _holding_child(lab, place, "dave")
    child.kill()
    child.wait(timeout=30)
    time.sleep(3)
    assert _holder(lab, place) == "dave"
    lab.client("-p", place, "release", "--kick", user="erin")
    assert _holder(lab, place) is None


def test_lab_status_shows_a_locked_place_without_opening_the_board(lab, place):
    from harness.lab.inventory import DeviceSpec
    from harness.lab.status import status_row

    lab.client("-p", place, "acquire", user="alice")
    spec = DeviceSpec.model_validate({"name": "pi-07", "profile": "rasp4b",
                                      "labgrid": {"place": place, "coordinator": lab.address}})
    opened = []
    row = status_row(spec, opened.append)
    assert opened == []  # a held place is reported, never waited for
    assert row["reachable"] is False and row["error"].startswith("[unreachable] labgrid place rpi4-07 locked by alice")
    assert row["place"] == {"place": place, "coordinator": lab.address, "exporters": ["exp1"],
                            "address": "hil@192.0.2.7:2222", "locked_by": row["place"]["locked_by"]}

"""The lab broker scopes each thing as an AWS IoT policy does (real mosquitto, started here on free ports):
a core's certificate reads and writes only its own result topics, its CN is its client id, the harness's
identity only reads, and mosquitto itself does not run as root.

mosquitto 2.0 accepts every SUBSCRIBE and checks read access when it delivers each message
(eclipse/mosquitto v2.0.11 src/security_default.c: "FIXME - implement ACL subscription strings"), and
acknowledges a refused QoS 1 PUBLISH as if it were delivered: so the checks here are on what arrives.
"""

from __future__ import annotations

import json
import os
import pwd
import queue
import stat
import subprocess
import time
from collections.abc import Iterator

import pytest

from harness.errors import LabError
from harness.mqtt.acl import thing_topic
from harness.mqtt.lab import LabIoT
from harness.mqtt.subscriber import ResultSubscriber
from harness.ondevice import link
from harness.ondevice.payload import build_payload

pytestmark = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v mosquitto || test -x /usr/sbin/mosquitto"],
                                               capture_output=True).returncode != 0,
                                reason="mosquitto is not installed (./dev installs it)")

A, B = "core-a", "core-b"
QUIET = 1.0  # s to wait for a message that must not come, after one sent later has arrived


@pytest.fixture
def iot(tmp_path) -> Iterator[LabIoT]:
    lab = LabIoT(tmp_path / "iot")
    lab.start(None)
    run_dir = lab.broker().run_dir
    yield lab
    assert lab.stop()
    assert not run_dir.exists()  # the broker's copy of the server key goes with it


def result(image: str) -> str:
    return json.dumps(build_payload([0.1, 3.0, 0.2], None, image=image))


def inbox(connection, topics: list[str]) -> queue.Queue:
    got: queue.Queue = queue.Queue()
    for topic in topics:
        future, _ = connection.subscribe(topic, link.QOS1, callback=lambda topic, payload, **_: got.put(topic))
        future.result(5)
    return got


def images(subscriber: ResultSubscriber) -> list[str]:
    return [json.loads(m.payload).get("image") for m in subscriber.received]


def test_a_thing_cannot_read_another_things_results(iot):
    things = iot.cores_endpoint()
    spy = link.connect(things, iot.credentials(A), A)
    owner = link.connect(things, iot.credentials(B), B)
    try:
        stolen = inbox(spy, ["#", f"ml/dlr/+/{B}/#", thing_topic("image-classification", B)])
        with ResultSubscriber(iot.endpoint, iot.credentials(), "ml/dlr/#") as harness:
            owner.publish(thing_topic("image-classification", B), result("b.png"), link.QOS1)[0].result(5)
            harness.expect(lambda r: r.image == "b.png", within=10)  # delivered: the harness reads every result
            time.sleep(QUIET)
        assert stolen.empty(), f"core-a's certificate received {stolen.get()}"
    finally:
        link.disconnect(spy)
        link.disconnect(owner)


def test_a_thing_cannot_publish_on_another_things_topic(iot):
    forger = link.connect(iot.cores_endpoint(), iot.credentials(A), A)
    try:
        with ResultSubscriber(iot.endpoint, iot.credentials(), "ml/dlr/#") as harness:
            forger.publish(thing_topic("image-classification", B), result("forged.png"), link.QOS1)[0].result(5)
            forger.publish("ml/dlr/image-classification", result("unscoped.png"), link.QOS1)[0].result(5)
            forger.publish(thing_topic("image-classification", A, "run1"), result("own.png"), link.QOS1)[0].result(5)
            harness.expect(lambda r: r.image == "own.png", within=10)  # sent last, on its own topic: arrives
            time.sleep(QUIET)
            assert images(harness) == ["own.png"]
    finally:
        link.disconnect(forger)


def test_the_harness_identity_reads_but_cannot_publish(iot):
    thing = link.connect(iot.cores_endpoint(), iot.credentials(A), A)
    harness_conn = link.connect(iot.endpoint, iot.credentials(), "harness-writer")
    try:
        own = inbox(thing, [thing_topic("image-classification", A) + "/#"])
        harness_conn.publish(thing_topic("image-classification", A, "x"), result("from-harness.png"),
                             link.QOS1)[0].result(5)
        thing.publish(thing_topic("image-classification", A, "x"), result("own.png"), link.QOS1)[0].result(5)
        assert own.get(timeout=10) == thing_topic("image-classification", A, "x")  # its own message
        time.sleep(QUIET)
        assert own.empty()  # the harness's was dropped
    finally:
        link.disconnect(thing)
        link.disconnect(harness_conn)


def test_each_listener_takes_only_its_own_ca(iot):
    with pytest.raises(link.LinkError, match="failed"):  # a thing's certificate on the harness's listener
        link.connect(iot.endpoint, iot.credentials(A), A, timeout=5)
    with pytest.raises(link.LinkError, match="failed"):  # the harness's certificate on the things' listener
        link.connect(iot.cores_endpoint(), iot.credentials(), "harness-x", timeout=5)
    with pytest.raises(LabError, match="harness's MQTT identity"):
        iot.device_credentials("harness")


def test_reusing_another_things_client_id_does_not_disconnect_it(iot):
    things = iot.cores_endpoint()
    interruptions: list[str] = []
    victim = link.connect(things, iot.credentials(B), B, on_interrupted=interruptions.append)
    intruder = link.connect(things, iot.credentials(A), B)  # A's certificate, B's client id
    try:
        time.sleep(QUIET)
        assert interruptions == []
        with ResultSubscriber(iot.endpoint, iot.credentials(), "ml/dlr/#") as harness:
            victim.publish(thing_topic("image-classification", B), result("still-b.png"), link.QOS1)[0].result(5)
            harness.expect(lambda r: r.image == "still-b.png", within=10)
        log = iot.broker().log_tail(50)
        assert f"as {A} (" in log and f"u'{A}'" in log  # the broker named the intruder by its certificate
        assert "already connected" not in log
    finally:
        link.disconnect(intruder)
        link.disconnect(victim)


def test_the_broker_runs_unprivileged_and_alone_reads_its_key(iot):
    broker = iot.broker()
    status = open(f"/proc/{broker.pid()}/status").read()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert "0" not in uids
    if os.geteuid() == 0:  # root hands the broker to the mosquitto system user, and its files with it
        user = pwd.getpwnam("mosquitto")
        assert set(uids) == {str(user.pw_uid)}
        run = os.stat(broker.run_dir)
        assert (run.st_uid, stat.S_IMODE(run.st_mode)) == (user.pw_uid, 0o700)
        key = os.stat(broker.run_dir / "server.key")
        assert (key.st_uid, stat.S_IMODE(key.st_mode)) == (user.pw_uid, 0o400)
    assert not list(broker.run_dir.glob("*ca.key"))  # no CA key where the broker can read it
    assert stat.S_IMODE(os.stat(iot.ca.ca.key).st_mode) == 0o600


def test_start_restarts_a_broker_running_an_older_config(iot):
    broker = iot.broker()
    before = broker.pid()
    broker.conf.write_text(broker.conf.read_text() + "# an older harness's config\n")
    assert not iot.current()
    iot.start(None)
    after = iot.broker().pid()
    assert iot.current() and after not in (None, before)
    iot.start(None)
    assert iot.broker().pid() == after  # unchanged inputs: kept

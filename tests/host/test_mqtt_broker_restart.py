"""A restart of the lab broker (real mosquitto, mutual TLS) between an inference component's publisher and the
harness's subscriber: the broker keeps persistent sessions and what is queued for them (mosquitto
``persistence true``, harness.mqtt.broker), so every result published before, during and after it arrives."""

from __future__ import annotations

import json
import queue
import threading
import time

from harness.mqtt.acl import thing_topic
from harness.mqtt.lab import LabIoT
from harness.mqtt.subscriber import ResultSubscriber
from harness.ondevice import link
from harness.ondevice import publisher as device_publisher

TOPIC = thing_topic("model-outputs", "core", "restart")  # the broker's ACL: the thing's own topics


def test_no_result_is_lost_across_a_broker_restart(tmp_path):
    iot = LabIoT(tmp_path / "iot")
    endpoint = iot.start(None)
    broker = iot.broker()
    publisher = device_publisher.Publisher(endpoint, iot.credentials("core"), "core-dlr")
    try:
        with ResultSubscriber(iot.endpoint, iot.credentials(), TOPIC) as results:
            for seq in range(3):
                assert publisher.publish(TOPIC, {"seq": seq})
            assert broker.stop(keep_sessions=True)
            during: list[bool] = []
            sender = threading.Thread(target=lambda: during.append(publisher.publish(TOPIC, {"seq": 3})))
            sender.start()  # made while the broker is down: waits on the device for its PUBACK
            time.sleep(2)
            broker.start()
            sender.join(timeout=60)
            assert during == [True]
            for seq in range(4, 6):
                assert publisher.publish(TOPIC, {"seq": seq})
            results.expect_json(lambda m: m.get("seq") == 5, within=30)
            got = sorted({json.loads(m.payload)["seq"] for m in results.received})
        assert got == list(range(6))
    finally:
        iot.stop()


def test_results_queued_for_an_absent_subscriber_survive_a_restart(tmp_path):
    """Deterministic: the subscriber is away (disconnected, its session kept) while one result is queued before
    the restart and one after it; coming back, it gets both."""
    iot = LabIoT(tmp_path / "iot")
    endpoint = iot.start(None)
    broker = iot.broker()
    publisher = device_publisher.Publisher(endpoint, iot.credentials("core"), "core-dlr")
    got: queue.Queue[int] = queue.Queue()
    away = link.connect(iot.endpoint, iot.credentials(), "harness-away", clean_session=False)
    try:
        away.subscribe(TOPIC, link.QOS1, callback=lambda topic, payload, **_: got.put(json.loads(payload)["seq"]))[
            0].result(5)
        away.disconnect().result(5)
        assert publisher.publish(TOPIC, {"seq": 0})  # acknowledged by the broker, queued for the absent session
        assert broker.stop(keep_sessions=True)
        broker.start()
        assert publisher.publish(TOPIC, {"seq": 1})  # the restored session queues it too
        assert away.connect().result(5)["session_present"]
        assert sorted(got.get(timeout=10) for _ in range(2)) == [0, 1]
    finally:
        link.disconnect(away)
        iot.stop()


def test_a_closed_subscriber_leaves_no_session_and_stop_forgets_them_all(tmp_path):
    iot = LabIoT(tmp_path / "iot")
    iot.start(None)
    broker = iot.broker()
    try:
        with ResultSubscriber(iot.endpoint, iot.credentials(), TOPIC) as kept:
            with ResultSubscriber(iot.endpoint, iot.credentials(), TOPIC) as gone:
                pass
            assert broker.stop(keep_sessions=True)  # SIGTERM: mosquitto saves its sessions on the way out
            saved = broker.sessions_file.read_bytes()
            assert kept.client_id.encode() in saved and gone.client_id.encode() not in saved
            broker.start()
    finally:
        iot.stop()
    assert not broker.sessions_file.exists() and not broker.run_dir.exists()

"""A restart of the lab broker (real mosquitto, mutual TLS) between an inference component's publisher and the
harness's subscriber: every result published before, during and after it arrives."""

from __future__ import annotations

import json
import threading
import time

from harness.mqtt.acl import thing_topic
from harness.mqtt.lab import LabIoT
from harness.mqtt.subscriber import ResultSubscriber
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
            assert broker.stop()
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

"""The components' publishing side (harness/ondevice/publisher.py) against a real mosquitto: reconnects with
backoff saying why, and the every-interval loop both components share."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.mqtt.acl import thing_topic
from harness.mqtt.broker import free_port
from harness.mqtt.lab import LabIoT
from harness.mqtt.subscriber import ResultSubscriber
from harness.ondevice import link, publisher

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
                                reason="mosquitto is not installed (./dev installs it)")


class Done(Exception):
    """Ends publish_every's loop from inside ``produce``."""


@pytest.fixture
def iot(tmp_path):
    lab = LabIoT(tmp_path / "iot")
    yield lab
    lab.stop()


def test_broker_down_is_retried_with_backoff_then_connects(iot, capsys, monkeypatch):
    port = free_port()
    sleeps: list[float] = []
    monkeypatch.setattr(publisher.time, "sleep", sleeps.append)
    pub = publisher.Publisher(("127.0.0.1", port), iot.credentials("core"), "core-dlr")
    assert not pub.ensure() and not pub.ensure()
    assert sleeps == [1.0, 2.0]
    assert capsys.readouterr().out.count(f"broker unreachable, retrying in 1 s: cannot reach 127.0.0.1:{port}") == 1
    iot.start(None, port)
    assert pub.publish("t/x", {"hello": 1})
    assert pub.backoff == 1.0
    assert "connected to 127.0.0.1" in capsys.readouterr().out
    link.disconnect(pub.connection)


def test_a_missing_thing_certificate_is_logged_by_name_and_retried(iot, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(publisher.time, "sleep", lambda _s: None)
    creds = iot.credentials("core")
    gone = link.Credentials(tmp_path / "thingCert.crt", creds.key, creds.ca)
    assert not publisher.Publisher(("127.0.0.1", free_port()), gone, "core-dlr").ensure()
    out = capsys.readouterr().out
    missing = tmp_path / "thingCert.crt"
    assert f"thing credentials unusable, retrying in 1 s: certificate file not found: {missing}" in out
    assert "BEGIN" not in out


def test_publish_every_publishes_what_produce_makes_and_skips_nothing_made(iot, capsys, monkeypatch):
    host, port = iot.start(None)
    made: list[int] = []

    def produce(seq: int):
        made.append(seq)
        if len(made) == 2:
            return None  # e.g. no image yet: nothing published, seq not advanced
        if len(made) == 4:
            raise Done
        return {"seq": seq}, f"inference seq={seq}"

    pub = publisher.Publisher((host, port), iot.credentials("core"), "core-dlr")
    topic = thing_topic("model-outputs", "core", "every")  # the broker's ACL: a thing's own topics only
    with ResultSubscriber(iot.endpoint, iot.credentials(), topic) as results:
        with pytest.raises(Done):
            publisher.publish_every(pub, topic, 0.01, produce)
        got = results.expect_json(within=10, count=2)
    link.disconnect(pub.connection)
    assert made == [0, 1, 1, 2] and [m["seq"] for m in got] == [0, 1]
    out = capsys.readouterr().out
    assert f"inference seq=0 published on {topic}" in out and f"inference seq=1 published on {topic}" in out

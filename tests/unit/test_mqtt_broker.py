"""The lab broker (real mosquitto, started here on a free port) with mutual TLS through awscrt."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
from awscrt import io, mqtt

from harness.errors import LabError
from harness.mqtt.acl import thing_topic
from harness.mqtt.lab import LabIoT
from harness.mqtt.pki import CertificateAuthority
from harness.mqtt.subscriber import BrokerRefused, ResultsError, ResultSubscriber
from harness.ondevice import link
from harness.ondevice.payload import build_payload

pytestmark = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v mosquitto || test -x /usr/sbin/mosquitto"],
                                               capture_output=True).returncode != 0,
                                reason="mosquitto is not installed (./dev installs it)")


@pytest.fixture
def iot(tmp_path):
    lab = LabIoT(tmp_path / "iot")
    lab.start(None)
    yield lab
    assert lab.stop()
    assert lab.broker().pid() is None


def test_keys_are_private_and_certs_chain_to_the_lab_ca(iot):
    creds = iot.credentials("ml-c4-emu")
    for key in (creds.key, iot.ca.ca.key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", str(creds.cert)],
                             capture_output=True, text=True, check=True).stdout
    assert "CN = ml-c4-emu" in subject or "CN=ml-c4-emu" in subject
    assert subprocess.run(["openssl", "verify", "-CAfile", str(creds.ca), str(creds.cert)],
                          capture_output=True).returncode == 0
    assert iot.credentials("ml-c4-emu").cert.read_bytes() == creds.cert.read_bytes()  # made once
    with pytest.raises(LabError, match="thing name"):
        iot.credentials("bad name; rm")


def test_mtls_publish_reaches_the_harness_subscriber(iot):
    device = iot.credentials("ml-c4-emu")
    topic = thing_topic("image-classification", "ml-c4-emu")
    with ResultSubscriber(iot.endpoint, iot.credentials(), "ml/dlr/#") as results:
        conn = link.connect(iot.cores_endpoint(), device, "ml-c4-emu")
        payload = build_payload([0.1, 3.0, 0.2], None, image="frame-000001.png")
        conn.publish(topic, json.dumps(payload), link.QOS1)[0].result(5)
        conn.publish(topic, b"not json", link.QOS1)[0].result(5)
        (got,) = results.expect(lambda r: r.image == "frame-000001.png", within=10, device="ml-c4-emu")
        link.disconnect(conn)
        assert got.top1 == 1 and got.top_label == "1"
        with pytest.raises(ResultsError, match="1 malformed"):
            results.expect(lambda r: r.image == "other.png", within=0.5)
    assert "u'ml-c4-emu'" in iot.broker().log_tail(50)  # the certificate's CN became the username


def test_a_certificate_from_another_ca_is_refused(iot, tmp_path):
    rogue = CertificateAuthority(tmp_path / "rogue").thing("ml-c4-emu")
    creds = link.Credentials(rogue.cert, rogue.key, iot.ca.ca.cert)
    with pytest.raises(link.LinkError, match="failed"):
        link.connect(iot.endpoint, creds, "rogue", timeout=5)
    with pytest.raises(BrokerRefused, match="lab CA"):
        ResultSubscriber(iot.endpoint, creds, "#", timeout=5).__enter__()


def test_a_client_without_a_certificate_is_refused(iot):
    loop = io.EventLoopGroup(1)
    options = io.TlsContextOptions()
    options.override_default_trust_store_from_path(None, str(iot.ca.ca.cert))
    conn = mqtt.Connection(client=mqtt.Client(io.ClientBootstrap(loop, io.DefaultHostResolver(loop)),
                                              io.ClientTlsContext(options)),
                           host_name=iot.endpoint[0], port=iot.endpoint[1], client_id="anonymous",
                           protocol_operation_timeout_ms=5000)
    with pytest.raises(Exception) as refused:  # noqa: PT011 - awscrt's TLS error classes vary by cause
        conn.connect().result(10)
    assert "TLS" in str(refused.value) or "SOCKET" in str(refused.value) or "CLOSED" in str(refused.value)


def test_broker_restart_is_idempotent_and_refuses_a_busy_port(iot, tmp_path):
    pid = iot.broker().pid()
    iot.start(None)
    assert iot.broker().pid() == pid  # same config: kept, not restarted
    other = LabIoT(tmp_path / "other")
    (tmp_path / "other").mkdir()  # broker.json: the port and addresses a lab's broker keeps across runs
    (tmp_path / "other" / "broker.json").write_text(json.dumps({"port": iot.endpoint[1], "addresses": ["127.0.0.1"]}))
    with pytest.raises(LabError, match="in use"):
        other.start(None)


def test_endpoint_of_a_stopped_broker_is_a_clear_error(tmp_path):
    with pytest.raises(LabError, match="hil lab up"):
        _ = LabIoT(tmp_path / "iot").endpoint

"""A lab that sends results to the user's own AWS IoT Core, against a stand-in (real mosquitto, its own CA,
client certificates required, TLS >= 1.2, its own port): the harness connects to the lab file's endpoint
with the user's files, a board's component with the thing files its Greengrass configuration names
(``<root>/config/effectiveConfig.yaml``, a ``local://`` board whose root is a directory here), and every
failure says which of three things is wrong, naming files and endpoints, never what a file holds."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest
import yaml

from harness.errors import FailureClass, LabError
from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.mqtt.broker import free_port
from harness.mqtt.pki import CertificateAuthority
from harness.mqtt.subscriber import BrokerRefused, BrokerUnreachable, CredentialsMissing
from harness.ondevice import link, publisher
from harness.ondevice.payload import build_payload
from tests.iot_core_standin import iot_core_standin

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
                                reason="mosquitto is not installed (./dev installs it)")
TOPIC = "ml/dlr/image-classification/pi-07"


@pytest.fixture
def standin(tmp_path: Path):
    with iot_core_standin(tmp_path / "standin") as s:
        yield s


def _copy(pair, directory: Path, cert: str, key: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(pair.cert, directory / cert)
    shutil.copy(pair.key, directory / key)
    return directory / cert, directory / key


def make_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str, user_ca: CertificateAuthority,
             server_ca: Path, device_ca: CertificateAuthority, posix_user: str | None = None) -> LabController:
    """A lab file naming the user's certificate (from ``user_ca``) and the CA they trust for the endpoint, and a
    board whose Greengrass root holds a thing certificate from ``device_ca`` where its effective config says."""
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path / "state"))
    user = tmp_path / "user"
    _copy(user_ca.thing("hil-user"), user, "hil-user.pem.crt", "hil-user.private.key")
    shutil.copy(server_ca, user / "AmazonRootCA1.pem")
    root, certs = tmp_path / "gg", tmp_path / "gg-certs"
    cert, key = _copy(device_ca.thing("pi-07"), certs, "device.pem.crt", "private.pem.key")
    shutil.copy(device_ca.ca.cert, certs / "AmazonRootCA1.pem")
    (root / "config").mkdir(parents=True)
    (root / "config" / "effectiveConfig.yaml").write_text(yaml.safe_dump({
        "system": {"certificateFilePath": str(cert), "privateKeyPath": str(key),
                   "rootCaPath": str(certs / "AmazonRootCA1.pem"), "rootpath": str(root), "thingName": "pi-07"},
        "services": {"aws.greengrass.Nucleus": {"configuration": {
            "iotDataEndpoint": endpoint, **({"runWithDefault": {"posixUser": posix_user}} if posix_user else {})}}}}))
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({
        "lab": f"own-iot-{secrets.token_hex(3)}",
        "iot": {"endpoint": endpoint, "cert": "user/hil-user.pem.crt", "key": "user/hil-user.private.key",
                "ca": "user/AmazonRootCA1.pem"},
        "devices": [{"name": "pi-07", "profile": "rasp4b", "connection": "local://",
                     "features": {"greengrass_root": str(root), "sudo": "no"}}]}))
    return LabController(load_lab(path))


def no_secrets(text: str, *keys: Path) -> None:
    assert "BEGIN" not in text
    for key in keys:
        for line in key.read_text().splitlines()[1:-1]:
            assert line not in text


def test_results_reach_the_harness_through_the_lab_files_endpoint_with_the_devices_greengrass_thing_files(
        tmp_path, monkeypatch, standin, capsys):
    lab = make_lab(tmp_path, monkeypatch, standin.endpoint, standin.ca, standin.ca.ca.cert, standin.ca)
    lab.up()
    assert not lab.iot.running()  # an IoT Core lab starts no broker of its own
    device = lab.device("pi-07")
    route = lab.results
    found = route.for_device(device)
    certs = tmp_path / "gg-certs"
    assert found.environment() == {
        "HIL_IOT_ENDPOINT": standin.endpoint, "HIL_THING_CERT": str(certs / "device.pem.crt"),
        "HIL_THING_KEY": str(certs / "private.pem.key"), "HIL_ROOT_CA": str(certs / "AmazonRootCA1.pem")}
    with route.subscriber(TOPIC) as results:
        # the components' own publisher, with the paths the device's component is given
        pub = publisher.Publisher(link.parse_endpoint(found.endpoint), link.Credentials(
            Path(found.cert), Path(found.key), Path(found.ca)), "pi-07-dlr-1")
        assert pub.publish(TOPIC, build_payload([0.1, 2.0, 0.3], None, image="red_circle.png"))
        (got,) = results.expect(lambda r: r.image == "red_circle.png", within=10, device="pi-07")
        link.disconnect(pub.connection)
    assert got.top1 == 1
    log = standin.broker.log_tail(50)
    assert "u'hil-user'" in log and "u'pi-07'" in log  # the user's identity and the thing's, each its own


def test_an_unreachable_endpoint_says_so_with_iot_core_advice(tmp_path, monkeypatch, standin):
    closed = f"127.0.0.1:{free_port()}"
    lab = make_lab(tmp_path, monkeypatch, closed, standin.ca, standin.ca.ca.cert, standin.ca)
    with pytest.raises(BrokerUnreachable) as refused:
        lab.results.subscriber(TOPIC).__enter__()
    assert refused.value.failure_class is FailureClass.UNREACHABLE
    assert f"cannot reach {closed}: Connection refused" in refused.value.detail
    assert "describe-endpoint" in refused.value.advice


@pytest.mark.parametrize("wrong", ["certificate from another CA", "CA that did not sign the endpoint"])
def test_a_refused_tls_handshake_says_so(tmp_path, monkeypatch, standin, wrong):
    other = CertificateAuthority(tmp_path / "other")
    user_ca, server_ca = (other, standin.ca.ca.cert) if wrong.startswith("certificate") else (standin.ca, other.ca.cert)
    lab = make_lab(tmp_path, monkeypatch, standin.endpoint, user_ca, server_ca, standin.ca)
    with pytest.raises(BrokerRefused) as refused:
        lab.results.subscriber(TOPIC, timeout=3).__enter__()
    assert refused.value.failure_class is FailureClass.AUTH
    assert f"MQTT connect to {standin.endpoint}" in refused.value.detail and "TLS handshake" in refused.value.detail
    assert "ACTIVE" in refused.value.advice
    no_secrets(str(refused.value), tmp_path / "user" / "hil-user.private.key")


def test_missing_certificate_files_are_named_never_shown(tmp_path, monkeypatch, standin):
    lab = make_lab(tmp_path, monkeypatch, standin.endpoint, standin.ca, standin.ca.ca.cert, standin.ca)
    user_key = tmp_path / "user" / "hil-user.private.key"
    kept = tmp_path / "kept.key"
    shutil.move(user_key, kept)  # the user's key gone after the lab file was read
    with pytest.raises(CredentialsMissing) as missing:
        lab.results.subscriber(TOPIC).__enter__()
    assert missing.value.failure_class is FailureClass.INVENTORY
    assert f"private key file not found: {user_key}" in missing.value.detail
    user_key.write_text("not a key at all")  # there, but not PEM: named, with awscrt's error name only
    with pytest.raises(CredentialsMissing) as unusable:
        lab.results.subscriber(TOPIC).__enter__()
    assert str(user_key) in unusable.value.detail and "not a key at all" not in str(unusable.value)

    device_cert = tmp_path / "gg-certs" / "device.pem.crt"
    device_cert.unlink()  # the board's thing certificate is not where its Greengrass configuration says
    with pytest.raises(LabError) as absent:
        lab.results.for_device(lab.device("pi-07"))
    assert absent.value.failure_class is FailureClass.INVENTORY and absent.value.device == "pi-07"
    assert f"certificate file {device_cert} (system.certificateFilePath) is not found" in absent.value.detail
    for error in (missing, unusable, absent):
        no_secrets(str(error.value), kept, tmp_path / "gg-certs" / "private.pem.key")


@pytest.mark.skipif(os.getuid() != 0, reason="the readability check runs as root (through sudo on a board)")
def test_thing_files_the_component_user_cannot_read_are_named(tmp_path, monkeypatch, standin):
    tmp_path.chmod(0o700)  # the component user ("nobody" here) cannot reach anything below
    lab = make_lab(tmp_path, monkeypatch, standin.endpoint, standin.ca, standin.ca.ca.cert, standin.ca,
                   posix_user="nobody:nogroup")
    with pytest.raises(LabError) as unreadable:
        lab.results.for_device(lab.device("pi-07"))
    cert = tmp_path / "gg-certs" / "device.pem.crt"
    assert f"certificate file {cert} (system.certificateFilePath) is not readable by nobody" in unreadable.value.detail

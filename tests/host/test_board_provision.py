"""A lab of boards gets its own broker and `hil lab provision` installs a board's certificates, with real
processes: mosquitto started by `hil lab up`, a ``local://`` board whose Greengrass root is a directory
here, and the install script run by its shell. The user's files are never replaced without --force."""

from __future__ import annotations

import secrets
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from harness.errors import LabError
from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.mqtt.provision import BACKUP, provision

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed")


@pytest.fixture
def board_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "gg"
    path = tmp_path / "boards.yaml"
    path.write_text(yaml.safe_dump({"lab": f"boards-{secrets.token_hex(3)}", "iot": {"broker_address": "127.0.0.1"},
                                    "devices": [{"name": "pi-07", "profile": "rasp4b", "connection": "local://",
                                                 "features": {"greengrass_root": str(root), "sudo": "no"}}]}))
    controller = LabController(load_lab(path))
    controller.up()
    yield controller, root
    controller.iot.stop()


def test_up_starts_the_broker_where_boards_reach_it_and_provision_is_careful_and_reversible(board_lab):
    controller, root = board_lab
    host, port = controller.iot.endpoint
    with socket.create_connection((host, port), timeout=5):
        pass  # mosquitto listens where the lab file says
    device = controller.device("pi-07")
    endpoint = ("127.0.0.1", port)

    first = provision(device, controller.iot, endpoint)
    assert {(c.state, Path(c.path).name) for c in first} == {
        ("NEW", "thingCert.crt"), ("NEW", "privKey.key"), ("NEW", "rootCA.pem"), ("NEW", "iot-endpoint")}
    assert (root / "iot-endpoint").read_text() == f"127.0.0.1:{port}\n"
    assert (root / "privKey.key").stat().st_mode & 0o777 == 0o600
    assert (root / "rootCA.pem").read_bytes() == controller.iot.ca.ca.cert.read_bytes()
    assert all(c.undo == f"rm {c.path}" for c in first)
    assert {c.state for c in provision(device, controller.iot, endpoint)} == {"SAME"}

    (root / "rootCA.pem").write_text("the user's own CA\n")
    with pytest.raises(LabError) as refused:
        provision(device, controller.iot, endpoint)
    assert str(root / "rootCA.pem") in refused.value.detail and "--force" in refused.value.advice
    assert (root / "rootCA.pem").read_text() == "the user's own CA\n"

    forced = {Path(c.path).name: c for c in provision(device, controller.iot, endpoint, force=True)}
    assert forced["rootCA.pem"].state == "REPLACED" and forced["thingCert.crt"].state == "SAME"
    assert Path(str(root / "rootCA.pem") + BACKUP).read_text() == "the user's own CA\n"
    assert forced["rootCA.pem"].undo == f"mv {root}/rootCA.pem{BACKUP} {root}/rootCA.pem"


def test_paths_come_from_the_nucleus_effective_configuration(board_lab, tmp_path):
    controller, root = board_lab
    elsewhere = tmp_path / "certs"
    (root / "config").mkdir(parents=True)
    (root / "config" / "effectiveConfig.yaml").write_text(yaml.safe_dump({"system": {
        "certificateFilePath": str(elsewhere / "device.pem.crt"), "privateKeyPath": str(elsewhere / "private.pem.key"),
        "rootCaPath": str(elsewhere / "AmazonRootCA1.pem"), "thingName": "pi-07"}}))
    changes = provision(controller.device("pi-07"), controller.iot, ("127.0.0.1", controller.iot.endpoint[1]))
    assert sorted(c.path for c in changes) == sorted([str(elsewhere / "device.pem.crt"),
                                                      str(elsewhere / "private.pem.key"),
                                                      str(elsewhere / "AmazonRootCA1.pem"), str(root / "iot-endpoint")])
    assert (elsewhere / "device.pem.crt").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")

"""The lab file's ``iot`` section: the lab broker's address for boards, or the user's own IoT Core."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import InventoryError
from harness.lab.inventory import load_lab

DEVICE = {"name": "pi-07", "profile": "rasp4b", "connection": "ssh://hil@10.0.0.57:22"}


def lab_file(tmp_path: Path, iot: dict) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({"lab": "rack", "iot": iot, "devices": [DEVICE]}))
    return path


def test_broker_address_and_port_for_boards(tmp_path):
    iot = load_lab(lab_file(tmp_path, {"broker_address": "10.0.0.1", "port": 8883})).spec.iot
    assert (iot.broker_address, iot.port, iot.endpoint) == ("10.0.0.1", 8883, None)


def test_own_iot_core_needs_all_four_and_existing_files_resolved_beside_the_lab_file(tmp_path):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    iot = load_lab(lab_file(tmp_path, {"endpoint": "abc-ats.iot.eu-west-1.amazonaws.com", "cert": "cert.pem",
                                       "key": "key.pem", "ca": "ca.pem"})).spec.iot
    assert iot.key == tmp_path / "key.pem"
    with pytest.raises(InventoryError, match="endpoint, cert, key and ca together"):
        load_lab(lab_file(tmp_path, {"endpoint": "abc-ats.iot.eu-west-1.amazonaws.com", "cert": "cert.pem"}))
    with pytest.raises(InventoryError, match="iot.key: file not found"):
        load_lab(lab_file(tmp_path, {"endpoint": "e", "cert": "cert.pem", "key": "gone.pem", "ca": "ca.pem"}))
    with pytest.raises(InventoryError, match="exclude each other"):
        load_lab(lab_file(tmp_path, {"endpoint": "e", "cert": "cert.pem", "key": "key.pem", "ca": "ca.pem",
                                     "broker_address": "10.0.0.1"}))

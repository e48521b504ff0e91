"""A device's features are its profile's, overridden by the lab file's, and the Greengrass client uses them."""

import os

import pytest
import yaml

from harness.greengrass.steps import client_for
from harness.lab.bringup import LabController
from harness.lab.inventory import parse_lab
from harness.lab.profiles import load_profiles


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path / "state"))
    profiles = load_profiles()
    board = profiles["rasp4b"].model_copy(update={
        "name": "gg_board", "features": {"greengrass_root": "/opt/gg/v2", "ml": "dlr"}})
    text = yaml.safe_dump({"lab": "features", "devices": [
        {"name": "plain", "profile": "gg_board", "connection": "local://"},
        {"name": "custom", "profile": "gg_board", "connection": "local://",
         "features": {"ml": "onnxruntime", "greengrass_cli": "sudo -n /opt/gg/v2/bin/greengrass-cli"}}]})
    return LabController(parse_lab(text, "features.yaml", {**profiles, "gg_board": board}))


def test_a_profile_only_greengrass_root_reaches_the_client(lab):
    device = lab.device("plain")
    assert device.features == {"greengrass_root": "/opt/gg/v2", "ml": "dlr"}
    client = client_for(device)
    cli = "/opt/gg/v2/bin/greengrass-cli"
    assert client.root == "/opt/gg/v2"
    assert client.cli == ([cli] if os.getuid() == 0 else ["sudo", "-n", cli])


def test_the_lab_file_wins_key_by_key(lab):
    device = lab.device("custom")
    assert device.features == {"greengrass_root": "/opt/gg/v2", "ml": "onnxruntime",
                               "greengrass_cli": "sudo -n /opt/gg/v2/bin/greengrass-cli"}
    client = client_for(device)
    assert (client.root, client.cli) == ("/opt/gg/v2", ["sudo", "-n", "/opt/gg/v2/bin/greengrass-cli"])

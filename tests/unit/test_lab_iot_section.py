"""The lab file's ``iot`` section: the lab broker's address for boards, or the user's own IoT Core."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from harness.errors import InventoryError
from harness.lab.inventory import IoTSpec, load_lab
from harness.mqtt.lab import LabIoT
from harness.mqtt.route import ResultsRoute, component_user
from harness.ondevice.link import Credentials

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


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("abc-ats.iot.eu-west-1.amazonaws.com", ("abc-ats.iot.eu-west-1.amazonaws.com", 8883)),
    ("10.0.0.5:9883", ("10.0.0.5", 9883)),
])
def test_the_harness_connects_to_the_lab_files_endpoint_port_8883_unless_given(tmp_path, endpoint, expected):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    spec = load_lab(lab_file(tmp_path, {"endpoint": endpoint, "cert": "cert.pem", "key": "key.pem",
                                        "ca": "ca.pem"})).spec.iot
    route = ResultsRoute(spec, LabIoT(tmp_path / "iot"))
    assert route.own_core and route.endpoint() == expected
    assert route.credentials() == Credentials(tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem")


@pytest.mark.parametrize("endpoint", ["https://abc-ats.iot.eu-west-1.amazonaws.com", "abc ats", "host:port", ":8883"])
def test_an_endpoint_that_is_not_host_or_host_port_is_refused_by_the_lab_file(tmp_path, endpoint):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    with pytest.raises(InventoryError, match="iot.endpoint"):
        load_lab(lab_file(tmp_path, {"endpoint": endpoint, "cert": "cert.pem", "key": "key.pem", "ca": "ca.pem"}))


@pytest.mark.parametrize(("config", "user"), [
    ({}, "ggc_user"),
    ({"services": {"aws.greengrass.Nucleus": {"configuration": {"runWithDefault": {"posixUser": "gg:ggg"}}}}}, "gg"),
    ({"services": {"aws.greengrass.Nucleus": {"configuration": {"runWithDefault": {"posixUser": "solo"}}}}}, "solo"),
    ({"services": ["not", "a", "mapping"]}, "ggc_user"),
])
def test_the_component_user_comes_from_the_nucleus_configuration(config, user):
    assert component_user(config) == user


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"[a-z0-9.-]{1,20}:[0-9]{1,6}", fullmatch=True)))
def test_any_endpoint_text_is_refused_by_the_lab_file_or_gives_a_host_and_port(text):
    try:
        spec = IoTSpec(endpoint=text, cert=Path("c"), key=Path("k"), ca=Path("a"))
    except ValidationError:
        return
    host, port = ResultsRoute(spec, LabIoT(Path("/nonexistent"))).endpoint()
    assert host and 0 < port < 65536 and text.startswith(host)

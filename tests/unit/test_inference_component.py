"""The inference component script's contract (argv/env) and its broker-down behaviour, without a device."""

from __future__ import annotations

import pytest

from harness.mqtt.broker import free_port
from harness.mqtt.lab import LabIoT
from harness.ondevice import component

ARGV = ["--model-dir", "/m", "--accelerator", "cpu", "--image-dir", "", "--image-name", "", "--interval", "2",
        "--topic", "t/x", "--endpoint", "10.0.0.1:1883"]


def test_builder_contract_argv(monkeypatch):
    monkeypatch.delenv("HIL_MQTT_CLIENT_ID", raising=False)
    args = component.options(ARGV)
    assert (args.model_dir, args.interval, args.topic) == ("/m", 2.0, "t/x")
    assert args.image_dir == component.DEFAULT_IMAGE_DIR  # empty means the script's default
    assert args.cert == "/greengrass/v2/thingCert.crt" and args.ca == "/greengrass/v2/rootCA.pem"
    assert "-dlr-" in args.client_id


def test_environment_fills_what_argv_leaves_out(monkeypatch):
    monkeypatch.setenv("HIL_MODEL_DIR", "/env-model")
    monkeypatch.setenv("HIL_INFERENCE_INTERVAL", "0.5")
    monkeypatch.setenv("HIL_IOT_ENDPOINT", "broker:8883")
    monkeypatch.setenv("HIL_THING_KEY", "/k.pem")
    args = component.options([])
    assert (args.model_dir, args.interval, args.endpoint, args.key) == ("/env-model", 0.5, "broker:8883", "/k.pem")


@pytest.mark.parametrize(("argv", "message"), [
    (["--interval", "soon"], "not a number"),
    (["--interval", "0"], "must be positive"),
    (["--accelerator", "tpu"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        component.options([*ARGV, *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_broker_down_is_retried_with_backoff_then_connects(tmp_path, capsys, monkeypatch):
    iot = LabIoT(tmp_path / "iot")
    port = free_port()
    iot._settings.parent.mkdir(parents=True, exist_ok=True)
    iot._settings.write_text(f'{{"port": {port}, "addresses": ["127.0.0.1"]}}')
    sleeps = []
    monkeypatch.setattr(component.time, "sleep", sleeps.append)
    publisher = component.Publisher(("127.0.0.1", port), iot.credentials("core"), "core-dlr")
    assert not publisher.ensure() and not publisher.ensure()
    assert sleeps == [1.0, 2.0]
    assert capsys.readouterr().out.count("broker unavailable, retrying") == 2
    iot.start(None)
    try:
        assert publisher.publish("t/x", {"hello": 1})
        assert publisher.backoff == 1.0
        assert "connected to 127.0.0.1" in capsys.readouterr().out
    finally:
        iot.stop()

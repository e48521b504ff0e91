"""The inference component script's contract (argv/env), without a device (publishing: test_ondevice_publisher)."""

from __future__ import annotations

import pytest

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


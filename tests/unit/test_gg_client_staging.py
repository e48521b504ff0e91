"""The client's device-side work that needs no core: staging through a real LocalTransport."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.errors import FailureClass
from harness.greengrass import builders
from harness.greengrass.client import GreengrassClient
from harness.greengrass.errors import CliOutputError
from harness.transport.local import LocalTransport


class CountingTransport(LocalTransport):
    """LocalTransport that remembers what it was asked to copy."""

    def __init__(self, device: str) -> None:
        super().__init__(device)
        self.puts: list[str] = []

    def put(self, local, remote, **kw):
        self.puts.append(remote)
        super().put(local, remote, **kw)


@pytest.fixture
def components(tmp_path):
    model_dir = tmp_path / "neo"
    model_dir.mkdir()
    (model_dir / "compiled.so").write_bytes(b"weights" * 1000)
    script = tmp_path / "run.sh"
    script.write_text("echo running\n")
    model = builders.model_component("com.example.Model", "1.0.0", model_dir, tmp_path / "build")
    return model, builders.inference_component("com.example.Infer", "1.0.0", model, script, interpreter="/bin/sh")


def _artifact_puts(transport: CountingTransport) -> list[str]:
    return [p for p in transport.puts if not p.endswith(".yaml")]


def test_stage_uploads_each_artifact_once_and_lays_out_a_fresh_store(tmp_path, components):
    transport = CountingTransport("host-test")
    client = GreengrassClient(transport, root=str(tmp_path / "gg"), staging_parent=str(tmp_path), progress=None)
    recipe_dir, artifact_dir = client.stage(components)
    model, infer = components
    staged_zip = Path(artifact_dir, "com.example.Model", "1.0.0", "model.zip")
    assert staged_zip.read_bytes() == model.files["model.zip"].read_bytes()
    assert Path(artifact_dir, "com.example.Infer", "1.0.0", "run.sh").read_text() == "echo running\n"
    assert sorted(p.name for p in Path(recipe_dir).iterdir()) == ["com.example.Infer-1.0.0.yaml",
                                                                   "com.example.Model-1.0.0.yaml"]
    assert len(_artifact_puts(transport)) == 2  # model.zip and run.sh

    transport.puts.clear()
    recipe_dir2, artifact_dir2 = client.stage(components)
    assert recipe_dir2 != recipe_dir  # every deployment gets its own directory
    assert _artifact_puts(transport) == []  # same SHA-256 already on the device: nothing sent again
    assert len(transport.puts) == 2  # only the two recipes
    assert Path(artifact_dir2, "com.example.Model", "1.0.0", "model.zip").read_bytes() == staged_zip.read_bytes()

    # A damaged copy on the device (every file holding the model's bytes) fails sha256sum and is sent again.
    zip_bytes = model.files["model.zip"].read_bytes()
    for path in Path(client._staging.directory).rglob("*"):
        if path.is_file() and path.read_bytes() == zip_bytes:
            path.unlink()  # a new inode: hard links elsewhere keep theirs
            path.write_bytes(b"truncated")
    transport.puts.clear()
    _, artifact_dir3 = client.stage(components)
    assert len(_artifact_puts(transport)) == 1
    assert Path(artifact_dir3, "com.example.Model", "1.0.0", "model.zip").read_bytes() == zip_bytes

    client.discard_staged(recipe_dir)
    assert not Path(recipe_dir).exists() and Path(recipe_dir2).exists()
    with pytest.raises(ValueError):
        client.discard_staged("/etc/recipes")


def test_staging_is_private_unpredictable_and_removed_at_close(tmp_path, components):
    first = GreengrassClient(LocalTransport("dev"), root=str(tmp_path / "gg"), staging_parent=str(tmp_path),
                             progress=None)
    second = GreengrassClient(LocalTransport("dev"), root=str(tmp_path / "gg"), staging_parent=str(tmp_path),
                              progress=None)
    recipe_dir, _ = first.stage(components)
    other, _ = second.stage(components)
    area = Path(first._staging.directory)
    assert area.parent == tmp_path and Path(recipe_dir).is_relative_to(area)
    assert not Path(other).is_relative_to(area)  # each client has its own directory
    assert area.stat().st_mode & 0o777 == 0o700  # only the device user may enter it
    first.close()
    assert not area.exists() and Path(other).exists()
    first.close()  # closing twice is harmless
    recipe_again, _ = first.stage(components)  # a closed client stages into a fresh directory
    assert Path(recipe_again).exists() and not Path(recipe_again).is_relative_to(area)
    first.close()
    second.close()


def test_missing_cli_is_a_typed_error_naming_device_and_step(tmp_path):
    client = GreengrassClient(LocalTransport("rasp4b-emu"), root=str(tmp_path / "no-core"), progress=None)
    with pytest.raises(CliOutputError) as info:
        client.create_deployment(merge={"com.example.Model": "1.0.0"})
    err = info.value
    assert (err.device, err.step, err.failure_class) == ("rasp4b-emu", "create deployment", FailureClass.COMMAND)
    assert "aws.greengrass.Cli" in err.advice
    started = time.monotonic()
    with pytest.raises(CliOutputError, match="exited 127"):  # no point polling a CLI that is not there
        client.wait_for_deployment("5f0c2a4e-0000-4000-8000-000000000000", timeout=30)
    assert time.monotonic() - started < 5


def test_bad_arguments_change_nothing(tmp_path):
    client = GreengrassClient(LocalTransport("dev"), root=str(tmp_path), staging_parent=str(tmp_path),
                              progress=None)
    for kwargs in ({"merge": {"a;b": "1.0.0"}}, {"merge": {"a": "latest"}}, {"remove": ["../x"]},
                   {"update_config": {"a": {"MERGE": {}, "DROP": 1}}}, {}):
        with pytest.raises(ValueError):
            client.create_deployment(**kwargs)
    with pytest.raises(ValueError):
        client.deployment_status("id; reboot")
    with pytest.raises(ValueError, match="ROLLBACK"):  # checked before anything is staged
        client.run_deployment([], merge={"com.example.A": "1.0.0"}, failure_handling_policy="rollback")
    assert client._staging.directory is None and not list(tmp_path.glob("hil-*"))
    with pytest.raises(ValueError):
        GreengrassClient(LocalTransport("dev"), root="relative/path")


def test_logs_read_from_offset_and_missing_log_is_empty(tmp_path):
    logs = tmp_path / "gg" / "logs"
    logs.mkdir(parents=True)
    (logs / "com.example.Infer.log").write_text("old line\nresult: cat 0.91\n")
    client = GreengrassClient(LocalTransport("dev"), root=str(tmp_path / "gg"), progress=None)
    assert client.read_log("com.example.Other") == ""
    size = client.log_size("com.example.Infer")
    assert size == len("old line\nresult: cat 0.91\n")
    assert client.wait_for_log("com.example.Infer", r"result: cat", timeout=1) == "result: cat 0.91"
    with (logs / "com.example.Infer.log").open("a") as fh:
        fh.write("result: dog 0.88\n")
    assert client.read_log("com.example.Infer", offset=size) == "result: dog 0.88\n"
    assert client.wait_for_log("com.example.Infer", r"result: \w+", timeout=1, offset=size) == "result: dog 0.88"
    (logs / "com.example.Infer.log").write_text("result: fox 0.5\n")  # rotated: a new, shorter file
    assert client.wait_for_log("com.example.Infer", r"result: \w+", timeout=1, offset=size) == "result: fox 0.5"


def test_client_for_a_lab_device_reads_greengrass_features():
    from types import SimpleNamespace

    from harness.greengrass.steps import client_for

    plain = client_for(SimpleNamespace(transport=LocalTransport("jetson"), features={}))
    cli = ["/greengrass/v2/bin/greengrass-cli"]
    if os.getuid() != 0:  # not root: the CLI's socket and logs need sudo
        cli = ["sudo", "-n", *cli]
    assert (plain.root, plain.cli, plain.device) == ("/greengrass/v2", cli, "jetson")
    sudo = client_for(SimpleNamespace(transport=LocalTransport("rasp4b"), features={
        "greengrass_root": "/opt/gg/v2", "greengrass_cli": "sudo -n /opt/gg/v2/bin/greengrass-cli"}))
    assert sudo.cli == ["sudo", "-n", "/opt/gg/v2/bin/greengrass-cli"] and sudo.root == "/opt/gg/v2"
    assert sudo._privilege == ["sudo", "-n"]  # logs are read with the same privilege as the CLI

"""Greengrass on the cores: the emulator inside the real emulated cores, driven with greengrass-cli over
SSH (sudo, as on a board) and over docker exec, exactly as a real core would be."""

from __future__ import annotations

import time

import pytest

from harness.greengrass import builders, steps
from harness.greengrass.client import GreengrassClient
from harness.greengrass.errors import ComponentNotFound, DeploymentFailed

DEPLOY_WITHIN = 180.0  # arm64 cores run the nucleus and the scripts under qemu-user


def script(tmp_path, name, version, body, **kwargs):
    path = tmp_path / f"{name}-{version}" / "app.sh"
    path.parent.mkdir(parents=True)
    path.write_text(body)
    return builders.script_component(name, version, path, **kwargs)


def serve(tag):
    return f'echo "$GREETING {tag} ready"\nwhile true; do sleep 1; done\n'


def test_deploy_upgrade_broken_upgrade_rolls_back_then_remove(device, greengrass, gg_name, tmp_path):
    name = gg_name("com.example.Hello")
    steps.expect_deployment(greengrass, [script(tmp_path, name, "1.0.0", serve("v1"))], within=DEPLOY_WITHIN)
    assert steps.expect_component_state(greengrass, name, "RUNNING", within=60).version == "1.0.0"
    steps.expect_log_line(greengrass, name, r"hello v1 ready", within=60)

    steps.expect_deployment(greengrass, [script(tmp_path, name, "1.1.0", serve("v1.1"))],
                 update_config={name: {"MERGE": {"Greeting": "hi"}}}, within=DEPLOY_WITHIN)
    steps.expect_log_line(greengrass, name, r"hi v1.1 ready", within=60)

    broken = script(tmp_path, name, "2.0.0", 'echo "v2 cannot start" >&2\nexit 1\n')
    with pytest.raises(DeploymentFailed) as failed:
        steps.expect_deployment(greengrass, [broken], within=DEPLOY_WITHIN, failure_handling_policy="ROLLBACK")
    assert "FAILED_ROLLBACK_COMPLETE" in str(failed.value)
    assert "v2 cannot start" in failed.value.evidence
    back = steps.expect_component_state(greengrass, name, "RUNNING", version="1.1.0", within=120)
    assert back.configuration["Greeting"] == "hi"  # the previous configuration came back with the version

    steps.expect_deployment(greengrass, remove=[name], within=DEPLOY_WITHIN)
    with pytest.raises(ComponentNotFound):
        greengrass.component(name)


def test_no_manifest_for_this_platform_fails_like_greengrass(device, greengrass, gg_name, tmp_path):
    other = "aarch64" if device.arch == "x86_64" else "amd64"
    name = gg_name("com.example.OtherArch")
    component = script(tmp_path, name, "1.0.0", serve("x"),
                       manifest_platform=builders.platform(architecture=other))
    with pytest.raises(DeploymentFailed) as failed:
        steps.expect_deployment(greengrass, [component], within=DEPLOY_WITHIN)
    assert "Failed to find usable recipe for current platform" in failed.value.evidence + str(failed.value)
    with pytest.raises(ComponentNotFound):
        greengrass.component(name)


def test_same_commands_work_through_docker_exec(device, lab, gg_name, tmp_path):
    client = GreengrassClient(lab.docker_transport(device.name),
                              cli=["sudo", "-n", "/greengrass/v2/bin/greengrass-cli"])
    name = gg_name("com.example.ViaDocker")
    try:
        steps.expect_deployment(client, [script(tmp_path, name, "1.0.0", serve("docker"))], within=DEPLOY_WITHIN)
        steps.expect_log_line(client, name, r"hello docker ready", within=60)
        steps.expect_deployment(client, remove=[name], within=DEPLOY_WITHIN)
    finally:
        client.close()


def test_nucleus_killed_mid_deployment_leaves_old_or_new_whole(device, greengrass, gg_name, tmp_path):
    name = gg_name("com.example.Crash")
    steps.expect_deployment(greengrass, [script(tmp_path, name, "1.0.0", serve("old"))], within=DEPLOY_WITHIN)
    recipe_dir, artifact_dir = greengrass.stage([script(tmp_path, name, "2.0.0", serve("new"),
                                                        configuration={"Greeting": "bonjour"})])
    deployment = greengrass.create_deployment(merge={name: "2.0.0"}, recipe_dir=recipe_dir,
                                              artifact_dir=artifact_dir)
    time.sleep(0.5)
    # The bracket keeps pkill from matching its own shell, whose command line holds the pattern too.
    device.transport.check("sudo -n pkill -KILL -f '[s]imulators.greengrass.nucleus'", step="kill nucleus")
    final = greengrass.wait_for_deployment(deployment, timeout=DEPLOY_WITHIN)
    assert final.status in ("SUCCEEDED", "FAILED")
    details = steps.expect_component_state(greengrass, name, "RUNNING", within=120)
    expected = {"1.0.0": "hello", "2.0.0": "bonjour"}
    assert details.configuration["Greeting"] == expected[details.version]  # never v2 with v1's config
    assert (details.version == "2.0.0") == (final.status == "SUCCEEDED")
    steps.expect_deployment(greengrass, remove=[name], within=DEPLOY_WITHIN)

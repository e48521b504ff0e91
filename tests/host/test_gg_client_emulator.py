"""The client against the project's Greengrass core emulator, started on this host with a temporary root.

The emulator is driven only through what a real core offers: `<root>/bin/greengrass-cli` and
`<root>/logs/`, over a LocalTransport. It is started the way an emulated core's image starts it
(`simulators.greengrass.layout`, then `<root>/bin/greengrass-nucleus`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import resources
from harness.errors import HilError
from harness.greengrass import builders, steps
from harness.greengrass.artifacts import Component
from harness.greengrass.client import GreengrassClient
from harness.greengrass.errors import ComponentNotFound, DeploymentFailed, GreengrassTimeout
from harness.greengrass.recipe import parse_recipe
from harness.primitives.deadline import poll_until
from harness.transport.local import LocalTransport

#: Where the harness and simulators packages are (a checkout or site-packages): the emulator's PYTHONPATH.
CODE_ROOT = resources.code_root()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CODE_ROOT / "simulators" / "greengrass" / "layout.py").is_file(),
                       reason="the Greengrass emulator (simulators/greengrass) is not in this tree"),
]


@pytest.fixture
def core(tmp_path):
    """An emulated core under tmp_path: laid out, nucleus running, stopped (by pid) afterwards."""
    root = tmp_path / "greengrass" / "v2"
    subprocess.run([sys.executable, "-m", "simulators.greengrass.layout", "--root", str(root),
                    "--pythonpath", str(CODE_ROOT), "--run-as", ""], check=True, cwd=CODE_ROOT, timeout=60)
    config = root / "config" / "config.yaml"  # the emulator's documented timing knobs, shortened for host tests
    settings = yaml.safe_load(config.read_text())
    settings["emulator"] = {"settleSeconds": 0.5, "retryDelaySeconds": 0.3, "stopGraceSeconds": 2}
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    log = open(tmp_path / "nucleus.out", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen([str(root / "bin" / "greengrass-nucleus")], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    client = GreengrassClient(CountingTransport("host-emu"), root=str(root), staging_parent=str(tmp_path),
                              command_timeout=30, poll=0.2, progress=None)
    try:
        def answering() -> bool:
            try:
                return bool(client.components())
            except HilError:
                if proc.poll() is not None:
                    raise
                return False

        if not poll_until(answering, 30, interval=0.3):
            client.components()  # raises the CLI's own error
        yield client
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # as systemctl stop: the supervisor stops the nucleus
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        try:  # anything the test's nucleus left behind in its own session
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()
        client.close()


class CountingTransport(LocalTransport):
    """LocalTransport that remembers the device paths it copied files to."""

    def __init__(self, device: str) -> None:
        super().__init__(device)
        self.puts: list[str] = []

    def put(self, local, remote, **kw):
        self.puts.append(remote)
        super().put(local, remote, **kw)


def script_component(tmp_path: Path, name: str, version: str, body: str) -> Component:
    script = tmp_path / f"src-{version}" / "app.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(body)
    return builders.script_component(name, version, script)


def test_deploy_run_log_restart_broken_upgrade_rollback_remove(core, tmp_path):
    name = builders.unique_name("com.example.Hello")
    good = script_component(tmp_path, name, "1.0.0",
                            'echo "$GREETING v1 ready"\nwhile true; do sleep 1; done\n')
    result = steps.expect_deployment(core, [good], expect="SUCCEEDED", within=60)
    assert result.status.status == "SUCCEEDED" and result.elapsed < 60
    running = steps.expect_component_state(core, name, "RUNNING", within=30)
    assert running.version == "1.0.0"
    assert running.configuration["Greeting"] == "hello"
    assert steps.expect_log_line(core, name, r"hello v1 ready", within=30)
    assert name in {c.name for c in core.components()}

    # A redeploy of the same content sends no artifact again (same SHA-256 already on the device).
    core.transport.puts.clear()
    steps.expect_deployment(core, [good], update_config={name: {"MERGE": {"Greeting": "hi"}}}, within=60)
    assert [p.rsplit("/", 1)[-1] for p in core.transport.puts] == [f"{name}-1.0.0.yaml"]
    assert steps.expect_log_line(core, name, r"hi v1 ready", within=30)

    offset = core.log_size(name)
    steps.restart_component(core, name, within=30)
    assert steps.expect_log_line(core, name, r"v1 ready", within=30, offset=offset)

    broken = script_component(tmp_path, name, "2.0.0", 'echo "v2 cannot start" >&2\nexit 1\n')
    with pytest.raises(DeploymentFailed) as info:
        steps.expect_deployment(core, [broken], expect="SUCCEEDED", within=120, failure_handling_policy="ROLLBACK")
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"host-emu: deploy {name}@2.0.0: [deployment] FAILED")
    assert "expected SUCCEEDED" in first and "FAILED_ROLLBACK_COMPLETE" in first
    assert "v2 cannot start" in info.value.evidence  # the component's own stderr, from its log
    assert "lifecycle script failed 3 times" in info.value.advice  # from COMPONENT_BROKEN
    rolled_back = steps.expect_component_state(core, name, "RUNNING", version="1.0.0", within=60)
    assert rolled_back.version == "1.0.0"

    history = {d.deployment_id: d.status for d in core.deployments()}
    assert history[result.deployment_id] == "SUCCEEDED" and "FAILED" in history.values()

    steps.stop_component(core, name, within=30)
    steps.expect_deployment(core, remove=[name], within=60)
    with pytest.raises(ComponentNotFound):
        core.component(name)


def test_timeouts_carry_evidence(core, tmp_path):
    name = builders.unique_name("com.example.Quiet")
    comp = script_component(tmp_path, name, "1.0.0", 'echo "only this line"\nsleep 600\n')
    steps.expect_deployment(core, [comp], within=60)
    with pytest.raises(GreengrassTimeout) as info:
        steps.expect_log_line(core, name, r"never printed", within=1.5)
    assert info.value.device == "host-emu" and "only this line" in info.value.evidence
    with pytest.raises(GreengrassTimeout, match="FINISHED"):
        steps.expect_component_state(core, name, "FINISHED", within=1.5)

    slow_name = builders.unique_name("com.example.SlowInstall")
    slow = parse_recipe({
        "RecipeFormatVersion": "2020-01-25", "ComponentName": slow_name, "ComponentVersion": "1.0.0",
        "Manifests": [{"Lifecycle": {"Install": {"Script": "sleep 30", "Timeout": 60}, "Run": "sleep 600"}}]})
    with pytest.raises(GreengrassTimeout) as info:
        steps.expect_deployment(core, [Component(slow)], within=2)
    assert info.value.step == f"deploy {slow_name}@1.0.0"
    assert "still IN_PROGRESS after" in info.value.detail and "limit 2 s" in info.value.detail
    assert "deployment" in info.value.evidence  # greengrass.log tail


def test_dlr_model_and_inference_components_on_the_core(core, tmp_path):
    """The builders' recipes as the nucleus sees them: ZIP unpacked, dependency path and config via Setenv."""
    model_dir = tmp_path / "neo"
    model_dir.mkdir()
    (model_dir / "compiled.so").write_bytes(b"\x7fELF" + b"\0" * 64)
    (model_dir / "compiled.meta").write_text('{"Model": {}}')
    infer_script = tmp_path / "infer.sh"
    infer_script.write_text('echo "args: $*"\nls "$HIL_MODEL_DIR"\nwhile true; do sleep 1; done\n')
    model = builders.model_component(builders.unique_name("com.example.Model"), "1.0.0", model_dir,
                                     tmp_path / "build")
    infer = builders.inference_component(builders.unique_name("com.example.Infer"), "1.0.0", model, infer_script,
                                         interpreter="/bin/sh", inference_interval=7, image_name="cat.jpeg")
    steps.expect_deployment(core, [model, infer], within=90)
    name = infer.recipe.component_name
    steps.expect_component_state(core, name, "RUNNING", within=30)
    args = steps.expect_log_line(core, name, r"args: --model-dir", within=30)
    assert f"/{model.recipe.component_name}/1.0.0/model --accelerator cpu" in args
    assert "--image-name cat.jpeg --interval 7 --topic ml/dlr/image-classification" in args
    assert steps.expect_log_line(core, name, r"compiled\.meta", within=10)
    assert core.component(name).configuration["InferenceInterval"] == "7"
    link = Path(core.root, "work", model.recipe.component_name, "model")
    assert (link / "compiled.so").read_bytes() == (model_dir / "compiled.so").read_bytes()

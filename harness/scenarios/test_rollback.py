"""Rollback: version N runs; a broken N+1 (fails at Install, fails at Run, fails its own health check) is
deployed with failure handling ROLLBACK; the deployment FAILS, N is RUNNING again and still answers right.

The broken versions are the same inference component with one lifecycle change each, so what differs
between N and N+1 is exactly the fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.greengrass import steps
from harness.greengrass.artifacts import Component
from harness.greengrass.errors import DeploymentFailed
from harness.greengrass.recipe import parse_recipe
from harness.scenarios.conftest import FIXTURE_IMAGE, IMAGES, RESULT_WITHIN

#: Seconds the health check waits for the first published result before it declares the component unhealthy.
HEALTH_WITHIN = 120
#: A Startup step (the component is STARTING, not RUNNING, until it exits 0): start the script in the
#: background and pass once it has published a result; fail as soon as its first cycle ends without one,
#: the script dies, or time is up. Shutdown stops the background script.
HEALTH_CHECKED_STARTUP = """\
if [ -n "$HIL_MODEL_RESOURCE_ROOT" ]; then HIL_MODEL_DIR="$HIL_MODEL_RESOURCE_ROOT"; fi
log="{{work:path}}/inference.log"
: >"$log"
{python} {{artifacts:path}}/component.py --model-dir "$HIL_MODEL_DIR" --accelerator "$HIL_ACCELERATOR" \\
 --image-dir "$HIL_IMAGE_DIR" --image-name "$HIL_IMAGE_NAME" --interval "$HIL_INFERENCE_INTERVAL" \\
 --topic "$HIL_RESULTS_TOPIC" >>"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"{{work:path}}/inference.pid"
tail -n +1 -f --pid="$pid" "$log" &
waited=0
until grep -q 'ms=[0-9.]* published on ' "$log"; do
  if grep -Eq 'no image in|NOT published|skipping image|error: ' "$log" || ! kill -0 "$pid" 2>/dev/null \\
     || [ "$waited" -ge {within} ]; then
    echo "health check failed: no inference result published after $waited s" >&2
    kill "$pid" 2>/dev/null
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "health check passed: first result published after $waited s"
"""
HEALTH_CHECKED_SHUTDOWN = 'kill "$(cat {work:path}/inference.pid)" 2>/dev/null || true'
#: An interpreter the device does not have: the Run command itself fails, at once, on every retry.
MISSING_PYTHON = "/opt/hil/venv-missing/bin/python"


def variant(component: Component, version: str, edit: Callable[[dict[str, Any]], None]) -> Component:
    """``component`` as ``version`` with ``edit`` applied to its (only) manifest's Lifecycle."""
    raw = component.recipe.to_dict()
    raw["ComponentVersion"] = version
    edit(raw["Manifests"][0]["Lifecycle"])
    for artifact in raw["Manifests"][0]["Artifacts"]:
        artifact.pop("Digest", None)
        artifact.pop("Algorithm", None)
        artifact["URI"] = artifact["URI"].replace(f"/{component.recipe.component_version}/", f"/{version}/")
    return Component(parse_recipe(raw, source=f"variant {version}"), dict(component.files)).sealed()


def broken(deployed, fault: str) -> Component:
    """Version N+1 with one fault. Lifecycle, not configuration: a deployment keeps the configuration
    the running version already has, so a changed default would not reach the device."""
    run = deployed.inference.recipe.to_dict()["Manifests"][0]["Lifecycle"]["Run"]
    script = run["Script"] if isinstance(run, dict) else run
    python = script.split("exec ", 1)[1].split(" ", 1)[0]  # the interpreter the builder chose

    def install(lifecycle: dict[str, Any]) -> None:  # N+1 needs a labels file the model component lacks
        lifecycle["Install"] = {"Script": 'test -f "$HIL_MODEL_DIR/labels.txt" || '
                                          '{ echo "labels.txt missing in $HIL_MODEL_DIR" >&2; exit 1; }', "Timeout": 60}

    def run_fails(lifecycle: dict[str, Any]) -> None:
        lifecycle["Run"] = {"Script": script.replace(f"exec {python} ", f"exec {MISSING_PYTHON} ", 1)}

    def unhealthy(lifecycle: dict[str, Any]) -> None:  # runs, but its image directory is empty: never publishes
        lifecycle["Setenv"] = {**lifecycle["Setenv"], "HIL_IMAGE_DIR": f"{deployed.base}/empty"}
        del lifecycle["Run"]
        lifecycle["Startup"] = {"Script": HEALTH_CHECKED_STARTUP.format(python=python, within=HEALTH_WITHIN),
                                "Timeout": HEALTH_WITHIN + 30}
        lifecycle["Shutdown"] = {"Script": HEALTH_CHECKED_SHUTDOWN}

    edit, version = {"install": (install, "1.0.1"), "run": (run_fails, "1.0.2"), "health": (unhealthy, "1.0.3")}[fault]
    return variant(deployed.inference, version, edit)


def expected_top1() -> int:
    return json.loads((IMAGES.parent / "model" / "reference.json").read_text())["outputs"][FIXTURE_IMAGE]["top1"]


@pytest.mark.parametrize("fault", ["install", "run", "health"])
def test_broken_update_rolls_back_to_a_working_version(device, deployed, results, fault, hil_record):
    client, name = deployed.client, deployed.inference_name
    version = deployed.inference.recipe.component_version
    steps.expect_component_state(client, name, "RUNNING", version=version, within=60)
    if fault == "health":
        device.transport.check(["mkdir", "-p", f"{deployed.base}/empty"], timeout=30, step="stage empty dir")
    update = broken(deployed, fault)
    with pytest.raises(DeploymentFailed) as failed:
        steps.deploy(client, [update], within=600, failure_handling_policy="ROLLBACK")
    hil_record.fact("deployment", str(failed.value))
    hil_record.log(f"{name}.log", failed.value.evidence)
    assert "FAILED_ROLLBACK_COMPLETE" in str(failed.value)
    back = steps.expect_component_state(client, name, "RUNNING", version=version, within=120)
    assert back.version == version

    with results(deployed.topic) as subscriber:  # the rolled-back version answers, and answers right
        (result,) = subscriber.expect(lambda r: r.image == FIXTURE_IMAGE, within=RESULT_WITHIN, device=device.name)
    assert result.top1 == expected_top1()
    assert np.isfinite(result.predictions[0].score)
    hil_record.fact("after_rollback", {"version": back.version, "top1": result.top1})

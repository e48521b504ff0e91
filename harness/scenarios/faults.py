"""Broken next versions of an inference component: one planted fault each (Install, Run, health check).

Each is the same component with one lifecycle change, so what differs between N and N+1 is exactly
the fault. Lifecycle, not configuration: a deployment keeps the configuration the running version
already has, so a changed default would never reach the device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.greengrass.artifacts import Component
from harness.greengrass.recipe import parse_recipe

FAULTS = ("install", "run", "health")
#: The policy the rollback scenarios deploy a broken version with. A local deployment's default is
#: DO_NOTHING (the broken version stays, BROKEN), so rolling back must be asked for.
FAILURE_HANDLING = "ROLLBACK"

#: Seconds the health check waits for the first published result before it declares the component unhealthy.
HEALTH_WITHIN = 120
#: A Startup step (the component is STARTING, not RUNNING, until it exits 0): start the script in the
#: background and pass once it has published a result; fail as soon as its first cycle ends without one,
#: the script dies, or time is up. Shutdown stops the background script.
HEALTH_CHECKED_STARTUP = """\
if [ -n "$HIL_MODEL_RESOURCE_ROOT" ]; then HIL_MODEL_DIR="$HIL_MODEL_RESOURCE_ROOT"; fi
log="{{work:path}}/inference.log"
: >"$log"
{command} >>"$log" 2>&1 </dev/null &
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

#: The line each planted fault leaves in the component's log: the deployment failed for that reason.
SYMPTOM = {"install": "labels.txt missing in", "run": f"{MISSING_PYTHON}: not found",
           "health": "health check failed: no inference result published"}


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


def broken(inference: Component, fault: str, work_dir: str) -> Component:
    """``inference`` (version N, from harness.greengrass.builders) as N+1 with ``fault``; ``work_dir`` is a
    device directory the health fault may point the images at (kept empty)."""
    run = inference.recipe.to_dict()["Manifests"][0]["Lifecycle"]["Run"]
    script = run["Script"] if isinstance(run, dict) else run
    python = script.split("exec ", 1)[1].split(" ", 1)[0]  # the interpreter the builder chose

    def install(lifecycle: dict[str, Any]) -> None:  # N+1 needs a labels file the model component lacks
        lifecycle["Install"] = {"Script": 'test -f "$HIL_MODEL_DIR/labels.txt" || '
                                          '{ echo "labels.txt missing in $HIL_MODEL_DIR" >&2; exit 1; }', "Timeout": 60}

    def run_fails(lifecycle: dict[str, Any]) -> None:
        lifecycle["Run"] = {"Script": script.replace(f"exec {python} ", f"exec {MISSING_PYTHON} ", 1)}

    def unhealthy(lifecycle: dict[str, Any]) -> None:  # runs, but has no images / inputs: never publishes
        lifecycle["Setenv"] = {**lifecycle["Setenv"], "HIL_IMAGE_DIR": f"{work_dir}/empty"}
        if "HIL_INPUTS_FILE" in lifecycle["Setenv"]:  # the generic model component
            lifecycle["Setenv"]["HIL_INPUTS_FILE"] = f"{work_dir}/empty/inputs.npz"
        del lifecycle["Run"]
        command = script.split("exec ", 1)[1]  # the Run command itself, started in the background
        lifecycle["Startup"] = {"Script": HEALTH_CHECKED_STARTUP.format(command=command, within=HEALTH_WITHIN),
                                "Timeout": HEALTH_WITHIN + 30}
        lifecycle["Shutdown"] = {"Script": HEALTH_CHECKED_SHUTDOWN}

    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
    edit, version = {"install": (install, "1.0.1"), "run": (run_fails, "1.0.2"), "health": (unhealthy, "1.0.3")}[fault]
    return variant(inference, version, edit)

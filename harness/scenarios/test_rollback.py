"""Rollback: version N runs; a broken N+1 (fails at Install, fails at Run, fails its own health check) is
deployed with failure handling ROLLBACK; the deployment FAILS, N is RUNNING again and still answers right:
its published outputs agree with the user's own model run on the host (harness.models.reference) on the same
inputs, within the dtype's tolerance (harness.models.tolerance).

The broken versions are built in harness/scenarios/faults.py.
"""

from __future__ import annotations

import pytest

from harness.greengrass import steps
from harness.greengrass.errors import DeploymentFailed
from harness.scenarios.conftest import RESULT_WITHIN
from harness.scenarios.faults import FAILURE_HANDLING, FAULTS, SYMPTOM, broken


@pytest.mark.parametrize("fault", FAULTS)
def test_broken_update_rolls_back_to_a_working_version(device, deployed, inference_results, fault, hil_record):
    client, name = deployed.client, deployed.inference_name
    version = deployed.inference.recipe.component_version
    steps.expect_component_state(client, name, "RUNNING", version=version, within=60)
    if fault == "health":
        device.transport.check(["mkdir", "-p", f"{deployed.base}/empty"], timeout=30, step="stage empty dir")
    update = broken(deployed.inference, fault, deployed.base)
    offset = client.log_size(name)
    with pytest.raises(DeploymentFailed) as failed:
        steps.expect_deployment(client, [update], within=600, failure_handling_policy=FAILURE_HANDLING)
    hil_record.fact("deployment", str(failed.value))
    hil_record.log(f"{name}.log", failed.value.evidence)
    assert "FAILED_ROLLBACK_COMPLETE" in str(failed.value)
    assert SYMPTOM[fault] in client.read_log(name, offset=offset), "N+1 failed, but not for its planted fault"
    back = steps.expect_component_state(client, name, "RUNNING", version=version, within=120)
    assert back.version == version

    with inference_results(deployed.topic) as subscriber:  # the rolled-back version answers, and answers right
        (message,) = subscriber.expect_json(lambda m: m.get("input") in deployed.reference, within=RESULT_WITHIN,
                                            device=device.name)
    problems = deployed.problems(message)
    hil_record.fact("after_rollback", {"version": back.version, "input": message["input"],
                                       "agreement": problems or "agrees with the host reference"})
    assert not problems, f"{device.name}: after the rollback: " + "; ".join(problems)

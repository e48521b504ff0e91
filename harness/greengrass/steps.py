"""Test steps in the words of AWS's Greengrass Testing Framework, as plain functions and fixtures.

GTF's Gherkin steps ("the local Greengrass deployment is SUCCEEDED on the device after 120
seconds", "I verify the X component is RUNNING using the greengrass-cli") become::

    expect_deployment(gg, [model, inference], expect="SUCCEEDED", within=120)
    expect_component_state(gg, inference.recipe.component_name, "RUNNING", within=30)
    expect_log_line(gg, name, r"inference result", within=60)

A failure reads like ``rasp4b-emu: deploy com.example.Model@1.0.1: [deployment] FAILED
(COMPONENT_BROKEN: ...) after 12.3 s (expected SUCCEEDED)``. Register the fixtures with
``pytest_plugins = ["harness.greengrass.steps"]`` (or import them into a conftest/plugin):
``greengrass`` (the client of the lab's ``device``), ``gg_run_id``, ``gg_name``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from harness.diagnose import diagnose, from_deployment
from harness.errors import FailureClass
from harness.greengrass.artifacts import Component
from harness.greengrass.builders import run_id, unique_name
from harness.greengrass.cli_output import ComponentDetails
from harness.greengrass.client import DeploymentResult, GreengrassClient
from harness.greengrass.errors import DeploymentFailed, DeviceDiskFull
from harness.greengrass.privilege import cli_invocations, for_user, greengrass_root

_ADVICE = {
    "COMPONENT_BROKEN": "a lifecycle script failed 3 times; read the component's log under logs/",
    "COMPONENT_RECIPE_ERROR": "the nucleus rejected a recipe: check names, versions and recipe variables",
    "ARTIFACT_CHECKSUM_MISMATCH": "an artifact changed after its Digest was computed: rebuild the component",
    "NO_AVAILABLE_COMPONENT_VERSION": "a dependency's VersionRequirement matches no staged version",
    "COMPONENT_UPDATE_ERROR": "a component did not stop or start in time during the update",
}


def expect_deployment(client: GreengrassClient, components: Iterable[Component] = (), *, expect: str = "SUCCEEDED",
                      within: float = 300.0, remove: Sequence[str] = (), merge: Mapping[str, str] | None = None,
                      update_config: Mapping[str, Any] | None = None,
                      failure_handling_policy: str | None = None) -> DeploymentResult:
    """Deploy, and raise DeploymentFailed unless the deployment ends ``expect`` (SUCCEEDED or FAILED)
    within ``within`` s. Rollback tests pass ``failure_handling_policy="ROLLBACK"``: a local
    deployment's default is DO_NOTHING."""
    components = list(components)
    result = client.run_deployment(components, merge=merge, remove=remove, update_config=update_config,
                                   timeout=within, failure_handling_policy=failure_handling_policy)
    if result.status.status != expect:
        names = [c.recipe.component_name for c in components] + list(merge or {})
        raise deployment_failed(result, expect, device=client.device, root=client.root,
                                evidence=_failure_evidence(client, names) if result.status.status == "FAILED" else "")
    return result


def deployment_failed(result: DeploymentResult, expect: str, *, device: str, root: str,
                      evidence: str = "") -> DeploymentFailed:
    """The error for a deployment that ended other than ``expect``: DeviceDiskFull when its status shows the
    core's disk filled (harness.diagnose's disk-full signatures), else DeploymentFailed with the advice of the
    most specific error code we know."""
    status = result.status
    tail = f"after {result.elapsed:.1f} s (expected {expect}; deployment {result.deployment_id})"
    found = diagnose(from_deployment(status)) if status.status == "FAILED" else None
    if found is not None and found.failure_class == FailureClass.DISK_FULL:
        kept = ("; nothing on the core changed, the components that ran before still run"
                if status.detailed_status == "FAILED_NO_STATE_CHANGE" else "")
        codes = "; ".join(s for s in (", ".join(status.error_stack), status.detailed_status) if s)
        return DeviceDiskFull(f"{found.summary}{kept}. Deployment {status.status} ({codes}) {tail}", device=device,
                              step=result.label, advice=found.advice, evidence=evidence)
    # The error stack runs from generic to specific: advise on the most specific code we know.
    codes_known = [*reversed(status.error_stack), *status.error_types]
    advice = next((_ADVICE[code] for code in codes_known if code in _ADVICE), None)
    return DeploymentFailed(f"{status.describe()} {tail}", device=device, step=result.label,
                            advice=advice or f"read {root}/logs/greengrass.log and the components' logs",
                            evidence=evidence)


def _failure_evidence(client: GreengrassClient, names: Sequence[str]) -> str:
    """The end of greengrass.log and of each deployed component's log: where the cause usually is."""
    parts = ["greengrass.log:", client.greengrass_log_tail(12)]
    for name in names:
        tail = client.read_log(name, max_bytes=8192).splitlines()[-4:]
        if tail:
            parts += [f"{name}.log:", *tail]
    return "\n".join(parts)


def expect_component_state(client: GreengrassClient, name: str, state: str | Iterable[str], *,
                           within: float = 30.0, version: str | None = None) -> ComponentDetails:
    """The component reaches ``state`` (e.g. RUNNING, FINISHED), at ``version`` if given (after a
    rollback: the previous one), within ``within`` seconds."""
    states = {state} if isinstance(state, str) else set(state)
    return client.wait_for_state(name, states, timeout=within, version=version)


def expect_log_line(client: GreengrassClient, name: str, pattern: str | re.Pattern[str], *,
                    within: float = 60.0, offset: int = 0) -> str:
    """A line of ``logs/<name>.log`` (after byte ``offset``) matches ``pattern`` within ``within`` s."""
    return client.wait_for_log(name, pattern, timeout=within, offset=offset)


def restart_component(client: GreengrassClient, name: str, *, expect: str = "RUNNING",
                      within: float = 60.0) -> ComponentDetails:
    client.restart_component(name)
    return client.wait_for_state(name, {expect}, timeout=within)


def stop_component(client: GreengrassClient, name: str, *, within: float = 30.0) -> ComponentDetails:
    """Stop and wait until the component no longer runs (the nucleus reports it FINISHED, INSTALLED,
    STOPPING's end state, or ERRORED if it would not stop cleanly)."""
    client.stop_component(name)
    return client.wait_for_state(name, {"FINISHED", "INSTALLED", "ERRORED", "NEW"}, timeout=within)


def client_for(device: Any) -> GreengrassClient:
    """A client for a lab ``Device``: its root and CLI invocation as harness.greengrass.privilege decides them
    from the device's features (``greengrass_root``, ``greengrass_cli``, ``sudo``) and its user."""
    features = device.features
    return GreengrassClient(device.transport, root=greengrass_root(features),
                            cli=for_user(cli_invocations(features), device.transport))


@pytest.fixture
def greengrass(device: Any) -> Iterator[GreengrassClient]:
    """The Greengrass client of the ``device`` under test (the lab plugin's ``device`` fixture); its
    staging directory is removed from the device afterwards."""
    client = client_for(device)
    yield client
    client.close()


@pytest.fixture(scope="session")
def gg_run_id() -> str:
    """This test run's id (``$HIL_RUN_ID`` or random, plus the xdist worker)."""
    return run_id()


@pytest.fixture
def gg_name(gg_run_id: str) -> Callable[[str], str]:
    """``gg_name("com.example.Model")`` -> a component name unique to this run."""
    return lambda base: unique_name(base, gg_run_id)

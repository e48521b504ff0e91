"""The client reads every golden transcript of the real greengrass-cli (tests/golden/greengrass-cli/, each
citing the CLI source lines it is transcribed from), filled in with sample values."""

from __future__ import annotations

import json

import pytest

from harness.greengrass.cli_output import (
    USAGE_ERROR_RE,
    parse_component_details,
    parse_components,
    parse_deployment_id,
    parse_deployment_list,
    parse_deployment_status,
)
from tests.golden import greengrass_cli as golden

SAMPLE = {
    "id": "5f0c2a4e-9d1b-4c1e-8a52-0c6f4b6a7d10", "id_2": "b7e3a9c2-1f4d-4e8a-9c3b-2d5e6f7a8b90",
    "created": "01-12-2026 19:45:01 UTC", "created_2": "01-12-2026 19:47:30 UTC",
    "status": "SUCCEEDED", "status_2": "FAILED",
    "detailed": "FAILED_ROLLBACK_NOT_REQUESTED",
    "stack": "DEPLOYMENT_FAILURE, COMPONENT_UPDATE_ERROR, COMPONENT_BROKEN",
    "types": "USER_COMPONENT_ERROR", "cause": "Service com.example.HelloWorld in broken state after deployment",
    "name": "com.example.HelloWorld", "name_2": "aws.greengrass.Nucleus", "version": "1.0.0", "version_2": "2.18.2",
    "state": "RUNNING", "state_2": "FINISHED", "configuration": '{"Message":"world"}',
    "configuration_2": '{"awsRegion":"us-east-1"}', "dir": "/home/ggc/recipes",
}


def test_every_transcript_cites_its_source_and_has_a_reader():
    assert set(golden.names()) == set(READERS)
    for name in golden.names():
        head = golden.header(name)
        assert any(line.startswith("# source: ") and ".java:" in line for line in head), name
        assert any(line.startswith("# command: ") for line in head), name


def _create(text: str) -> None:
    assert parse_deployment_id(text) == SAMPLE["id"]


def _status(text: str) -> None:
    status = parse_deployment_status(text, SAMPLE["id"])
    assert (status.deployment_id, status.status) == (SAMPLE["id"], SAMPLE["status"])
    assert status.error_stack == () and status.detailed_status is None


def _status_with_date(text: str) -> None:
    _status(text)
    assert parse_deployment_status(text).created_on == SAMPLE["created"]


def _failed(text: str) -> None:
    status = parse_deployment_status(text, SAMPLE["id"])
    assert (status.status, status.detailed_status, status.failure_cause) == (
        "FAILED", SAMPLE["detailed"], SAMPLE["cause"])
    assert status.error_stack == tuple(SAMPLE["stack"].split(", "))
    assert status.error_types == (SAMPLE["types"],)
    assert status.created_on == SAMPLE["created"]
    assert "COMPONENT_BROKEN" in status.describe() and SAMPLE["detailed"] in status.describe()


def _list(text: str) -> None:
    listed = parse_deployment_list(text)
    assert [(d.deployment_id, d.status) for d in listed] == [(SAMPLE["id"], SAMPLE["status"]),
                                                             (SAMPLE["id_2"], SAMPLE["status_2"])]
    assert "Status" not in {d.deployment_id for d in listed}


def _details(text: str) -> None:
    comp = parse_component_details(text, SAMPLE["name"])
    assert (comp.name, comp.version, comp.state) == (SAMPLE["name"], SAMPLE["version"], SAMPLE["state"])
    assert comp.configuration == json.loads(SAMPLE["configuration"])


def _components(text: str) -> None:
    assert [(c.name, c.version, c.state) for c in parse_components(text)] == [
        (SAMPLE["name"], SAMPLE["version"], SAMPLE["state"]), (SAMPLE["name_2"], SAMPLE["version_2"],
                                                              SAMPLE["state_2"])]


def _cancel(text: str) -> None:
    assert text.strip() and not USAGE_ERROR_RE.match(text)  # a message, printed as is


def _usage(text: str) -> None:
    assert USAGE_ERROR_RE.match(text)  # the client turns it into a CliOutputError despite exit status 0


READERS = {
    "deployment-create": _create, "deployment-status": _status_with_date, "deployment-status-2.10": _status,
    "deployment-status-failed": _failed, "deployment-list": _list, "deployment-list-2.10": _list,
    "component-details": _details, "component-list": _components, "deployment-cancel-submitted": _cancel,
    "deployment-cancel-finished": _cancel, "usage-missing-option": _usage, "usage-missing-subcommand": _usage,
}


@pytest.mark.parametrize("name", golden.names())
def test_client_reads_transcript(name):
    text = golden.render(name, **SAMPLE)
    assert golden.match(name, text) is not None  # the sample values fit the shapes the emulator is held to
    READERS[name](text)


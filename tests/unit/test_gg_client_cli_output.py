"""greengrass-cli output parsing against samples of the real CLI (sources cited per sample)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.greengrass.cli_output import (
    parse_component_details,
    parse_components,
    parse_deployment_id,
    parse_deployment_list,
    parse_deployment_status,
)
from harness.greengrass.errors import CliOutputError

# aws-greengrass-cli client/.../commands/DeploymentCommand.java: println("Local deployment submitted!
# Deployment Id: " + deploymentId); preceded, on CLI 2.x with the Java IPC client, by the event
# stream INFO lines (as shown in public tutorials, e.g. kyopark2014/iot-greengrass README).
CREATE_WITH_IPC_CHATTER = """\
Aug 05, 2022 9:02:13 AM software.amazon.awssdk.eventstreamrpc.EventStreamRPCConnection$1 onConnectionSetup
INFO: Socket connection /greengrass/v2/ipc.socket:8033 to server result [AWS_ERROR_SUCCESS]
Aug 05, 2022 9:02:13 AM software.amazon.awssdk.eventstreamrpc.EventStreamRPCConnection$1 onProtocolMessage
INFO: Connection established with event stream RPC server
Local deployment submitted! Deployment Id: e40c64e4-6ab6-4eff-a0e6-989c4b0bbd3a
"""
# Developer guide, gg-cli-deployment.md, "create" output sample.
CREATE_DOC = "Local deployment has been submitted! Deployment Id: 44d89f46-1a29-4044-ad89-5151213dfcbc\n"
# Developer guide, gg-cli-deployment.md, "status" output sample (printf("%s: %s%n", id, status)).
STATUS_DOC = "44d89f46-1a29-4044-ad89-5151213dfcbc: FAILED\n"
# A newer CLI's status with its "Created on" line (sample in a public Raspberry Pi 4B project README).
STATUS_CREATED_ON = "bb1e6070-d6ca-490f-b515-5b5559979b52: SUCCEEDED\nCreated on: 29-10-2024 16:54:41 UTC\n"
# Detail lines as named in GTF's deployment feature steps (Detailed Status, Deployment Error Stack,
# Deployment Error Types, Deployment Failure Cause); values from the same GTF scenario.
STATUS_DETAILED = """\
d1eea524-3321-404d-80f3-b21d4f19fdbd: FAILED
Created on: 29-10-2024 16:54:41 UTC
Detailed Status: FAILED_ROLLBACK_NOT_REQUESTED
Deployment Error Stack: [DEPLOYMENT_FAILURE, COMPONENT_UPDATE_ERROR, COMPONENT_BROKEN]
Deployment Error Types: [USER_COMPONENT_ERROR]
Deployment Failure Cause: Service HelloWorldBroken in broken state
"""
# Developer guide, gg-cli-component.md, "list" output sample (unindented).
LIST_DOC = """\
Components currently running in Greengrass:
Component Name: FleetStatusService
Version: 0.0.0
State: RUNNING
Configuration: {"periodicUpdateIntervalSec":86400.0}
Component Name: UpdateSystemPolicyService
Version: 0.0.0
State: RUNNING
Configuration: null
Component Name: aws.greengrass.Nucleus
Version: 2.0.0
State: FINISHED
Configuration: {"awsRegion":"region","runWithDefault":{"posixUser":"ggc_user:ggc_group"},"telemetry":{}}
Component Name: aws.greengrass.Cli
Version: 2.0.0
State: RUNNING
Configuration: {"AuthorizedPosixGroups":"ggc_user"}
"""
# ComponentCommand.printComponentDetails indents the fields by four spaces; "Version: null" as
# printed for built-in services (public tutorial output).
DETAILS_SOURCE_FORMAT = """\
Component Name: com.example.HelloMqtt
    Version: 1.0.0
    State: RUNNING
    Configuration: {"accessControl":{"aws.greengrass.ipc.mqttproxy":{}},"Message":"hi"}
Component Name: FleetStatusService
    Version: null
    State: RUNNING
    Configuration: null
"""


def test_deployment_id_from_source_format_with_ipc_chatter():
    # GTF splits on ':' and takes the last part; the INFO lines would fool that, our regex is anchored.
    assert parse_deployment_id(CREATE_WITH_IPC_CHATTER) == "e40c64e4-6ab6-4eff-a0e6-989c4b0bbd3a"
    assert parse_deployment_id(CREATE_DOC) == "44d89f46-1a29-4044-ad89-5151213dfcbc"


def test_deployment_id_missing_is_typed_error_with_output_tail():
    with pytest.raises(CliOutputError, match="no Deployment Id: Exception in thread"):
        parse_deployment_id("Exception in thread \"main\" java.lang.RuntimeException\n")


def test_deployment_status_samples():
    doc = parse_deployment_status(STATUS_DOC)
    assert (doc.deployment_id, doc.status, doc.terminal) == ("44d89f46-1a29-4044-ad89-5151213dfcbc", "FAILED", True)
    created = parse_deployment_status(STATUS_CREATED_ON, "bb1e6070-d6ca-490f-b515-5b5559979b52")
    assert created.status == "SUCCEEDED" and created.created_on == "29-10-2024 16:54:41 UTC"
    detailed = parse_deployment_status(STATUS_DETAILED)
    assert detailed.detailed_status == "FAILED_ROLLBACK_NOT_REQUESTED"
    assert detailed.error_stack == ("DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN")
    assert detailed.error_types == ("USER_COMPONENT_ERROR",)
    assert detailed.failure_cause == "Service HelloWorldBroken in broken state"
    assert detailed.describe() == ("FAILED (DEPLOYMENT_FAILURE, COMPONENT_UPDATE_ERROR, COMPONENT_BROKEN: "
                                   "Service HelloWorldBroken in broken state; FAILED_ROLLBACK_NOT_REQUESTED)")
    assert doc.describe() == "FAILED" and created.describe() == "SUCCEEDED"
    assert not parse_deployment_status("x-1: IN_PROGRESS\n").terminal


def test_deployment_status_for_another_id_is_not_taken():
    with pytest.raises(CliOutputError, match="for other-id"):
        parse_deployment_status(STATUS_DOC, "other-id")


def test_deployment_list():
    statuses = parse_deployment_list(STATUS_DOC + "a-2: SUCCEEDED\nb-3: IN_PROGRESS\n")
    assert [(s.deployment_id, s.status) for s in statuses] == [
        ("44d89f46-1a29-4044-ad89-5151213dfcbc", "FAILED"), ("a-2", "SUCCEEDED"), ("b-3", "IN_PROGRESS")]


def test_component_list_doc_sample():
    comps = parse_components(LIST_DOC)
    assert [c.name for c in comps] == ["FleetStatusService", "UpdateSystemPolicyService", "aws.greengrass.Nucleus",
                                       "aws.greengrass.Cli"]
    nucleus = comps[2]
    assert (nucleus.version, nucleus.state) == ("2.0.0", "FINISHED")
    assert nucleus.configuration["runWithDefault"]["posixUser"] == "ggc_user:ggc_group"
    assert comps[1].configuration is None


def test_component_details_source_format():
    hello = parse_component_details(DETAILS_SOURCE_FORMAT, "com.example.HelloMqtt")
    assert (hello.version, hello.state, hello.configuration["Message"]) == ("1.0.0", "RUNNING", "hi")
    assert parse_component_details(DETAILS_SOURCE_FORMAT, "FleetStatusService").version is None
    with pytest.raises(CliOutputError, match="no block for com.example.Other"):
        parse_component_details(DETAILS_SOURCE_FORMAT, "com.example.Other")


def test_component_without_state_or_with_bad_json_is_typed_error():
    with pytest.raises(CliOutputError, match="without a State"):
        parse_components("Component Name: X\n    Version: 1.0.0\n")
    with pytest.raises(CliOutputError, match="not JSON"):
        parse_components("Component Name: X\n    Version: 1.0.0\n    State: RUNNING\n    Configuration: {oops\n")


cli_like = st.lists(st.one_of(
    st.text(max_size=40),
    st.sampled_from(["Component Name: ", "    Version: ", "    State: ", "    Configuration: ",
                     "Local deployment submitted! Deployment Id: ", "Created on: ", "Deployment Error Stack: "])
    .flatmap(lambda head: st.text(max_size=30).map(lambda tail: head + tail)),
    st.sampled_from([STATUS_DETAILED, LIST_DOC, DETAILS_SOURCE_FORMAT, CREATE_DOC])), max_size=8).map("\n".join)


@settings(max_examples=400, deadline=None)
@given(cli_like)
def test_fuzz_parsers_return_values_or_cli_output_error(text):
    for parse in (parse_deployment_id, parse_deployment_status, parse_components, parse_deployment_list,
                  lambda t: parse_component_details(t, "FleetStatusService")):
        try:
            parse(text)
        except CliOutputError as exc:
            assert exc.failure_class == "command"

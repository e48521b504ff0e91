"""The emulator's greengrass-cli prints exactly the real CLI's text: the golden transcripts under
tests/golden/greengrass-cli/ (transcribed from aws-greengrass-cli v2.16.1 and picocli 4.5.1, sources cited in
each), its exit codes, and the lines AWS's test framework (GTF) parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulators.greengrass.localcore import LocalCore, recipe, write_recipe
from tests.golden import greengrass_cli as golden

# GTF (aws-greengrass/aws-greengrass-testing, aws-greengrass-testing-features-api/.../GreengrassCliSteps.java):
# the status is part 2 of the first line containing ":" split on ": ", a state is "State: <STATE>" in details.
GTF_STATUS_LINE = re.compile(r"^[^:\n]*: (?P<status>[^:\n]*)$")


@pytest.fixture
def core(tmp_path: Path):
    c = LocalCore(tmp_path / "gg")
    c.start()
    yield c
    c.stop()


def _values(transcript: str, text: str) -> dict[str, str]:
    found = golden.match(transcript, text)
    assert found is not None, f"not the shape of {transcript}.txt:\n{text}"
    return found


def test_deployment_commands_print_the_transcripts(core: LocalCore, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.Once", "1.0.0", {"Run": "echo done"}))
    write_recipe(recipes, recipe("com.ex.Crash", "1.0.0", {"Run": "exit 1"}))
    create = core.cli("deployment", "create", "--recipeDir", str(recipes), "--merge", "com.ex.Once=1.0.0")
    good = _values("deployment-create", create.stdout)["id"]
    core.wait_deployment(good)
    status = core.cli("deployment", "status", "--deploymentId", good).stdout
    succeeded = _values("deployment-status", status)
    assert (succeeded["id"], succeeded["status"]) == (good, "SUCCEEDED")
    assert GTF_STATUS_LINE.match(status.splitlines()[0]).group("status") == "SUCCEEDED"

    bad = _values("deployment-create", core.cli("deployment", "create", "-r", str(recipes),
                                                "-m", "com.ex.Crash=1.0.0").stdout)["id"]
    core.wait_deployment(bad)
    failed = _values("deployment-status-failed", core.cli("deployment", "status", "-i", bad).stdout)
    assert (failed["id"], failed["detailed"]) == (bad, "FAILED_ROLLBACK_NOT_REQUESTED")  # no -fp: DO_NOTHING
    assert failed["stack"] == "DEPLOYMENT_FAILURE, COMPONENT_UPDATE_ERROR, COMPONENT_BROKEN"
    assert failed["types"] == "USER_COMPONENT_ERROR"
    assert failed["cause"] == "Service com.ex.Crash in broken state after deployment"

    listed = _values("deployment-list", core.cli("deployment", "list").stdout)
    assert [(listed["id"], listed["status"]), (listed["id_2"], listed["status_2"])] == [(good, "SUCCEEDED"),
                                                                                         (bad, "FAILED")]
    finished = core.cli("deployment", "cancel", "-i", good).stdout
    assert golden.match("deployment-cancel-finished", finished) == {}


def test_component_commands_print_the_transcripts(core: LocalCore, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.Svc", "1.0.0", {"Run": "exec sleep 60"}, config={"Message": "hi"}))
    core.wait_deployment(core.deploy("-r", str(recipes), "-m", "com.ex.Svc=1.0.0"))
    details = _values("component-details", core.cli("component", "details", "--name", "com.ex.Svc").stdout)
    assert details == {"name": "com.ex.Svc", "version": "1.0.0", "state": "RUNNING",
                       "configuration": '{"Message":"hi"}'}
    lines = core.cli("component", "list").stdout.splitlines(keepends=True)
    first_two = "".join(lines[:9])  # the header, then two four-line blocks
    assert golden.match("component-list", first_two) is not None
    blocks = ["".join(lines[i:i + 4]) for i in range(1, len(lines), 4)]
    assert all(golden.match("component-details", block) for block in blocks), blocks
    assert any(block.startswith("Component Name: com.ex.Svc\n") for block in blocks)


def test_usage_error_transcripts(core: LocalCore) -> None:
    missing = core.cli("deployment", "status", check=False)
    assert missing.returncode == 0 and missing.stdout == ""
    assert golden.match("usage-missing-option", missing.stderr.splitlines(keepends=True)[0]) == {}
    bare = core.cli("deployment", check=False)
    assert bare.returncode == 0 and golden.match("usage-missing-subcommand",
                                                 bare.stdout.splitlines(keepends=True)[0]) == {}


@pytest.mark.parametrize("args, message", [  # picocli 4.5.1 CommandLine.java messages
    (["component", "details"], "Missing required option: '--name=Component name'"),
    (["component", "details", "--name", "x", "--bogus"], "Unknown option: '--bogus'"),
    (["deployment", "create", "--merge", "noversion"], "should be in KEY=VALUE format but was noversion"),
    (["deployment", "create", "-fp", "SOMETIMES"],
     "Invalid value for option '--failure-handling-policy' (Failure handling policy): expected one of "
     "[ROLLBACK, DO_NOTHING] (case-sensitive) but was 'SOMETIMES'"),
    (["deployment", "explode"], "Unmatched argument at index 1: 'explode'"),
])
def test_usage_errors_exit_0_like_the_java_cli(core: LocalCore, args: list[str], message: str) -> None:
    proc = core.cli(*args, check=False)  # CLI.main: a ParameterException is printed, the exit code stays 0
    assert proc.returncode == 0 and proc.stderr.splitlines()[0].endswith(message) and "usage:" in proc.stderr
    assert proc.stdout == ""


def test_nucleus_errors_exit_1_with_the_exception_chain(core: LocalCore, tmp_path: Path) -> None:
    bad_config = core.cli("deployment", "create", "--update-config", "{not json", check=False)
    assert bad_config.returncode == 1 and "not a properly formatted JSON" in bad_config.stderr
    missing = core.cli("deployment", "status", "-i", "00000000-0000-0000-0000-000000000000", check=False)
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1] == ("Caused by: software.amazon.awssdk.aws.greengrass.model."
                                               "ResourceNotFoundError: Cannot find deployment")
    not_uuid = core.cli("deployment", "status", "-i", "../../etc/passwd", check=False)
    assert not_uuid.returncode == 1 and "DeploymentId is a UUID" in not_uuid.stderr
    unknown = core.cli("component", "details", "--name", "com.ex.None", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[-1].endswith("ResourceNotFoundError: Component with name com.ex.None not "
                                                    "found in Greengrass")
    bad_version = core.cli("deployment", "create", "-m", "com.ex.A=1.0", check=False)
    assert bad_version.returncode == 1 and "not a valid semantic version" in bad_version.stderr
    no_dir = core.cli("deployment", "create", "-r", str(tmp_path / "absent"), "-m", "com.ex.A=1.0.0", check=False)
    assert no_dir.returncode == 1 and "is not a directory" in no_dir.stderr


def test_cli_without_nucleus_fails_cleanly(tmp_path: Path) -> None:
    core = LocalCore(tmp_path / "gg")
    proc = core.cli("component", "list", check=False)
    assert proc.returncode == 1 and "Is the nucleus running?" in proc.stderr and proc.stdout == ""



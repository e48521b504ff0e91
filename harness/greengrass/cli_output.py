"""Reading what greengrass-cli prints, in the formats of the real CLI's releases.

Formats (aws-greengrass-cli, client/src/main/java/com/aws/greengrass/cli/commands/; the transcripts
under tests/golden/greengrass-cli/ cite file and line):
- ``deployment create``: ``Local deployment submitted! Deployment Id: <id>`` (DeploymentCommand.java:138;
  the developer guide's sample says ``Local deployment has been submitted!``; both are accepted). Older
  CLIs with the Java IPC client print event-stream ``INFO:`` lines around it; they are skipped.
- ``deployment status``: ``<id>: <STATUS>``, then from CLI 2.11 ``Created on: dd-MM-yyyy HH:mm:ss UTC``
  and, for a FAILED deployment only, ``Detailed Status``, ``Deployment Error Stack: A, B``, ``Deployment
  Error Types: X``, ``Deployment Failure Cause`` (DeploymentCommand.java:175-203; 2.10: line 141).
- ``deployment list``: from CLI 2.11 one block per deployment, ``Deployment ID: <id>`` / ``Created on:`` /
  ``Status: <STATUS>``, blocks separated by a blank line (DeploymentCommand.java:222-232); 2.10 and older
  print ``<id>: <STATUS>`` lines (v2.10.3 line 150). Both are read.
- ``component list|details``: ``Component Name: X`` then indented ``Version``, ``State``,
  ``Configuration: <JSON>`` (ComponentCommand.java:73-79); ``list`` prefixes ``Components currently running
  in Greengrass:``. GTF's isComponentInState looks for ``State: <STATE>``.
Missing required lines are a CliOutputError, never a crash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from harness.greengrass.errors import CliOutputError

DEPLOYMENT_ID_RE = re.compile(r"Local deployment (?:has been )?submitted! Deployment Id: *(?P<id>[A-Za-z0-9._:-]+) *$",
                              re.MULTILINE)
_STATUS_WORD = r"IN_PROGRESS|QUEUED|SUCCEEDED|FAILED|CANCELED|CANCELLED|REJECTED"
# "Status: X" of a list block is not a deployment named "Status".
DEPLOYMENT_STATUS_RE = re.compile(rf"^(?!Status: )(?P<id>[A-Za-z0-9._:-]+): (?P<status>{_STATUS_WORD}) *$",
                                  re.MULTILINE)
_LIST_BLOCK_RE = re.compile(rf"^Deployment ID: *(?P<id>[A-Za-z0-9._:-]+) *\n(?:Created on: *(?P<created>.*?) *\n)?"
                            rf"Status: *(?P<status>{_STATUS_WORD}) *$", re.MULTILINE)
#: First lines of picocli's usage errors, which the real CLI prints on stderr with exit status 0
#: (picocli CommandLine.java v4.5.1: MissingParameterException, UnmatchedArgumentException, conversions).
USAGE_ERROR_RE = re.compile(r"^(Missing required (option|parameter|subcommand)|Unknown options?:|Unmatched arguments?|"
                            r"Invalid value for |Value for option |A command is required|A subcommand is required)")
_DETAIL_RE = re.compile(r"^ *(?P<key>Created on|Detailed Status|Deployment Error Stack|Deployment Error Types|"
                        r"Deployment Failure Cause|Failure Cause): *(?P<value>.*?) *$", re.MULTILINE)
_COMPONENT_FIELD_RE = re.compile(r"^ *(?P<key>Component Name|Version|State|Configuration): ?(?P<value>.*?)\s*$")

#: Deployment statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "CANCELLED", "REJECTED"})
#: Component states of the Greengrass lifecycle (developer guide, "Develop components").
COMPONENT_STATES = frozenset({"NEW", "INSTALLED", "STARTING", "RUNNING", "STOPPING", "ERRORED", "BROKEN",
                              "FINISHED"})


@dataclass(frozen=True)
class DeploymentStatus:
    deployment_id: str
    status: str
    detailed_status: str | None = None
    error_stack: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()
    failure_cause: str | None = None
    created_on: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def describe(self) -> str:
        """``FAILED (COMPONENT_BROKEN: Service X in broken state; FAILED_ROLLBACK_COMPLETE)``, for messages.

        The detailed status tells whether the core rolled back (FAILED_ROLLBACK_COMPLETE) or not.
        """
        if self.status == "SUCCEEDED":
            return self.status
        why = ": ".join(s for s in (", ".join(self.error_stack), self.failure_cause) if s)
        extra = "; ".join(s for s in (why, self.detailed_status) if s)
        return f"{self.status} ({extra})" if extra else self.status


@dataclass(frozen=True)
class ComponentDetails:
    name: str
    version: str | None
    state: str
    configuration: Any = field(default=None, compare=False)


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


def parse_deployment_id(stdout: str) -> str:
    """The id from ``deployment create``'s ``Local deployment submitted! Deployment Id: <id>``."""
    matches = DEPLOYMENT_ID_RE.findall(stdout)
    if not matches:
        raise CliOutputError(f"greengrass-cli deployment create printed no Deployment Id: {_tail(stdout)}",
                             step="create deployment")
    return matches[-1]


def parse_deployment_status(stdout: str, deployment_id: str | None = None) -> DeploymentStatus:
    """``deployment status -i ID`` output: the ``<id>: <STATUS>`` line plus any detail lines."""
    found = [m for m in DEPLOYMENT_STATUS_RE.finditer(stdout)
             if deployment_id is None or m.group("id") == deployment_id]
    if not found:
        raise CliOutputError(f"greengrass-cli deployment status printed no '<id>: <STATUS>' line"
                             f"{' for ' + deployment_id if deployment_id else ''}: {_tail(stdout)}",
                             step="deployment status")
    head = found[-1]
    details = {m.group("key"): m.group("value") for m in _DETAIL_RE.finditer(stdout, head.end())}

    def listed(key: str) -> tuple[str, ...]:
        raw = details.get(key, "").strip("[] ")
        return tuple(p.strip() for p in raw.split(",") if p.strip() and p.strip() != "null")

    return DeploymentStatus(
        deployment_id=head.group("id"), status=head.group("status"),
        detailed_status=details.get("Detailed Status") or None,
        error_stack=listed("Deployment Error Stack"), error_types=listed("Deployment Error Types"),
        failure_cause=details.get("Deployment Failure Cause") or details.get("Failure Cause") or None,
        created_on=details.get("Created on") or None)


def parse_deployment_list(stdout: str) -> list[DeploymentStatus]:
    """``deployment list``: the blocks of CLI 2.11+, else the ``<id>: <STATUS>`` lines of older CLIs."""
    blocks = [DeploymentStatus(m.group("id"), m.group("status"), created_on=m.group("created") or None)
              for m in _LIST_BLOCK_RE.finditer(stdout)]
    if blocks:
        return blocks
    return [DeploymentStatus(m.group("id"), m.group("status")) for m in DEPLOYMENT_STATUS_RE.finditer(stdout)]


def parse_components(stdout: str) -> list[ComponentDetails]:
    """Blocks of ``component list`` / ``component details``; each must have a name and a State."""
    blocks: list[dict[str, str]] = []
    for line in stdout.splitlines():
        m = _COMPONENT_FIELD_RE.match(line)
        if not m:
            continue
        key, value = m.group("key"), m.group("value")
        if key == "Component Name":
            blocks.append({"Component Name": value})
        elif blocks and key not in blocks[-1]:
            blocks[-1][key] = value
    out = []
    for block in blocks:
        name, state = block.get("Component Name", ""), block.get("State", "")
        if not name or not state:
            raise CliOutputError(f"greengrass-cli printed component {name or '?'} without a State: {_tail(stdout)}",
                                 step="component details")
        version = block.get("Version")
        out.append(ComponentDetails(name=name, version=None if version in (None, "", "null") else version,
                                    state=state, configuration=_configuration(block.get("Configuration"), name)))
    return out


def parse_component_details(stdout: str, name: str) -> ComponentDetails:
    for comp in parse_components(stdout):
        if comp.name == name:
            return comp
    raise CliOutputError(f"greengrass-cli component details printed no block for {name}: {_tail(stdout)}",
                         step="component details")


def _configuration(raw: str | None, name: str) -> Any:
    if raw is None or raw in ("", "null"):
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise CliOutputError(f"component {name}: Configuration is not JSON: {raw[:120]}",
                             step="component details") from None

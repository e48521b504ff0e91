"""`greengrass-cli`: the real Greengrass CLI's commands, options and output lines, talking to the emulator.

Output follows aws-greengrass-cli (DeploymentCommand / ComponentCommand); usage errors exit 2 with a
picocli-style message, nucleus errors exit 1. Imports stay light so each call starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from simulators.greengrass.ipc import IpcFailure, call

USAGE_EXIT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with picocli's kind of usage errors: one message line, the usage, exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # picocli matches whole option names only
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required:"):
            opts = message.split(":", 1)[1].strip().split(", ")
            longest = [max(o.split("/"), key=len) for o in opts]  # picocli names the long option
            message = "Missing required option: " + ", ".join(f"'{o}=<value>'" for o in longest)
        elif message.startswith("unrecognized arguments:"):
            message = f"Unknown option: '{message.split(':', 1)[1].strip()}'"
        elif "invalid choice" in message:
            message = "Unmatched argument: " + message.split("invalid choice:", 1)[1].split("(")[0].strip()
        sys.stderr.write(f"{message}\n")
        self.print_usage(sys.stderr)
        sys.exit(USAGE_EXIT)


def _key_value(text: str) -> tuple[str, str]:
    name, sep, version = text.partition("=")
    if not sep or not name or not version:
        raise argparse.ArgumentTypeError(f"Value for option '--merge' should be in KEY=VALUE format but was {text}")
    return name, version


def _policy(text: str) -> str:
    if text not in ("ROLLBACK", "DO_NOTHING"):
        raise argparse.ArgumentTypeError(f"expected one of [ROLLBACK, DO_NOTHING] (case-sensitive) but was '{text}'")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="greengrass-cli", description="Greengrass command line interface (emulated nucleus)")
    p.add_argument("--ggcRootPath", help="The AWS IoT Greengrass V2 root directory")
    sub = p.add_subparsers(dest="command", metavar="{help,component,deployment}", parser_class=_Parser)
    sub.required = True
    sub.add_parser("help", help="Show help")
    comp = sub.add_parser("component", help="Retrieve component information and stop or restart components")
    csub = comp.add_subparsers(dest="action", metavar="{details,list,restart,stop}", parser_class=_Parser)
    csub.required = True
    csub.add_parser("list", help="Retrieve the names, component information, and runtime arguments")
    d = csub.add_parser("details", help="Retrieve the version, status, and configuration of one component")
    d.add_argument("-n", "--name", required=True, help="The name of the component")
    for action in ("restart", "stop"):
        a = csub.add_parser(action, help=f"{action.capitalize()} components")
        a.add_argument("-n", "--names", required=True, help="The names of the target components, comma separated")
    dep = sub.add_parser("deployment", help="Create, list and inspect local deployments")
    dsub = dep.add_subparsers(dest="action", metavar="{cancel,create,list,status}", parser_class=_Parser)
    dsub.required = True
    c = dsub.add_parser("create",
                        help="Create local deployment with provided recipes, artifacts, and runtime parameters")
    c.add_argument("-m", "--merge", action="append", type=_key_value, default=[], metavar="NAME=VERSION")
    c.add_argument("--remove", action="append", default=[], metavar="NAMES")
    c.add_argument("-g", "--groupId", metavar="GROUP")
    c.add_argument("-r", "--recipeDir", metavar="DIR")
    c.add_argument("-a", "--artifactDir", metavar="DIR")
    c.add_argument("-c", "--update-config", dest="update_config", metavar="JSON")
    c.add_argument("-fp", "--failure-handling-policy", dest="policy", type=_policy, metavar="POLICY")
    c.add_argument("--runWith", action="append", default=[], help="accepted; the emulator runs as the default user")
    c.add_argument("--systemLimits", help="accepted; the emulator does not enforce limits")
    dsub.add_parser("list", help="Retrieve the status of local deployments")
    k = dsub.add_parser("cancel", help="Cancel a local deployment that has not started")
    k.add_argument("-i", "--deploymentId", required=True)
    s = dsub.add_parser("status", help="Retrieve the status of a specific deployment")
    s.add_argument("-i", "--deploymentId", required=True)
    return p


def _path(text: str | None) -> str | None:
    return os.path.abspath(os.path.expanduser(text)) if text else None


def _config_update(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    candidate = Path(os.path.expanduser(text))
    try:
        raw = candidate.read_text() if len(text) < 4096 and candidate.is_file() else text
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value
    except (ValueError, OSError) as exc:
        sys.stderr.write("Update configuration parameter is not a properly formatted JSON file or a JSON string\n"
                         f"{exc}\n")
        sys.exit(1)


def _created(ms: int | None) -> str:
    # LocalDeployment.createdOn is "MM/dd/yyyy hh:mm:ss" (Java: 12-hour clock, no AM/PM)
    return time.strftime("%m/%d/%Y %I:%M:%S", time.localtime(ms / 1000)) if ms else ""


def _print_deployment(d: dict[str, Any]) -> None:
    print(f"{d['deploymentId']}: {d['status']}")
    print(f"Created on: {_created(d.get('createdOn'))}")
    if d.get("detailedStatus"):
        print(f"Detailed Status: {d['detailedStatus']}")
    if d.get("errorStack"):
        print(f"Deployment Error Stack: [{', '.join(d['errorStack'])}]")
        print(f"Deployment Error Types: [{', '.join(d.get('errorTypes') or [])}]")
        print(f"Deployment Failure Cause: {d.get('failureCause', '')}")


def _print_component(c: dict[str, Any]) -> None:
    print(f"Component Name: {c['componentName']}")
    print(f"    Version: {c['version']}")
    print(f"    State: {c['state']}")
    print(f"    Configuration: {json.dumps(c['configuration'], separators=(',', ':'))}")


def run(args: argparse.Namespace, root: Path) -> int:
    if args.command == "help":
        build_parser().print_help()
        return 0
    if args.command == "component":
        if args.action == "list":
            components = call(root, "list_components")
            print("Components currently running in Greengrass:")
            for comp in components:
                _print_component(comp)
        elif args.action == "details":
            _print_component(call(root, "get_component", {"name": args.name}))
        else:
            names = [n.strip() for n in args.names.replace("&", ",").split(",") if n.strip()]
            call(root, f"{args.action}_components", {"names": names})
        return 0
    if args.action == "create":
        document = {
            "merge": dict(args.merge), "remove": [n.strip() for r in args.remove for n in r.split(",") if n.strip()],
            "group": args.groupId, "recipe_dir": _path(args.recipeDir), "artifact_dir": _path(args.artifactDir),
            "config_update": _config_update(args.update_config), "failure_policy": args.policy}
        result = call(root, "create_deployment", {"document": document})
        print(f"Local deployment submitted! Deployment Id: {result['deploymentId']}")
    elif args.action == "cancel":
        print(call(root, "cancel_deployment", {"deploymentId": args.deploymentId})["message"])
    elif args.action == "status":
        _print_deployment(call(root, "get_deployment", {"deploymentId": args.deploymentId}))
    else:
        for d in call(root, "list_deployments"):
            _print_deployment(d)
    return 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `greengrass-cli … | head` ends quietly, as the Java CLI does
    args = build_parser().parse_args(argv)
    root = Path(args.ggcRootPath or os.environ.get("GG_ROOT") or "/greengrass/v2")
    try:
        return run(args, root)
    except IpcFailure as exc:
        sys.stderr.write(f"{exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())

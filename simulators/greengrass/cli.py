"""`greengrass-cli`: the real Greengrass CLI's commands, options and output lines, talking to the emulator.

Output follows aws-greengrass-cli v2.16.1 (client/src/main/java/com/aws/greengrass/cli/): the lines of
commands/DeploymentCommand.java and commands/ComponentCommand.java, the exit codes of CLI.main. A usage
error (missing required option, unknown option, bad value) prints picocli 4.5.1's message and the usage on
stderr and exits 0, because CLI.main parses once in populateCommand and its ParameterException handler
never sets an exit code. An error from the nucleus ends the Java CLI with an uncaught RuntimeException:
its exception lines on stderr, exit 1. Imports stay light so each call starts fast.
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

#: CLI.main exits with the picocli exit code it never sets on a parse error.
USAGE_EXIT = 0
#: picocli's exit code for an exception thrown by a command (CommandLine.execute, exitCodeOnExecutionException).
NUCLEUS_ERROR_EXIT = 1
#: picocli paramLabels of the real options (DeploymentCommand.java, ComponentCommand.java @Option annotations).
PARAM_LABELS = {
    "--merge": "Component and version", "--remove": "Component Names", "--groupId": "Thing group ID",
    "--recipeDir": "Recipe directory", "--artifactDir": "Artifacts directory",
    "--runWith": "Component user and/or group", "--systemLimits": "Component system resource limits",
    "--update-config": "Component configuration", "--failure-handling-policy": "Failure handling policy",
    "--deploymentId": "Deployment ID", "--name": "Component name",
    "--names": "The names of the target components, separated with commas.",
}
_SDK_MODEL = "software.amazon.awssdk.aws.greengrass.model"
#: This call's arguments: picocli names an unmatched word by its index in them.
_ARGV: list[str] = []


def _unmatched(word: str) -> str:
    index = _ARGV.index(word) if word in _ARGV else 0
    return f"Unmatched argument at index {index}: '{word}'"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in picocli's words (CommandLine.java v4.5.1)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # picocli matches whole option names only
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required:"):
            names = [max(o.split("/"), key=len) for o in message.split(":", 1)[1].strip().split(", ")]
            missing = ", ".join(f"'{n}={PARAM_LABELS.get(n, '<' + n.lstrip('-') + '>')}'" for n in names)
            message = f"Missing required option{'s' if len(names) > 1 else ''}: {missing}"  # MissingParameterException
        elif message.startswith("unrecognized arguments:"):
            extra = message.split(":", 1)[1].split()  # UnmatchedArgumentException
            message = ("Unknown option: " + ", ".join(f"'{a}'" for a in extra) if extra[0].startswith("-")
                       else _unmatched(extra[0]))
        elif "invalid choice" in message:
            message = _unmatched(message.split("invalid choice:", 1)[1].split("(")[0].strip().strip("'"))
        elif message.startswith("argument ") and ": " in message:
            message = message.split(": ", 1)[1]  # our converters already word it as picocli does
        sys.stderr.write(f"{message}\n")
        self.print_usage(sys.stderr)
        sys.exit(USAGE_EXIT)


def _key_value(option: str) -> Any:
    def convert(text: str) -> tuple[str, str]:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"Value for option '{option}' ({PARAM_LABELS[option]}) should be in "
                                             f"KEY=VALUE format but was {text}")
        return name, value
    return convert


def _policy(text: str) -> str:
    if text not in ("ROLLBACK", "DO_NOTHING"):
        raise argparse.ArgumentTypeError(
            "Invalid value for option '--failure-handling-policy' (Failure handling policy): expected one of "
            f"[ROLLBACK, DO_NOTHING] (case-sensitive) but was '{text}'")
    return text


def _option(parser: argparse.ArgumentParser, *names: str, **kwargs: Any) -> None:
    long = max(names, key=len)
    parser.add_argument(*names, metavar=PARAM_LABELS[long].replace(" ", "_"), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="greengrass-cli", description="Greengrass command line interface (emulated nucleus)")
    p.add_argument("--ggcRootPath", help="The AWS IoT Greengrass V2 root directory")
    sub = p.add_subparsers(dest="command", metavar="{help,component,deployment}", parser_class=_Parser)
    sub.add_parser("help", help="Show help")
    comp = sub.add_parser("component", help="Retrieve component information and stop or restart components")
    csub = comp.add_subparsers(dest="action", metavar="{details,list,restart,stop}", parser_class=_Parser)
    csub.add_parser("list", help="Retrieve the names, component information, and runtime arguments")
    d = csub.add_parser("details", help="Show the version, status, and configuration of a component")
    _option(d, "-n", "--name", required=True)
    for action in ("restart", "stop"):
        _option(csub.add_parser(action, help=f"{action.capitalize()} component"), "-n", "--names", required=True)
    dep = sub.add_parser("deployment", help="Create local deployments and retrieve deployment status")
    dsub = dep.add_subparsers(dest="action", metavar="{cancel,create,list,status}", parser_class=_Parser)
    c = dsub.add_parser("create",
                        help="Create local deployment with provided recipes, artifacts, and runtime parameters")
    _option(c, "-m", "--merge", action="append", type=_key_value("--merge"), default=[])
    _option(c, "--remove", action="append", default=[])
    _option(c, "-g", "--groupId")
    _option(c, "-r", "--recipeDir")
    _option(c, "-a", "--artifactDir")
    _option(c, "-c", "--update-config", dest="update_config")
    _option(c, "-fp", "--failure-handling-policy", dest="policy", type=_policy)
    _option(c, "--runWith", action="append", type=_key_value("--runWith"), default=[],
            help="accepted; the emulator runs as the default user")
    _option(c, "--systemLimits", help="accepted; the emulator does not enforce limits")
    dsub.add_parser("list", help="Retrieve the status of local deployments")
    _option(dsub.add_parser("cancel", help="Cancels a local deployment"), "-i", "--deploymentId", required=True)
    _option(dsub.add_parser("status", help="Retrieve the status of a specific local deployment"),
            "-i", "--deploymentId", required=True)
    return p


def _path(text: str | None) -> str | None:
    return os.path.abspath(os.path.expanduser(text)) if text else None


def _config_update(text: str | None) -> dict[str, Any] | None:
    """DeploymentCommand.create: a JSON file if the path exists, else a JSON string (exit 1 otherwise)."""
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


def created_on(ms: int | None) -> str:
    """CLIEventStreamAgent.LOCAL_DEPLOYMENT_CREATED_ON_FORMATTER ``dd-MM-uuuu HH:mm:ss z`` in UTC."""
    return time.strftime("%d-%m-%Y %H:%M:%S UTC", time.gmtime((ms or 0) / 1000))


def status_text(d: dict[str, Any]) -> str:
    """DeploymentCommand.status (lines 172-203): detail lines only for a FAILED deployment, each only when set."""
    out = f"{d['deploymentId']}: {d['status']}\nCreated on: {created_on(d.get('createdOn'))}\n"
    if d["status"] == "FAILED":
        if (d.get("detailedStatus") or "").strip():
            out += f"Detailed Status: {d['detailedStatus']}\n"
        if d.get("errorStack"):
            out += f"Deployment Error Stack: {', '.join(d['errorStack'])}\n"
        if d.get("errorTypes"):
            out += f"Deployment Error Types: {', '.join(d['errorTypes'])}\n"
        if (d.get("failureCause") or "").strip():
            out += f"Deployment Failure Cause: {d['failureCause']}\n"
    return out


def list_text(deployments: list[dict[str, Any]]) -> str:
    """DeploymentCommand.list (lines 222-232): one block per deployment, blocks joined by a blank line."""
    return "\n".join(f"Deployment ID: {d['deploymentId']}\nCreated on: {created_on(d.get('createdOn'))}\n"
                     f"Status: {d['status']}\n" for d in deployments)


def component_text(c: dict[str, Any]) -> str:
    """ComponentCommand.printComponentDetails (lines 73-79); Jackson writes the configuration compactly."""
    return (f"Component Name: {c['componentName']}\n    Version: {c['version']}\n    State: {c['state']}\n"
            f"    Configuration: {json.dumps(c['configuration'], separators=(',', ':'))}\n")


def _nucleus_error(exc: IpcFailure) -> int:
    """What the Java CLI prints for an error the nucleus returned: the exception chain (no stack frames here)."""
    message = str(exc)
    if exc.error_type is None:  # no nucleus to talk to
        sys.stderr.write(f"{message}\n")
        return NUCLEUS_ERROR_EXIT
    cause = f"{_SDK_MODEL}.{exc.error_type}: {message}"
    sys.stderr.write(f"java.lang.RuntimeException: java.util.concurrent.ExecutionException: {cause}\n"
                     f"Caused by: java.util.concurrent.ExecutionException: {cause}\nCaused by: {cause}\n")
    return NUCLEUS_ERROR_EXIT


def run(args: argparse.Namespace, root: Path) -> int:
    if args.command in (None, "help") or getattr(args, "action", "") is None:
        if args.command is None:
            sys.stderr.write("A command is required.\n")  # CLI.run: exception.missing.command
            build_parser().print_usage(sys.stderr)
            return 2
        if args.command != "help":
            print("A subcommand is required.")  # BaseCommand.run
        build_parser().print_help()
        return 0
    out = sys.stdout
    if args.command == "component":
        if args.action == "list":
            components = call(root, "list_components")
            out.write("Components currently running in Greengrass:\n")
            for comp in components:
                out.write(component_text(comp))
        elif args.action == "details":
            out.write(component_text(call(root, "get_component", {"name": args.name})))
        else:  # ComponentCommand.restart/stop: names.split(" *[&,]+ *"), one request each, nothing printed
            names = [n for n in args.names.replace("&", ",").split(",") if n.strip()]
            call(root, f"{args.action}_components", {"names": [n.strip() for n in names]})
        return 0
    if args.action == "create":
        document = {
            "merge": dict(args.merge), "remove": list(args.remove), "group": args.groupId,
            "recipe_dir": _path(args.recipeDir), "artifact_dir": _path(args.artifactDir),
            "config_update": _config_update(args.update_config), "failure_policy": args.policy}
        result = call(root, "create_deployment", {"document": document})
        out.write(f"Local deployment submitted! Deployment Id: {result['deploymentId']}\n")
    elif args.action == "cancel":
        out.write(f"{call(root, 'cancel_deployment', {'deploymentId': args.deploymentId})['message']}\n")
    elif args.action == "status":
        out.write(status_text(call(root, "get_deployment", {"deploymentId": args.deploymentId})))
    else:
        out.write(list_text(call(root, "list_deployments")))
    return 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `greengrass-cli … | head` ends quietly, as the Java CLI does
    _ARGV[:] = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    root = Path(args.ggcRootPath or os.environ.get("GG_ROOT") or "/greengrass/v2")
    try:
        return run(args, root)
    except IpcFailure as exc:
        return _nucleus_error(exc)


if __name__ == "__main__":
    sys.exit(main())

"""`hil lab up|down|status|check|provision|import-idt` and `hil exec DEVICE -- CMD...`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.lab.bringup import LabController
from harness.lab.idt import import_idt, to_yaml
from harness.lab.inventory import load_lab
from harness.primitives.progress import say

EXEC_TIMEOUT = 300.0


def _controller(args: argparse.Namespace) -> LabController:
    return LabController(load_lab(args.lab), say)


def _up(args: argparse.Namespace) -> int:
    controller = _controller(args)
    controller.up()
    say(f"lab {controller.lab.name} is {controller.state}")
    return 0


def _down(args: argparse.Namespace) -> int:
    _controller(args).down()
    return 0


def _status(args: argparse.Namespace) -> int:
    controller = _controller(args)
    engine = controller.reach_status()
    rows = controller.status()
    if args.json:
        print(json.dumps({"devices": rows} | ({"engine": engine} if engine else {}), indent=2))
    else:
        if engine:
            reach = engine["reach"] or "unknown"
            where = f" on {engine['published_on']}" if engine.get("published_on") else ""
            print(f"engine {engine['url']}: cores reached {reach}{where} ({engine['reason']})")
        for row in rows:
            state = "reachable" if row["reachable"] else f"UNREACHABLE: {row['error']}"
            print(f"{row['name']:<20} {row['profile']:<12} {row['arch'] or '?':<8} {row['connection']:<36} {state}")
            if row.get("place"):
                place = row["place"]
                print(f"{'':<20} labgrid place {place['place']} on {place['coordinator']} (exporters: "
                      f"{', '.join(place['exporters']) or 'none'}; {place['locked_by'] or 'free'})")
    return 0 if all(row["reachable"] for row in rows) else 1


def _provision(args: argparse.Namespace) -> int:
    from harness.mqtt.provision import provision

    controller = _controller(args)
    iot = controller.lab.spec.iot
    if iot.endpoint:
        print(f"hil lab provision: lab {controller.lab.name} sends results to {iot.endpoint} with your own "
              "certificates (iot.endpoint): nothing to install; its components use the thing certificate its "
              "Greengrass configuration names", file=sys.stderr)
        return 2
    harness = controller.iot.endpoint  # LabError when the broker is not running: `hil lab up` first
    endpoint = (iot.broker_address or harness[0], controller.iot.broker().port)  # the things' listener
    device = controller.device(args.device)
    with device.transport:
        changes = provision(device, controller.iot, endpoint, force=args.force)
    for change in changes:
        undo = f"   (undo: {change.undo})" if change.undo else ""
        print(f"{change.state.lower():<9} {change.path}{undo}")
    print(f"{args.device}: results go to the lab broker at {endpoint[0]}:{endpoint[1]}")
    return 0


def _import_idt(args: argparse.Namespace) -> int:
    path = Path(args.device_json)
    document = import_idt(path.read_text(), str(path), args.name, args.profile)
    for device in document["devices"]:
        env = device["credentials"].get("password_env")
        if env:
            print(f"hil: {device['name']} uses password auth: export {env}=… before runs "
                  "(passwords are not copied into lab files)", file=sys.stderr)
    sys.stdout.write(to_yaml(document))
    return 0


def _exec(args: argparse.Namespace) -> int:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        print("hil exec: no command given (hil exec DEVICE -- CMD...)", file=sys.stderr)
        return 2
    device = _controller(args).device(args.device)
    with device.transport as transport:
        result = transport.run(command, timeout=args.timeout)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_status


def add_lab_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lab", type=Path, default=None, metavar="FILE",
                        help="lab file (default: the embedded lab, devices/lab.yaml)")


def register(subparsers: argparse._SubParsersAction) -> None:
    lab = subparsers.add_parser("lab", help="bring the device lab up or down, show its devices")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    for name, func, text in (("up", _up, "start emulated cores (builds images, starts the engine) and verify"),
                             ("down", _down, "stop emulated cores and the private engine; images stay cached"),
                             ("status", _status, "every device: connection, arch read from it, reachable")):
        parser = lab_sub.add_parser(name, help=text)
        add_lab_option(parser)
        parser.set_defaults(func=func)
        if name == "status":
            parser.add_argument("--json", action="store_true", help="print one JSON document")
    provision = lab_sub.add_parser("provision", help="install a board's thing certificate, CA and the lab broker's "
                                                     "endpoint where its Greengrass keeps them")
    add_lab_option(provision)
    provision.add_argument("--force", action="store_true",
                           help="replace files that hold other content (each kept as <file>.hil-backup)")
    provision.add_argument("device", metavar="DEVICE")
    provision.set_defaults(func=_provision)
    from harness.health import cli as health_cli  # `hil lab check`

    health_cli.register(lab_sub)
    idt = lab_sub.add_parser("import-idt", help="turn an IDT for Greengrass V2 device.json into a lab file")
    idt.add_argument("device_json", metavar="DEVICE_JSON")
    idt.add_argument("--name", default="idt", help="the lab's name (default: idt)")
    idt.add_argument("--profile", default=None, help="profile for every device (default: from the pool's arch)")
    idt.set_defaults(func=_import_idt)

    exe = subparsers.add_parser("exec", help="run one command on a device and exit with its status")
    add_lab_option(exe)
    exe.add_argument("--timeout", type=float, default=EXEC_TIMEOUT, help="seconds (default: %(default)s)")
    exe.add_argument("device", metavar="DEVICE")
    exe.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD...")
    exe.set_defaults(func=_exec)

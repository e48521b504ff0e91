"""``hil fault add|list|clear``: network faults on a lab device, kept until cleared (or swept by a crash)."""

from __future__ import annotations

import argparse

from harness.faults.inject import Injector, faults_dir, load
from harness.faults.model import Fault, Kind, Link, make_fault


def _injector(args: argparse.Namespace) -> Injector:
    from harness.faults.lab import target_for
    from harness.lab.bringup import LabController
    from harness.lab.inventory import load_lab

    return Injector(target_for(LabController(load_lab(args.lab)), args.device), owned=False)


def _add(args: argparse.Namespace) -> int:
    fault = make_fault(args.kind, args.value, link=args.link, jitter=args.jitter)  # bad words: nothing touched
    _injector(args).add(fault)
    print(f"{args.device}: {fault.describe()} [{fault.id}]")
    return 0


def _list(args: argparse.Namespace) -> int:
    paths = [faults_dir() / f"{args.device}.json"] if args.device else sorted(faults_dir().glob("*.json"))
    for path in paths:
        for fault_id, record in load(path).items():
            owner = record.get("owner")
            who = f"test process {owner[0]}" if owner else "hil fault add"  # type: ignore[index]
            print(f"{path.stem:<20} {fault_id:<20} {Fault.from_dict(record['fault']).describe()}  "  # type: ignore[arg-type]
                  f"(by {who})")
    return 0


def _clear(args: argparse.Namespace) -> int:
    injector = _injector(args)
    cleared = [injector.remove(args.fault)] if args.fault else injector.clear()
    for fault in cleared:
        print(f"{args.device}: removed {fault.describe()}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from harness.lab.cli import add_lab_option

    fault = subparsers.add_parser("fault", help="add, list or clear network faults on a lab device (root)")
    sub = fault.add_subparsers(dest="fault_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="latency 200ms [--jitter 20ms] | loss 5%% | rate 1mbit | down | reset 64k",
                         description="Faults stay until `hil fault clear`. Latency affects connections opened "
                                     "after it is added.")
    add_lab_option(add)
    add.add_argument("device", metavar="DEVICE")
    add.add_argument("kind", choices=[str(k) for k in Kind])
    add.add_argument("value", nargs="?", default=None, help="RTT, share lost, rate or bytes before the reset")
    add.add_argument("--jitter", default=None, help="latency only: ± this much on the RTT")
    add.add_argument("--link", default=str(Link.ALL), choices=[str(k) for k in Link],
                     help="controller (SSH), broker (MQTT) or all (default)")
    add.set_defaults(func=_add)
    listing = sub.add_parser("list", help="the active faults")
    listing.add_argument("device", metavar="DEVICE", nargs="?")
    listing.set_defaults(func=_list)
    clear = sub.add_parser("clear", help="remove one fault (by id, e.g. loss-all) or all of a device's")
    add_lab_option(clear)
    clear.add_argument("device", metavar="DEVICE")
    clear.add_argument("fault", nargs="?", metavar="FAULT_ID")
    clear.set_defaults(func=_clear)

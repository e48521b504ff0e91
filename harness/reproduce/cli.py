"""`hil reproduce CLASS --device NAME [--lab FILE] [--json]`: the failure for real, then its diagnosis.

Exit status 0 when the diagnosis is the class that was set up, 1 when it is not (the reproduction or
the diagnosis is wrong: either way a finding), 2 on a harness error (lab, device, bad input).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.reproduce.cases import CASES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("reproduce", help="reproduce a field failure on a lab device and diagnose it",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("failure_class", metavar="CLASS", choices=list(CASES), help=", ".join(CASES))
    p.add_argument("--device", required=True, metavar="NAME", help="a device of the lab")
    p.add_argument("--lab", type=Path, default=None, metavar="FILE", help="lab file (default: the embedded lab)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON document")
    p.set_defaults(func=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    from harness.lab.bringup import LabController
    from harness.lab.inventory import load_lab
    from harness.primitives.progress import say
    from harness.reproduce import reproduce

    controller = LabController(load_lab(args.lab), say)
    device = controller.device(args.device)
    try:
        result = reproduce(args.failure_class, device, say=say)
    finally:
        device.transport.close()
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"{device.name}: reproduced {args.failure_class}: "
              f"{'diagnosis matches' if result.matched else 'DIAGNOSIS DIFFERS'}")
        print(result.diagnosis)
    if not result.matched:
        print(f"hil reproduce: expected {result.expected}, diagnosed {result.diagnosis.failure_class}",
              file=sys.stderr)
    return 0 if result.matched else 1

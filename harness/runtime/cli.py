"""`hil runtime`: build the project's libdlr for an architecture, install it for the host, probe a model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.runtime.wheels import ARCHES, RUNTIMES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("runtime", help="the project's libdlr (DLR C API over the TVM runtime)")
    sub = p.add_subparsers(dest="runtime_command", required=True)
    b = sub.add_parser("build", help="build libdlr.so + libtvm_runtime.so + libtvm_ffi.so for an arch")
    b.add_argument("--arch", choices=ARCHES, required=True)
    b.add_argument("--runtime", choices=sorted(RUNTIMES), default="tvm-0.27")
    b.add_argument("-o", "--output", type=Path, required=True, help="directory for the three libraries")
    b.set_defaults(func=_build)
    h = sub.add_parser("install-host", help="build for this host and install into this venv (phone-home off)")
    h.add_argument("--runtime", choices=sorted(RUNTIMES), default="tvm-0.27")
    h.set_defaults(func=_install_host)
    r = sub.add_parser("probe", help="run an artifact once through libdlr's C API (aarch64: under qemu-user)")
    r.add_argument("artifact", type=Path)
    r.add_argument("--arch", choices=ARCHES, required=True)
    r.add_argument("--runtime", choices=sorted(RUNTIMES), default="tvm-0.27")
    r.add_argument("--input", action="append", required=True, metavar="NAME:1x3x224x224",
                   help="float32 input and its shape (repeat per input)")
    r.set_defaults(func=_probe)


def _build(args: argparse.Namespace) -> int:
    from harness.runtime.build import build_libdlr

    print(build_libdlr(args.arch, args.runtime, args.output))
    return 0


def _install_host(args: argparse.Namespace) -> int:
    from harness.runtime.venv import prepare_host_dlr

    print(prepare_host_dlr(args.runtime))
    return 0


def _probe(args: argparse.Namespace) -> int:
    from harness.runtime.probe import run_probe
    from harness.runtime.wheels import RuntimeBuildError

    inputs = {}
    for spec in args.input:
        name, _, shape = spec.partition(":")
        dims = shape.split("x")
        if not name or not all(d.isdigit() for d in dims):
            raise RuntimeBuildError(f"--input {spec!r}: expected NAME:D0xD1x... such as data:1x3x224x224",
                                    step="libdlr probe")
        inputs[name] = [int(d) for d in dims]
    print(json.dumps(run_probe(args.arch, args.artifact, inputs, runtime=args.runtime)))
    return 0

"""`hil compile` and `hil inspect`: the offline Neo compile and reading an artifact without loading it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.compile.frameworks import FRAMEWORKS
from harness.lab.device import DEVICE_PYTHON


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compile", help="compile a model for a SageMaker Neo target (offline, TVM)",
                              description="Compile MODEL like SageMaker Neo: TargetDevice or TargetPlatform, "
                                          "DataInputConfig, CompilerOptions. Writes compiled.so + compiled.meta.")
    p.add_argument("model", type=Path, help="model file (.onnx; .pt2 / .tflite need torch / tflite)")
    p.add_argument("--target", required=True,
                   help='TargetDevice (rasp4b, ml_c5, …) or TargetPlatform JSON {"Os":"LINUX","Arch":"ARM64"}')
    p.add_argument("--input-config", required=True, help='DataInputConfig, e.g. \'{"data": [1,3,224,224]}\'')
    p.add_argument("--framework", choices=FRAMEWORKS, help="default: from the file")
    p.add_argument("--compiler-options",
                   help='CompilerOptions JSON, e.g. \'{"mcpu": "cortex-a72", "mattr": ["+neon"]}\'')
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory (the artifact)")
    p.add_argument("--cache-dir", type=Path,
                   help="compile cache (default $HIL_COMPILE_CACHE, else compile/ in the state dir)")
    p.add_argument("--no-cache", action="store_true", help="compile even when the cache has this request")
    p.add_argument("--no-tuning", action="store_true",
                   help="ignore the tuning databases: every task on TVM's default schedule")
    p.add_argument("--tuning-db", type=Path,
                   help="tuning database root (default $HIL_TUNING_DB, else tuning/ in the state dir); "
                        "the shipped one is searched after it")
    p.add_argument("--runtime-lib", type=Path, action="append", default=[],
                   help="bundle libdlr.so / libtvm_runtime.so / libtvm_ffi.so (target arch) beside the model")
    p.add_argument("--backend", choices=("local", "sagemaker"), default="local",
                   help="local TVM (default) or SageMaker Neo (needs boto3, AWS credentials, --role-arn, --s3)")
    p.add_argument("--role-arn", help="SageMaker execution role (sagemaker backend)")
    p.add_argument("--s3", help="s3://bucket/prefix for model upload and output (sagemaker backend)")
    p.set_defaults(func=_compile)

    t = subparsers.add_parser("tune", help="tune a model's schedules for a target with TVM MetaSchedule",
                              description="Search schedules for MODEL's workloads, timing candidates on this "
                                          "controller or, with --device, on a lab device through TVM RPC, into the "
                                          "tuning database `hil compile` applies.")
    t.add_argument("model", type=Path, help="model file (.onnx; .pt2 / .tflite need torch / tflite)")
    t.add_argument("--target", required=True,
                   help="TargetDevice: one this controller's CPU runs (e.g. ml_c4), or the --device's")
    t.add_argument("--input-config", required=True, help='DataInputConfig, e.g. \'{"data": [1,3,224,224]}\'')
    t.add_argument("--framework", choices=FRAMEWORKS, help="default: from the file")
    t.add_argument("--compiler-options", help="CompilerOptions JSON, as for `hil compile`")
    t.add_argument("--trials", type=int, default=64, help="candidates to time, over all tasks (default %(default)s)")
    t.add_argument("--time-budget", type=float, metavar="S",
                   help="end the search when a batch finishes after S seconds of search (its records are kept)")
    t.add_argument("--tuning-db", type=Path,
                   help="database root (default $HIL_TUNING_DB, else tuning/ in the state dir)")
    t.add_argument("--force", action="store_true", help="tune tasks that already have records too")
    t.add_argument("--prune", action="store_true",
                   help="afterwards keep only each workload's best record (for a database shipped with a repository)")
    t.add_argument("--device", metavar="NAME",
                   help="time candidates on this lab device through TVM RPC (server started over its transport)")
    t.add_argument("--lab", type=Path, default=None, metavar="FILE",
                   help="lab file for --device (default: the embedded lab, devices/lab.yaml)")
    t.add_argument("--allow-emulated", action="store_true",
                   help="tune on an emulated core under qemu anyway: a functional check, its timings are qemu's")
    t.set_defaults(func=_tune)

    q = subparsers.add_parser("inspect", help="describe a compiled artifact without loading it",
                              description="Read compiled.meta and the ELF header of compiled.so (any arch), "
                                          "and check them against each other and the recorded digests.")
    q.add_argument("artifact", type=Path, help="artifact directory (output of `hil compile`)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.add_argument("--device", metavar="NAME", help="also run the preflight checks against this lab device")
    q.add_argument("--lab", type=Path, default=None, metavar="FILE",
                   help="lab file for --device (default: the embedded lab, devices/lab.yaml)")
    q.add_argument("--python", default=DEVICE_PYTHON,
                   help="the device's Python with the dlr wrapper (default: %(default)s)")
    q.set_defaults(func=_inspect)


def _compile(args: argparse.Namespace) -> int:
    from harness.compile.api import compile_model, stderr_progress

    if args.backend == "sagemaker":
        from harness.compile.errors import TargetError
        from harness.compile.sagemaker import compile_model_sagemaker

        if not args.role_arn or not args.s3:
            raise TargetError("the sagemaker backend needs --role-arn and --s3 s3://bucket/prefix")
        out = compile_model_sagemaker(args.model, args.target, args.input_config, args.output,
                                      role_arn=args.role_arn, s3_prefix=args.s3, framework=args.framework,
                                      compiler_options=args.compiler_options, progress=stderr_progress)
        print(out)
        return 0
    artifact = compile_model(args.model, args.target, args.input_config, args.output, framework=args.framework,
                             compiler_options=args.compiler_options, cache_dir=args.cache_dir,
                             use_cache=not args.no_cache, runtime_libs=args.runtime_lib, progress=stderr_progress,
                             tuning=not args.no_tuning, tuning_db=args.tuning_db)
    print(artifact.directory)
    return 0


def _tune(args: argparse.Namespace) -> int:
    from harness.compile.tune import tune_model
    from harness.primitives.progress import say

    result = tune_model(args.model, args.target, args.input_config, framework=args.framework,
                        compiler_options=args.compiler_options, trials=args.trials, time_budget=args.time_budget,
                        root=args.tuning_db, force=args.force, prune=args.prune, progress=lambda m: say(f"tune: {m}"),
                        device=args.device, lab=args.lab, allow_emulated=args.allow_emulated)
    print(result.database)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from harness.artifact.inspect import inspect_artifact, print_inspection
    from harness.artifact.verdict import all_ok, print_verdicts

    ins = inspect_artifact(args.artifact)
    verdicts = _preflight(args, ins.meta) if args.device else []
    if args.json:
        doc = ins.as_dict()
        if args.device:
            doc["preflight"] = {"device": args.device, "ok": all_ok(verdicts),
                                "checks": [v.as_dict() for v in verdicts]}
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_inspection(ins, sys.stdout)
        if args.device:
            print(f"preflight on {args.device}: {'ok' if all_ok(verdicts) else 'FAILED'}")
            print_verdicts(verdicts, sys.stdout)
    return 0 if ins.ok and all_ok(verdicts) else 1


def _preflight(args: argparse.Namespace, meta):  # -> list[Verdict]
    from harness.lab.bringup import LabController
    from harness.lab.inventory import load_lab
    from harness.preflight import run_preflight
    from harness.primitives.progress import say

    device = LabController(load_lab(args.lab), say).device(args.device)
    with device.transport as transport:
        return run_preflight(meta, transport, artifact_dir=args.artifact, python=args.python)

"""One real reproduction per failure class: set the failure up on a device, run it, keep the evidence.

Each case returns the Evidence the failing step left; diagnosing it is the caller's job, so a case can
never "pass" by itself. Nothing on the device outside the reproduction's scratch directory is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.artifact.package import Artifact
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL, INPUT_SHAPE, compile_bundled
from harness.diagnose import Evidence, from_command, from_deployment, from_error
from harness.errors import HilError
from harness.lab.device import Device
from harness.primitives.arch import arch
from harness.primitives.progress import Say
from harness.reproduce import device_run

#: The Neo target of a core of the *other* architecture: what "compiled for another device" means here.
OTHER_TARGET = {"x86_64": "rasp4b", "aarch64": "ml_c5"}
#: The machine of a core of the other architecture (its Greengrass spelling goes into the recipe).
OTHER_ARCH = {"x86_64": "aarch64", "aarch64": "x86_64"}
DEPLOY_WITHIN = 120.0


class NotReproducible(HilError):
    """This failure cannot be set up on this device (its CPU has the feature, it has no memory limit ...)."""


@dataclass
class Context:
    device: Device
    work: Path  # a host directory of this reproduction
    say: Say
    remote_dir: str  # this reproduction's own private scratch directory on the device

    def upload(self, artifact_dir: Path, name: str) -> str:
        """Copy a model directory into ``name`` under this reproduction's scratch directory."""
        return device_run.upload(self.device, artifact_dir, self.remote_dir, name)

    @property
    def target(self) -> str:
        return self.device.profile.neo_target

    def evidence(self, **more: object) -> dict[str, object]:
        return {"device_arch": self.device.arch, "device_target": self.target, **more}


def _artifact(ctx: Context, target: str) -> Artifact:
    ctx.say(f"compiling the bundled model for {target}")
    return compile_bundled(target, ctx.work / "compiled")


def wrong_target(ctx: Context) -> Evidence:
    """The model compiled for a core of the other architecture, loaded by DLR on this one."""
    other = OTHER_TARGET.get(ctx.device.arch)
    if other is None:
        raise NotReproducible(f"no other-architecture target known for {ctx.device.arch}", device=ctx.device.name,
                              step="reproduce wrong-target")
    remote = ctx.upload(_artifact(ctx, other).directory, "wrong-target")
    ctx.say(f"running the {other} model with DLR on {ctx.device.name}")
    return from_command(device_run.run_dlr(ctx.device, remote, INPUT_SHAPE), **ctx.evidence())


#: Per architecture: the CPU feature the device must lack, CompilerOptions of a newer CPU that has it, and
#: whether the model must compute in float16. LLVM vectorizes float32 code with SVE for neoverse-v1; on x86
#: every fp32 vector instruction LLVM picks is AVX-512F, which servers have, but float16 arithmetic for
#: sapphirerapids is AVX512-FP16 (vaddph, vmulph), which AMD EPYC and pre-2023 Xeons lack.
NEWER_CPU = {"aarch64": ("sve", {"mcpu": "neoverse-v1", "mattr": ["+neon", "+sve"]}, False),
             "x86_64": ("avx512fp16", {"mcpu": "sapphirerapids"}, True)}
FP16_SHAPE = (1, 4096)


def _fp16_model(path: Path) -> Path:
    """y = x*x + x on float16: arithmetic a CPU with AVX512-FP16 runs natively."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["data", "data"], ["m"]), helper.make_node("Add", ["m", "data"], ["y"])], "fp16",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT16, list(FP16_SHAPE))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, list(FP16_SHAPE))])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def wrong_cpu(ctx: Context) -> Evidence:
    """The right architecture, another CPU: a model compiled for a newer CPU of the device's architecture
    (NEWER_CPU) runs an instruction the device lacks and dies with SIGILL (exit 132). Refused with the reason
    when the device has the feature (then no such model fails on it)."""
    from harness.compile.api import compile_model

    if ctx.device.arch not in NEWER_CPU:
        raise NotReproducible(f"no newer-CPU reproduction for {ctx.device.arch}", device=ctx.device.name,
                              step="reproduce wrong-target-cpu", advice="use wrong-target (another architecture)")
    feature, options, fp16 = NEWER_CPU[ctx.device.arch]
    flags = ctx.device.transport.check(["sh", "-c", "grep -m1 -iE '^(flags|Features)' /proc/cpuinfo || true"],
                                       timeout=device_run.STEP_TIMEOUT, step="reproduce: cpu features").stdout
    if feature in flags.split():
        raise NotReproducible(f"{ctx.device.name}'s CPU has {feature}: a model compiled with {options} runs on it",
                              device=ctx.device.name, step="reproduce wrong-target-cpu",
                              advice=f"use a device whose CPU lacks {feature}, or wrong-target (another architecture)")
    model, config, shape, dtype = BUNDLED_MODEL, BUNDLED_INPUT_CONFIG, INPUT_SHAPE, "float32"
    if fp16:
        model, shape, dtype = _fp16_model(ctx.work / "fp16.onnx"), FP16_SHAPE, "float16"
        config = {"data": list(shape)}
    ctx.say(f"compiling {model.name} for {ctx.target} with CompilerOptions {options} ({feature})")
    artifact = compile_model(model, ctx.target, config, ctx.work / "newer-cpu", compiler_options=dict(options))
    remote = ctx.upload(artifact.directory, "wrong-target-cpu")
    ctx.say(f"running it with DLR on {ctx.device.name}, whose CPU lacks {feature}")
    return from_command(device_run.run_dlr(ctx.device, remote, shape, dtype=dtype), **ctx.evidence())


def _with_runtime(ctx: Context, artifact: Artifact, runtime: str, name: str) -> Path:
    """A copy of the artifact with the libdlr built for ``runtime`` (and its TVM runtime) beside the model,
    where the dlr wrapper looks before the device's own DLR."""
    from harness.runtime.build import build_libdlr

    model_dir = ctx.work / name
    model_dir.mkdir(parents=True, exist_ok=True)
    for f in artifact.directory.iterdir():
        if f.is_file():
            (model_dir / f.name).write_bytes(f.read_bytes())
    ctx.say(f"building (or taking from the cache) libdlr for {ctx.device.arch} / {runtime}")
    build_libdlr(ctx.device.arch, runtime, model_dir, say=ctx.say)
    return model_dir


def _runnable(ctx: Context, name: str) -> Path:
    """The model for this device, runnable by DLR there: a device whose own DLR runs another TVM gets the
    matching libdlr bundled, so the failure set up next is the only one."""
    from harness.preflight import gather_facts

    artifact = _artifact(ctx, ctx.target)
    have, want = gather_facts(ctx.device.transport).runtime.abi, artifact.meta.runtime.dlr_abi
    return artifact.directory if have in (None, want) else _with_runtime(ctx, artifact, want, name)


def runtime_mismatch(ctx: Context) -> Evidence:
    """A TVM 0.27 model run by a DLR on another TVM. A device whose own DLR runs another TVM (an image with
    ``runtime: tvm-0.26``, a field unit) runs the plain artifact; otherwise the libdlr built for tvm-0.26
    ships beside the model. The device's own DLR is not touched."""
    from harness.preflight import evaluate, gather_facts

    artifact = _artifact(ctx, ctx.target)
    facts = gather_facts(ctx.device.transport)
    if facts.runtime.abi and facts.runtime.abi != artifact.meta.runtime.dlr_abi:
        ctx.say(f"{ctx.device.name}'s DLR runs {facts.runtime.abi}, the model needs {artifact.meta.runtime.dlr_abi}")
        remote = ctx.upload(artifact.directory, "runtime-mismatch")
        result = device_run.run_dlr(ctx.device, remote, INPUT_SHAPE)
        return from_command(result, verdicts=tuple(evaluate(artifact.meta, facts)), **ctx.evidence())
    remote = ctx.upload(_with_runtime(ctx, artifact, "tvm-0.26", "runtime-mismatch"), "runtime-mismatch")
    ctx.say(f"running the TVM 0.27 model with the TVM 0.26 DLR on {ctx.device.name}")
    return from_command(device_run.run_dlr(ctx.device, remote, INPUT_SHAPE), **ctx.evidence())


def input_config(ctx: Context) -> Evidence:
    """An application feeding (1,3,112,112) to a model compiled for DataInputConfig {"data": [1,3,224,224]},
    and the same mistake at compile time (a DataInputConfig naming an input the model does not have)."""
    from harness.compile.api import compile_model
    from harness.compile.errors import InputConfigError

    compile_text = ""
    try:
        compile_model(BUNDLED_MODEL, ctx.target, {"input0": list(INPUT_SHAPE)}, ctx.work / "bad-input-config")
    except InputConfigError as exc:
        compile_text = str(exc)
    remote = ctx.upload(_runnable(ctx, "input-config"), "input-config")
    ctx.say(f"feeding a (1,3,112,112) input to a model compiled for {BUNDLED_INPUT_CONFIG}")
    result = device_run.run_dlr(ctx.device, remote, (1, 3, 112, 112))
    return from_command(result, error_text=compile_text, **ctx.evidence())


def unsupported_operator(ctx: Context) -> Evidence:
    """A model with a custom operator (MyCustomOp) compiled for this device's target."""
    import onnx
    from onnx import TensorProto, helper

    from harness.compile.api import compile_model

    graph = helper.make_graph(
        [helper.make_node("Relu", ["data"], ["r"]), helper.make_node("MyCustomOp", ["r"], ["y"],
                                                                     domain="com.example.custom")],
        "custom", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = ctx.work / "custom-op.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                      helper.make_opsetid("com.example.custom", 1)]), path)
    ctx.say(f"compiling a model with MyCustomOp for {ctx.target}")
    try:
        compile_model(path, ctx.target, {"data": [1, 4]}, ctx.work / "custom-op-out")
    except HilError as exc:
        return from_error(exc, **ctx.evidence())
    return Evidence(stdout="the compile succeeded", **ctx.evidence())


def out_of_memory(ctx: Context) -> Evidence:
    """An input batch 1.25x the core's cgroup memory limit: the kernel's OOM killer ends it (SIGKILL)."""
    limit = device_run.memory_limit(ctx.device)
    if limit is None:
        raise NotReproducible("the device has no cgroup memory limit to exceed", device=ctx.device.name,
                              step="reproduce out-of-memory", advice="give the core a memory limit (its profile's "
                              "limits.memory_mb) or run this on an emulated core")
    before = device_run.oom_kills(ctx.device)
    size = limit + limit // 4
    ctx.say(f"allocating a {size >> 20} MiB input batch under a {limit >> 20} MiB limit on {ctx.device.name}")
    result = device_run.run_device_script(ctx.device, "alloc", str(size))
    after = device_run.oom_kills(ctx.device)
    kills = after - before if before is not None and after is not None else None
    return from_command(result, oom_kills=kills, **ctx.evidence())


def missing_dependency(ctx: Context) -> Evidence:
    """libdlr.so beside the model without the libtvm_runtime.so it links: the wrapper loads it from the model
    directory first, and the loader cannot find its dependency. The core's own DLR is not touched."""
    remote = ctx.upload(_artifact(ctx, ctx.target).directory, "missing-dependency")
    lib = ctx.device.python.rsplit("/bin/", 1)[0] + "/dlr/libdlr.so"
    ctx.device.transport.check(["cp", lib, f"{remote}/libdlr.so"], timeout=device_run.STEP_TIMEOUT,
                               step="reproduce: copy libdlr.so alone")
    ctx.say(f"running DLR with a libdlr.so whose libtvm_runtime.so is absent on {ctx.device.name}")
    return from_command(device_run.run_dlr(ctx.device, remote, INPUT_SHAPE), **ctx.evidence())


def deployment_platform(ctx: Context) -> Evidence:
    """A component whose only manifest is for the other architecture, deployed through greengrass-cli."""
    from harness.greengrass import builders
    from harness.greengrass.steps import client_for

    client = client_for(ctx.device)
    name = builders.unique_name("com.example.ReproducePlatform")
    script = ctx.work / "platform" / "app.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("echo never runs\n")
    other = arch(OTHER_ARCH[ctx.device.arch]).greengrass
    component = builders.script_component(name, "1.0.0", script,
                                          manifest_platform=builders.platform(architecture=other))
    ctx.say(f"deploying {name} (manifest for {other} only) to {ctx.device.name}")
    try:
        result = client.run_deployment([component], timeout=DEPLOY_WITHIN)
    finally:
        client.close()
    return from_deployment(result.status, client.greengrass_log_tail(20), **ctx.evidence())


def artifact_integrity(ctx: Context) -> Evidence:
    """compiled.so cut to 4 KiB after deployment (a partial copy): libdlr's size check against compiled.meta."""
    remote = ctx.upload(_runnable(ctx, "artifact-integrity"), "artifact-integrity")
    ctx.device.transport.check(["truncate", "-s", "4096", f"{remote}/compiled.so"], timeout=device_run.STEP_TIMEOUT,
                               step="reproduce: truncate compiled.so")
    ctx.say(f"running DLR on a truncated compiled.so on {ctx.device.name}")
    return from_command(device_run.run_dlr(ctx.device, remote, INPUT_SHAPE), **ctx.evidence())


def artifact_digest(ctx: Context) -> Evidence:
    """The model component's zip replaced by a truncated copy after staging, as a partial download leaves it:
    the nucleus checks each artifact against the recipe's Digest (ARTIFACT_CHECKSUM_MISMATCH). The staged
    file is replaced (a new inode), so the staging cache it was linked from stays intact."""
    import shlex

    from harness.greengrass import builders
    from harness.greengrass.steps import client_for

    client = client_for(ctx.device)
    name = builders.unique_name("com.example.ReproduceDigest")
    component = builders.model_component(name, "1.0.0", _artifact(ctx, ctx.target).directory, ctx.work / "digest")
    recipe_dir, artifact_dir = client.stage([component])
    try:
        (file_name,) = component.files
        staged = shlex.quote(f"{artifact_dir}/{name}/1.0.0/{file_name}")
        ctx.device.transport.check(["sh", "-c", f"head -c 4096 {staged} > {staged}.part && mv -f {staged}.part "
                                    f"{staged}"], timeout=device_run.STEP_TIMEOUT, step="reproduce: truncate artifact")
        ctx.say(f"deploying {name} with its model.zip cut to 4 KiB to {ctx.device.name}")
        deployment = client.create_deployment(merge={name: "1.0.0"}, recipe_dir=recipe_dir, artifact_dir=artifact_dir)
        status = client.wait_for_deployment(deployment, timeout=DEPLOY_WITHIN)
    finally:
        client.close()
    return from_deployment(status, client.greengrass_log_tail(20), **ctx.evidence())


def disk_full(ctx: Context) -> Evidence:
    """The device's Python writes a result file to /dev/full, Linux's always-full device: every write fails with
    ENOSPC as on a full disk, and nothing on the device fills up. (Greengrass's own disk error, IO_WRITE_ERROR, is
    proven on a real 4 MiB filesystem by tests/host/test_gg_emulator_diskfull.py.)"""
    ctx.say(f"writing a result file to /dev/full with the device's Python on {ctx.device.name}")
    write = "with open('/dev/full', 'w') as f:\n    f.write('{\"label\": 1}')"
    result = ctx.device.transport.run([ctx.device.python, "-c", write], timeout=device_run.STEP_TIMEOUT)
    return from_command(result, **ctx.evidence())


#: Reproduction name → (the failure class it must be diagnosed as, the case).
CASES: dict[str, tuple[str, Callable[[Context], Evidence]]] = {
    "wrong-target": ("wrong-target", wrong_target),
    "wrong-target-cpu": ("wrong-target", wrong_cpu),
    "runtime-mismatch": ("runtime-mismatch", runtime_mismatch),
    "input-config": ("input-config", input_config),
    "unsupported-operator": ("unsupported-operator", unsupported_operator),
    "out-of-memory": ("out-of-memory", out_of_memory),
    "missing-dependency": ("missing-dependency", missing_dependency),
    "deployment-platform": ("deployment-platform", deployment_platform),
    "artifact-integrity": ("artifact-integrity", artifact_integrity),
    "artifact-digest": ("artifact-integrity", artifact_digest),
    "disk-full": ("disk-full", disk_full),
}

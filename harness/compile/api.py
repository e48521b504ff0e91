"""`compile_model`: the offline SageMaker Neo compile, with InputConfig checks and a cache.

Order matters for the user: read the model, check DataInputConfig against its real inputs,
check operators, and only then spend time in TVM. Errors are typed and worded as Neo's.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from harness.artifact.elf import read_elf
from harness.artifact.meta import (
    DTYPES,
    META_NAME,
    RUNTIME_LIBS,
    SCHEMA,
    SO_NAME,
    ArtifactError,
    ArtifactMeta,
    parse_meta,
)
from harness.artifact.package import Artifact, place_file, place_text
from harness.artifact.publish import publish_dir
from harness.compile import tvm_backend
from harness.compile.cache import CompileCache, cache_key, default_cache_dir
from harness.compile.errors import CompileError
from harness.compile.frameworks import INFERENCE_PASSES, detect_framework, load_model, to_relax
from harness.compile.input_config import bind_inputs, parse_input_config
from harness.compile.targets import ResolvedTarget, check_cpu_known, resolve_target
from harness.compile.tune_db import combined_digest, databases_for
from harness.primitives.digest import sha256_bytes, sha256_file
from harness.primitives.progress import Say, say
from harness.primitives.validation import first_error

MAX_MODEL_BYTES = 2 << 30


def stderr_progress(message: str) -> None:
    """Progress on stderr (timestamped, like the rest of `hil`), so stdout stays the artifact path."""
    say(f"compile: {message}")


def compile_model(model: Path | str, target: str | dict, input_config: str | dict | list, output_dir: Path | str,
                  *, framework: str | None = None, compiler_options: str | dict | None = None,
                  cache_dir: Path | str | None = None, use_cache: bool = True,
                  runtime_libs: list[Path] | tuple[Path, ...] = (), progress: Say | None = None,
                  tuning: bool = True, tuning_db: Path | str | None = None) -> Artifact:
    """Compile ``model`` for a Neo ``target`` into ``output_dir`` (compiled.so + compiled.meta).

    With ``tuning`` the records of the tuning databases for this target (``tuning_db`` or the user's, then
    the shipped one) are applied; their digest enters the cache key and compiled.meta."""
    report = progress or (lambda _m: None)
    started = time.monotonic()
    model = Path(model)
    resolved = resolve_target(target, compiler_options, check_cpu=False)  # checked below unless the cache has it
    try:
        if model.stat().st_size > MAX_MODEL_BYTES:
            raise CompileError(f"{model}: larger than {MAX_MODEL_BYTES >> 30} GiB", step="compile")
        data = model.read_bytes()
    except OSError as exc:
        raise CompileError(f"ClientError: cannot read model {model}: {exc.strerror or exc}", step="compile",
                           advice="give the path of an .onnx (or .pt2/.tflite) file") from None
    fw = framework or detect_framework(model, data)
    loaded = load_model(fw, model, data)
    inputs = bind_inputs(parse_input_config(input_config), loaded.inputs)
    for i in inputs:
        if i.dtype not in DTYPES:
            raise CompileError(f"input {i.name!r} has dtype {i.dtype}, which DLR cannot carry",
                               advice=f"use one of {', '.join(DTYPES)} for model inputs")
    model_sha = sha256_bytes(data)
    databases = databases_for(resolved.tvm, tvm_backend.toolchain_id(),
                              root=Path(tuning_db) if tuning_db else None) if tuning else []
    digest = combined_digest(databases)
    cc = resolved.compiler_command()
    key = cache_key({"schema": SCHEMA, "model": model_sha, "name": model.stem, "framework": fw,
                     "external_data": [sha256_file(p) for p in loaded.extra_files],
                     "inputs": [[i.name, list(i.shape), i.dtype] for i in inputs], "neo": resolved.neo,
                     "tvm_target": resolved.tvm, "cpu_features": list(resolved.cpu_features),
                     "compiler": tvm_backend.toolchain_id(), "cc": tvm_backend.cc_version(cc),
                     "link": tvm_backend.LINK_OPTIONS, "passes": INFERENCE_PASSES,
                     **({"tuning": digest} if digest else {})})
    cache = CompileCache(Path(cache_dir) if cache_dir else default_cache_dir())

    def produce(tmp: Path) -> None:
        check_cpu_known(resolved)
        report(f"importing {fw} model {model.name} ({len(data)} B)")
        if fw == "onnx":  # with every input bound, shape subgraphs of dynamic exports are constants
            from harness.compile.fold import bind_and_fold

            loaded.handle = bind_and_fold(loaded.handle, {i.name: list(i.shape) for i in inputs})
        mod = to_relax(loaded, inputs)
        outputs = tvm_backend.output_specs(mod, loaded.output_names)
        report(f"building for {resolved.neo}: {resolved.tvm} with {cc}")
        tuned = None
        if digest:
            from harness.compile.tune import build_tuned

            counts = build_tuned(mod, resolved, databases, tmp / SO_NAME)
            tuned = {"database": digest, "tuned_tasks": counts[0], "default_tasks": counts[1]}
        else:
            tvm_backend.build(mod, resolved, tmp / SO_NAME)
        meta = _meta(model, fw, model_sha, inputs, outputs, resolved, tvm_backend.compiler_versions(), tmp / SO_NAME,
                     tuned)
        place_text(meta.to_json(), tmp / META_NAME)

    libs = [Path(p) for p in runtime_libs]
    try:
        if not use_cache:  # compile afresh and leave the cache as it is
            with tempfile.TemporaryDirectory(prefix="hil-compile-") as tmp:
                produce(Path(tmp))
                artifact = _publish(Path(tmp), Path(output_dir), resolved, libs)
        else:
            entry = cache.lookup(key)
            if entry is not None:
                report(f"cache hit {key[:12]} ({resolved.neo}); nothing to compile")
            else:
                entry = cache.fill(key, produce)
            artifact = _publish(entry, Path(output_dir), resolved, libs)
    except OSError as exc:  # cache or output directory not writable, disk full
        raise CompileError(f"cannot write {exc.filename or 'the artifact'}: {exc.strerror or exc}",
                           advice="check --cache-dir / HIL_COMPILE_CACHE and -o point at writable space") from None
    report(_tuning_line(artifact, resolved.neo))
    report(f"{resolved.neo}: {artifact.directory} ready in {time.monotonic() - started:.1f} s")
    return artifact


def _tuning_line(artifact: Artifact, neo: str) -> str:
    t = artifact.meta.tuning
    if t is None:
        return f"no tuning records for {neo} (`hil tune` writes them): every task on the default schedule"
    return f"{t.tuned_tasks} tasks tuned, {t.default_tasks} on the default schedule (tuning database {t.database[:12]})"


def _meta(model: Path, fw: str, model_sha: str, inputs, outputs, target: ResolvedTarget,
          versions: dict[str, str], so: Path, tuning: dict | None) -> ArtifactMeta:
    try:
        return _describe(model, fw, model_sha, inputs, outputs, target, versions, so, tuning)
    except ValidationError as exc:  # e.g. an empty input name or a dtype DLR cannot carry
        raise CompileError(f"cannot describe the model in compiled.meta: {first_error(exc)}",
                           advice="give the model's inputs and outputs names and numeric dtypes") from None


def _describe(model: Path, fw: str, model_sha: str, inputs, outputs, target: ResolvedTarget,
              versions: dict[str, str], so: Path, tuning: dict | None) -> ArtifactMeta:
    return ArtifactMeta.model_validate({
        "schema": SCHEMA,
        "model": {"name": model.stem[:128], "framework": fw, "sha256": model_sha},
        "inputs": [{"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in inputs],
        "outputs": [o.model_dump() for o in outputs],
        "target": {"neo": target.neo, "tvm": target.tvm, "arch": target.arch, "elf_machine": target.elf_machine,
                   "cpu_features": list(target.cpu_features)},
        "compiler": versions,
        "runtime": {"dlr_abi": tvm_backend.dlr_abi(), "entry": tvm_backend.ENTRY},
        "files": {SO_NAME: {"sha256": sha256_file(so), "size": so.stat().st_size}},
        "created": datetime.now(UTC).replace(microsecond=0),
        **({"tuning": tuning} if tuning else {}),
    })


def _publish(entry: Path, out: Path, target: ResolvedTarget, runtime_libs: list[Path]) -> Artifact:
    """The cache entry (and any runtime libs, checked for the target's arch) as the whole of ``out``."""
    meta = parse_meta((entry / META_NAME).read_bytes(), source=str(entry / META_NAME))
    files = {n: f.model_dump() for n, f in meta.files.items()}
    for lib in runtime_libs:
        if lib.name not in RUNTIME_LIBS:
            raise ArtifactError(f"{lib.name}: only {', '.join(RUNTIME_LIBS)} may be bundled", step="compile")
        arch = read_elf(lib).arch
        if arch != target.arch:
            raise ArtifactError(f"{lib} is built for {arch}, the model for {target.arch} ({target.neo})",
                                step="compile", advice=f"bundle the {target.arch} build of {lib.name}")
        files[lib.name] = {"sha256": sha256_file(lib), "size": lib.stat().st_size}
    final = ArtifactMeta.model_validate({**meta.model_dump(by_alias=True), "files": files})

    def fill(tmp: Path) -> None:
        for lib in runtime_libs:
            place_file(lib, tmp / lib.name)
        place_file(entry / SO_NAME, tmp / SO_NAME)
        place_text(final.to_json(), tmp / META_NAME)

    try:
        publish_dir(out, fill)
    except OSError as exc:
        raise CompileError(f"cannot create output directory {out}: {exc.strerror or exc}", step="compile") from None
    return Artifact(out, final)

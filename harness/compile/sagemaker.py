"""The same compile through the real SageMaker Neo (`create_compilation_job`), for users with AWS access.

The request is built and checked locally first (InputConfig against the model, target names),
so a wrong shape costs no cloud round trip. boto3 is imported only when a job is really sent.
The result is Neo's own output package (compiled.so, libdlr.so, …), extracted with confined paths.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tempfile
import time
from pathlib import Path

from harness.compile.errors import CompileError, TargetError
from harness.compile.frameworks import detect_framework, load_model
from harness.compile.input_config import bind_inputs, parse_input_config
from harness.compile.targets import parse_json_option
from harness.primitives.deadline import poll_until
from harness.primitives.progress import Say

NEO_FRAMEWORKS = {"onnx": "ONNX", "pytorch": "PYTORCH", "tflite": "TFLITE"}
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
TERMINAL = ("COMPLETED", "FAILED", "STOPPED")


def build_request(*, job_name: str, role_arn: str, model_s3_uri: str, output_s3_uri: str,
                  framework: str, input_config: str | dict | list, target: str | dict,
                  compiler_options: str | dict | None = None, framework_version: str | None = None,
                  max_runtime_s: int = 900) -> dict:
    """The `create_compilation_job` keyword arguments, as boto3 takes them."""
    if not JOB_NAME.fullmatch(job_name):
        raise TargetError(f"ValidationException: CompilationJobName {job_name!r} must match {JOB_NAME.pattern}")
    if not model_s3_uri.startswith("s3://") or not output_s3_uri.startswith("s3://"):
        raise TargetError("ValidationException: model and output locations must be s3:// URIs")
    cfg = input_config if isinstance(input_config, str) else json.dumps(input_config)
    output: dict[str, object] = {"S3OutputLocation": output_s3_uri}
    if isinstance(target, str) and target.lstrip().startswith("{"):
        target = parse_json_option(target, "TargetPlatform")  # type: ignore[assignment]
    if isinstance(target, dict):
        output["TargetPlatform"] = {k[:1].upper() + k[1:].lower(): str(v).upper() for k, v in target.items()}
    elif isinstance(target, str) and re.fullmatch(r"[a-z0-9_]{2,40}", target):
        output["TargetDevice"] = target
    else:
        raise TargetError(f"ValidationException: TargetDevice {str(target)[:40]!r} is not a Neo device name")
    if compiler_options:
        output["CompilerOptions"] = (compiler_options if isinstance(compiler_options, str)
                                     else json.dumps(compiler_options))
    request: dict[str, object] = {
        "CompilationJobName": job_name,
        "RoleArn": role_arn,
        "InputConfig": {"S3Uri": model_s3_uri, "DataInputConfig": cfg, "Framework": NEO_FRAMEWORKS[framework]},
        "OutputConfig": output,
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_s},
    }
    if framework_version:
        request["InputConfig"]["FrameworkVersion"] = framework_version  # type: ignore[index]
    return request


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def compile_model_sagemaker(model: Path | str, target: str | dict, input_config: str | dict | list,
                            output_dir: Path | str, *, role_arn: str, s3_prefix: str,
                            framework: str | None = None, compiler_options: str | dict | None = None,
                            timeout_s: float = 1800.0, poll_s: float = 15.0, progress: Say | None = None,
                            session=None) -> Path:
    """Upload, compile with SageMaker Neo, wait (bounded), download and extract into ``output_dir``."""
    say = progress or (lambda _m: None)
    model = Path(model)
    data = model.read_bytes()
    fw = framework or detect_framework(model, data)
    bind_inputs(parse_input_config(input_config), load_model(fw, model, data).inputs)
    try:
        import boto3
    except ImportError:
        raise CompileError("the SageMaker backend needs package boto3", step="compile",
                           advice="pip install boto3, and configure AWS credentials") from None
    session = session or boto3.session.Session()
    s3, sm = session.client("s3"), session.client("sagemaker")
    job = f"hil-{model.stem[:30].replace('_', '-')}-{int(time.time())}"
    bucket, prefix = _split_s3(s3_prefix.rstrip("/"))
    base = "/".join(p for p in (prefix, job) if p)
    key = f"{base}/model.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(model, arcname=model.name)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    request = build_request(job_name=job, role_arn=role_arn, model_s3_uri=f"s3://{bucket}/{key}",
                            output_s3_uri=f"s3://{bucket}/{base}/output",
                            framework=fw, input_config=input_config, target=target, compiler_options=compiler_options)
    sm.create_compilation_job(**request)
    say(f"SageMaker Neo job {job} submitted")
    seen: list[str] = []

    def finished() -> dict | None:
        desc = sm.describe_compilation_job(CompilationJobName=job)
        status = desc["CompilationJobStatus"]
        if status in TERMINAL:
            return desc
        say(f"SageMaker Neo job {job}: {status}")
        seen.append(status)
        return None

    desc = poll_until(finished, timeout_s, interval=poll_s)
    if desc is None:
        sm.stop_compilation_job(CompilationJobName=job)
        raise CompileError(f"SageMaker Neo job {job} still {seen[-1]} after {timeout_s:g} s; stopped",
                           step="compile")
    status = desc["CompilationJobStatus"]
    if status != "COMPLETED":
        raise CompileError(f"SageMaker Neo job {job} {status}: {desc.get('FailureReason', '(no reason)')}",
                           step="compile")
    out_bucket, out_key = _split_s3(desc["ModelArtifacts"]["S3ModelArtifacts"])
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as fh:
        s3.download_fileobj(out_bucket, out_key, fh)
        fh.seek(0)
        with tarfile.open(fileobj=fh, mode="r:*") as tar:
            tar.extractall(out, filter="data")  # refuses absolute paths, .. and links out of ``out``
    say(f"SageMaker Neo job {job} done → {out}")
    return out

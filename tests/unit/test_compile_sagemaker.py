"""The SageMaker Neo request the cloud backend would send (no AWS needed: the dict is the contract)."""

from __future__ import annotations

import json

import pytest

from harness.compile.errors import TargetError
from harness.compile.sagemaker import build_request

COMMON = dict(job_name="hil-tinycnn-1", role_arn="arn:aws:iam::123456789012:role/Neo",
              model_s3_uri="s3://bucket/m/model.tar.gz", output_s3_uri="s3://bucket/m/output")


def test_target_device_request():
    req = build_request(**COMMON, framework="onnx", input_config={"data": [1, 3, 224, 224]}, target="rasp4b")
    assert req == {
        "CompilationJobName": "hil-tinycnn-1",
        "RoleArn": "arn:aws:iam::123456789012:role/Neo",
        "InputConfig": {"S3Uri": "s3://bucket/m/model.tar.gz", "DataInputConfig": '{"data": [1, 3, 224, 224]}',
                        "Framework": "ONNX"},
        "OutputConfig": {"S3OutputLocation": "s3://bucket/m/output", "TargetDevice": "rasp4b"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 900},
    }


def test_target_platform_with_compiler_options():
    req = build_request(**COMMON, framework="tflite", input_config="[[1,224,224,3]]",
                        target='{"os":"linux","arch":"arm_eabihf"}', compiler_options={"mattr": ["+neon"]})
    out = req["OutputConfig"]
    assert out["TargetPlatform"] == {"Os": "LINUX", "Arch": "ARM_EABIHF"} and "TargetDevice" not in out
    assert json.loads(out["CompilerOptions"]) == {"mattr": ["+neon"]}
    assert req["InputConfig"]["Framework"] == "TFLITE" and req["InputConfig"]["DataInputConfig"] == "[[1,224,224,3]]"


@pytest.mark.parametrize("change,fragment", [({"job_name": "bad name!"}, "CompilationJobName"),
                                             ({"model_s3_uri": "/tmp/model.onnx"}, "s3://")])
def test_invalid_requests(change, fragment):
    with pytest.raises(TargetError, match=fragment):
        build_request(**{**COMMON, **change}, framework="onnx", input_config="[[1]]", target="rasp4b")


def test_input_config_is_checked_locally_before_any_cloud_call(tmp_path):
    from harness.compile import InputConfigError
    from harness.compile.bundled import BUNDLED_MODEL
    from harness.compile.sagemaker import compile_model_sagemaker

    with pytest.raises(InputConfigError, match='input "input0" not found'):
        compile_model_sagemaker(BUNDLED_MODEL, "rasp4b", {"input0": [1, 3, 224, 224]}, tmp_path,
                                role_arn=COMMON["role_arn"], s3_prefix="s3://bucket/m")


def test_without_boto3_the_backend_names_the_package(tmp_path):
    import importlib.util

    from harness.compile import CompileError
    from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL
    from harness.compile.sagemaker import compile_model_sagemaker

    if importlib.util.find_spec("boto3") is not None:
        pytest.skip("boto3 is installed here; this checks the message users without it get")
    with pytest.raises(CompileError, match="needs package boto3"):
        compile_model_sagemaker(BUNDLED_MODEL, "rasp4b", BUNDLED_INPUT_CONFIG, tmp_path,
                                role_arn=COMMON["role_arn"], s3_prefix="s3://bucket/m")

"""Name checks match the whole string: ``$`` in Python's re also matches before a trailing newline,
so ``re.match(r"^name$", "name\\n")`` succeeds and a newline rides into a shell template or an API call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.compile.errors import TargetError
from harness.compile.sagemaker import JOB_NAME, build_request
from harness.primitives.scratch import make_scratch
from harness.transport.local import LocalTransport

purposes = st.from_regex(r"[a-z][a-z0-9-]{0,31}", fullmatch=True)
job_names = st.from_regex(JOB_NAME.pattern.strip("^$"), fullmatch=True)
endings = st.sampled_from(["\n", "\r\n", "\n\n", " ", "\t"])
REQUEST = dict(role_arn="arn:aws:iam::123456789012:role/Neo", model_s3_uri="s3://b/m.tar.gz",
               output_s3_uri="s3://b/out", framework="onnx", input_config={"data": [1, 3, 8, 8]}, target="rasp4b")


@given(purpose=purposes, end=endings)
def test_a_scratch_purpose_with_a_trailing_newline_is_refused(purpose, end):
    with pytest.raises(ValueError, match="scratch purpose"):
        make_scratch(LocalTransport("controller"), purpose + end)


@given(name=job_names)
def test_a_valid_job_name_is_accepted(name):
    assert build_request(job_name=name, **REQUEST)["CompilationJobName"] == name


@given(name=job_names, end=endings)
def test_a_job_name_with_a_trailing_newline_is_refused(name, end):
    with pytest.raises(TargetError, match="CompilationJobName"):
        build_request(job_name=name + end, **REQUEST)

"""Redaction by shape and by value: what a command line, an HTTP header or a lab secret leaves in a report."""

from __future__ import annotations

import os
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import REDACTED, redact, redact_argv, secret_env
from harness.report.results_json import build_results

#: Secret-looking values: no whitespace or quotes (they end a word), at least 8 characters.
secrets_ = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="!#%*+/=@^_~."),
                   min_size=8, max_size=40).filter(lambda s: not s.startswith("-"))
# Context words that name no secret themselves.
words = st.lists(st.sampled_from(["ssh", "pi@10.0.0.7", "uname", "-a", "deploy", "ok", "--verbose", "db"]),
                 max_size=4).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(secret=secrets_, before=words, after=words)
@pytest.mark.parametrize("shape", [
    "sshpass -p {s}", "sshpass -e -p{s}", "mysql -u root -p{s}", "mysqldump -p{s} --all-databases",
    "Authorization: Basic {s}", "authorization: Bearer {s}", "curl -H 'Authorization: Bearer {s}'",
    "Proxy-Authorization: Digest {s}", "--password={s}", "--token {s}", "--api-key={s}",
    "GET /v1/status?token={s}&x=1", 'client_secret="{s}"', '{{"access_key": "{s}"}}', "Bearer {s}",
])
def test_a_secret_shape_loses_its_value_and_keeps_its_context(shape, secret, before, after):
    line = f"{before} {shape.format(s=secret)} {after}".strip()
    out = redact(f"step 1\n{line}\nstep 3")
    assert secret not in out
    assert out.splitlines()[0] == "step 1" and out.splitlines()[-1] == "step 3"


@given(digits=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16),
       prefix=st.sampled_from(["AKIA", "ASIA"]), context=words)
def test_aws_access_key_ids_are_redacted(digits, prefix, context):
    key = prefix + digits
    assert key not in redact(f"{context} aws configure set aws_access_key_id {key}")
    assert key not in redact(f"{context} {key}:wJalrXUtnFEMI")


# Environment values are bytes the locale can encode: no NUL, no lone surrogates.
env_text = st.text(st.characters(blacklist_characters="\0\n", blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=200)
@given(value=env_text.filter(lambda v: len(v) >= 4 and v.strip() == v), before=env_text, after=env_text)
def test_the_value_of_a_password_env_variable_is_redacted_wherever_it_appears(value, before, after):
    name = "HIL_PASSWORD_TEST_REDACT"
    os.environ[name] = value
    secret_env(name)
    try:
        assert value not in redact(before + value + after)
    finally:
        del os.environ[name]


@given(ordinary=st.sampled_from(["mkdir -p /tmp/x", "gcc -pthread -O2 main.c", "ps -p 42", "grep -p token",
                                 "the bearer of news", "basic block 7", "du -sh /var/lib"]))
def test_ordinary_lines_survive(ordinary):
    assert redact(ordinary) == ordinary


@given(secret=secrets_)
def test_argv_and_the_rerun_line_are_redacted_in_results(secret):
    argv = ["hil", "run", "--", "-k", "smoke", "--ssh-cmd", f"sshpass -p {secret} ssh", "--token", secret]
    env = {"argv": argv, "rerun": shlex.join(argv), "devices": []}
    out = build_results([], env)["environment"]
    assert secret not in " ".join(out["argv"]) and secret not in out["rerun"]
    assert out["argv"][:5] == argv[:5]  # the words around the secret stay
    assert REDACTED in out["rerun"]


def test_redact_argv_joins_words_before_matching():
    assert redact_argv(["sshpass", "-p", "hunter2hunter2", "ssh", "pi@x"]) == [
        "sshpass", "-p", REDACTED, "ssh", "pi@x"]

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.transport.hostspec import HostSpec, HostSpecError, parse_hostspec


@pytest.mark.parametrize(("text", "expected"), [
    ("ssh://pi@10.0.0.7:2222", HostSpec("ssh", "10.0.0.7", "pi", 2222)),
    ("ssh://board.lab", HostSpec("ssh", "board.lab")),
    ("ssh://root@[fe80::1]:22", HostSpec("ssh", "fe80::1", "root", 22)),
    ("docker://hil@hil-default-Rasp4b", HostSpec("docker", "hil-default-Rasp4b", "hil")),
    ("docker://c1?docker_host=unix:///x.sock", HostSpec("docker", "c1", None, None, {"docker_host": "unix:///x.sock"})),
    ("local://", HostSpec("local")),
])
def test_valid_hostspecs_parse(text, expected):
    assert parse_hostspec(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("10.0.0.7", "not a hostspec"),
    ("ftp://host", "unknown transport 'ftp'"),
    ("ssh://", "bad host"),
    ("ssh://host:99999", "Port out of range"),
    ("ssh://us;er@host", "bad user name"),
    ("ssh://host/path", "unexpected path"),
    ("ssh://u:secret@host", "password"),
    ("docker://c1:22", "takes no port"),
    ("local://host", "takes no host"),
    ("ssh://bad$host", "bad host"),
])
def test_invalid_hostspecs_say_why(text, words):
    with pytest.raises(HostSpecError, match=re.escape(words)):
        parse_hostspec(text)


def test_str_round_trips():
    spec = parse_hostspec("ssh://pi@10.0.0.7:2222")
    assert parse_hostspec(str(spec)) == spec


@given(st.text(max_size=80))
def test_any_text_is_a_hostspec_or_a_hostspec_error(text):
    try:
        spec = parse_hostspec(text)
    except HostSpecError:
        return
    assert spec.scheme in ("ssh", "docker", "local")
    assert all(c not in spec.host for c in " ;|&$`'\"\n")


@given(st.sampled_from(["ssh", "docker", "local", "http"]), st.text(max_size=30), st.text(max_size=10),
       st.integers(min_value=-5, max_value=70000))
def test_structured_hostspecs_never_crash(scheme, host, user, port):
    try:
        parse_hostspec(f"{scheme}://{user}@{host}:{port}")
    except HostSpecError:
        pass

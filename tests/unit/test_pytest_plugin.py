"""The plugin's pure parts: the device in a test id, parallel arguments, staggered modules, and
markers checked when tests are collected (run with pytester, as a user's suite would)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.pytest_plugin.scheduler import staggered
from harness.records import device_of
from harness.run import parallel_args

DEVICES = ["rasp4b-emu", "rasp4b-emu-2", "ml-c4-emu", "ml-c5-emu"]


def test_device_of_finds_the_device_parameter_wherever_it_stands():
    assert device_of("harness/scenarios/test_smoke.py::test_x[rasp4b-emu]", DEVICES) == "rasp4b-emu"
    assert device_of("test_rollback.py::test_r[rasp4b-emu-health]", DEVICES) == "rasp4b-emu"
    assert device_of("test_rollback.py::test_r[install-ml-c4-emu]", DEVICES) == "ml-c4-emu"
    assert device_of("test_rollback.py::test_r[install-ml-c5-emu]", DEVICES) == "ml-c5-emu"
    assert device_of("test_c.py::test_pair[ml-c4-emu-rasp4b-emu-2]", DEVICES) in ("ml-c4-emu", "rasp4b-emu-2")
    assert device_of("test_x.py::test_x[rasp4b-emu-2]", DEVICES) == "rasp4b-emu-2"  # the longest name wins
    assert device_of("test_unit.py::test_plain", DEVICES) is None
    assert device_of("test_x.py::test_x[other-board]", DEVICES) is None
    assert device_of("test_x.py::test_x[xml-c4-emu]", DEVICES) is None  # only whole '-' runs count


_WORD = st.text("abcdefgh0123456789_", min_size=1, max_size=6)
_NAME = st.lists(_WORD, min_size=1, max_size=4).map("-".join)


@given(name=_NAME, others=st.lists(_NAME, max_size=4), before=st.lists(_WORD, max_size=2),
       after=st.lists(_WORD, max_size=2))
def test_device_of_finds_a_hyphenated_device_among_other_parameters(name, others, before, after):
    params = "-".join([*before, name, *after])
    found = device_of(f"test_x.py::test_x[{params}]", [*others, name])
    assert found is not None and f"-{found}-" in f"-{params}-"  # a whole run of the parameters
    assert len(found) >= len(name)  # never a shorter device than the one in the id
    if not before and not after:
        assert found == name
    assert device_of(f"test_x.py::test_x[{params}]", [name]) == name


def test_hil_run_runs_devices_in_parallel_unless_the_user_chose():
    assert parallel_args([], devices=2, cpus=2) == ["-n", "2", "--dist", "loadgroup"]
    assert parallel_args([], devices=4, cpus=2) == ["-n", "4", "--dist", "loadgroup"]
    assert parallel_args([], devices=2, cpus=1) == ["-n", "2", "--dist", "loadgroup"]
    assert parallel_args([], devices=40, cpus=2) == ["-n", "8", "--dist", "loadgroup"]
    assert parallel_args(["-n", "4"], devices=2, cpus=2) == []
    assert parallel_args(["-n4"], devices=2, cpus=2) == []
    assert parallel_args(["-p", "no:xdist"], devices=2, cpus=2) == []
    assert parallel_args(["--dist=load"], devices=2, cpus=2) == []
    assert parallel_args(["-p", "no:randomly"], devices=2, cpus=2) == ["-n", "2", "--dist", "loadgroup"]
    assert parallel_args([], devices=1, cpus=2) == []


def test_each_device_starts_at_another_module_and_keeps_modules_whole():
    ids = ["a.py::t1[x]", "a.py::t2[x]", "b.py::t[x]", "c.py::t[x]", "d.py::t1[x]", "d.py::t2[x]"]
    assert staggered(ids, 0, 4) == ids
    assert staggered(ids, 1, 4) == ["b.py::t[x]", "c.py::t[x]", "d.py::t1[x]", "d.py::t2[x]", "a.py::t1[x]",
                                    "a.py::t2[x]"]
    assert staggered(ids, 2, 4)[:1] == ["c.py::t[x]"] and staggered(ids, 3, 4)[:2] == ["d.py::t1[x]", "d.py::t2[x]"]
    assert sorted(staggered(ids, 3, 4)) == sorted(ids) and staggered(ids, 0, 1) == ids
    assert staggered([], 2, 4) == []


@pytest.mark.parametrize(("marker", "problem"), [
    ("arch()", "needs at least one name"),
    ("arch(64)", "takes names as strings"),
    ('arch("sparc")', "unknown architecture 'sparc'"),
    ('arch("x86_64", board="pi")', "takes no keyword arguments"),
    ("profile()", "needs at least one name"),
    ('profile("rasp4b", 4)', "takes names as strings"),
    ("feature()", "takes a name and an optional value, got 0"),
    ('feature("camera", "csi", "extra")', "takes a name and an optional value, got 3"),
    ('feature(1, "csi")', "feature's name as a string"),
    ('feature("camera", ["csi"])', "feature's value as a string or a number"),
])
def test_a_malformed_marker_is_a_usage_error_naming_the_test(pytester: pytest.Pytester, marker: str,
                                                             problem: str) -> None:
    pytester.makepyfile(test_marked=f"""
        import pytest

        def test_fine():
            pass

        @pytest.mark.{marker}
        def test_marked():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = result.stderr.str()
    assert f"test_marked.py::test_marked: @pytest.mark.{marker.split('(')[0]}(" in message
    assert problem in message
    assert "Traceback" not in message + result.stdout.str()


def test_well_formed_markers_collect_and_aliases_are_accepted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marked="""
        import pytest

        pytestmark = pytest.mark.profile("rasp4b", "ml_c4")

        @pytest.mark.arch("arm64", "x86_64")
        @pytest.mark.feature("camera")
        @pytest.mark.feature("cores", 4)
        def test_marked():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)

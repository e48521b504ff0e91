"""The health checks' readings of device output: real formats in, verdicts out, garbage never a crash.

Formats: ``df -P`` is POSIX's portable format (GNU coreutils src/df.c, BusyBox coreutils/df.c print the same
header and columns); ``date +%s.%N`` is GNU date's (BusyBox without FEATURE_DATE_NANO prints ``N`` literally);
``component list`` is aws-greengrass-cli's ComponentCommand (``Components currently running in Greengrass:``,
then ``Component Name:`` blocks with indented ``Version``, ``State``, ``Configuration``).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.health import evaluate
from harness.health.evaluate import MIB

DF = """Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/mmcblk0p2    30358348  9123456  19921212      32% /
"""
TMPFS = """Filesystem     1024-blocks  Used Available Capacity Mounted on
tmpfs               204800   2048    202752       1% /tmp
"""
COMPONENTS = """Components currently running in Greengrass:
Component Name: aws.greengrass.Nucleus
    Version: 2.12.1
    State: FINISHED
    Configuration: {"runWithDefault":{"posixUser":"ggc_user:ggc_group"}}
Component Name: aws.greengrass.Cli
    Version: 2.12.1
    State: RUNNING
    Configuration: {"AuthorizedPosixGroups":null}
"""
CLI = ["sudo", "-n", "/greengrass/v2/bin/greengrass-cli"]


def disk_output(sections: dict[str, tuple[str, str]]) -> str:
    return "".join(f"@@{path} {measured}\n{text}" for path, (measured, text) in sections.items())


def test_df_row_keeps_a_mount_point_with_spaces_and_skips_the_header():
    header, row = DF.splitlines()
    assert evaluate.parse_df_row(header) is None
    parsed = evaluate.parse_df_row(row)
    assert (parsed.filesystem, parsed.available_kib, parsed.mounted_on) == ("/dev/mmcblk0p2", 19921212, "/")
    assert parsed.available == 19921212 * 1024
    assert evaluate.parse_df_row("/dev/sdb1 100 10 90 10% /media/usb stick").mounted_on == "/media/usb stick"


def test_disk_passes_above_both_floors_and_names_a_missing_root():
    text = disk_output({"/greengrass/v2": ("/", DF), "/tmp": ("/tmp", TMPFS)})
    verdict = evaluate.evaluate_disk(text, {"/greengrass/v2": 512 * MIB, "/tmp": 64 * MIB})
    assert verdict.ok, verdict
    assert "/greengrass/v2 (absent; measured /)" in verdict.detail
    assert f"/tmp {202752 * 1024 / MIB:.0f} MiB free" in verdict.detail


def test_disk_fails_below_a_floor_with_the_figures():
    text = disk_output({"/greengrass/v2": ("/greengrass/v2", DF), "/tmp": ("/tmp", TMPFS)})
    verdict = evaluate.evaluate_disk(text, {"/greengrass/v2": 512 * MIB, "/tmp": 512 * MIB})
    assert not verdict.ok
    assert verdict.detail == f"/tmp has {202752 * 1024 / MIB:.0f} MiB free, below 512 MiB"
    assert "packages/" in verdict.advice


def test_disk_fails_when_df_prints_an_error():
    text = disk_output({"/data": ("/data", "df: /data: Input/output error\n")})
    verdict = evaluate.evaluate_disk(text, {"/data": MIB})
    assert not verdict.ok and "Input/output error" in verdict.detail


@pytest.mark.parametrize(("text", "resolution"), [("1764618000.123456789\n", 1e-9), ("1764618000.N\n", 1.0),
                                                  ("1764618000\n", 1.0), ("1764618000.25", 0.01)])
def test_epoch_and_its_resolution(text, resolution):
    seconds, res = evaluate.parse_epoch(text)
    assert int(seconds) == 1764618000 and res == pytest.approx(resolution)


def test_clock_within_the_bound_passes_and_says_how_sure():
    verdict = evaluate.evaluate_clock("1000.300000000", 1000.0, 1000.2, 2.0)
    assert verdict.ok, verdict
    assert verdict.detail.startswith("device clock 0.200 s ahead of the controller (± 0.100 s")


def test_clock_behind_by_more_than_the_limit_fails_with_advice():
    verdict = evaluate.evaluate_clock("990.000000000", 1000.0, 1000.1, 2.0)
    assert not verdict.ok
    assert "10.050 s behind" in verdict.detail and "chrony" in verdict.advice


def test_clock_skew_plus_its_error_must_stay_under_the_limit():
    # 1.9 s ahead but the round trip leaves ± 0.2 s: skew could be 2.1 s, so no guarantee and no pass.
    assert not evaluate.evaluate_clock("1002.100000000", 1000.0, 1000.4, 2.0).ok
    slow = evaluate.evaluate_clock("1003.000000000", 1000.0, 1006.0, 2.0)
    assert not slow.ok and "too slow to bound" in slow.detail


@pytest.mark.parametrize(("printed", "profile", "ok"), [("aarch64\n", "aarch64", True), ("arm64", "aarch64", True),
                                                        ("armv8l", "armv7l", True), ("x86_64", "aarch64", False)])
def test_arch_from_uname(printed, profile, ok):
    verdict = evaluate.evaluate_arch(printed, profile)
    assert verdict.ok is ok, verdict
    if not ok:
        assert verdict.detail == f"the device is {printed}, its profile says {profile}"


def test_ml_c5_on_an_avx2_cpu_would_die_with_illegal_instruction():
    flags = "@@arch\nx86_64\n@@cpu\nflags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c bmi1 bmi2"
    verdict = evaluate.evaluate_cpu(flags, "x86_64", "ml_c5")
    assert not verdict.ok
    assert verdict.detail.startswith("compiled ml_c5 code would die with Illegal instruction on this CPU")
    assert "avx512f" in verdict.detail and "TargetDevice=ml_c4" in verdict.advice
    assert evaluate.evaluate_cpu(flags, "x86_64", "ml_c4").ok


def test_arm_features_cover_rasp4b_and_an_unknown_target_fails():
    arm = "@@arch\naarch64\n@@cpu\nFeatures\t: "
    assert evaluate.evaluate_cpu(arm + "fp asimd evtstrm crc32 cpuid", "aarch64", "rasp4b").ok
    assert not evaluate.evaluate_cpu(arm + "fp evtstrm", "aarch64", "rasp4b").ok
    unknown = evaluate.evaluate_cpu("@@arch\nx86_64\n@@cpu\nflags: avx2", "x86_64", "no_such_board")
    assert not unknown.ok and "no_such_board" in unknown.detail
    wrong = evaluate.evaluate_cpu("@@arch\naarch64\n@@cpu\nflags: avx2", "aarch64", "ml_c4")
    assert not wrong.ok and "builds x86_64 code" in wrong.detail
    other = evaluate.evaluate_cpu("@@arch\nx86_64\n@@cpu\nflags: avx2", "aarch64", "rasp4b")
    assert not other.ok and other.detail == "not compared: the device is x86_64, rasp4b code is aarch64"


def test_component_list_with_the_nucleus_passes():
    verdict = evaluate.evaluate_greengrass(0, COMPONENTS, "", CLI)
    assert verdict.ok, verdict
    assert verdict.detail == "the CLI answers: 2 components, nucleus 2.12.1 FINISHED"


@pytest.mark.parametrize(("status", "stdout", "stderr", "says"), [
    (127, "", "sh: 1: /greengrass/v2/bin/greengrass-cli: not found\n", "cannot be run"),
    (1, "", "sudo: /greengrass/v2/bin/greengrass-cli: command not found\n", "cannot be run"),
    (1, "", "sudo: a password is required\n", "sudo refused"),
    (1, "", "Could not connect to the Greengrass nucleus at /greengrass/v2/ipc.socket: No such file or directory. ",
     "the nucleus is not running or the CLI cannot reach it"),
    (0, "Usage: greengrass-cli [-hV]\n", "", "without a component list"),
    (0, "Components currently running in Greengrass:\nComponent Name: x\n", "", "does not parse"),
])
def test_component_list_failures_say_which(status, stdout, stderr, says):
    verdict = evaluate.evaluate_greengrass(status, stdout, stderr, CLI)
    assert not verdict.ok and says in verdict.detail and verdict.advice


def test_dlr_probe_reading():
    good = {"wrapper": "1.10.0", "libdlr": "/opt/hil/venv/dlr/libdlr.so", "version": "1.10.0+tvm-0.27.0"}
    assert evaluate.evaluate_dlr(json.dumps(good), "/opt/hil/venv/bin/python", "tvm-0.27").ok
    lagging = evaluate.evaluate_dlr(json.dumps(good), "/opt/hil/venv/bin/python", "tvm-0.26")
    assert not lagging.ok and "runs tvm-0.27 models, the profile expects tvm-0.26" in lagging.detail
    missing = evaluate.evaluate_dlr(json.dumps({"error": "the dlr Python package is not installed"}), "py", "tvm-0.27")
    assert not missing.ok and "the dlr Python package is not installed" in missing.detail
    python = "/opt/hil/venv/bin/python"
    crashed = evaluate.evaluate_dlr(f"sh: 1: {python}: not found", python, "tvm-0.27")
    assert not crashed.ok and "not found" in crashed.detail


# -- garbage in: a failed verdict with a detail, never an exception -------------------------------
garbage = st.text(st.characters(blacklist_categories=["Cs"]), max_size=400)
no_digits = st.text(st.characters(blacklist_categories=["Cs", "Nd"]), max_size=400)


@given(no_digits)
def test_df_garbage_fails_the_disk_check(text):
    verdict = evaluate.evaluate_disk(disk_output({"/tmp": ("/tmp", text)}), {"/tmp": MIB})
    assert not verdict.ok and verdict.detail and verdict.name == "disk"


@given(garbage, st.floats(0, 2e9), st.floats(0, 10))
def test_date_garbage_is_a_verdict(text, before, round_trip):
    verdict = evaluate.evaluate_clock(text, before, before + round_trip, 2.0)
    assert verdict.name == "clock" and verdict.detail
    if evaluate.parse_epoch(text) is None:
        assert not verdict.ok and "not a time" in verdict.detail


@given(garbage)
def test_uname_garbage_is_a_verdict(text):
    verdict = evaluate.evaluate_arch(text, "x86_64")
    assert verdict.detail
    assert verdict.ok is (text.strip().lower() in ("x86_64", "amd64", "x86-64"))


@given(garbage, st.integers(-1, 255), garbage)
def test_greengrass_cli_garbage_is_a_verdict(stdout, status, stderr):
    verdict = evaluate.evaluate_greengrass(status, stdout, stderr, CLI)
    assert verdict.detail
    if status != 0 or evaluate.COMPONENT_LIST_HEADER not in stdout:
        assert not verdict.ok


@given(garbage)
def test_cpuinfo_and_probe_garbage_are_verdicts(text):
    assert evaluate.evaluate_cpu(text, "x86_64", "ml_c5").detail
    assert evaluate.evaluate_cpu("@@arch\nx86_64\n@@cpu\n" + text, "x86_64", "ml_c5").detail
    verdict = evaluate.evaluate_dlr(text, "py", "tvm-0.27")
    assert verdict.detail
    if "{" not in text:  # no JSON, no DLR version
        assert not verdict.ok

"""`hil fault` refuses bad words before it looks at the lab, and lists what the records hold."""

from __future__ import annotations

import json

import pytest

from harness.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    (["loss", "0%"], "share of packets"),
    (["latency"], "needs a value"),
    (["rate", "1mbit", "--link", "broker"], "whole link"),
    (["down", "--jitter", "5ms"], "jitter belongs"),
])
def test_bad_faults_exit_2_with_the_reason_and_touch_nothing(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    assert main(["fault", "add", "--lab", str(tmp_path / "no-such-lab.yaml"), "ml-c4-emu", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "faults").exists() or not any((tmp_path / "faults").iterdir())


def test_an_unknown_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["fault", "add", "ml-c4-emu", "jam"])
    assert exited.value.code == 2 and "invalid choice: 'jam'" in capsys.readouterr().err


def test_list_shows_each_record_and_who_added_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    (tmp_path / "faults").mkdir()
    fault = {"kind": "loss", "link": "all", "rtt_ms": 0, "jitter_ms": 0, "loss_percent": 5, "rate_kbit": 0,
             "after_bytes": 0}
    (tmp_path / "faults" / "ml-c4-emu.json").write_text(json.dumps({
        "loss-all": {"fault": fault, "owner": None, "rules": [], "qdiscs": [], "pids": []},
        "down-all": {"fault": {**fault, "kind": "down"}, "owner": [4242, 1], "rules": [], "qdiscs": [], "pids": []}}))
    assert main(["fault", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["ml-c4-emu", "loss-all"] and "5 % loss (all link)" in lines[0]
    assert "(by hil fault add)" in lines[0] and "(by test process 4242)" in lines[1]

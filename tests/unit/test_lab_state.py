"""The bring-up state machine's pure parts: the order of states, where a cut bring-up resumes, state.json."""

import json

import pytest

from harness.lab.state import ORDER, LabState, StateFile, after, resume_point


def test_states_run_in_bring_up_order():
    assert [s.value for s in ORDER] == ["down", "host-ready", "engine-up", "images-ready", "devices-up", "ready"]
    assert after(LabState.DOWN) == ORDER[1:]
    assert after(LabState.IMAGES_READY) == (LabState.DEVICES_UP, LabState.READY)
    assert after(LabState.READY) == ()


@pytest.mark.parametrize("reached", ORDER)
def test_resume_from_the_reached_state_when_every_state_holds(reached):
    asked = []
    assert resume_point(reached, lambda s: asked.append(s) or True) is reached
    assert asked == list(ORDER[1:ORDER.index(reached) + 1])  # nothing past what was reached is checked


def test_resume_from_before_the_first_state_that_no_longer_holds():
    broken = {LabState.ENGINE_UP}  # e.g. the private engine died after the images were built
    asked = []

    def holds(state):
        asked.append(state)
        return state not in broken

    assert resume_point(LabState.DEVICES_UP, holds) is LabState.HOST_READY
    assert asked == [LabState.HOST_READY, LabState.ENGINE_UP]  # images are not checked on a dead engine
    assert resume_point(LabState.READY, lambda s: s is not LabState.HOST_READY) is LabState.DOWN


def test_state_file_is_read_back_with_what_earlier_states_recorded(tmp_path):
    store = StateFile(tmp_path / "state.json")
    assert store.state is LabState.DOWN and store.data == {}
    store.enter(LabState.HOST_READY)
    store.enter(LabState.IMAGES_READY, images={"core-a": "hil-core:amd64-1"})
    store.enter(LabState.DEVICES_UP)
    again = StateFile(tmp_path / "state.json")
    assert again.state is LabState.DEVICES_UP
    assert again.data == {"images": {"core-a": "hil-core:amd64-1"}}
    again.enter(LabState.DOWN)
    assert (store.state, store.data) == (LabState.DOWN, {})
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # written through a replaced temp file


@pytest.mark.parametrize("text", ["", "not json", "[1]", json.dumps({"state": "flying"}), json.dumps({"data": 3})])
def test_an_unreadable_state_file_means_down(tmp_path, text):
    (tmp_path / "state.json").write_text(text)
    store = StateFile(tmp_path / "state.json")
    assert store.state is LabState.DOWN and store.data == {}

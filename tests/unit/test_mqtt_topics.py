"""``thing_topic``: the topics a thing may use on the lab broker, with levels that cannot widen the ACL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.mqtt.acl import RESULTS_ROOT, thing_topic

levels = st.from_regex(r"[A-Za-z0-9_.:-]{1,128}", fullmatch=True)


@given(levels, levels, st.lists(levels, max_size=3))
def test_a_thing_topic_is_root_kind_thing_and_the_rest(kind: str, thing: str, rest: list[str]) -> None:
    topic = thing_topic(kind, thing, *rest)
    assert topic.split("/") == [*RESULTS_ROOT.split("/"), kind, thing, *rest]


@given(levels, st.sampled_from(["/", "+", "#", "\n", " ", "\x00"]), st.integers(min_value=0, max_value=2))
def test_a_level_that_could_widen_or_split_the_topic_is_refused(level: str, bad: str, where: int) -> None:
    args = ["image-classification", "core-a", "run1"]
    args[where] = level + bad
    with pytest.raises(ValueError, match="topic level"):
        thing_topic(*args)
    with pytest.raises(ValueError, match="topic level"):
        thing_topic("image-classification", "")

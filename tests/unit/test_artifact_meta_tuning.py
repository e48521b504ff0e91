"""compiled.meta's optional ``tuning`` record: absent on untuned artifacts (older metas stay valid), strict
when present, and shown by `hil inspect`."""

from __future__ import annotations

import copy
import io
import json

import pytest

from harness.artifact.meta import ArtifactError, parse_meta
from tests.unit.test_artifact_meta import VALID

TUNED = {**copy.deepcopy(VALID), "tuning": {"database": "c" * 64, "tuned_tasks": 7, "default_tasks": 2}}


def test_untuned_meta_has_no_tuning_record_and_round_trips_unchanged():
    meta = parse_meta(json.dumps(VALID))
    assert meta.tuning is None and "tuning" not in json.loads(meta.to_json())


def test_tuned_meta_round_trips():
    meta = parse_meta(json.dumps(TUNED))
    assert meta.tuning is not None and (meta.tuning.tuned_tasks, meta.tuning.default_tasks) == (7, 2)
    assert json.loads(meta.to_json()) == TUNED


@pytest.mark.parametrize("field,value", [("database", "xyz"), ("tuned_tasks", -1), ("default_tasks", "many"),
                                         ("extra", 1)])
def test_a_bad_tuning_record_is_refused(field, value):
    data = copy.deepcopy(TUNED)
    data["tuning"][field] = value
    with pytest.raises(ArtifactError, match="tuning"):
        parse_meta(json.dumps(data))


def test_inspect_says_whether_the_artifact_was_tuned(tmp_path):
    from harness.artifact.inspect import Inspection, print_inspection

    tuned_line = "tuning    tuned: 7 of 9 tasks (database cccccccccccc"
    for doc, expected in ((VALID, "tuning    untuned: every task"), (TUNED, tuned_line)):
        ins = Inspection(directory=tmp_path, meta=parse_meta(json.dumps(doc)), elf={}, sizes={}, checks=[])
        out = io.StringIO()
        print_inspection(ins, out)
        assert expected in out.getvalue()

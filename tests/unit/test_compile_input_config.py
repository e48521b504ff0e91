"""DataInputConfig parsing and its check against the model's declared inputs, in Neo's words."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compile.errors import InputConfigError
from harness.compile.input_config import ModelInput, bind_inputs, parse_input_config

DATA = [ModelInput("data", (1, 3, 224, 224), "float32")]
DYNAMIC = [ModelInput("images", (None, 3, None, None), "float32"), ModelInput("scale", (1,), "float32")]


@pytest.mark.parametrize("raw", ['{"data": [1,3,224,224]}', "[[1,3,224,224]]", {"data": [1, 3, 224, 224]},
                                 [{"name": "data", "shape": [1, 3, 224, 224]}], "{'data': [1, 3, 224, 224]}"])
def test_named_positional_and_list_forms(raw):
    assert bind_inputs(parse_input_config(raw), DATA) == DATA


def test_dynamic_dimensions_take_the_config_values_in_model_order():
    bound = bind_inputs(parse_input_config({"scale": [1], "images": [2, 3, 96, 128]}), DYNAMIC)
    assert [(b.name, b.shape) for b in bound] == [("images", (2, 3, 96, 128)), ("scale", (1,))]


def test_wrong_name_says_what_the_model_has():
    with pytest.raises(InputConfigError) as err:
        bind_inputs(parse_input_config('{"input0": [1,3,224,224]}'), DATA)
    assert err.value.detail == ('ClientError: InputConfiguration: input "input0" not found; '
                                "the model's inputs are data [1,3,224,224] float32")
    assert err.value.failure_class == "input-config"


def test_wrong_shape_names_the_dimension():
    with pytest.raises(InputConfigError, match=r'input "data" dimension 2 is 224 in the model, '
                                               r"DataInputConfig gives 112 \(\[1,3,112,112\]\)"):
        bind_inputs(parse_input_config({"data": [1, 3, 112, 112]}), DATA)


def test_wrong_rank_says_both_ranks():
    with pytest.raises(InputConfigError, match=r'input "data" has rank 4 in the model, DataInputConfig '
                                               r"gives rank 3 \(\[3,224,224\]\)"):
        bind_inputs(parse_input_config({"data": [3, 224, 224]}), DATA)


def test_missing_input_and_wrong_count():
    with pytest.raises(InputConfigError, match='"scale" of the model is missing'):
        bind_inputs(parse_input_config({"images": [1, 3, 8, 8]}), DYNAMIC)
    with pytest.raises(InputConfigError, match="lists 1 input shape"):
        bind_inputs(parse_input_config([[1, 3, 8, 8]]), DYNAMIC)


@pytest.mark.parametrize("raw", ["", "{", "[]", "{}", '{"data": []}', '{"data": [0, 3]}', '{"data": [1.5]}',
                                 '{"data": [true]}', '{"data": "1,3"}', "42", '[{"name": "x"}]',
                                 json.dumps({"data": [1] * 9})])
def test_malformed_configs_are_input_config_errors(raw):
    with pytest.raises(InputConfigError, match="ClientError: InputConfiguration"):
        parse_input_config(raw)


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 1 << 33) | st.floats() | st.text(max_size=8),
                           lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids,
                                                                                      max_size=4), max_leaves=20)


@settings(deadline=None)  # a loaded CI machine must not turn into a flaky failure
@given(st.one_of(st.text(max_size=200), json_values, json_values.map(json.dumps)))
def test_fuzz_parse_and_bind_give_inputs_or_a_typed_error(raw):
    try:
        bound = bind_inputs(parse_input_config(raw), DATA)
    except InputConfigError as exc:
        assert exc.detail.startswith("ClientError: InputConfiguration: ")
    else:
        assert bound == DATA

"""A converted .tflite gets its own input layout back: NCHW inputs fed through a Transpose from the NHWC shape."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from harness.models.convert import ConversionUnavailable, restore_input_layouts


def _graph(input_shape: list[int]):
    """What tflite2onnx leaves: an NCHW input 'input' -> Relu -> 'out', plus a second, 2-D input 'bias'."""
    nodes = [helper.make_node("Relu", ["input"], ["r"]), helper.make_node("Add", ["r", "bias"], ["out"])]
    return helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape),
                                          helper.make_tensor_value_info("bias", TensorProto.FLOAT, [1, 1])],
                             [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                             [numpy_helper.from_array(np.zeros((1,), np.float32), "unused")])


def test_an_nchw_input_is_fed_from_the_tflite_nhwc_shape_through_a_transpose():
    graph = _graph([1, 3, 4, 5])
    assert restore_input_layouts(graph, {"input": [1, 4, 5, 3], "bias": [1, 1]}) == ["input"]
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 4, 5, 3]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.random.default_rng(0).standard_normal((1, 4, 5, 3)).astype(np.float32)
    (out,) = ReferenceEvaluator(model).run(None, {"input": x, "bias": np.ones((1, 1), np.float32)})
    np.testing.assert_array_equal(out, np.maximum(x.transpose(0, 3, 1, 2), 0) + 1)  # the graph sees NCHW


def test_matching_inputs_stay_and_other_differences_are_refused():
    graph = _graph([1, 4, 5, 3])
    assert restore_input_layouts(graph, {"input": [1, 4, 5, 3], "bias": [1, 1]}) == []
    assert [n.op_type for n in graph.node] == ["Relu", "Add"]
    with pytest.raises(ConversionUnavailable, match=r"'input' has shape \[1, 3, 4, 5\], the .tflite's is \[1, 9"):
        restore_input_layouts(_graph([1, 3, 4, 5]), {"input": [1, 9, 9, 9]})
    with pytest.raises(ConversionUnavailable, match=r"lost inputs \['mask'\]"):
        restore_input_layouts(_graph([1, 3, 4, 5]), {"input": [1, 4, 5, 3], "mask": [1, 8]})

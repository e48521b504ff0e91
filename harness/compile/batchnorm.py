"""Batch normalization folded into the convolution it follows, as ONNX Runtime's Conv+BatchNormalization fusion does.

An inference-mode batch norm after a convolution is a per-output-channel scale and shift, so it belongs in the
convolution's weights and bias: the tuned kernel then ends in one bias add instead of a subtract, a divide, a
multiply and an add per output element. Relax's own ``FoldBatchnormToConv2D``
(python/tvm/relax/transform/fold_batch_norm_to_conv2d_for_inference.py) matches only ``conv2d -> batch_norm``
with constant weights, while TVM's ONNX frontend puts the bias add between the two for a ``Conv`` with ``B``, and
weights built by ``ConstantOfShape`` are constants only after FoldConstant; so the fold is done here, on
constants, in numpy.
"""

from __future__ import annotations

import numpy as np

#: The fold's name in INFERENCE_PASSES (and so in the compile cache key).
FOLD_BATCH_NORM = "fold_batch_norm@1"


def fold_batch_norm(mod):  # (tvm.IRModule) -> tvm.IRModule
    """``mod`` with every inference batch_norm on constants made one per-channel scale and shift.

    After an NCHW/OIHW ``conv2d [-> add(bias)]`` the scale goes into the weights and the shift into the bias;
    anywhere else the norm becomes one multiply and one add. Expects constant-folded input (a bias reshape is
    a constant then); a layout the arithmetic does not know is left as it is.
    """
    from tvm import relax
    from tvm.relax.dpl import TupleGetItemPattern, is_const, is_op, rewrite_call, wildcard

    data, weight, bias = wildcard(), is_const(), is_const()
    conv = is_op("relax.nn.conv2d")(data, weight)
    biased = is_op("relax.add")(conv, bias)
    stats = [is_const() for _ in range(4)]
    norm = is_op("relax.nn.batch_norm")(biased | conv | data, *stats)
    pattern = TupleGetItemPattern(norm, 0)

    def rewrite(expr, matches):
        bn = matches[norm]
        scale, shift = _scale_shift(bn.attrs, *(matches[s].value.numpy() for s in stats))
        channels = scale.size
        if conv in matches:
            conv_call, w = matches[conv], matches[weight].value.numpy()
            b = matches[bias].value.numpy() if bias in matches else None
            if _foldable(conv_call.attrs, bn.attrs, channels, b):
                if b is not None:
                    shift = shift + b.reshape(channels) * scale
                folded = relax.const((w * scale.reshape(channels, 1, 1, 1)).astype(w.dtype))
                call = relax.Call(conv_call.op, [conv_call.args[0], folded], conv_call.attrs)
                return relax.op.add(call, relax.const(shift.reshape(1, channels, 1, 1).astype(w.dtype)))
        x = bn.args[0]
        ndim, dtype = x.ty.ndim, str(x.ty.dtype)
        if ndim < 1:
            return expr
        shape = [1] * ndim
        shape[int(bn.attrs.axis) % ndim] = channels
        return relax.op.add(relax.op.multiply(x, relax.const(scale.reshape(shape).astype(dtype))),
                            relax.const(shift.reshape(shape).astype(dtype)))

    for gvar, func in list(mod.functions.items()):
        if isinstance(func, relax.Function):
            mod[gvar] = rewrite_call(pattern, rewrite, func)
    return mod


def _scale_shift(attrs, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray,
                 var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inference batch norm as y = x * scale + shift, per channel, in float64."""
    scale = gamma.astype(np.float64) if attrs.scale else np.ones(mean.shape)
    scale = scale / np.sqrt(var.astype(np.float64) + float(attrs.epsilon))
    shift = (beta.astype(np.float64) if attrs.center else 0.0) - mean.astype(np.float64) * scale
    return scale, shift


def _foldable(conv_attrs, bn_attrs, channels: int, bias: np.ndarray | None) -> bool:
    """Only the layouts whose channel axes the arithmetic above assumes, and a bias that is per channel."""
    if (conv_attrs.data_layout, conv_attrs.kernel_layout, conv_attrs.out_layout) != ("NCHW", "OIHW", "NCHW"):
        return False
    if int(bn_attrs.axis) not in (1, -3):
        return False
    return bias is None or bias.shape in ((1, channels, 1, 1), (channels, 1, 1))

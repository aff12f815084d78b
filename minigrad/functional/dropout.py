"""Dropout (inverted): ``dropout`` zeroes elements, ``dropout2d`` zeroes whole channels.

Training: each element (channel) is kept with probability 1 − p and survivors are scaled by
1/(1 − p), so E[output] = input and nothing changes at test time: eval mode is the identity. (The
book's version is non-inverted: it keeps survivors unscaled and multiplies by 1 − p at test time;
same expectation.) Masks are drawn from minigrad's global generator, so ``minigrad.manual_seed``
makes them repeatable.
"""
import numpy as np

from .. import random as _random
from ..autograd import Function
from ..tensor import Tensor

__all__ = ["dropout", "dropout2d"]


class MaskMul(Function):
    """y = x·mask (mask already holds 0 or 1/(1 − p)); grad_x = g·mask."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        (mask,) = ctx.saved_tensors
        return grad_out * mask, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        (mask,) = ctx.saved_tensors
        return grad_out * mask, None


def _check_p(p):
    if not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, bool):
        raise TypeError(f"dropout: p must be a float, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _mask(shape, p, dtype):
    """0 with probability p, else 1/(1 − p) (all zeros when p = 1, like PyTorch)."""
    if p == 1.0:
        return np.zeros(shape, dtype)
    keep = _random.default_generator().random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1 − p); identity unless training.

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    p = _check_p(p)
    if not training or p == 0.0:
        return input
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: input must be a Tensor, got {type(input).__name__}")
    if input.data.dtype.kind != "f":
        raise TypeError(f"dropout: input must be a floating point tensor, got dtype {input.data.dtype}")
    return MaskMul.apply(input, _mask(input.data.shape, p, input.data.dtype))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (the last two dims are the spatial ones) of (N, C, H, W) or (C, H, W)
    input with probability p, scaling kept channels by 1/(1 − p); identity unless training.

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    p = _check_p(p)
    if input.data.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(input.data.shape)}")
    if not training or p == 0.0:
        return input
    return MaskMul.apply(input, _mask(input.data.shape[:-2] + (1, 1), p, input.data.dtype))

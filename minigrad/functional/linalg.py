"""Matrix products: ``matmul`` (PyTorch's 1-D/2-D/batched rules) and ``linear`` (y = x·Wᵀ + b).

Both run on the GEMM door ``_ops.gemm`` / ``_ops.matmul``, which picks the compiled kernel.
Backward passes transposed *views* to GEMM (``g @ Bᵀ``, ``Aᵀ @ g``), so no transpose is copied.
"""
import math

import numpy as np

from .. import _ops
from ..autograd import Function
from ._common import mT, sum_to, unbroadcast

__all__ = ["matmul", "linear"]


class MatMul(Function):
    """Y = A·B (batched, broadcast);  ∂L/∂A = G·Bᵀ, ∂L/∂B = Aᵀ·G (summed over broadcast batch dims)."""

    @staticmethod
    def forward(ctx, a, b):
        # 1-D operands become a row (a) or a column (b), removed again from the result.
        ctx.shapes = a.shape, b.shape
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        ctx.save_for_backward(a2, b2)
        y = _ops.matmul(a2, b2)
        if a.ndim == 1:
            y = y[..., 0, :]
        if b.ndim == 1:
            y = y[..., 0]
        return y

    @staticmethod
    def backward(ctx, grad_out):
        a2, b2 = ctx.saved_tensors
        sa, sb = ctx.shapes
        # Undo the squeezes of forward, the last one first (1-D @ 1-D gives a 0-d g).
        if len(sb) == 1:
            grad_out = np.expand_dims(grad_out, -1)
        if len(sa) == 1:
            grad_out = np.expand_dims(grad_out, -2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(_ops.matmul(grad_out, np.swapaxes(b2, -1, -2)), a2.shape).reshape(sa)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(_ops.matmul(np.swapaxes(a2, -1, -2), grad_out), b2.shape).reshape(sb)
        return ga, gb

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        a2, b2 = ctx.saved_tensors
        sa, sb = ctx.shapes
        a, b = ctx.graph_input(0, a2).reshape(a2.shape), ctx.graph_input(1, b2).reshape(b2.shape)
        g = grad_out.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
        ga = sum_to(MatMul.apply(g, mT(b)), a2.shape).reshape(sa) if ctx.needs_input_grad[0] else None
        gb = sum_to(MatMul.apply(mT(a), g), b2.shape).reshape(sb) if ctx.needs_input_grad[1] else None
        return ga, gb


def matmul(input, other):
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{input.ndim}D and {other.ndim}D")
    if input.shape[-1] != other.shape[-2 if other.ndim > 1 else 0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_fmt(input.shape)} and {_fmt(other.shape)})"
        )
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {input.dtype} != {other.dtype}")
    batch_a, batch_b = input.shape[:-2], other.shape[:-2]
    for i, (m, n) in enumerate(zip(reversed(batch_a), reversed(batch_b))):
        if m != n and m != 1 and n != 1:
            dim = max(len(batch_a), len(batch_b)) - 1 - i
            raise RuntimeError(
                f"The size of tensor a ({m}) must match the size of tensor b ({n}) at non-singleton dimension {dim}"
            )
    return MatMul.apply(input, other)


def _fmt(shape):
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    return f"{rows}x{shape[-1]}"


class Linear(Function):
    """y = x·Wᵀ + b;  ∂L/∂x = G·W, ∂L/∂W = Gᵀ·x, ∂L/∂b = Σₙ G. Leading dims of x are flattened."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # not -1: ambiguous when in_features = 0
        ctx.save_for_backward(x2, weight)
        ctx.x_shape = x.shape
        y = _ops.gemm(x2, weight.T, bias=bias)  # b added as the GEMM writes y: one pass over y
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, grad_out):
        x2, weight = ctx.saved_tensors
        g2 = grad_out.reshape(x2.shape[0], weight.shape[0])
        gx = _ops.gemm(g2, weight).reshape(ctx.x_shape) if ctx.needs_input_grad[0] else None
        gw = _ops.gemm(g2.T, x2) if ctx.needs_input_grad[1] else None
        gb = g2.sum(axis=0) if ctx.needs_input_grad[2] else None
        return gx, gw, gb

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x2, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        g2 = grad_out.reshape(x2.shape[0], weight.shape[0])
        gx = MatMul.apply(g2, ctx.graph_input(1, weight)).reshape(ctx.x_shape) if need[0] else None
        gw = MatMul.apply(mT(g2), ctx.graph_input(0, x2).reshape(x2.shape)) if need[1] else None
        gb = g2.sum(0) if need[2] else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """y = input·weightᵀ + bias, for input (*, in_features) and weight (out_features, in_features)."""
    if weight.ndim != 2:
        raise RuntimeError(f"linear: expected weight to be 2-D (out_features, in_features), got shape "
                           f"{list(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_fmt(input.shape) if input.ndim else '0-d input'} and "
            f"{weight.shape[1]}x{weight.shape[0]})"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {input.dtype} and {weight.dtype}"
        )
    if input.dtype.kind != "f":
        raise RuntimeError(f"linear: expected a floating point input, got {input.dtype}")
    if bias is not None and (tuple(bias.shape) != (weight.shape[0],) or bias.dtype != weight.dtype):
        raise RuntimeError(f"linear: expected bias of shape [{weight.shape[0]}] and dtype {weight.dtype}, "
                           f"got {list(bias.shape)} {bias.dtype}")
    return Linear.apply(input, weight, bias)

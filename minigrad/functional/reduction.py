"""Reductions over dims (sum, mean, var, std, max, min, logsumexp) and softmax / log_softmax.

``dim`` is None (all dims), an int or a tuple, negatives allowed; ``keepdim`` keeps reduced dims as
size 1. Backward broadcasts the output gradient back over the reduced dims (``expand_reduced``).
"""
import math
import warnings
from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._common import expand_reduced, expand_to, normalize_dims
from .elementwise import Where, exp, maximum, minimum, sqrt

__all__ = [
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp",
    "softmax", "log_softmax",
]

values_indices = namedtuple("values_indices", ["values", "indices"])


class Sum(Function):
    """y = Σ x over dims;  ∂y/∂x = 1 (the gradient is broadcast back)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        return expand_reduced(grad_out, ctx.shape, ctx.axes, ctx.keepdim), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return expand_to(grad_out, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Mean(Function):
    """y = (1/n) Σ x over dims;  ∂y/∂x = 1/n."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.n = int(np.prod([x.shape[a] for a in axes]))
        return np.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        return expand_reduced(grad_out / ctx.n, ctx.shape, ctx.axes, ctx.keepdim), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return expand_to(grad_out / ctx.n, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Var(Function):
    """y = Σ (x − x̄)² / (n − correction);  ∂y/∂x = 2(x − x̄)/(n − correction)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        centered = x - np.mean(x, axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.keepdim = axes, keepdim
        n = int(np.prod([x.shape[a] for a in axes]))
        ctx.denom = denom = n - correction if n > correction else 0  # (the module's max shadows the builtin)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.sum(centered * centered, axis=axes, keepdims=keepdim) / denom).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (centered,) = ctx.saved_tensors
        grad_out = expand_reduced(grad_out, centered.shape, ctx.axes, ctx.keepdim)
        scale = 2 / ctx.denom if ctx.denom else math.inf  # no degrees of freedom: NaN, like torch
        with np.errstate(invalid="ignore"):
            return grad_out * scale * centered, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        centered = x - Mean.apply(x, ctx.axes, True)
        scale = 2 / ctx.denom if ctx.denom else math.inf
        with np.errstate(invalid="ignore"):
            return expand_to(grad_out, x.shape, ctx.axes, ctx.keepdim) * scale * centered, None, None, None


class Std(Function):
    """y = √var(x);  ∂y/∂x = (x − x̄) / ((n − correction)·y)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        v = Var.forward(ctx, x, axes, True, correction)
        y = np.sqrt(v)
        ctx.y, ctx.keepdim = y, keepdim  # Var.forward stored keepdim=True
        return y if keepdim else np.squeeze(y, axis=axes)

    @staticmethod
    def backward(ctx, grad_out):
        (centered,) = ctx.saved_tensors
        grad_out = expand_reduced(grad_out, ctx.y.shape, ctx.axes, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = grad_out * centered / (ctx.denom * ctx.y)
        return np.where(ctx.y == 0, 0, grad), None, None, None  # constant input: 0, like torch

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        centered = x - Mean.apply(x, ctx.axes, True)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = sqrt(Sum.apply(centered * centered, ctx.axes, True) / ctx.denom)
            grad = expand_to(grad_out, ctx.y.shape, ctx.axes, ctx.keepdim) * centered / (ctx.denom * y)
        return Where.apply(ctx.y == 0, 0.0, grad), None, None, None


class AMax(Function):
    """y = max x over dims;  the gradient is shared evenly among tied maxima (like torch.amax)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest):
        y = (np.max if largest else np.min)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim = axes, keepdim
        return y if keepdim else np.squeeze(y, axis=axes)

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        ties = x == y
        grad_out = expand_reduced(grad_out, y.shape, ctx.axes, ctx.keepdim)
        return grad_out * ties / np.sum(ties, axis=ctx.axes, keepdims=True), None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x, y = ctx.saved_tensors
        ties = x == y
        share = (ties / np.sum(ties, axis=ctx.axes, keepdims=True)).astype(grad_out.dtype)
        return expand_to(grad_out, y.shape, ctx.axes, ctx.keepdim) * share, None, None, None


class MaxAlongDim(Function):
    """y = x at ``indices`` along one dim;  the gradient goes to exactly that element."""

    @staticmethod
    def forward(ctx, x, dim, indices, keepdim):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx.indices = indices = np.expand_dims(indices, dim)
        y = np.take_along_axis(x, indices, axis=dim)
        return y if keepdim else np.squeeze(y, axis=dim)

    @staticmethod
    def backward(ctx, grad_out):
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        if not ctx.keepdim:
            grad_out = np.expand_dims(grad_out, ctx.dim)
        np.put_along_axis(grad, ctx.indices, grad_out, axis=ctx.dim)
        return grad, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        onehot = np.zeros(ctx.shape, dtype=grad_out.dtype)
        np.put_along_axis(onehot, ctx.indices, 1, axis=ctx.dim)
        g = grad_out if ctx.keepdim else grad_out.unsqueeze(ctx.dim)
        return g * onehot, None, None, None


def _axes(x, dim):
    return normalize_dims(dim, x.ndim)


def _one_axis(x, dim):
    """The one axis ``dim`` names; None for a 0-d x (torch accepts dim 0 or -1 there)."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {dim!r}")
    axes = _axes(x, dim)
    return axes[0] if axes else None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Σ over all elements or ``dim``; ``dtype`` casts ``input`` first."""
    input = input if dtype is None else input.to(dtype)
    return Sum.apply(input, _axes(input, dim), keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over all elements or ``dim``; ``dtype`` casts ``input`` first."""
    input = input if dtype is None else input.to(dtype)
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype}"
        )
    return Mean.apply(input, _axes(input, dim), keepdim)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased else 0


def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return Var.apply(input, _axes(input, dim), keepdim, _correction(unbiased, correction))


def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    return Std.apply(input, _axes(input, dim), keepdim, _correction(unbiased, correction))


def amax(input, dim=None, keepdim=False):
    return AMax.apply(input, _axes(input, dim), keepdim, True)


def amin(input, dim=None, keepdim=False):
    return AMax.apply(input, _axes(input, dim), keepdim, False)


def _reduce_along(x, dim, keepdim, largest):
    """max/min: a full reduction without ``dim``; ``(values, indices)`` along one ``dim``."""
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0.")
        return AMax.apply(x, _axes(x, None), False, largest)
    axis = _one_axis(x, dim)
    if axis is None:  # 0-d: the value itself, index 0
        return values_indices(AMax.apply(x, (), keepdim, largest), Tensor._wrap(np.zeros((), np.int64)))
    indices = (np.argmax if largest else np.argmin)(x.data, axis=axis)
    values = MaxAlongDim.apply(x, axis, indices, keepdim)
    if keepdim:
        indices = np.expand_dims(indices, axis)
    return values_indices(values, Tensor._wrap(indices.astype(np.int64)))


def max(input, dim=None, keepdim=False):
    """Largest element, or ``(values, indices)`` along ``dim`` (first index on ties, like PyTorch);
    ``max(input, other)`` with a tensor ``other`` is ``maximum(input, other)``.

    Differs from PyTorch: ``other`` is taken by position only (``max(input, other=t)`` is refused).
    """
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    return _reduce_along(input, dim, keepdim, True)


def min(input, dim=None, keepdim=False):
    """Smallest element, or ``(values, indices)`` along ``dim``; ``min(input, other)`` with a tensor
    ``other`` is ``minimum(input, other)``.

    Differs from PyTorch: ``other`` is taken by position only (``min(input, other=t)`` is refused).
    """
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    return _reduce_along(input, dim, keepdim, False)


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(input.data), dtype=np.int64))
    axis = _one_axis(input, dim)
    return Tensor._wrap(np.argmax(input.data, axis=axis, keepdims=keepdim).astype(np.int64))


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(input.data), dtype=np.int64))
    axis = _one_axis(input, dim)
    return Tensor._wrap(np.argmin(input.data, axis=axis, keepdims=keepdim).astype(np.int64))


class LogSumExp(Function):
    """y = ln Σ eˣ (shifted by the max for stability);  ∂y/∂x = softmax(x)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        y = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim = axes, keepdim
        return y if keepdim else np.squeeze(y, axis=axes)

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        grad_out = expand_reduced(grad_out, y.shape, ctx.axes, ctx.keepdim)
        return grad_out * np.exp(x - y), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        y = LogSumExp.apply(x, ctx.axes, True)
        return expand_to(grad_out, y.shape, ctx.axes, ctx.keepdim) * exp(x - y), None, None


def logsumexp(input, dim, keepdim=False):
    return LogSumExp.apply(input, _axes(input, dim), keepdim)


class Softmax(Function):
    """y = eˣ / Σ eˣ along ``dim``;  ∂L/∂x = y·(g − Σ g·y)."""

    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        y = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return y * (grad_out - np.sum(grad_out * y, axis=ctx.axis, keepdims=True)), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        y = Softmax.apply(ctx.inputs[0], ctx.axis)
        return y * (grad_out - Sum.apply(grad_out * y, _as_axes(ctx.axis), True)), None


class LogSoftmax(Function):
    """y = x − ln Σ eˣ along ``dim``;  ∂L/∂x = g − softmax(x)·Σ g."""

    @staticmethod
    def forward(ctx, x, axis):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out - np.exp(y) * np.sum(grad_out, axis=ctx.axis, keepdims=True), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        p = Softmax.apply(ctx.inputs[0], ctx.axis)
        return grad_out - p * Sum.apply(grad_out, _as_axes(ctx.axis), True), None


def _as_axes(axis):
    """The one softmax axis as a tuple for ``Sum`` (None, for a 0-d input: no axis)."""
    return () if axis is None else (axis,)


def _softmax_axis(name, input, dim, dtype):
    """(input cast to ``dtype``, the one axis) for softmax and log_softmax. Without ``dim``, PyTorch's
    deprecated implicit choice, with its warning: dim 0 for 0-, 1- and 3-d inputs, else 1."""
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                      "Change the call to include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    input = input if dtype is None else input.to(dtype)
    return input, _one_axis(input, dim)


def softmax(input, dim=None, dtype=None):
    """eˣ / Σ eˣ along ``dim``; ``dtype`` casts ``input`` first."""
    return Softmax.apply(*_softmax_axis("softmax", input, dim, dtype))


def log_softmax(input, dim=None, dtype=None):
    """x − ln Σ eˣ along ``dim``; ``dtype`` casts ``input`` first."""
    return LogSoftmax.apply(*_softmax_axis("log_softmax", input, dim, dtype))

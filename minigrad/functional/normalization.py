"""Normalization: ``batch_norm`` (PyTorch semantics, on the compiled kernels) and ``layer_norm``.

Batch norm in the seed notation (Ioffe & Szegedy, Alg. 1), per channel c over its m values
(m = N for (N, C) input, m = N·H·W for (N, C, H, W)):

    μ_B  = (1/m)·Σ x                      ``mean``    (kernel: _ops.batch_norm_forward_train)
    σ²_B = (1/m)·Σ (x − μ_B)²             ``var``     biased: the one used to normalize
    x̂    = (x − μ_B) / sqrt(σ²_B + eps)
    y    = γ·x̂ + β                         γ = ``weight``, β = ``bias``

Running statistics (training mode, when buffers are given), updated in place:

    running_mean ← (1 − momentum)·running_mean + momentum·μ_B
    running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)   (unbiased, §3.1)

Momentum convention: ours (PyTorch's) weights the *new* batch statistic, so momentum = 0.1 here is
the book's momentum = 0.9 (which weights the old running value). Eval mode normalizes with the
running statistics: y = x·scale + shift with scale = γ/sqrt(running_var + eps) and
shift = β − running_mean·scale (kernel: _ops.batch_norm_forward_eval, from the buffers in one call).
"""
import math

import numpy as np

from .. import _ops
from ..autograd import Function
from ..tensor import Tensor

__all__ = ["batch_norm", "layer_norm"]


def _as_ncl(x):
    """(N, C, *) → contiguous (N, C, L) view/copy; 2-D input stays (N, C)."""
    if x.ndim == 2:
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)


def _channel_axes(x3):
    """The axes BN reduces over in the (N, C[, L]) layout, and the shape a per-channel vector
    takes to broadcast against it."""
    return ((0, 2), (1, -1, 1)) if x3.ndim == 3 else ((0,), (1, -1))


def _param(a, dtype):
    return None if a is None else np.ascontiguousarray(a, dtype=dtype)


class BatchNormTrain(Function):
    """Training-mode BN with batch statistics; ``stats`` (a list) receives (μ_B, σ²_B) for the caller.

    Backward (per channel, g = ∂L/∂y): grad_β = Σ g, grad_γ = Σ g·x̂,
    grad_x = γ/(m·sqrt(σ²_B + eps))·(m·g − Σ g − x̂·Σ g·x̂).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, stats):
        x3, weight = _as_ncl(x), _param(weight, x.dtype)
        y, mean, var, inv_std = _ops.batch_norm_forward_train(x3, weight, _param(bias, x.dtype), eps)
        stats.extend((mean, var))
        ctx.save_for_backward(x3, mean, inv_std, weight)
        ctx.shape, ctx.eps = x.shape, eps
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        x3, mean, inv_std, weight = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = _ops.batch_norm_backward(
            np.ascontiguousarray(grad_out, dtype=x3.dtype).reshape(x3.shape), x3, mean, inv_std, weight)
        need = ctx.needs_input_grad
        return (grad_x.reshape(ctx.shape) if need[0] else None,
                grad_weight if need[1] else None,
                grad_bias if need[2] else None, None, None)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        # backward's formula on Tensors, with μ_B, σ²_B and x̂ recomputed from x by differentiable ops
        x3 = ctx.saved_tensors[0]
        axes, shape = _channel_axes(x3)
        m = x3.size // x3.shape[1]
        x = ctx.inputs[0].reshape(x3.shape)
        xc = x - x.mean(axes, keepdim=True)
        inv_std = ((xc * xc).mean(axes, keepdim=True) + ctx.eps) ** -0.5
        x_hat = xc * inv_std
        g = grad_out.reshape(x3.shape)
        sum_g, sum_g_xhat = g.sum(axes, keepdim=True), (g * x_hat).sum(axes, keepdim=True)
        need, weight = ctx.needs_input_grad, ctx.graph_input(1, ctx.saved_tensors[3])
        grad_x = None
        if need[0]:
            gamma = 1.0 if weight is None else weight.reshape(shape)
            grad_x = (gamma * inv_std * (1 / m) * (m * g - sum_g - x_hat * sum_g_xhat)).reshape(ctx.shape)
        return (grad_x, sum_g_xhat.reshape(-1) if need[1] else None,
                sum_g.reshape(-1) if need[2] else None, None, None)


class BatchNormEval(Function):
    """Eval-mode BN: y = x·scale + shift with scale = γ/sqrt(running_var + eps),
    shift = β − running_mean·scale. grad_x = g·scale, grad_γ = Σ g·(x − running_mean)/sqrt(running_var + eps),
    grad_β = Σ g."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps):
        x3, dtype = _as_ncl(x), x.dtype
        # scale and shift are computed by the kernel (in float64, rounded once): on small inputs the
        # ~8 ufunc calls that computed them here cost twice the kernel itself (100×100, Zen 4)
        y = _ops.batch_norm_forward_eval(x3, _param(weight, dtype), _param(bias, dtype),
                                         _param(running_mean, dtype), _param(running_var, dtype), eps)
        if True in ctx.needs_input_grad:  # a graph is recorded: backward needs 1/sqrt(var + eps) and scale
            inv_std = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
            ctx.save_for_backward(x3, running_mean, inv_std, inv_std if weight is None else weight * inv_std)
        ctx.shape = x.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        x3, running_mean, inv_std, scale = ctx.saved_tensors
        g = grad_out.reshape(x3.shape)
        axes, shape = _channel_axes(x3)
        need = ctx.needs_input_grad
        grad_x = (g * scale.reshape(shape)).astype(x3.dtype).reshape(ctx.shape) if need[0] else None
        grad_weight = None
        if need[1]:
            x_hat = (x3 - running_mean.reshape(shape).astype(np.float64)) * inv_std.reshape(shape)
            grad_weight = (g * x_hat).sum(axes).astype(x3.dtype)
        grad_bias = g.sum(axes, dtype=np.float64).astype(x3.dtype) if need[2] else None
        return grad_x, grad_weight, grad_bias, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x3, running_mean, inv_std, scale = ctx.saved_tensors
        axes, shape = _channel_axes(x3)
        need, weight = ctx.needs_input_grad, ctx.inputs[1]
        g = grad_out.reshape(x3.shape)
        inv_std = inv_std.astype(x3.dtype).reshape(shape)
        grad_x = grad_weight = grad_bias = None
        if need[0]:
            scale = scale.astype(x3.dtype).reshape(shape) if weight is None else weight.reshape(shape) * inv_std
            grad_x = (g * scale).reshape(ctx.shape)
        if need[1]:
            x_hat = (ctx.inputs[0].reshape(x3.shape) - running_mean.reshape(shape)) * inv_std
            grad_weight = (g * x_hat).sum(axes)
        if need[2]:
            grad_bias = g.sum(axes)
        return grad_x, grad_weight, grad_bias, None, None, None


def _check_running(name, t, C):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a Tensor or None, got {type(t).__name__}")
    if t.data.shape != (C,):
        raise ValueError(f"{name}: expected shape ({C},), got {tuple(t.data.shape)}")
    return t


def batch_norm_train(input, weight, bias, eps):
    """(y, μ_B, σ²_B): training-mode BN and its biased batch statistics (ndarrays), without any
    running-statistics update (used by ``batch_norm`` and the book-convention layer)."""
    size = input.data.shape
    if input.data.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dims (N, C, ...), got shape {tuple(size)}")
    if size[0] * math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(size)}")
    stats = []
    y = BatchNormTrain.apply(input, weight, bias, float(eps), stats)
    return y, stats[0], stats[1]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over dim 1 of ``input`` (N, C) or (N, C, *), as ``torch.nn.functional.batch_norm``.

    training=True: normalize with μ_B and the biased σ²_B; if the running buffers are given, update
    them in place (running_var receives the unbiased σ²_B·m/(m−1)). training=False: normalize with
    the running buffers (required). ``momentum`` weights the new statistic (ours 0.1 = book 0.9).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm: input must be a Tensor, got {type(input).__name__}")
    if input.data.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dims (N, C, ...), got shape {tuple(input.data.shape)}")
    C = input.data.shape[1]
    running_mean = _check_running("running_mean", running_mean, C)
    running_var = _check_running("running_var", running_var, C)
    if training:
        y, mean, var = batch_norm_train(input, weight, bias, eps)
        if running_mean is not None or running_var is not None:
            m = input.data.size // C
            momentum = float(momentum)
            # In place, in the buffers' dtype (Python floats do not promote numpy arrays): two small
            # ufunc calls per buffer, as torch's update does in float32.
            if running_mean is not None:
                running_mean.data *= 1 - momentum
                running_mean.data += momentum * mean
            if running_var is not None:
                running_var.data *= 1 - momentum
                running_var.data += (momentum * m / (m - 1)) * var
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var must be given when training=False")
    return BatchNormEval.apply(input, weight, bias, running_mean.data, running_var.data, float(eps))


class LayerNorm(Function):
    """y = γ·(x − μ)/sqrt(σ² + eps) + β over the trailing ``normalized_shape`` dims (biased σ²),
    statistics and backward in float64. grad_x = inv_std/n·(n·ĝ − Σĝ − x̂·Σĝ·x̂) with ĝ = γ·g."""

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))
        x64 = x.astype(np.float64)
        mean = x64.mean(axes, keepdims=True)
        xc = x64 - mean
        inv_std = 1.0 / np.sqrt((xc * xc).mean(axes, keepdims=True) + eps)
        x_hat = xc * inv_std
        y = x_hat
        if weight is not None:
            y = y * weight
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes, ctx.eps = axes, eps
        return y.astype(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        x_hat, inv_std, weight = ctx.saved_tensors
        axes, dtype = ctx.axes, grad_out.dtype
        g = grad_out.astype(np.float64)
        lead = tuple(range(g.ndim - len(axes)))
        need = ctx.needs_input_grad
        grad_weight = (g * x_hat).sum(lead).astype(dtype) if weight is not None and need[1] else None
        grad_bias = g.sum(lead).astype(dtype) if need[2] else None
        grad_x = None
        if need[0]:
            gh = g * weight if weight is not None else g
            n = int(np.prod([g.shape[a] for a in axes]))
            grad_x = (inv_std / n * (n * gh - gh.sum(axes, keepdims=True)
                                     - x_hat * (gh * x_hat).sum(axes, keepdims=True))).astype(dtype)
        return grad_x, grad_weight, grad_bias, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        # backward's formula on Tensors (in the input's dtype), μ, σ² and x̂ recomputed differentiably
        axes, need = ctx.axes, ctx.needs_input_grad
        x = ctx.inputs[0]
        xc = x - x.mean(axes, keepdim=True)
        inv_std = ((xc * xc).mean(axes, keepdim=True) + ctx.eps) ** -0.5
        x_hat = xc * inv_std
        weight = ctx.graph_input(1, ctx.saved_tensors[2])
        lead = tuple(range(grad_out.ndim - len(axes)))
        grad_weight = (grad_out * x_hat).sum(lead) if weight is not None and need[1] else None
        grad_bias = grad_out.sum(lead) if need[2] else None
        grad_x = None
        if need[0]:
            gh = grad_out if weight is None else grad_out * weight
            n = int(np.prod([x.shape[a] for a in axes]))
            grad_x = inv_std * (1 / n) * (n * gh - gh.sum(axes, keepdim=True)
                                          - x_hat * (gh * x_hat).sum(axes, keepdim=True))
        return grad_x, grad_weight, grad_bias, None, None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing dims given by ``normalized_shape`` (``torch.nn.functional.layer_norm``)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if tuple(input.data.shape[input.data.ndim - len(shape):]) != shape or len(shape) > input.data.ndim:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size{list(input.data.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.data.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tuple(p.data.shape)}")
    return LayerNorm.apply(input, weight, bias, len(shape), float(eps))

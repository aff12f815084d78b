"""Loss functions: cross_entropy (fused log-softmax + NLL), nll_loss, mse/l1/smooth_l1, BCE (+ logits).

``reduction`` is 'mean' (default), 'sum' or 'none' (per-element / per-sample losses). Class losses
take input (N, C) or (N, C, d1, ...) (or unbatched (C,)) and int64 class targets (N) / (N, d1, ...);
the class dim is moved last and the rest flattened to M rows. Each Function computes its loss and,
in backward, the closed-form gradient; no log-softmax intermediate graph is built.
"""
import warnings

import numpy as np

from .._ops import check_float
from ..autograd import Function
from ..tensor import Tensor
from ._common import sum_to, unbroadcast
from .elementwise import Clamp, Where, div, log, mul, sigmoid, softplus
from .reduction import LogSoftmax, Softmax, mean, sum

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


# ---------------------------------------------------------------- class losses (CE, NLL)
def _rows(x):
    """(N, C, d...) → (M, C) with the class dim last (a view when possible), and the per-row shape."""
    if x.ndim == 1:
        return x[None, :], ()
    if x.ndim == 2:
        return x, x.shape[:1]
    moved = np.moveaxis(x, 1, -1)
    return moved.reshape(-1, x.shape[1]), moved.shape[:-1]


def _unrows(g, shape):
    """Inverse of ``_rows`` for a gradient (M, C) → input shape."""
    if len(shape) <= 2:
        return g.reshape(shape)
    moved = g.reshape(shape[:1] + shape[2:] + shape[1:2])
    return np.ascontiguousarray(np.moveaxis(moved, -1, 1))


def _class_target(name, x, target, ignore_index):
    """Validate an int class target against input ``x``; returns it flattened to (M,) and the mask
    of the rows not ignored, or None when no row is (the common case, told by two reductions)."""
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: expected an integer (int64) class-index target, got dtype {target.dtype}; "
            "class-probability targets must have the same shape as the input"
        )
    if x.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{name}: for unbatched input of shape {list(x.shape)} the target must be a scalar, "
                             f"got shape {list(target.shape)}")
    elif x.ndim == 2:
        if target.ndim != 1:
            raise ValueError(f"{name}: 1D target tensor expected for input of shape {list(x.shape)}, "
                             f"got target of shape {list(target.shape)} (multi-target not supported)")
        if target.shape[0] != x.shape[0]:
            raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({target.shape[0]}).")
    else:
        expected = x.shape[:1] + x.shape[2:]
        if target.shape != expected:
            raise ValueError(f"{name}: expected target size {list(expected)} for input of shape {list(x.shape)}, "
                             f"got {list(target.shape)}")
    flat = target.reshape(-1).astype(np.int64, copy=False)
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    if flat.size and (flat.min() < 0 or flat.max() >= n_classes):
        keep = flat != ignore_index
        bad = keep & ((flat < 0) | (flat >= n_classes))
        if bad.any():
            value = int(flat[np.argmax(bad)])
            raise IndexError(
                f"{name}: Target {value} is out of bounds: expected class indices in [0, {n_classes - 1}] "
                f"for {n_classes} classes (or ignore_index={ignore_index})"
            )
        return flat, keep
    if 0 <= ignore_index < n_classes:  # an ignore_index that is a class: look for it
        keep = flat != ignore_index
        if not keep.all():
            return flat, keep
    return flat, None


def _check_weight(name, weight, n_classes, dtype):
    if weight is None:
        return None
    if weight.shape != (n_classes,):
        raise ValueError(f"{name}: weight tensor should be defined either for all {n_classes} classes or no "
                         f"classes but got weight tensor of shape: {list(weight.shape)}")
    return weight.astype(dtype, copy=False)


def _reduce_rows(per_row, reduction, denom, out_shape):
    if reduction == "none":
        return per_row.reshape(out_shape)
    total = per_row.sum()
    if reduction == "sum":
        return total
    if denom:
        return total / denom
    with np.errstate(divide="ignore", invalid="ignore"):  # (entering it costs ~1 µs)
        return total / denom  # 0/0 = nan when every target is ignored, as in PyTorch


def _row_scale(g, reduction, denom, m, dtype):
    """Per-row factor d(reduced)/d(row loss) × upstream gradient, shape (M, 1)."""
    if reduction == "none":
        return g.reshape(m, 1).astype(dtype, copy=False)
    scale = g / denom if reduction == "mean" else g
    return np.full((m, 1), scale, dtype=dtype)


def _graph_scale(grad_out, reduction, denom, cdim):
    """``_row_scale`` for create_graph: the upstream gradient per row as a Tensor that broadcasts
    against the input (class dim ``cdim`` kept as size 1)."""
    if reduction == "none":
        return grad_out.unsqueeze(cdim)
    return grad_out / denom if reduction == "mean" else grad_out


def _class_shaped(w, ndim):
    """A per-class vector (C,) shaped to broadcast along dim 1 of an (N, C, d...) input."""
    return w.reshape((-1,) + (1,) * (ndim - 2)) if ndim > 2 else w


def _label_weights(labels, keep, weight, dtype):
    """The labels with ignored rows pointed at class 0, and each row's weight w_y (0 where ignored)."""
    if keep is None:
        return labels, np.ones(labels.shape[0], dtype) if weight is None else weight[labels]
    safe = np.where(keep, labels, 0)
    w_label = np.ones(labels.shape[0], dtype) if weight is None else weight[safe]
    return safe, np.where(keep, w_label, 0).astype(dtype, copy=False)


# Classes up to which the short path of CrossEntropy works on the logits transposed, (C, M): numpy
# reduces an array along a short last axis at ~50 ns per row (the row max of (100, 10) logits: 5.4 µs
# on Zen 4) but along the first axis as C vectorized passes (1.4 µs, + 0.6 µs for the transposing
# copy). Forward, float32, Zen 4: 0.1–0.75× the time of the row layout for C ≤ 64, 1.0–1.1× at
# C = 128, 1.6–2× at C = 1000 (M = 100 and 1000).
_FEW_CLASSES = 64


class CrossEntropy(Function):
    """ℓ_i = −Σ_c q_ic·log softmax(x_i)_c with q the (weighted, smoothed) target distribution;
    ∂ℓ_i/∂x_ic = softmax(x_i)_c·Σ_k q_ik − q_ic;  ∂ℓ_i/∂q_ic = −log softmax(x_i)_c.

    Class indices with no weight, no smoothing and no ignored row (every train step) take a short
    path: q is one-hot, so ℓ_i = log Σ_c exp(x_ic − max_i) − (x_{i,y_i} − max_i), and the backward
    scales exp(x_i − max_i) by 1/Σ and subtracts 1 at y_i; neither q nor log p is built."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing):
        rows, out_shape = _rows(x)
        m, n_classes = rows.shape
        weight = _check_weight("cross_entropy", weight, n_classes, x.dtype)
        eps = label_smoothing
        labels = keep = None
        if target.dtype.kind != "f":
            labels, keep = _class_target("cross_entropy", x, target, ignore_index)
        if labels is not None and keep is None and weight is None and eps == 0:
            return CrossEntropy._forward_indices(ctx, rows, labels, reduction, x.shape, out_shape)
        # Stable log-softmax: subtract the row max so exp never overflows (logits of ±1e4 are fine).
        shifted = rows - rows.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        log_p = shifted - np.log(sum_exp)
        if labels is None:  # class probabilities, same shape as the input
            if target.shape != x.shape:
                raise ValueError(f"cross_entropy: a floating-point target holds class probabilities and must "
                                 f"have the input's shape {list(x.shape)}, got {list(target.shape)}; "
                                 "for class indices pass an int64 target")
            q = _rows(target)[0].astype(x.dtype, copy=False)
            if eps > 0:
                q = q * (1 - eps) + eps / n_classes
            if weight is not None:
                q = q * weight
            denom = m
            ctx.target_grad_scale = (1 - eps) if weight is None else (1 - eps) * weight
            ctx.smoothing = eps, weight
        else:
            safe, w_label = _label_weights(labels, keep, weight, x.dtype)
            denom = w_label.sum()
            if eps > 0:  # q = (1 − ε)·w_y·onehot(y) + (ε/C)·w, zero for ignored rows
                q = np.broadcast_to(eps / n_classes * (1 if weight is None else weight), (m, n_classes))
                q = (q if keep is None else np.where(keep[:, None], q, 0)).astype(x.dtype)
            else:
                q = np.zeros((m, n_classes), x.dtype)
            rows_at = np.arange(m)
            q[rows_at, safe] += (1 - eps) * w_label
        if labels is None or eps > 0:
            per_row = -(q * log_p).sum(axis=1)
        else:  # one-hot q: pick log p at y, as a sum would meet 0·(−∞) where a logit is −∞
            picked = log_p[rows_at, safe]
            if keep is not None:
                picked[~keep] = 0  # an ignored row's pick (class 0) may be −∞ too, and w_y is 0 there
            per_row = -w_label * picked
        ctx.save_for_backward(exp / sum_exp, q, log_p if ctx.needs_input_grad[1] else None)
        ctx.shape, ctx.reduction, ctx.denom, ctx.labels = x.shape, reduction, denom, None
        return np.asarray(_reduce_rows(per_row, reduction, denom, out_shape), dtype=x.dtype)

    @staticmethod
    def _forward_indices(ctx, rows, labels, reduction, shape, out_shape):
        """The short path: ℓ_i = log Σ_c exp(x_ic − max_i) − (x_{i,y_i} − max_i) on the logits as z
        (C, M), class dim first (see _FEW_CLASSES)."""
        m, n_classes = rows.shape
        if n_classes <= _FEW_CLASSES:
            z = rows.T.copy()
            z -= z.max(axis=0)
        else:
            z = (rows - rows.max(axis=1, keepdims=True)).T
        picked = z[labels, np.arange(m)]
        exp = np.exp(z, out=z)
        sum_exp = exp.sum(axis=0)
        ctx.save_for_backward(exp, sum_exp)
        ctx.shape, ctx.reduction, ctx.denom, ctx.labels = shape, reduction, m, labels
        per_row = np.log(sum_exp) - picked
        return np.asarray(_reduce_rows(per_row, reduction, m, out_shape), dtype=exp.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.labels is not None:  # the short path: softmax − onehot(y), class dim first
            exp, sum_exp = ctx.saved_tensors
            m = sum_exp.shape[0]
            scale = grad_out.reshape(m) if ctx.reduction == "none" else grad_out
            if ctx.reduction == "mean" and m:
                scale = scale / m
            grad_z = exp * (scale / sum_exp)
            grad_z[ctx.labels, np.arange(m)] -= scale
            return _unrows(np.ascontiguousarray(grad_z.T), ctx.shape), None, None, None, None, None
        softmax, q, log_p = ctx.saved_tensors
        scale = _row_scale(grad_out, ctx.reduction, ctx.denom, q.shape[0], softmax.dtype)
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            grad_x = _unrows((softmax * q.sum(axis=1, keepdims=True) - q) * scale, ctx.shape)
        if ctx.needs_input_grad[1]:
            grad_t = _unrows(-log_p * ctx.target_grad_scale * scale, ctx.shape)
        return grad_x, grad_t, None, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x, target = ctx.inputs[0], ctx.inputs[1]
        cdim = 0 if x.ndim == 1 else 1
        scale = _graph_scale(grad_out, ctx.reduction, ctx.denom, cdim)
        need = ctx.needs_input_grad
        if need[1]:  # class probabilities that require grad: q = ((1 − ε)·target + ε/C)·w
            eps, weight = ctx.smoothing
            n_classes = x.shape[cdim]
            w = 1.0 if weight is None else _class_shaped(weight, x.ndim)
            q = (target * (1 - eps) + eps / n_classes) * w
        else:
            if ctx.labels is None:
                q = ctx.saved_tensors[1]
            else:  # the short path's one-hot q
                q = np.zeros((ctx.labels.shape[0], x.shape[cdim]), x.dtype)
                q[np.arange(q.shape[0]), ctx.labels] = 1
            q = Tensor._wrap(_unrows(q, ctx.shape))
        grad_x = (Softmax.apply(x, cdim) * q.sum(cdim, keepdim=True) - q) * scale if need[0] else None
        grad_t = None
        if need[1]:
            t_scale = ctx.target_grad_scale
            t_scale = t_scale if np.ndim(t_scale) == 0 else _class_shaped(t_scale, x.ndim)
            grad_t = -LogSoftmax.apply(x, cdim) * t_scale * scale
        return grad_x, grad_t, None, None, None, None


class NLLLoss(Function):
    """ℓ_i = −w_{y_i}·x_{i, y_i};  ∂ℓ_i/∂x_ic = −w_{y_i}·[c = y_i]."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        rows, out_shape = _rows(x)
        m, n_classes = rows.shape
        weight = _check_weight("nll_loss", weight, n_classes, x.dtype)
        safe, w_label = _label_weights(*_class_target("nll_loss", x, target, ignore_index), weight, x.dtype)
        per_row = -w_label * rows[np.arange(m), safe]
        denom = w_label.sum()
        ctx.save_for_backward(safe, w_label)
        ctx.shape, ctx.n_classes, ctx.reduction, ctx.denom = x.shape, n_classes, reduction, denom
        return np.asarray(_reduce_rows(per_row, reduction, denom, out_shape), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        safe, w_label = ctx.saved_tensors
        m = safe.shape[0]
        scale = _row_scale(grad_out, ctx.reduction, ctx.denom, m, w_label.dtype)
        grad = np.zeros((m, ctx.n_classes), w_label.dtype)
        grad[np.arange(m), safe] = -w_label * scale[:, 0]
        return _unrows(grad, ctx.shape), None, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        safe, w_label = ctx.saved_tensors
        m = safe.shape[0]
        coef = np.zeros((m, ctx.n_classes), w_label.dtype)
        coef[np.arange(m), safe] = -w_label
        scale = _graph_scale(grad_out, ctx.reduction, ctx.denom, 0 if len(ctx.shape) == 1 else 1)
        return _unrows(coef, ctx.shape) * scale, None, None, None, None


def _class_loss_args(name, input, target, weight):
    x = _raw(input)
    check_float(f"{name}: input", x)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dimension (classes), got a scalar")
    t = _raw(target)
    if not isinstance(t, np.ndarray):
        t = np.asarray(t)
        target = t
    return x, target, None if weight is None else _raw(weight)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits ``input`` (N, C) / (N, C, d...) / (C,) against class indices
    (int64, (N) / (N, d...)) or class probabilities (float, same shape as input).

    Equals ``nll_loss(log_softmax(input, 1), target)`` for class indices, computed in one fused,
    stable pass. ``weight`` (C,) rescales classes (mean divides by the summed weights of the
    non-ignored targets); targets equal to ``ignore_index`` contribute nothing; ``label_smoothing``
    ε mixes the target with the uniform distribution: q = (1 − ε)·target + ε/C.
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _, target, weight = _class_loss_args("cross_entropy", input, target, weight)
    return CrossEntropy.apply(input, target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C) / (N, C, d...) / (C,) at the
    int64 class indices ``target``; ``weight``, ``ignore_index`` and 'mean' as in cross_entropy."""
    _check_reduction(reduction)
    _, target, weight = _class_loss_args("nll_loss", input, target, weight)
    return NLLLoss.apply(input, target, weight, ignore_index, reduction)


# ---------------------------------------------------------------- elementwise losses
def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return np.asarray(loss.sum() if reduction == "sum" else loss.mean(), dtype=loss.dtype)


def _expand_grad(g, shape, reduction, dtype):
    """Upstream gradient of the reduced loss as a per-element factor broadcastable to ``shape``."""
    if reduction == "none":
        return g
    n = int(np.prod(shape))
    return np.asarray(g / n if reduction == "mean" else g, dtype=dtype)


def _float_pair(name, input, target):
    x, y = _raw(input), _raw(target)
    check_float(f"{name}: input", x)
    y = np.asarray(y)
    if y.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating point target, got dtype {y.dtype}")
    return x, y


def _broadcast_pair(name, input, target):
    """Like PyTorch, broadcast input and target with a warning when their shapes differ."""
    x, y = _float_pair(name, input, target)
    if x.shape != y.shape:
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise ValueError(f"{name}: target size {list(y.shape)} cannot be broadcast to input size "
                             f"{list(x.shape)}") from None
        warnings.warn(
            f"Using a target size ({list(y.shape)}) that is different to the input size ({list(x.shape)}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )


def _graph_expand(grad_out, n, reduction):
    """``_expand_grad`` for create_graph (a Tensor)."""
    return grad_out / n if reduction == "mean" else grad_out


class _PairLoss(Function):
    """Base of losses f(x − y): subclasses give ``loss(d)`` and ``dloss(d)`` elementwise."""

    @staticmethod
    def forward(ctx, x, y, reduction, *params):
        d = x - y
        ctx.save_for_backward(d, y)
        ctx.x_shape, ctx.y_shape, ctx.reduction, ctx.params = x.shape, np.shape(y), reduction, params
        return _reduce(ctx.fn.loss(d, *params).astype(d.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad_out):
        d = ctx.saved_tensors[0]
        grad = ctx.fn.dloss(d, *ctx.params) * _expand_grad(grad_out, d.shape, ctx.reduction, d.dtype)
        grad_x = unbroadcast(grad, ctx.x_shape) if ctx.needs_input_grad[0] else None
        grad_y = -unbroadcast(grad, ctx.y_shape) if ctx.needs_input_grad[1] else None
        return (grad_x, grad_y, None) + (None,) * len(ctx.params)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        d, y = ctx.saved_tensors
        diff = ctx.graph_input(0, d + y) - ctx.graph_input(1, y)
        grad = ctx.fn.dloss_graph(diff, d, *ctx.params) * _graph_expand(grad_out, d.size, ctx.reduction)
        grad_x = sum_to(grad, ctx.x_shape) if ctx.needs_input_grad[0] else None
        grad_y = -sum_to(grad, ctx.y_shape) if ctx.needs_input_grad[1] else None
        return (grad_x, grad_y, None) + (None,) * len(ctx.params)


class MSELoss(_PairLoss):
    """ℓ = (x − y)²;  ∂ℓ/∂x = 2(x − y) = −∂ℓ/∂y."""

    @staticmethod
    def loss(d):
        return d * d

    @staticmethod
    def dloss(d):
        return 2 * d

    @staticmethod
    def dloss_graph(diff, d):
        return 2 * diff


class L1Loss(_PairLoss):
    """ℓ = |x − y|;  ∂ℓ/∂x = sign(x − y) (0 at 0) = −∂ℓ/∂y."""

    @staticmethod
    def loss(d):
        return np.abs(d)

    @staticmethod
    def dloss(d):
        return np.sign(d)

    @staticmethod
    def dloss_graph(diff, d):
        return Tensor._wrap(np.sign(d))  # piecewise constant


class SmoothL1Loss(_PairLoss):
    """ℓ = ½d²/β if |d| < β else |d| − ½β (d = x − y);  ∂ℓ/∂x = d/β if |d| < β else sign(d)."""

    @staticmethod
    def loss(d, beta):
        a = np.abs(d)
        if beta == 0:
            return a
        return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)

    @staticmethod
    def dloss(d, beta):
        if beta == 0:
            return np.sign(d)
        return np.where(np.abs(d) < beta, d / beta, np.sign(d))

    @staticmethod
    def dloss_graph(diff, d, beta):
        if beta == 0:
            return Tensor._wrap(np.sign(d))
        return Where.apply(np.abs(d) < beta, diff / beta, np.sign(d))


def weighted_loss(input, loss, weight, reduction, mean_over_weight):
    """PyTorch's rule for the ``weight`` of mse_loss, l1_loss and huber_loss: the per-element
    ``loss`` (reduction 'none') times ``weight`` (shaped like ``input``), summed for 'sum' and for
    'mean' divided by Σ weight (``mean_over_weight``: mse, l1) or by the element count (huber)."""
    _check_reduction(reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = mul(loss, weight)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return sum(weighted)
    return div(sum(weighted), sum(weight)) if mean_over_weight else mean(weighted)


def mse_loss(input, target, reduction="mean", weight=None):
    """Mean squared error (x − y)², reduced by ``reduction``; with ``weight`` w (input's shape),
    Σ w·(x − y)² / Σ w."""
    _check_reduction(reduction)
    _broadcast_pair("mse_loss", input, target)
    if weight is not None:
        return weighted_loss(input, MSELoss.apply(input, target, "none"), weight, reduction, True)
    return MSELoss.apply(input, target, reduction)


def l1_loss(input, target, reduction="mean", weight=None):
    """Mean absolute error |x − y|, reduced by ``reduction``; with ``weight`` w (input's shape),
    Σ w·|x − y| / Σ w."""
    _check_reduction(reduction)
    _broadcast_pair("l1_loss", input, target)
    if weight is not None:
        return weighted_loss(input, L1Loss.apply(input, target, "none"), weight, reduction, True)
    return L1Loss.apply(input, target, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Huber-like loss: quadratic for |x − y| < β, linear beyond (β = 0 is the L1 loss)."""
    _check_reduction(reduction)
    if beta < 0:
        raise ValueError("smooth_l1_loss does not support negative values for beta.")
    _broadcast_pair("smooth_l1_loss", input, target)
    return SmoothL1Loss.apply(input, target, reduction, float(beta))


# ---------------------------------------------------------------- binary cross entropy
def _same_shape(name, x, y):
    if x.shape != y.shape:
        raise ValueError(f"{name}: Using a target size ({list(y.shape)}) that is different to the input size "
                         f"({list(x.shape)}) is not supported. Please ensure they have the same size.")


def _graph_operands(ctx, grad_out, x, y, weight):
    """For a BCE backward_create_graph: input and target (Tensors or constants) and the upstream
    gradient per element, weighted."""
    scale = _graph_expand(grad_out, x.size, ctx.reduction)
    return ctx.graph_input(0, x), ctx.graph_input(1, y), scale if weight is None else scale * weight


class BinaryCrossEntropy(Function):
    """ℓ = −w·(y·log x + (1 − y)·log(1 − x)), each log clamped at −100 (as PyTorch);
    ∂ℓ/∂x = w·(x − y)/max(x(1 − x), 1e-12);  ∂ℓ/∂y = −w·(log x − log(1 − x))."""

    @staticmethod
    def forward(ctx, x, y, weight, reduction):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(x, y, weight, log_x - log_1mx if ctx.needs_input_grad[1] else None)
        ctx.reduction = reduction
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad_out):
        x, y, weight, log_ratio = ctx.saved_tensors
        scale = _expand_grad(grad_out, x.shape, ctx.reduction, x.dtype)
        if weight is not None:
            scale = scale * weight
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = (x - y) / np.maximum(x * (1 - x), 1e-12) * scale
        if ctx.needs_input_grad[1]:
            grad_y = -log_ratio * scale
        return grad_x, grad_y, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x, y, weight, _ = ctx.saved_tensors
        xt, yt, scale = _graph_operands(ctx, grad_out, x, y, weight)
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = (xt - yt) / Clamp.apply(xt * (1 - xt), 1e-12, None) * scale
        if ctx.needs_input_grad[1]:
            grad_y = -(Clamp.apply(log(xt), -100, None) - Clamp.apply(log(1 - xt), -100, None)) * scale
        return grad_x, grad_y, None, None


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross entropy between probabilities ``input`` ∈ [0, 1] and ``target`` (same shape);
    ``weight`` broadcasts to the input and rescales each element."""
    _check_reduction(reduction)
    x, y = _float_pair("binary_cross_entropy", input, target)
    _same_shape("binary_cross_entropy", x, y)
    if np.any((x < 0) | (x > 1)):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    w = None if weight is None else np.broadcast_to(_raw(weight), x.shape).astype(x.dtype)
    return BinaryCrossEntropy.apply(input, target, w, reduction)


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = w·((1 − y)·x + l·softplus(−x)), l = 1 + (p − 1)·y (p = pos_weight; l = 1 without it);
    ∂ℓ/∂x = w·(l·σ(x) − p·y);  ∂ℓ/∂y = w·((p − 1)·softplus(−x) − x)."""

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight, reduction):
        # softplus(−x) = log(1 + e^(−x)) = log1p(e^(−|x|)) + max(−x, 0): no overflow for any x.
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        loss = (1 - y) * x + log_weight * softplus_neg
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(x, y, weight, pos_weight, softplus_neg)
        ctx.reduction = reduction
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad_out):
        x, y, weight, pos_weight, softplus_neg = ctx.saved_tensors
        scale = _expand_grad(grad_out, x.shape, ctx.reduction, x.dtype)
        if weight is not None:
            scale = scale * weight
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            sig = np.exp(-np.logaddexp(0, -x))  # σ(x) without overflow
            if pos_weight is None:
                grad_x = (sig - y) * scale
            else:
                grad_x = ((1 + (pos_weight - 1) * y) * sig - pos_weight * y) * scale
        if ctx.needs_input_grad[1]:
            d = -x if pos_weight is None else (pos_weight - 1) * softplus_neg - x
            grad_y = d * scale
        return grad_x, grad_y, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x, y, weight, pos_weight, _ = ctx.saved_tensors
        xt, yt, scale = _graph_operands(ctx, grad_out, x, y, weight)
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            sig = sigmoid(xt)
            if pos_weight is None:
                grad_x = (sig - yt) * scale
            else:
                grad_x = ((1 + (pos_weight - 1) * yt) * sig - pos_weight * yt) * scale
        if ctx.needs_input_grad[1]:
            d = -xt if pos_weight is None else (pos_weight - 1) * softplus(-xt) - xt
            grad_y = d * scale
        return grad_x, grad_y, None, None, None


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE of σ(input) against ``target`` computed stably from the logits. ``pos_weight`` (one value per
    class, broadcast along the last dim) weights the positive term: p·y·log σ(x) + (1 − y)·log(1 − σ(x))."""
    _check_reduction(reduction)
    x, y = _float_pair("binary_cross_entropy_with_logits", input, target)
    if x.shape != y.shape:
        raise ValueError(f"Target size ({list(y.shape)}) must be the same as input size ({list(x.shape)})")
    w = None if weight is None else np.broadcast_to(_raw(weight), x.shape).astype(x.dtype)
    pw = None if pos_weight is None else np.broadcast_to(_raw(pos_weight), x.shape).astype(x.dtype)
    return BinaryCrossEntropyWithLogits.apply(input, target, w, pw, reduction)

"""Utilities that act on a model's parameters: gradient clipping, flattening to a vector, BN statistics,
BN folding."""
import copy
import math

import numpy as np

from .. import functional as F
from ..autograd import no_grad
from ..tensor import Tensor
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Sequential
from .conv import Conv1d, Conv2d
from .linear import Linear
from .module import Parameter

# The layers recalibrate_bn and bn_stats act on (BookBatchNorm1d is a BatchNorm1d).
BATCH_NORMS = (BatchNorm1d, BatchNorm2d)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "recalibrate_bn",
           "bn_stats", "fuse_bn"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of all gradient entries (``inf``: the
    largest absolute entry). If it exceeds ``max_norm``, every gradient is multiplied in place by
    max_norm / (total_norm + 1e-6), as PyTorch does. Returns the total norm before clipping as a
    0-d Tensor. With ``error_if_nonfinite=True`` a nan/inf total norm raises RuntimeError.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    dtype = np.result_type(*grads)
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        per_param = [np.linalg.norm(g.ravel(), ord=norm_type) if g.size else 0.0 for g in grads]
        total = float(np.linalg.norm(np.asarray(per_param, dtype=np.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g *= g.dtype.type(coef)
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient entry to [−clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D Tensor (differentiable)."""
    return F.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Slice ``vec`` (1-D) into the parameters' shapes and make each parameter's data that slice
    (a view of ``vec``, not recorded by autograd), in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minigrad.Tensor, but got: {type(vec).__name__}")
    start = 0
    for p in parameters:
        n = p.data.size
        p.data = vec.data[start:start + n].reshape(p.shape)
        start += n


def recalibrate_bn(model, loader, num_batches=None):
    """Recompute every BatchNorm layer's running statistics as a cumulative average over data.

    After training with tiny batches the exponential running averages can sit far from the
    statistics the trained network actually produces (a train/eval gap). This resets each BN
    layer with ``track_running_stats`` (running_mean 0, running_var 1, num_batches_tracked 0),
    switches it to ``momentum=None`` (cumulative average: every batch weighs the same), and runs
    ``model`` forward without gradients on up to ``num_batches`` batches of ``loader`` (all if
    None) with the BN layers in training mode and every other module in eval mode (so Dropout is
    off). Parameters are not touched; each module's mode and momentum are restored afterwards.

    ``loader`` yields inputs, or tuples/lists whose first element is the input (Tensor or array).
    Returns the number of batches used.
    """
    bns = [m for m in model.modules() if isinstance(m, BATCH_NORMS) and m.track_running_stats]
    modes = {m: m.training for m in model.modules()}
    momenta = {m: m.momentum for m in bns}
    used = 0
    try:
        model.eval()
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        with no_grad():
            for batch in loader:
                if num_batches is not None and used >= num_batches:
                    break
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                model(x if isinstance(x, Tensor) else Tensor(x))
                used += 1
    finally:
        for m, mode in modes.items():
            object.__setattr__(m, "training", mode)
        for m, momentum in momenta.items():
            m.momentum = momentum
    return used


class BNStats(dict):
    """``bn_stats`` result: layer name → dict of its state; ``str()`` is a table, one row per layer."""

    def __str__(self):
        def summary(a):
            return "-" if a is None else f"{a.min():.4g} / {a.mean():.4g} / {a.max():.4g}"
        head = ("layer", "type", "C", "mode", "momentum", "batches", "running_mean min/mean/max",
                "running_var min/mean/max")
        rows = [(name, s["type"], str(s["num_features"]), "train" if s["training"] else "eval",
                 str(s["momentum"]), str(s["num_batches_tracked"]), summary(s["running_mean"]),
                 summary(s["running_var"])) for name, s in self.items()]
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head] + rows)


def bn_stats(model):
    """The running statistics of every batch-norm layer in ``model`` (copies), to inspect what eval
    mode will normalize with: a ``BNStats`` dict name → {type, num_features, training, momentum,
    eps, num_batches_tracked, running_mean, running_var, weight, bias} (arrays or None); print it
    for a table."""
    def copy(t):
        return None if t is None else np.array(t.data, copy=True)
    out = BNStats()
    for name, m in model.named_modules():
        if isinstance(m, BATCH_NORMS):
            out[name or type(m).__name__] = {
                "type": type(m).__name__, "num_features": m.num_features, "training": m.training,
                "momentum": m.momentum, "eps": m.eps,
                "num_batches_tracked": None if m.num_batches_tracked is None else int(m.num_batches_tracked.data),
                "running_mean": copy(m.running_mean), "running_var": copy(m.running_var),
                "weight": copy(m.weight), "bias": copy(m.bias),
            }
    return out


def fuse_bn(model):
    """A copy of the eval-mode ``model`` in which every BatchNorm that directly follows a Linear,
    Conv1d or Conv2d in a ``Sequential`` is folded into that layer's weight and bias and removed.

    At inference BN is a fixed affine map per channel (Ioffe & Szegedy §3.1), so it can be merged
    into the layer before it: one op less per pair, the same outputs within float32 rounding. The
    pairs folded are Linear → BatchNorm1d (on (N, features) input), Conv1d → BatchNorm1d and
    Conv2d → BatchNorm2d, when the BN normalizes with running statistics (``track_running_stats``,
    eval mode). The other layers keep their names, so ``fused[0]`` or ``"0.weight"`` still exists;
    a conv without bias gets one. ``model`` itself is not changed.

    >>> model.eval(); fast = minigrad.nn.utils.fuse_bn(model)
    """
    if model.training:
        raise RuntimeError("fuse_bn: the model is in training mode, where BatchNorm normalizes with batch "
                           "statistics that cannot be folded; call model.eval() first")
    follows = {Linear: BatchNorm1d, Conv1d: BatchNorm1d, Conv2d: BatchNorm2d}
    fused = copy.deepcopy(model)
    for seq in [m for m in fused.modules() if isinstance(m, Sequential)]:
        layer = None
        for name, m in list(seq.named_children()):
            bn_type = follows.get(type(layer))
            if (bn_type is not None and isinstance(m, bn_type) and not m.training and m.track_running_stats
                    and m.num_features == layer.weight.shape[0]):
                _fold_bn(layer, m)
                delattr(seq, name)
                continue  # a second BN right after folds into the same layer
            layer = m
    return fused


def _fold_bn(layer, bn):
    """Fold eval-mode ``bn`` into ``layer`` (y = W·x + b, one output channel per row of W), in float64.

    BN(W·x + b) = γ·(W·x + b − E[x])/sqrt(Var[x] + ε) + β = (s·W)·x + s·(b − E[x]) + β,
    s = γ/sqrt(Var[x] + ε) per channel.
    """
    weight = layer.weight.data
    gamma = 1.0 if bn.weight is None else bn.weight.data.astype(np.float64)
    beta = 0.0 if bn.bias is None else bn.bias.data.astype(np.float64)
    bias = 0.0 if layer.bias is None else layer.bias.data.astype(np.float64)
    s = gamma / np.sqrt(bn.running_var.data.astype(np.float64) + bn.eps)
    folded_weight = weight.astype(np.float64) * s.reshape((-1,) + (1,) * (weight.ndim - 1))
    folded_bias = (bias - bn.running_mean.data.astype(np.float64)) * s + beta
    layer.weight.data = folded_weight.astype(weight.dtype)
    layer.bias = Parameter(folded_bias.astype(weight.dtype))

"""RMSprop: gradient scaled by a running RMS of past gradients (optionally centered, with momentum)."""
import numpy as np

from .optimizer import Optimizer, check_nonnegative, lerp_, square_avg_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                   if maximize
        g ← g + λ·θ                              if weight_decay λ ≠ 0
        v ← α·v + (1 − α)·g²
        ḡ ← α·ḡ + (1 − α)·g;  d = √(v − ḡ²) + eps if centered,  else d = √v + eps
        b ← μ·b + g/d;  θ ← θ − lr·b             if momentum μ > 0
        θ ← θ − lr·g/d                           otherwise

    The book's RMSprop (decay_rate 0.99, eps 1e-7 outside the root) is the uncentered form
    without momentum.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Learning rate (default 1e-2).
    alpha : float
        Smoothing constant α (default 0.99).
    eps : float
        Added to the denominator (default 1e-8).
    weight_decay : float
        L2 penalty λ (default 0).
    momentum : float
        Momentum factor μ (default 0).
    centered : bool
        Normalize by an estimate of the gradient variance instead of its second moment.
    maximize : bool

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (μ > 0), ``grad_avg``
    (centered).

    Differs from PyTorch: ``maximize`` is keyword-only (PyTorch takes it by position after
    ``capturable`` and ``foreach``, which minigrad does not have).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_nonnegative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _update_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, centered = group["momentum"], group["centered"]
        names = ["square_avg"] + ["momentum_buffer"] * (momentum > 0) + ["grad_avg"] * centered
        for param, g, state in self._steps(group, *names):
            v = state["square_avg"]
            tmp = self._buffer(param, 1)
            square_avg_(v, g, alpha, tmp)
            if centered:
                grad_avg = state["grad_avg"]
                lerp_(grad_avg, g, 1 - alpha, tmp)
                avg = tmp
                np.multiply(grad_avg, grad_avg, out=avg)
                np.subtract(v, avg, out=avg)
                np.sqrt(avg, out=avg)
            else:
                avg = np.sqrt(v, out=tmp)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += np.divide(g, avg, out=avg)
                update = np.multiply(buf, lr, out=avg)
            else:
                update = np.divide(g, avg, out=avg)
                update *= lr
            param -= update

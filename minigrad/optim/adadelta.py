"""Adadelta: per-weight step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from .optimizer import Optimizer, check_nonnegative, square_avg_

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                   if maximize
        g ← g + λ·θ                              if weight_decay λ ≠ 0
        v ← ρ·v + (1 − ρ)·g²
        Δ = √(u + eps) / √(v + eps) · g
        u ← ρ·u + (1 − ρ)·Δ²
        θ ← θ − lr·Δ

    The ratio of the two RMS values gives each weight a step in the units of θ, so ``lr`` = 1 (the
    default) is the paper's method; ``lr`` < 1 scales it.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Scale of the update Δ (default 1.0).
    rho : float
        Decay ρ of both running averages (default 0.9).
    eps : float
        Added inside both square roots (default 1e-6).
    weight_decay : float
        L2 penalty λ (default 0).
    maximize : bool

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_nonnegative(group, "lr")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        check_nonnegative(group, "eps", "weight_decay")

    def _update_group(self, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for param, g, state in self._steps(group, "square_avg", "acc_delta"):
            v, u = state["square_avg"], state["acc_delta"]
            tmp = self._buffer(param, 1)
            square_avg_(v, g, rho, tmp)
            std = np.add(v, eps, out=tmp)
            np.sqrt(std, out=std)
            delta = np.add(u, eps, out=self._buffer(param, 2))
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            square_avg_(u, delta, rho, tmp)
            delta *= lr
            param -= delta

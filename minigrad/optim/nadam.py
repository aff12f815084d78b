"""NAdam: Adam with Nesterov momentum (Dozat), with PyTorch's momentum-decay schedule."""
import numpy as np

from .optimizer import Optimizer, check_adam_family, check_nonnegative, lerp_, square_avg_

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                   if maximize
        θ ← θ·(1 − lr·λ)                         if decoupled_weight_decay
        g ← g + λ·θ                              otherwise, if weight_decay λ ≠ 0
        μₜ = β1·(1 − ½·0.96^(t·ψ))               ψ = momentum_decay
        Πₜ = μ₁·…·μₜ
        m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
        d = √(v / (1 − β2ᵗ)) + eps
        θ ← θ − lr·(1 − μₜ)/(1 − Πₜ) · g/d − lr·μₜ₊₁/(1 − Πₜ·μₜ₊₁) · m/d

    Πₜ is kept in float32, as PyTorch keeps it (a float32 scalar tensor).

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Learning rate (default 2e-3).
    betas : (float, float)
        Decay rates of the moment averages (default (0.9, 0.999)).
    eps : float
        Added to the denominator (default 1e-8).
    weight_decay : float
        λ (default 0), coupled L2 unless ``decoupled_weight_decay``.
    momentum_decay : float
        ψ (default 4e-3).
    decoupled_weight_decay : bool
        Decay θ directly, as AdamW does.
    maximize : bool

    State per parameter: ``step``, ``mu_product`` (Πₜ), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_adam_family(group)
        check_nonnegative(group, "momentum_decay")

    def _update_group(self, group):
        lr, eps, psi = group["lr"], group["eps"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        for param, g, state in self._steps(group, "exp_avg", "exp_avg_sq", mu_product=np.ones((), np.float32)):
            t = state["step"]
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            state["mu_product"] *= np.float32(mu)
            mu_product = float(state["mu_product"])
            m, v = state["exp_avg"], state["exp_avg_sq"]
            tmp = self._buffer(param, 1)
            lerp_(m, g, 1 - beta1, tmp)
            square_avg_(v, g, beta2, tmp)
            denom = np.divide(v, 1 - beta2 ** t, out=self._buffer(param, 2))
            np.sqrt(denom, out=denom)
            denom += eps
            step = np.divide(g, denom, out=tmp)
            step *= -lr * (1.0 - mu) / (1.0 - mu_product)
            param += step
            step = np.divide(m, denom, out=tmp)
            step *= -lr * mu_next / (1.0 - mu_product * mu_next)
            param += step


"""RAdam: Adam whose adaptive step is switched on only once the variance estimate is reliable."""
import math

import numpy as np

from .optimizer import Optimizer, check_adam_family, lerp_, square_avg_

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al.), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                   if maximize
        θ ← θ·(1 − lr·λ)                         if decoupled_weight_decay
        g ← g + λ·θ                              otherwise, if weight_decay λ ≠ 0
        m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
        m̂ = m / (1 − β1ᵗ)
        ρ∞ = 2/(1 − β2) − 1;   ρₜ = ρ∞ − 2t·β2ᵗ/(1 − β2ᵗ)
        if ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
                    θ ← θ − lr · m̂ · r · √(1 − β2ᵗ) / (√v + eps)
        else:       θ ← θ − lr · m̂                (SGD with momentum while v is too noisy)

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Learning rate (default 1e-3).
    betas : (float, float)
        Decay rates of the moment averages (default (0.9, 0.999)).
    eps : float
        Added to √v (default 1e-8).
    weight_decay : float
        λ (default 0), coupled L2 unless ``decoupled_weight_decay``.
    decoupled_weight_decay : bool
        Decay θ directly, as AdamW does.
    maximize : bool

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_adam_family(group)

    def _update_group(self, group):
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        rho_inf = 2 / (1 - beta2) - 1
        for param, g, state in self._steps(group, "exp_avg", "exp_avg_sq"):
            t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
            tmp = self._buffer(param, 1)
            lerp_(m, g, 1 - beta1, tmp)
            square_avg_(v, g, beta2, tmp)
            bias_correction2 = 1 - beta2 ** t
            update = np.divide(m, 1 - beta1 ** t, out=tmp)
            update *= lr
            rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                denom = np.sqrt(v, out=self._buffer(param, 2))
                denom += eps
                update *= math.sqrt(bias_correction2)
                update /= denom
                update *= rect
            param -= update

"""Adamax: Adam with the infinity norm of past gradients in place of their RMS."""
import numpy as np

from .optimizer import Optimizer, check_adam_family, lerp_

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, section 7.1), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                   if maximize
        g ← g + λ·θ                              if weight_decay λ ≠ 0
        m ← β1·m + (1 − β1)·g
        u ← max(β2·u, |g| + eps)
        θ ← θ − lr/(1 − β1ᵗ) · m / u

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Learning rate (default 2e-3).
    betas : (float, float)
        β1 for the first moment, β2 for the decay of the infinity norm (default (0.9, 0.999)).
    eps : float
        Added to |g| (default 1e-8).
    weight_decay : float
        L2 penalty λ (default 0).
    maximize : bool

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_adam_family(group)

    def _update_group(self, group):
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        for param, g, state in self._steps(group, "exp_avg", "exp_inf"):
            m, u = state["exp_avg"], state["exp_inf"]
            tmp = self._buffer(param, 1)
            lerp_(m, g, 1 - beta1, tmp)
            norm = np.abs(g, out=tmp)
            norm += eps
            u *= beta2
            np.maximum(u, norm, out=u)
            clr = lr / (1 - beta1 ** state["step"])
            update = np.divide(m, u, out=tmp)
            update *= clr
            param -= update

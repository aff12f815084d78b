"""Adam (coupled L2 weight decay) and AdamW (decoupled weight decay)."""

from .. import _ops
from .optimizer import Optimizer, check_adam_family

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                   if maximize
        θ ← θ·(1 − lr·λ)                         if decoupled_weight_decay (AdamW)
        g ← g + λ·θ                              otherwise, if weight_decay λ ≠ 0
        m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
        v̂max ← max(v̂max, v)                      if amsgrad (then v̂max replaces v below)
        θ ← θ − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)

    Coupled (Adam): λ·θ is added to the gradient, so the decay passes through m and is divided by √v,
    i.e. heavily-updated weights are decayed less.  Decoupled (AdamW): θ shrinks by lr·λ·θ directly,
    the same for every weight, independent of the gradient statistics.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Learning rate (default 1e-3).
    betas : (float, float)
        Decay rates of the first and second moment averages (default (0.9, 0.999)).
    eps : float
        Added to the denominator for stability (default 1e-8). The book's Adam adds 1e-7 to √v
        without bias-correcting v (it folds the correction into the step size).
    weight_decay : float
        λ (default 0), coupled L2 unless ``decoupled_weight_decay``.
    amsgrad : bool
        Use the running maximum of v (Reddi et al.).
    maximize : bool
    decoupled_weight_decay : bool
        Apply the weight decay as AdamW does.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).

    Examples
    --------
    >>> opt = minigrad.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_adam_family(group)

    def _update_group(self, group):
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        amsgrad, maximize, decoupled = group["amsgrad"], group["maximize"], group["decoupled_weight_decay"]
        names = ("exp_avg", "exp_avg_sq") + ("max_exp_avg_sq",) * amsgrad
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._step_state(p, *names)
            # One fused pass per parameter (compiled, see minigrad/_ops/optim.pyx), weight decay included.
            _ops.adam_step(p.data, p.grad.data, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
                           lr, beta1, beta2, eps, weight_decay, state["step"], amsgrad, maximize, decoupled)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's rule:

        θ ← θ·(1 − lr·λ)        first, on the parameter itself (default λ = 1e-2)
        then the Adam step above on the raw gradient (no λ·θ term in m or v).

    Coupled (Adam + weight_decay): λ·θ joins the gradient and is rescaled by 1/√v per weight.
    Decoupled (AdamW): every weight shrinks by the same factor (1 − lr·λ) regardless of its gradients.

    Parameters are those of :class:`Adam`; ``weight_decay`` defaults to 1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

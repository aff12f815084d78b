"""Adagrad: per-weight learning rates from the sum of squared gradients."""
import numpy as np

from .optimizer import Optimizer, check_nonnegative

__all__ = ["Adagrad", "AdaGrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.), PyTorch's rule, step t for each parameter θ with gradient g:

        g ← −g                                if maximize
        g ← g + λ·θ                           if weight_decay λ ≠ 0
        lrₜ = lr / (1 + (t − 1)·lr_decay)
        s ← s + g²                            (s starts at initial_accumulator_value)
        θ ← θ − lrₜ · g / (√s + eps)

    The book's AdaGrad adds eps = 1e-7 the same way (outside the square root).

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Learning rate (default 1e-2).
    lr_decay : float
        Learning-rate decay (default 0).
    weight_decay : float
        L2 penalty λ (default 0).
    initial_accumulator_value : float
        Starting value of s (default 0).
    eps : float
        Added to √s (default 1e-10).
    maximize : bool

    State per parameter (created at construction, as in PyTorch): ``step``, ``sum`` (s).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = {"step": 0, "sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def _validate(self, group):
        check_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _update_group(self, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for param, g, state in self._steps(group):  # the state exists from the start
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            s = state["sum"]
            tmp = np.multiply(g, g, out=self._buffer(param, 1))
            s += tmp
            std = np.sqrt(s, out=tmp)
            std += eps
            update = np.divide(g, std, out=tmp)
            update *= clr
            param -= update


AdaGrad = Adagrad  # the book's spelling

"""Stochastic gradient descent with momentum, dampening, Nesterov, weight decay, maximize."""
import numpy as np

from .. import _ops
from .optimizer import Optimizer, check_nonnegative

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's rule, step t for each parameter θ with gradient g):

        g ← −g                              if maximize
        g ← g + λ·θ                         if weight_decay λ ≠ 0 (L2, same as loss += ½·λ·‖θ‖²)
        b ← g (t = 1),  b ← μ·b + (1 − τ)·g  if momentum μ ≠ 0 (τ = dampening)
        g ← g + μ·b if nesterov else b      if momentum μ ≠ 0
        θ ← θ − lr·g

    The book's "Momentum" (v ← α·v − η·g; W ← W + v) is the same trajectory as μ = α, τ = 0 with
    v = −lr·b when lr is constant; its "Nesterov" variant matches ``nesterov=True``.

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters or parameter groups.
    lr : float
        Learning rate (default 1e-3, as in PyTorch 2).
    momentum : float
        Momentum factor μ (default 0).
    dampening : float
        Dampening τ for momentum (default 0).
    weight_decay : float
        L2 penalty λ (default 0); see ``param_groups_no_decay`` to exempt biases and norm parameters.
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool
        Maximize the objective instead of minimizing.

    State per parameter: ``momentum_buffer`` (only when momentum ≠ 0).

    Examples
    --------
    >>> opt = minigrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        check_nonnegative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update_group(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            buf, first = None, False
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf, first = np.empty_like(p.data), True
                    state["momentum_buffer"] = buf
            # One fused pass per parameter (compiled, see minigrad/_ops/optim.pyx).
            _ops.sgd_step(p.data, p.grad.data, buf, lr, momentum, dampening, weight_decay, nesterov,
                          maximize, first)

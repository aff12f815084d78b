"""Dropout layers: inverted dropout, identity in eval mode (``model.eval()``)."""
from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Training: zero each element with probability p, scale the rest by 1/(1 − p). Eval: identity."""

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Training: zero whole channels of (N, C, H, W) input with probability p, scale the rest by
    1/(1 − p). Eval: identity."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)

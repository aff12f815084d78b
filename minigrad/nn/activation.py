"""Activation modules: thin wrappers that call the op in ``minigrad.functional``."""
import numpy as np

from .. import functional as F
from ..creation import full
from .module import Module, Parameter


class _InplaceFlag(Module):
    """An activation whose only argument is PyTorch's ``inplace`` flag (kept for its signature and repr)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceFlag):
    """y = max(x, 0).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """

    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    """y = 1 / (1 + e⁻ˣ)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class SiLU(_InplaceFlag):
    """y = x·σ(x).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """

    def forward(self, x):
        return F.silu(x)


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope·x.

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate='{self.approximate}'"


class ELU(Module):
    """y = x if x > 0 else α·(eˣ − 1).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Mish(_InplaceFlag):
    """y = x·tanh(softplus(x)).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """

    def forward(self, x):
        return F.mish(x)


class Hardtanh(Module):
    """y = min(max(x, min_val), max_val).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values). PyTorch's deprecated ``min_value`` and ``max_value`` (old
    names of ``min_val`` and ``max_val``) are not accepted.
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError("min_val cannot be greater than max_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """y = min(max(x, 0), 6)."""

    def __init__(self):
        super().__init__(0.0, 6.0)

    def extra_repr(self):
        return ""


class PReLU(Module):
    """y = max(0, x) + a·min(0, x) with a learnable slope a: one for all channels, or
    ``num_parameters`` = C, one per channel (dim 1), starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype or np.float32))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"

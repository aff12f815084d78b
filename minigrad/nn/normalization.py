"""LayerNorm and GroupNorm: per-sample normalization (``F.layer_norm``, ``F.group_norm``)."""
from .. import functional as F
from ..creation import ones, zeros
from .module import Module, Parameter

__all__ = ["LayerNorm", "GroupNorm"]


def _affine_parameters(module, shape, affine, bias, device, dtype):
    """γ (``weight``, ones) and, with ``bias``, β (``bias``, zeros) of ``shape``; None when not affine."""
    module.register_parameter("weight", Parameter(ones(*shape, device=device, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(zeros(*shape, device=device, dtype=dtype)) if affine and bias else None)


class LayerNorm(Module):
    """y = γ·(x − μ)/sqrt(σ² + eps) + β, μ and biased σ² over the last ``len(normalized_shape)``
    dims of each sample; γ (``weight``, init 1) and β (``bias``, init 0) have ``normalized_shape``.
    Unlike BatchNorm it has no running statistics and behaves the same in train and eval."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        _affine_parameters(self, shape, elementwise_affine, bias, device, dtype)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """y = γ·(x − μ_g)/sqrt(σ²_g + eps) + β, μ_g and biased σ²_g over each of ``num_groups`` groups of
    channels (and all positions) of each sample; γ (``weight``, init 1) and β (``bias``, init 0) have
    one value per channel. The same in train and eval."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self._has_bias = bias
        _affine_parameters(self, (num_channels,), affine, bias, device, dtype)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self._has_bias}"

"""LayerNorm: per-sample normalization over the trailing dims (``F.layer_norm``)."""
from .. import functional as F
from ..creation import ones, zeros
from .module import Module, Parameter

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """y = γ·(x − μ)/sqrt(σ² + eps) + β, μ and biased σ² over the last ``len(normalized_shape)``
    dims of each sample; γ (``weight``, init 1) and β (``bias``, init 0) have ``normalized_shape``.
    Unlike BatchNorm it has no running statistics and behaves the same in train and eval."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*shape, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(*shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

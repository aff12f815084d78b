"""BatchNorm1d / BatchNorm2d (PyTorch's layers) and BookBatchNorm1d (the book's conventions).

The math, in the seed notation, per channel c over its m values in the batch (see
``minigrad.functional.normalization``): μ_B = mean, σ²_B = biased variance,
x̂ = (x − μ_B)/sqrt(σ²_B + eps), y = γ·x̂ + β, with γ = ``weight`` (init 1) and β = ``bias``
(init 0). Training uses (μ_B, σ²_B) and updates the buffers

    running_mean ← (1 − momentum)·running_mean + momentum·μ_B
    running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)

(unbiased, Ioffe & Szegedy §3.1); ``momentum=None`` uses the cumulative average, factor
1/num_batches_tracked. Eval normalizes with the running statistics. Momentum convention: ours
(PyTorch's) 0.1 weights the new batch = the book's 0.9, which weights the old value.
"""
import numpy as np

from .. import functional as F
from ..creation import ones, zeros
from ..functional.normalization import batch_norm_train
from ..tensor import Tensor
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BookBatchNorm1d"]


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: PyTorch's parameters, buffers and mode logic."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))   # γ
            # β; ``bias=False`` keeps γ only (y = γ·x̂)
            self.register_parameter("bias", Parameter(zeros(num_features, device=device, dtype=dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def _check_input_dim(self, x):
        raise NotImplementedError

    def forward(self, x):
        self._check_input_dim(x)
        # parameters and buffers read from their stores: a Module.__getattr__ fallback costs ~0.5 µs on Zen 4
        # a name, a third of eval-mode BN's Python time on a 100×100 input
        params, buffers = self._parameters, self._buffers
        running_mean, running_var, tracked = buffers["running_mean"], buffers["running_var"], buffers["num_batches_tracked"]
        factor = 0.0
        if self.training and self.track_running_stats and tracked is not None:
            tracked.data += 1
            factor = 1.0 / float(tracked.data) if self.momentum is None else self.momentum
        # Batch statistics in training, and in eval too when there are no running statistics.
        bn_training = self.training or (running_mean is None and running_var is None)
        use_buffers = not self.training or self.track_running_stats
        return F.batch_norm(x, running_mean if use_buffers else None, running_var if use_buffers else None,
                            params["weight"], params["bias"], bn_training, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input, statistics per channel C (over N, or N·L)."""

    def _check_input_dim(self, x):
        if x.data.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.data.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, statistics per channel C over N·H·W (the paper's
    convolutional BN, §3.2)."""

    def _check_input_dim(self, x):
        if x.data.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.data.ndim}D input)")


class BookBatchNorm1d(BatchNorm1d):
    """The book's BatchNormalization layer ("Deep Learning from Scratch" §6.3), for comparisons.

    Differences from ``BatchNorm1d`` (all explicit here, none is a default elsewhere):
    - ``momentum=0.9`` weights the *old* running value: running ← momentum·running + (1 − momentum)·batch
      (= our momentum 0.1); ``momentum=None`` is the cumulative average, as in BatchNorm1d;
    - running_var stores the *biased* σ²_B and both buffers start at 0;
    - ``eps=1e-6``.
    Training output and gradients are the same as BatchNorm1d's (μ_B, biased σ²_B). Only the
    per-feature (N, D) form is offered: the book flattens 4-D input to (N, C·H·W), which is not the
    paper's per-channel BN (use BatchNorm2d for that).
    """

    def __init__(self, num_features, momentum=0.9, eps=1e-6, affine=True, dtype=None):
        super().__init__(num_features, eps=eps, momentum=momentum, affine=affine,
                         track_running_stats=True, dtype=dtype)
        self.running_var.data[...] = 0

    def reset_running_stats(self):
        super().reset_running_stats()
        self.running_var.data[...] = 0

    def _check_input_dim(self, x):
        if x.data.ndim != 2:
            raise ValueError(f"expected 2D (N, D) input (got {x.data.ndim}D input)")

    def forward(self, x):
        self._check_input_dim(x)
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        y, mean, var = batch_norm_train(x, self.weight, self.bias, self.eps)
        self.num_batches_tracked.data += 1
        old = (1.0 - 1.0 / float(self.num_batches_tracked.data)) if self.momentum is None else self.momentum
        for buf, stat in ((self.running_mean, mean), (self.running_var, var)):
            buf.data[...] = (old * buf.data.astype(np.float64) + (1.0 - old) * stat).astype(buf.data.dtype)
        return y

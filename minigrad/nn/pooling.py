"""Pooling modules: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d (no parameters;
they call ``F``)."""
from .. import functional as F
from .module import Module


class MaxPool2d(Module):
    """Max over each kernel_size window (stride defaults to kernel_size; padding ≤ kernel_size/2).

    Ties pick the first maximum in scan order and a NaN always wins, like PyTorch. Shape:
    (N, C, H, W) or (C, H, W) → (N, C, OH, OW), OH = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1
    (rounded up with ``ceil_mode``). ``return_indices=True`` returns ``(y, indices)`` as
    ``F.max_pool2d`` does.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over each window. The divisor counts the zero padding (``count_include_pad``, default),
    or only the input elements, or is ``divisor_override``. Shapes as ``MaxPool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (int or pair; None keeps the input size), e.g. 1 for
    global average pooling. Window i spans [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxPool1d(MaxPool2d):
    """Max over each window of the last dim: (N, C, L) or (C, L) → (…, L_out); the arguments (and
    ``return_indices``) as MaxPool2d's, for one dim."""

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool1d(Module):
    """Mean over each window of the last dim (divisor rules as AvgPool2d)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size=({self.kernel_size},), stride=({self.stride},), padding=({self.padding},)"


class AdaptiveMaxPool2d(Module):
    """Max over PyTorch's adaptive windows to a fixed ``output_size`` (an int or a pair).

    Differs from PyTorch: ``return_indices=True`` is refused (NotImplementedError).
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        if return_indices:
            raise NotImplementedError("AdaptiveMaxPool2d: return_indices=True is not supported")
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"

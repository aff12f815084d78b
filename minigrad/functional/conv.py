"""Convolution and pooling: conv1d, conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d.

Convolution runs on the implicit-GEMM kernels of ``_ops`` (``_ops/conv_kernel.pxi``): GEMMs whose
packed panels of the column matrix are gathered straight from the NCHW input, so the column
matrix (C·KH·KW, N·OH·OW) of ``_ops/im2col.pyx`` never exists in memory:

    forward   Y_n = W · cols_n + b               _ops.conv2d_forward, straight into y (NCHW)
    backward  ∂W  = Σ_n G_n · cols_nᵀ            _ops.conv2d_backward_weight
              ∂b  = Σ G                          in the same call (grad_bias)
              ∂x  = G ⋆ flipped Wᵀ (stride 1)    _ops.conv2d_forward: a transposed convolution
              ∂x  = col2im(Wᵀ · G_n)             otherwise: _ops.conv2d_backward_input

A 3 x 3, stride-1, one-group convolution with at least WINOGRAD_MIN_CHANNELS input and output
channels runs its forward, and its ∂x (then also such a convolution), by Winograd F(2×2, 3×3)
(_ops.conv2d_winograd), and its ∂W (+ ∂b) by the adjoint of that (_ops.conv2d_winograd_backward_weight):
2.25x fewer multiplications, a slightly larger rounding error, bounded in docs/kernels.md;
``WINOGRAD = False`` turns that off.

The bias is added, and ∂b summed, by the kernels product by product while each sample's rows are
in cache: as separate numpy passes over y and G they took 11 % of a forward + backward of
case (c) of docs/kernels.md.

The col2im ∂x computes, per sample, one L2-sized block of columns at a time and adds it into ∂x
at once, so no conv allocates more than a few block-sized buffers per thread. The create_graph
path (double backward) keeps im2col/col2im as differentiable ops on the whole batch.
Everything stays in the input's dtype (no float64 detour for float32).
"""
import numpy as np

from .. import _ops
from ..autograd import Function
from ..tensor import Tensor
from ._common import mT
from .linalg import MatMul
from .shape import IndexAdd

__all__ = ["conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


# ---------------------------------------------------------------- shapes

def _as_4d(x_shape, spatial):
    """The NCHW shape of an (N, C, *spatial) or unbatched (C, *spatial) input, for 1 or 2 spatial dims."""
    if len(x_shape) == spatial + 1:
        x_shape = (1,) + tuple(x_shape)
    return tuple(x_shape[:2]) + (1,) * (2 - spatial) + tuple(x_shape[2:])


class _ConvPlan:
    """Geometry of one convolution."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups):
        self.N, self.C, self.H, self.W = x_shape
        self.Cout, cin_g, self.KH, self.KW = w_shape
        self.groups, self.stride, self.padding, self.dilation = groups, stride, padding, dilation
        self.OH, self.OW = _ops.conv_output_size((self.H, self.W), (self.KH, self.KW), stride, padding,
                                                 dilation)
        self.OHW = self.OH * self.OW
        self.ckk_g = cin_g * self.KH * self.KW        # rows of cols per group
        self.ckk = self.ckk_g * groups
        self.cout_g = self.Cout // groups

    def per_sample(self, cols, n):
        """The (rows, n·OH·OW) column matrix of n samples as n matrices (n, rows, OH·OW): a view."""
        return cols.reshape(cols.shape[0], n, self.OHW).transpose(1, 0, 2)


# ---------------------------------------------------------------- convolution

# ∂x at stride 1 is a transposed convolution (one implicit GEMM: C/groups rows, Cout/groups·KH·KW
# deep) rather than col2im(Wᵀ·G) per sample (_ops.conv2d_backward_input; its GEMM is Cout/groups
# deep) from TRANSPOSED_MIN_CHANNELS input channels per group, or from as many input as output
# channels per group (and at least TRANSPOSED_MIN_ROWS, one register tile of rows).
# 1-thread CPU time on Zen 4 (docs/kernels.md), transposed / col2im, C -> Cout: 8 -> 8 and
# 16 -> 16 0.76, 32 -> 32 0.86-0.92, 48 -> 32 0.85, 64 -> 64 0.92, 128 -> 128 0.90; but 16 -> 32
# 0.96, 32 -> 64 (case (b)) 1.00-1.05, 16 -> 64 1.14, 3 -> 32 (c) about 2.
TRANSPOSED_MIN_CHANNELS = 64
TRANSPOSED_MIN_ROWS = 8

# Winograd F(2×2, 3×3) for the forward, ∂W and ∂x of 3 x 3, stride-1 convolutions (module
# docstring). Set False for the implicit GEMM everywhere (its results are then those of earlier
# versions).
WINOGRAD = True
# Input and output channels from which Winograd is used. 1-thread CPU time on Zen 4, Winograd /
# implicit GEMM (N = 64, 3 x 3, padding 1): 32 -> 64 channels at 14 x 14 (case (b)'s forward)
# 0.79, 64 -> 32 (its ∂x) 0.75, 64 -> 64 0.68, 128 -> 128 at 7 x 7 0.65; 16 -> 32 at 28 x 28 1.17,
# 8 -> 16 1.37 (the 16 products are too thin to pay for the transforms). ∂W (+ ∂b), the same way:
# 32 -> 64 at 14 x 14 0.67, 64 -> 64 0.68, 128 -> 128 at 7 x 7 0.85, 32 -> 32 at 28 x 28 0.72,
# 16 -> 32 0.91, 8 -> 16 0.97: one limit for all three.
WINOGRAD_MIN_CHANNELS = 32


def _winograd(p, cin, cout):
    """Whether a convolution of plan p, with cin input and cout output channels, goes to Winograd."""
    return WINOGRAD and (p.KH, p.KW) == (3, 3) and p.stride == (1, 1) and p.dilation == (1, 1) \
        and p.groups == 1 and min(cin, cout) >= WINOGRAD_MIN_CHANNELS


def _input_grad(g4, weight, p):
    """∂x of the upstream gradient g4 (N, Cout, OH, OW).

    At stride 1 with enough input channels (TRANSPOSED_MIN_CHANNELS, or as many as output
    channels), or where Winograd takes it: the convolution of G with the weights flipped in space
    and their channels swapped per group, padded by d·(k − 1) − p (∂x[c, h] =
    Σ_{o, i} G[o, h + p − i·d]·W[o, c, i], and i' = k − 1 − i turns that into the forward's
    window pattern), one implicit GEMM without a column matrix. Otherwise col2im(Wᵀ·G), per
    sample and block of pixels (_ops.conv2d_backward_input).
    """
    (pt, pb, pl, pr), span = p.padding, (p.dilation[0] * (p.KH - 1), p.dilation[1] * (p.KW - 1))
    winograd = _winograd(p, p.Cout, p.C)
    c_g = p.C // p.groups
    if p.stride == (1, 1) and max(pt, pb) <= span[0] and max(pl, pr) <= span[1] \
            and (winograd or c_g >= max(TRANSPOSED_MIN_ROWS, min(TRANSPOSED_MIN_CHANNELS, p.cout_g))):
        wt = weight.reshape(p.groups, p.cout_g, c_g, p.KH, p.KW)[:, :, :, ::-1, ::-1]
        wt = np.ascontiguousarray(wt.transpose(0, 2, 1, 3, 4)).reshape(p.C, p.cout_g, p.KH, p.KW)
        pads = (span[0] - pt, span[0] - pb, span[1] - pl, span[1] - pr)
        if winograd:
            return _ops.conv2d_winograd(g4, wt, pads)
        return _ops.conv2d_forward(g4, wt, 1, pads, p.dilation, p.groups)
    return _ops.conv2d_backward_input(g4, weight, (p.N, p.C, p.H, p.W), p.stride, p.padding, p.dilation,
                                      p.groups)


class ConvNd(Function):
    """y = W ⋆ x + b (cross-correlation, PyTorch's conv) for 1 or 2 spatial dims, by implicit GEMM;
    ∂W = Σ_n G_n·cols_nᵀ (implicit GEMM too), ∂x = a transposed convolution of G (implicit GEMM)
    or col2im(Wᵀ·G) per sample (_input_grad); ∂b = Σ G. Where _winograd holds, the forward, ∂W
    (with ∂b) and ∂x run by Winograd F(2×2, 3×3) instead (module docstring)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        spatial = weight.ndim - 2
        x_shape = x.shape
        ctx.shapes = x_shape, weight.shape
        x = np.ascontiguousarray(x).reshape(_as_4d(x.shape, spatial))
        weight = np.ascontiguousarray(weight).reshape(_as_4d(weight.shape, spatial))
        p = _ConvPlan(x.shape, weight.shape, stride, padding, dilation, groups)
        ctx.save_for_backward(x, weight)
        ctx.plan = p
        if _winograd(p, p.C, p.Cout):
            y = _ops.conv2d_winograd(x, weight, padding, bias)
        else:
            y = _ops.conv2d_forward(x, weight, stride, padding, dilation, groups, bias)
        out_shape = (p.N, p.Cout) + ((p.OH, p.OW) if spatial == 2 else (p.OW,))
        return y.reshape(out_shape if len(x_shape) == spatial + 2 else out_shape[1:])

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        p = ctx.plan
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g4 = np.ascontiguousarray(grad_out).reshape(p.N, p.Cout, p.OH, p.OW)
        gx = gw = gb = None
        if need_w:
            if _winograd(p, p.C, p.Cout):
                gw = _ops.conv2d_winograd_backward_weight(g4, x, p.padding, bool(need_b))
            else:
                gw = _ops.conv2d_backward_weight(g4, x, weight.shape, p.stride, p.padding, p.dilation,
                                                 p.groups, bool(need_b))
            if need_b:
                gw, gb = gw
        elif need_b:
            gb = g4.sum(axis=(0, 2, 3))
        if need_x:
            gx = _input_grad(g4, weight, p)
        x_shape, w_shape = ctx.shapes
        return (None if gx is None else gx.reshape(x_shape), None if gw is None else gw.reshape(w_shape),
                gb, None, None, None, None)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        # The same products as backward, on the whole batch, with differentiable ops: ∂x is col2im of
        # Wᵀ·G (a transposed convolution), ∂W = Σ_n G_n·cols_nᵀ, and im2col/col2im are each other's adjoint.
        x, weight = ctx.saved_tensors
        p = ctx.plan
        x_shape, w_shape = ctx.shapes
        need = ctx.needs_input_grad
        g = grad_out.reshape(p.N, p.groups, p.cout_g, p.OHW)
        grad_x = grad_w = grad_b = None
        if need[0]:
            w = ctx.graph_input(1, weight).reshape(p.groups, p.cout_g, p.ckk_g)
            dcols = MatMul.apply(mT(w), g).reshape(p.N, p.ckk, p.OHW)
            grad_x = Col2Im.apply(dcols, p).reshape(x_shape)
        if need[1]:
            cols = Im2Col.apply(ctx.graph_input(0, x).reshape(x.shape), p).reshape(p.N, p.groups, p.ckk_g, p.OHW)
            grad_w = MatMul.apply(g, mT(cols)).sum(0).reshape(w_shape)
        if need[2]:
            grad_b = g.sum((0, 3)).reshape(p.Cout)
        return grad_x, grad_w, grad_b, None, None, None, None


class Im2Col(Function):
    """cols = the sliding windows of x (N, C, H, W), as (N, C·KH·KW, OH·OW) (create_graph only);
    ∂L/∂x = col2im(grad_out): every window entry added back where it came from."""

    @staticmethod
    def forward(ctx, x, plan):
        ctx.plan = plan
        return _im2col_batch(x, plan)

    @staticmethod
    def backward(ctx, grad_out):
        return _col2im_batch(grad_out, ctx.plan), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return Col2Im.apply(grad_out, ctx.plan), None


class Col2Im(Function):
    """x = col2im(cols), the adjoint of im2col (create_graph only);  ∂L/∂cols = im2col(grad_out)."""

    @staticmethod
    def forward(ctx, cols, plan):
        ctx.plan = plan
        return _col2im_batch(cols, plan)

    @staticmethod
    def backward(ctx, grad_out):
        return _im2col_batch(grad_out, ctx.plan), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return Im2Col.apply(grad_out, ctx.plan), None


def _im2col_batch(x, p):
    """(N, C·KH·KW, OH·OW) columns of the whole batch."""
    cols = _ops.im2col(np.ascontiguousarray(x), (p.KH, p.KW), p.stride, p.padding, p.dilation)
    return p.per_sample(cols, p.N)


def _col2im_batch(cols, p):
    cols = np.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(p.ckk, p.N * p.OHW)
    return _ops.col2im(cols, (p.N, p.C, p.H, p.W), (p.KH, p.KW), p.stride, p.padding, p.dilation)


def _tuple(name, value, n):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, (int, np.integer)) for v in value):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in value)


def _conv(name, spatial, input, weight, bias, stride, padding, dilation, groups):
    """Validate like PyTorch and normalise the geometry to 2-D; then apply ConvNd."""
    if weight.ndim != spatial + 2:
        raise RuntimeError(f"{name}: expected weight to be {spatial + 2}-D, got {weight.ndim}-D of shape {tuple(weight.shape)}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, "
                           f"but got input of size: {list(input.shape)}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    stride, dilation = _tuple("stride", stride, spatial), _tuple("dilation", dilation, spatial)
    if min(stride) < 1:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) < 1:
        raise RuntimeError("dilation should be greater than zero")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * spatial
        elif padding == "same":
            if max(stride) != 1:
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # PyTorch puts the odd pixel of an even dilated kernel at the bottom/right
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    else:
        pads = [(p, p) for p in _tuple("padding", padding, spatial)]
        if min(min(p) for p in pads) < 0:
            raise RuntimeError("negative padding is not supported")
    channels = input.shape[-spatial - 1]
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if channels != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got "
                           f"{channels} channels instead")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")
    dtypes = {input.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1 or input.dtype.kind != "f":
        raise RuntimeError(f"{name}: input, weight and bias must have the same floating dtype, got "
                           f"{', '.join(str(d) for d in dtypes)}")
    padded = [s + a + b for s, (a, b) in zip(input.shape[-spatial:], pads)]
    if any(p < d * (k - 1) + 1 for p, k, d in zip(padded, kernel, dilation)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(str(d * (k - 1) + 1) for k, d in zip(kernel, dilation))}). "
                           "Kernel size can't be greater than actual input size")
    if spatial == 1:  # a 1-D conv is a 2-D conv over a height-1 image
        stride, dilation, pads = (1,) + stride, (1,) + dilation, [(0, 0)] + pads
    padding4 = pads[0] + pads[1]  # (top, bottom, left, right)
    return ConvNd.apply(input, weight, bias, stride, padding4, dilation, int(groups))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of input (N, Cin, H, W) or (Cin, H, W) with weight
    (Cout, Cin/groups, KH, KW); ``padding`` an int, a pair, 'valid' or 'same'. PyTorch semantics."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of input (N, Cin, L) or (Cin, L) with weight (Cout, Cin/groups, K)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------- pooling

def _pool_input(name, input):
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{name}: Expected 3D or 4D (batch mode) tensor for input, got {list(input.shape)}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}")


class MaxPool2d(Function):
    """y = max over each window;  ∂x: each G goes to the position of its window's maximum (summed).
    ``indices`` (a list or None) receives a copy of the argmax positions for the caller."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode, indices):
        ctx.x_shape = x.shape
        # no gradient to route (inference, or x is a constant): the kernel need not find the argmax
        y, idx = _ops.max_pool2d_forward(x.reshape(_as_4d(x.shape, 2)), kernel_size, stride, padding,
                                         dilation, ceil_mode, ctx.needs_input_grad[0] or indices is not None)
        ctx.save_for_backward(idx)
        if indices is not None:  # a copy: writing into the user's indices must not change backward
            indices.append(idx.copy() if x.ndim == 4 else idx[0].copy())
        return y if x.ndim == 4 else y[0]

    @staticmethod
    def backward(ctx, grad_out):
        (idx,) = ctx.saved_tensors
        gx = _ops.max_pool2d_backward(grad_out.reshape(idx.shape), idx, _as_4d(ctx.x_shape, 2))
        return gx.reshape(ctx.x_shape), None, None, None, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        (idx,) = ctx.saved_tensors
        N, C, H, W = _as_4d(ctx.x_shape, 2)
        planes = (np.arange(N)[:, None, None], np.arange(C)[None, :, None], idx.reshape(N, C, -1))
        gx = IndexAdd.apply(grad_out.reshape(N, C, -1), (N, C, H * W), planes, False)
        return gx.reshape(ctx.x_shape), None, None, None, None, None, None


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling (stride defaults to kernel_size); ties pick the first maximum, NaN wins.

    With ``return_indices`` also returns, as PyTorch does, the int64 position of each maximum in its
    input plane, flattened: ih·W + iw.
    """
    _pool_input("max_pool2d", input)
    indices = [] if return_indices else None
    y = MaxPool2d.apply(input, kernel_size, stride, padding, dilation, ceil_mode, indices)
    return (y, Tensor._wrap(indices[0])) if return_indices else y


class AvgPool2d(Function):
    """y = Σ window / divisor;  ∂x: each G / divisor spread over its window (overlaps summed)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        ctx.x_shape = x.shape
        ctx.args = args = kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        y = _ops.avg_pool2d_forward(x.reshape(_as_4d(x.shape, 2)), *args)
        return y if x.ndim == 4 else y[0]

    @staticmethod
    def backward(ctx, grad_out):
        x4 = _as_4d(ctx.x_shape, 2)
        gx = _ops.avg_pool2d_backward(grad_out.reshape(x4[:2] + grad_out.shape[-2:]), x4, *ctx.args)
        return gx.reshape(ctx.x_shape), None, None, None, None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x4 = _as_4d(ctx.x_shape, 2)
        gx = AvgPool2dBackward.apply(grad_out.reshape(x4[:2] + grad_out.shape[-2:]), x4, ctx.args)
        return gx.reshape(ctx.x_shape), None, None, None, None, None, None


class AvgPool2dBackward(Function):
    """gx = what avg_pool2d's backward computes from its grad_out g: each g / divisor spread over its
    window, the adjoint of average pooling (create_graph only);  ∂L/∂g = avg_pool2d(grad_out)."""

    @staticmethod
    def forward(ctx, g, x_shape, args):
        ctx.args = args
        return _ops.avg_pool2d_backward(g, x_shape, *args)

    @staticmethod
    def backward(ctx, grad_out):
        return _ops.avg_pool2d_forward(grad_out, *ctx.args), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return AvgPool2d.apply(grad_out, *ctx.args), None, None


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling (stride defaults to kernel_size), PyTorch's divisor rules."""
    _pool_input("avg_pool2d", input)
    return AvgPool2d.apply(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                           divisor_override)


def adaptive_bounds(size, out):
    """PyTorch's adaptive windows: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉) for i < out."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_mean(x, bounds):
    (h0, h1), (w0, w1) = bounds
    y = np.empty(x.shape[:-2] + (len(h0), len(w0)), dtype=x.dtype)
    for i in range(len(h0)):  # windows of unequal size: one slice mean each (output is small)
        for j in range(len(w0)):
            y[..., i, j] = x[..., h0[i]:h1[i], w0[j]:w1[j]].mean(axis=(-2, -1))
    return y


def _adaptive_spread(grad_out, bounds, x_shape):
    """The adjoint of ``_adaptive_mean``: each gradient / window area spread over its window."""
    (h0, h1), (w0, w1) = bounds
    g = grad_out / ((h1 - h0)[:, None] * (w1 - w0)).astype(grad_out.dtype)
    gx = np.zeros(x_shape, dtype=grad_out.dtype)
    for i in range(len(h0)):
        for j in range(len(w0)):
            gx[..., h0[i]:h1[i], w0[j]:w1[j]] += g[..., i, j, None, None]
    return gx


class AdaptiveAvgPool2d(Function):
    """y[..., i, j] = mean of x over the adaptive window (i, j);  ∂x: G / area spread over it."""

    @staticmethod
    def forward(ctx, x, output_size):
        ctx.x_shape = x.shape
        H, W = x.shape[-2:]
        ctx.bounds = bounds = adaptive_bounds(H, output_size[0]), adaptive_bounds(W, output_size[1])
        return _adaptive_mean(x, bounds)

    @staticmethod
    def backward(ctx, grad_out):
        return _adaptive_spread(grad_out, ctx.bounds, ctx.x_shape), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return AdaptiveAvgPool2dBackward.apply(grad_out, ctx.x_shape, ctx.bounds), None


class AdaptiveAvgPool2dBackward(Function):
    """gx = each g / window area spread over its adaptive window, the adjoint of adaptive average
    pooling (create_graph only);  ∂L/∂g = the window means of grad_out."""

    @staticmethod
    def forward(ctx, g, x_shape, bounds):
        ctx.bounds = bounds
        return _adaptive_spread(g, bounds, x_shape)

    @staticmethod
    def backward(ctx, grad_out):
        return _adaptive_mean(grad_out, ctx.bounds), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return AdaptiveAvgPool2d.apply(grad_out, tuple(len(b[0]) for b in ctx.bounds)), None, None


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (an int or a pair; None keeps that input size)."""
    _pool_input("adaptive_avg_pool2d", input)
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    H, W = input.shape[-2:]
    oh, ow = (H if output_size[0] is None else int(output_size[0]), W if output_size[1] is None else int(output_size[1]))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    if H % oh == 0 and W % ow == 0:  # equal windows: the compiled average pooling does it
        return AvgPool2d.apply(input, (H // oh, W // ow), (H // oh, W // ow), 0, False, True, None)
    return AdaptiveAvgPool2d.apply(input, (oh, ow))

"""Validation of every kernel's arguments, in one place: the doors in ``_ops/__init__.py`` call these
before entering a kernel, so compiled code only ever sees arrays it can handle.

A kernel whose arguments are all float arrays declares them with :class:`Float` in the registry, and
its door, its crash cases and its differential fuzz are generated from that. The others have a
validator here, named after the kernel: it takes the door's arguments, raises TypeError/ValueError
naming the argument at fault and the value it expected, and returns the arguments of the kernel
itself (the compiled module's function and its numpy twin in ``reference.py`` share them).
"""
import functools
import math

import numpy as np

# The dtypes every kernel and every gradient-carrying Tensor holds.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT32, _FLOAT64 = FLOAT_DTYPES


def check_float(name, x):
    """``x`` as a C-contiguous float32/float64 ndarray, or a TypeError naming ``name``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {x.dtype}")
    return np.asarray(x, order="C")  # not ascontiguousarray: that turns a 0-d array into 1-d


def check_dtype(name, x, ref_name, dtype):
    """``x`` validated by check_float and of ``dtype`` (the dtype of ``ref_name``), or a TypeError."""
    x = check_float(name, x)
    if x.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (the dtype of {ref_name}), got {x.dtype}")
    return x


def check_same(name, x, ref_name, ref):
    """``x`` validated like ``ref``: same dtype and shape, or an error naming both."""
    x = check_dtype(name, x, ref_name, ref.dtype)
    if x.shape != ref.shape:
        raise ValueError(f"{name}: expected shape {ref.shape} (the shape of {ref_name}), got {x.shape}")
    return x


class Float:
    """A float array argument of a kernel: float32 or float64, made C-contiguous; with ``like``, of
    the same dtype and shape as that (earlier validated) argument, e.g. ``Float("grad_out", like="x")``."""

    __slots__ = ("name", "like")

    def __init__(self, name, like=None):
        self.name, self.like = name, like

    def __repr__(self):
        return f"Float({self.name!r}" + (f", like={self.like!r})" if self.like else ")")


# ---------------------------------------------------------------- GEMM

def _check_operands(name, a, b):
    """a and b: ndarrays of one float dtype, or a TypeError naming the culprit."""
    for arg, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name}: {arg} must be a numpy.ndarray, got {type(x).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: a: expected dtype float32 or float64, got {a.dtype}")
    if b.dtype != a.dtype:
        raise TypeError(f"{name}: b: expected dtype {a.dtype} (the dtype of a), got {b.dtype}")


def gemm(a, b, alpha=1.0, beta=0.0, out=None, bias=None):
    """C = α·A·B + β·out (+ bias in every row) for A (M, K), B (K, N), bias (N,); returns out
    (written in place) or a new array.

    A and B may have any strides (transposed views, slices, read-only): no copy is made for them.
    out must be a writeable C-contiguous array of A's dtype and shape (M, N); with β = 0 it is not
    read (BLAS semantics), without out β is ignored. bias (A's dtype) is added to each tile of C
    as the kernel writes it: F.linear's y = x·Wᵀ + b in one pass over y.
    """
    # Fast path for the common calls (two 2-D arrays of one native float dtype, and no out or a plain
    # C-contiguous one, and no bias or a plain one, as F.linear passes): the full checks below cost
    # ~1.3 µs on Zen 3, 5 % of a 100 x 100 x 100 product, ~2.8 µs with out on Zen 4 (1.4 µs of them
    # left here for the overlap checks). (Builtin dtypes are singletons, so `is` is exact here;
    # anything unusual takes the checked path.)
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2
            and b.ndim == 2 and a.shape[1] == b.shape[0] and a.dtype is b.dtype
            and (a.dtype is _FLOAT32 or a.dtype is _FLOAT64)
            and (bias is None or (type(bias) is np.ndarray and bias.dtype is a.dtype
                                  and bias.shape == (b.shape[1],) and bias.flags.c_contiguous))):
        if out is None:
            return a, b, float(alpha), float(beta), None, bias
        if (type(out) is np.ndarray and out.dtype is a.dtype and out.shape == (a.shape[0], b.shape[1])
                and out.flags.c_contiguous and out.flags.writeable
                and not np.may_share_memory(out, a) and not np.may_share_memory(out, b)
                and (bias is None or not np.may_share_memory(out, bias))):
            return a, b, float(alpha), float(beta), out, bias
    _check_operands("gemm", a, b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"gemm: shapes {a.shape} and {b.shape} cannot be multiplied "
                         "(expected (M, K) and (K, N))")
    out = _check_out(out, (a.shape[0], b.shape[1]), a.dtype)
    # The kernel writes out while it still reads A and B: an overlap would read partial results.
    if out is not None and (np.may_share_memory(out, a) or np.may_share_memory(out, b)):
        raise ValueError("out: must not overlap a or b (the product is written while they are read)")
    if bias is not None:
        bias = check_dtype("bias", bias, "a", a.dtype)
        if bias.shape != (b.shape[1],):
            raise ValueError(f"bias: expected shape ({b.shape[1]},) (the columns of b), got {bias.shape}")
        if out is not None and np.may_share_memory(out, bias):
            raise ValueError("out: must not overlap bias (the product is written while it is read)")
    return a, b, float(alpha), float(beta), out, bias


def matmul(a, b, out=None):
    """Batched A @ B: (..., M, K) @ (..., K, N) with the leading dims broadcast, like numpy.

    out: optional writeable array of the result's shape and dtype whose last axis is contiguous;
    its other strides are free (e.g. a transposed view of a buffer), and it must not overlap a or b.
    """
    _check_operands("matmul", a, b)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                         "(expected (..., M, K) and (..., K, N))")
    if a.ndim == 2 and b.ndim == 2 and out is None:
        return a, b, None
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dims {a.shape[:-2]} and {b.shape[:-2]} cannot be broadcast "
                         f"(shapes {a.shape} and {b.shape})") from None
    shape = batch + (a.shape[-2], b.shape[-1])
    if out is not None:
        if (not isinstance(out, np.ndarray) or out.dtype != a.dtype or out.shape != shape
                or not out.flags.writeable or (shape[-1] > 1 and out.strides[-1] != out.itemsize)):
            raise ValueError(f"out: expected a writeable {a.dtype} array of shape {shape} with a "
                             f"contiguous last axis, got {getattr(out, 'dtype', type(out).__name__)} "
                             f"{getattr(out, 'shape', '')}")
        if np.may_share_memory(out, a) or np.may_share_memory(out, b):
            raise ValueError("out: must not overlap a or b (the product is written while they are read)")
    return a, b, out


# ---------------------------------------------------------------- im2col / col2im, pooling

def _ints(name, value, n, minimum):
    """``value`` (an int or a sequence of ``n`` ints, each >= minimum) as a tuple of n ints."""
    # Fast path first: conv calls these doors once per batch block, so validation must cost ~1 µs.
    if type(value) is tuple and len(value) == n and all(type(v) is int for v in value) and min(value) >= minimum:
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * n
    if (not isinstance(value, (tuple, list)) or len(value) != n
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name}: expected an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in value):
        raise ValueError(f"{name}: expected values >= {minimum}, got {tuple(value)}")
    return tuple(int(v) for v in value)


def conv_padding(padding):
    """Conv padding as (top, bottom, left, right) from an int, a pair (ph, pw) or a 4-tuple."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return _ints("padding", padding, 4, 0)
    ph, pw = _ints("padding", padding, 2, 0)
    return ph, ph, pw, pw


def conv_output_size(input_hw, kernel_size, stride, padding, dilation):
    """(OH, OW) of a convolution: ⌊(H + top + bottom − DH·(KH − 1) − 1) / SH⌋ + 1 per axis."""
    (H, W), (KH, KW), (SH, SW), (pt, pb, pl, pr), (DH, DW) = input_hw, kernel_size, stride, padding, dilation
    return (H + pt + pb - DH * (KH - 1) - 1) // SH + 1, (W + pl + pr - DW * (KW - 1) - 1) // SW + 1


def _check_nchw(name, x):
    x = check_float(name, x)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D (N, C, H, W) array, got shape {x.shape}")
    return x


def _check_out(out, shape, dtype):
    """A caller-supplied output buffer must be exactly right: it is written, never copied."""
    if out is None:
        return None
    if not isinstance(out, np.ndarray) or out.dtype != dtype or out.shape != tuple(shape):
        raise ValueError(f"out: expected a {np.dtype(dtype)} array of shape {tuple(shape)}, got "
                         f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: expected a writeable C-contiguous array")
    return out


def _conv_geometry(caller, input_shape, kernel_size, stride, padding, dilation):
    """Validated (kernel, stride, (top, left) padding, dilation, output size). Cached: every call of a
    conv door validates the same geometry again, and validation costs more than a small call's
    kernel. ``caller``: (the door, its input argument, its kernel argument), named in the error when
    the dilated kernel does not fit the padded input; it is no part of the cache key, so the doors
    share their entries."""
    key = (tuple(input_shape), kernel_size, stride, padding, dilation)
    try:
        hash(key)
    except TypeError:  # lists among the arguments: validate without the cache
        geometry = _conv_geometry_uncached(*key)
    else:
        geometry = _conv_geometry_cached(*key)
    out_hw = geometry[4]
    if out_hw[0] < 1 or out_hw[1] < 1:
        _raise_kernel_too_large(caller, input_shape, geometry[0], conv_padding(padding), geometry[3], out_hw)
    return geometry


def _conv_geometry_uncached(input_shape, kernel_size, stride, padding, dilation):
    kernel_size = _ints("kernel_size", kernel_size, 2, 1)
    stride = _ints("stride", stride, 2, 1)
    dilation = _ints("dilation", dilation, 2, 1)
    padding = conv_padding(padding)
    out_hw = conv_output_size(input_shape[2:], kernel_size, stride, padding, dilation)
    return kernel_size, stride, (padding[0], padding[2]), dilation, out_hw


_conv_geometry_cached = functools.lru_cache(maxsize=256)(_conv_geometry_uncached)


def _raise_kernel_too_large(caller, input_shape, kernel_size, padding, dilation, out_hw):
    door, input_arg, kernel_arg = caller
    (H, W), (pt, pb, pl, pr) = input_shape[2:], padding
    dilated = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    raise ValueError(f"{door}: calculated padded input size per channel ({H + pt + pb} x {W + pl + pr}) is "
                     f"smaller than the dilated kernel ({dilated[0]} x {dilated[1]}): {input_arg} {H} x {W} "
                     f"with padding {padding}, {kernel_arg} {kernel_size} with dilation {dilation}; "
                     f"output size {out_hw}")


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, out=None):
    """The column matrix (C·KH·KW, N·OH·OW) of x (N, C, H, W); layout in ``_ops/im2col.pyx``.

    ``padding``: int, (ph, pw) or (top, bottom, left, right). ``out``: optional buffer to fill.
    """
    x = _check_nchw("x", x)
    N, C = x.shape[:2]
    k, s, p, d, o = _conv_geometry(("im2col", "x", "kernel_size"), x.shape, kernel_size, stride, padding, dilation)
    out = _check_out(out, (C * k[0] * k[1], N * o[0] * o[1]), x.dtype)
    return x, k, s, p, d, o, out


def col2im(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1, out=None):
    """The adjoint of ``im2col``: x (input_shape) with every column entry added back where it came from."""
    input_shape = _ints("input_shape", input_shape, 4, 0)
    N, C = input_shape[:2]
    cols = check_float("cols", cols)
    k, s, p, d, o = _conv_geometry(("col2im", "input_shape", "kernel_size"), input_shape, kernel_size, stride,
                                   padding, dilation)
    expected = (C * k[0] * k[1], N * o[0] * o[1])
    if cols.shape != expected:
        raise ValueError(f"cols: expected shape {expected} for input {input_shape}, got {cols.shape}")
    out = _check_out(out, input_shape, cols.dtype)
    return cols, input_shape, k, s, p, d, o, out


def _check_groups(groups, channels, out_channels):
    """groups as an int >= 1 dividing both channel counts, or an error naming it."""
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool):
        raise TypeError(f"groups: expected an int, got {groups!r}")
    if groups < 1 or channels % groups or out_channels % groups:
        raise ValueError(f"groups: expected a positive divisor of the input channels ({channels}) and of "
                         f"the output channels ({out_channels}), got {groups}")
    return int(groups)


# The implicit-GEMM conv doors (forward, ∂W, ∂x) share these checks of their operands.

def _check_plane(name, shape):
    """Planes the implicit GEMM's int32 tap table can index."""
    if shape[2] * shape[3] >= 2**31:
        raise ValueError(f"{name}: expected planes of fewer than 2**31 pixels, got {shape[2]} x {shape[3]}")


def _check_conv_input(x):
    """x as for im2col, with indexable planes (checked before any contiguous copy is made)."""
    if isinstance(x, np.ndarray) and x.ndim == 4:
        _check_plane("x", x.shape)
    return _check_nchw("x", x)


def _check_weight_shape(name, shape):
    """A conv weight shape: 4-D, with a kernel of at least 1 x 1."""
    if len(shape) != 4 or shape[2] < 1 or shape[3] < 1:
        raise ValueError(f"{name}: expected a 4-D shape (Cout, C / groups, KH, KW) with KH, KW >= 1, "
                         f"got {shape}")


def _check_conv_channels(name, weight_shape, input_name, input_shape, groups):
    """groups, checked against both channel counts, and weight_shape's input channels per group."""
    C = input_shape[1]
    groups = _check_groups(groups, C, weight_shape[0])
    if weight_shape[1] * groups != C:
        raise ValueError(f"{name}: expected {C // groups} input channels per group ({input_name} has {C} "
                         f"channels, groups={groups}), got shape {weight_shape}")
    return groups


def _check_conv_grad_out(grad_out, ref_name, dtype, shape):
    """grad_out (N, Cout, OH, OW) of the forward's output shape, in the dtype of ``ref_name``."""
    grad_out = check_dtype("grad_out", grad_out, ref_name, dtype)
    if grad_out.shape != shape:
        raise ValueError(f"grad_out: expected shape {shape}, got {grad_out.shape}")
    return grad_out


def conv2d_forward(x, weight, stride=1, padding=0, dilation=1, groups=1, bias=None):
    """y (N, Cout, OH, OW): x (N, C, H, W) convolved (cross-correlated) with weight
    (Cout, C / groups, KH, KW), plus bias (Cout,) when given: PyTorch's conv2d. ``padding``: int,
    (ph, pw) or (top, bottom, left, right)."""
    return _check_forward("conv2d_forward", x, weight, stride, padding, dilation, groups, bias)


def _check_forward(door, x, weight, stride, padding, dilation, groups, bias):
    """The checks of conv2d_forward, for the door named ``door`` (conv2d_forward or conv2d_winograd)."""
    x = _check_conv_input(x)
    weight = check_dtype("weight", weight, "x", x.dtype)
    _check_weight_shape("weight", weight.shape)
    groups = _check_conv_channels("weight", weight.shape, "x", x.shape, groups)
    k, s, p, d, o = _conv_geometry((door, "x", "weight's kernel"), x.shape, weight.shape[2:], stride, padding,
                                   dilation)
    if bias is not None:
        bias = check_dtype("bias", bias, "x", x.dtype)
        if bias.shape != weight.shape[:1]:
            raise ValueError(f"bias: expected shape {weight.shape[:1]} (the output channels), got {bias.shape}")
    return x, weight, s, p, d, o, groups, bias


def conv2d_winograd(x, weight, padding=0, bias=None):
    """conv2d_forward(x, weight, 1, padding, 1, 1, bias) for a 3 x 3 weight (Cout, C, 3, 3), by
    Winograd F(2×2, 3×3); ``padding``: int, (ph, pw) or (top, bottom, left, right)."""
    if isinstance(weight, np.ndarray) and weight.ndim == 4 and weight.shape[2:] != (3, 3):
        raise ValueError(f"weight: expected a 3 x 3 kernel (Cout, C, 3, 3), got shape {weight.shape}")
    x, weight, s, p, d, o, groups, bias = _check_forward("conv2d_winograd", x, weight, 1, padding, 1, 1, bias)
    return x, weight, p, o, bias


def conv2d_winograd_backward_weight(grad_out, x, padding=0, grad_bias=False):
    """conv2d_backward_weight(grad_out, x, (Cout, C, 3, 3), 1, padding, 1, 1, grad_bias) by Winograd
    F(2×2, 3×3): ∂W (Cout, C, 3, 3) of conv2d_winograd(x, W, padding) for the upstream gradient
    grad_out (N, Cout, OH, OW); with ``grad_bias`` the pair (∂W, ∂b)."""
    if not isinstance(grad_bias, (bool, np.bool_)):
        raise TypeError(f"grad_bias: expected a bool, got {grad_bias!r}")
    x = _check_conv_input(x)
    k, s, p, d, o = _conv_geometry(("conv2d_winograd_backward_weight", "x", "the 3 x 3 kernel"), x.shape, 3, 1,
                                   padding, 1)
    grad_out = check_dtype("grad_out", grad_out, "x", x.dtype)
    if grad_out.ndim != 4 or grad_out.shape != (x.shape[0], grad_out.shape[1]) + o:
        raise ValueError(f"grad_out: expected shape (N, Cout, OH, OW) = {(x.shape[0], 'Cout') + o}, got "
                         f"{grad_out.shape}")
    return grad_out, x, p, o, bool(grad_bias)


def conv2d_backward_weight(grad_out, x, weight_shape, stride=1, padding=0, dilation=1, groups=1,
                           grad_bias=False):
    """∂W (weight_shape) of conv2d_forward(x, W, ...) for the upstream gradient grad_out
    (N, Cout, OH, OW); with ``grad_bias`` the pair (∂W, ∂b), ∂b (Cout,) = Σ grad_out over N, OH, OW."""
    if not isinstance(grad_bias, (bool, np.bool_)):
        raise TypeError(f"grad_bias: expected a bool, got {grad_bias!r}")
    x = _check_conv_input(x)
    weight_shape = _ints("weight_shape", weight_shape, 4, 0)
    _check_weight_shape("weight_shape", weight_shape)
    groups = _check_conv_channels("weight_shape", weight_shape, "x", x.shape, groups)
    k, s, p, d, o = _conv_geometry(("conv2d_backward_weight", "x", "weight_shape's kernel"), x.shape,
                                   weight_shape[2:], stride, padding, dilation)
    grad_out = _check_conv_grad_out(grad_out, "x", x.dtype, (x.shape[0], weight_shape[0]) + o)
    return grad_out, x, weight_shape, s, p, d, o, groups, bool(grad_bias)


def conv2d_backward_input(grad_out, weight, input_shape, stride=1, padding=0, dilation=1, groups=1):
    """∂x (input_shape) of conv2d_forward(x, weight, ...) for the upstream gradient grad_out
    (N, Cout, OH, OW)."""
    input_shape = _ints("input_shape", input_shape, 4, 0)
    _check_plane("input_shape", input_shape)
    weight = check_float("weight", weight)
    _check_weight_shape("weight", weight.shape)
    groups = _check_conv_channels("weight", weight.shape, "input_shape", input_shape, groups)
    k, s, p, d, o = _conv_geometry(("conv2d_backward_input", "input_shape", "weight's kernel"), input_shape,
                                   weight.shape[2:], stride, padding, dilation)
    grad_out = _check_conv_grad_out(grad_out, "weight", weight.dtype, (input_shape[0], weight.shape[0]) + o)
    return grad_out, weight, input_shape, s, p, d, o, groups


def pool_output_size(input_hw, kernel_size, stride, padding, dilation, ceil_mode):
    """(OH, OW) of a pooling, PyTorch's rule: with ceil_mode the last window must start inside
    the input or its left/top padding."""
    sizes = []
    for size, k, s, p, d in zip(input_hw, kernel_size, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        sizes.append(o)
    return tuple(sizes)


def _pool_geometry(name, input_shape, kernel_size, stride, padding, dilation, ceil_mode):
    kernel_size = _ints("kernel_size", kernel_size, 2, 1)
    stride = kernel_size if stride is None or stride == () or stride == [] else _ints("stride", stride, 2, 1)
    padding = _ints("padding", padding, 2, 0)
    dilation = _ints("dilation", dilation, 2, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel_size)):
        raise ValueError(f"{name}: padding should be at most half of kernel size, got padding {padding} "
                         f"and kernel_size {kernel_size}")
    out_hw = pool_output_size(input_shape[2:], kernel_size, stride, padding, dilation, bool(ceil_mode))
    if min(out_hw) < 1:
        raise ValueError(f"{name}: input of size {tuple(input_shape[2:])} is too small for kernel_size "
                         f"{kernel_size}, padding {padding}, dilation {dilation}: output size {out_hw}")
    return kernel_size, stride, padding, dilation, out_hw


def _check_grad_out(grad_out, input_shape, out_hw):
    grad_out = check_float("grad_out", grad_out)
    expected = tuple(input_shape[:2]) + tuple(out_hw)
    if grad_out.shape != expected:
        raise ValueError(f"grad_out: expected shape {expected}, got {grad_out.shape}")
    return grad_out


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True):
    """(y, indices) of 2-D max pooling over x (N, C, H, W); indices are flat ih·W + iw (int64), or
    None when not ``return_indices`` (inference: the kernel then only takes maxima)."""
    x = _check_nchw("x", x)
    k, s, p, d, o = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    return x, k, s, p, d, o, bool(return_indices)


def max_pool2d_backward(grad_out, indices, input_shape):
    """grad_x (input_shape): grad_out scattered to the positions in ``indices`` (accumulated)."""
    input_shape = _ints("input_shape", input_shape, 4, 0)  # N or C = 0: an empty batch, as in forward
    grad_out = check_float("grad_out", grad_out)
    if grad_out.ndim != 4 or grad_out.shape[:2] != input_shape[:2]:
        raise ValueError(f"grad_out: expected shape (N, C, OH, OW) with N, C = {input_shape[:2]}, got {grad_out.shape}")
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64 or indices.shape != grad_out.shape:
        raise TypeError(f"indices: expected an int64 array of shape {grad_out.shape}, got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)} {getattr(indices, 'shape', '')}")
    return grad_out, np.ascontiguousarray(indices), input_shape


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    """2-D average pooling of x (N, C, H, W) with PyTorch's divisor rules."""
    x = _check_nchw("x", x)
    if divisor_override is not None:
        _ints("divisor_override", divisor_override, 1, 1)
    k, s, p, _, o = _pool_geometry("avg_pool2d", x.shape, kernel_size, stride, padding, 1, ceil_mode)
    return x, k, s, p, o, bool(count_include_pad), divisor_override


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """grad_x (input_shape) of ``avg_pool2d_forward`` with the same arguments."""
    input_shape = _ints("input_shape", input_shape, 4, 0)
    if divisor_override is not None:
        _ints("divisor_override", divisor_override, 1, 1)
    k, s, p, _, o = _pool_geometry("avg_pool2d", input_shape, kernel_size, stride, padding, 1, ceil_mode)
    grad_out = _check_grad_out(grad_out, input_shape, o)
    return grad_out, input_shape, k, s, p, bool(count_include_pad), divisor_override


# ---------------------------------------------------------------- batch normalization

def _check_bn_input(name, x, allow_empty=False):
    x = check_float(name, x)
    if x.ndim not in (2, 3):
        raise ValueError(f"{name}: expected a 2-D (N, C) or 3-D (N, C, L) array, got shape {x.shape}")
    if not allow_empty and x.size == 0:
        raise ValueError(f"{name}: expected at least one value per channel, got shape {x.shape}")
    return x


def _check_channels(name, v, x, optional=False):
    """``v`` as a (C,) vector of x's dtype (C = x.shape[1]); None passes through if ``optional``."""
    if v is None and optional:
        return None
    v = check_dtype(name, v, "x", x.dtype)
    if v.shape != (x.shape[1],):
        raise ValueError(f"{name}: expected shape ({x.shape[1]},) (the channels of x), got {v.shape}")
    return v


def batch_norm_forward_train(x, weight, bias, eps):
    """Training-mode batch norm of x (N, C) or (N, C, L) with batch statistics.

    Returns (y, mean, var, inv_std): μ_B, the biased σ²_B and 1/sqrt(σ²_B + eps) per channel, in
    x's dtype. weight (γ) and bias (β) are (C,) arrays or None. The running-statistics update
    (with the unbiased σ²_B·m/(m−1)) is the caller's job.
    """
    x = _check_bn_input("x", x)
    weight = _check_channels("weight", weight, x, optional=True)
    bias = _check_channels("bias", bias, x, optional=True)
    return x, weight, bias, _check_eps(eps)


def _check_eps(eps):
    if not isinstance(eps, (int, float, np.floating, np.integer)) or isinstance(eps, bool) \
            or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps: expected a finite number >= 0, got {eps!r}")
    return float(eps)


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps):
    """Eval-mode batch norm of x (N, C) or (N, C, L) with the running statistics: y = x·scale[c] +
    shift[c], scale = γ/sqrt(running_var + eps), shift = β − running_mean·scale, computed in float64
    and rounded once. weight (γ), bias (β): (C,) or None; running_mean, running_var: (C,); all in
    x's dtype."""
    x = _check_bn_input("x", x, allow_empty=True)
    return (x, _check_channels("weight", weight, x, optional=True), _check_channels("bias", bias, x, optional=True),
            _check_channels("running_mean", running_mean, x), _check_channels("running_var", running_var, x),
            _check_eps(eps))


def batch_norm_backward(grad_out, x, mean, inv_std, weight):
    """(grad_x, grad_weight, grad_bias) of ``batch_norm_forward_train``; mean and inv_std as it
    returned them, weight (C,) or None (γ = 1; grad_weight is still returned)."""
    x = _check_bn_input("x", x)
    grad_out = check_same("grad_out", grad_out, "x", x)
    return (grad_out, x, _check_channels("mean", mean, x), _check_channels("inv_std", inv_std, x),
            _check_channels("weight", weight, x, optional=True))


# ---------------------------------------------------------------- optimizer updates (in place)

def _check_inplace(name, x, param):
    """An array the update writes: param's dtype and shape and writeable (never copied)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != param.dtype or x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype {param.dtype} (the dtype of param; float32 or float64), got {x.dtype}")
    if x.shape != param.shape:
        raise ValueError(f"{name}: expected shape {param.shape} (the shape of param), got {x.shape}")
    if not x.flags.writeable:
        raise ValueError(f"{name}: expected a writeable array (it is updated in place)")


def sgd_step(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, first=False):
    """One SGD update of ``param`` in place (PyTorch's rule, see reference.sgd_step).

    ``momentum_buffer``: the momentum state b, updated in place (None when momentum is 0);
    ``first``: this is b's first step (b = g instead of μ·b + (1 − dampening)·g).
    """
    _check_inplace("param", param, param)
    grad = check_same("grad", grad, "param", param)
    if momentum != 0:
        if momentum_buffer is None:
            raise ValueError("momentum_buffer: required when momentum != 0")
        _check_inplace("momentum_buffer", momentum_buffer, param)
    return (param, grad, momentum_buffer if momentum != 0 else None, float(lr), float(momentum),
            float(dampening), float(weight_decay), bool(nesterov), bool(maximize), bool(first))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step,
              amsgrad=False, maximize=False, decoupled=False):
    """One Adam (or AdamW, ``decoupled=True``) update of ``param`` and its state in place, PyTorch's
    rule (see reference.adam_step); ``step`` ≥ 1 is this update's number, for the bias corrections.
    ``max_exp_avg_sq`` is required with amsgrad, else ignored."""
    for name, a in (("param", param), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
        _check_inplace(name, a, param)
    grad = check_same("grad", grad, "param", param)
    if amsgrad:
        if max_exp_avg_sq is None:
            raise ValueError("max_exp_avg_sq: required when amsgrad=True")
        _check_inplace("max_exp_avg_sq", max_exp_avg_sq, param)
    if step < 1:
        raise ValueError(f"step: expected an update number >= 1, got {step}")
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= beta < 1.0:  # the bias corrections divide by 1 − βᵗ
            raise ValueError(f"{name}: expected a value in [0, 1), got {beta}")
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    return (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None, float(lr), float(beta1),
            float(beta2), float(eps), float(weight_decay), float(step_size), float(bias_correction2_sqrt),
            bool(amsgrad), bool(maximize), bool(decoupled))

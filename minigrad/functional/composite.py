"""Ops written as compositions of other ops: no Function of their own, so their gradients (and any
higher-order gradients) are those of the ops they are built from. Activations (mish, hardtanh, prelu),
losses (huber_loss, kl_div), layers (embedding, group_norm, bilinear, 1-D and adaptive max pooling),
indexing and reordering (index_select, gather, narrow, flip, roll, repeat, unflatten, sort, topk),
rounding with PyTorch's zero gradient (sign, round, floor, ceil), clone, cumsum, norm, and one_hot.
"""
from collections import namedtuple

import numpy as np

from ..tensor import Tensor
from .conv import adaptive_bounds, avg_pool2d, conv2d, max_pool2d
from .elementwise import abs, add, clamp, div, exp, log, mul, pow, relu, softplus, sqrt, sub, tanh, where
from .linalg import matmul
from .logical import argsort
from .loss import smooth_l1_loss, weighted_loss
from .reduction import amax, mean, sum, var
from .shape import cat, expand, index as index_at, pad, permute, reshape, squeeze, stack, transpose, unsqueeze

__all__ = ["mish", "hardtanh", "relu6", "prelu", "huber_loss", "kl_div", "one_hot", "index_select", "gather",
           "narrow", "flip", "roll", "repeat", "unflatten", "sort", "topk", "sign", "round", "floor", "ceil",
           "clone", "cumsum", "norm", "embedding", "group_norm", "bilinear", "max_pool1d", "avg_pool1d",
           "adaptive_max_pool2d", "conv_transpose2d", "scatter", "prod"]

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


def _dim(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


# ---------------------------------------------------------------- activations
def mish(input, inplace=False):
    """y = x·tanh(softplus(x)) (Misra 2019).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    return mul(input, tanh(softplus(input)))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """y = min(max(x, min_val), max_val).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return clamp(input, min_val, max_val)


def relu6(input):
    """y = min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def prelu(input, weight):
    """y = max(0, x) + a·min(0, x), with ``weight`` a one value or one per channel (dim 1)."""
    n = weight.data.size
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim == 1 else 1)
        if weight.ndim != 1 or n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {channels}.")
        if input.ndim >= 2:
            weight = reshape(weight, (n,) + (1,) * (input.ndim - 2))
    return sub(relu(input), mul(weight, relu(-input)))


# ---------------------------------------------------------------- losses
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """½·d² where |d| < δ, else δ·(|d| − ½δ), d = input − target; equal to δ·smooth_l1_loss(β = δ).
    With ``weight`` w (input's shape), each element's loss is multiplied by w ('mean': the mean of
    the products, as PyTorch)."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        loss = mul(smooth_l1_loss(input, target, "none", beta=delta), delta)
        return weighted_loss(input, loss, weight, reduction, False)
    return mul(smooth_l1_loss(input, target, reduction, beta=delta), delta)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target ‖ exp(input)) pointwise: target·(log target − input) (0 where target = 0), or with
    ``log_target`` exp(target)·(target − input). ``input`` holds log-probabilities. Reductions:
    'mean' (over all elements), 'batchmean' (sum / batch size, the true KL divergence), 'sum', 'none'."""
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        pointwise = mul(exp(target), sub(target, input))
    else:
        target = target if isinstance(target, Tensor) else Tensor(target)
        positive = target.data > 0
        safe = where(Tensor._wrap(positive), target, 1.0)  # log(1) = 0 where the target is 0
        pointwise = sub(mul(target, log(safe)), mul(target, input))
    if reduction == "none":
        return pointwise
    total = pointwise.sum()
    if reduction == "sum":
        return total
    if reduction == "batchmean":
        return total / (input.shape[0] if input.ndim else 1)
    return total / max(pointwise.data.size, 1)


# ---------------------------------------------------------------- no gradient
def one_hot(tensor, num_classes=-1):
    """(…,) class indices (int64) → (…, num_classes) int64 with a 1 at each index."""
    if not isinstance(tensor, Tensor) or tensor.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    labels = tensor.data
    if labels.size and labels.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if not labels.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(labels.max()) + 1
    elif labels.size and labels.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._wrap((labels[..., None] == np.arange(num_classes)).astype(np.int64))


def check_embedding_options(max_norm, scale_grad_by_freq, sparse):
    """NotImplementedError for the Embedding options minigrad does not have, named."""
    for name, value in (("max_norm", max_norm is not None), ("scale_grad_by_freq", scale_grad_by_freq),
                        ("sparse", sparse)):
        if value:
            raise NotImplementedError(f"embedding: {name} is not supported (leave it at its default)")


# ---------------------------------------------------------------- indexing and reordering
def index_select(input, dim, index):
    """The slices of ``input`` at the 1-D int64 positions ``index`` along ``dim``."""
    dim = _dim(dim, input.ndim)
    positions = index.data if isinstance(index, Tensor) else np.asarray(index)
    if positions.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if positions.dtype.kind not in "iu":
        raise RuntimeError(f"index_select(): Expected dtype int32/int64 for index but got: {positions.dtype}")
    return index_at(input, (slice(None),) * dim + (positions.reshape(-1),))


def _index_like(input, index, name):
    """``index`` as an int64 array with as many dims as ``input`` (gather's and scatter's rule)."""
    positions = index.data if isinstance(index, Tensor) else np.asarray(index)
    if positions.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if positions.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    return positions


def gather(input, dim, index, *, sparse_grad=False):
    """out[…, i, …] = input[…, index[…, i, …], …] along ``dim`` (``index`` int64, as many dims as input).

    Differs from PyTorch: ``sparse_grad=True`` is refused (gradients are dense arrays).
    """
    if sparse_grad:
        raise NotImplementedError("gather(): sparse_grad=True is not supported (gradients are dense)")
    dim, positions = _dim(dim, input.ndim), _index_like(input, index, "gather")
    for d in range(input.ndim):
        if d != dim and positions.shape[d] > input.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(positions.shape)} to be "
                               f"no larger than self {list(input.shape)} apart from dimension {dim}")
    grids = list(np.indices(positions.shape, sparse=True))
    grids[dim] = positions
    return index_at(input, tuple(grids))


def scatter(input, dim, index, src=None, *, value=None):
    """A copy of ``input`` with, along ``dim``, out[…, index[…, i, …], …] = src[…, i, …] (or ``value``).
    ``src`` receives the gradient of the positions it wrote; ``input`` that of the others. Where
    ``index`` repeats a position, the last write wins (PyTorch leaves it undefined).

    Differs from PyTorch: ``value`` is keyword-only; a number given by position (``scatter(x, 0, i,
    1.0)``) is taken as ``src``, which accepts numbers too, so the call works the same. No ``reduce``.
    """
    dim, positions = _dim(dim, input.ndim), _index_like(input, index, "scatter")
    if src is None and value is None:
        raise TypeError("scatter() needs src or value")
    source = src if value is None else value
    if positions.size and (positions.min() < -input.shape[dim] or positions.max() >= input.shape[dim]):
        raise RuntimeError(f"index {positions.max()} is out of bounds for dimension {dim} with size {input.shape[dim]}")
    grids = list(np.indices(positions.shape))
    targets = list(grids)
    targets[dim] = positions % input.shape[dim]
    written = np.full(input.data.size, -1, dtype=np.int64)
    if isinstance(source, Tensor):
        if any(positions.shape[d] > source.shape[d] for d in range(input.ndim)):
            raise RuntimeError("scatter(): Expected index to be no larger than src in every dimension")
        written[np.ravel_multi_index(targets, input.shape)] = np.ravel_multi_index(grids, source.shape)
    else:
        written[np.ravel_multi_index(targets, input.shape)] = 0
    mask = Tensor._wrap((written >= 0).reshape(input.shape))
    if not isinstance(source, Tensor):
        return where(mask, Tensor._wrap(np.asarray(source, dtype=input.dtype)), input)
    picked = index_at(reshape(source, (-1,)), (np.maximum(written, 0).reshape(input.shape),))
    return where(mask, picked, input)


def narrow(input, dim, start, length):
    """``length`` elements of ``input`` from ``start`` along ``dim`` (a view)."""
    dim = _dim(dim, input.ndim)
    size = input.shape[dim]
    start = start + size if start < 0 else start
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return index_at(input, (slice(None),) * dim + (slice(start, start + length),))


def flip(input, dims):
    """``input`` reversed along each of ``dims``."""
    dims = [dims] if isinstance(dims, int) else list(dims)
    axes = set()
    for d in dims:
        axis = _dim(d, input.ndim)
        if axis in axes:
            raise RuntimeError(f"dim {axis} appears multiple times in the list of dims")
        axes.add(axis)
    return index_at(input, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim)))


def roll(input, shifts, dims=None):
    """Elements shifted cyclically by ``shifts`` along ``dims`` (None: the flattened tensor)."""
    if dims is None:
        return reshape(roll(reshape(input, (-1,)), shifts, 0), input.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for shift, dim in zip(shifts, dims):
        dim = _dim(dim, input.ndim)
        size = input.shape[dim]
        shift = shift % size if size else 0
        if shift:
            head = (slice(None),) * dim
            out = cat([index_at(out, head + (slice(size - shift, None),)), index_at(out, head + (slice(0, size - shift),))], dim)
    return out


def repeat(input, *sizes):
    """``input`` tiled ``sizes[i]`` times along each dim (leading sizes add new dims)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    interleaved = reshape(input, tuple(v for s in shape for v in (1, s)))
    tiled = expand(interleaved, tuple(v for r, s in zip(sizes, shape) for v in (r, s)))
    return reshape(tiled, tuple(r * s for r, s in zip(sizes, shape)))


def unflatten(input, dim, sizes):
    """Dim ``dim`` split into ``sizes`` (one entry may be −1)."""
    ndim_dim = _dim(dim, input.ndim)
    sizes = tuple(sizes)
    known = int(np.prod([s for s in sizes if s != -1])) if sizes else 1
    size = input.shape[ndim_dim]
    if sizes.count(-1) > 1 or (-1 not in sizes and known != size) or (-1 in sizes and (known == 0 or size % known)):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                           f"({size}) in the input tensor")
    return reshape(input, tuple(input.shape[:ndim_dim]) + sizes + tuple(input.shape[ndim_dim + 1:]))


def sort(input, dim=-1, descending=False, *, stable=False):
    """(values, indices) sorted along ``dim``; values carry the gradient back to their positions."""
    indices = argsort(input, dim, descending, stable=stable)
    return sort_result(gather(input, dim, indices), indices)


def topk(input, k, dim=None, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` (default: the last) and their indices,
    in sorted order."""
    axis = _dim(-1 if dim is None else dim, input.ndim)
    if not 0 <= k <= (input.shape[axis] if input.ndim else 1):
        raise RuntimeError("selected index k out of range")
    order = argsort(input, axis, descending=largest)
    indices = Tensor._wrap(np.ascontiguousarray(np.take(order.data, np.arange(k), axis=axis)))
    return topk_result(gather(input, axis, indices), indices)


# ---------------------------------------------------------------- rounding (zero gradient), clone, cumsum, norm
def _constant_of(input, values):
    """``values`` as the result of an op on ``input`` whose gradient is zero, as PyTorch's rounding
    ops have: where(False, input, values) passes no gradient to ``input`` yet keeps it in the graph."""
    if not input.requires_grad:
        return Tensor._wrap(values)
    return where(Tensor._wrap(np.broadcast_to(False, input.shape)), input, Tensor._wrap(values))


def sign(input):
    """−1, 0 or 1 by the sign of each element (0 gradient)."""
    return _constant_of(input, np.sign(input.data))


def round(input, *, decimals=0):
    """Round half to even, to ``decimals`` places (0 gradient)."""
    return _constant_of(input, np.round(input.data, decimals))


def floor(input):
    """⌊x⌋ (0 gradient)."""
    return _constant_of(input, np.floor(input.data))


def ceil(input):
    """⌈x⌉ (0 gradient)."""
    return _constant_of(input, np.ceil(input.data))


def clone(input):
    """A copy of ``input`` (new memory) whose gradient flows back unchanged."""
    return where(Tensor._wrap(np.broadcast_to(True, input.shape)), input, Tensor._wrap(np.zeros((), input.dtype)))


def cumsum(input, dim, *, dtype=None):
    """Running sums along ``dim``: a product with a triangular matrix of ones, so the gradient is the
    reversed running sum (integer tensors are summed without a graph)."""
    x = input if dtype is None else input.to(dtype)
    axis = _dim(dim, x.ndim)
    if x.dtype.kind != "f":
        return Tensor._wrap(np.cumsum(x.data, axis=axis, dtype=np.int64 if x.dtype.kind in "biu" else None))
    if x.ndim == 0:
        return clone(x)
    n = x.shape[axis]
    upper = Tensor._wrap(np.triu(np.ones((n, n), dtype=x.dtype)))
    moved = transpose(x, axis, -1)
    return transpose(matmul(moved, upper), axis, -1)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """The product of all elements (or along ``dim``), as a tree of pairwise products: exact
    gradients Πⱼ≠ᵢ xⱼ even where some xᵢ are 0 (integer tensors are multiplied without a graph)."""
    x = input if dtype is None else input.to(dtype)
    if x.dtype.kind != "f":
        axis = None if dim is None else _dim(dim, x.ndim)
        out_dtype = np.int64 if x.dtype.kind in "biu" else x.dtype
        return Tensor._wrap(np.asarray(np.prod(x.data, axis=axis, keepdims=keepdim and dim is not None,
                                               dtype=out_dtype)))
    if dim is None:
        return prod(reshape(x, (-1,)), 0)
    axis = _dim(dim, x.ndim)
    y = transpose(x, 0, axis) if x.ndim else reshape(x, (1,))
    while y.shape[0] > 1:
        if y.shape[0] % 2:  # an odd count: the last element waits for the next round
            y = cat([mul(index_at(y, slice(0, -1, 2)), index_at(y, slice(1, None, 2))), index_at(y, slice(-1, None))], 0)
        else:
            y = mul(index_at(y, slice(0, None, 2)), index_at(y, slice(1, None, 2)))
    if y.shape[0] == 0:  # the empty product
        y = Tensor._wrap(np.ones((1,) + tuple(y.shape[1:]), dtype=y.dtype))
    y = transpose(y, 0, axis) if x.ndim > 1 else y
    return y if keepdim else squeeze(y, axis if x.ndim else 0)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm of all elements (or along ``dim``): 'fro'/2, 1, inf, −inf, or any p > 0.

    Differs from PyTorch: the gradient of the 2-norm (and p-norms) at an all-zero input is NaN
    (PyTorch: 0).
    """
    if isinstance(dim, int):
        dim = (dim,)
    input = input if dtype is None else input.to(dtype)
    a = abs(input)
    if p == "fro" or p == 2:
        return sqrt(sum(mul(input, input), dim, keepdim))
    if p == float("inf"):
        return amax(a, dim, keepdim)
    if p == float("-inf"):
        return -amax(-a, dim, keepdim)
    if p == 1:
        return sum(a, dim, keepdim)
    if not isinstance(p, (int, float)) or p <= 0:
        raise RuntimeError(f"norm: p must be 'fro', inf, -inf or a positive number, got {p}")
    return pow(sum(pow(a, p), dim, keepdim), 1.0 / p)


# ---------------------------------------------------------------- layers
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) at the int64 indices ``input``; the ``padding_idx``
    row gets no gradient.

    Differs from PyTorch: ``max_norm`` (renormalizing rows in place), ``scale_grad_by_freq`` and
    ``sparse`` gradients are refused unless left at their defaults (``norm_type`` only matters with
    ``max_norm``).
    """
    check_embedding_options(max_norm, scale_grad_by_freq, sparse)
    ids = input.data if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {ids.dtype} instead")
    n = weight.shape[0]
    if ids.size and (ids.min() < -n or ids.max() >= n):
        raise IndexError("index out of range in self")
    rows = index_at(weight, (ids,))
    if padding_idx is None:
        return rows
    # the same values, but padding rows come from a constant copy, so they pass no gradient
    keep = Tensor._wrap(np.broadcast_to((ids % n != padding_idx % n)[..., None], rows.shape))
    return where(keep, rows, Tensor._wrap(weight.data[ids]))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """y = (x − μ_g)/sqrt(σ²_g + eps)·γ + β, μ_g and biased σ²_g over each group of C/G channels (and
    all positions) of each sample; γ = ``weight`` and β = ``bias`` have one value per channel."""
    N, C = input.shape[0], input.shape[1]
    if C % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    grouped = reshape(input, (N, num_groups, -1))
    mu = mean(grouped, 2, keepdim=True)
    x_hat = div(sub(grouped, mu), sqrt(add(var(grouped, 2, unbiased=False, keepdim=True), eps)))
    y = reshape(x_hat, input.shape)
    channel = (C,) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = mul(y, reshape(weight, channel))
    if bias is not None:
        y = add(y, reshape(bias, channel))
    return y


def bilinear(input1, input2, weight, bias=None):
    """y_k = Σᵢⱼ x1ᵢ·W_kij·x2ⱼ + b_k, over the last dims of ``input1`` (…, in1) and ``input2`` (…, in2)."""
    out, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear: input1 (…, {in1}) and input2 (…, {in2}) expected, got "
                           f"{list(input1.shape)} and {list(input2.shape)}")
    mixed = matmul(input1, reshape(permute(weight, (1, 0, 2)), (in1, out * in2)))  # (…, out·in2)
    y = sum(mul(reshape(mixed, tuple(input1.shape[:-1]) + (out, in2)), unsqueeze(input2, -2)), -1)
    return y if bias is None else add(y, bias)


def _pool1d(pool2d, input, kernel_size, stride, padding, *rest):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) input to a 1-D pooling, got {list(input.shape)}")
    one = lambda v: (1, v if isinstance(v, int) else v[0])  # noqa: E731  a window one row high
    stride = kernel_size if stride is None else stride
    out = pool2d(unsqueeze(input, -2), one(kernel_size), one(stride), (0, padding if isinstance(padding, int) else padding[0]), *rest)
    if isinstance(out, tuple):  # max pooling's (values, indices): an index in a 1-row image is the column
        return tuple(squeeze(o, -2) for o in out)
    return squeeze(out, -2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over the last dim (the 2-D pooling with a window one row high); with
    ``return_indices`` also the int64 position of each maximum along that dim."""
    return _pool1d(max_pool2d, input, kernel_size, stride, padding, (1, dilation if isinstance(dilation, int) else dilation[0]),
                   ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over the last dim (the 2-D pooling with a window one row high)."""
    return _pool1d(avg_pool2d, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows, to a fixed output size (an int or a pair; None keeps
    that input size).

    Differs from PyTorch: ``return_indices=True`` is refused (NotImplementedError).
    """
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices=True is not supported")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    H, W = input.shape[-2:]
    oh, ow = (H if size[0] is None else size[0]), (W if size[1] is None else size[1])
    (h0, h1), (w0, w1) = adaptive_bounds(H, oh), adaptive_bounds(W, ow)
    lead = (slice(None),) * (input.ndim - 2)
    rows = [stack([amax(index_at(input, lead + (slice(h0[i], h1[i]), slice(w0[j], w1[j]))), (-2, -1))
                   for j in range(ow)], -1) for i in range(oh)]
    return stack(rows, -2)


def _pair(name, value):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"conv_transpose2d: {name} must be an int or a pair, got {value}")
    return pair


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transpose of conv2d (its gradient with respect to the input), as a conv2d: the input with
    stride − 1 zeros between pixels, padded by dilation·(k − 1) − padding (plus ``output_padding`` at
    the end), convolved with the flipped kernel whose in/out channels are swapped.
    ``weight``: (C_in, C_out/groups, kH, kW). Output size (H − 1)·stride − 2·padding +
    dilation·(kH − 1) + output_padding + 1."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"conv_transpose2d: Expected 3D or 4D input, got {list(input.shape)}")
    if input.ndim == 3:
        return squeeze(conv_transpose2d(unsqueeze(input, 0), weight, bias, stride, padding, output_padding,
                                        groups, dilation), 0)
    (sh, sw), (ph, pw) = _pair("stride", stride), _pair("padding", padding)
    (oh, ow), (dh, dw) = _pair("output_padding", output_padding), _pair("dilation", dilation)
    if oh >= max(sh, dh) or ow >= max(sw, dw):
        raise RuntimeError("output padding must be smaller than either stride or dilation")
    N, C_in, H, W = input.shape
    c_in, c_out_g, kh, kw = weight.shape
    if c_in != C_in or C_in % groups:
        raise RuntimeError(f"conv_transpose2d: weight of shape {list(weight.shape)} does not fit input of shape "
                           f"{list(input.shape)} with groups={groups}")
    x = input
    if sh > 1 or sw > 1:  # zeros between pixels: pad a trailing axis of size 1, then fold it in
        x = pad(reshape(x, (N, C_in, H, 1, W, 1)), (0, sw - 1, 0, 0, 0, sh - 1))
        x = index_at(reshape(x, (N, C_in, H * sh, W * sw)), (Ellipsis, slice(0, (H - 1) * sh + 1), slice(0, (W - 1) * sw + 1)))
    (top, bottom), (left, right) = [(d * (k - 1) - p_, d * (k - 1) - p_ + extra)
                                    for k, d, p_, extra in ((kh, dh, ph, oh), (kw, dw, pw, ow))]
    # a negative amount crops (padding larger than the kernel's reach), a positive one pads
    x = index_at(x, (Ellipsis, slice(max(-top, 0), x.shape[2] - max(-bottom, 0)),
                  slice(max(-left, 0), x.shape[3] - max(-right, 0))))
    x = pad(x, (max(left, 0), max(right, 0), max(top, 0), max(bottom, 0)))
    w = reshape(weight, (groups, C_in // groups, c_out_g, kh, kw))
    w = reshape(transpose(w, 1, 2), (groups * c_out_g, C_in // groups, kh, kw))
    return conv2d(x, flip(w, (2, 3)), bias, 1, 0, (dh, dw), groups)

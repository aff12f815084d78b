"""Ops written as compositions of other ops: no Function of their own, so their gradients (and any
higher-order gradients) are those of the ops they are built from. Activations (mish, hardtanh, prelu),
losses (huber_loss, kl_div), indexing and reordering (index_select, gather, narrow, flip, roll,
repeat, unflatten, sort, topk) and one_hot (no gradient).
"""
from collections import namedtuple

import numpy as np

from ..tensor import Tensor
from .elementwise import clamp, exp, log, mul, relu, softplus, sub, tanh, where
from .logical import argsort
from .loss import smooth_l1_loss
from .shape import cat, expand, index, reshape

__all__ = ["mish", "hardtanh", "relu6", "prelu", "huber_loss", "kl_div", "one_hot", "index_select", "gather",
           "narrow", "flip", "roll", "repeat", "unflatten", "sort", "topk"]

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


def _dim(dim, ndim):
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


# ---------------------------------------------------------------- activations
def mish(input):
    """y = x·tanh(softplus(x)) (Misra 2019)."""
    return mul(input, tanh(softplus(input)))


def hardtanh(input, min_val=-1.0, max_val=1.0):
    """y = min(max(x, min_val), max_val)."""
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
def huber_loss(input, target, reduction="mean", delta=1.0):
    """½·d² where |d| < δ, else δ·(|d| − ½δ), d = input − target; equal to δ·smooth_l1_loss(β = δ)."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
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


# ---------------------------------------------------------------- indexing and reordering
def index_select(input, dim, index_):
    """The slices of ``input`` at the 1-D int64 positions ``index_`` along ``dim``."""
    dim = _dim(dim, input.ndim)
    positions = index_.data if isinstance(index_, Tensor) else np.asarray(index_)
    if positions.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if positions.dtype.kind not in "iu":
        raise RuntimeError(f"index_select(): Expected dtype int32/int64 for index but got: {positions.dtype}")
    return index(input, (slice(None),) * dim + (positions.reshape(-1),))


def gather(input, dim, index_):
    """out[…, i, …] = input[…, index[…, i, …], …] along ``dim`` (``index`` int64, as many dims as input)."""
    dim = _dim(dim, input.ndim)
    positions = index_.data if isinstance(index_, Tensor) else np.asarray(index_)
    if positions.dtype != np.int64:
        raise RuntimeError("gather(): Expected dtype int64 for index")
    if positions.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(input.ndim):
        if d != dim and positions.shape[d] > input.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(positions.shape)} to be "
                               f"no larger than self {list(input.shape)} apart from dimension {dim}")
    grids = list(np.indices(positions.shape, sparse=True))
    grids[dim] = positions
    return index(input, tuple(grids))


def narrow(input, dim, start, length):
    """``length`` elements of ``input`` from ``start`` along ``dim`` (a view)."""
    dim = _dim(dim, input.ndim)
    size = input.shape[dim]
    start = start + size if start < 0 else start
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return index(input, (slice(None),) * dim + (slice(start, start + length),))


def flip(input, dims):
    """``input`` reversed along each of ``dims``."""
    dims = [dims] if isinstance(dims, int) else list(dims)
    axes = set()
    for d in dims:
        axis = _dim(d, input.ndim)
        if axis in axes:
            raise RuntimeError(f"dim {axis} appears multiple times in the list of dims")
        axes.add(axis)
    return index(input, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim)))


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
            out = cat([index(out, head + (slice(size - shift, None),)), index(out, head + (slice(0, size - shift),))], dim)
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


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; values carry the gradient back to their positions."""
    indices = argsort(input, dim, descending, stable)
    return sort_result(gather(input, dim, indices), indices)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, in sorted order."""
    axis = _dim(dim, input.ndim)
    if not 0 <= k <= (input.shape[axis] if input.ndim else 1):
        raise RuntimeError("selected index k out of range")
    order = argsort(input, axis, descending=largest)
    indices = Tensor._wrap(np.ascontiguousarray(np.take(order.data, np.arange(k), axis=axis)))
    return topk_result(gather(input, axis, indices), indices)

"""Shape ops: reshape, flatten, transpose/permute, squeeze/unsqueeze, expand, cat/stack,
split/chunk, pad, and indexing. None of them computes anything; backward undoes the rearrangement
(indexing scatters the gradient, adding it up where an index repeats).
"""
import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._common import normalize_dims, sum_to, unbroadcast

__all__ = [
    "reshape", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "expand", "broadcast_to",
    "cat", "stack", "split", "chunk", "pad", "index",
]


class Reshape(Function):
    """y = x viewed with a new shape;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.shape), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return Reshape.apply(grad_out, ctx.shape), None


def _infer_shape(shape, numel):
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def reshape(input, shape):
    return Reshape.apply(input, _infer_shape(shape, input.numel()))


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = start_dim % input.ndim, end_dim % input.ndim
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input.shape[:start] + (-1,) + input.shape[end + 1:]
    if input.numel() == 0:
        shape = input.shape[:start] + (int(np.prod(input.shape[start:end + 1])),) + input.shape[end + 1:]
    return reshape(input, shape)


class Permute(Function):
    """y = x with dims reordered;  the gradient is permuted by the inverse order."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad_out):
        return np.transpose(grad_out, ctx.inverse), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return Permute.apply(grad_out, ctx.inverse), None


def permute(input, dims):
    axes = [d % input.ndim if input.ndim else d for d in dims]
    if sorted(axes) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute(): dims {tuple(dims)} must be a permutation of the {input.ndim} dims of the input"
        )
    return Permute.apply(input, tuple(axes))


def transpose(input, dim0, dim1):
    if input.ndim == 0:  # like PyTorch: dims 0 and -1 are accepted and a 0-d tensor is its own transpose
        normalize_dims((dim0, dim1) if dim0 != dim1 else dim0, 0)
        return Permute.apply(input, ())
    (a,), (b,) = normalize_dims(dim0, input.ndim), normalize_dims(dim1, input.ndim)
    dims = list(range(input.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, tuple(dims))


def squeeze(input, dim=None):
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        axes = normalize_dims(dim, input.ndim)
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in axes and n == 1))
    return Reshape.apply(input, shape)


def unsqueeze(input, dim):
    ndim = input.ndim + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    dim %= ndim
    return Reshape.apply(input, input.shape[:dim] + (1,) + input.shape[dim:])


class Expand(Function):
    """y = x broadcast to a larger shape (no copy);  the gradient is summed over broadcast dims."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_out):
        return unbroadcast(grad_out, ctx.shape), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return sum_to(grad_out, ctx.shape), None


def expand(input, sizes):
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({input.ndim})"
        )
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    for i, n in enumerate(input.shape):
        if n != 1 and n != shape[i + lead]:
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[i + lead]}) must match the existing size ({n}) "
                f"at non-singleton dimension {i + lead}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(input.shape)}"
            )
    return Expand.apply(input, shape)


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


class Cat(Function):
    """y = [x₁, x₂, …] joined along ``dim``;  each input gets its slice of the gradient.

    Mixed dtypes promote like PyTorch (float32 with float64 gives float64); each slice of the gradient
    goes back in its input's dtype."""

    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis, ctx.dtypes = axis, [x.dtype for x in xs]
        ctx.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        parts = np.split(grad_out, ctx.bounds, axis=ctx.axis)
        return (None, *(p.astype(dt, copy=False) for p, dt in zip(parts, ctx.dtypes)))

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        bounds = [0, *(int(b) for b in ctx.bounds), grad_out.shape[ctx.axis]]
        lead = (slice(None),) * ctx.axis
        return (None, *(Index.apply(grad_out, lead + (slice(lo, hi),), True).to(dt)
                        for lo, hi, dt in zip(bounds[:-1], bounds[1:], ctx.dtypes)))


def _check_nonempty(name, tensors):
    if len(tensors) == 0:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")


def cat(tensors, dim=0):
    tensors = list(tensors)
    _check_nonempty("cat", tensors)
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    if floats:  # PyTorch: integer tensors join the floats' dtype, not numpy's float64
        target = np.result_type(*floats)
        tensors = [t if t.dtype.kind == "f" else t.to(target) for t in tensors]
    (axis,) = normalize_dims(dim, tensors[0].ndim)
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref)) if j != axis):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {axis}. Expected size {list(ref)} "
                f"but got size {list(t.shape)} for tensor number {i} in the list."
            )
    return Cat.apply(axis, *tensors)


def stack(tensors, dim=0):
    tensors = list(tensors)
    _check_nonempty("stack", tensors)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                f"entry 0 and {list(t.shape)} at entry {i}"
            )
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(tensor, split_size_or_sections, dim=0):
    """Tuple of views along ``dim``: equal chunks of ``split_size`` (last smaller), or given sizes."""
    (axis,) = normalize_dims(dim, tensor.ndim)
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={split_size_or_sections}")
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {axis}), but got split_sizes={sizes}"
            )
    pieces, start = [], 0
    for size in sizes:
        idx = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(index(tensor, idx))
        start += size
    return tuple(pieces)


def chunk(input, chunks, dim=0):
    (axis,) = normalize_dims(dim, input.ndim)
    size = -(-input.shape[axis] // chunks)
    return split(input, max(size, 1), dim)


class Pad(Function):
    """y = x surrounded by ``value`` (constant mode);  the gradient is the centre slice."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.centre = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out[ctx.centre], None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return Index.apply(grad_out, ctx.centre, True), None, None


def pad(input, pad, mode="constant", value=None):
    """PyTorch order: ``pad = (left, right, top, bottom, ...)`` starting from the last dim; ``value``
    (default 0) fills the new cells."""
    value = 0.0 if value is None else value
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most 2*ndim ({2 * input.ndim}), got {len(pad)}")
    if any(p < 0 for p in pad):
        raise NotImplementedError("pad: negative padding (cropping) is not supported")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(input, tuple(widths), value)


def _scatter(values, shape, dtype, idx, basic):
    """zeros(shape) with ``values`` added at ``idx``: the adjoint of ``x[idx]``."""
    out = np.zeros(shape, dtype=dtype)
    if basic:
        out[idx] = values  # basic indexing never repeats an element
    else:
        np.add.at(out, idx, values)
    return out


class IndexAdd(Function):
    """y = zeros(shape) with x added at ``idx`` (summed where an index repeats), the adjoint of
    indexing: what ``x[idx]``'s backward computes, as an op of its own so it can be differentiated
    (create_graph);  ∂L/∂x = grad_out[idx]."""

    @staticmethod
    def forward(ctx, x, shape, idx, basic):
        ctx.idx, ctx.basic = idx, basic
        return _scatter(x, shape, x.dtype, idx, basic)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out[ctx.idx], None, None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return Index.apply(grad_out, ctx.idx, ctx.basic), None, None, None


class Index(Function):
    """y = x[idx];  the gradient is scattered back to the indexed positions, summed on repeats."""

    @staticmethod
    def forward(ctx, x, idx, basic):
        ctx.shape, ctx.dtype, ctx.idx, ctx.basic = x.shape, x.dtype, idx, basic
        return x[idx]

    @staticmethod
    def backward(ctx, grad_out):
        return _scatter(grad_out, ctx.shape, ctx.dtype, ctx.idx, ctx.basic), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return IndexAdd.apply(grad_out, ctx.shape, ctx.idx, ctx.basic), None, None


def _is_basic(i):
    return i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))


def index(input, idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    parts = tuple(p.data if isinstance(p, Tensor) else p for p in parts)
    for p in parts:
        if isinstance(p, (list, np.ndarray)):
            arr = np.asarray(p)
            if arr.dtype.kind not in "iub" and arr.size:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return Index.apply(input, parts, all(_is_basic(p) for p in parts))

"""Helpers shared by the op files: gradient reduction for broadcasting and dim normalisation.

Each ndarray helper used by a first-order ``backward`` has a Tensor twin (``sum_to``,
``expand_to``) for the ``backward_create_graph`` beside it, written with differentiable Tensor
methods so that the gradient it builds can be differentiated again."""
import numpy as np


def _broadcast_axes(grad_shape, shape):
    extra = len(grad_shape) - len(shape)
    return tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad_shape[i + extra] != 1
    )


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of numpy broadcasting ``shape`` → ``grad.shape``."""
    if grad.shape == shape:
        return grad
    axes = _broadcast_axes(grad.shape, shape)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def sum_to(grad, shape):
    """``unbroadcast`` for a Tensor gradient (create_graph), with differentiable ops."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    axes = _broadcast_axes(grad.shape, shape)
    return grad.sum(axes, keepdim=True).reshape(shape) if axes else grad.reshape(shape)


def normalize_dims(dim, ndim):
    """``dim`` (None, int or sequence, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})"
            )
        if ndim:
            out.append(d % ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return tuple(sorted(out))


def expand_reduced(grad, shape, axes, keepdim):
    """Broadcast the gradient of a reduction over ``axes`` back to the input ``shape``."""
    if not keepdim and grad.ndim:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


def expand_to(grad, shape, axes, keepdim):
    """``expand_reduced`` for a Tensor gradient (create_graph), with differentiable ops."""
    if not keepdim and grad.ndim:
        grad = grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return grad.expand(*shape)


def mT(x):
    """The last two dims swapped: a differentiable transpose of a Tensor, a view of an ndarray."""
    return np.swapaxes(x, -1, -2) if isinstance(x, np.ndarray) else x.mT


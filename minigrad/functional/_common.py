"""Helpers shared by the op files: gradient reduction for broadcasting and dim normalisation."""
import numpy as np


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of numpy broadcasting ``shape`` → ``grad.shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


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


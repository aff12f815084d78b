"""Ops whose results carry no gradient: closeness tests, boolean reductions, indices of nonzero entries
and of the sorted order. They read ``.data`` and return plain Tensors (bool or int64) or Python bools.
"""
import numpy as np

from ..tensor import Tensor

__all__ = ["isclose", "allclose", "equal", "all", "any", "nonzero", "argsort"]


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _axis(dim, ndim):
    """A dim (negative counts from the end) checked against ``ndim``, or None."""
    if dim is None:
        return None
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
                         f"but got {dim})")
    return dim % max(ndim, 1) if ndim else None


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input − other| ≤ atol + rtol·|other|, elementwise (a bool Tensor)."""
    a, b = _array(input), _array(other)
    if a.dtype != b.dtype and isinstance(other, Tensor):
        raise RuntimeError(f"{a.dtype} did not match {b.dtype}")
    return Tensor._wrap(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every element of ``input`` is close to ``other`` (see :func:`isclose`)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input, other):
    """True if both have the same shape and the same elements."""
    a, b = _array(input), _array(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def all(input, dim=None, keepdim=False):
    """Whether every element (along ``dim``) is nonzero; a bool Tensor."""
    a = _array(input)
    return Tensor._wrap(np.asarray(np.all(a, axis=_axis(dim, a.ndim), keepdims=keepdim and dim is not None)))


def any(input, dim=None, keepdim=False):
    """Whether some element (along ``dim``) is nonzero; a bool Tensor."""
    a = _array(input)
    return Tensor._wrap(np.asarray(np.any(a, axis=_axis(dim, a.ndim), keepdims=keepdim and dim is not None)))


def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements: an int64 Tensor (count, ndim), or one 1-D Tensor per dim."""
    a = _array(input)
    index = np.nonzero(np.atleast_1d(a))
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in index)
    if a.ndim == 0:  # PyTorch: one row per nonzero, no columns
        return Tensor._wrap(np.zeros((len(index[0]), 0), np.int64))
    return Tensor._wrap(np.stack(index, axis=1).astype(np.int64))


def argsort(input, dim=-1, descending=False, *, stable=False):
    """Indices that sort ``input`` along ``dim`` (int64); NaN counts as the largest value. Ties keep
    their order (a stable sort; PyTorch guarantees this only with ``stable=True``)."""
    a = _array(input)
    if a.ndim == 0:
        return Tensor._wrap(np.zeros((), np.int64))
    axis = _axis(dim, a.ndim)
    key = a.astype(np.int8) if a.dtype == np.bool_ else a
    if descending:
        # reversing the key keeps ties in order; NaN (largest) must come first
        key = -key.astype(np.float64) if key.dtype.kind == "u" else -key
        if key.dtype.kind == "f":
            key = np.where(np.isnan(key), -np.inf, key)
    return Tensor._wrap(np.argsort(key, axis=axis, kind="stable").astype(np.int64))

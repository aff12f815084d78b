"""Tensor factories with PyTorch's names and defaults (float32 unless ``dtype`` says otherwise)."""
import numpy as np

from ._device import as_device
from .random import default_generator
from .tensor import DEFAULT_DTYPE, Tensor

__all__ = [
    "tensor", "from_numpy", "as_tensor", "zeros", "ones", "full", "empty", "arange", "linspace",
    "eye", "randn", "rand", "randint", "randperm", "zeros_like", "ones_like", "full_like", "empty_like",
    "randn_like", "rand_like", "randint_like",
]


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if int(s) < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _wrap(array, requires_grad, device=None):
    if device is not None:
        as_device(device)
    t = Tensor._wrap(array)
    t.requires_grad = requires_grad
    return t


def tensor(data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor copying ``data``: Python floats → float32, ints → int64, ndarrays keep dtype."""
    if device is not None:
        as_device(device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray`` (no copy)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return Tensor._wrap(ndarray)


def as_tensor(data, *, dtype=None, device=None):
    if device is not None:
        as_device(device)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtype):
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _wrap(np.zeros(_shape(size), dtype or DEFAULT_DTYPE), requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _wrap(np.ones(_shape(size), dtype or DEFAULT_DTYPE), requires_grad, device)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _wrap(np.empty(_shape(size), dtype or DEFAULT_DTYPE), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = np.int64 if isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool) else DEFAULT_DTYPE
        dtype = np.bool_ if isinstance(fill_value, bool) else dtype
    return _wrap(np.full(_shape((size,)), fill_value, dtype), requires_grad, device)


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """``arange(end)``, ``arange(start, end)`` or ``arange(start, end, step)``: [start, end) by step.

    Differs from PyTorch: ``end`` defaults to None (``arange(n)`` reads its one argument as the end),
    where PyTorch documents a required ``end`` after ``start=0`` (a form Python cannot write); the
    calls are the same.
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else DEFAULT_DTYPE
    return _wrap(np.arange(start, end, step, dtype=dtype), requires_grad, device)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    return _wrap(np.linspace(start, end, steps, dtype=dtype or DEFAULT_DTYPE), requires_grad, device)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return _wrap(np.eye(n, m, dtype=dtype or DEFAULT_DTYPE), requires_grad, device)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    g = generator or default_generator()
    return _wrap(g.standard_normal(_shape(size), dtype=dtype or DEFAULT_DTYPE), requires_grad, device)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    g = generator or default_generator()
    return _wrap(g.random(_shape(size), dtype=dtype or DEFAULT_DTYPE), requires_grad, device)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``.

    Differs from PyTorch: ``high`` and ``size`` default to None (``randint(high, size)`` reads its two
    arguments as these), where PyTorch documents them required after ``low=0`` (a form Python
    cannot write); the calls are the same.
    """
    if size is None:
        if high is None:
            raise TypeError("randint() missing 1 required positional argument: 'size'")
        low, high, size = 0, low, high
    g = generator or default_generator()
    return _wrap(g.integers(low, high, size=_shape((size,)), dtype=dtype or np.int64), requires_grad, device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n−1.

    Differs from PyTorch: ``dtype`` defaults to None, meaning int64 (PyTorch writes ``torch.int64``).
    """
    if n < 0:
        raise RuntimeError(f"randperm is only implemented for positive n, got {n}")
    g = generator or default_generator()
    return _wrap(g.permutation(int(n)).astype(dtype or np.int64), requires_grad, device)


def _like(x, dtype):
    return x.shape, dtype or x.dtype


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return randn(shape, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    shape, dtype = _like(input, dtype)
    return rand(shape, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high) shaped like ``input``, in its dtype: ``randint_like(input, high)`` or
    ``randint_like(input, low, high)``.

    Differs from PyTorch: ``high`` defaults to None (``randint_like(input, high)`` reads its one
    number as it), where PyTorch documents it required after ``low=0`` (a form Python cannot write);
    the calls are the same.
    """
    if high is None:
        low, high = 0, low
    shape, dtype = _like(input, dtype)
    g = generator or default_generator()
    return _wrap(g.integers(low, high, size=shape).astype(dtype), requires_grad, device)

"""Tensor: a numpy array (``.data``) plus what autograd needs (``.grad``, ``.requires_grad``, ``_ctx``).

Every operator and method here is one line that calls the op in ``minigrad.functional``; the math
lives there, next to its backward. ``functional`` sits above this module (its ops take and return
Tensors), so it is not imported here: it hands itself over when it loads (:func:`use_functional`),
as this module hands ``Tensor`` to the engine below it (``autograd.set_tensor_type``).
"""
import weakref

import numpy as np

from . import _device, autograd
from ._ops import FLOAT_DTYPES

DEFAULT_DTYPE = np.dtype(np.float32)

# The ops the operators and methods call: minigrad.functional, bound by use_functional().
F = None


def use_functional(namespace):
    """Bind the ops Tensor's operators and methods call (``minigrad.functional`` calls this once,
    when it loads)."""
    global F
    F = namespace


def _to_array(data, dtype=None):
    """numpy array for ``data`` with PyTorch's dtype rules: Python floats → float32, ints → int64,
    numpy arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    arr = np.array(data)
    if arr.dtype == np.float64:
        return arr.astype(DEFAULT_DTYPE)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind not in "fb":
        raise TypeError(f"tensor(): can't convert data of dtype {arr.dtype} to a Tensor")
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it for automatic differentiation.

    Parameters
    ----------
    data : array_like
        Copied into a numpy array; see :func:`minigrad.tensor` for the dtype rules.
    requires_grad : bool
        Whether operations on this tensor are recorded so that ``backward`` can reach it.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_retains_grad", "_hooks", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self._hooks = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array, ctx=None):
        """Internal constructor: no copy, no checks. ``ctx`` links the result into the graph."""
        t = cls.__new__(cls)
        t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        t.grad = None
        t._ctx = ctx
        t._retains_grad = False
        t._hooks = None
        t._requires_grad = ctx is not None
        if ctx is not None:
            ctx.output = weakref.ref(t)
        return t

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype not in FLOAT_DTYPES:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not value and self._ctx is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function that produced this tensor (None for leaves)."""
        return None if self._ctx is None else self._ctx.fn

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._ctx is not None:
            self._retains_grad = True

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None`` runs when this tensor's gradient is computed.

        A non-leaf's hooks live on the node that produced it, so they run even after the
        Python tensor object itself is gone (as in PyTorch).
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        owner = self._ctx if self._ctx is not None else self
        if owner._hooks is None:
            owner._hooks = []
        hooks = owner._hooks
        hooks.append(hook)

        class _Handle:
            def remove(self):
                if hook in hooks:
                    hooks.remove(hook)
        return _Handle()

    def _accumulate(self, grad, steal=False):
        """Add ``grad`` to ``.grad``; the first gradient is copied unless the engine found it has no
        other reference (``steal``)."""
        if self.grad is None:
            self.grad = Tensor._wrap(grad if steal else np.array(grad, dtype=self.data.dtype, order="C"))
        else:
            self.grad.data += grad

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad (only of
        ``inputs``, leaves or not, when given).

        ``create_graph=True`` records the backward pass so ``.grad`` can be differentiated again;
        see ``minigrad.autograd.backward`` (it makes a reference cycle, as in PyTorch)."""
        autograd.backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.data)

    # ------------------------------------------------------------ array facts
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    def dim(self):
        return self.data.ndim

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def numpy(self, *, force=False):
        """The data as an ndarray, sharing memory; ``force=True`` allows it for a tensor that requires
        grad too (``detach().numpy()``)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self.data

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)`` gives the data, not an object array of Tensors (same rules as numpy())."""
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def tolist(self):
        return self.data.tolist()

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.data.dtype != DEFAULT_DTYPE and self.data.dtype != np.int64:
            extra += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.fn.__name__}Backward>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.data)

    def __hash__(self):
        return id(self)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------------------ device and dtype conversions
    @property
    def device(self):
        return _device.CPU

    def cpu(self):
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its dtype) or keywords;
        the same tensor when nothing changes (unless ``copy``).

        Differs from PyTorch: the positional forms are read from ``*args`` (``dtype``, ``device``
        or a ``tensor``, in PyTorch's orders); ``non_blocking`` and ``copy`` are keyword-only.
        """
        dtype = _device.to_args(args, dtype, device)
        out = self if dtype is None else F.to_dtype(self, np.dtype(dtype))
        return F.mul(out, 1) if copy and out is self else out

    def type(self, dtype=None):
        """Without ``dtype`` the type's name (``'minigrad.FloatTensor'``); with one, ``to(dtype)``."""
        if dtype is None:
            return f"minigrad.{_TYPE_NAMES.get(self.dtype.str[1:], self.dtype.name)}"
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    # ------------------------------------------------------------ in-place (no graph)
    def _check_inplace(self):
        if self._requires_grad and autograd.is_grad_enabled():
            if self._ctx is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError(
                "minigrad does not record in-place operations on tensors that require grad; "
                "use the out-of-place op"
            )

    def _inplace(self, values):
        self._check_inplace()
        self.data[...] = values.data if isinstance(values, Tensor) else values
        return self

    def zero_(self):
        return self._inplace(0)

    def fill_(self, value):
        return self._inplace(value)

    def copy_(self, src, non_blocking=False):
        return self._inplace(src)

    def add_(self, other, *, alpha=1):
        return self._inplace(self.data + alpha * _raw(other))

    def sub_(self, other, *, alpha=1):
        return self._inplace(self.data - alpha * _raw(other))

    def mul_(self, other):
        return self._inplace(self.data * _raw(other))

    def div_(self, other, *, rounding_mode=None):
        return self._inplace(F.div(self.detach(), other, rounding_mode=rounding_mode))

    def clamp_(self, min=None, max=None):
        return self._inplace(np.clip(self.data, min, max))

    def __setitem__(self, index, value):
        self._check_inplace()
        self.data[_raw_index(index)] = _raw(value)

    # ------------------------------------------------------------ operators
    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __pow__(self, exponent):
        return F.pow(self, exponent)

    def __rpow__(self, base):
        return F.pow(base, self)

    def __neg__(self):
        return F.neg(self)

    def __abs__(self):
        return F.abs(self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __getitem__(self, index):
        return F.index(self, index)

    def __eq__(self, other):
        return F.eq(self, other)

    def __ne__(self, other):
        return F.ne(self, other)

    def __lt__(self, other):
        return F.lt(self, other)

    def __le__(self, other):
        return F.le(self, other)

    def __gt__(self, other):
        return F.gt(self, other)

    def __ge__(self, other):
        return F.ge(self, other)

    def __invert__(self):
        return F.logical_not(self)

    # ------------------------------------------------------------ methods (→ functional)
    @property
    def T(self):
        return F.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        return F.transpose(self, -2, -1)

    def exp(self):
        return F.exp(self)

    def log(self):
        return F.log(self)

    def sqrt(self):
        return F.sqrt(self)

    def abs(self):
        return F.abs(self)

    def pow(self, exponent):
        return F.pow(self, exponent)

    def clamp(self, min=None, max=None):
        return F.clamp(self, min, max)

    clip = clamp

    def relu(self):
        return F.relu(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def tanh(self):
        return F.tanh(self)

    def softmax(self, dim):
        return F.softmax(self, dim)

    def log_softmax(self, dim):
        return F.log_softmax(self, dim)

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return F.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return F.mean(self, dim, keepdim, dtype=dtype)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return F.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return F.std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim=None, keepdim=False):
        return F.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return F.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return F.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return F.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return F.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return F.argmin(self, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return F.logsumexp(self, dim, keepdim)

    def reshape(self, *shape):
        return F.reshape(self, _shape_args(shape))

    def view(self, *shape):
        return F.reshape(self, _shape_args(shape))

    def flatten(self, start_dim=0, end_dim=-1):
        return F.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return F.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return F.permute(self, _shape_args(dims))

    def squeeze(self, dim=None):
        return F.squeeze(self, dim)

    def unsqueeze(self, dim):
        return F.unsqueeze(self, dim)

    def expand(self, *sizes):
        return F.expand(self, _shape_args(sizes))

    def split(self, split_size, dim=0):
        return F.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return F.chunk(self, chunks, dim)

    def matmul(self, other):
        return F.matmul(self, other)

    def masked_fill(self, mask, value):
        return F.masked_fill(self, mask, value)

    # PyTorch's method forms of the operators and of more functions
    def add(self, other, *, alpha=1):
        return add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return sub(self, other, alpha=alpha)

    def mul(self, other):
        return F.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return F.div(self, other, rounding_mode=rounding_mode)

    def neg(self):
        return F.neg(self)

    def sin(self):
        return F.sin(self)

    def cos(self):
        return F.cos(self)

    def maximum(self, other):
        return F.maximum(self, other)

    def minimum(self, other):
        return F.minimum(self, other)

    def where(self, condition, other):
        return F.where(condition, self, other)

    def eq(self, other):
        return F.eq(self, other)

    def ne(self, other):
        return F.ne(self, other)

    def lt(self, other):
        return F.lt(self, other)

    def le(self, other):
        return F.le(self, other)

    def gt(self, other):
        return F.gt(self, other)

    def ge(self, other):
        return F.ge(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return F.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return F.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        return F.equal(self, other)

    def all(self, dim=None, keepdim=False):
        return F.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return F.any(self, dim, keepdim)

    def nonzero(self, *, as_tuple=False):
        return F.nonzero(self, as_tuple=as_tuple)

    def argsort(self, dim=-1, descending=False, *, stable=False):
        return F.argsort(self, dim, descending, stable=stable)

    def t(self):
        return t(self)

    def flip(self, dims):
        return F.flip(self, dims)

    def roll(self, shifts, dims=None):
        return F.roll(self, shifts, dims)

    def narrow(self, dim, start, length):
        return F.narrow(self, dim, start, length)

    def repeat(self, *sizes):
        return F.repeat(self, *sizes)

    def unflatten(self, dim, sizes):
        return F.unflatten(self, dim, sizes)

    def index_select(self, dim, index):
        return F.index_select(self, dim, index)

    def gather(self, dim, index, *, sparse_grad=False):
        return F.gather(self, dim, index, sparse_grad=sparse_grad)

    def scatter(self, dim, index, src=None, *, value=None):
        """See ``minigrad.scatter`` (and its note on ``value``)."""
        return F.scatter(self, dim, index, src, value=value)

    def sort(self, dim=-1, descending=False, *, stable=False):
        return F.sort(self, dim, descending, stable=stable)

    def topk(self, k, dim=None, largest=True, sorted=True):
        return F.topk(self, k, dim, largest, sorted)

    def sign(self):
        return F.sign(self)

    def round(self, *, decimals=0):
        return F.round(self, decimals=decimals)

    def floor(self):
        return F.floor(self)

    def ceil(self):
        return F.ceil(self)

    def clone(self):
        return F.clone(self)

    def cumsum(self, dim, *, dtype=None):
        return F.cumsum(self, dim, dtype=dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return F.norm(self, p, dim, keepdim, dtype)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return F.prod(self, dim, keepdim, dtype=dtype)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def expand_as(self, other):
        return self.expand(other.shape)


def add(input, other, *, alpha=1):
    """input + alpha·other."""
    return F.add(input, other if alpha == 1 else F.mul(other, alpha))


def sub(input, other, *, alpha=1):
    """input − alpha·other."""
    return F.sub(input, other if alpha == 1 else F.mul(other, alpha))


def t(input):
    """The transpose of a matrix; 0-D and 1-D tensors are returned as they are."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return input if input.ndim < 2 else F.transpose(input, 0, 1)


_TYPE_NAMES = {"f4": "FloatTensor", "f8": "DoubleTensor", "i8": "LongTensor", "i4": "IntTensor",
               "i2": "ShortTensor", "i1": "CharTensor", "u1": "ByteTensor", "b1": "BoolTensor", "f2": "HalfTensor"}


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _raw_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _shape_args(args):
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


autograd.set_tensor_type(Tensor)

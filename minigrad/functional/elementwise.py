"""Elementwise ops: arithmetic with broadcasting, unary math, activations, selection, comparisons.

Each op is a Function whose ``forward`` and ``backward`` sit together; the docstring gives the
forward math and the local gradient. Binary ops reduce the gradient of a broadcast input back to its
shape with ``unbroadcast``. Python numbers are accepted in any operand position (no gradient).
"""
import math

import numpy as np

from .. import _ops
from ..autograd import Function
from ..tensor import DEFAULT_DTYPE, Tensor
from ._common import sum_to, unbroadcast

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "clamp", "maximum",
    "minimum", "relu", "sigmoid", "tanh", "leaky_relu", "gelu", "silu", "elu", "softplus", "sin",
    "cos", "where", "masked_fill", "to_dtype", "eq", "ne", "lt", "le", "gt", "ge", "logical_not",
]


def _shape(x):
    # np.shape costs ~0.17 µs on Zen 4; the attribute of an ndarray (the usual operand) a tenth of that
    return x.shape if type(x) is np.ndarray else np.shape(x)


# ---------------------------------------------------------------- arithmetic

class Add(Function):
    """y = a + b;  ∂y/∂a = 1, ∂y/∂b = 1 (summed over broadcast dims)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        sa, sb = ctx.shapes
        return unbroadcast(grad_out, sa), unbroadcast(grad_out, sb)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(grad_out, sa) if need[0] else None), (sum_to(grad_out, sb) if need[1] else None)


class Sub(Function):
    """y = a − b;  ∂y/∂a = 1, ∂y/∂b = −1."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        sa, sb = ctx.shapes
        return unbroadcast(grad_out, sa), (unbroadcast(-grad_out, sb) if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(grad_out, sa) if need[0] else None), (sum_to(-grad_out, sb) if need[1] else None)


class Mul(Function):
    """y = a·b;  ∂y/∂a = b, ∂y/∂b = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad_out * b, _shape(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(grad_out * a, _shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        a, b = ctx.saved_tensors
        A, B = ctx.graph_input(0, a), ctx.graph_input(1, b)
        ga = sum_to(grad_out * B, _shape(a)) if ctx.needs_input_grad[0] else None
        gb = sum_to(grad_out * A, _shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;  ∂y/∂a = 1/b, ∂y/∂b = −a/b²."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad_out / b, _shape(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad_out * a / (b * b), _shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        a, b = ctx.saved_tensors
        A, B = ctx.graph_input(0, a), ctx.graph_input(1, b)
        ga = sum_to(grad_out / B, _shape(a)) if ctx.needs_input_grad[0] else None
        gb = sum_to(-grad_out * A / (B * B), _shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = −x;  ∂y/∂x = −1."""

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return -grad_out


class Pow(Function):
    """y = a^b;  ∂y/∂a = b·a^(b−1) (0 where b = 0), ∂y/∂b = y·ln a (0 where a = 0 and b ≥ 0), like PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.where(b == 0, 0, b * np.power(a, b - 1))  # x⁰ has gradient 0, even at 0
            ga = unbroadcast(grad_out * local, _shape(a))
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                dlog = np.where((a == 0) & (b >= 0), 0, y * np.log(a))
            gb = unbroadcast(grad_out * dlog, _shape(b))
        return ga, gb

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        a, b, y = ctx.saved_tensors
        A, B = ctx.graph_input(0, a), ctx.graph_input(1, b)
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                ga = sum_to(grad_out * where(np.asarray(b) == 0, 0.0, B * A ** (B - 1)), _shape(a))
            if ctx.needs_input_grad[1]:
                log_a = log(A) if isinstance(A, Tensor) else np.log(np.asarray(a, y.dtype))
                dlog = where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 0.0, A ** B * log_a)
                gb = sum_to(grad_out * dlog, _shape(b))
        return ga, gb


def _broadcastable(a, b):
    """Raise PyTorch's error for shapes that do not broadcast (numpy's message names no tensor)."""
    sa, sb = _shape(a.data if isinstance(a, Tensor) else a), _shape(b.data if isinstance(b, Tensor) else b)
    if sa == sb:
        return
    for i, (m, n) in enumerate(zip(reversed(sa), reversed(sb))):
        if m != n and m != 1 and n != 1:
            dim = max(len(sa), len(sb)) - 1 - i
            raise RuntimeError(
                f"The size of tensor a ({m}) must match the size of tensor b ({n}) at non-singleton dimension {dim}"
            )


def _promote(a, b, division=False):
    """PyTorch's dtype rule for an integer tensor meeting a float: the float tensor's dtype, or the
    default float32 for a Python float or a true division (numpy would promote to float64)."""
    def is_int(v):
        return isinstance(v, Tensor) and v.dtype.kind in "iub"

    if not (is_int(a) or is_int(b)):
        return a, b
    floats = [v.dtype for v in (a, b) if isinstance(v, Tensor) and v.dtype.kind == "f"]
    if floats:
        target = floats[0]
    elif division or isinstance(a, float) or isinstance(b, float):
        target = DEFAULT_DTYPE
    else:
        return a, b
    return (a.to(target) if is_int(a) else a), (b.to(target) if is_int(b) else b)


def _operands(a, b, division=False):
    """``a``, ``b`` checked to broadcast and promoted (``_broadcastable``, ``_promote``). The usual
    call (two Tensors of one shape and dtype, or a float Tensor and a Python number) needs neither:
    it returns at once, ~0.6 µs less per op on Zen 4."""
    if isinstance(a, Tensor):
        da = a.data
        if isinstance(b, Tensor):
            db = b.data
            if da.shape == db.shape and da.dtype is db.dtype and (da.dtype.kind == "f" or not division):
                return a, b
        elif da.dtype.kind == "f" and type(b) in (float, int):
            return a, b
    _broadcastable(a, b)
    return _promote(a, b, division)


def add(input, other):
    return Add.apply(*_operands(input, other))


def sub(input, other):
    return Sub.apply(*_operands(input, other))


def mul(input, other):
    return Mul.apply(*_operands(input, other))


def div(input, other, *, rounding_mode=None):
    """input / other; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient toward zero or down
    (integer inputs then stay integers).

    Differs from PyTorch: with a ``rounding_mode`` the result is cut from the graph (PyTorch records
    it, with a gradient of zero).
    """
    if rounding_mode is None:
        return Div.apply(*_operands(input, other, division=True))
    _broadcastable(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    a, b = (v.data if isinstance(v, Tensor) else v for v in _promote(input, other))
    dtype = np.result_type(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.floor_divide(a, b) if rounding_mode == "floor" else np.trunc(np.divide(a, b))
    return Tensor._wrap(np.asarray(q).astype(dtype, copy=False))


def neg(input):
    return Neg.apply(input)


def pow(input, exponent):
    return Pow.apply(*_operands(input, exponent))


# ---------------------------------------------------------------- unary math

class Exp(Function):
    """y = eˣ;  ∂y/∂x = y."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return grad_out * exp(ctx.inputs[0])


class Log(Function):
    """y = ln x;  ∂y/∂x = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / x

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return grad_out / ctx.inputs[0]


class Sqrt(Function):
    """y = √x;  ∂y/∂x = 1/(2y)."""

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out / (2 * y)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return grad_out / (2 * sqrt(ctx.inputs[0]))


class Abs(Function):
    """y = |x|;  ∂y/∂x = sign(x) (0 at 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * np.sign(x)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * np.sign(x)  # piecewise constant: no second derivative


class Sin(Function):
    """y = sin x;  ∂y/∂x = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * np.cos(x)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return grad_out * cos(ctx.inputs[0])


class Cos(Function):
    """y = cos x;  ∂y/∂x = −sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return -grad_out * np.sin(x)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return -grad_out * sin(ctx.inputs[0])


def _inside(x, lo, hi):
    """1[lo ≤ x ≤ hi] (a missing bound does not limit)."""
    mask = np.ones(x.shape, dtype=bool)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    return mask


class Clamp(Function):
    """y = min(max(x, lo), hi);  ∂y/∂x = 1 where lo ≤ x ≤ hi, else 0."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = lo, hi
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * _inside(x, *ctx.bounds), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * _inside(x, *ctx.bounds), None, None


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split half-half on ties (PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        w = (a > b) + 0.5 * (a == b)
        return unbroadcast(grad_out * w, _shape(a)), unbroadcast(grad_out * (1 - w), _shape(b))

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        a, b = ctx.saved_tensors
        w = ((a > b) + 0.5 * (a == b)).astype(grad_out.dtype)
        return sum_to(grad_out * w, _shape(a)), sum_to(grad_out * (1 - w), _shape(b))


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split half-half on ties (PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        w = (a < b) + 0.5 * (a == b)
        return unbroadcast(grad_out * w, _shape(a)), unbroadcast(grad_out * (1 - w), _shape(b))

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        a, b = ctx.saved_tensors
        w = ((a < b) + 0.5 * (a == b)).astype(grad_out.dtype)
        return sum_to(grad_out * w, _shape(a)), sum_to(grad_out * (1 - w), _shape(b))


def exp(input):
    return Exp.apply(input)


def log(input):
    return Log.apply(input)


def sqrt(input):
    return Sqrt.apply(input)


def abs(input):
    return Abs.apply(input)


def sin(input):
    return Sin.apply(input)


def cos(input):
    return Cos.apply(input)


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return Clamp.apply(input, min, max)


def maximum(input, other):
    _broadcastable(input, other)
    return Maximum.apply(input, other)


def minimum(input, other):
    _broadcastable(input, other)
    return Minimum.apply(input, other)


# ---------------------------------------------------------------- activations

class ReLU(Function):
    """y = max(x, 0);  ∂y/∂x = 1[x > 0]. Runs on the compiled kernel in ``_ops/elementwise_kernels.pxi``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _ops.relu_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return _ops.relu_backward(grad_out, x)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (x > 0)


def _sigmoid(x):
    """1/(1 + e⁻ˣ), split by sign so exp never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """y = 1/(1 + e⁻ˣ);  ∂y/∂x = y(1 − y)."""

    @staticmethod
    def forward(ctx, x):
        y = _ops.sigmoid_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return _ops.sigmoid_backward(grad_out, y)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        y = sigmoid(ctx.inputs[0])
        return grad_out * y * (1 - y)


class Tanh(Function):
    """y = tanh x;  ∂y/∂x = 1 − y²."""

    @staticmethod
    def forward(ctx, x):
        y = _ops.tanh_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return _ops.tanh_backward(grad_out, y)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        y = tanh(ctx.inputs[0])
        return grad_out * (1 - y * y)


class LeakyReLU(Function):
    """y = x if x > 0 else α·x;  ∂y/∂x = 1 or α."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad_out, grad_out * ctx.slope), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * np.where(x > 0, 1, ctx.slope).astype(x.dtype), None


def _gelu_tanh_slope(x, tanh):
    """∂y/∂x of the tanh-approximated GELU, for ndarrays (``np.tanh``) or Tensors (``tanh``)."""
    k = math.sqrt(2 / math.pi)
    t = tanh(k * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)


class GELUSlope(Function):
    """y = Φ(x) + x·φ(x), the slope of the exact GELU (create_graph only);  ∂y/∂x = φ(x)·(2 − x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _ops.gelu_backward(np.ones_like(x), x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * (2 - x * x)

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        return grad_out * exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi)) * (2 - x * x)


class GELU(Function):
    """y = x·Φ(x);  ∂y/∂x = Φ(x) + x·φ(x) (kernels: _ops.gelu_forward / gelu_backward, with the C
    library's erf). With approximate='tanh': y = 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³),
    ∂y/∂x = 0.5(1 + tanh u) + 0.5x(1 − tanh²u)·du/dx."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        return _ops.gelu_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            return (grad_out * _gelu_tanh_slope(x, np.tanh)).astype(x.dtype, copy=False), None
        return _ops.gelu_backward(grad_out, x), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        if ctx.approximate == "tanh":
            return grad_out * _gelu_tanh_slope(x, tanh), None
        return grad_out * GELUSlope.apply(x), None


class SiLU(Function):
    """y = x·σ(x);  ∂y/∂x = σ(x)(1 + x(1 − σ(x)))."""

    @staticmethod
    def forward(ctx, x):
        s = _sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved_tensors
        return grad_out * s * (1 + x * (1 - s))

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        s = sigmoid(x)
        return grad_out * s * (1 + x * (1 - s))


class ELU(Function):
    """y = x if x > 0 else α(eˣ − 1);  ∂y/∂x = 1 or y + α."""

    @staticmethod
    def forward(ctx, x, alpha):
        y = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        return np.where(x > 0, grad_out, grad_out * (y + ctx.alpha)), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        negative = grad_out * (ctx.alpha * exp(Clamp.apply(x, None, 0.0)))  # α·eˣ, no overflow for x > 0
        return Where.apply(x.data > 0, grad_out, negative), None


class Softplus(Function):
    """y = (1/β)·ln(1 + e^(βx)), linear above the threshold;  ∂y/∂x = σ(βx)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        bx = beta * x
        soft = np.logaddexp(0, bx) / beta
        return np.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        bx = ctx.beta * x
        s = _sigmoid(bx)  # not Sigmoid.forward: that would overwrite the saved x (retain_graph)
        return np.where(bx > ctx.threshold, grad_out, grad_out * s), None, None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        x = ctx.inputs[0]
        linear = ctx.beta * x.data > ctx.threshold
        return Where.apply(linear, grad_out, grad_out * sigmoid(ctx.beta * x)), None, None


def relu(input, inplace=False):
    """max(x, 0).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    return ReLU.apply(input)


def sigmoid(input):
    return Sigmoid.apply(input)


def tanh(input):
    return Tanh.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope·x.

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    return LeakyReLU.apply(input, negative_slope)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return GELU.apply(input, approximate)


def silu(input, inplace=False):
    """x·σ(x).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    return SiLU.apply(input)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else α·(eˣ − 1).

    Differs from PyTorch: ``inplace=True`` is accepted and computes out of place (the input keeps its values).
    """
    return ELU.apply(input, alpha)


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(input, beta, threshold)


# ---------------------------------------------------------------- selection

class Where(Function):
    """y = a where cond else b;  ∂y/∂a = 1[cond], ∂y/∂b = 1[¬cond]."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        ctx.shapes = _shape(a), _shape(b)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad_out):
        sa, sb = ctx.shapes
        zero = np.zeros((), grad_out.dtype)
        return (None, unbroadcast(np.where(ctx.cond, grad_out, zero), sa),
                unbroadcast(np.where(ctx.cond, zero, grad_out), sb))

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (None, sum_to(Where.apply(ctx.cond, grad_out, 0.0), sa) if need[1] else None,
                sum_to(Where.apply(ctx.cond, 0.0, grad_out), sb) if need[2] else None)


def _bool_mask(name, mask):
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{name}: expected a bool tensor, got dtype {mask.dtype}")
    return mask


def where(condition, input, other):
    condition = _bool_mask("where(): condition", condition)
    _broadcastable(condition, input)
    _broadcastable(condition, other)
    _broadcastable(input, other)
    return Where.apply(condition, input, other)


def masked_fill(input, mask, value):
    """x with ``value`` where ``mask`` is True (gradient 0 there)."""
    mask = _bool_mask("masked_fill(): mask", mask)
    if np.broadcast_shapes(mask.shape, input.shape) != input.shape:
        raise RuntimeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {input.shape}")
    value = value.item() if isinstance(value, Tensor) else value
    return Where.apply(mask, np.asarray(value, dtype=input.dtype), input)


class ToDtype(Function):
    """y = x cast to ``dtype``;  the gradient is cast back (none for non-float targets)."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.astype(ctx.dtype), None

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return grad_out.to(ctx.dtype), None


def to_dtype(input, dtype):
    if input.dtype == dtype:
        return input
    if dtype.kind != "f" and input.requires_grad:
        return Tensor._wrap(input.data.astype(dtype))
    return ToDtype.apply(input, dtype)


# ---------------------------------------------------------------- comparisons (no gradient)

def _compare(op, a, b):
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    return Tensor._wrap(np.asarray(op(a, b)))


def eq(input, other):
    return _compare(np.equal, input, other)


def ne(input, other):
    return _compare(np.not_equal, input, other)


def lt(input, other):
    return _compare(np.less, input, other)


def le(input, other):
    return _compare(np.less_equal, input, other)


def gt(input, other):
    return _compare(np.greater, input, other)


def ge(input, other):
    return _compare(np.greater_equal, input, other)


def logical_not(input):
    return Tensor._wrap(np.logical_not(input.data))

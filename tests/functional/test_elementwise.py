"""minigrad.functional.elementwise: arithmetic with broadcasting, unary math, activations, selection, dtype conversion.

The Case table (tests/functional/_cases.py) gives each case a gradcheck in float64 and a forward +
gradient comparison with PyTorch in float32; the tests below it cover what the table does not show."""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad.utils import gradcheck

from _cases import MASK, MG, TORCH, Case, Input, K, N, P, random_shape_test, table_tests

torch = pytest.importorskip("torch")

CASES = [
    # ---- arithmetic, with broadcasting and size-1 dims
    Case("add", lambda lib, a, b: a + b, (N(3, 4), N(4))),
    Case("add_bcast_both", lambda lib, a, b: a + b, (N(3, 1, 4), N(2, 1))),
    Case("add_scalar", lambda lib, a: 2.5 + a + 1, (N(2, 3),)),
    Case("sub", lambda lib, a, b: a - b, (N(1, 3), N(2, 1))),
    Case("rsub_scalar", lambda lib, a: 1.5 - a, (N(4,),)),
    Case("mul", lambda lib, a, b: a * b, (N(2, 3, 4), N(3, 1))),
    Case("mul_0d", lambda lib, a, b: a * b, (N(), N(2, 3))),
    Case("div", lambda lib, a, b: a / b, (N(2, 3), K(2, 1))),
    Case("rdiv_scalar", lambda lib, a: 3.0 / a, (K(5,),)),
    Case("neg", lambda lib, a: -a, (N(2, 3),)),
    Case("pow_scalar_int", lambda lib, a: a ** 3, (N(2, 3),)),
    Case("pow_scalar_float", lambda lib, a: a ** -1.5, (P(5,),)),
    Case("pow_tensor", lambda lib, a, b: lib.pow(a, b), (P(2, 3), N(3))),
    Case("rpow", lambda lib, a: 2.0 ** a, (N(2, 3),)),
    # ---- unary math
    Case("exp", lambda lib, a: a.exp(), (N(2, 3),)),
    Case("log", lambda lib, a: a.log(), (P(2, 3),)),
    Case("sqrt", lambda lib, a: a.sqrt(), (P(2, 3),)),
    Case("abs", lambda lib, a: a.abs(), (K(2, 3),)),
    Case("sin", lambda lib, a: lib.sin(a), (N(7,),)),
    Case("cos", lambda lib, a: lib.cos(a), (N(7,),)),
    Case("clamp", lambda lib, a: a.clamp(-0.5, 0.8), (K(3, 4, kinks=(-0.5, 0.8)),)),
    Case("clamp_min", lambda lib, a: lib.clamp(a, min=0.3), (K(3, 4, kinks=(0.3,)),)),
    Case("clamp_max", lambda lib, a: lib.clamp(a, max=-0.2), (K(3, 4, kinks=(-0.2,)),)),
    Case("maximum", lambda lib, a, b: lib.maximum(a, b), (N(3, 4), N(1, 4))),
    Case("minimum", lambda lib, a, b: lib.minimum(a, b), (N(3, 1), N(3, 4))),
    # ---- activations
    Case("relu", lambda lib, a: lib.relu(a), (K(3, 5),)),
    Case("relu_0d", lambda lib, a: lib.relu(a), (K(),)),
    Case("sigmoid", lambda lib, a: lib.sigmoid(a), (N(3, 5),)),
    Case("tanh", lambda lib, a: lib.tanh(a), (N(3, 5),)),
    Case("leaky_relu", lambda lib, a: lib.leaky_relu(a, 0.1), (K(3, 5),)),
    Case("gelu", lambda lib, a: lib.gelu(a), (N(3, 5),)),
    Case("gelu_tanh", lambda lib, a: lib.gelu(a, approximate="tanh"), (N(3, 5),)),
    Case("silu", lambda lib, a: lib.silu(a), (N(3, 5),)),
    Case("elu", lambda lib, a: lib.elu(a, alpha=0.7), (K(3, 5),)),
    Case("softplus", lambda lib, a: lib.softplus(a, beta=2.0), (N(3, 5),)),
    Case("softplus_threshold", lambda lib, a: lib.softplus(a, beta=1.0, threshold=1.0),
         (K(3, 5, kinks=(1.0,)),)),
    # ---- selection
    Case("where", lambda lib, a, b: lib.where(lib.tensor(MASK), a, b), (N(3, 4), N(4))),
    Case("where_scalar", lambda lib, a: lib.where(lib.tensor(MASK), a, 0.0), (N(3, 4),)),
    Case("masked_fill", lambda lib, a: a.masked_fill(lib.tensor(MASK[:1]), 0.5), (N(3, 4),)),
    # ---- dtype conversion (float32 → float64 on the PyTorch side; lossy round trip in gradcheck)
    Case("to_float64", lambda lib, a: a.to(lib.float64) * a.to(lib.float64), (N(2, 3),),
         gradcheck={"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}),
]

OPS = {
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "sin", "cos", "clamp",
    "maximum", "minimum", "relu", "sigmoid", "tanh", "leaky_relu", "gelu", "silu", "elu", "softplus",
    "where", "masked_fill", "to",
}

(test_gradcheck_float64, test_gradgradcheck_float64, test_matches_torch_float32,
 test_every_op_has_a_case) = table_tests(CASES, OPS)


# ---------------------------------------------------------------- random broadcast shapes

def _random_broadcast_pair(rng):
    """Two shapes that broadcast: random rank 0-3, sizes 1-3, dims of b dropped or set to 1."""
    out = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 4)))
    b = list(out[rng.integers(0, len(out) + 1):])
    a = list(out)
    for shape in (a, b):
        for i in range(len(shape)):
            if rng.random() < 0.3:
                shape[i] = 1
    return tuple(a), tuple(b)


BINARY = {
    "add": (lambda a, b: a + b, "normal"),
    "sub": (lambda a, b: a - b, "normal"),
    "mul": (lambda a, b: a * b, "normal"),
    "div": (lambda a, b: a / b, "away"),
    "pow": (lambda a, b: a ** b, "positive"),
    "maximum": (F.maximum, "normal"),
    "minimum": (F.minimum, "normal"),
}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_ops_random_broadcast_shapes(op, seed):
    fn, kind = BINARY[op]
    rng = np.random.default_rng(seed)
    sa, sb = _random_broadcast_pair(rng)
    a = minigrad.tensor(Input(sa, "positive" if kind == "positive" else "normal").sample(rng),
                        requires_grad=True)
    b = minigrad.tensor(Input(sb, kind).sample(rng), requires_grad=True)
    assert gradcheck(fn, (a, b))
    out = fn(a, b)
    assert out.shape == np.broadcast_shapes(sa, sb)
    out.backward(minigrad.ones_like(out))
    assert a.grad.shape == sa and b.grad.shape == sb


UNARY = {  # op on a random shape; ``dim`` is a random valid dim of that shape
    "exp": lambda x, dim: x.exp(),
    "tanh": lambda x, dim: x.tanh(),
    "sigmoid": lambda x, dim: F.sigmoid(x),
    "gelu": lambda x, dim: F.gelu(x),
}

test_ops_on_random_shapes = random_shape_test(UNARY)


# ---------------------------------------------------------------- details the table does not show

@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("values", [([7, -7, 5, 0], [2, 2, -3, 4]), ([7.5, -7.5, 0.5, -0.0], [2.0, 2.0, -0.25, 3.0])])
def test_div_rounding_mode_matches_torch(mode, values):
    a, b = values
    for other in (b, 2, -3.0):
        ours = F.div(minigrad.tensor(a), minigrad.tensor(other) if isinstance(other, list) else other, rounding_mode=mode)
        theirs = torch.div(torch.tensor(a), torch.tensor(other) if isinstance(other, list) else other, rounding_mode=mode)
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    x = minigrad.tensor(a)
    x.div_(2, rounding_mode=mode)
    np.testing.assert_array_equal(x.data, torch.tensor(a).div_(2, rounding_mode=mode).numpy())
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
        F.div(minigrad.tensor(a), 2, rounding_mode="round")


def test_maximum_splits_gradient_on_ties_like_torch():
    a = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = minigrad.tensor([1.0, 0.0, 3.0], requires_grad=True)
    minigrad.maximum(a, b).sum().backward()
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tb = torch.tensor([1.0, 0.0, 3.0], requires_grad=True)
    torch.maximum(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.data, tb.grad.numpy())


def test_ops_keep_float64():
    x = minigrad.randn(3, 4, dtype=np.float64, requires_grad=True)
    for y in (x.exp(), F.gelu(x), F.sigmoid(x), x.softmax(1), x.var(1), x @ x.T, x * 2.0, x.clamp(0, 1)):
        assert y.dtype == np.float64


def test_retain_graph_gives_the_same_gradient_twice():
    """Backward must not change what forward saved (a second pass would then differ)."""
    for fn in (F.softplus, F.silu, F.sigmoid, F.gelu, lambda t: t.std(1), lambda t: t.var(0)):
        x = minigrad.randn(3, 4, dtype=np.float64, requires_grad=True)
        y = fn(x).sum()
        y.backward(retain_graph=True)
        first = x.grad.data.copy()
        x.grad = None
        y.backward()
        np.testing.assert_array_equal(x.grad.data, first)


@pytest.mark.parametrize("fn", [lambda lib, x: x ** 0, lambda lib, x: lib.pow(x, x), lambda lib, x: x ** 2,
                                lambda lib, x: 0.0 ** x], ids=["x^0", "x^x", "x^2", "0^x"])
def test_pow_gradient_at_zero_like_torch(fn):
    data = np.array([0.0, 1.0, 2.0, 0.5], dtype=np.float32)
    x, t = minigrad.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = fn(MG, x), fn(TORCH, t)
    # numpy's and torch's pow are different implementations (each may pick a SIMD path by CPU):
    # within an ulp, and exactly where the result is exact (the first three values of every case)
    np.testing.assert_array_max_ulp(y.data, ty.detach().numpy(), maxulp=1)
    np.testing.assert_array_equal(y.data[:3], ty.detach().numpy()[:3])
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-6)

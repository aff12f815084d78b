"""Every differentiable op in minigrad.functional: gradcheck in float64 and forward + gradient against
PyTorch in float32.

One table, two test bodies. A case is ``fn(lib, *inputs)`` written once for both libraries: ``lib`` is
minigrad (minigrad.functional, then the top-level namespace) or PyTorch (torch.nn.functional, then
torch), and most ops are Tensor methods with the same name in both. Inputs are drawn away from the
points where an op is not differentiable (kinks, clamp bounds, ties), so finite differences are valid.
"""
import dataclasses
from typing import Callable

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad.utils import gradcheck

torch = pytest.importorskip("torch")
torch_F = torch.nn.functional


class _Lib:
    """Attribute lookup over several namespaces, first hit wins."""

    def __init__(self, *namespaces):
        self.namespaces = namespaces

    def __getattr__(self, name):
        for ns in self.namespaces:
            if hasattr(ns, name):
                return getattr(ns, name)
        raise AttributeError(name)


MG = _Lib(F, minigrad)
TORCH = _Lib(torch_F, torch)


# ---------------------------------------------------------------- input samplers (float64 arrays)

@dataclasses.dataclass(frozen=True)
class Input:
    shape: tuple
    kind: str = "normal"      # normal | positive | away (from ``kinks``)
    kinks: tuple = (0.0,)

    def sample(self, rng):
        if self.kind == "normal":
            return rng.standard_normal(self.shape)
        if self.kind == "positive":
            return rng.uniform(0.5, 2.0, self.shape)
        x = rng.uniform(-2.0, 2.0, self.shape)
        for _ in range(100):  # redraw values within 0.05 of a kink
            near = np.zeros(self.shape, dtype=bool)
            for k in self.kinks:
                near |= np.abs(x - k) < 0.05
            if not near.any():
                return x
            x[near] = rng.uniform(-2.0, 2.0, int(near.sum()))
        raise AssertionError("could not sample away from the kinks")


def N(*shape):
    return Input(shape)


def P(*shape):
    return Input(shape, "positive")


def K(*shape, kinks=(0.0,)):
    return Input(shape, "away", tuple(kinks))


@dataclasses.dataclass
class Case:
    id: str
    fn: Callable
    inputs: tuple
    rtol: float = 2e-5       # float32 vs PyTorch, forward and gradient
    atol: float = 2e-6
    gradcheck: dict = dataclasses.field(default_factory=dict)  # extra gradcheck arguments


MASK = np.array([[True, False, True, False],
                 [False, False, True, True],
                 [True, True, False, False]])

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
    # ---- reductions
    Case("sum_all", lambda lib, a: a.sum(), (N(2, 3, 4),)),
    Case("sum_dim", lambda lib, a: a.sum(1), (N(2, 3, 4),)),
    Case("sum_dims_keepdim", lambda lib, a: a.sum((0, 2), keepdim=True), (N(2, 3, 4),)),
    Case("mean", lambda lib, a: a.mean(), (N(2, 3, 4),)),
    Case("mean_dim", lambda lib, a: a.mean(-1, keepdim=True), (N(2, 3, 4),)),
    Case("var", lambda lib, a: a.var(), (N(3, 4),)),
    Case("var_dim_biased", lambda lib, a: a.var(1, unbiased=False), (N(3, 4),)),
    Case("var_dims_keepdim", lambda lib, a: a.var((0, 2), keepdim=True), (N(2, 3, 4),)),
    Case("std", lambda lib, a: a.std(), (N(3, 4),)),
    Case("std_dim", lambda lib, a: a.std(1), (N(3, 4),)),
    Case("std_dim0_keepdim", lambda lib, a: a.std(0, keepdim=True), (N(3, 4),)),
    Case("amax", lambda lib, a: a.amax(), (N(3, 4),)),
    Case("amax_dims", lambda lib, a: a.amax((0, 2), keepdim=True), (N(2, 3, 4),)),
    Case("amin_dim", lambda lib, a: a.amin(1), (N(3, 4),)),
    Case("max_all", lambda lib, a: a.max(), (N(3, 4),)),
    Case("min_all", lambda lib, a: a.min(), (N(3, 4),)),
    Case("max_dim", lambda lib, a: tuple(a.max(1)), (N(3, 4),)),
    Case("max_dim_keepdim", lambda lib, a: tuple(a.max(0, keepdim=True)), (N(3, 4),)),
    Case("min_dim", lambda lib, a: tuple(a.min(-1)), (N(2, 3, 4),)),
    Case("logsumexp", lambda lib, a: a.logsumexp(1), (N(3, 4),)),
    Case("logsumexp_keepdim", lambda lib, a: a.logsumexp((0, 1), keepdim=True), (N(3, 4),)),
    Case("softmax", lambda lib, a: lib.softmax(a, 1), (N(3, 4),)),
    Case("softmax_dim0", lambda lib, a: lib.softmax(a, 0), (N(2, 3, 4),)),
    Case("log_softmax", lambda lib, a: lib.log_softmax(a, -1), (N(3, 4),)),
    # ---- shape
    Case("reshape", lambda lib, a: a.reshape(4, -1), (N(2, 3, 4),)),
    Case("view", lambda lib, a: a.view(6, 4) * 2, (N(2, 3, 4),)),
    Case("flatten", lambda lib, a: a.flatten(1), (N(2, 3, 4),)),
    Case("transpose", lambda lib, a: a.transpose(0, 2), (N(2, 3, 4),)),
    Case("T", lambda lib, a: a.T, (N(3, 4),)),
    Case("permute", lambda lib, a: a.permute(2, 0, 1), (N(2, 3, 4),)),
    Case("squeeze_all", lambda lib, a: a.squeeze(), (N(1, 3, 1, 2),)),
    Case("squeeze_dim", lambda lib, a: a.squeeze(2), (N(1, 3, 1, 2),)),
    Case("unsqueeze", lambda lib, a: a.unsqueeze(-1), (N(3, 2),)),
    Case("expand", lambda lib, a: a.expand(2, 3, 4), (N(3, 1),)),
    Case("expand_keep", lambda lib, a: a.expand(-1, 4), (N(3, 1),)),
    Case("cat", lambda lib, a, b: lib.cat([a, b, a], 1), (N(2, 3), N(2, 1))),
    Case("stack", lambda lib, a, b: lib.stack([a, b], -1), (N(2, 3), N(2, 3))),
    Case("split_size", lambda lib, a: a.split(2, 1), (N(3, 5),)),
    Case("split_sections", lambda lib, a: a.split([1, 3], 0), (N(4, 2),)),
    Case("chunk", lambda lib, a: a.chunk(3, 1), (N(2, 7),)),
    Case("pad", lambda lib, a: lib.pad(a, (1, 2)), (N(2, 3),)),
    Case("pad_2d_value", lambda lib, a: lib.pad(a, (0, 1, 2, 1), value=0.5), (N(2, 3, 4),)),
    # ---- indexing
    Case("index_int", lambda lib, a: a[1], (N(3, 4),)),
    Case("index_slice", lambda lib, a: a[:, 1:3], (N(3, 4),)),
    Case("index_step_none", lambda lib, a: a[::2, None, -1], (N(5, 4),)),
    Case("index_repeated", lambda lib, a: a[lib.tensor([0, 2, 0, 0])], (N(3, 4),)),
    Case("index_2d_repeated", lambda lib, a: a[lib.tensor([1, 1, 0]), lib.tensor([3, 3, 3])], (N(3, 4),)),
    Case("index_list_columns", lambda lib, a: a[:, [1, 1, 0]], (N(3, 4),)),
    Case("index_bool_mask", lambda lib, a: a[lib.tensor(MASK)], (N(3, 4),)),
    Case("index_bool_rows", lambda lib, a: a[lib.tensor([True, False, True])], (N(3, 4),)),
    # ---- linear algebra
    Case("matmul_1d_1d", lambda lib, a, b: a @ b, (N(4,), N(4))),
    Case("matmul_2d_1d", lambda lib, a, b: a @ b, (N(3, 4), N(4))),
    Case("matmul_1d_2d", lambda lib, a, b: a @ b, (N(4,), N(4, 3))),
    Case("matmul_2d", lambda lib, a, b: lib.matmul(a, b), (N(3, 4), N(4, 5))),
    Case("matmul_batched", lambda lib, a, b: a @ b, (N(2, 3, 4), N(2, 4, 5))),
    Case("matmul_bcast", lambda lib, a, b: a @ b, (N(2, 1, 3, 4), N(3, 4, 2))),
    Case("matmul_bcast_2d", lambda lib, a, b: a @ b, (N(2, 3, 4), N(4, 2))),
    Case("linear", lambda lib, x, w, b: lib.linear(x, w, b), (N(5, 3), N(4, 3), N(4))),
    Case("linear_nobias_3d", lambda lib, x, w: lib.linear(x, w), (N(2, 3, 3), N(4, 3))),
    Case("linear_1d", lambda lib, x, w, b: lib.linear(x, w, b), (N(3,), N(2, 3), N(2))),
    # ---- dtype conversion (float32 → float64 on the PyTorch side; lossy round trip in gradcheck)
    Case("to_float64", lambda lib, a: a.to(lib.float64) * a.to(lib.float64), (N(2, 3),),
         gradcheck={"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}),
]

# The ops (not variants) covered above, for the ≥ 40 requirement.
OPS = {
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "sin", "cos", "clamp",
    "maximum", "minimum", "relu", "sigmoid", "tanh", "leaky_relu", "gelu", "silu", "elu", "softplus",
    "where", "masked_fill", "sum", "mean", "var", "std", "amax", "amin", "max", "min", "logsumexp",
    "softmax", "log_softmax", "reshape", "view", "flatten", "transpose", "permute", "squeeze",
    "unsqueeze", "expand", "cat", "stack", "split", "chunk", "pad", "index", "matmul", "linear", "to",
}


def test_at_least_40_ops_covered():
    assert len(OPS) >= 40
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    for op in OPS:
        assert any(i == op or i.startswith(op + "_") or (op, i) in {("to", "to_float64")} for i in ids), op


def _arrays(case, seed):
    rng = np.random.default_rng(seed)
    return [spec.sample(rng) for spec in case.inputs]


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck_float64(case):
    inputs = [minigrad.tensor(a, requires_grad=True) for a in _arrays(case, seed=1)]
    assert gradcheck(lambda *xs: case.fn(MG, *xs), inputs, **case.gradcheck)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_torch_float32(case):
    arrays = [a.astype(np.float32) for a in _arrays(case, seed=2)]
    xs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs = _outputs(case.fn(MG, *xs))
    touts = _outputs(case.fn(TORCH, *ts))
    assert len(outs) == len(touts)

    rng = np.random.default_rng(3)
    grads, tgrads, diff, tdiff = [], [], [], []
    for o, t in zip(outs, touts):
        assert isinstance(o, minigrad.Tensor)
        assert o.shape == tuple(t.shape), case.id
        want = t.detach().numpy()
        assert o.dtype == want.dtype, (o.dtype, want.dtype)
        if o.dtype.kind == "f":
            np.testing.assert_allclose(o.data, want, rtol=case.rtol, atol=case.atol, err_msg=case.id)
            g = rng.standard_normal(o.shape).astype(o.dtype)
            diff.append(o), tdiff.append(t), grads.append(g), tgrads.append(torch.tensor(g))
        else:  # indices of max/min: exact
            np.testing.assert_array_equal(o.data, want)

    minigrad.autograd.backward(diff, grads)
    torch.autograd.backward(tdiff, tgrads)
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None and x.grad.dtype == x.dtype, f"{case.id}: input {i}"
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=case.rtol, atol=case.atol,
                                   err_msg=f"{case.id}: gradient of input {i}")


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


def _random_shape(rng):
    """Rank 1-3, sizes 1-3 (size-1 dims are frequent)."""
    return tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 4)))


UNARY = {  # op on a random shape; ``dim`` is a random valid dim of that shape
    "exp": lambda x, dim: x.exp(),
    "tanh": lambda x, dim: x.tanh(),
    "sigmoid": lambda x, dim: F.sigmoid(x),
    "gelu": lambda x, dim: F.gelu(x),
    "sum": lambda x, dim: x.sum(dim, keepdim=True),
    "mean": lambda x, dim: x.mean(dim),
    "var": lambda x, dim: x.var(dim, unbiased=False),
    "amax": lambda x, dim: x.amax(dim),
    "logsumexp": lambda x, dim: x.logsumexp(dim),
    "softmax": lambda x, dim: x.softmax(dim),
    "log_softmax": lambda x, dim: x.log_softmax(dim),
    "transpose": lambda x, dim: x.transpose(dim, 0),
    "unsqueeze_squeeze": lambda x, dim: x.unsqueeze(dim).squeeze(),
    "cat": lambda x, dim: minigrad.cat([x, x * 2], dim),
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("op", sorted(UNARY))
def test_ops_on_random_shapes(op, seed):
    rng = np.random.default_rng(100 + seed)
    shape = _random_shape(rng)
    dim = int(rng.integers(-len(shape), len(shape)))
    x = minigrad.tensor(rng.standard_normal(shape), requires_grad=True)
    assert gradcheck(lambda t: UNARY[op](t, dim), (x,))


# ---------------------------------------------------------------- details the table does not show

def test_indexing_accumulates_repeated_indices():
    x = minigrad.zeros(4, dtype=np.float64, requires_grad=True)
    x[minigrad.tensor([1, 1, 1, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 3, 0, 1])


def test_maximum_splits_gradient_on_ties_like_torch():
    a = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = minigrad.tensor([1.0, 0.0, 3.0], requires_grad=True)
    minigrad.maximum(a, b).sum().backward()
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tb = torch.tensor([1.0, 0.0, 3.0], requires_grad=True)
    torch.maximum(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.data, tb.grad.numpy())


def test_max_along_dim_takes_first_index_on_ties():
    x = minigrad.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(1)
    np.testing.assert_array_equal(indices.data, [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 0], [1, 0, 0]])


def test_amax_shares_gradient_among_ties_like_torch():
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    x = minigrad.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    x.amax(1).sum().backward()
    t.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())


def test_argmax_argmin_and_comparisons_have_no_grad():
    x = minigrad.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    assert x.argmax().item() == 2 and x.argmin(1).tolist() == [1]
    for r in (x > 0, x >= 0.5, x < 0, x <= 0.5, x == 2.0, x != 2.0):
        assert r.dtype == np.bool_ and not r.requires_grad
    np.testing.assert_array_equal((x > 0).data, [[True, False, True]])


def test_stable_softmax_logsumexp_sigmoid_on_large_inputs():
    x = minigrad.tensor([[1000.0, 0.0, -1000.0]])
    t = torch.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.softmax(x, 1).data, torch.softmax(t, 1).numpy())
    np.testing.assert_allclose(F.log_softmax(x, 1).data, torch.log_softmax(t, 1).numpy())
    np.testing.assert_allclose(x.logsumexp(1).data, t.logsumexp(1).numpy())
    np.testing.assert_allclose(F.sigmoid(x).data, torch.sigmoid(t).numpy())
    assert np.all(np.isfinite(F.softplus(x).data))


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


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns about zero degrees of freedom
@pytest.mark.filterwarnings("error::RuntimeWarning")  # minigrad must not: NaN is the documented answer
@pytest.mark.parametrize("data, fn", [
    ([1.5, 1.5, 1.5], lambda t: t.std()),          # constant input: std 0, gradient 0 (not 0/0)
    ([[1.5, 2.0]], lambda t: t.std(0)),             # one value per column: NaN, no exception
    ([[1.5, 2.0]], lambda t: t.var(0)),
    ([2.0], lambda t: t.var(unbiased=False)),        # biased variance of one value: 0
], ids=["std_const", "std_n1", "var_n1", "var_biased_n1"])
def test_var_std_degenerate_inputs_like_torch(data, fn):
    x = minigrad.tensor(data, dtype=np.float64, requires_grad=True)
    t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    y, ty = fn(x), fn(t)
    y.backward(minigrad.ones_like(y))
    ty.backward(torch.ones_like(ty))
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


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


@pytest.mark.parametrize("fn", [
    lambda x: x.softmax(0), lambda x: x.log_softmax(-1), lambda x: tuple(x.max(0)),
    lambda x: tuple(x.min(-1, keepdim=True)), lambda x: (x.argmax(0),), lambda x: (x.argmin(-1),),
], ids=["softmax", "log_softmax", "max", "min_keepdim", "argmax", "argmin"])
def test_0d_input_with_dim_like_torch(fn):
    x, t = minigrad.tensor(1.5, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    outs, touts = _outputs(fn(x)), _outputs(fn(t))
    for o, to in zip(outs, touts):
        assert o.shape == () and o.dtype == to.detach().numpy().dtype
        np.testing.assert_allclose(o.data, to.detach().numpy())
    if outs[0].requires_grad:
        outs[0].backward()
        touts[0].backward()
        np.testing.assert_allclose(x.grad.data, t.grad.numpy())


def test_dim_must_be_one_int_for_single_dim_ops():
    x = minigrad.ones(2, 3)
    for fn in (lambda: x.softmax((0, 1)), lambda: x.max((0, 1)), lambda: x.argmax(1.0)):
        with pytest.raises(TypeError, match="dim must be an int"):
            fn()
    with pytest.raises(IndexError, match="Dimension out of range"):
        minigrad.tensor(1.0).softmax(1)


@pytest.mark.parametrize("dims", [(0, 0), (0, -1), (-1, -1)])
def test_transpose_of_0d_like_torch(dims):
    x, t = minigrad.tensor(1.5, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    y, ty = x.transpose(*dims), t.transpose(*dims)
    assert y.shape == () and float(y.data) == ty.item()
    y.backward()
    assert float(x.grad.data) == 1.0
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.transpose(0, 1)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("int64", "float32"), ("float64", "int32"),
                                    ("int32", "int64")])
def test_cat_promotes_dtypes_like_torch(dtypes):
    arrays = [np.arange(3).astype(dt) for dt in dtypes]
    out = minigrad.cat([minigrad.tensor(a) for a in arrays])
    expected = torch.cat([torch.from_numpy(a) for a in arrays])
    assert out.dtype == expected.numpy().dtype
    np.testing.assert_array_equal(out.data, expected.numpy())


def test_cat_of_mixed_floats_returns_each_gradient_in_its_dtype():
    a = minigrad.tensor(np.ones(2, np.float32), requires_grad=True)
    b = minigrad.tensor(np.ones(3, np.float64), requires_grad=True)
    (minigrad.cat([a, b]) * minigrad.tensor(np.arange(5.0))).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.data, [0, 1])
    np.testing.assert_array_equal(b.grad.data, [2, 3, 4])

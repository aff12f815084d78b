"""minigrad.autograd.functional (minigrad/autograd_functional.py) against torch.autograd.functional:
same results in the same structure (Tensor or tuples), create_graph, strict, and the errors."""
import numpy as np
import pytest

import minigrad
import minigrad.autograd.functional as AF

torch = pytest.importorskip("torch")
TAF = torch.autograd.functional

RNG = np.random.default_rng(0)
X, Y, V, U = RNG.standard_normal(4), RNG.standard_normal(3), RNG.standard_normal(4), RNG.standard_normal(3)


def scalar_fn(lib, x, y):
    return (x.tanh() * 2).sum() * y.sum() + (y ** 3).sum() + (x.exp() * x).sum()


def vector_fn(lib, x):
    return (x[:3] * x[1:]).tanh()


def two_outputs(lib, x, y):
    return x.exp() * 2, (x[:3] * y).sum()


def both(fn, *arrays):
    """fn on minigrad tensors and on torch tensors of the same float64 data."""
    return (fn(minigrad, *[minigrad.tensor(a) for a in arrays]),
            fn(torch, *[torch.tensor(a) for a in arrays]))


def assert_same(got, want):
    """Same nesting (Tensor / tuple) and the same values."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    else:
        assert isinstance(got, minigrad.Tensor)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["jacobian", "hessian"])
def test_single_and_tuple_inputs_like_torch(name):
    if name == "jacobian":
        single = both(lambda lib, x: getattr(AF if lib is minigrad else TAF, name)(
            lambda t: vector_fn(lib, t), x), X)
        tupled = both(lambda lib, x, y: getattr(AF if lib is minigrad else TAF, name)(
            lambda a, b: two_outputs(lib, a, b), (x, y)), X, Y)
    else:
        single = both(lambda lib, x: getattr(AF if lib is minigrad else TAF, name)(
            lambda t: scalar_fn(lib, t, t[:3]), x), X)
        tupled = both(lambda lib, x, y: getattr(AF if lib is minigrad else TAF, name)(
            lambda a, b: scalar_fn(lib, a, b), (x, y)), X, Y)
    assert_same(*single)
    assert_same(*tupled)


def test_vjp_jvp_vhp_hvp_like_torch():
    for name, fn, args, vs in [
        ("vjp", vector_fn, (X,), (U,)),
        ("jvp", vector_fn, (X,), (V,)),
        ("vhp", scalar_fn, (X, Y), (V, U)),
        ("hvp", scalar_fn, (X, Y), (V, U)),
    ]:
        def call(lib, *arrays):
            n = len(args)
            xs, v = arrays[:n], arrays[n:]
            api = AF if lib is minigrad else TAF
            inputs = xs[0] if n == 1 else tuple(xs)
            vec = v[0] if n == 1 else tuple(v)
            return getattr(api, name)(lambda *t: fn(lib, *t), inputs, vec)
        assert_same(*both(call, *args, *vs))


def test_create_graph_results_are_differentiable():
    x = minigrad.tensor(X, requires_grad=True)
    _, hv = AF.hvp(lambda t: (t ** 4).sum(), x, minigrad.tensor(V), create_graph=True)
    assert hv.requires_grad
    (g,) = minigrad.autograd.grad(hv.sum(), x)  # ∂/∂x Σ 12x²v = 24xv
    np.testing.assert_allclose(g.data, 24 * X * V)
    h = AF.hessian(lambda t: (t ** 3).sum(), x)
    assert not h.requires_grad  # without create_graph: no graph, x untouched
    assert x.grad is None


def test_strict_and_unused_inputs_like_torch():
    def fn(lib, x, y):
        return x * 2
    got = both(lambda lib, x, y: (AF if lib is minigrad else TAF).jacobian(
        lambda a, b: fn(lib, a, b), (x, y)), X, Y)
    assert_same(*got)  # zeros for the unused y
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: fn(minigrad, a, b), (minigrad.tensor(X), minigrad.tensor(Y)), strict=True)


def test_errors():
    x = minigrad.tensor(X)
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(lambda t: t * 2, x)
    with pytest.raises(RuntimeError, match="v can only be None"):
        AF.vjp(lambda t: t * 2, x)
    with pytest.raises(RuntimeError, match="invalid size"):
        AF.vjp(lambda t: t * 2, x, minigrad.tensor(Y))
    with pytest.raises(TypeError, match="must be a Tensor"):
        AF.jacobian(lambda t: t, [1.0, 2.0])
    with pytest.raises(NotImplementedError, match="vectorize"):
        AF.jacobian(lambda t: t, x, vectorize=True)
    assert minigrad.autograd.functional is AF

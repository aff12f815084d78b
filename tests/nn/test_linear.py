"""nn.Linear: forward and backward against torch.nn.Linear with the same weights, and default init."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import nn

torch = pytest.importorskip("torch")

@pytest.mark.parametrize("in_f, out_f, batch", [(1, 1, (1,)), (7, 5, (3,)), (16, 33, (2, 4)), (5, 3, ())])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_linear_matches_torch(in_f, out_f, batch, bias, dtype, tol):
    tdtype = getattr(torch, str(dtype))
    lin = nn.Linear(in_f, out_f, bias=bias, dtype=dtype)
    ref = torch.nn.Linear(in_f, out_f, bias=bias, dtype=tdtype)
    with torch.no_grad():  # copy minigrad's weights into torch
        ref.weight.copy_(torch.from_numpy(lin.weight.data))
        if bias:
            ref.bias.copy_(torch.from_numpy(lin.bias.data))
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(batch + (in_f,)).astype(dtype)
    x, tx = minigrad.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = lin(x), ref(tx)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(minigrad.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(lin.weight.grad.data, ref.weight.grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(lin.bias.grad.data, ref.bias.grad.numpy(), **tol)
    else:
        assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ["weight"]


def test_linear_gradcheck():
    from minigrad.utils import gradcheck
    lin = nn.Linear(4, 3).double()
    x = minigrad.randn(2, 4, dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: minigrad.functional.linear(x, w, b), (x, lin.weight, lin.bias))


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    fan_in = 64
    lin = nn.Linear(fan_in, 200)
    bound = 1 / math.sqrt(fan_in)
    for p in (lin.weight.data, lin.bias.data):
        assert np.abs(p).max() <= bound
    w = lin.weight.data.ravel()
    # U(-b, b): mean 0, variance b²/3, and close to the edges (not a narrower distribution)
    assert abs(w.mean()) < 0.05 * bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.05
    assert np.abs(w).max() > 0.99 * bound
    hist, _ = np.histogram(w, bins=10, range=(-bound, bound))
    assert hist.min() > 0.8 * hist.mean()  # flat, not bell-shaped


def test_linear_init_follows_manual_seed():
    minigrad.manual_seed(7)
    a = nn.Linear(3, 2)
    minigrad.manual_seed(7)
    b = nn.Linear(3, 2)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)


def test_linear_repr_and_shape_errors():
    assert repr(nn.Linear(3, 2)) == repr(torch.nn.Linear(3, 2))
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)"):
        lin(minigrad.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)"):
        torch.nn.Linear(3, 2)(torch.ones(4, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        lin(minigrad.ones(4, 3, dtype=np.float64))


def test_linear_without_grad_builds_no_graph():
    lin = nn.Linear(3, 2)
    with minigrad.no_grad():
        y = lin(minigrad.ones(4, 3))
    assert not y.requires_grad and y.grad_fn is None


@pytest.mark.parametrize("make", [
    lambda **kw: nn.Linear(3, 2, **kw), lambda **kw: nn.Bilinear(2, 3, 4, **kw), lambda **kw: nn.Conv1d(2, 3, 3, **kw),
    lambda **kw: nn.Conv2d(2, 3, 3, **kw), lambda **kw: nn.ConvTranspose2d(2, 3, 3, **kw),
    lambda **kw: nn.BatchNorm1d(3, **kw), lambda **kw: nn.BatchNorm2d(3, **kw), lambda **kw: nn.LayerNorm(3, **kw),
    lambda **kw: nn.GroupNorm(1, 3, **kw), lambda **kw: nn.Embedding(4, 3, **kw), lambda **kw: nn.PReLU(**kw),
])
def test_layers_take_pytorchs_device_and_dtype(make):
    """``device=`` (the CPU, by name or object) and ``dtype=``; another device is refused by name."""
    layer = make(device=minigrad.device("cpu"), dtype=minigrad.float64)
    assert {t.dtype for t in list(layer.parameters()) + [b for b in layer.buffers() if b.dtype.kind == "f"]} \
        == {np.dtype(np.float64)}
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        make(device="cuda")

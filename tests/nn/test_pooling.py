"""max_pool2d / avg_pool2d / adaptive_avg_pool2d and their modules against PyTorch 2.13, gradcheck."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import _ops
from minigrad.utils import gradcheck

torch = pytest.importorskip("torch")

# (x shape, kwargs)
MAX_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((1, 2, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 11, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))),
    ((2, 2, 10, 10), dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    ((3, 8, 8), dict(kernel_size=2, stride=1)),  # unbatched
]
AVG_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((1, 2, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 7, 9), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 2, 8, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 2, 8, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((2, 3, 11, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), divisor_override=4)),
    ((3, 8, 8), dict(kernel_size=2, stride=1)),  # unbatched
]


def _compare(fn, tfn, x, kwargs, dtype, backend="compiled"):
    X, tX = minigrad.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with _ops.use_backend(backend):
        y = fn(X, **kwargs)
        ty = tfn(tX, **kwargs)
        assert y.shape == tuple(ty.shape) and y.dtype == dtype
        g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
        y.backward(minigrad.Tensor(g))
    ty.backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(X.grad.data, tX.grad.numpy(), **tol)
    assert X.grad.dtype == dtype


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kwargs", MAX_CASES)
def test_max_pool2d_matches_torch(shape, kwargs, dtype, backend):
    # integers in a small range: many ties, which must resolve like torch's (first maximum)
    x = np.random.default_rng(0).integers(-4, 5, shape).astype(dtype)
    _compare(F.max_pool2d, torch.nn.functional.max_pool2d, x, kwargs, dtype, backend)


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("shape,kwargs", MAX_CASES)
def test_max_pool2d_return_indices_matches_torch(shape, kwargs, backend):
    x = np.random.default_rng(0).integers(-4, 5, shape).astype(np.float32)  # ties: first maximum wins
    X = minigrad.Tensor(x, requires_grad=True)
    with _ops.use_backend(backend):
        y, idx = F.max_pool2d(X, **kwargs, return_indices=True)
        m_y, m_idx = nn.MaxPool2d(**kwargs, return_indices=True)(X)
        g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
        y.backward(minigrad.Tensor(g))
    ty, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs, return_indices=True)
    assert idx.dtype == np.int64 and not idx.requires_grad
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    np.testing.assert_array_equal(m_idx.data, tidx.numpy())
    np.testing.assert_array_equal(y.data, ty.numpy())
    np.testing.assert_array_equal(m_y.data, ty.numpy())
    # backward uses its own indices: zeroing the returned ones (before backward) changes nothing
    X2 = minigrad.Tensor(x, requires_grad=True)
    with _ops.use_backend(backend):
        y2, idx2 = F.max_pool2d(X2, **kwargs, return_indices=True)
        idx2.data[...] = 0
        y2.backward(minigrad.Tensor(g))
    X3 = minigrad.Tensor(x, requires_grad=True)
    with _ops.use_backend(backend):
        F.max_pool2d(X3, **kwargs).backward(minigrad.Tensor(g))
    np.testing.assert_array_equal(X2.grad.data, X3.grad.data)
    np.testing.assert_array_equal(X.grad.data, X3.grad.data)


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("shape,kwargs", MAX_CASES)
def test_max_pool2d_without_grad_skips_indices(shape, kwargs, backend, monkeypatch):
    x = np.random.default_rng(0).integers(-4, 5, shape).astype(np.float32)
    x[(0,) * (len(shape) - 2) + (1, 1)] = np.nan  # NaN wins in the values-only kernels too
    ty = torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs)
    asked = []
    door = _ops.max_pool2d_forward
    monkeypatch.setattr(_ops, "max_pool2d_forward", lambda *a: asked.append(a[-1]) or door(*a))
    with _ops.use_backend(backend):
        with minigrad.no_grad():
            y = F.max_pool2d(minigrad.Tensor(x, requires_grad=True), **kwargs)  # inference
            y_idx, idx = F.max_pool2d(minigrad.Tensor(x), **kwargs, return_indices=True)
        y_const = F.max_pool2d(minigrad.Tensor(x), **kwargs)  # no input requires grad
        y_grad = F.max_pool2d(minigrad.Tensor(x, requires_grad=True), **kwargs)
    assert asked == [False, True, False, True]  # indices only where asked for or needed by backward
    for out in (y, y_idx, y_const, y_grad):
        np.testing.assert_array_equal(out.data, ty.numpy())
    np.testing.assert_array_equal(idx.data, torch.nn.functional.max_pool2d(torch.tensor(x), **kwargs,
                                                                           return_indices=True)[1].numpy())


def test_max_pool2d_nan_like_torch():
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    x[0, 0, 1, 1] = x[1, 1, 4, 5] = x[1, 1, 5, 5] = np.nan
    _compare(F.max_pool2d, torch.nn.functional.max_pool2d, x, dict(kernel_size=3, stride=2, padding=1),
             np.float64)


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kwargs", AVG_CASES)
def test_avg_pool2d_matches_torch(shape, kwargs, dtype, backend):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(F.avg_pool2d, torch.nn.functional.avg_pool2d, x, kwargs, dtype, backend)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,out", [((2, 3, 7, 9), 1), ((2, 3, 8, 6), (4, 3)), ((2, 3, 7, 9), (3, 4)),
                                       ((2, 3, 10, 5), (None, 3)), ((3, 5, 5), (2, 2))])
def test_adaptive_avg_pool2d_matches_torch(shape, out, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(F.adaptive_avg_pool2d, torch.nn.functional.adaptive_avg_pool2d, x, dict(output_size=out), dtype)


def test_pooling_gradcheck():
    rng = np.random.default_rng(2)
    x = minigrad.Tensor(rng.standard_normal((2, 2, 7, 6)), requires_grad=True)  # distinct values: no ties
    assert gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False), (x,))
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, (3, 4)), (x,))


def test_pooling_modules():
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 9)).astype(np.float32)
    for m, tm in [(nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                  (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                  (nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
                  (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1))]:
        np.testing.assert_allclose(m(minigrad.Tensor(x)).data, tm(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)
        assert list(m.parameters()) == []
    assert "kernel_size=3" in repr(nn.MaxPool2d(3)) and "output_size=1" in repr(nn.AdaptiveAvgPool2d(1))


def test_pooling_errors():
    x = minigrad.Tensor(np.zeros((2, 3, 6, 6), np.float32))
    with pytest.raises(ValueError, match="at most half of kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="output size"):
        F.avg_pool2d(x, 7)
    with pytest.raises(RuntimeError, match="3D or 4D"):
        F.max_pool2d(minigrad.Tensor(np.zeros((6, 6), np.float32)), 2)
    with pytest.raises(ValueError, match="at most half of kernel size"):
        nn.MaxPool2d(2, padding=2, return_indices=True)(x)

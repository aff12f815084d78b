"""minigrad.functional.logical (results without gradient) against torch: isclose/allclose/equal,
all/any, nonzero, argsort, with dims, keepdim, NaN and errors."""
import numpy as np
import pytest
import torch

import minigrad


def _pair(a):
    return minigrad.tensor(a), torch.tensor(a)


def test_isclose_allclose_equal_match_torch():
    a = np.array([1.0, 1.0 + 1e-6, np.nan, np.inf, 2.0])
    b = np.array([1.0, 1.0, np.nan, np.inf, 2.1])
    (x, tx), (y, ty) = _pair(a), _pair(b)
    for kw in [{}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.2, "rtol": 0.0}]:
        np.testing.assert_array_equal(minigrad.isclose(x, y, **kw).numpy(), torch.isclose(tx, ty, **kw).numpy())
        np.testing.assert_array_equal(x.isclose(y, **kw).numpy(), tx.isclose(ty, **kw).numpy())
        assert minigrad.allclose(x, y, **kw) == torch.allclose(tx, ty, **kw)
        assert x.allclose(y, **kw) == tx.allclose(ty, **kw)
    assert minigrad.equal(x[:2], x[:2]) and not minigrad.equal(x[:2], x[:3]) and not x[:2].equal(y[:2])
    assert minigrad.equal(minigrad.tensor([1, 2]), minigrad.tensor([1, 2])) is True


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_all_any_match_torch(name, dim, keepdim):
    a = np.array([[1, 0, 2], [3, 4, 5]])
    x, tx = _pair(a)
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    ours, theirs = getattr(minigrad, name)(x, **kw), getattr(torch, name)(tx, **kw)
    assert ours.dtype == np.bool_ and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(getattr(x, name)(**kw).numpy(), theirs.numpy())
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(minigrad, name)(x, dim=2)


@pytest.mark.parametrize("a", [np.array([[0, 1.5], [2, 0]]), np.array([0, 3, 0, 4]), np.array(2.0), np.zeros((2, 0))])
def test_nonzero_matches_torch(a):
    x, tx = _pair(a)
    ours, theirs = minigrad.nonzero(x), torch.nonzero(tx)
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for u, v in zip(x.nonzero(as_tuple=True), tx.nonzero(as_tuple=True)):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


@pytest.mark.parametrize("dim", [-1, 0])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_, np.uint8])
def test_argsort_matches_torch_stable(dim, descending, dtype):
    a = np.array([[3, 1, 2, 1, 0], [0, 5, 5, 2, 7], [1, 1, 0, 3, 3]]).astype(dtype)
    if dtype == np.float64:
        a[0, 2], a[2, 4] = np.nan, -np.inf
    x, tx = _pair(a)
    ours = minigrad.argsort(x, dim=dim, descending=descending)
    theirs = torch.argsort(tx, dim=dim, descending=descending, stable=True)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(x.argsort(dim, descending).numpy(), theirs.numpy())

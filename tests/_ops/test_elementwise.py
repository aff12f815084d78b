"""ReLU kernels (_ops/elementwise.pyx) against their numpy twins, and the door's validation."""
from unittest import mock

import numpy as np
import pytest

import minigrad
import minigrad._ops as ops
from minigrad._ops import reference

pytestmark = pytest.mark.skipif("relu_forward" not in ops._compiled, reason="compiled elementwise not built")

SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 5, 7), (1, 1, 1), (70_001,), (257, 263)]  # odd, and > PARALLEL_MIN


def both(name, *args):
    """(compiled, reference) results of kernel ``name``, both through the door (validation included).

    Only this kernel is switched, so the test does not depend on other extensions being built."""
    results = []
    for impl in (ops._compiled[name], getattr(reference, name)):
        with mock.patch.dict(ops._impl, {name: impl}):
            results.append(getattr(ops, name)(*args))
    return tuple(results)


def sample(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x.reshape(-1)[:: 7] = 0  # exact zeros: the convention at the kink must match
    return x


def test_compiled_kernels_are_the_extension():
    for name in ("relu_forward", "relu_backward"):
        assert ops._compiled[name].__module__ == "minigrad._ops.elementwise"
        assert ops._compiled[name] is not getattr(reference, name)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_relu_forward_backward_match_reference(shape, dtype, threads):
    rng = np.random.default_rng(0)
    x = sample(rng, shape, dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y, y_ref = both("relu_forward", x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, y_ref)
    gx, gx_ref = both("relu_backward", g, x)
    assert gx.dtype == dtype and gx.shape == x.shape
    np.testing.assert_array_equal(gx, gx_ref)
    np.testing.assert_array_equal(gx, np.where(x > 0, g, 0))  # gradient 0 at x == 0, like PyTorch


@pytest.mark.parametrize("layout", ["transposed", "strided", "fortran"])
def test_non_contiguous_inputs(layout, dtype, threads):
    rng = np.random.default_rng(1)
    base = sample(rng, (9, 14), dtype)
    x = {"transposed": base.T, "strided": base[::2, 1::3], "fortran": np.asfortranarray(base)}[layout]
    g = rng.standard_normal(x.shape).astype(dtype)[::-1]  # negative strides for the gradient
    y, y_ref = both("relu_forward", x)
    np.testing.assert_array_equal(y, y_ref)
    gx, gx_ref = both("relu_backward", g, x)
    np.testing.assert_array_equal(gx, gx_ref)


def test_read_only_inputs(dtype, threads):
    rng = np.random.default_rng(2)
    x, g = sample(rng, (5, 11), dtype), rng.standard_normal((5, 11)).astype(dtype)
    x.flags.writeable = g.flags.writeable = False
    y, y_ref = both("relu_forward", x)
    np.testing.assert_array_equal(y, y_ref)
    gx, gx_ref = both("relu_backward", g, x)
    np.testing.assert_array_equal(gx, gx_ref)
    assert y.flags.writeable and gx.flags.writeable


def test_inputs_are_not_modified(dtype):
    x = sample(np.random.default_rng(3), (100,), dtype)
    before = x.copy()
    both("relu_forward", x)
    np.testing.assert_array_equal(x, before)


def test_nan_and_inf_propagate_like_torch(dtype, threads):
    torch = pytest.importorskip("torch")
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -1.0, 2.0], dtype=dtype)
    y, y_ref = both("relu_forward", x)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(y, torch.relu(torch.from_numpy(x)).numpy())
    assert np.isnan(y[0])
    g = np.ones_like(x)
    g[-1] = np.nan  # a NaN gradient passes through where x > 0
    gx, gx_ref = both("relu_backward", g, x)
    np.testing.assert_array_equal(gx, gx_ref)
    assert np.isnan(gx[-1])
    xt = torch.from_numpy(x).requires_grad_()
    torch.relu(xt).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(gx, xt.grad.numpy())  # incl. a NaN input passing its gradient


def test_door_validation_errors():
    with mock.patch.dict(ops._impl, {k: ops._compiled[k] for k in ("relu_forward", "relu_backward")}):
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64, got int64"):
            ops.relu_forward(np.arange(3))
        with pytest.raises(TypeError, match="expected a numpy.ndarray"):
            ops.relu_forward([1.0, 2.0])
        x = np.ones(4, np.float32)
        with pytest.raises(ValueError, match=r"grad_out: expected shape \(4,\)"):
            ops.relu_backward(np.ones(5, np.float32), x)
        with pytest.raises(TypeError, match="grad_out: expected dtype float32"):
            ops.relu_backward(np.ones(4, np.float64), x)


def test_relu_op_on_both_backends(backend):
    x = minigrad.tensor([[-1.0, 0.0, 3.0]], requires_grad=True)
    y = minigrad.functional.relu(x)
    (y * minigrad.tensor([[5.0, 6.0, 7.0]])).sum().backward()
    assert y.tolist() == [[0.0, 0.0, 3.0]] and x.grad.tolist() == [[0.0, 0.0, 7.0]]

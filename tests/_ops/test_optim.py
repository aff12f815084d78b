"""Fused optimizer updates (_ops/optim.pyx) against their numpy twins, and the door's validation."""
from unittest import mock

import numpy as np
import pytest

import minigrad._ops as ops
from minigrad._ops import reference

pytestmark = pytest.mark.skipif("adam_step" not in ops._compiled, reason="compiled optim not built")

SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 5), (70_001,), (140_003,)]  # odd, and above PARALLEL_MIN (2^17)

SGD_OPTIONS = [
    dict(momentum=0.0), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3), dict(momentum=0.8, nesterov=True),
    dict(momentum=0.0, weight_decay=0.1, maximize=True), dict(momentum=0.9, nesterov=True, weight_decay=0.05),
]
ADAM_OPTIONS = [
    dict(), dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled=True), dict(amsgrad=True),
    dict(maximize=True, amsgrad=True, weight_decay=0.05), dict(beta1=0.3),  # β1 < 0.5: lerp's other form
]


def _state(rng, shape, dtype, n):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(n)]


def _run(name, arrays, kwargs, impl, steps=3):
    """Apply ``steps`` updates through the door with kernel ``impl``; returns the updated copies."""
    arrays = [None if a is None else a.copy() for a in arrays]
    with mock.patch.dict(ops._impl, {name: impl}):
        for step in range(1, steps + 1):
            if name == "sgd_step":
                ops.sgd_step(*arrays, lr=0.1, first=step == 1, **kwargs)
            else:
                kw = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
                kw.update(kwargs)
                ops.adam_step(*arrays, step=step, **kw)
    return arrays


def _tol(dtype):
    return dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)


def test_compiled_kernels_are_the_extension():
    for name in ("sgd_step", "adam_step"):
        assert ops._compiled[name].__module__ == "minigrad._ops.optim"


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_step_matches_reference(rng, dtype, threads, shape, options):
    param, grad, buf = _state(rng, shape, dtype, 3)
    grad.setflags(write=False)  # read-only gradients are fine
    arrays = [param, grad, buf if options["momentum"] else None]
    got = _run("sgd_step", arrays, options, ops._compiled["sgd_step"])
    want = _run("sgd_step", arrays, options, reference.sgd_step)
    for g, w in zip(got, want):
        if g is not None:
            np.testing.assert_allclose(g, w, **_tol(dtype))
    assert not np.array_equal(got[0], param)  # the update happened in place


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adam_step_matches_reference(rng, dtype, threads, shape, options):
    param, grad = _state(rng, shape, dtype, 2)
    m, v, vmax = (np.zeros(shape, dtype) for _ in range(3))
    arrays = [param, grad, m, v, vmax if options.get("amsgrad") else None]
    got = _run("adam_step", arrays, options, ops._compiled["adam_step"])
    want = _run("adam_step", arrays, options, reference.adam_step)
    for g, w in zip(got, want):
        if g is not None:
            np.testing.assert_allclose(g, w, **_tol(dtype))
    assert not np.array_equal(got[0], param)


def test_strided_arrays_update_in_place_through_the_numpy_twin(rng):
    base = rng.standard_normal((6, 8))
    param = base[:, ::2]  # not C-contiguous: must still be updated in place, never copied
    expected = param.copy()
    grad = rng.standard_normal((6, 4))
    reference.sgd_step(expected, grad, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    ops.sgd_step(param, grad.T.copy().T, None, lr=0.1)
    np.testing.assert_allclose(base[:, ::2], expected, rtol=1e-15)
    m, v = np.zeros((4, 6)).T, np.zeros((6, 4))
    ops.adam_step(param, grad, m, v, None, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=1)
    assert np.all(m != 0)


def test_door_validation():
    p = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match=r"grad: expected dtype float32 \(the dtype of param\)"):
        ops.sgd_step(p, np.zeros(3), None, lr=0.1)
    with pytest.raises(ValueError, match=r"grad: expected shape \(3,\)"):
        ops.sgd_step(p, np.zeros(4, np.float32), None, lr=0.1)
    with pytest.raises(ValueError, match="momentum_buffer: required"):
        ops.sgd_step(p, p, None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="exp_avg_sq: expected shape"):
        ops.adam_step(p, p, p.copy(), np.zeros(2, np.float32), None, 0.1, 0.9, 0.99, 1e-8, 0.0, 1)
    with pytest.raises(ValueError, match="max_exp_avg_sq: required"):
        ops.adam_step(p, p, p.copy(), p.copy(), None, 0.1, 0.9, 0.99, 1e-8, 0.0, 1, amsgrad=True)
    with pytest.raises(ValueError, match="step: expected an update number >= 1"):
        ops.adam_step(p, p, p.copy(), p.copy(), None, 0.1, 0.9, 0.99, 1e-8, 0.0, 0)
    ro = np.zeros(3, np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="param: expected a writeable array"):
        ops.sgd_step(ro, p, None, lr=0.1)
    with pytest.raises(TypeError, match="param: expected dtype"):
        ops.sgd_step(np.zeros(3, np.int64), np.zeros(3, np.int64), None, lr=0.1)

"""``minigrad.autograd.detect_anomaly`` / ``set_detect_anomaly``: the first op whose forward or
backward produced NaN/inf raises, naming the op and the user's file:line where it was created."""
import inspect

import numpy as np
import pytest

import minigrad
from minigrad import autograd, nn

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(0), 0/0: on purpose here
HERE = __file__


def _line():
    """The caller's line number."""
    return inspect.currentframe().f_back.f_lineno


def test_forward_inf_names_the_op_and_the_users_line():
    x = minigrad.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with autograd.detect_anomaly():
        with pytest.raises(RuntimeError) as err:
            line = _line(); x.log()  # noqa: E702 - the creating line must be this one
    assert "Function 'Log' returned inf values" in str(err.value)
    assert f"created at {HERE}:{line}" in str(err.value)


def test_backward_nan_names_the_backward_op_like_torch():
    x = minigrad.tensor([0.0, 4.0], requires_grad=True)
    with autograd.detect_anomaly():
        line = _line(); y = x.sqrt()  # noqa: E702
        loss = (y * 0).sum()  # ∂sqrt at 0 is inf; times a zero gradient: 0·inf = nan
        with pytest.raises(RuntimeError) as err:
            loss.backward()
    ours = str(err.value)
    assert "Function 'SqrtBackward' returned nan values in its 0th output" in ours
    assert f"created at {HERE}:{line}" in ours
    # the same situation in PyTorch, for the wording
    tx = torch.tensor([0.0, 4.0], requires_grad=True)
    with pytest.warns(UserWarning), torch.autograd.detect_anomaly(), pytest.raises(RuntimeError) as terr:
        (tx.sqrt() * 0).sum().backward()
    assert "returned nan values in its 0th output" in str(terr.value)


def test_location_is_the_users_line_not_inside_minigrad():
    model = nn.Sequential(nn.Linear(3, 2))
    model[0].weight.data[...] = -1.0
    x = minigrad.tensor(np.ones((4, 3), np.float32))
    with autograd.detect_anomaly(), pytest.raises(RuntimeError) as err:
        line = _line(); model(x).log()  # noqa: E702
    assert "Function 'Log' returned nan" in str(err.value) and f"{HERE}:{line}" in str(err.value)
    assert "/minigrad/nn/" not in str(err.value)


def test_non_finite_data_is_not_blamed_on_the_op_that_receives_it():
    x = minigrad.tensor([np.nan, 1.0], requires_grad=True)
    with autograd.detect_anomaly():
        y = (x * 2).sum()  # the NaN came in with the data: no op produced it
        y.backward()  # ∂(2x)/∂x = 2 everywhere: finite
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_off_by_default_records_nothing_and_raises_nothing():
    assert not autograd.is_anomaly_enabled()
    x = minigrad.tensor([0.0], requires_grad=True)
    y = x.log()
    assert not hasattr(y._ctx, "created_at")
    (y * 0).sum().backward()  # nan gradient, silently, as in PyTorch without anomaly mode
    assert np.isnan(x.grad.data).all()


def test_modes_nest_restore_and_decorate():
    assert not autograd.is_anomaly_enabled()
    with autograd.detect_anomaly():
        assert autograd.is_anomaly_enabled()
        with autograd.set_detect_anomaly(False):
            assert not autograd.is_anomaly_enabled()
            minigrad.tensor([0.0]).log()  # off inside: no error
        assert autograd.is_anomaly_enabled()
    assert not autograd.is_anomaly_enabled()
    with pytest.raises(ZeroDivisionError), autograd.detect_anomaly():
        1 / 0
    assert not autograd.is_anomaly_enabled()  # restored after an exception
    autograd.set_detect_anomaly(True)  # as a plain call
    try:
        assert autograd.is_anomaly_enabled()
    finally:
        autograd.set_detect_anomaly(False)
    assert not autograd.is_anomaly_enabled()

    @autograd.detect_anomaly()
    def bad():
        return minigrad.tensor([-1.0]).sqrt()
    with pytest.raises(RuntimeError, match="Function 'Sqrt' returned nan"):
        bad()
    assert not autograd.is_anomaly_enabled()


def test_a_clean_training_step_passes_under_anomaly_mode():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    x = minigrad.randn(16, 4)
    y = minigrad.randint(0, 3, (16,))
    with autograd.detect_anomaly():
        loss = minigrad.nn.functional.cross_entropy(model(x), y)
        loss.backward()
    assert np.isfinite(loss.item()) and all(np.isfinite(p.grad.data).all() for p in model.parameters())

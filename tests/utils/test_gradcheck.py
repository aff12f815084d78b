"""minigrad.utils.gradcheck: passes correct gradients, catches wrong ones and says where."""
import numpy as np
import pytest

import minigrad
from minigrad.autograd import Function
from minigrad.utils import GradcheckError, gradcheck


class WrongSquare(Function):
    """y = x², with a backward that is wrong at exactly one element (flat index 4)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        grad = 2 * x * g
        grad.reshape(-1)[4] += 0.5
        return grad


def leaf(*shape):
    return minigrad.randn(*shape, dtype=np.float64, requires_grad=True)


def test_passes_correct_gradients_of_several_inputs_and_outputs():
    a, b = leaf(2, 3), leaf(3)
    assert gradcheck(lambda a, b: (a * b, (a + b).exp().sum(1)), (a, b))


def test_reports_worst_element_with_both_values():
    x = leaf(2, 3)
    with pytest.raises(GradcheckError, match=r"input 0 at index \(1, 1\): analytical .* vs numerical"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert issubclass(GradcheckError, AssertionError)


class WrongForSecond(Function):
    """y = a·b with a zero (wrong) gradient for b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        (b,) = ctx.saved_tensors
        return g * b, np.zeros_like(b)


def test_checks_only_inputs_that_require_grad():
    a, c = leaf(3), minigrad.randn(3, dtype=np.float64)
    assert gradcheck(WrongForSecond.apply, (a, c))  # c is a constant: its gradient is not checked
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(WrongForSecond.apply, (a, c.requires_grad_()))
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda c: c * 2, (minigrad.ones(3, dtype=np.float64),))


def test_requires_float64_inputs():
    with pytest.raises(ValueError, match="use float64"):
        gradcheck(lambda x: x * 2, (minigrad.randn(3, requires_grad=True),))


def test_unused_input_gets_zero_gradient():
    a, unused = leaf(3), leaf(2)
    assert gradcheck(lambda a, u: a * 2, (a, unused))


def test_strided_input_is_perturbed_in_place():
    """A Fortran-ordered (non C-contiguous) input must still be perturbed, not a copy of it."""
    data = np.asfortranarray(np.random.default_rng(0).standard_normal((3, 4)))
    x = minigrad.tensor(data, requires_grad=True)
    assert not x.data.flags.c_contiguous
    assert gradcheck(lambda t: t * t, (x,))
    np.testing.assert_array_equal(x.data, data)  # restored after perturbation


def test_0d_input_and_output():
    x = minigrad.tensor(0.7, dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda t: (t * t).exp(), (x,))


def test_catches_missing_broadcast_reduction():
    class BadAdd(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, np.ones((3,))  # wrong: b's gradient is Σ over rows = 2, not 1

    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(BadAdd.apply, (leaf(2, 3), leaf(3)))


def test_does_not_touch_dot_grad():
    x = leaf(3)
    gradcheck(lambda t: t.exp(), (x,))
    assert x.grad is None

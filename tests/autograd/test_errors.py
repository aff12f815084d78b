"""Errors of the engine and the ops it runs: PyTorch's exception types and messages."""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------- errors (PyTorch's types and messages)

def test_broadcast_mismatch_error_matches_torch():
    msg = "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
    for op in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b,
               lambda a, b: a ** b, minigrad.maximum):
        with pytest.raises(RuntimeError) as err:
            op(minigrad.ones(2, 3), minigrad.ones(4))
        with pytest.raises(RuntimeError) as terr:
            op(torch.ones(2, 3), torch.ones(4))
        assert str(err.value) == str(terr.value) == msg


@pytest.mark.parametrize("sa, sb", [((3, 4), (5, 6)), ((2, 3, 4), (5, 6)), ((3,), (4, 5)),
                                    ((2, 3, 4), (5, 4, 6)), ((4,), (5,))])
def test_matmul_shape_mismatch_raises_runtime_error(sa, sb):
    with pytest.raises(RuntimeError) as err:
        minigrad.ones(*sa) @ minigrad.ones(*sb)
    with pytest.raises(RuntimeError):
        torch.ones(*sa) @ torch.ones(*sb)
    if len(sa) == 2 and len(sb) == 2:
        assert str(err.value) == "mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)"


def test_matmul_dtype_mismatch_raises():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        minigrad.ones(2, 3) @ minigrad.ones(3, 2, dtype=np.float64)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(minigrad.ones(2, 3), minigrad.ones(4, 3, dtype=np.float64))


def test_matmul_of_0d_raises():
    with pytest.raises(RuntimeError, match="at least 1D"):
        minigrad.ones(()) @ minigrad.ones(3)


def test_float_only_ops_reject_integer_tensors_cleanly():
    with pytest.raises((TypeError, RuntimeError)):
        F.relu(minigrad.tensor([1, -2]))
    with pytest.raises(RuntimeError, match="mean"):
        minigrad.tensor([1, 2]).mean()


def test_shape_op_errors():
    x = minigrad.ones(2, 3)
    with pytest.raises(RuntimeError, match="invalid for input of size 6"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.reshape(-1, -1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="expanded size"):
        x.expand(4, 4)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        minigrad.cat([x, minigrad.ones(3, 3)], 1)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        minigrad.stack([x, minigrad.ones(3, 2)])
    with pytest.raises(RuntimeError, match="split_with_sizes"):
        x.split([1, 1], 1)
    with pytest.raises(RuntimeError, match="must match the size"):
        minigrad.where(minigrad.tensor([True, False]), minigrad.ones(3), minigrad.ones(3))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        x.clamp()

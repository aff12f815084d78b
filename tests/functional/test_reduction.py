"""minigrad.functional.reduction: sums, means, variances, max/min, logsumexp, softmax.

The Case table (tests/functional/_cases.py) gives each case a gradcheck in float64 and a forward +
gradient comparison with PyTorch in float32; the tests below it cover what the table does not show."""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F

from _cases import Case, N, outputs, random_shape_test, table_tests

torch = pytest.importorskip("torch")

CASES = [
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
    Case("sum_dtype", lambda lib, a: a.sum(1, dtype=lib.float64), (N(3, 4),)),
    Case("mean_dtype", lambda lib, a: lib.mean(a, dtype=lib.float64), (N(3, 4),)),
    Case("max_other", lambda lib, a, b: lib.max(a, b), (N(3, 4), N(4))),
    Case("min_other", lambda lib, a, b: a.min(b), (N(3, 4), N(3, 4))),
    Case("softmax_dtype", lambda lib, a: lib.nn.functional.softmax(a, 1, dtype=lib.float64), (N(3, 4),)),
    Case("logsumexp_keepdim", lambda lib, a: a.logsumexp((0, 1), keepdim=True), (N(3, 4),)),
    Case("softmax", lambda lib, a: lib.softmax(a, 1), (N(3, 4),)),
    Case("softmax_dim0", lambda lib, a: lib.softmax(a, 0), (N(2, 3, 4),)),
    Case("log_softmax", lambda lib, a: lib.log_softmax(a, -1), (N(3, 4),)),
]

OPS = {
    "sum", "mean", "var", "std", "amax", "amin", "max", "min", "logsumexp", "softmax", "log_softmax",
}

(test_gradcheck_float64, test_gradgradcheck_float64, test_matches_torch_float32,
 test_every_op_has_a_case) = table_tests(CASES, OPS)


UNARY = {  # op on a random shape; ``dim`` is a random valid dim of that shape
    "sum": lambda x, dim: x.sum(dim, keepdim=True),
    "mean": lambda x, dim: x.mean(dim),
    "var": lambda x, dim: x.var(dim, unbiased=False),
    "amax": lambda x, dim: x.amax(dim),
    "logsumexp": lambda x, dim: x.logsumexp(dim),
    "softmax": lambda x, dim: x.softmax(dim),
    "log_softmax": lambda x, dim: x.log_softmax(dim),
}

test_ops_on_random_shapes = random_shape_test(UNARY)


# ---------------------------------------------------------------- details the table does not show

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


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_without_dim_takes_pytorchs_implicit_dim_and_warns(rng, shape, name):
    """PyTorch's deprecated implicit choice: dim 0 for 1-D and 3-D input, else 1, with a warning."""
    x = rng.standard_normal(shape).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = getattr(F, name)(minigrad.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        module = getattr(minigrad.nn, "Softmax" if name == "softmax" else "LogSoftmax")()(minigrad.tensor(x))
    np.testing.assert_allclose(module.data, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_stable_softmax_logsumexp_sigmoid_on_large_inputs():
    x = minigrad.tensor([[1000.0, 0.0, -1000.0]])
    t = torch.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.softmax(x, 1).data, torch.softmax(t, 1).numpy())
    np.testing.assert_allclose(F.log_softmax(x, 1).data, torch.log_softmax(t, 1).numpy())
    np.testing.assert_allclose(x.logsumexp(1).data, t.logsumexp(1).numpy())
    np.testing.assert_allclose(F.sigmoid(x).data, torch.sigmoid(t).numpy())
    assert np.all(np.isfinite(F.softplus(x).data))


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


@pytest.mark.parametrize("fn", [
    lambda x: x.softmax(0), lambda x: x.log_softmax(-1), lambda x: tuple(x.max(0)),
    lambda x: tuple(x.min(-1, keepdim=True)), lambda x: (x.argmax(0),), lambda x: (x.argmin(-1),),
], ids=["softmax", "log_softmax", "max", "min_keepdim", "argmax", "argmin"])
def test_0d_input_with_dim_like_torch(fn):
    x, t = minigrad.tensor(1.5, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    outs, touts = outputs(fn(x)), outputs(fn(t))
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

"""Tensor: construction and dtype rules, factories, array facts, conversions, in-place helpers, repr."""
import numpy as np
import pytest

import minigrad

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------- construction and dtype rules

@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1, 2], [3, 4]], True, [True, False], 3,
                                  np.float64(2.5), np.arange(3, dtype=np.int32), np.ones(2, np.float64)])
def test_tensor_dtype_rules_match_torch(data):
    t = minigrad.tensor(data)
    want = torch.tensor(data)
    assert str(t.dtype) == str(want.dtype).replace("torch.", "")
    assert t.shape == tuple(want.shape)
    np.testing.assert_array_equal(t.data, want.numpy())


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    copied, shared = minigrad.tensor(a), minigrad.from_numpy(a)
    a[0] = 7
    assert copied.data[0] == 0 and shared.data[0] == 7
    assert minigrad.as_tensor(a).data is a
    with pytest.raises(TypeError):
        minigrad.from_numpy([1, 2])


def test_tensor_explicit_dtype_and_bad_data():
    assert minigrad.tensor([1, 2], dtype=minigrad.float64).dtype == np.float64
    assert minigrad.tensor([1.7, 2.2], dtype=minigrad.int64).tolist() == [1, 2]
    with pytest.raises(TypeError, match="can't convert"):
        minigrad.tensor(["a"])


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "randn", "rand"])
def test_shape_factories(name, dtype):
    f = getattr(minigrad, name)
    for t in (f(2, 3, dtype=dtype), f((2, 3), dtype=dtype)):
        assert t.shape == (2, 3) and t.dtype == dtype and not t.requires_grad and t.is_leaf
    assert f(2).dtype == np.float32  # default dtype
    assert f(2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="negative dimension"):
        f(2, -1)


def test_fill_factories_match_torch():
    assert minigrad.zeros(2).tolist() == [0, 0] and minigrad.ones(2).tolist() == [1, 1]
    for fill in (3, 2.5, True):
        t, want = minigrad.full((2, 2), fill), torch.full((2, 2), fill)
        assert str(t.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(t.data, want.numpy())
    np.testing.assert_array_equal(minigrad.arange(5).data, torch.arange(5).numpy())
    assert minigrad.arange(5).dtype == np.int64
    np.testing.assert_allclose(minigrad.arange(1, 2, 0.25).data, torch.arange(1, 2, 0.25).numpy())
    assert minigrad.arange(1, 2, 0.25).dtype == np.float32
    np.testing.assert_allclose(minigrad.linspace(0, 1, 5).data, torch.linspace(0, 1, 5).numpy())
    np.testing.assert_array_equal(minigrad.eye(3, 2).data, torch.eye(3, 2).numpy())
    r = minigrad.randint(0, 5, (100,))
    assert r.dtype == np.int64 and r.data.min() >= 0 and r.data.max() < 5


def test_like_factories_keep_shape_and_dtype():
    x = minigrad.ones(2, 3, dtype=np.float64)
    for name in ("zeros_like", "ones_like", "empty_like", "randn_like", "rand_like"):
        y = getattr(minigrad, name)(x)
        assert y.shape == (2, 3) and y.dtype == np.float64
    assert minigrad.full_like(x, 4).tolist() == [[4.0] * 3] * 2
    assert minigrad.zeros_like(x, dtype=np.float32).dtype == np.float32


def test_manual_seed_makes_random_factories_repeatable():
    minigrad.manual_seed(42)
    a, b = minigrad.randn(5), minigrad.rand(5)
    minigrad.manual_seed(42)
    np.testing.assert_array_equal(a.data, minigrad.randn(5).data)
    np.testing.assert_array_equal(b.data, minigrad.rand(5).data)
    assert not np.array_equal(minigrad.randn(5).data, a.data)


def test_rand_and_randn_statistics():
    u, n = minigrad.rand(20000, dtype=np.float64).data, minigrad.randn(20000, dtype=np.float64).data
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03


# ---------------------------------------------------------------- array facts and conversions

def test_array_facts():
    x = minigrad.ones(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and len(x) == 2
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    with pytest.raises(TypeError, match="0-d"):
        len(minigrad.tensor(1.0))


def test_item_numpy_tolist():
    assert minigrad.tensor([[2.5]]).item() == 2.5
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        minigrad.ones(2).item()
    x = minigrad.ones(2)
    assert x.numpy() is x.data
    y = minigrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\).numpy\(\)"):
        y.numpy()
    assert y.detach().numpy().tolist() == [1.0, 1.0]
    assert float(minigrad.tensor(2.0)) == 2.0 and int(minigrad.tensor(3)) == 3


def test_bool_and_index_protocols():
    assert bool(minigrad.tensor([1.0])) and not bool(minigrad.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(minigrad.ones(2))
    assert [10, 20, 30][minigrad.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][minigrad.tensor(1.0)]


def test_iteration_yields_rows():
    rows = list(minigrad.arange(6).reshape(3, 2))
    assert len(rows) == 3 and rows[2].tolist() == [4, 5]


@pytest.mark.parametrize("method, dtype", [("float", np.float32), ("double", np.float64),
                                           ("long", np.int64), ("int", np.int32), ("bool", np.bool_)])
def test_dtype_conversions(method, dtype):
    x = minigrad.tensor([0.0, 1.5, -2.0])
    y = getattr(x, method)()
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, getattr(torch.tensor([0.0, 1.5, -2.0]), method)().numpy())


def test_to_same_dtype_returns_self_and_int_cast_drops_grad():
    x = minigrad.ones(2, requires_grad=True)
    assert x.to(np.float32) is x
    y = x.long()
    assert y.dtype == np.int64 and not y.requires_grad
    z = x.double()
    assert z.requires_grad and z.grad_fn is not None


PROMOTIONS = [
    lambda lib, i, f, d: f + d,        # float32 with float64
    lambda lib, i, f, d: f * 2.5,      # Python float keeps float32
    lambda lib, i, f, d: f + 1,
    lambda lib, i, f, d: i * 2,        # stays int64
    lambda lib, i, f, d: i * 1.5,      # int with Python float: float32, not numpy's float64
    lambda lib, i, f, d: i / 2,        # true division of ints: float32
    lambda lib, i, f, d: i / i,
    lambda lib, i, f, d: i * i,        # two int tensors of one shape: int64 (the fast path of ops)
    lambda lib, i, f, d: f / 2,        # float tensor with a Python int: float32
    lambda lib, i, f, d: i - f,        # int tensor with float32 tensor: float32
    lambda lib, i, f, d: d * i,
    lambda lib, i, f, d: i ** 0.5,
    lambda lib, i, f, d: 2.0 ** i,
    lambda lib, i, f, d: (i > 0) + 0.5,
]


@pytest.mark.parametrize("op", range(len(PROMOTIONS)))
def test_dtype_promotion_matches_torch(op):
    fn = PROMOTIONS[op]
    got = fn(minigrad, minigrad.tensor([1, 2]), minigrad.ones(2), minigrad.ones(2, dtype=np.float64))
    want = fn(torch, torch.tensor([1, 2]), torch.ones(2), torch.ones(2, dtype=torch.float64))
    assert got.dtype == want.numpy().dtype
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)


def test_ndarray_on_the_left_defers_to_tensor():
    x = minigrad.ones(3, requires_grad=True)
    y = np.full(3, 2.0, dtype=np.float32) * x
    assert isinstance(y, minigrad.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2, 2, 2])


# ---------------------------------------------------------------- in-place helpers

def test_inplace_helpers():
    x = minigrad.zeros(3)
    assert x.add_(2) is x and x.tolist() == [2, 2, 2]
    x.sub_(minigrad.ones(3), alpha=0.5).mul_(4).div_(2)
    assert x.tolist() == [3, 3, 3]
    x.clamp_(max=1.0)
    assert x.tolist() == [1, 1, 1]
    x.fill_(5).copy_(minigrad.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1, 2, 3]
    x[1] = 9
    x[minigrad.tensor([True, False, False])] = -1
    assert x.zero_().tolist() == [0, 0, 0]


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    x = minigrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[0] = 2
    with minigrad.no_grad():
        x.mul_(3)
    assert x.tolist() == [3, 3, 3] and x.requires_grad
    with pytest.raises(RuntimeError, match="in-place"):
        (x * 2).zero_()


def test_setitem_matches_numpy_semantics():
    x = minigrad.zeros(2, 3)
    x[:, 1] = minigrad.tensor([1.0, 2.0])
    x[1] = 5
    assert x.tolist() == [[0, 1, 0], [5, 5, 5]]


# ---------------------------------------------------------------- repr

def test_repr():
    assert repr(minigrad.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(minigrad.tensor([1.5, 2.0])).startswith("tensor([1.5")
    assert "dtype=float64" in repr(minigrad.ones(2, dtype=np.float64))
    assert repr(minigrad.ones(1, requires_grad=True)).endswith(", requires_grad=True)")
    assert "grad_fn=<MulBackward>" in repr(minigrad.ones(1, requires_grad=True) * 2)
    assert repr(minigrad.nn.Parameter(minigrad.ones(1))).startswith("Parameter containing:\ntensor(")


def test_numpy_interop_via_array_protocol():
    x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(x) is x.data  # no copy, and not an object array of Tensors
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(x, copy=True) is not x.data
    assert minigrad.tensor([minigrad.tensor(1.0), minigrad.tensor(2.0)]).tolist() == [1.0, 2.0]
    assert float(np.mean([minigrad.tensor(1.0), minigrad.tensor(3.0)])) == 2.0
    with pytest.raises(RuntimeError, match="requires grad"):  # like torch: detach first
        np.asarray(minigrad.ones(2, requires_grad=True))


# ---------------------------------------------------------------- PyTorch's method forms and shape helpers
@pytest.mark.parametrize("name, args", [
    ("add", (2.0,)), ("sub", (0.5,)), ("mul", (3.0,)), ("div", (4.0,)), ("neg", ()), ("sin", ()), ("cos", ()),
    ("maximum", ("other",)), ("minimum", ("other",)), ("clip", (-0.5, 0.5)), ("t", ()),
])
def test_method_forms_match_torch_values_and_gradients(rng, name, args):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = minigrad.tensor(b), torch.tensor(b)
    ours = getattr(x, name)(*[y if v == "other" else v for v in args])
    theirs = getattr(tx, name)(*[ty if v == "other" else v for v in args])
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(ours.shape)
    (ours * minigrad.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_add_sub_alpha_and_top_level_forms(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    x, y, tx, ty = minigrad.tensor(a), minigrad.tensor(b), torch.tensor(a), torch.tensor(b)
    for name in ["add", "sub"]:
        np.testing.assert_allclose(getattr(minigrad, name)(x, y, alpha=3).numpy(),
                                   getattr(torch, name)(tx, ty, alpha=3).numpy(), rtol=1e-12)
        np.testing.assert_allclose(getattr(x, name)(y, alpha=-2).numpy(), getattr(tx, name)(ty, alpha=-2).numpy())
    for name in ["mul", "div", "eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum"]:
        np.testing.assert_array_equal(getattr(minigrad, name)(x, y).numpy(), getattr(torch, name)(tx, ty).numpy())
        np.testing.assert_array_equal(getattr(x, name)(y).numpy(), getattr(tx, name)(ty).numpy())
    np.testing.assert_array_equal(x.where(x > 0, y).numpy(), tx.where(tx > 0, ty).numpy())
    np.testing.assert_array_equal(minigrad.relu(x).numpy(), torch.relu(tx).numpy())
    np.testing.assert_array_equal(minigrad.clip(x, -0.1, 0.1).numpy(), torch.clip(tx, -0.1, 0.1).numpy())


def test_t_view_as_reshape_as_expand_as_match_torch(rng):
    a = rng.standard_normal((2, 3))
    x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    other, tother = minigrad.zeros(3, 2), torch.zeros(3, 2)
    for f in [lambda u, o: u.t(), lambda u, o: u.view_as(o), lambda u, o: u.reshape_as(o),
              lambda u, o: u[:1].expand_as(o.t())]:
        ours, theirs = f(x, other), f(tx, tother)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert minigrad.t(minigrad.ones(3)).shape == (3,)
    with pytest.raises(RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"):
        minigrad.ones(1, 2, 3).t()


def test_randperm_and_randint_like():
    p = minigrad.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10)) and torch.randperm(10).dtype == torch.int64
    minigrad.manual_seed(4)
    q = minigrad.randperm(10)
    minigrad.manual_seed(4)
    assert minigrad.randperm(10).tolist() == q.tolist()
    x = minigrad.zeros(200, dtype=minigrad.float64)
    r = minigrad.randint_like(x, 3, 7)
    assert r.dtype == np.float64 and r.shape == (200,) and set(r.tolist()) == {3.0, 4.0, 5.0, 6.0}
    assert set(minigrad.randint_like(x, 2).tolist()) == {0.0, 1.0}
    assert torch.randint_like(torch.zeros(2, dtype=torch.float64), 3, 7).dtype == torch.float64
    with pytest.raises(RuntimeError, match="randperm"):
        minigrad.randperm(-1)


@pytest.mark.parametrize("data", [["a", "b"], [object()], "text", [1 + 2j], None])
def test_non_numeric_data_is_refused_at_creation(data):
    with pytest.raises(TypeError, match="can't convert data"):
        minigrad.tensor(data)


def test_reordering_methods_equal_their_functions(rng):
    x = minigrad.tensor(rng.standard_normal((3, 4)))
    idx = minigrad.tensor([[0, 2], [1, 1], [3, 0]])
    pairs = [(x.flip(0), minigrad.flip(x, 0)), (x.roll(1, 1), minigrad.roll(x, 1, 1)), (x.narrow(1, 1, 2), minigrad.narrow(x, 1, 1, 2)),
             (x.repeat(1, 2), minigrad.functional.repeat(x, 1, 2)), (x.unflatten(1, (2, 2)), minigrad.unflatten(x, 1, (2, 2))),
             (x.index_select(0, minigrad.tensor([2, 0])), minigrad.index_select(x, 0, minigrad.tensor([2, 0]))),
             (x.gather(1, idx), minigrad.gather(x, 1, idx)), (x.sort(1).values, minigrad.sort(x, 1).values),
             (x.topk(2).indices, minigrad.topk(x, 2).indices)]
    for method, function in pairs:
        np.testing.assert_array_equal(method.numpy(), function.numpy())
    np.testing.assert_array_equal(x.repeat(2, 1, 1).numpy(), torch.tensor(x.numpy()).repeat(2, 1, 1).numpy())


def test_numpy_force_allows_a_tensor_that_requires_grad_and_shares_memory_like_torch():
    for lib in (minigrad, torch):
        t = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
            t.numpy()
        a = t.numpy(force=True)
        a[0] = 5.0
        assert t.tolist() == [5.0, 1.0, 1.0]

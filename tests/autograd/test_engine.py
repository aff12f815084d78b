"""The engine: graph traversal, accumulation, retain_graph, grad modes, autograd.grad and hooks.

Memory and thread stress tests are in test_stress.py, the errors PyTorch raises in test_errors.py."""
import gc
import threading
import weakref

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import autograd

torch = pytest.importorskip("torch")


def leaf(*shape, dtype=np.float64):
    return minigrad.randn(*shape, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------- traversal and accumulation

def test_10000_op_chain_backward_has_no_recursion_limit():
    x = minigrad.tensor(1.0, dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** 10_000, rtol=1e-9)


def test_gradients_accumulate_into_leaves_across_backward_calls():
    x = leaf(3)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 5.0))


def test_tensor_used_twice_sums_both_paths():
    x = leaf(4)
    y = x * x + x  # x reaches the output through three edges
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 1)


class _Returns(autograd.Function):
    """y = x; backward returns ``make(grad_out)``, remembered in ``returned`` (a module-level list,
    cleared by each test) only when ``keep`` is set, so its refcount says what the test wants."""
    returned = []

    @staticmethod
    def forward(ctx, x, make, keep):
        ctx.make, ctx.keep = make, keep
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        out = ctx.make(g)
        _Returns.last_id = id(out)
        if ctx.keep:
            _Returns.returned.append(out)
        return out, None, None


def test_first_leaf_gradient_nobody_else_holds_is_stolen_not_copied():
    x = leaf(3, 4)
    _Returns.apply(x, lambda g: g * 2.0, False).sum().backward()
    assert id(x.grad.data) == _Returns.last_id  # the array backward returned, not a copy
    x.grad = None  # a whole-buffer reshape of a fresh array is stolen too
    _Returns.apply(x, lambda g: (g * 2.0).reshape(12).reshape(3, 4), False).sum().backward()
    assert id(x.grad.data) == _Returns.last_id
    (x * 3.0).sum().backward()  # and later gradients add into it
    np.testing.assert_allclose(x.grad.data, np.full((3, 4), 5.0))


@pytest.mark.parametrize("case", ["kept", "kept_base", "seed", "part_of_buffer", "read_only", "strided", "hook"])
def test_first_leaf_gradient_is_copied_when_its_memory_is_reachable(case):
    x = leaf(3, 4)
    seed = minigrad.ones(3, 4, dtype=np.float64)
    kept = []

    def reshape_of_kept(g):  # a whole-buffer view whose base is held elsewhere
        kept.append(g * 2.0)
        return kept[-1].reshape(12).reshape(3, 4)

    make = {"kept": lambda g: g * 2.0, "seed": lambda g: g, "hook": lambda g: g * 2.0,
            "kept_base": reshape_of_kept,
            "part_of_buffer": lambda g: np.concatenate([g.ravel(), g.ravel()])[:12].reshape(3, 4),
            "read_only": lambda g: np.broadcast_to(g.sum(), (3, 4)),
            "strided": lambda g: np.asfortranarray(g * 2.0)}[case]
    if case == "hook":
        x.register_hook(lambda grad: kept.append(grad.data))
    _Returns.returned.clear()
    _Returns.apply(x, make, case == "kept").backward(seed)
    others = _Returns.returned + kept + [seed.data]
    assert not any(np.shares_memory(x.grad.data, o) for o in others)
    before = [o.copy() for o in others]
    x.grad.data += 1.0  # an optimizer writing into .grad must not reach anything else
    for o, b in zip(others, before):
        np.testing.assert_array_equal(o, b)
    assert x.grad.data.flags.c_contiguous and x.grad.data.flags.writeable


def test_one_array_returned_for_two_leaves_gives_each_its_own_gradient():
    a, b = leaf(3), leaf(3)
    (a + b).backward(minigrad.ones(3, dtype=np.float64) * 2.0)  # add's backward hands g to both
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data += 1.0
    np.testing.assert_array_equal(b.grad.data, np.full(3, 2.0))


def test_diamond_graph_matches_torch():
    data = np.random.default_rng(0).standard_normal((3, 4))
    x = minigrad.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    for lib, v in ((F, x), (torch, t)):
        a = lib.tanh(v)
        b = a.exp() * a.sum(1, keepdim=True)
        c = (a - b).softmax(1) * a
        c.sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf(3)
    h = x * 2
    kept = x * 3
    kept.retain_grad()
    (h + kept).sum().backward()
    assert h.grad is None and not h.is_leaf
    np.testing.assert_array_equal(kept.grad.data, np.ones(3))
    np.testing.assert_array_equal(x.grad.data, np.full(3, 5.0))


def test_retain_grad_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        minigrad.ones(2).retain_grad()


def test_second_backward_through_freed_graph_raises():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 4 * np.exp(x.data))


def test_backward_on_non_scalar_needs_gradient():
    x = leaf(2, 3)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    y.backward(gradient=minigrad.ones(2, 3, dtype=np.float64) * 0.5)
    np.testing.assert_allclose(x.grad.data, np.ones((2, 3)))


def test_backward_gradient_shape_mismatch_raises():
    y = leaf(2, 3) * 2
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(minigrad.ones(3, 2, dtype=np.float64))


def test_backward_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        minigrad.ones(3).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        leaf(3).sum().detach().backward()


def test_leaf_output_backward_seeds_its_own_grad():
    x = leaf(())
    x.backward()
    assert x.grad.item() == 1.0


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        minigrad.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        minigrad.tensor([1, 2], requires_grad=True)


def test_requires_grad_of_non_leaf_cannot_be_turned_off():
    y = leaf(2) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf(3)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, y.data)
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, d.data)  # no path through d back to x


def test_int_inputs_do_not_join_the_graph():
    x = leaf(3)
    y = x * minigrad.tensor([1, 2, 3]).double()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1, 2, 3])


# ---------------------------------------------------------------- grad modes

def test_no_grad_context_manager_and_decorator():
    x = leaf(3)
    with minigrad.no_grad():
        y = x * 2
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @minigrad.no_grad()
    def f(t):
        return t * 2, minigrad.is_grad_enabled()

    z, enabled = f(x)
    assert not z.requires_grad and not enabled and minigrad.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf(3)
    with minigrad.no_grad():
        with minigrad.enable_grad():
            y = x * 2
        z = x * 2

        @minigrad.enable_grad()
        def f(t):
            return t * 2

        w = f(x)
    assert y.requires_grad and not z.requires_grad and w.requires_grad


def test_set_grad_enabled_as_function_and_context():
    x = leaf(3)
    try:
        minigrad.set_grad_enabled(False)
        assert not minigrad.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        minigrad.set_grad_enabled(True)
    with minigrad.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert minigrad.is_grad_enabled()
    with minigrad.no_grad():
        with minigrad.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not minigrad.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with minigrad.no_grad():
            raise ValueError
    assert minigrad.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        seen["start"] = minigrad.is_grad_enabled()
        with minigrad.no_grad():
            inside.set()
            release.wait(5)
            seen["inside"] = minigrad.is_grad_enabled()

    th = threading.Thread(target=worker)
    th.start()
    assert inside.wait(5)
    assert minigrad.is_grad_enabled()  # the worker's no_grad does not leak into this thread
    assert (leaf(2) * 2).requires_grad
    with minigrad.no_grad():
        release.set()
        th.join(5)
    assert seen == {"start": True, "inside": False}


# ---------------------------------------------------------------- the inference path

def _every_forward_that_stores_on_ctx(x):
    """Ops whose forward stores values on ctx (shapes, plans, windows, indices, its own class)."""
    x4 = x.reshape(2, 3, 4, 4)
    target = minigrad.tensor(np.array([0, 2]))
    return [x.var(dim=1), x.max(dim=1)[0], F.conv2d(x4, x4[:2, :, :3, :3]), F.conv1d(x4[0], x4[0, :2, :, :2]),
            F.avg_pool2d(x4, 2), F.adaptive_avg_pool2d(x4, 3), F.max_pool2d(x4, 2),
            F.cross_entropy(x[:, :5], target), F.mse_loss(x, x * 2), F.batch_norm(x4, x4[0, :, 0, 0], x4[1, :, 0, 0] ** 2),
            F.layer_norm(x, (48,)), F.linear(x, x, x[0, :2])]


def test_no_grad_builds_no_context_and_keeps_nothing(monkeypatch):
    built = []

    class CountingContext(autograd.Context):
        def __init__(self, *args):
            built.append(self)
            super().__init__(*args)

    monkeypatch.setattr(autograd, "Context", CountingContext)
    x = minigrad.randn(2, 48, dtype=np.float64, requires_grad=True)
    recorded = _every_forward_that_stores_on_ctx(x)
    assert len(built) >= len(recorded) and all(t.grad_fn is not None for t in recorded)
    built.clear()
    with minigrad.no_grad():
        unrecorded = _every_forward_that_stores_on_ctx(x)
    assert built == []
    for a, b in zip(recorded, unrecorded):
        assert b.grad_fn is None and not b.requires_grad
        np.testing.assert_array_equal(a.data, b.data)
    # what forward stored on the stand-in context was dropped: no array of any call is kept
    for ctx in autograd._no_graph.values():
        assert not hasattr(ctx, "__dict__") and ctx.needs_input_grad == (False,) * len(ctx.needs_input_grad)


def test_no_grad_output_does_not_keep_its_inputs_alive():
    x = minigrad.randn(64, 32, requires_grad=True)
    with minigrad.no_grad():
        h = F.relu(x * 2)
        alive = weakref.ref(h)
        y = F.linear(h, x[:8])
    del h
    gc.collect()
    assert alive() is None and y.grad_fn is None


def test_anomaly_under_no_grad_still_names_the_users_line():
    with autograd.detect_anomaly(), minigrad.no_grad():
        with pytest.raises(RuntimeError, match=r"'Log' returned nan .* created at .*test_engine.py:\d+"):
            minigrad.tensor([-1.0]).log()


# ---------------------------------------------------------------- autograd.grad and hooks

@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("create_graph", [False, True])
def test_backward_inputs_accumulates_only_into_them_like_torch(create_graph):
    a_np, b_np = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    grads = []
    for lib in (minigrad, torch):
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np, requires_grad=True)
        h = a * b  # a non-leaf input gets .grad too, as in PyTorch
        loss = (h * a).sum()
        loss.backward(inputs=[a, h], create_graph=create_graph)
        assert b.grad is None
        grads.append((np.array(a.grad.tolist()), np.array(h.grad.tolist())))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs)
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (leaf(2) * 2).sum().backward(inputs=[])


def test_autograd_grad_matches_torch_and_leaves_dot_grad_alone():
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    a, b = minigrad.tensor(a_np, requires_grad=True), minigrad.tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    h, th = a * b, ta * tb
    out, tout = (h.tanh() * h).sum(), (th.tanh() * th).sum()
    ga, gb, gh = autograd.grad(out, [a, b, h])
    tga, tgb, tgh = torch.autograd.grad(tout, [ta, tb, th])
    for g, t in ((ga, tga), (gb, tgb), (gh, tgh)):
        np.testing.assert_allclose(g.data, t.numpy(), rtol=1e-12)
        assert not g.requires_grad
    assert a.grad is None and b.grad is None and h.grad is None


def test_autograd_grad_with_grad_outputs_and_unused_input():
    x, unused = leaf(3), leaf(3)
    y = x * 3
    (g,) = autograd.grad(y, x, grad_outputs=minigrad.tensor([1.0, 2.0, 3.0], dtype=np.float64),
                         retain_graph=True)
    np.testing.assert_allclose(g.data, [3, 6, 9])
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        autograd.grad(y.sum(), [x, unused], retain_graph=True)
    gx, gu = autograd.grad(y.sum(), [x, unused], allow_unused=True)
    assert gu is None and gx is not None


def test_autograd_grad_input_must_require_grad():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad((x * 2).sum(), [minigrad.ones(3)])


def test_register_hook_modifies_gradient():
    x = leaf(3)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], np.ones(3))
    np.testing.assert_allclose(x.grad.data, np.full(3, 20.0))


def test_hook_on_leaf_and_handle_remove():
    x = leaf(3)
    handle = x.register_hook(lambda g: g * 0)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(3, 2.0))


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.ones(2).register_hook(lambda g: g)

"""The engine: graph traversal, accumulation, retain_graph, grad modes, autograd.grad, hooks, memory,
and the errors PyTorch raises in the same situations."""
import gc
import os
import threading
import weakref

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import autograd, nn

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


# ---------------------------------------------------------------- autograd.grad and hooks

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


# ---------------------------------------------------------------- memory

def test_graph_is_freed_after_backward():
    x = leaf(50)
    v = x.var()                      # Var saves x - mean(x): an array nothing else holds
    centered = weakref.ref(v._ctx.saved_tensors[0])
    y = (v.exp() * 3).sum()
    contexts = [y._ctx, y._ctx.inputs[0]._ctx, v._ctx]
    y.backward()
    gc.collect()
    assert centered() is None
    for ctx in contexts:
        assert ctx.freed and ctx.inputs == () and not getattr(ctx, "saved_tensors", ())


def test_intermediates_are_collected_after_backward():
    x = leaf(1000)
    h = x * 2
    ref = weakref.ref(h)
    y = (h.exp()).sum()
    del h
    gc.collect()
    assert ref() is not None  # still needed by the graph
    y.backward()
    gc.collect()
    assert ref() is None  # backward released the graph that held it


def _live_tensors():
    gc.collect()
    # type(), not isinstance: isinstance reads __class__, which some lazy torch objects warn on.
    return sum(1 for o in gc.get_objects() if issubclass(type(o), minigrad.Tensor))


def _rss_pages():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1])


@pytest.mark.parametrize("threads", [1], indirect=True)  # memory is the subject; keep it fast on a busy machine
def test_training_loop_keeps_memory_flat(threads):
    rng = np.random.default_rng(0)
    X = minigrad.tensor(rng.standard_normal((64, 20)).astype(np.float32))
    Y = minigrad.tensor(rng.standard_normal((64, 1)).astype(np.float32))
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    lr = 0.01

    def step():
        model.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad.data
        return loss.item()

    first = step()
    for _ in range(50):  # warm-up: allocator pools and caches reach steady state
        step()
    tensors, rss = _live_tensors(), _rss_pages()
    for _ in range(450):
        last = step()
    grown_tensors = _live_tensors() - tensors
    grown_kib = (_rss_pages() - rss) * os.sysconf("SC_PAGE_SIZE") / 1024
    assert last < first  # it actually trained
    assert grown_tensors <= 0, f"{grown_tensors} Tensors leaked over 450 steps"
    assert grown_kib < 2048, f"RSS grew by {grown_kib:.0f} KiB over 450 steps"


def _demo_step_fn(batch=4):
    """One SGD step of the demo CNN (examples/demo.py:make_model) on a fixed batch of 28×28 images."""
    import importlib.util
    import pathlib
    import sys
    examples = pathlib.Path(__file__).resolve().parents[1] / "examples"
    if str(examples) not in sys.path:
        sys.path.insert(0, str(examples))  # demo.py imports its sibling _common
    spec = importlib.util.spec_from_file_location("example_demo_for_memory", examples / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    rng = np.random.default_rng(0)
    model = demo.make_model()
    opt = minigrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    X = minigrad.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    Y = minigrad.tensor(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


@pytest.mark.compiled_only  # the numpy twins make it ~15x slower, and the kernels' memory is the point
@pytest.mark.parametrize("threads", [1], indirect=True)
def test_demo_model_2000_steps_keeps_rss_flat(threads):
    """2,000 training steps of the demo CNN (conv, BN, pooling, dropout, SGD momentum) on the
    compiled kernels: after a 200-step warm-up, RSS stays within ±5 % and no Tensor is left behind."""
    with minigrad._ops.use_backend("compiled"):
        _train_and_watch_memory()


def _train_and_watch_memory():
    step = _demo_step_fn()
    first = step()
    for _ in range(200):
        step()
    tensors, rss0 = _live_tensors(), _rss_pages()
    samples = []
    for i in range(1800):
        last = step()
        if i % 100 == 99:
            samples.append(_rss_pages())
    grown_tensors = _live_tensors() - tensors
    assert last < first  # it trained
    assert grown_tensors <= 0, f"{grown_tensors} Tensors leaked over 1,800 steps"
    worst = max(abs(s - rss0) for s in samples) / rss0
    assert worst <= 0.05, f"RSS moved by {100 * worst:.1f} % after warm-up ({rss0} pages at the start)"


def test_no_reference_cycles_keep_graphs_alive():
    """Graphs are freed by reference counting alone: with the cycle collector saving everything it
    finds (DEBUG_SAVEALL), training steps leave no Tensor, Context or ndarray in a cycle."""
    step = _demo_step_fn(batch=2)
    step()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(5):
            step()
        x = leaf(5)
        (x.exp() * x).sum().backward()  # a graph that uses one tensor twice
        gc.collect()
        in_cycles = [o for o in gc.garbage
                     if issubclass(type(o), (minigrad.Tensor, autograd.Context, np.ndarray))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert in_cycles == [], f"{len(in_cycles)} objects were only collectable as cycles: {in_cycles[:5]}"


def test_concurrent_threads_give_the_sequential_results(threads):
    """Two Python threads training separate models at once (each kernel call running its own OpenMP
    team) give exactly the results of running them one after the other."""
    def run(seed, out):
        rng = np.random.default_rng(seed)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
        for p in model.parameters():  # seeded from the argument, not the shared global generator
            p.data[...] = rng.uniform(-0.3, 0.3, p.data.shape).astype(p.data.dtype)
        opt = minigrad.optim.Adam(model.parameters(), lr=1e-2)
        x = minigrad.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32))
        y = minigrad.tensor(rng.integers(0, 3, 6))
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        out[seed] = (losses, [p.data.copy() for p in model.parameters()])

    sequential, concurrent = {}, {}
    run(1, sequential)
    run(2, sequential)
    workers = [threading.Thread(target=run, args=(seed, concurrent)) for seed in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert sorted(concurrent) == [1, 2]
    for seed in (1, 2):
        assert concurrent[seed][0] == sequential[seed][0]
        for got, want in zip(concurrent[seed][1], sequential[seed][1]):
            np.testing.assert_array_equal(got, want)


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

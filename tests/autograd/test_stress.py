"""The engine under load: graphs freed after backward, memory flat over long training loops, no
reference cycles, concurrent Python threads."""
import gc
import os
import threading
import weakref

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import autograd, nn


# ---------------------------------------------------------------- memory

def test_graph_is_freed_after_backward():
    x = minigrad.randn(50, dtype=np.float64, requires_grad=True)
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
    x = minigrad.randn(1000, dtype=np.float64, requires_grad=True)
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
    examples = pathlib.Path(__file__).resolve().parents[2] / "examples"
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


@pytest.mark.compiled_only  # the numpy twins make it ~15x slower (Zen 3), and the kernels' memory is the point
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
        x = minigrad.randn(5, dtype=np.float64, requires_grad=True)
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


@pytest.mark.parametrize("threads", [1], indirect=True)
def test_gradient_penalty_loop_keeps_memory_flat(threads):
    """1,000 gradient-penalty steps (a create_graph backward and a backward through it each): after a
    100-step warm-up no Tensor is left behind and RSS stays within 1 MiB."""
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = minigrad.optim.SGD(model.parameters(), lr=1e-3)
    x = minigrad.tensor(rng.standard_normal((8, 6)).astype(np.float32), requires_grad=True)

    def step():
        out = model(x)
        (gx,) = autograd.grad(out.sum(), x, create_graph=True)
        loss = out.mean() + ((gx * gx).sum(1) - 1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    first = step()
    for _ in range(100):
        step()
    tensors, rss = _live_tensors(), _rss_pages()
    for _ in range(900):
        last = step()
    grown_tensors = _live_tensors() - tensors
    grown_kib = (_rss_pages() - rss) * os.sysconf("SC_PAGE_SIZE") / 1024
    assert last < first
    assert grown_tensors <= 0, f"{grown_tensors} Tensors leaked over 900 steps"
    assert grown_kib < 1024, f"RSS grew by {grown_kib:.0f} KiB over 900 steps"

"""minigrad.profile (per-op table) and minigrad.explain (backward walk-through)."""
import collections
import re

import numpy as np
import pytest

import minigrad
from minigrad import _ops, autograd, nn
from minigrad.autograd import Function


def _mlp(seed=0, n_in=64, hidden=48, n_out=10):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def _step(model, x, y, lr=0.01):
    """One training step made of minigrad ops plus a plain numpy SGD update."""
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad.data
        p.grad = None
    return loss


def test_rows_count_calls_bytes_and_sort():
    model = _mlp()
    x, y = minigrad.randn(32, 64), minigrad.randn(32, 10)
    with minigrad.profile() as prof:
        for _ in range(3):
            _step(model, x, y)
    rows = {r["op"]: r for r in prof.rows}
    assert rows["Linear"]["calls"] == 6 and rows["ReLU"]["calls"] == 3
    assert {"Sub", "Pow", "Mean"} <= set(rows)
    # forward output bytes: (32, 48) + (32, 10) float32 per step, all freshly allocated
    assert rows["Linear"]["forward_bytes"] == 3 * (32 * 48 + 32 * 10) * 4
    # backward: layer 0 returns grad_W, grad_b (x needs no grad); layer 1 grad_x, grad_W, grad_b
    per_step = (48 * 64 + 48) + (32 * 48 + 10 * 48 + 10)
    assert rows["Linear"]["backward_bytes"] == 3 * per_step * 4
    assert all(r["forward_time"] > 0 and r["backward_time"] > 0 for r in rows.values())
    totals = [r["total_time"] for r in prof.rows]
    assert totals == sorted(totals, reverse=True)
    assert prof.total_time == pytest.approx(sum(totals))
    assert rows["Linear"]["kernels"] == ["gemm"]
    assert rows["Pow"]["backend"] == "numpy (no kernel)" and rows["Pow"]["kernels"] == []


def test_backend_column_follows_the_kernel_that_ran():
    model = _mlp()
    x, y = minigrad.randn(8, 64), minigrad.randn(8, 10)
    with _ops.use_backend("numpy"), minigrad.profile() as prof:
        _step(model, x, y)
    rows = {r["op"]: r for r in prof.rows}
    assert rows["ReLU"]["backend"] == "numpy" and rows["Linear"]["backend"] == "numpy"
    assert rows["ReLU"]["kernels"] == ["relu_backward", "relu_forward"]
    if "relu_forward" in _ops._compiled and "relu_backward" in _ops._compiled:
        with _ops.use_backend("compiled"), minigrad.profile() as prof:
            _step(model, x, y)
        rows = {r["op"]: r for r in prof.rows}
        assert rows["ReLU"]["backend"] == "compiled"
        assert rows["Linear"]["backend"] == ("compiled" if "gemm" in _ops._compiled else "numpy")


def test_mixed_backends_are_spelled_out_per_kernel():
    row = {"backend": "mixed", "kernels": ["gemm", "im2col"],
           "kernel_backends": {"gemm": "numpy", "im2col": "compiled"}}
    assert minigrad.profiler._fmt_kernels(row) == "gemm[numpy],im2col[compiled]"
    row = {"backend": "compiled", "kernels": ["gemm"], "kernel_backends": {"gemm": "compiled"}}
    assert minigrad.profiler._fmt_kernels(row) == "gemm"


def test_kernels_outside_ops_get_their_own_rows():
    model = _mlp()
    opt = minigrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = minigrad.randn(8, 64), minigrad.randn(8, 10)
    with minigrad.profile() as prof:
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    rows = {r["op"]: r for r in prof.rows}
    kernel_rows = [r for name, r in rows.items() if name.startswith("_ops.")]
    assert kernel_rows, "SGD with momentum runs the fused _ops.sgd_step kernel"
    assert all(r["calls"] == 4 and r["forward_time"] > 0 and r["backward_time"] == 0 for r in kernel_rows)
    assert "Linear" in rows and prof.total_time == pytest.approx(sum(r["total_time"] for r in prof.rows))


def test_table_text():
    model = _mlp()
    with minigrad.profile() as prof:
        _step(model, minigrad.randn(4, 64), minigrad.randn(4, 10))
    text = prof.table()
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["op", "calls", "forward", "ms", "backward"]
    body = [line for line in lines[2:] if line and not line.startswith("-")]
    first_col = [line.split()[0] for line in body]
    assert first_col[:len(prof.rows)] == [r["op"] for r in prof.rows]
    total_line = next(line for line in body if line.startswith("total"))
    assert int(total_line.split()[1]) == sum(r["calls"] for r in prof.rows)
    assert float(total_line.split()[4]) == pytest.approx(prof.total_time * 1e3, abs=2e-3)
    assert "kernel backend: " + _ops.get_backend() in text
    assert str(prof) == text


def test_state_is_restored_and_profiles_do_not_nest():
    x = np.ones(3, np.float32)
    kernel_calls = []
    with pytest.raises(ValueError):
        with minigrad.profile() as prof:
            assert autograd.get_op_hook() is prof
            _ops.relu_forward(x)  # outside any op: a row of its own
            kernel_calls.append(len(prof.rows))
            with pytest.raises(RuntimeError, match="do not nest"):
                minigrad.profile().__enter__()
            raise ValueError("user error inside the block")
    assert kernel_calls == [1] and autograd.get_op_hook() is None
    _ops.relu_forward(x)  # no longer counted
    assert [r["op"] for r in prof.rows] == ["_ops.relu_forward"] and prof.rows[0]["calls"] == 1


class _Boom(Function):
    """y = x;  ∂y/∂x = 1 (fails on purpose)."""

    @staticmethod
    def forward(ctx, x):
        raise ArithmeticError("boom")


def test_failing_op_is_still_timed_and_stack_unwound():
    with minigrad.profile() as prof:
        with pytest.raises(ArithmeticError):
            _Boom.apply(minigrad.ones(2, requires_grad=True))
        (minigrad.ones(2, requires_grad=True) * 2).sum().backward()
    rows = {r["op"]: r for r in prof.rows}
    assert rows["_Boom"]["calls"] == 0 and rows["_Boom"]["forward_time"] > 0
    assert rows["Mul"]["calls"] == 1 and prof._stack == []


def test_totals_account_for_every_op_of_the_step_once():
    """Structural, not timed (shared machines): every op of the step's graph is a row whose calls are
    its nodes in the graph, each ran forward and backward inside the profile, and the totals are the
    sums of the rows."""
    model = _mlp(n_in=64, hidden=32, n_out=10)
    x, y = minigrad.randn(16, 64), minigrad.randn(16, 10)
    with minigrad.profile() as prof:
        loss = ((model(x) - y) ** 2).mean()
        graph = autograd.topological_order([loss._ctx])
        loss.backward()
    rows = prof.rows
    assert {r["op"]: r["calls"] for r in rows} == dict(collections.Counter(ctx.fn.__name__ for ctx in graph))
    assert len(graph) > 5 and all(r["forward_time"] > 0 and r["backward_time"] > 0 for r in rows)
    assert all(r["total_time"] == r["forward_time"] + r["backward_time"] for r in rows)
    assert prof.total_time == pytest.approx(sum(r["total_time"] for r in rows), rel=1e-12)
    assert prof.wall_time >= prof.total_time  # the ops are timed inside the block


def test_nothing_is_recorded_after_exit():
    a = minigrad.ones(4, requires_grad=True)
    with minigrad.profile() as prof:
        (a * 2.0).sum().backward()
    before = prof.rows
    (a * 2.0).sum().backward()
    assert prof.rows == before and {r["op"] for r in before} == {"Mul", "Sum"}


# ---------------------------------------------------------------- explain

def test_explain_order_formulas_and_shapes(capsys):
    model = _mlp(n_in=5, hidden=4, n_out=3)
    x = minigrad.randn(2, 5)
    loss = model(x).relu().sum()
    text = minigrad.explain(loss, params=dict(model.named_parameters()))
    assert capsys.readouterr().out == text + "\n"
    steps = re.findall(r"^\s*(\d+)\. (\w+)Backward   (.*)$", text, flags=re.M)
    order = autograd.topological_order([loss._ctx])
    assert [name for _, name, _ in steps] == [c.fn.__name__ for c in order]
    assert [name for _, name, _ in steps] == ["Sum", "ReLU", "Linear", "ReLU", "Linear"]
    # each op's local gradient comes from its docstring
    for (_, _, formula), ctx in zip(steps, order):
        assert formula == " ".join(ctx.fn.__doc__.split())
        assert "∂" in formula
    assert "input 1  (3, 4) float32  → .grad of parameter 2.weight" in text
    assert "input 0  (2, 5) float32  no grad needed" in text
    assert "input 0  (2, 4) float32  → step 4 (ReLU)" in text
    assert "grad in  (2, 3)" in text and "grad in  ()" in text


def test_explain_needs_a_live_graph():
    w = minigrad.ones(3, requires_grad=True)
    loss = (w * w).sum()
    with pytest.raises(ValueError, match="leaf"):
        minigrad.explain(w)
    loss.backward(retain_graph=True)
    assert "MulBackward" in minigrad.explain(loss, file=open("/dev/null", "w"))
    loss.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        minigrad.explain(loss)


def _functional_ops():
    import minigrad.functional as F

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    # underscore classes are abstract bases whose subclasses carry the formula
    return sorted({c for c in subclasses(Function)
                   if c.__module__.startswith(F.__name__) and not c.__name__.startswith("_")},
                  key=lambda c: (c.__module__, c.__name__))


@pytest.mark.parametrize("op", _functional_ops(), ids=lambda c: c.__name__)
def test_every_function_documents_its_local_gradient(op):
    """explain prints the docstring: it must give the forward math and the local gradient."""
    doc = " ".join((op.__doc__ or "").split())
    assert "=" in doc, doc
    assert "∂" in doc or "grad" in doc, doc

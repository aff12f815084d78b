"""Per-op Python overhead: tiny tensors, so what is timed is dispatch, graph recording and the backward
walk — the fixed cost every op pays, which dominates small models.

Rows (1 thread: parallelism cannot help a 3-element tensor, and a spinning pool would only add noise):
- ``(a*a).sum().backward()`` on a 3-element tensor — the issue's acceptance figure;
- ``a + b`` forward only, no graph (``no_grad``);
- ``relu(linear(x, W, b)).sum().backward()`` for a 4×8 input and an 8→8 layer.
``numpy`` is the same arithmetic in bare numpy (no autograd): the floor.
"""
import numpy as np

from . import harness

SECTION = "overhead"


def _mul_sum_backward(mod):
    a = mod.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def op():
        (a * a).sum().backward()
    return op


def _add_no_grad(mod):
    a, b = mod.tensor([1.0, 2.0, 3.0]), mod.tensor([4.0, 5.0, 6.0])

    def op():
        with mod.no_grad():
            a + b
    return op


def _linear_relu_backward(mod):
    rng = np.random.default_rng(0)
    x = mod.from_numpy(rng.standard_normal((4, 8), dtype=np.float32))
    w = mod.from_numpy(rng.standard_normal((8, 8), dtype=np.float32)).requires_grad_()
    b = mod.from_numpy(np.zeros(8, np.float32)).requires_grad_()
    F = mod.nn.functional

    def op():
        F.relu(F.linear(x, w, b)).sum().backward()
    return op


def _numpy_floor(case):
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.array([4.0, 5.0, 6.0], np.float32)
    x = np.ones((4, 8), np.float32)
    w = np.ones((8, 8), np.float32)
    return {
        "mul_sum": lambda: (a * a).sum(),
        "add": lambda: a + b,
        "linear": lambda: np.maximum(x @ w.T + a[:1], 0).sum(),
    }[case]


CASES = [
    ("mul_sum", "`(a*a).sum().backward()`, 3 elements", _mul_sum_backward),
    ("add", "`a + b` under no_grad, 3 elements", _add_no_grad),
    ("linear", "`relu(linear(x, W, b)).sum().backward()`, 4×8 · 8×8", _linear_relu_backward),
]


def run(quick=False):
    import minigrad

    try:
        import torch
    except ImportError as e:
        torch, torch_error = None, harness.not_available(e)
    rows = []
    for key, case, make in CASES:
        cands = {"minigrad": make(minigrad), "numpy": _numpy_floor(key)}
        if torch is not None:
            cands["torch"] = make(torch)
        res = harness.compare(cands, threads=1)
        rows.append(harness.row(SECTION, case, res, note=None if torch is not None else torch_error))
    return rows

"""The Case table shared by the tests of every ``minigrad.functional`` section.

A case is ``fn(lib, *inputs)`` written once for both libraries: ``lib`` is minigrad
(minigrad.functional, then the top-level namespace) or PyTorch (torch.nn.functional, then torch), and
most ops are Tensor methods with the same name in both. Inputs are drawn away from the points where
an op is not differentiable (kinks, clamp bounds, ties), so finite differences are valid.

A section's test file declares ``CASES`` and ``OPS`` and gets its table tests from ``table_tests``:
gradcheck and gradgradcheck in float64, forward + gradient against PyTorch in float32, and every listed
op covered.
"""
import dataclasses
from typing import Callable

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad.utils import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
torch_F = torch.nn.functional


class _Lib:
    """Attribute lookup over several namespaces, first hit wins."""

    def __init__(self, *namespaces):
        self.namespaces = namespaces

    def __getattr__(self, name):
        for ns in self.namespaces:
            if hasattr(ns, name):
                return getattr(ns, name)
        raise AttributeError(name)


MG = _Lib(F, minigrad)
TORCH = _Lib(torch_F, torch)


# ---------------------------------------------------------------- input samplers (float64 arrays)

@dataclasses.dataclass(frozen=True)
class Input:
    shape: tuple
    kind: str = "normal"      # normal | positive | away (from ``kinks``)
    kinks: tuple = (0.0,)

    def sample(self, rng):
        if self.kind == "normal":
            return rng.standard_normal(self.shape)
        if self.kind == "positive":
            return rng.uniform(0.5, 2.0, self.shape)
        x = rng.uniform(-2.0, 2.0, self.shape)
        for _ in range(100):  # redraw values within 0.05 of a kink
            near = np.zeros(self.shape, dtype=bool)
            for k in self.kinks:
                near |= np.abs(x - k) < 0.05
            if not near.any():
                return x
            x[near] = rng.uniform(-2.0, 2.0, int(near.sum()))
        raise AssertionError("could not sample away from the kinks")


def N(*shape):
    return Input(shape)


def P(*shape):
    return Input(shape, "positive")


def K(*shape, kinks=(0.0,)):
    return Input(shape, "away", tuple(kinks))


@dataclasses.dataclass
class Case:
    id: str
    fn: Callable
    inputs: tuple
    rtol: float = 2e-5       # float32 vs PyTorch, forward and gradient
    atol: float = 2e-6
    gradcheck: dict = dataclasses.field(default_factory=dict)  # extra gradcheck arguments


MASK = np.array([[True, False, True, False],
                 [False, False, True, True],
                 [True, True, False, False]])


def covers(op, case_ids):
    """Whether a case exercises ``op``: its id is the op's name or starts with it and ``_``."""
    return any(i == op or i.startswith(op + "_") for i in case_ids)


def _arrays(case, seed):
    rng = np.random.default_rng(seed)
    return [spec.sample(rng) for spec in case.inputs]


def outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def table_tests(cases, ops):
    """The four table tests of one section, to be bound to ``test_*`` names in its test module."""
    @pytest.mark.parametrize("case", cases, ids=lambda c: c.id)
    def gradcheck_float64(case):
        inputs = [minigrad.tensor(a, requires_grad=True) for a in _arrays(case, seed=1)]
        assert gradcheck(lambda *xs: case.fn(MG, *xs), inputs, **case.gradcheck)

    @pytest.mark.parametrize("case", cases, ids=lambda c: c.id)
    def gradgradcheck_float64(case):
        """Second derivatives, through the op's backward_create_graph."""
        inputs = [minigrad.tensor(a, requires_grad=True) for a in _arrays(case, seed=1)]
        assert gradgradcheck(lambda *xs: case.fn(MG, *xs), inputs, **case.gradcheck)

    @pytest.mark.parametrize("case", cases, ids=lambda c: c.id)
    def matches_torch_float32(case):
        arrays = [a.astype(np.float32) for a in _arrays(case, seed=2)]
        xs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        outs = outputs(case.fn(MG, *xs))
        touts = outputs(case.fn(TORCH, *ts))
        assert len(outs) == len(touts)

        rng = np.random.default_rng(3)
        grads, tgrads, diff, tdiff = [], [], [], []
        for o, t in zip(outs, touts):
            assert isinstance(o, minigrad.Tensor)
            assert o.shape == tuple(t.shape), case.id
            want = t.detach().numpy()
            assert o.dtype == want.dtype, (o.dtype, want.dtype)
            if o.dtype.kind == "f":
                np.testing.assert_allclose(o.data, want, rtol=case.rtol, atol=case.atol, err_msg=case.id)
                g = rng.standard_normal(o.shape).astype(o.dtype)
                diff.append(o), tdiff.append(t), grads.append(g), tgrads.append(torch.tensor(g))
            else:  # indices of max/min: exact
                np.testing.assert_array_equal(o.data, want)

        minigrad.autograd.backward(diff, grads)
        torch.autograd.backward(tdiff, tgrads)
        for i, (x, t) in enumerate(zip(xs, ts)):
            assert x.grad is not None and x.grad.dtype == x.dtype, f"{case.id}: input {i}"
            np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=case.rtol, atol=case.atol,
                                       err_msg=f"{case.id}: gradient of input {i}")

    def every_op_has_a_case():
        ids = [c.id for c in cases]
        assert len(ids) == len(set(ids))
        for op in ops:
            assert covers(op, ids), op

    return gradcheck_float64, gradgradcheck_float64, matches_torch_float32, every_op_has_a_case


def random_shape(rng):
    """Rank 1-3, sizes 1-3 (size-1 dims are frequent)."""
    return tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 4)))


def random_shape_test(unary, seed_base=100):
    """``test(op, seed)``: gradcheck of ``unary[op](x, dim)`` on a random shape and a random valid dim."""
    @pytest.mark.parametrize("seed", range(4))
    @pytest.mark.parametrize("op", sorted(unary))
    def ops_on_random_shapes(op, seed):
        rng = np.random.default_rng(seed_base + seed)
        shape = random_shape(rng)
        dim = int(rng.integers(-len(shape), len(shape)))
        x = minigrad.tensor(rng.standard_normal(shape), requires_grad=True)
        assert gradcheck(lambda t: unary[op](t, dim), (x,))
    return ops_on_random_shapes

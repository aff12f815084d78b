"""Losses (minigrad.functional.loss and the nn wrappers) against PyTorch: value and input gradient,
every reduction, class weights, ignore_index, label smoothing, probability targets, extreme logits;
gradcheck in float64; clear errors for bad targets."""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import nn
from minigrad.utils import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def _pair(x, dtype, requires_grad=True):
    """The same values as a minigrad tensor and a torch tensor."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        x = x.astype(dtype)
        return (minigrad.tensor(x, requires_grad=requires_grad),
                torch.tensor(x, requires_grad=requires_grad))
    return minigrad.tensor(x), torch.tensor(x)


def _check(mg_fn, torch_fn, inputs, dtype, tol, grad_of=(0,), seed_grad=None):
    """Run both, compare outputs and the gradients of the float inputs listed in ``grad_of``."""
    pairs = [_pair(v, dtype, requires_grad=i in grad_of) for i, v in enumerate(inputs)]
    out_m = mg_fn(*[p[0] for p in pairs])
    out_t = torch_fn(*[p[1] for p in pairs])
    np.testing.assert_allclose(out_m.data, out_t.detach().numpy(), **tol)
    assert out_m.dtype == dtype
    g = np.random.default_rng(0).standard_normal(out_m.shape).astype(dtype) if seed_grad is None else seed_grad
    out_m.backward(minigrad.tensor(g))
    out_t.backward(torch.tensor(g))
    for i in grad_of:
        assert np.all(np.isfinite(pairs[i][0].grad.data))
        np.testing.assert_allclose(pairs[i][0].grad.data, pairs[i][1].grad.numpy(), **tol)


# ---------------------------------------------------------------- cross entropy / nll
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 7), (1, 3), (3, 4, 2, 5), (2, 3, 6), (6,), (4, 70), (0, 5)])
def test_cross_entropy_class_targets(rng, dtype, tol, reduction, shape):
    x = rng.standard_normal(shape) * 3
    classes = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    t = rng.integers(0, classes, target_shape)
    _check(lambda a, b: F.cross_entropy(a, b, reduction=reduction),
           lambda a, b: TF.cross_entropy(a, b, reduction=reduction), [x, t], dtype, tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.7])
@pytest.mark.parametrize("shape", [(8, 5), (3, 5, 4)])
def test_cross_entropy_weight_ignore_smoothing(rng, dtype, tol, reduction, smoothing, shape):
    x = rng.standard_normal(shape) * 2
    t = rng.integers(0, 5, shape[:1] + shape[2:])
    t.reshape(-1)[::3] = -1  # ignored
    w = rng.uniform(0.2, 2.0, 5)
    kw = dict(weight=None, ignore_index=-1, reduction=reduction, label_smoothing=smoothing)
    _check(lambda a, b, c: F.cross_entropy(a, b, **{**kw, "weight": c}),
           lambda a, b, c: TF.cross_entropy(a, b, **{**kw, "weight": c}), [x, t, w], dtype, tol)
    _check(lambda a, b: F.cross_entropy(a, b, **kw), lambda a, b: TF.cross_entropy(a, b, **kw), [x, t], dtype, tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(rng, dtype, tol, reduction, smoothing, weighted):
    x = rng.standard_normal((6, 4, 3))
    p = rng.dirichlet(np.ones(4), (6, 3)).transpose(0, 2, 1)  # (N, C, d) probabilities over C
    w = rng.uniform(0.5, 1.5, 4) if weighted else None
    inputs = [x, p] + ([w] if weighted else [])

    def call(lib_fn):
        return lambda a, b, *c: lib_fn(a, b, weight=c[0] if c else None, reduction=reduction,
                                       label_smoothing=smoothing)
    # Gradient with respect to the logits and the target probabilities.
    _check(call(F.cross_entropy), call(TF.cross_entropy), inputs, dtype, tol, grad_of=(0, 1))


def test_cross_entropy_extreme_logits_no_nan(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    t = np.array([1, 2, 0])
    for smoothing in (0.0, 0.1):
        _check(lambda a, b: F.cross_entropy(a, b, label_smoothing=smoothing),
               lambda a, b: TF.cross_entropy(a, b, label_smoothing=smoothing), [x, t], dtype,
               dict(rtol=1e-6, atol=1e-6))
    _check(lambda a, b: F.nll_loss(F.log_softmax(a, 1), b),
           lambda a, b: TF.nll_loss(TF.log_softmax(a, 1), b), [x, t], dtype, dict(rtol=1e-6, atol=1e-6))


@pytest.mark.parametrize("options", [{}, {"reduction": "none"}, {"reduction": "sum"}, {"ignore_index": 0},
                                     {"weight": [0.5, 2.0, 1.0]}, {"label_smoothing": 0.1}])
def test_cross_entropy_minus_inf_logits_like_torch(dtype, options):
    # a −∞ logit away from the target is a finite loss in torch (an ∞ one with smoothing), never nan;
    # row 2 is ignored under ignore_index=0 although its logit at class 0 is −∞
    x = np.array([[-np.inf, 0.5, 1.0], [2.0, -np.inf, 0.0], [-np.inf, -np.inf, 3.0], [1.0, 2.0, 3.0]])
    t = np.array([1, 0, 0 if "ignore_index" in options else 2, 2])
    inputs, call = [x, t], (lambda lib_fn: lambda a, b: lib_fn(a, b, **options))
    if "weight" in options:
        inputs, kw = [x, t, options["weight"]], {k: v for k, v in options.items() if k != "weight"}
        call = (lambda lib_fn: lambda a, b, w: lib_fn(a, b, weight=w, **kw))
    _check(call(F.cross_entropy), call(TF.cross_entropy), inputs, dtype, dict(rtol=1e-6, atol=1e-6))


@pytest.mark.parametrize("classes", [5, 70])  # the short path's two layouts (loss._FEW_CLASSES)
def test_cross_entropy_leaves_non_contiguous_logits_alone(rng, classes):
    x = np.asfortranarray(rng.standard_normal((8, classes)))  # its transpose is C-contiguous
    before, t = x.copy(), rng.integers(0, classes, 8)
    out = F.cross_entropy(minigrad.tensor(x), minigrad.tensor(t))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(out.item(), TF.cross_entropy(torch.tensor(before), torch.tensor(t)).item(), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index_that_is_a_class(rng, dtype, tol, reduction):
    x = rng.standard_normal((6, 4))
    for t in (np.array([0, 2, 1, 2, 3, 0]), np.array([0, 1, 1, 3, 3, 0])):  # class 2 present, absent
        _check(lambda a, b: F.cross_entropy(a, b, ignore_index=2, reduction=reduction),
               lambda a, b: TF.cross_entropy(a, b, ignore_index=2, reduction=reduction), [x, t], dtype, tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3, 3)])
def test_nll_loss(rng, dtype, tol, reduction, shape):
    x = rng.standard_normal(shape)
    t = rng.integers(0, 4, shape[:1] + shape[2:])
    t.reshape(-1)[1] = 3
    t.reshape(-1)[0] = -100
    w = rng.uniform(0.2, 2.0, 4)
    _check(lambda a, b, c: F.nll_loss(a, b, c, reduction=reduction),
           lambda a, b, c: TF.nll_loss(a, b, c, reduction=reduction), [x, t, w], dtype, tol)


def test_cross_entropy_equals_log_softmax_nll(rng):
    x = minigrad.tensor(rng.standard_normal((7, 5)), requires_grad=True)
    t = minigrad.tensor(rng.integers(0, 5, 7))
    a = F.cross_entropy(x, t)
    b = F.nll_loss(F.log_softmax(x, 1), t)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = minigrad.zeros(2, 3, requires_grad=True)
    out = F.cross_entropy(x, minigrad.tensor([-100, -100]))
    assert np.isnan(out.item())
    assert np.isnan(TF.cross_entropy(torch.zeros(2, 3), torch.tensor([-100, -100])).item())


# ---------------------------------------------------------------- regression losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss"])
def test_regression_losses(rng, dtype, tol, reduction, name):
    x = rng.standard_normal((4, 6)) * 2
    y = rng.standard_normal((4, 6))
    _check(lambda a, b: getattr(F, name)(a, b, reduction=reduction),
           lambda a, b: getattr(TF, name)(a, b, reduction=reduction), [x, y], dtype, tol, grad_of=(0, 1))


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_beta(rng, dtype, tol, beta):
    x = rng.standard_normal((3, 5)) * 3
    y = rng.standard_normal((3, 5))
    _check(lambda a, b: F.smooth_l1_loss(a, b, beta=beta), lambda a, b: TF.smooth_l1_loss(a, b, beta=beta),
           [x, y], dtype, tol, grad_of=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_losses_with_weight(rng, dtype, tol, reduction, name):
    """PyTorch 2.13's ``weight=``: per-element weights; 'mean' divides by Σ weight (mse, l1) or by
    the element count (huber). Gradients reach input, target and weight."""
    x = rng.standard_normal((4, 6)) * 2
    y = rng.standard_normal((4, 6))
    w = rng.uniform(0.1, 2.0, (4, 6))
    _check(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c),
           lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c), [x, y, w], dtype, tol,
           grad_of=(0, 1, 2))


def test_regression_loss_weight_errors_and_gradcheck(rng):
    x, y, w = _f64(rng, (3, 4)), _f64(rng, (3, 4)), _f64(rng, (3, 4), 0.1, 2.0)
    for name in ("mse_loss", "l1_loss", "huber_loss"):
        with pytest.raises(ValueError, match="Weights and input must have the same size"):
            getattr(F, name)(x, y, weight=minigrad.ones(4))
        with pytest.raises(ValueError, match="not a valid value for reduction"):
            getattr(F, name)(x, y, reduction="avg", weight=w)
        assert gradcheck(lambda a, b, c: getattr(F, name)(a, b, weight=c), (x, y, w))


def test_mse_broadcast_warns_like_torch(rng):
    x = minigrad.tensor(rng.standard_normal((4, 1)), requires_grad=True)
    y = minigrad.tensor(rng.standard_normal(4))
    with pytest.warns(UserWarning, match="different to the input size"):
        out = F.mse_loss(x, y)
    out.backward()
    assert x.grad.shape == (4, 1)


# ---------------------------------------------------------------- binary cross entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(rng, dtype, tol, reduction, weighted):
    x = rng.uniform(0.02, 0.98, (5, 3))
    y = rng.uniform(0, 1, (5, 3))
    w = rng.uniform(0.5, 2, 3) if weighted else None
    inputs = [x, y] + ([w] if weighted else [])
    _check(lambda a, b, *c: F.binary_cross_entropy(a, b, c[0] if c else None, reduction=reduction),
           lambda a, b, *c: TF.binary_cross_entropy(a, b, c[0] if c else None, reduction=reduction),
           inputs, dtype, tol, grad_of=(0, 1))


def test_binary_cross_entropy_clamps_log_at_minus_100(dtype):
    x = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    _check(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
           lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [x, y], dtype,
           dict(rtol=1e-6, atol=1e-6))
    out = F.binary_cross_entropy(minigrad.tensor(x.astype(dtype)), minigrad.tensor(y.astype(dtype)), reduction="none")
    np.testing.assert_allclose(out.data, [100, 100, 0, 0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(rng, dtype, tol, reduction, options):
    x = rng.standard_normal((6, 4)) * 3
    x[0] = [1e4, -1e4, 50, -50]  # extreme logits: finite loss and gradient
    y = rng.uniform(0, 1, (6, 4))
    y[0] = [0, 1, 0, 1]
    w = rng.uniform(0.5, 2, (6, 1))
    pw = rng.uniform(0.5, 3, 4)
    use_w, use_pw = options in ("weight", "both"), options in ("pos_weight", "both")
    inputs = [x, y] + ([w] if use_w else []) + ([pw] if use_pw else [])

    def call(fn):
        def run(a, b, *rest):
            rest = list(rest)
            weight = rest.pop(0) if use_w else None
            pos_weight = rest.pop(0) if use_pw else None
            return fn(a, b, weight, reduction=reduction, pos_weight=pos_weight)
        return run
    _check(call(F.binary_cross_entropy_with_logits), call(TF.binary_cross_entropy_with_logits), inputs,
           dtype, {**tol, "atol": max(tol["atol"], 1e-4 if dtype == np.float32 else 1e-10)}, grad_of=(0, 1))


# ---------------------------------------------------------------- gradcheck (float64)
def _f64(rng, shape, low=None, high=None):
    v = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    return minigrad.tensor(v.astype(np.float64), requires_grad=True)


def test_gradcheck_losses(rng):
    t = minigrad.tensor(np.array([0, 2, 1, 2]))
    w = minigrad.tensor(np.array([0.5, 1.0, 2.0]))
    x = _f64(rng, (4, 3))
    assert gradcheck(lambda a: F.cross_entropy(a, t, w, label_smoothing=0.1), (x,))
    assert gradcheck(lambda a: F.cross_entropy(a, t, reduction="none"), (x,))
    assert gradcheck(lambda a: F.cross_entropy(a, t), (x,))
    x4 = _f64(rng, (2, 3, 2, 2))
    t4 = minigrad.tensor(rng.integers(0, 3, (2, 2, 2)))
    assert gradcheck(lambda a: F.cross_entropy(a, t4, ignore_index=1), (x4,))
    assert gradcheck(lambda a: F.cross_entropy(a, t4, reduction="sum"), (x4,))
    p = minigrad.tensor(rng.dirichlet(np.ones(3), 4), requires_grad=True)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, w, label_smoothing=0.2), (x, p))
    assert gradcheck(lambda a: F.nll_loss(a, t, w), (x,))
    y = _f64(rng, (4, 3))
    assert gradcheck(lambda a, b: F.mse_loss(a, b), (x, y))
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction="sum"), (x, y))
    assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), (x, y))
    prob = _f64(rng, (4, 3), 0.05, 0.95)
    yb = _f64(rng, (4, 3), 0, 1)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w), (prob, yb))
    pw = minigrad.tensor(np.array([0.5, 2.0, 3.0]))
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw), (x, yb))


# ---------------------------------------------------------------- modules
def test_loss_modules_match_functional(rng):
    x = minigrad.tensor(rng.standard_normal((4, 3)))
    t = minigrad.tensor(np.array([0, 1, 2, 1]))
    w = minigrad.tensor(np.array([1.0, 2.0, 0.5], dtype=np.float32))
    y = minigrad.tensor(rng.uniform(0, 1, (4, 3)).astype(np.float32))
    prob = minigrad.tensor(rng.uniform(0.1, 0.9, (4, 3)).astype(np.float32))
    cases = [
        (nn.CrossEntropyLoss(w, ignore_index=1, label_smoothing=0.1), F.cross_entropy(x, t, w, 1, "mean", 0.1), (x, t)),
        (nn.NLLLoss(reduction="sum"), F.nll_loss(x, t, reduction="sum"), (x, t)),
        (nn.MSELoss(), F.mse_loss(x, y), (x, y)),
        (nn.L1Loss(reduction="none"), F.l1_loss(x, y, reduction="none"), (x, y)),
        (nn.SmoothL1Loss(beta=0.3), F.smooth_l1_loss(x, y, beta=0.3), (x, y)),
        (nn.BCELoss(), F.binary_cross_entropy(prob, y), (prob, y)),
        (nn.BCEWithLogitsLoss(pos_weight=w), F.binary_cross_entropy_with_logits(x, y, pos_weight=w), (x, y)),
    ]
    for module, expected, args in cases:
        np.testing.assert_array_equal(module(*args).data, expected.data)
    assert "weight" in nn.CrossEntropyLoss(w).state_dict()
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")


# ---------------------------------------------------------------- errors
def test_out_of_range_class_names_value_and_classes():
    x = minigrad.zeros(3, 4)
    with pytest.raises(IndexError, match=r"Target 7 is out of bounds.*4 classes"):
        F.cross_entropy(x, minigrad.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match=r"Target -2 is out of bounds"):
        F.nll_loss(x, minigrad.tensor([0, -2, 1]))
    with pytest.raises(IndexError, match=r"Target 4 is out of bounds"):
        F.cross_entropy(minigrad.zeros(2, 4, 3), minigrad.tensor(np.full((2, 3), 4)))


def test_bad_target_shapes_and_dtypes():
    x = minigrad.zeros(3, 4)
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, minigrad.tensor([0, 1]))
    with pytest.raises(ValueError, match="1D target tensor expected"):
        F.cross_entropy(x, minigrad.tensor([[0], [1], [2]]))
    with pytest.raises(ValueError, match="expected target size"):
        F.cross_entropy(minigrad.zeros(2, 4, 3), minigrad.tensor(np.zeros((2, 4), np.int64)))
    with pytest.raises(ValueError, match="class probabilities.*int64"):
        F.cross_entropy(x, minigrad.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(x, minigrad.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="floating point target"):
        F.mse_loss(x, minigrad.tensor(np.zeros((3, 4), np.int64)))
    with pytest.raises(ValueError, match="weight tensor should be defined"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 2]), weight=minigrad.ones(3))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, minigrad.zeros(3))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(minigrad.full((3, 4), 0.5), minigrad.zeros(3, 1))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(minigrad.full((2,), 1.5), minigrad.zeros(2))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1)

"""Second derivatives of the ops outside the Case table: convolution with its options, pooling,
normalization, dropout and the losses, by ``gradgradcheck`` in float64 (finite differences of the
gradient that a ``create_graph`` backward computes), plus a third derivative.

Inputs are drawn where the ops are smooth (no pooling ties, no |x − y| = β for smooth_l1), and
dropout re-seeds inside the function so that every evaluation draws the same mask."""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad.utils import gradgradcheck


def t(*shape, low=None, high=None, seed=0):
    rng = np.random.default_rng(seed + len(shape))
    data = rng.standard_normal(shape) if low is None else rng.uniform(low, high, shape)
    return minigrad.tensor(data, requires_grad=True)


def const(data):
    return minigrad.tensor(np.asarray(data))


CONV = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b), ((2, 2, 4, 4), (2, 2, 3, 3), (2,))),
    "conv2d_stride_pad": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), ((1, 2, 5, 6), (2, 2, 3, 3), (2,))),
    "conv2d_dilation_nobias": (lambda x, w: F.conv2d(x, w, dilation=2), ((2, 1, 6, 5), (2, 1, 2, 2))),
    "conv2d_groups": (lambda x, w, b: F.conv2d(x, w, b, groups=2), ((1, 4, 3, 3), (2, 2, 2, 2), (2,))),
    "conv2d_same_even": (lambda x, w: F.conv2d(x, w, padding="same"), ((1, 2, 4, 5), (2, 2, 2, 3))),
    "conv2d_unbatched": (lambda x, w, b: F.conv2d(x, w, b, padding=(1, 0)), ((2, 4, 4), (3, 2, 3, 2), (3,))),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2), ((1, 4, 6), (2, 2, 3), (2,))),
}


@pytest.mark.parametrize("name", sorted(CONV))
def test_conv(name):
    fn, shapes = CONV[name]
    assert gradgradcheck(fn, [t(*s, seed=i) for i, s in enumerate(shapes)])


POOL = {
    "max_pool2d": lambda x: F.max_pool2d(x, 2),
    "max_pool2d_overlap_pad": lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
    "max_pool2d_dilation_ceil": lambda x: F.max_pool2d(x, 2, stride=2, dilation=2, ceil_mode=True),
    "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
    "avg_pool2d_pad_ceil": lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
    "avg_pool2d_no_pad_count": lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
    "avg_pool2d_divisor": lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    "adaptive_avg_pool2d_equal": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    "adaptive_avg_pool2d_unequal": lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
}


@pytest.mark.parametrize("name", sorted(POOL))
def test_pooling(name):
    # squared so that the second derivative is not zero everywhere
    assert gradgradcheck(lambda x: POOL[name](x) ** 2, [t(2, 2, 6, 5)])


def test_max_pool2d_unbatched():
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2, stride=1) ** 2, [t(2, 4, 4)])


NORM = {
    "batch_norm_train_4d": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), ((3, 2, 2, 2), (2,), (2,))),
    "batch_norm_train_2d_noaffine": (lambda x: F.batch_norm(x, None, None, training=True), ((4, 3),)),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(x, const([0.1, -0.2]), const([1.5, 0.7]), w, b),
                        ((3, 2, 3), (2,), (2,))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), ((2, 2, 3), (2, 3), (2, 3))),
    "layer_norm_noaffine": (lambda x: F.layer_norm(x, 4), ((3, 4),)),
}


@pytest.mark.parametrize("name", sorted(NORM))
def test_normalization(name):
    fn, shapes = NORM[name]
    # a weighted square: a loss whose Hessian involves every term of the backward formula
    assert gradgradcheck(lambda *a: fn(*a) ** 2, [t(*s, seed=i) for i, s in enumerate(shapes)])


def _seeded_dropout(fn):
    def f(x):
        minigrad.manual_seed(3)  # the same mask at every evaluation
        return fn(x)
    return f


@pytest.mark.parametrize("fn", [lambda x: F.dropout(x * x, 0.4), lambda x: F.dropout2d(x.exp(), 0.5)],
                         ids=["dropout", "dropout2d"])
def test_dropout(fn):
    assert gradgradcheck(_seeded_dropout(fn), [t(2, 3, 2, 2)])


LABELS = const(np.array([2, 0, 1]))
PROBS = np.random.default_rng(7).dirichlet(np.ones(4), size=3)
LOSSES = {
    "cross_entropy": (lambda x: F.cross_entropy(x, LABELS), ((3, 4),)),
    "cross_entropy_weight_smooth": (lambda x: F.cross_entropy(x, LABELS, weight=const([1.0, 2.0, 0.5, 1.0]),
                                                              label_smoothing=0.1), ((3, 4),)),
    "cross_entropy_ignore_sum": (lambda x: F.cross_entropy(x, const([1, -100, 3]), reduction="sum"), ((3, 4),)),
    "cross_entropy_4d_none": (lambda x: F.cross_entropy(x, const(np.array([[[0, 2]], [[1, 1]]])), reduction="none"),
                              ((2, 3, 1, 2),)),
    "cross_entropy_unbatched": (lambda x: F.cross_entropy(x, const(np.array(1))), ((4,),)),
    "cross_entropy_probs_both": (lambda x, q: F.cross_entropy(x, q, weight=const([1.0, 2.0, 0.5, 1.0]),
                                                              label_smoothing=0.2), ((3, 4), None)),
    "nll_loss": (lambda x: F.nll_loss(F.log_softmax(x, 1), LABELS, weight=const([1.0, 2.0, 0.5, 1.0])), ((3, 4),)),
    "mse_loss": (lambda x, y: F.mse_loss(x, y), ((3, 4), (3, 4))),
    "mse_loss_sum": (lambda x, y: F.mse_loss(x.exp(), y, reduction="sum"), ((3, 4), (3, 4))),
    "l1_loss": (lambda x, y: F.l1_loss(x * x, y, reduction="none"), ((3, 4), (3, 4))),
    "smooth_l1_loss": (lambda x, y: F.smooth_l1_loss(x, y, beta=1.5), ((3, 4), (3, 4))),
    "binary_cross_entropy": (lambda x, y: F.binary_cross_entropy(x, y, weight=const([0.5, 2.0, 1.0, 1.0])),
                             ("probs", "probs")),
    "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y), ((3, 4), "probs")),
    "bce_with_logits_pos_weight": (lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, weight=const([0.5, 2.0, 1.0, 1.0]), pos_weight=const([1.5, 0.5, 2.0, 1.0]), reduction="sum"),
        ((3, 4), "probs")),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss(name):
    fn, shapes = LOSSES[name]
    inputs = []
    for i, s in enumerate(shapes):
        if s is None:
            inputs.append(minigrad.tensor(PROBS, requires_grad=True))
        elif s == "probs":
            inputs.append(t(3, 4, low=0.1, high=0.9, seed=i))
        else:
            inputs.append(t(*s, seed=i))
    assert gradgradcheck(fn, inputs)


def test_third_derivative_matches_the_closed_form():
    """d³/dx³ tanh x = −2(1 − tanh² x)(1 − 3 tanh² x), by differentiating a create_graph gradient
    twice more."""
    x = minigrad.tensor(np.linspace(-2, 2, 7), requires_grad=True)
    (g1,) = minigrad.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (g2,) = minigrad.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = minigrad.autograd.grad(g2.sum(), x)
    th = np.tanh(x.data)
    np.testing.assert_allclose(g3.data, -2 * (1 - th ** 2) * (1 - 3 * th ** 2), rtol=1e-12, atol=1e-12)

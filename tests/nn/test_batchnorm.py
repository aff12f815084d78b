"""BatchNorm1d/2d, F.batch_norm, BookBatchNorm1d, recalibrate_bn and LayerNorm.

Oracle: torch 2.13 with the same parameters and inputs, stepped k times in training mode (outputs,
all gradients, running statistics, num_batches_tracked), then in eval mode. gradcheck in float64;
scale invariance BN(a·W·u) = BN(W·u) with ∂/∂W scaled by 1/a (Ioffe & Szegedy §3.3).
"""
import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import nn
from minigrad.nn.utils import recalibrate_bn
from minigrad.utils import gradcheck

torch = pytest.importorskip("torch")

F32 = dict(rtol=1e-4, atol=3e-5)
CASES = [("1d", (8, 5)), ("1d", (6, 5, 7)), ("2d", (4, 5, 3, 3)), ("2d", (2, 3, 1, 1)), ("1d", (2, 1))]


def make_pair(kind, C, momentum, affine, track, rng):
    mod = (nn.BatchNorm1d if kind == "1d" else nn.BatchNorm2d)(
        C, momentum=momentum, affine=affine, track_running_stats=track)
    ref = (torch.nn.BatchNorm1d if kind == "1d" else torch.nn.BatchNorm2d)(
        C, momentum=momentum, affine=affine, track_running_stats=track)
    if affine:
        w = rng.uniform(0.5, 1.5, C).astype(np.float32)
        b = rng.standard_normal(C).astype(np.float32)
        mod.weight.data[...] = w
        mod.bias.data[...] = b
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(w))
            ref.bias.copy_(torch.from_numpy(b))
    return mod, ref


def assert_same_state(mod, ref):
    if mod.track_running_stats:
        np.testing.assert_allclose(mod.running_mean.data, ref.running_mean.numpy(), **F32)
        np.testing.assert_allclose(mod.running_var.data, ref.running_var.numpy(), **F32)
        assert int(mod.num_batches_tracked.data) == int(ref.num_batches_tracked)
    else:
        assert mod.running_mean is None and ref.running_mean is None


@pytest.mark.parametrize("kind,shape", CASES, ids=[f"{k}-{s}" for k, s in CASES])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("track", [True, False], ids=["track", "no-track"])
def test_matches_torch_over_steps_then_eval(kind, shape, momentum, affine, track, rng):
    C = shape[1]
    mod, ref = make_pair(kind, C, momentum, affine, track, rng)
    for step in range(3):
        x_np = (rng.standard_normal(shape) * 2 + step).astype(np.float32)
        g_np = rng.standard_normal(shape).astype(np.float32)
        x = minigrad.tensor(x_np, requires_grad=True)
        tx = torch.tensor(x_np, requires_grad=True)
        y, ty = mod(x), ref(tx)
        np.testing.assert_allclose(y.data, ty.detach().numpy(), **F32)
        y.backward(minigrad.tensor(g_np))
        ty.backward(torch.from_numpy(g_np))
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
        if affine:  # accumulated over the steps, like torch
            np.testing.assert_allclose(mod.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(mod.bias.grad.data, ref.bias.grad.numpy(), rtol=1e-4, atol=1e-4)
        assert_same_state(mod, ref)
    mod.eval()
    ref.eval()
    x_np = rng.standard_normal(shape).astype(np.float32)
    x, tx = minigrad.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = mod(x), ref(tx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **F32)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert_same_state(mod, ref)  # eval leaves the buffers alone


@pytest.mark.parametrize("kind,shape", CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_bias_false_keeps_gamma_only_like_torch(kind, shape, rng):
    """PyTorch 2.13's ``bias=False``: y = γ·x̂ with no β parameter."""
    C = shape[1]
    mod = getattr(minigrad.nn, f"BatchNorm{kind}")(C, bias=False)
    ref = getattr(torch.nn, f"BatchNorm{kind}")(C, bias=False)
    assert mod.bias is None and ref.bias is None and [n for n, _ in mod.named_parameters()] == ["weight"]
    assert repr(mod) == repr(ref)
    w = rng.uniform(0.5, 2.0, C).astype(np.float32)
    mod.weight.data[...] = w
    ref.weight.data[...] = torch.from_numpy(w)
    x_np = rng.standard_normal(shape).astype(np.float32)
    x, tx = minigrad.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = mod(x), ref(tx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **F32)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mod.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_large_mean_input_matches_torch(rng):
    x_np = (1e4 + rng.standard_normal((64, 3, 4, 4))).astype(np.float32)
    mod, ref = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    np.testing.assert_allclose(mod(minigrad.tensor(x_np)).data, ref(torch.from_numpy(x_np)).detach().numpy(),
                               rtol=1e-3, atol=2e-3)  # torch itself rounds μ_B to float32 here
    np.testing.assert_allclose(mod.running_var.data, ref.running_var.numpy(), rtol=1e-4)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf − inf in the numpy reference: the point here
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5)], ids=["2d", "3d"])
def test_infinite_values_give_torch_statistics(shape, rng):
    # channel 0 finite, 1 starts with +inf (mean +inf), 2 holds both infinities (mean NaN): the
    # kernels shift each channel by its first value, which must not turn +inf into NaN
    x = rng.standard_normal(shape).astype(np.float32)
    first = (0, 1) + (0,) * (len(shape) - 2)
    x[first] = np.inf
    x[(0, 2) + (0,) * (len(shape) - 2)] = -np.inf
    x[(1, 2) + (0,) * (len(shape) - 2)] = np.inf
    mod, ref = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    y = mod(minigrad.Tensor(x))
    ty = ref(torch.from_numpy(x))
    np.testing.assert_allclose(mod.running_mean.data, ref.running_mean.numpy(), **F32)  # [finite, inf, NaN]
    assert np.isposinf(mod.running_mean.data[1]) and np.isnan(mod.running_mean.data[2])
    np.testing.assert_array_equal(np.isnan(mod.running_var.data), np.isnan(ref.running_var.numpy()))
    np.testing.assert_array_equal(np.isnan(y.data), np.isnan(ty.detach().numpy()))
    np.testing.assert_allclose(y.data[:, 0], ty.detach().numpy()[:, 0], **F32)


def test_one_value_per_channel_raises_in_training_only():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size \[1, 4\]"):
        bn(minigrad.randn(1, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm2d(4)(minigrad.randn(1, 4, 1, 1))
    bn.eval()
    assert bn(minigrad.randn(1, 4)).shape == (1, 4)


def test_input_dims_are_checked():
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(minigrad.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(minigrad.randn(2, 3))


def test_buffers_parameters_and_state_dict():
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(bn.running_var.data, 1)
    assert bn.num_batches_tracked.data.dtype == np.int64
    assert list(nn.BatchNorm1d(3, affine=False, track_running_stats=False).state_dict()) == []


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_float64(training, rng):
    x = minigrad.tensor(rng.standard_normal((5, 3, 4)), requires_grad=True)
    w = minigrad.tensor(rng.uniform(0.5, 2, 3), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal(3), requires_grad=True)
    rm, rv = minigrad.tensor(rng.standard_normal(3)), minigrad.tensor(rng.uniform(0.5, 2, 3))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None if training else rm, None if training else rv,
                                                  w, b, training=training), (x, w, b))


def test_scale_invariance_and_gradient_scaling(rng):
    """BN(u·(aW)) == BN(u·W), and ∂L/∂W at aW is (1/a)·∂L/∂W at W (eps = 0, float64)."""
    u = minigrad.tensor(rng.standard_normal((16, 7)))
    W0 = rng.standard_normal((7, 4))
    c = minigrad.tensor(rng.standard_normal((16, 4)))
    outs, grads = [], []
    for a in (1.0, 25.0):
        W = minigrad.tensor(a * W0, requires_grad=True)
        y = F.batch_norm(u @ W, None, None, training=True, eps=0.0)
        (y * c).sum().backward()
        outs.append(y.data)
        grads.append(W.grad.data)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[1], grads[0] / 25.0, rtol=1e-9, atol=1e-12)


def test_functional_running_update_in_place(rng):
    x_np = rng.standard_normal((10, 3)).astype(np.float32)
    rm, rv = minigrad.zeros(3), minigrad.ones(3)
    trm, trv = torch.zeros(3), torch.ones(3)
    rm_data = rm.data
    F.batch_norm(minigrad.tensor(x_np), rm, rv, training=True, momentum=0.3)
    torch.nn.functional.batch_norm(torch.from_numpy(x_np), trm, trv, training=True, momentum=0.3)
    assert rm.data is rm_data  # updated in place
    np.testing.assert_allclose(rm.data, trm.numpy(), **F32)
    np.testing.assert_allclose(rv.data, trv.numpy(), **F32)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(minigrad.tensor(x_np), None, None, training=False)


def test_book_convention_layer(rng):
    """Old-value momentum 0.9 (= ours 0.1) on the mean; biased running var from 0; eps 1e-6."""
    book, ours = nn.BookBatchNorm1d(4), nn.BatchNorm1d(4, momentum=0.1)
    np.testing.assert_array_equal(book.running_var.data, 0)
    rm, rv = np.zeros(4), np.zeros(4)
    for _ in range(4):
        x_np = (rng.standard_normal((6, 4)) * 3 + 1).astype(np.float32)
        y_book, y_ours = book(minigrad.tensor(x_np)), ours(minigrad.tensor(x_np))
        np.testing.assert_allclose(y_book.data, y_ours.data, rtol=1e-4, atol=1e-4)  # eps differs only
        rm = 0.9 * rm + 0.1 * x_np.mean(0)
        rv = 0.9 * rv + 0.1 * x_np.var(0)
    np.testing.assert_allclose(book.running_mean.data, rm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(book.running_var.data, rv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_mean.data, book.running_mean.data, rtol=1e-5, atol=1e-6)
    book.eval()
    x_np = rng.standard_normal((3, 4)).astype(np.float32)
    want = (x_np - rm) / np.sqrt(rv + 1e-6)
    np.testing.assert_allclose(book(minigrad.tensor(x_np)).data, want, rtol=1e-4, atol=1e-5)


def test_train_eval_switch_is_recursive():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(4)))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_recalibrate_bn_is_the_cumulative_average(rng):
    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6, momentum=0.5), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(6, 2), nn.BatchNorm1d(2))
    for _ in range(3):  # tiny batches: running statistics far from the data's
        model(minigrad.tensor(rng.standard_normal((2, 5)).astype(np.float32)))
    batches = [(rng.standard_normal((32, 5)) * 2 + 1).astype(np.float32) for _ in range(5)]
    model[3].train()
    model[1].eval()
    assert recalibrate_bn(model, [(b, None) for b in batches], num_batches=4) == 4
    h = [b @ model[0].weight.data.T + model[0].bias.data for b in batches[:4]]
    np.testing.assert_allclose(model[1].running_mean.data, np.mean([a.mean(0) for a in h], 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model[1].running_var.data, np.mean([a.var(0, ddof=1) for a in h], 0), rtol=1e-5)
    assert int(model[1].num_batches_tracked.data) == 4
    assert model[1].momentum == 0.5 and model[5].momentum == 0.1
    assert model[3].training and not model[1].training  # modes restored
    first = model[5].running_mean.data.copy()
    minigrad.manual_seed(123)  # Dropout is off during recalibration: the result does not depend on it
    recalibrate_bn(model, batches, num_batches=4)
    np.testing.assert_allclose(model[5].running_mean.data, first, rtol=1e-6)


@pytest.mark.parametrize("shape,normalized", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((3, 1, 6), (6,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized, affine, rng):
    mod, ref = nn.LayerNorm(normalized, elementwise_affine=affine), torch.nn.LayerNorm(normalized, elementwise_affine=affine)
    if affine:
        w = rng.uniform(0.5, 1.5, mod.weight.shape).astype(np.float32)
        b = rng.standard_normal(mod.bias.shape).astype(np.float32)
        mod.weight.data[...], mod.bias.data[...] = w, b
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(w))
            ref.bias.copy_(torch.from_numpy(b))
    x_np = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    g_np = rng.standard_normal(shape).astype(np.float32)
    x, tx = minigrad.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = mod(x), ref(tx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **F32)
    y.backward(minigrad.tensor(g_np))
    ty.backward(torch.from_numpy(g_np))
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    if affine:
        np.testing.assert_allclose(mod.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(mod.bias.grad.data, ref.bias.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_layer_norm_gradcheck_and_shape_error(rng):
    x = minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = minigrad.tensor(rng.standard_normal(4), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, 4, w, b), (x, w, b))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(x, 5)

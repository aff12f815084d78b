"""conv1d / conv2d and nn.Conv1d / nn.Conv2d against PyTorch 2.13, gradcheck, blocking and init."""
import math

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import _ops
from minigrad.functional import conv as conv_mod
from minigrad.utils import gradcheck

torch = pytest.importorskip("torch")
# torch warns that its own even-kernel 'same' padding copies the input; irrelevant here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# (x shape, weight shape, kwargs)
CONV2D_CASES = [
    ((2, 3, 7, 8), (4, 3, 3, 3), {}),
    ((1, 3, 9, 9), (5, 3, 3, 3), dict(padding=1)),                          # batch 1
    ((3, 4, 9, 11), (6, 2, 3, 5), dict(groups=2, stride=2, padding=(1, 2))),  # groups, non-square
    ((2, 6, 8, 8), (6, 1, 3, 3), dict(groups=6, padding="same")),           # depthwise, 'same'
    ((2, 4, 10, 9), (4, 4, 2, 4), dict(padding="same", dilation=(2, 1))),   # even kernel: asymmetric pad
    ((2, 3, 12, 10), (4, 3, 3, 3), dict(dilation=2, stride=(2, 3))),
    ((3, 2, 6, 7), (3, 2, 1, 1), dict(stride=2)),                           # 1×1 conv with stride
    ((2, 3, 5, 5), (2, 3, 5, 5), dict(padding="valid")),                    # output 1×1
    ((2, 2, 6, 6), (3, 2, 3, 3), dict(padding=4)),                          # padding > kernel
    ((3, 9, 9), (4, 3, 3, 3), dict(padding=1)),                             # unbatched input
]
CONV1D_CASES = [
    ((2, 3, 11), (4, 3, 3), {}),
    ((3, 4, 10), (6, 2, 4), dict(groups=2, padding="same")),
    ((2, 2, 13), (3, 2, 3), dict(stride=2, padding=2, dilation=2)),
    ((4, 9), (2, 4, 3), dict(padding=1)),                                   # unbatched input
]


def _compare(fn_mg, fn_torch, x_shape, w_shape, kwargs, dtype, bias=True, backend="compiled"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    X, W, B = (minigrad.Tensor(a, requires_grad=True) for a in (x, w, b))
    tX, tW, tB = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    with _ops.use_backend(backend):
        y = fn_mg(X, W, B if bias else None, **kwargs)
        ty = fn_torch(tX, tW, tB if bias else None, **kwargs)
        assert y.shape == tuple(ty.shape) and y.dtype == dtype
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(minigrad.Tensor(g))
    ty.backward(torch.tensor(g))
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(X.grad.data, tX.grad.numpy(), **tol)
    np.testing.assert_allclose(W.grad.data, tW.grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(B.grad.data, tB.grad.numpy(), **tol)
    for grad in (X.grad, W.grad) + ((B.grad,) if bias else ()):
        assert grad.dtype == dtype  # no float64 detour for float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kwargs", CONV2D_CASES)
def test_conv2d_matches_torch(x_shape, w_shape, kwargs, dtype):
    _compare(F.conv2d, torch.nn.functional.conv2d, x_shape, w_shape, kwargs, dtype)


# ∂x as a transposed convolution (stride 1, at least TRANSPOSED_MIN_CHANNELS input channels per
# group, or as many as output channels): symmetric, asymmetric ('same' with an even kernel), zero
# and dilated padding, groups
TRANSPOSED_CASES = [
    ((2, 16, 9, 10), (16, 16, 3, 3), dict(padding=1)),
    ((3, 16, 7, 7), (10, 8, 3, 3), dict(groups=2, padding=(2, 1))),
    ((2, 64, 7, 9), (5, 64, 3, 3), dict(padding=1)),
    ((2, 128, 8, 8), (8, 64, 3, 2), dict(groups=2, padding="same", dilation=(1, 2))),
    ((1, 70, 6, 7), (4, 70, 3, 3), {}),
    ((2, 64, 9, 9), (3, 64, 5, 5), dict(padding=(2, 1))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kwargs", TRANSPOSED_CASES)
def test_conv2d_input_grad_as_transposed_convolution_matches_torch(x_shape, w_shape, kwargs, dtype,
                                                                   monkeypatch):
    calls = []
    forward = _ops.conv2d_forward
    monkeypatch.setattr(_ops, "conv2d_forward", lambda *a, **k: calls.append(a[1].shape) or forward(*a, **k))
    _compare(F.conv2d, torch.nn.functional.conv2d, x_shape, w_shape, kwargs, dtype)
    groups = kwargs.get("groups", 1)
    assert len(calls) == 2 and calls[1] == (x_shape[1], w_shape[0] // groups) + w_shape[2:]  # ∂x took it


@pytest.mark.parametrize("x_shape,w_shape,kwargs", CONV2D_CASES[:4])
def test_conv2d_matches_torch_on_numpy_kernels_and_without_bias(x_shape, w_shape, kwargs):
    _compare(F.conv2d, torch.nn.functional.conv2d, x_shape, w_shape, kwargs, np.float64, bias=False,
             backend="numpy")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kwargs", CONV1D_CASES)
def test_conv1d_matches_torch(x_shape, w_shape, kwargs, dtype):
    _compare(F.conv1d, torch.nn.functional.conv1d, x_shape, w_shape, kwargs, dtype)


# ∂x as col2im(Wᵀ·G) per sample (_ops.conv2d_backward_input): stride > 1 with groups, few
# channels at stride 1, fewer input than output channels, and a layer whose columns come in
# several pixel blocks per sample
COL2IM_CASES = [
    ((7, 4, 8, 9), (6, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
    ((3, 3, 12, 11), (8, 3, 5, 5), {}),
    ((2, 4, 9, 9), (4, 4, 3, 3), dict(padding=1)),
    ((2, 16, 40, 40), (32, 16, 3, 3), dict(padding=1)),
    ((2, 24, 14, 14), (48, 24, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kwargs", COL2IM_CASES)
def test_conv2d_input_grad_by_col2im_matches_torch(x_shape, w_shape, kwargs, dtype, monkeypatch, threads):
    calls = []
    kernel = _ops.conv2d_backward_input
    monkeypatch.setattr(_ops, "conv2d_backward_input", lambda *a, **k: calls.append(a[2]) or kernel(*a, **k))
    _compare(F.conv2d, torch.nn.functional.conv2d, x_shape, w_shape, kwargs, dtype)
    assert calls == [x_shape]  # ∂x took it


def test_needs_input_grad_subsets_and_noncontiguous_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 8, 9, 10))[:, ::2, :, ::-1]  # non-contiguous
    w = rng.standard_normal((5, 4, 3, 3))
    X = minigrad.Tensor(x, requires_grad=False)
    W = minigrad.Tensor(w, requires_grad=True)
    y = F.conv2d(X, W, padding=1)
    y.sum().backward()
    tW = torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(torch.tensor(np.ascontiguousarray(x)), tW, padding=1).sum().backward()
    np.testing.assert_allclose(W.grad.data, tW.grad.numpy(), rtol=1e-10)
    assert X.grad is None
    X2 = minigrad.Tensor(np.ascontiguousarray(x), requires_grad=True)
    F.conv2d(X2, minigrad.Tensor(w), padding=1).sum().backward()
    tX = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    torch.nn.functional.conv2d(tX, torch.tensor(w), padding=1).sum().backward()
    np.testing.assert_allclose(X2.grad.data, tX.grad.numpy(), rtol=1e-10)


# Winograd F(2×2, 3×3) (3 x 3, stride 1, one group, at least WINOGRAD_MIN_CHANNELS input and
# output channels): the forward, ∂W (with ∂b) and ∂x take it, within the torch parity tolerances
WINOGRAD_CASES = [
    ((3, 32, 14, 14), (64, 32, 3, 3), dict(padding=1)),      # case (b)'s layer
    ((1, 40, 7, 9), (33, 40, 3, 3), {}),                      # batch 1, odd sizes, no padding
    ((2, 32, 5, 6), (32, 32, 3, 3), dict(padding=(2, 1))),    # ∂x padded 0 and 1
    ((2, 36, 8, 8), (32, 36, 3, 3), dict(padding="same")),
]


def _record(monkeypatch, name):
    """The shapes of the first argument of every call of _ops.<name> from now on."""
    calls = []
    kernel = getattr(_ops, name)
    monkeypatch.setattr(_ops, name, lambda *a, **k: calls.append(a[0].shape) or kernel(*a, **k))
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kwargs", WINOGRAD_CASES)
def test_conv2d_winograd_matches_torch(x_shape, w_shape, kwargs, dtype, monkeypatch, threads):
    calls = _record(monkeypatch, "conv2d_winograd")
    wgrad_calls = _record(monkeypatch, "conv2d_winograd_backward_weight")
    _compare(F.conv2d, torch.nn.functional.conv2d, x_shape, w_shape, kwargs, dtype)
    # the forward, then ∂x (a convolution of grad_out); ∂W of grad_out
    assert len(calls) == 2 and calls[0] == x_shape and calls[1][:2] == (x_shape[0], w_shape[0])
    assert len(wgrad_calls) == 1 and wgrad_calls[0][:2] == (x_shape[0], w_shape[0])


def test_conv2d_winograd_switch_and_its_limits(monkeypatch):
    """WINOGRAD = False, too few channels, stride 2 or groups: the implicit GEMM takes the forward
    and ∂W."""
    calls = _record(monkeypatch, "conv2d_winograd")
    wgrad_calls = _record(monkeypatch, "conv2d_winograd_backward_weight")
    rng = np.random.default_rng(0)
    x = minigrad.Tensor(rng.standard_normal((2, 32, 8, 8)).astype(np.float32))
    w = minigrad.Tensor(rng.standard_normal((32, 32, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    y.sum().backward()
    assert len(calls) == 1 and len(wgrad_calls) == 1
    gw = w.grad.data
    w.grad = None
    monkeypatch.setattr(conv_mod, "WINOGRAD", False)
    y_off = F.conv2d(x, w, padding=1)
    y_off.sum().backward()
    np.testing.assert_allclose(y_off.data, y.data, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w.grad.data, gw, rtol=1e-4, atol=1e-3)
    monkeypatch.setattr(conv_mod, "WINOGRAD", True)
    for y in (F.conv2d(x, w[:31], padding=1), F.conv2d(x, w, stride=2), F.conv2d(x, w[:, :16], groups=2),
              F.conv2d(x, w, dilation=2, padding=2)):
        y.sum().backward()
    assert len(calls) == 1 and len(wgrad_calls) == 1


def test_conv2d_winograd_gradcheck(monkeypatch):
    """Forward, ∂W, ∂b and ∂x through Winograd in float64 (small layer: the channel limit lowered)."""
    monkeypatch.setattr(conv_mod, "WINOGRAD_MIN_CHANNELS", 1)
    calls = _record(monkeypatch, "conv2d_winograd")
    wgrad_calls = _record(monkeypatch, "conv2d_winograd_backward_weight")
    rng = np.random.default_rng(4)
    x = minigrad.Tensor(rng.standard_normal((2, 3, 5, 6)), requires_grad=True)
    w = minigrad.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = minigrad.Tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))
    assert (2, 3, 5, 6) in calls and (2, 4, 5, 6) in calls and (2, 4, 5, 6) in wgrad_calls


@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=1, groups=2),
                                    dict(padding="same", dilation=2, groups=1)])
def test_conv2d_gradcheck(kwargs):
    rng = np.random.default_rng(3)
    x = minigrad.Tensor(rng.standard_normal((2, 4, 5, 6)), requires_grad=True)
    w = minigrad.Tensor(rng.standard_normal((4, 4 // kwargs["groups"], 3, 2)), requires_grad=True)
    b = minigrad.Tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), (x, w, b))


def test_conv1d_gradcheck():
    rng = np.random.default_rng(4)
    x = minigrad.Tensor(rng.standard_normal((2, 3, 9)), requires_grad=True)
    w = minigrad.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    b = minigrad.Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding="valid"), (x, w, b))


def test_conv2d_errors_like_torch():
    x = minigrad.Tensor(np.zeros((2, 4, 6, 6), np.float32))
    w = minigrad.Tensor(np.zeros((6, 2, 3, 3), np.float32))
    with pytest.raises(RuntimeError, match="to have 2 channels, but got 4"):
        F.conv2d(x, w)
    with pytest.raises(RuntimeError, match="divisible by 4"):
        F.conv2d(x, minigrad.Tensor(np.zeros((6, 1, 3, 3), np.float32)), groups=4)
    with pytest.raises(RuntimeError, match="strided"):
        F.conv2d(x, w, groups=2, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string"):
        F.conv2d(x, w, groups=2, padding="full")
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv2d(x, minigrad.Tensor(np.zeros((6, 2, 7, 3), np.float32)), groups=2)
    with pytest.raises(RuntimeError, match="bias"):
        F.conv2d(x, w, minigrad.Tensor(np.zeros(5, np.float32)), groups=2)
    with pytest.raises(RuntimeError, match="same floating dtype"):
        F.conv2d(x, minigrad.Tensor(np.zeros((6, 2, 3, 3))), groups=2)
    with pytest.raises(RuntimeError, match="non-positive stride"):
        F.conv2d(x, w, groups=2, stride=0)
    with pytest.raises(RuntimeError, match="4D"):
        F.conv2d(minigrad.Tensor(np.zeros((4, 6), np.float32)), w, groups=2)


def test_conv2d_module_defaults_init_and_forward():
    minigrad.manual_seed(0)
    m = nn.Conv2d(6, 8, (3, 5), stride=2, padding=1, groups=2)
    assert m.weight.shape == (8, 3, 3, 5) and m.bias.shape == (8,)
    assert m.kernel_size == (3, 5) and m.stride == (2, 2) and m.padding == (1, 1) and m.dilation == (1, 1)
    assert m.weight.dtype == np.float32 and m.weight.requires_grad
    bound = 1 / math.sqrt(3 * 3 * 5)  # fan_in = in_channels/groups · KH · KW
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert np.abs(m.weight.data).max() > 0.8 * bound  # uniform over the whole range, not a smaller one
    names = [n for n, _ in m.named_parameters()]
    assert names == ["weight", "bias"]
    assert "groups=2" in repr(m) and "kernel_size=(3, 5)" in repr(m)

    tm = torch.nn.Conv2d(6, 8, (3, 5), stride=2, padding=1, groups=2)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(m.weight.data))
        tm.bias.copy_(torch.tensor(m.bias.data))
    x = np.random.default_rng(5).standard_normal((2, 6, 9, 11)).astype(np.float32)
    np.testing.assert_allclose(m(minigrad.Tensor(x)).data, tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_conv_modules_options_and_errors():
    m = nn.Conv2d(3, 4, 3, padding="same", bias=False)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert m(minigrad.Tensor(np.zeros((1, 3, 5, 5), np.float32))).shape == (1, 4, 5, 5)
    m1 = nn.Conv1d(4, 6, 3, stride=2, groups=2, dtype=np.float64)
    assert m1.weight.shape == (6, 2, 3) and m1.weight.dtype == np.float64
    assert m1(minigrad.Tensor(np.zeros((2, 4, 9)))).shape == (2, 6, 4)
    with pytest.raises(ValueError, match="in_channels must be divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(NotImplementedError):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")

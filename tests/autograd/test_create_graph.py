"""Higher-order gradients: ``backward(create_graph=True)`` and ``autograd.grad(..., create_graph=True)``
with PyTorch's semantics, second derivatives of small nets against PyTorch, and a gradient-penalty
training loop against PyTorch (its memory over 1,000 steps: test_stress.py)."""
import gc

import numpy as np
import pytest

import minigrad
import minigrad.functional as F
from minigrad import autograd, nn
from minigrad.autograd import Function
from minigrad.autograd.functional import hessian, hvp

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def pair(data, dtype=np.float64):
    """The same leaf in minigrad and in PyTorch."""
    data = np.asarray(data, dtype=dtype)
    return minigrad.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


# ---------------------------------------------------------------- semantics

@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's note on the cycle
def test_backward_create_graph_gives_differentiable_grads_like_torch():
    rng = np.random.default_rng(0)
    x, tx = pair(rng.standard_normal(4))
    y, ty = pair(rng.standard_normal(4))
    for a, b, lib in ((x, y, minigrad), (tx, ty, torch)):
        (a ** 3 * b.exp()).sum().backward(create_graph=True)
        assert a.grad.requires_grad and a.grad.grad_fn is not None
        # differentiating .grad accumulates, out of place, into the same .grad
        (a.grad * lib.tensor(np.arange(4.0))).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(y.grad.data, ty.grad.detach().numpy(), rtol=1e-13)


def test_first_order_gradients_carry_no_graph():
    x = minigrad.randn(3, dtype=np.float64, requires_grad=True)
    (x * x).sum().backward()
    (g,) = autograd.grad((x * x).sum(), x)
    for t in (x.grad, g):
        assert not t.requires_grad and t.grad_fn is None


def test_retain_graph_defaults_to_create_graph():
    x = minigrad.randn(3, dtype=np.float64, requires_grad=True)
    y = (x.exp() * x).sum()
    autograd.grad(y, x, create_graph=True)
    y.backward()  # the graph was kept
    np.testing.assert_allclose(x.grad.data, np.exp(x.data) * (1 + x.data))
    y = (x.exp() * x).sum()
    autograd.grad(y, x, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_grad_outputs_that_require_grad_join_the_graph_like_torch():
    rng = np.random.default_rng(1)
    data, vdata = rng.standard_normal((2, 3)), rng.standard_normal(2)
    results = []
    for lib, grad in ((minigrad, autograd.grad), (torch, torch.autograd.grad)):
        x, v = lib.tensor(data, requires_grad=True), lib.tensor(vdata, requires_grad=True)
        y = (x.tanh() * lib.tensor(np.arange(3.0))).sum(1)
        (g,) = grad(y, x, grad_outputs=v, create_graph=True)
        results.append(grad((g * g).sum(), [x, v]))
    for a, b in zip(*results):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-12)


def test_create_graph_records_inside_no_grad():
    x = minigrad.randn(3, dtype=np.float64, requires_grad=True)
    y = (x ** 3).sum()
    with minigrad.no_grad():
        (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_hooks_and_retain_grad_see_gradients_with_a_graph():
    x = minigrad.randn(3, dtype=np.float64, requires_grad=True)
    h = x * x
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g) or g * 2)  # doubles the gradient flowing to x
    h.sum().backward(create_graph=True)
    assert seen[0].requires_grad is False  # the seed is a constant; the hook gets it as it is
    assert h.grad is not None
    np.testing.assert_allclose(x.grad.data, 4 * x.data)
    (second,) = autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.data, np.full(3, 4.0))


def test_first_grad_is_a_copy_not_the_seed():
    x = minigrad.randn(3, dtype=np.float64, requires_grad=True)
    seed = minigrad.ones(3, dtype=np.float64)
    x.backward(seed, create_graph=True)
    assert x.grad is not seed
    x.grad.data += 1
    np.testing.assert_array_equal(seed.data, 1.0)


class OnlyFirstOrder(Function):
    """y = x³, a user op with a first-order backward only;  ∂y/∂x = 3x²."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return 3 * x * x * grad_out


def test_function_without_backward_create_graph_is_differentiable_once():
    x = minigrad.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    (g,) = autograd.grad(OnlyFirstOrder.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, [3.0, 12.0])  # the first derivative is right
    with pytest.raises(RuntimeError, match="OnlyFirstOrder.*backward_create_graph"):
        g.sum().backward()


def test_grad_with_a_graph_is_freed_once_dropped():
    """backward(create_graph=True) makes the cycle parameter → .grad → graph → parameter (as in
    PyTorch); dropping .grad (zero_grad) frees that graph by reference counting alone: the cycle
    collector, saving all it finds, finds no Tensor or Context."""
    model = nn.Linear(3, 2).double()
    x = minigrad.randn(4, 3, dtype=np.float64)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        model(x).tanh().sum().backward(create_graph=True)
        assert model.weight.grad.requires_grad
        model.zero_grad()
        gc.collect()
        in_cycles = [o for o in gc.garbage if issubclass(type(o), (minigrad.Tensor, autograd.Context))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert in_cycles == []


# ---------------------------------------------------------------- second derivatives vs PyTorch

def _cnn(lib, x, conv_w, conv_b, gamma, beta, lin_w, lin_b):
    """conv → batch norm (training) → tanh → max pool → linear → cross entropy."""
    F_ = F if lib is minigrad else TF
    h = F_.conv2d(x, conv_w, conv_b, padding=1)
    h = F_.batch_norm(h, None, None, gamma, beta, training=True)
    h = F_.max_pool2d(h.tanh(), 2)
    logits = F_.linear(h.reshape(h.shape[0], -1), lin_w, lin_b)
    return F_.cross_entropy(logits, lib.tensor([0, 2, 1]))


def _cnn_avg(lib, x, conv_w, gamma, beta, lin_w):
    """conv (stride 2) → batch norm (eval) → GELU → adaptive avg pool → linear → softplus(sum)."""
    F_ = F if lib is minigrad else TF
    h = F_.conv2d(x, conv_w, stride=2, padding=1)
    h = F_.batch_norm(h, lib.tensor([0.1, -0.2], dtype=lib.float64), lib.tensor([0.5, 2.0], dtype=lib.float64),
                      gamma, beta, training=False)
    h = F_.adaptive_avg_pool2d(F_.gelu(h), (2, 1))
    return F_.softplus(F_.linear(h.reshape(h.shape[0], -1), lin_w).sum())


NETS = {
    "conv_bn_maxpool": (_cnn, [(3, 1, 4, 4), (2, 1, 3, 3), (2,), (2,), (2,), (3, 8), (3,)]),
    "conv_bn_eval_avgpool": (_cnn_avg, [(3, 1, 5, 5), (2, 1, 3, 3), (2,), (2,), (1, 4)]),
}


def _net_inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) * (0.5 if i else 1) for i, s in enumerate(shapes)]
    arrays[3] = arrays[3] + 1  # γ near 1
    return arrays


@pytest.mark.parametrize("name", sorted(NETS))
def test_hessian_of_a_small_net_matches_torch(name):
    """The Hessian in all the parameters at once (autograd.functional.hessian), in float64."""
    fn, shapes = NETS[name]
    arrays = _net_inputs(shapes)
    x = arrays[0]
    params = [minigrad.tensor(a) for a in arrays[1:]]
    tparams = [torch.tensor(a) for a in arrays[1:]]
    H = hessian(lambda *p: fn(minigrad, minigrad.tensor(x), *p), tuple(params))
    TH = torch.autograd.functional.hessian(lambda *p: fn(torch, torch.tensor(x), *p), tuple(tparams))
    for i in range(len(params)):
        for j in range(len(params)):
            np.testing.assert_allclose(H[i][j].data, TH[i][j].numpy(), rtol=1e-9, atol=1e-11,
                                       err_msg=f"block ({i}, {j})")


def test_hessian_built_row_by_row_and_hvps_match_torch():
    """The full Hessian of the conv/BN/pool net in its flattened parameters, one row per double
    backward (grad of one element of a create_graph gradient), and HVPs, against PyTorch."""
    fn, shapes = NETS["conv_bn_maxpool"]
    arrays = _net_inputs(shapes, seed=1)
    params = [minigrad.tensor(a, requires_grad=True) for a in arrays[1:]]
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays[1:]]
    grads = autograd.grad(fn(minigrad, minigrad.tensor(arrays[0]), *params), params, create_graph=True)
    flat = minigrad.cat([g.reshape(-1) for g in grads])
    rows = []
    for k in range(flat.shape[0]):
        row = autograd.grad(flat[k], params, retain_graph=True, allow_unused=True)
        rows.append(np.concatenate([(np.zeros(p.shape) if r is None else r.data).ravel() for r, p in zip(row, params)]))
    H = np.array(rows)
    tgrads = torch.autograd.grad(fn(torch, torch.tensor(arrays[0]), *tparams), tparams, create_graph=True)
    tflat = torch.cat([g.reshape(-1) for g in tgrads])
    TH = np.array([np.concatenate([r.numpy().ravel() for r in torch.autograd.grad(tflat[k], tparams, retain_graph=True)])
                   for k in range(tflat.shape[0])])
    np.testing.assert_allclose(H, TH, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-11)

    rng = np.random.default_rng(2)
    v = [rng.standard_normal(p.shape) for p in params]
    _, hv = hvp(lambda *p: fn(minigrad, minigrad.tensor(arrays[0]), *p), tuple(params),
                tuple(minigrad.tensor(a) for a in v))
    _, thv = torch.autograd.functional.hvp(lambda *p: fn(torch, torch.tensor(arrays[0]), *p),
                                           tuple(t.detach() for t in tparams), tuple(torch.tensor(a) for a in v))
    flat_v = np.concatenate([a.ravel() for a in v])
    for got, want in zip(hv, thv):
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(np.concatenate([g.data.ravel() for g in hv]), H @ flat_v, rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------- gradient penalty

def _critic(lib, weights):
    """A small WGAN-GP-style critic (conv → batch norm → leaky ReLU → avg pool → linear) with
    the given weights. The conv has no bias: before BN its gradient is 0 up to rounding, which Adam's
    first step would turn into ±lr in either library."""
    layers = {"conv": lib.nn.Conv2d(1, 3, 3, padding=1, bias=False), "bn": lib.nn.BatchNorm2d(3), "fc": lib.nn.Linear(12, 1)}
    for key, layer in layers.items():
        for name, p in layer.named_parameters():
            if lib is minigrad:
                p.data[...] = weights[f"{key}.{name}"]
            else:
                with torch.no_grad():
                    p.copy_(torch.tensor(weights[f"{key}.{name}"]))
    F_ = F if lib is minigrad else TF

    def forward(x):
        h = F_.avg_pool2d(F_.leaky_relu(layers["bn"](layers["conv"](x)), 0.2), 2)
        return layers["fc"](h.reshape(x.shape[0], -1))
    return forward, [p for layer in layers.values() for p in layer.parameters()]


def _gradient_penalty_loop(lib, weights, x, y, steps=5, lam=10.0):
    """``steps`` of Adam on  mse(critic(x), y) + λ·mean_n ‖∂critic(x)_n/∂x_n‖²."""
    critic, params = _critic(lib, weights)
    opt = lib.optim.Adam(params, lr=1e-2)
    grad = autograd.grad if lib is minigrad else torch.autograd.grad
    for _ in range(steps):
        xi = lib.tensor(x).requires_grad_()
        out = critic(xi)
        (gx,) = grad(out.sum(), xi, create_graph=True)
        penalty = (gx * gx).reshape(x.shape[0], -1).sum(1).mean()
        loss = ((out - lib.tensor(y)) ** 2).mean() + lam * penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().numpy() for p in params]


def test_gradient_penalty_training_matches_torch():
    rng = np.random.default_rng(3)
    shapes = {"conv.weight": (3, 1, 3, 3), "bn.weight": (3,), "bn.bias": (3,),
              "fc.weight": (1, 12), "fc.bias": (1,)}
    weights = {k: (rng.standard_normal(s) * 0.5 + (k == "bn.weight")).astype(np.float32) for k, s in shapes.items()}
    x = rng.standard_normal((4, 1, 4, 4)).astype(np.float32)
    y = rng.standard_normal((4, 1)).astype(np.float32)
    got = _gradient_penalty_loop(minigrad, weights, x, y)
    want = _gradient_penalty_loop(torch, weights, x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    assert not np.allclose(got[0], weights["conv.weight"])  # it trained

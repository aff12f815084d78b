"""functional/composite.py against torch: values and gradients (torch as the oracle), gradcheck in
float64, and errors. The ops are built from other ops, so these tests also check the compositions."""
import numpy as np
import pytest
import torch

import minigrad
import minigrad.functional as F
from minigrad.utils import gradcheck

# name, minigrad call, torch call, input shape; index arguments are fixed arrays
IDX = np.array([[2, 0, 1, 1], [0, 3, 3, 2], [1, 1, 0, 4]])
COMPOSITES = [
    ("mish", lambda f, x: f.mish(x), lambda x: torch.nn.functional.mish(x), (3, 5)),
    ("hardtanh", lambda f, x: f.hardtanh(x, -0.5, 0.7), lambda x: torch.nn.functional.hardtanh(x, -0.5, 0.7), (3, 5)),
    ("relu6", lambda f, x: f.relu6(3 * x + 3), lambda x: torch.nn.functional.relu6(3 * x + 3), (4, 4)),
    ("index_select", lambda f, x: f.index_select(x, 1, minigrad.tensor([4, 0, 4])),
     lambda x: torch.index_select(x, 1, torch.tensor([4, 0, 4])), (3, 5)),
    ("gather", lambda f, x: f.gather(x, 1, minigrad.tensor(IDX)), lambda x: torch.gather(x, 1, torch.tensor(IDX)), (3, 5)),
    ("gather0", lambda f, x: f.gather(x, 0, minigrad.tensor(IDX[:2, :3] % 3)),
     lambda x: torch.gather(x, 0, torch.tensor(IDX[:2, :3] % 3)), (3, 5)),
    ("narrow", lambda f, x: f.narrow(x, -1, 1, 3), lambda x: torch.narrow(x, -1, 1, 3), (3, 5)),
    ("flip", lambda f, x: f.flip(x, (0, 2)), lambda x: torch.flip(x, (0, 2)), (2, 3, 4)),
    ("roll", lambda f, x: f.roll(x, (1, -2), (0, 1)), lambda x: torch.roll(x, (1, -2), (0, 1)), (3, 5)),
    ("roll-flat", lambda f, x: f.roll(x, 4), lambda x: torch.roll(x, 4), (3, 5)),
    ("repeat", lambda f, x: f.repeat(x, 2, 1, 3), lambda x: x.repeat(2, 1, 3), (3, 2)),
    ("unflatten", lambda f, x: f.unflatten(x, 1, (2, -1)), lambda x: torch.unflatten(x, 1, (2, -1)), (3, 6)),
    ("sort", lambda f, x: f.sort(x, 0, descending=True).values, lambda x: torch.sort(x, 0, descending=True).values, (4, 3)),
    ("topk", lambda f, x: f.topk(x, 2).values, lambda x: torch.topk(x, 2).values, (3, 5)),
    ("topk-smallest", lambda f, x: f.topk(x, 3, dim=0, largest=False).values,
     lambda x: torch.topk(x, 3, dim=0, largest=False).values, (4, 2)),
    ("sign", lambda f, x: f.sign(x) * x, lambda x: torch.sign(x) * x, (3, 4)),
    ("round", lambda f, x: f.round(3 * x) + f.round(x, decimals=1) + x, lambda x: torch.round(3 * x) + torch.round(x, decimals=1) + x, (3, 4)),
    ("floor-ceil", lambda f, x: f.floor(2 * x) * f.ceil(x) + x, lambda x: torch.floor(2 * x) * torch.ceil(x) + x, (3, 4)),
    ("clone", lambda f, x: f.clone(x) * 2, lambda x: torch.clone(x) * 2, (3, 4)),
    ("cumsum", lambda f, x: f.cumsum(x, 1), lambda x: torch.cumsum(x, 1), (3, 5)),
    ("cumsum0", lambda f, x: f.cumsum(x, 0), lambda x: torch.cumsum(x, 0), (4, 2, 3)),
    ("prod", lambda f, x: f.prod(x), lambda x: torch.prod(x), (3, 5)),
    ("prod-dim", lambda f, x: f.prod(x, 1, keepdim=True), lambda x: torch.prod(x, 1, keepdim=True), (3, 7)),
    ("prod-dim0", lambda f, x: f.prod(x, 0), lambda x: torch.prod(x, 0), (4, 2, 3)),
    ("norm", lambda f, x: f.norm(x), lambda x: torch.norm(x), (3, 4)),
    ("norm-dim", lambda f, x: f.norm(x, 2, dim=1, keepdim=True), lambda x: torch.norm(x, 2, dim=1, keepdim=True), (3, 4)),
    ("norm-1", lambda f, x: f.norm(x, 1, dim=0), lambda x: torch.norm(x, 1, dim=0), (3, 4)),
    ("norm-3", lambda f, x: f.norm(x, 3), lambda x: torch.norm(x, 3), (3, 4)),
    ("norm-inf", lambda f, x: f.norm(x, float("inf"), dim=1), lambda x: torch.norm(x, float("inf"), dim=1), (3, 4)),
    ("group_norm", lambda f, x: f.group_norm(x, 2, eps=1e-3), lambda x: torch.nn.functional.group_norm(x, 2, eps=1e-3),
     (2, 4, 3)),
    ("max_pool1d", lambda f, x: f.max_pool1d(x, 3, 2, 1), lambda x: torch.nn.functional.max_pool1d(x, 3, 2, 1), (2, 3, 8)),
    ("avg_pool1d", lambda f, x: f.avg_pool1d(x, 2), lambda x: torch.nn.functional.avg_pool1d(x, 2), (2, 3, 7)),
    ("avg_pool1d-pad", lambda f, x: f.avg_pool1d(x, 3, 1, 1, count_include_pad=False),
     lambda x: torch.nn.functional.avg_pool1d(x, 3, 1, 1, count_include_pad=False), (3, 6)),
    ("adaptive_max_pool2d", lambda f, x: f.adaptive_max_pool2d(x, (2, 3)),
     lambda x: torch.nn.functional.adaptive_max_pool2d(x, (2, 3)), (2, 2, 5, 7)),
]


@pytest.mark.parametrize("case", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_values_and_gradients_match_torch(rng, case):
    _, ours_fn, torch_fn, shape = case
    a = rng.standard_normal(shape)
    x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = ours_fn(F, x), torch_fn(tx)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = rng.standard_normal(y.shape)
    (y * minigrad.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_gradcheck(rng, case):
    _, ours_fn, _, shape = case
    x = minigrad.tensor(rng.standard_normal(shape), requires_grad=True)
    assert gradcheck(lambda t: ours_fn(F, t), (x,))


@pytest.mark.parametrize("shape, weight", [((2, 3, 4), [0.1, 0.5, 2.0]), ((5, 3), [0.25]), ((4,), [0.3])])
def test_prelu_matches_torch_and_gradcheck(rng, shape, weight):
    a, w = rng.standard_normal(shape), np.array(weight)
    x, wt = minigrad.tensor(a, requires_grad=True), minigrad.tensor(w, requires_grad=True)
    tx, twt = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    y, ty = F.prelu(x, wt), torch.nn.functional.prelu(tx, twt)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(wt.grad.numpy(), twt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda u, v: F.prelu(u, v), (minigrad.tensor(a, requires_grad=True),
                                                  minigrad.tensor(w, requires_grad=True)))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(minigrad.zeros(2, 4), minigrad.ones(3))


def _check_loss(a, target, ours, theirs, module):
    """A loss against PyTorch in float64: value and input gradient of ``ours(x, target)`` and of the
    nn ``module``, and gradcheck."""
    x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = ours(x, minigrad.tensor(target)), theirs(tx, torch.tensor(target))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(module(x, minigrad.tensor(target)).detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    assert gradcheck(lambda u: ours(u, minigrad.tensor(target)), (minigrad.tensor(a, requires_grad=True),))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_loss_matches_torch(rng, reduction, delta):
    a, b = 2 * rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _check_loss(a, b, lambda x, t: F.huber_loss(x, t, reduction, delta),
                lambda x, t: torch.nn.functional.huber_loss(x, t, reduction=reduction, delta=delta),
                minigrad.nn.HuberLoss(reduction, delta))
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(minigrad.tensor(a), minigrad.tensor(a), delta=0.0)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's advice to use batchmean
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(rng, reduction, log_target):
    logits, target = rng.standard_normal((4, 5)), rng.random((4, 5))
    target[0, 1] = 0.0  # 0·log 0 counts as 0
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    tgt = np.log(target + 0.1) if log_target else target
    _check_loss(log_p, tgt, lambda x, t: F.kl_div(x, t, reduction, log_target),
                lambda x, t: torch.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target),
                minigrad.nn.KLDivLoss(reduction, log_target))


@pytest.mark.parametrize("name,args", [("ReLU", ()), ("LeakyReLU", (0.2,)), ("ELU", (1.0,)), ("SiLU", ()), ("Mish", ()),
                                       ("Hardtanh", (-1.0, 1.0))])
def test_activation_inplace_flag_repr_and_result_like_torch(rng, name, args):
    a = rng.standard_normal((2, 5))
    ours, theirs = getattr(minigrad.nn, name)(*args, inplace=True), getattr(torch.nn, name)(*args, inplace=True)
    assert repr(ours) == repr(theirs)
    x = minigrad.tensor(a)
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(a)).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(x.numpy(), a)  # computed out of place (the documented difference)


def test_modules_match_torch(rng):
    a = rng.standard_normal((2, 3, 4))
    for ours, theirs in [(minigrad.nn.Mish(), torch.nn.Mish()), (minigrad.nn.Hardtanh(-2, 0.5), torch.nn.Hardtanh(-2, 0.5)),
                         (minigrad.nn.ReLU6(), torch.nn.ReLU6()), (minigrad.nn.PReLU(3).double(), torch.nn.PReLU(3).double())]:
        np.testing.assert_allclose(ours(minigrad.tensor(a)).detach().numpy(), theirs(torch.tensor(a)).detach().numpy(),
                                   rtol=1e-12)
        assert repr(ours) == repr(theirs)
    assert list(minigrad.nn.PReLU(3).state_dict()) == list(torch.nn.PReLU(3).state_dict()) == ["weight"]
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        minigrad.nn.Hardtanh(1.0, 0.0)


def test_sort_and_topk_indices_match_torch(rng):
    a = rng.permutation(24).reshape(4, 6).astype(np.float64)
    x, tx = minigrad.tensor(a), torch.tensor(a)
    for dim in (0, 1, -1):
        for descending in (False, True):
            ours, theirs = x.sort(dim, descending), tx.sort(dim, descending)
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        ours, theirs = x.topk(3, dim), tx.topk(3, dim)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        values, indices = minigrad.topk(x, 2, dim, largest=False)  # unpacks like torch's result
        np.testing.assert_array_equal(indices.numpy(), torch.topk(tx, 2, dim, largest=False).indices.numpy())
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(7)


def test_one_hot_matches_torch():
    labels = np.array([[0, 3], [2, 2]])
    for n in (-1, 5):
        np.testing.assert_array_equal(F.one_hot(minigrad.tensor(labels), n).numpy(),
                                      torch.nn.functional.one_hot(torch.tensor(labels), n).numpy())
    for bad, n, message in [([1, -1], 3, "non-negative"), ([1, 3], 3, "smaller than num_classes")]:
        with pytest.raises(RuntimeError, match=message):
            torch.nn.functional.one_hot(torch.tensor(bad), n)
        with pytest.raises(RuntimeError, match=message):
            F.one_hot(minigrad.tensor(bad), n)


@pytest.mark.parametrize("call, error, message", [
    (lambda lib, x: lib.narrow(x, 1, 3, 3), RuntimeError, r"start \(3\) \+ length \(3\) exceeds dimension size \(5\)"),
    (lambda lib, x: lib.flip(x, (0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda lib, x: lib.roll(x, (1, 2), 0), RuntimeError, "shifts and dimensions must align"),
    (lambda lib, x: x.repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller"),
    (lambda lib, x: lib.gather(x, 1, lib.zeros(4, 2, dtype=lib.int64)), RuntimeError, "Size does not match at dimension 0"),
    (lambda lib, x: lib.index_select(x, 2, lib.tensor([0])), IndexError, "Dimension out of range"),
    (lambda lib, x: lib.unflatten(x, 1, (2, 2)), RuntimeError, "unflatten: Provided sizes"),
])
def test_errors_match_torch(call, error, message):
    with pytest.raises(error, match=message):
        call(torch, torch.zeros(3, 5))
    with pytest.raises(error, match=message):
        call(minigrad, minigrad.zeros(3, 5))


def test_rounding_passes_zero_gradient_like_torch(rng):
    a = rng.standard_normal(5)
    for name in ["sign", "round", "floor", "ceil"]:
        x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = getattr(x, name)(), getattr(tx, name)()
        assert y.requires_grad == ty.requires_grad is True
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # zeros
    c = minigrad.tensor(a)
    assert c.clone().data is not c.data and not np.shares_memory(c.clone().data, c.data)
    ints = minigrad.tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal(ints.cumsum(1).numpy(), torch.tensor([[1, 2], [3, 4]]).cumsum(1).numpy())


@pytest.mark.parametrize("option", [{"max_norm": 1.0}, {"scale_grad_by_freq": True}, {"sparse": True}])
def test_embedding_options_minigrad_lacks_are_refused_by_name(option):
    (name,) = option
    with pytest.raises(NotImplementedError, match=name):
        minigrad.nn.Embedding(5, 3, **option)
    with pytest.raises(NotImplementedError, match=name):
        minigrad.nn.functional.embedding(minigrad.tensor([1]), minigrad.randn(5, 3), **option)
    assert minigrad.nn.Embedding(5, 3, None, None, 2.0, False, False).weight.shape == (5, 3)  # the defaults


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, dilation=2, ceil_mode=True)])
def test_max_pool1d_return_indices_matches_torch(rng, kwargs):
    x = rng.integers(-4, 5, (2, 3, 9)).astype(np.float32)  # ties: the first maximum wins
    y, idx = minigrad.nn.functional.max_pool1d(minigrad.tensor(x), **kwargs, return_indices=True)
    m_y, m_idx = minigrad.nn.MaxPool1d(**kwargs, return_indices=True)(minigrad.tensor(x))
    ty, tidx = torch.nn.functional.max_pool1d(torch.tensor(x), **kwargs, return_indices=True)
    assert idx.dtype == np.int64
    for ours in (idx, m_idx):
        np.testing.assert_array_equal(ours.data, tidx.numpy())
    for ours in (y, m_y):
        np.testing.assert_array_equal(ours.data, ty.numpy())
    with pytest.raises(NotImplementedError, match="return_indices"):
        minigrad.nn.functional.adaptive_max_pool2d(minigrad.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(NotImplementedError, match="return_indices"):
        minigrad.nn.AdaptiveMaxPool2d(2, return_indices=True)


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_matches_torch(rng, padding_idx):
    w = rng.standard_normal((5, 3))
    ids = np.array([[1, 4, 1], [0, 1, 2]])
    weight, tweight = minigrad.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = minigrad.nn.functional.embedding(minigrad.tensor(ids), weight, padding_idx)
    ty = torch.nn.functional.embedding(torch.tensor(ids), tweight, None if padding_idx is None else padding_idx % 5)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = rng.standard_normal(y.shape)
    (y * minigrad.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(weight.grad.numpy(), tweight.grad.numpy(), rtol=1e-12)
    ours, theirs = minigrad.nn.Embedding(5, 3, padding_idx=padding_idx), torch.nn.Embedding(5, 3, padding_idx=padding_idx)
    assert repr(ours) == repr(theirs)
    if padding_idx is not None:
        assert not ours.weight.data[padding_idx].any()
    with pytest.raises(IndexError, match="index out of range in self"):
        ours(minigrad.tensor([5]))


def test_layers_match_torch(rng):
    """Bilinear, GroupNorm and the new pooling modules with the same parameters as torch's."""
    pairs = [(minigrad.nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4), [(2, 4, 3, 3)]),
             (minigrad.nn.Bilinear(3, 2, 4), torch.nn.Bilinear(3, 2, 4), [(5, 3), (5, 2)]),
             (minigrad.nn.MaxPool1d(2), torch.nn.MaxPool1d(2), [(2, 3, 6)]),
             (minigrad.nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1), [(2, 3, 7)]),
             (minigrad.nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3), [(1, 2, 7, 5)])]
    for ours, theirs, shapes in pairs:
        ours.double()
        theirs.double()
        with torch.no_grad():
            for p, q in zip(ours.parameters(), theirs.parameters()):
                q.copy_(torch.tensor(rng.standard_normal(q.shape)))
                p.data[...] = q.numpy()
        inputs = [rng.standard_normal(s) for s in shapes]
        xs = [minigrad.tensor(a, requires_grad=True) for a in inputs]
        txs = [torch.tensor(a, requires_grad=True) for a in inputs]
        y, ty = ours(*xs), theirs(*txs)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        y.sum().backward()
        ty.sum().backward()
        for u, v in list(zip(xs, txs)) + list(zip(ours.parameters(), theirs.parameters())):
            np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(minigrad.nn.GroupNorm(2, 4)) == repr(torch.nn.GroupNorm(2, 4))
    assert repr(minigrad.nn.Bilinear(3, 2, 4)) == repr(torch.nn.Bilinear(3, 2, 4))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        minigrad.nn.functional.group_norm(minigrad.zeros(1, 3, 2), 2)


def test_bilinear_gradcheck(rng):
    x1, x2 = (minigrad.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3), (2, 2)])
    w, b = minigrad.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True), minigrad.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda u, v, p, q: minigrad.nn.functional.bilinear(u, v, p, q), (x1, x2, w, b))
    e = minigrad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    # (the padding row's gradient is zero by design, so the check uses indices without it)
    assert gradcheck(lambda t: minigrad.nn.functional.embedding(minigrad.tensor([3, 1, 3]), t, 0), (e,))
    g = minigrad.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    gw, gb = minigrad.tensor(rng.standard_normal(4), requires_grad=True), minigrad.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda t, u, v: minigrad.nn.functional.group_norm(t, 2, u, v), (g, gw, gb))


@pytest.mark.parametrize("N, C_in, H, W, C_out, k, stride, padding, output_padding, groups, dilation", [
    (2, 4, 5, 6, 6, 3, 2, 1, 1, 2, 1), (1, 3, 4, 4, 2, 2, 1, 0, 0, 1, 1), (2, 2, 3, 5, 3, 3, 3, 2, 2, 1, 2),
    (1, 2, 4, 3, 4, 2, 2, 2, 1, 2, 1),  # padding beyond the kernel's reach: the input is cropped
])
def test_conv_transpose2d_matches_torch(rng, N, C_in, H, W, C_out, k, stride, padding, output_padding, groups, dilation):
    args = (stride, padding, output_padding, groups, dilation)
    x, w, b = rng.standard_normal((N, C_in, H, W)), rng.standard_normal((C_in, C_out // groups, k, k)), rng.standard_normal(C_out)
    ours = [minigrad.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y, ty = F.conv_transpose2d(*ours, *args), torch.nn.functional.conv_transpose2d(*theirs, *args)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    (y * minigrad.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    for u, v in zip(ours, theirs):
        np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=1e-10, atol=1e-12)
    small = [minigrad.tensor(a[:1, :, :3, :3] if a.ndim == 4 and a is x else a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(lambda u, v, c: F.conv_transpose2d(u, v, c, *args), small)


def test_conv_transpose2d_module_matches_torch(rng):
    ours, theirs = minigrad.nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2), torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2)
    assert repr(ours) == repr(theirs) and ours.weight.shape == tuple(theirs.weight.shape)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    bound = 1 / np.sqrt(3 * 3 * 3)  # fan_in = out_channels/groups · kH · kW
    assert np.abs(ours.weight.data).max() <= bound and np.abs(ours.bias.data).max() <= bound
    ours.load_state_dict({k: minigrad.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(minigrad.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert ours(minigrad.tensor(x[0])).shape == (6, 10, 10)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(minigrad.zeros(1, 1, 2, 2), minigrad.zeros(1, 1, 2, 2), output_padding=1)


def test_scatter_matches_torch(rng):
    idx = np.array([[0, 2, 1], [2, 0, 0]])  # along dim 0 of a (3, 4) input: no repeated target
    a, src = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))  # torch needs src shaped as index for backward
    x, s_ = minigrad.tensor(a, requires_grad=True), minigrad.tensor(src, requires_grad=True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
    y, ty = x.scatter(0, minigrad.tensor(idx), s_), tx.scatter(0, torch.tensor(idx), ts)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = rng.standard_normal(y.shape)
    (y * minigrad.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(s_.grad.numpy(), ts.grad.numpy())
    filled = minigrad.scatter(minigrad.tensor(a), 1, minigrad.tensor(idx[:, :2]), value=9.0)
    np.testing.assert_array_equal(filled.numpy(), torch.tensor(a).scatter(1, torch.tensor(idx[:, :2]), 9.0).numpy())
    assert gradcheck(lambda u, v: minigrad.scatter(u, 0, minigrad.tensor(idx), v),
                     (minigrad.tensor(a, requires_grad=True), minigrad.tensor(src, requires_grad=True)))
    with pytest.raises(RuntimeError, match="out of bounds"):
        minigrad.scatter(x, 0, minigrad.tensor([[3]]), value=1.0)


def test_prod_gradient_with_zeros_and_integers_match_torch():
    a = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]])
    for dim in (None, 0, 1):
        x, tx = minigrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y = x.prod() if dim is None else x.prod(dim)
        ty = tx.prod() if dim is None else tx.prod(dim)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)  # Πⱼ≠ᵢ xⱼ, zeros included
    ints = np.array([[1, 2, 3], [4, 5, 6]])
    assert minigrad.prod(minigrad.tensor(ints)).item() == torch.prod(torch.tensor(ints)).item() == 720
    np.testing.assert_array_equal(minigrad.tensor(ints).prod(1).numpy(), torch.tensor(ints).prod(1).numpy())
    assert minigrad.prod(minigrad.zeros(0)).item() == 1.0

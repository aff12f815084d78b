"""nn.utils.fuse_bn: BatchNorm folded into the Linear/Conv before it, equal to the eval model."""
import numpy as np
import pytest

import minigrad
from minigrad import nn


def _with_statistics(model, x, steps=3):
    """Train-mode passes give every BN running statistics away from (0, 1); then γ, β are made
    non-trivial too, so that a wrong fold cannot pass by accident."""
    rng = np.random.default_rng(7)
    model.train()
    with minigrad.no_grad():
        for _ in range(steps):
            model(x * 3.0 + 1.5)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            m.weight.data[...] = rng.uniform(0.5, 2.0, m.num_features)
            m.bias.data[...] = rng.standard_normal(m.num_features)
    return model.eval()


def _assert_fused_equal(model, x, n_bn_folded, rtol=1e-5, atol=1e-5):
    fused = nn.utils.fuse_bn(model)
    before = sum(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules())
    after = sum(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in fused.modules())
    assert before - after == n_bn_folded
    with minigrad.no_grad():
        want, got = model(x).data, fused(x).data
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return fused


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_mlp_linear_bn_pairs_fold(affine, bias):
    layers = []
    for width_in in (20, 16, 16):
        layers += [nn.Linear(width_in, 16, bias=bias), nn.BatchNorm1d(16, affine=affine), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(16, 3))
    x = minigrad.randn(8, 20)
    _with_statistics(model, x)
    fused = _assert_fused_equal(model, x, n_bn_folded=3)
    assert len(fused) == len(model) - 3 and not fused.training
    assert [k for k in fused.state_dict()][:2] == ["0.weight", "0.bias"]  # the kept layers keep their names
    assert all(m.bias is not None for m in fused.modules() if isinstance(m, nn.Linear))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_cnn_conv_bn_pairs_fold(affine, bias):
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=bias), nn.BatchNorm2d(8, affine=affine), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(8, 6, 3, stride=2, groups=2, bias=bias), nn.BatchNorm2d(6, affine=affine), nn.ReLU(),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 4))
    x = minigrad.randn(5, 3, 10, 10)
    _with_statistics(model, x)
    _assert_fused_equal(model, x, n_bn_folded=2)


def test_conv1d_and_book_bn_fold_and_float64_is_exact_to_rounding():
    model = nn.Sequential(nn.Conv1d(4, 6, 3, dtype=np.float64), nn.BatchNorm1d(6, dtype=np.float64), nn.Tanh(),
                          nn.Flatten(), nn.Linear(6 * 7, 5, dtype=np.float64),
                          nn.BookBatchNorm1d(5, dtype=np.float64))
    x = minigrad.randn(4, 4, 9, dtype=np.float64)
    _with_statistics(model, x)
    _assert_fused_equal(model, x, n_bn_folded=2, rtol=1e-12, atol=1e-12)


def test_what_is_not_folded_stays():
    model = nn.Sequential(
        nn.Linear(6, 6), nn.ReLU(), nn.BatchNorm1d(6),              # BN after an activation
        nn.Linear(6, 6), nn.BatchNorm1d(6, track_running_stats=False))  # batch statistics in eval
    x = minigrad.randn(7, 6)
    _with_statistics(model, x)
    _assert_fused_equal(model, x, n_bn_folded=0)


def test_nested_sequentials_and_consecutive_bns_fold():
    inner = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.BatchNorm1d(4))
    model = nn.Sequential(inner, nn.ReLU(), nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)))
    x = minigrad.randn(6, 5)
    _with_statistics(model, x)
    _assert_fused_equal(model, x, n_bn_folded=3)


def test_the_original_model_is_unchanged_and_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    x = minigrad.randn(5, 3)
    _with_statistics(model, x)
    state = {k: v.data.copy() for k, v in model.state_dict().items()}
    nn.utils.fuse_bn(model)
    assert all(np.array_equal(state[k], v.data) for k, v in model.state_dict().items())
    assert len(model) == 2
    model.train()
    with pytest.raises(RuntimeError, match=r"training mode.*model\.eval\(\)"):
        nn.utils.fuse_bn(model)

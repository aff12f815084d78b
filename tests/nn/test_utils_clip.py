"""nn.utils.clip_grad_norm_ / clip_grad_value_ against torch.nn.utils."""
import numpy as np
import pytest

import minigrad
from minigrad import nn

torch = pytest.importorskip("torch")


def _pairs(rng, scale, dtype=np.float32):
    grads = [rng.standard_normal(s).astype(dtype) * scale for s in [(4, 3), (3,), (2, 2, 2)]]
    ours = []
    theirs = []
    for g in grads:
        p = nn.Parameter(minigrad.zeros(*g.shape, dtype=dtype))
        p.grad = minigrad.tensor(g.copy())
        ours.append(p)
        q = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float32 if dtype == np.float32 else torch.float64))
        q.grad = torch.tensor(g.copy())
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_torch(rng, norm_type, scale):
    ours, theirs = _pairs(rng, scale)
    total = nn.utils.clip_grad_norm_(ours, max_norm=1.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, minigrad.Tensor) and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-5, atol=1e-7)
    if scale == 10.0:  # clipped: the new total norm is max_norm
        flat = np.concatenate([p.grad.data.ravel() for p in ours])
        np.testing.assert_allclose(np.linalg.norm(flat, ord=norm_type), 1.5, rtol=1e-5)


def test_clip_grad_norm_edge_cases(rng):
    p = nn.Parameter(minigrad.zeros(3))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all
    p.grad = minigrad.tensor([3.0, 4.0, 0.0])
    assert nn.utils.clip_grad_norm_(p, 10.0).item() == pytest.approx(5.0)  # a single tensor works
    np.testing.assert_array_equal(p.grad.data, [3.0, 4.0, 0.0])  # below max_norm: untouched
    p.grad = minigrad.tensor([np.nan, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value_matches_torch(rng, dtype):
    ours, theirs = _pairs(rng, 2.0, dtype)
    nn.utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs):
        assert p.grad.dtype == dtype
        np.testing.assert_array_equal(p.grad.data, q.grad.numpy())
        assert np.abs(p.grad.data).max() <= 0.7


# ---------------------------------------------------------------- parameters_to_vector, vector_to_parameters
def test_parameters_to_vector_and_back_match_torch(rng):
    model = minigrad.nn.Sequential(minigrad.nn.Linear(3, 2), minigrad.nn.Linear(2, 1)).double()
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)).double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    vec = minigrad.nn.utils.parameters_to_vector(model.parameters())
    tvec = torch.nn.utils.parameters_to_vector(tmodel.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    w = rng.standard_normal(vec.shape)
    (vec * minigrad.tensor(w)).sum().backward()  # differentiable: each parameter gets its slice of w
    (tvec * torch.tensor(w)).sum().backward()
    for p, q in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    new = rng.standard_normal(vec.shape)
    minigrad.nn.utils.vector_to_parameters(minigrad.tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tmodel.parameters())
    for p, q in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        assert p.shape == tuple(q.shape)
    with pytest.raises(TypeError, match="expected minigrad.Tensor, but got: ndarray"):
        minigrad.nn.utils.vector_to_parameters(new, model.parameters())

"""nn.Module / Parameter / containers: registration, traversal, modes, state_dict and repr vs PyTorch."""
import numpy as np
import pytest

import minigrad
from minigrad import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def build(lib):
    """The same small model in either library: nested containers, a buffer, a bias-free layer."""
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.Linear(3, 4)
            self.act = lib.Tanh()
            self.register_buffer("scale", (minigrad if lib is nn else torch).ones(4))
            self.register_buffer("cache", (minigrad if lib is nn else torch).zeros(2), persistent=False)

        def forward(self, x):
            return self.act(self.fc(x)) * self.scale

    return lib.Sequential(Block(), lib.ReLU(), lib.Sequential(lib.Linear(4, 2, bias=False), lib.Sigmoid()))


NAMES = ["0.fc.weight", "0.fc.bias", "2.0.weight"]


def test_named_parameters_buffers_children_modules_match_torch():
    m, t = build(nn), build(tnn)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()] == NAMES
    assert [p.shape for p in m.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()] == ["0.scale", "0.cache"]
    assert len(list(m.buffers())) == 2
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert [type(c).__name__ for c in m.children()] == [type(c).__name__ for c in t.children()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert len(list(m.modules())) == len(list(t.modules()))
    assert [n for n, _ in m[0].named_parameters(recurse=False)] == []
    assert [n for n, _ in m[0].fc.named_parameters(prefix="fc")] == ["fc.weight", "fc.bias"]


def test_shared_parameter_is_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(model.parameters())) == 2


def test_attribute_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(minigrad.ones(2))
    m.sub = nn.Linear(1, 1)
    m.plain = minigrad.ones(3)  # a plain Tensor attribute is neither parameter nor buffer
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and not m._buffers
    with pytest.raises(TypeError):
        m.w = minigrad.ones(2)  # a plain Tensor cannot replace a Parameter
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing
    del m.sub
    assert not m._modules
    with pytest.raises(KeyError):
        m.register_buffer("a.b", minigrad.ones(1))
    with pytest.raises(TypeError):
        m.register_buffer("buf", np.ones(1))
    with pytest.raises(AttributeError):
        class Early(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(minigrad.ones(1))
                super().__init__()
        Early()


def test_train_eval_propagate():
    m = build(nn)
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m
    assert not any(c.training for c in m.modules())
    m.train()
    assert all(c.training for c in m.modules())
    m[2].train(False)
    assert m.training and not m[2][0].training
    with pytest.raises(ValueError):
        m.train("yes")


def test_zero_grad_sets_to_none_or_zero():
    m = build(nn)
    m(minigrad.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_apply_visits_children_first_then_self():
    m, t = build(nn), build(tnn)
    seen, tseen = [], []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    t.apply(lambda mod: tseen.append(type(mod).__name__))
    assert seen == tseen


def test_requires_grad_and_dtype_casts():
    m = build(nn)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert all(b.dtype == np.float64 for b in m.buffers())
    assert m(minigrad.randn(2, 3, dtype=np.float64)).dtype == np.float64


def test_state_dict_round_trip_with_torch():
    m, t = build(nn), build(tnn)
    sd = m.state_dict()
    # own parameters and buffers before the children's, like torch; the non-persistent buffer is left out
    assert list(sd) == list(t.state_dict()) == ["0.scale"] + NAMES
    assert np.shares_memory(sd["0.fc.weight"].data, m[0].fc.weight.data)
    # torch → minigrad: load torch's weights and get torch's outputs
    missing, unexpected = m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    assert missing == [] and unexpected == []
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    with torch.no_grad():
        want = t(torch.tensor(x)).numpy()
    np.testing.assert_allclose(m(minigrad.tensor(x)).data, want, rtol=1e-5, atol=1e-6)
    # minigrad → a fresh minigrad model
    other = build(nn)
    other.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(other(minigrad.tensor(x)).data, m(minigrad.tensor(x)).data)


def test_load_state_dict_errors_like_torch():
    m = build(nn)
    sd = m.state_dict()
    with pytest.raises(RuntimeError, match=r'Error\(s\) in loading state_dict for Sequential:\n\t'
                                           r'Unexpected key\(s\) in state_dict: "x"\.'):
        m.load_state_dict({**sd, "x": minigrad.ones(1)})
    partial = dict(sd)
    del partial["0.fc.bias"]
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "0\.fc\.bias"\.'):
        m.load_state_dict(partial)
    before = m[0].fc.weight.data.copy()
    bad = {**sd, "0.fc.weight": minigrad.ones(5, 3)}
    with pytest.raises(RuntimeError, match=r"size mismatch for 0\.fc\.weight: copying a param with shape "
                                           r"\[5, 3\] from checkpoint, the shape in current model is \[4, 3\]"):
        m.load_state_dict(bad)
    np.testing.assert_array_equal(m[0].fc.weight.data, before)  # nothing half-loaded
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict(bad, strict=False)  # shape errors raise even when not strict
    missing, unexpected = m.load_state_dict({**partial, "x": minigrad.ones(1)}, strict=False)
    assert missing == ["0.fc.bias"] and unexpected == ["x"]


def test_repr_matches_torch():
    def model(lib):
        return lib.Sequential(
            lib.Linear(2, 3), lib.ReLU(), lib.Sequential(lib.Tanh(), lib.LeakyReLU(0.2)),
            lib.GELU(approximate="tanh"), lib.Softmax(dim=1), lib.Flatten(), lib.Identity(), lib.ELU(),
            lib.Softplus(), lib.Sigmoid(), lib.SiLU(), lib.LogSoftmax(dim=-1), lib.Linear(3, 1, bias=False),
        )
    assert repr(model(nn)) == repr(model(tnn))
    assert repr(nn.ModuleList([nn.ReLU(), nn.Tanh()])) == repr(tnn.ModuleList([tnn.ReLU(), tnn.Tanh()]))
    assert repr(nn.ModuleDict({"a": nn.ReLU()})) == repr(tnn.ModuleDict({"a": tnn.ReLU()}))


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    assert seq(minigrad.ones(4, 2)).shape == (4, 1)
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(1, 1)]).extend([nn.Linear(1, 1), nn.ReLU()])
    assert len(ml) == 3 and len(list(ml.parameters())) == 4 and len(ml[1:]) == 2
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.Linear(2, 1)
    assert list(md) == ["a", "b"] and list(md.keys()) == ["a", "b"] and len(list(md.parameters())) == 4


def test_forward_not_implemented_message():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(1)


def test_parameter_shares_tensor_storage():
    t = minigrad.ones(3)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and np.shares_memory(p.data, t.data)
    assert not nn.Parameter(t, requires_grad=False).requires_grad


@pytest.mark.parametrize("name, kwargs", [
    ("ReLU", {}), ("Sigmoid", {}), ("Tanh", {}), ("SiLU", {}), ("LeakyReLU", {"negative_slope": 0.3}),
    ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("ELU", {"alpha": 0.5}),
    ("Softplus", {"beta": 2.0, "threshold": 5.0}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 0}),
    ("Flatten", {}), ("Identity", {}),
])
def test_activation_modules_match_torch(name, kwargs):
    x = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32)
    got = getattr(nn, name)(**kwargs)(minigrad.tensor(x))
    want = getattr(tnn, name)(**kwargs)(torch.tensor(x))
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-5, atol=2e-6)


def test_remove_duplicate_keep_vars_assign_match_torch():
    def build(lib):
        shared = lib.Linear(2, 2)
        return lib.Sequential(shared, lib.ReLU(), shared)
    ours, theirs = build(nn), build(torch.nn)
    for kw in [{}, {"remove_duplicate": False}]:
        assert [n for n, _ in ours.named_modules(**kw)] == [n for n, _ in theirs.named_modules(**kw)]
        assert [n for n, _ in ours.named_parameters(**kw)] == [n for n, _ in theirs.named_parameters(**kw)]
    assert len(list(ours.modules(remove_duplicate=False))) == len(list(theirs.modules(remove_duplicate=False))) == 4
    kept = ours.state_dict(keep_vars=True)
    assert kept["0.weight"] is ours[0].weight and ours.state_dict()["0.weight"] is not ours[0].weight
    dest = {}
    assert ours.state_dict(destination=dest, prefix="net.") is dest and "net.0.bias" in dest
    new = {k: minigrad.full(v.shape, 7.0) for k, v in ours.state_dict().items()}
    result = ours.load_state_dict(new, assign=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert ours[0].weight.data is new["0.weight"].data and ours[0].weight.requires_grad
    ours.load_state_dict({k: minigrad.zeros(*v.shape) for k, v in new.items()})
    assert new["0.weight"].data.sum() == 0  # a copy into the assigned array

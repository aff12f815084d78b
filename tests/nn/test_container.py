"""Containers and Unflatten against torch.nn: registered names, state_dict keys, gradients, list and
dict operations, errors."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn


def _names(module):
    return [name for name, _ in module.named_parameters()]


class _Mixer(nn.Module):
    """Uses a ParameterList and a ParameterDict in forward, so gradients must reach both."""

    def __init__(self, lib, values):
        super().__init__()
        Parameter = lib.Parameter
        self.scales = lib.ParameterList([Parameter(lib_tensor(lib, v)) for v in values[:2]])
        self.shifts = lib.ParameterDict({"a": Parameter(lib_tensor(lib, values[2])),
                                         "b": Parameter(lib_tensor(lib, values[3]))})

    def forward(self, x):
        for scale in self.scales:
            x = x * scale
        return (x + self.shifts["a"] - self.shifts["b"]).sum()


def lib_tensor(lib, value):
    return torch.tensor(value) if lib is torch.nn else minigrad.tensor(value)


class _TorchMixer(torch.nn.Module):
    forward = _Mixer.forward

    def __init__(self, values):
        super().__init__()
        self.scales = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(v)) for v in values[:2]])
        self.shifts = torch.nn.ParameterDict({k: torch.nn.Parameter(torch.tensor(v)) for k, v in zip("ab", values[2:])})


def test_parameter_list_and_dict_register_and_train_like_torch(rng):
    values = [rng.standard_normal(3) for _ in range(4)]
    x = rng.standard_normal((2, 3))
    ours, theirs = _Mixer(nn, values), _TorchMixer(values)
    assert _names(ours) == _names(theirs) == ["scales.0", "scales.1", "shifts.a", "shifts.b"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours(minigrad.tensor(x)).backward()
    theirs(torch.tensor(x)).backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_parameter_list_operations():
    plist = nn.ParameterList([minigrad.zeros(2)])
    assert isinstance(plist[0], nn.Parameter) and plist[0].requires_grad  # a Tensor is wrapped
    plist.append(nn.Parameter(minigrad.ones(3))).extend([minigrad.ones(1)])
    assert len(plist) == 3 and plist[-1].shape == (1,) and len(plist[1:]) == 2
    plist[0] = minigrad.full((4,), 2.0)
    assert plist[0].shape == (4,) and _names(plist) == ["0", "1", "2"]
    with pytest.raises(IndexError):
        plist[3]
    with pytest.raises(TypeError, match="ParameterList holds Parameters"):
        plist.append("weight")
    assert "(1): Parameter containing: [minigrad.float32 of size 3]" in repr(plist)


def test_parameter_dict_operations():
    pdict = nn.ParameterDict({"w": minigrad.ones(2, 2)})
    tdict = torch.nn.ParameterDict({"w": torch.ones(2, 2)})
    pdict.update([("b", minigrad.zeros(2))])
    tdict.update([("b", torch.zeros(2))])
    assert list(pdict) == list(tdict) and "b" in pdict and len(pdict) == 2
    assert isinstance(pdict["b"], nn.Parameter)
    assert pdict.pop("w").shape == (2, 2) and list(pdict.keys()) == ["b"]
    del pdict["b"]
    assert len(pdict) == 0 and pdict.get("b") is None
    with pytest.raises(TypeError, match="parameter name should be a string"):
        pdict[1] = minigrad.zeros(1)


def test_module_list_and_dict_edits_match_torch():
    def build(lib):
        seq = lib.ModuleList([lib.Linear(1, 1), lib.ReLU(), lib.Tanh()])
        seq.insert(1, lib.Sigmoid())
        del seq[0]
        seq[-1] = lib.Identity()
        return seq
    ours, theirs = build(nn), build(torch.nn)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs] == ["Sigmoid", "ReLU", "Identity"]
    assert list(ours._modules) == list(theirs._modules) == ["0", "1", "2"]
    md = nn.ModuleDict({"a": nn.ReLU()})
    md.update({"b": nn.Tanh()})
    assert "b" in md and isinstance(md.pop("a"), nn.ReLU) and list(md) == ["b"]
    md.clear()
    assert len(md) == 0


def test_sequential_with_ordered_dict_names_like_torch():
    layers = [("fc", (3, 2)), ("act", None), ("out", (2, 1))]

    def build(lib):
        return lib.Sequential(OrderedDict((n, lib.Linear(*a) if a else lib.ReLU()) for n, a in layers))
    ours, theirs = build(nn), build(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert isinstance(ours[1], nn.ReLU) and ours.fc is ours[0]


@pytest.mark.parametrize("dim, sizes", [(1, (2, 4)), (-1, (3, -1)), (0, (1, 2)), (2, (-1,))])
def test_unflatten_matches_torch(rng, dim, sizes):
    shape = {1: (2, 8, 3), -1: (2, 3, 6), 0: (2, 5), 2: (2, 3, 4)}[dim]
    x = rng.standard_normal(shape)
    ours = nn.Unflatten(dim, sizes)
    theirs = torch.nn.Unflatten(dim, sizes)
    xm, xt = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm), theirs(xt)
    assert ym.shape == tuple(yt.shape)
    np.testing.assert_array_equal(ym.detach().numpy(), yt.detach().numpy())
    w = rng.standard_normal(ym.shape)
    (ym * minigrad.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())
    assert repr(ours) == repr(theirs)


def test_unflatten_errors_like_torch():
    x = minigrad.zeros(2, 6)
    for sizes in [(4, 2), (-1, -1), (4, -1)]:
        with pytest.raises(RuntimeError):
            torch.nn.Unflatten(1, sizes)(torch.zeros(2, 6))
        with pytest.raises(RuntimeError, match="unflatten: Provided sizes"):
            nn.Unflatten(1, sizes)(x)
    with pytest.raises(IndexError, match="Dimension out of range"):
        nn.Unflatten(2, (3, 2))(x)
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)

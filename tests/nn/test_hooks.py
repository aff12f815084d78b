"""Hooks PyTorch users know: Tensor.register_hook, Module forward (pre-)hooks and full backward hooks,
checked against PyTorch on the same weights."""
import numpy as np
import pytest

import minigrad
from minigrad import nn

torch = pytest.importorskip("torch")


def _pair(seed=0):
    """The same 3-layer MLP in minigrad and in PyTorch (float64)."""
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            p.data[...] = rng.standard_normal(p.shape)
            q.copy_(torch.from_numpy(p.data))
    x = rng.standard_normal((6, 5))
    return ours, theirs, x


# ---------------------------------------------------------------- Tensor.register_hook

def test_tensor_hook_sees_and_replaces_gradient_like_torch():
    x_np = np.random.default_rng(1).standard_normal((3, 4))
    seen = {}
    x = minigrad.tensor(x_np, requires_grad=True)
    h = x * 3
    h.register_hook(lambda g: seen.update(ours=g.data.copy()))
    h.register_hook(lambda g: g * 2)  # replaces the gradient flowing on
    (h * h).sum().backward()

    tx = torch.tensor(x_np, requires_grad=True)
    th = tx * 3
    th.register_hook(lambda g: seen.update(torch=g.detach().numpy().copy()))
    th.register_hook(lambda g: g * 2)
    (th * th).sum().backward()
    np.testing.assert_allclose(seen["ours"], seen["torch"])
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


def test_tensor_hook_on_leaf_and_remove():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(g.data.copy()))
    (x * x).sum().backward()
    handle.remove()
    (x * x).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [2.0, 4.0])
    np.testing.assert_allclose(x.grad.data, [4.0, 8.0])  # accumulated over both backwards


def test_tensor_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.tensor([1.0]).register_hook(lambda g: g)


def test_tensor_hook_on_dropped_intermediate_still_runs():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = x * 2
    h.register_hook(lambda g: calls.append(1))
    loss = (h * minigrad.tensor(3.0)).sum()  # the consumer is the last to hold h
    del h
    loss.backward()
    assert calls == [1]


# ---------------------------------------------------------------- forward hooks

def test_forward_pre_hook_and_forward_hook_modify_and_remove():
    lin = nn.Linear(3, 2)
    x = minigrad.randn(4, 3)
    base = lin(x).data.copy()
    seen = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = lin.register_forward_hook(lambda m, args, out: seen.append(args[0].data.copy()) or out + 1)
    out = lin(x).data
    np.testing.assert_allclose(seen[0], x.data * 2)  # the forward hook sees the pre-hook's inputs
    expected = (x.data * 2) @ lin.weight.data.T + lin.bias.data + 1
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    pre.remove()
    post.remove()
    np.testing.assert_allclose(lin(x).data, base)
    assert len(seen) == 1


# ---------------------------------------------------------------- full backward hooks

def _record(store, key):
    def hook(module, grad_input, grad_output):
        store[key] = ([None if g is None else np.array(_np(g)) for g in grad_input],
                      [None if g is None else np.array(_np(g)) for g in grad_output])
    return hook


def _np(g):
    return g.detach().numpy() if isinstance(g, torch.Tensor) else g.data


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # torch's note for layer 0
def test_full_backward_hook_matches_torch():
    ours, theirs, x = _pair()
    got, want = {}, {}
    for i in range(3):
        ours[i].register_full_backward_hook(_record(got, i))
        theirs[i].register_full_backward_hook(_record(want, i))
    ours(minigrad.tensor(x)).pow(2).sum().backward()
    theirs(torch.tensor(x)).pow(2).sum().backward()
    assert set(got) == set(want) == {0, 1, 2}
    for i in range(3):
        (gi, go), (ti, to) = got[i], want[i]
        assert [g is None for g in gi] == [g is None for g in ti]  # layer 0: the data needs no grad
        for a, b in zip(gi + go, ti + to):
            if b is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)


def test_full_backward_hook_can_replace_grad_input_like_torch():
    ours, theirs, x = _pair(2)
    ours[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
    theirs[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
    ours(minigrad.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)
    # and the replacement really changed something upstream of the hooked ReLU
    plain, _, _ = _pair(2)
    plain(minigrad.tensor(x)).sum().backward()
    np.testing.assert_allclose(ours[0].weight.grad.data, 0.5 * plain[0].weight.grad.data, rtol=1e-12)


def test_full_backward_hook_input_requires_grad_and_remove():
    lin = nn.Linear(3, 2).double()
    x = minigrad.tensor(np.ones((4, 3)), requires_grad=True)
    calls = []
    handle = lin.register_full_backward_hook(lambda m, gi, go: calls.append((gi[0].shape, go[0].shape)))
    lin(x).sum().backward()
    assert calls == [((4, 3), (4, 2))]
    np.testing.assert_allclose(x.grad.data, np.ones((4, 2)) @ lin.weight.data)
    handle.remove()
    lin(x).sum().backward()
    assert len(calls) == 1


def test_full_backward_hook_runs_on_every_backward_pass():
    lin = nn.Linear(3, 2).double()
    x = minigrad.tensor(np.ones((4, 3)), requires_grad=True)
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(float(go[0].data.sum())))
    loss = (lin(x) * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert calls == [16.0, 16.0]
    data_only = nn.Linear(3, 2).double()  # no input requires grad: fires from grad_output
    data_only.register_full_backward_hook(lambda m, gi, go: calls.append(gi))
    loss = data_only(minigrad.tensor(np.ones((4, 3)))).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert calls[2:] == [(None,), (None,)]


class _Add(nn.Module):
    def forward(self, a, b):
        return a + b


def test_full_backward_hook_multi_input():
    m = _Add()
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([3.0, 4.0], requires_grad=True)
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append([g.data.copy() for g in gi]))
    (m(a, b) * minigrad.tensor([5.0, 6.0])).sum().backward()
    assert len(got) == 1  # once, after both input gradients have arrived
    for g in got[0]:
        np.testing.assert_allclose(g, [5.0, 6.0])
    # replacing grad_input is only supported for one tensor input
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0, gi[1] * 0))
    with pytest.raises(RuntimeError, match="one tensor input"):
        m(a, b).sum().backward()


def test_no_backward_hooks_no_extra_graph_nodes():
    lin = nn.Linear(3, 2)
    x = minigrad.randn(4, 3, requires_grad=True)
    assert lin(x).grad_fn.__name__ == "Linear"
    handle = lin.register_full_backward_hook(lambda m, gi, go: None)
    assert lin(x).grad_fn.__name__ == "PassThrough"
    handle.remove()
    assert lin(x).grad_fn.__name__ == "Linear"
    with minigrad.no_grad():  # nothing to hook without a graph
        lin.register_full_backward_hook(lambda m, gi, go: None)
        assert lin(x).grad_fn is None


# ---------------------------------------------------------------- inspecting batch norm

def test_bn_stats_reports_running_statistics_like_torch():
    from minigrad.nn.utils import bn_stats
    rng = np.random.default_rng(3)
    ours = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(),
                         nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2, momentum=None))).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(3, 2),
                                                     torch.nn.BatchNorm1d(2, momentum=None))).double()
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()})
    for _ in range(3):
        x = rng.standard_normal((5, 4)) * 2 + 1
        ours(minigrad.tensor(x))
        theirs(torch.tensor(x))
    ours.eval()
    stats = bn_stats(ours)
    assert list(stats) == ["1", "3.1"]
    for name, mod in (("1", theirs[1]), ("3.1", theirs[3][1])):
        s = stats[name]
        assert s["type"] == "BatchNorm1d" and s["training"] is False
        assert s["num_batches_tracked"] == int(mod.num_batches_tracked) == 3
        np.testing.assert_allclose(s["running_mean"], mod.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(s["running_var"], mod.running_var.numpy(), rtol=1e-12)
    assert stats["3.1"]["momentum"] is None and stats["1"]["momentum"] == 0.1
    # copies: later training does not change what was returned
    before = stats["1"]["running_mean"].copy()
    ours.train()
    ours(minigrad.tensor(rng.standard_normal((5, 4))))
    np.testing.assert_array_equal(stats["1"]["running_mean"], before)
    table = str(stats).splitlines()
    assert table[0].split()[:3] == ["layer", "type", "C"] and len(table) == 3
    assert table[1].split()[:6] == ["1", "BatchNorm1d", "3", "eval", "0.1", "3"]
    assert bn_stats(nn.Sequential(nn.Linear(2, 2))) == {}


# ---------------------------------------------------------------- hook options: prepend, with_kwargs, always_call
class _Scale(nn.Module):
    def forward(self, x, scale=1.0):
        return x * scale


class _TorchScale(torch.nn.Module):
    forward = _Scale.forward


def test_hook_options_match_torch():
    def run(module, lib):
        calls = []
        module.register_forward_hook(lambda m, a, out: calls.append("post"))
        module.register_forward_hook(lambda m, a, out: calls.append("first"), prepend=True)
        module.register_forward_pre_hook(lambda m, a, kw: (a, {**kw, "scale": 3.0}), with_kwargs=True)
        handle = module.register_forward_hook(lambda m, a, kw, out: out + kw["scale"], with_kwargs=True)
        out = module(lib.ones(2), scale=2.0)
        handle.remove()
        again = module(lib.ones(2), scale=2.0)
        return calls, out.tolist(), again.tolist()
    assert run(_Scale(), minigrad) == run(_TorchScale(), torch) == (["first", "post"] * 2, [6.0, 6.0], [3.0, 3.0])


def test_always_call_hook_runs_when_forward_raises():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken forward")
    seen = []
    module = Broken()
    module.register_forward_hook(lambda m, a, out: seen.append(("always", out)), always_call=True)
    module.register_forward_hook(lambda m, a, out: seen.append("normal"))
    with pytest.raises(ValueError, match="broken forward"):
        module(minigrad.ones(1))
    assert seen == [("always", None)]
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        m = _Scale()
        m.register_forward_pre_hook(lambda mod, a, kw: a, with_kwargs=True)
        m(minigrad.ones(1))

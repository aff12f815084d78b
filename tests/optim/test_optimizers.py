"""Optimizers against torch.optim: 20 steps of every option combination on the same parameters and
gradients; param groups; state_dict round trips; weight-decay semantics; validation messages."""
import numpy as np
import pytest

import minigrad
from minigrad import nn, optim

torch = pytest.importorskip("torch")

SHAPES = [(5, 4), (5,), (3, 5), (3,), (2, 3, 2)]

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.05, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3, eps=1e-3, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-4)),
    ("RMSprop", dict(lr=0.01, maximize=True, weight_decay=0.05)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def _ids(case):
    name, kw = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def _gradient(theta, step, index):
    """A deterministic, parameter-dependent gradient: the same function for both libraries."""
    noise = np.random.default_rng(1000 * step + index).standard_normal(theta.shape)
    return np.sin(3 * theta) + 0.3 * theta ** 2 + noise


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _run_minigrad(name, kw, values, steps, groups=None, skip_grad=True):
    params = [nn.Parameter(minigrad.tensor(v.copy())) for v in values]
    opt = getattr(optim, name)(groups(params) if groups else params, **kw)
    _train_minigrad(opt, params, 0, steps, skip_grad)
    return params, opt


def _train_minigrad(opt, params, start, stop, skip_grad=True):
    for step in range(start, stop):
        opt.zero_grad()
        for i, p in enumerate(params):
            if skip_grad and i == 1 and step % 3 == 1:
                continue  # no gradient: the optimizer must skip this parameter this step
            p.grad = minigrad.tensor(_gradient(p.data.astype(np.float64), step, i).astype(p.dtype))
        opt.step()


def _run_torch(name, kw, values, steps, groups=None, skip_grad=True):
    params = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    opt = getattr(torch.optim, name)(groups(params) if groups else params, **kw)
    for step in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            if skip_grad and i == 1 and step % 3 == 1:
                continue
            p.grad = torch.tensor(_gradient(p.detach().numpy().astype(np.float64), step, i).astype(values[i].dtype))
        opt.step()
    return params, opt


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_20_steps_match_torch(case, dtype):
    name, kw = case
    values = _params(dtype)
    ours, opt = _run_minigrad(name, kw, values, 20)
    theirs, topt = _run_torch(name, kw, values, 20)
    rtol, atol = (1e-4, 1e-5) if dtype == np.float32 else (1e-10, 1e-12)
    for p, q in zip(ours, theirs):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol)
    # Same state layout as PyTorch: the same keys for every parameter, same group keys.
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for i in sd["state"]:
        assert set(sd["state"][i]) == set(tsd["state"][i])
        for key, value in sd["state"][i].items():
            if key != "step":
                np.testing.assert_allclose(value.data, tsd["state"][i][key].numpy(), rtol=rtol * 10, atol=atol * 10)
            else:
                assert value == tsd["state"][i][key].item()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]


EXTRA_GROUP_OPTIONS = {
    "SGD": {"momentum": 0.9}, "Adam": {"betas": (0.8, 0.99)}, "AdamW": {"weight_decay": 0.3},
    "Adagrad": {"lr_decay": 0.1}, "RMSprop": {"centered": True}, "Adadelta": {"rho": 0.5},
    "Adamax": {"betas": (0.8, 0.99)}, "NAdam": {"momentum_decay": 0.01}, "RAdam": {"weight_decay": 0.2},
}


@pytest.mark.parametrize("name", sorted(EXTRA_GROUP_OPTIONS))
def test_param_groups_with_own_hyperparameters_match_torch(name):
    values = _params(np.float64)
    extra = EXTRA_GROUP_OPTIONS[name]

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.003, **extra}]
    ours, opt = _run_minigrad(name, dict(lr=0.02), values, 20, groups)
    theirs, _ = _run_torch(name, dict(lr=0.02), values, 20, groups)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert opt.param_groups[1]["lr"] == 0.003 and opt.param_groups[0]["lr"] == 0.02


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_state_dict_round_trip_mid_training_continues_identically(case):
    name, kw = case
    values = _params(np.float32)
    params, opt = _run_minigrad(name, kw, values, 10)
    saved = opt.state_dict()
    # A fresh optimizer on copies of the current parameters, restored from the state dict ...
    clones = [nn.Parameter(minigrad.tensor(p.data.copy())) for p in params]
    fresh = getattr(optim, name)(clones, lr=123.0)  # hyper-parameters come from the state dict
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kw["lr"]
    # ... continues exactly like the original, and the restored state is a copy, not shared.
    _train_minigrad(opt, params, 10, 20)
    _train_minigrad(fresh, clones, 10, 20)
    for p, q in zip(params, clones):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_checks_structure():
    a, b = nn.Parameter(minigrad.zeros(2)), nn.Parameter(minigrad.zeros(3))
    opt = optim.Adam([a, b])
    a.grad, b.grad = minigrad.ones(2), minigrad.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"parameter 0 has 'exp_avg' of shape \[2\], but the parameter has shape \[3\]"):
        optim.Adam([b, a]).load_state_dict(sd)


@pytest.mark.parametrize("name, kw", [("Adam", dict(lr=0.01, amsgrad=True)), ("NAdam", dict(lr=0.01))])
def test_load_torch_optimizer_state_dict(name, kw):
    """A torch.optim state_dict (tensors, 'step' and NAdam's 'mu_product' as 0-d tensors) loads and
    continues like torch."""
    values = _params(np.float32)
    theirs, topt = _run_torch(name, kw, values, 5, skip_grad=False)
    params = [nn.Parameter(minigrad.tensor(q.detach().numpy().copy())) for q in theirs]
    opt = getattr(optim, name)(params)
    tsd = topt.state_dict()
    opt.load_state_dict({
        "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    })
    assert opt.state[params[0]]["step"] == 5 and opt.param_groups[0]["lr"] == 0.01
    _train_minigrad(opt, params, 5, 10, skip_grad=False)
    for step in range(5, 10):
        topt.zero_grad()
        for i, p in enumerate(theirs):
            p.grad = torch.tensor(_gradient(p.detach().numpy().astype(np.float64), step, i).astype(np.float32))
        topt.step()
    for p, q in zip(params, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- whole model, autograd gradients
@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
                                      ("Adam", dict(lr=1e-2, weight_decay=1e-3))])
def test_training_an_mlp_matches_torch(rng, name, kw):
    x = rng.standard_normal((16, 6))
    y = rng.integers(0, 3, 16)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    tmodel.load_state_dict({k: torch.tensor(v.data) for k, v in model.state_dict().items()})
    opt = getattr(optim, name)(model.parameters(), **kw)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kw)
    for _ in range(20):
        opt.zero_grad()
        minigrad.nn.functional.cross_entropy(model(minigrad.tensor(x)), minigrad.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
    for (k, v), (tk, tv) in zip(model.state_dict().items(), tmodel.state_dict().items()):
        assert k == tk
        np.testing.assert_allclose(v.data, tv.numpy(), rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------- weight decay semantics
def test_sgd_weight_decay_equals_half_lambda_squared_norm_in_loss(rng):
    """SGD(weight_decay=λ) on loss L gives the same steps as plain SGD on L + ½·λ·‖W‖²."""
    lam = 0.1
    x = minigrad.tensor(rng.standard_normal((8, 4)))
    y = minigrad.tensor(rng.integers(0, 3, 8))
    a = nn.Linear(4, 3, bias=False).double()
    b = nn.Linear(4, 3, bias=False).double()
    b.load_state_dict(a.state_dict())
    opt_a = optim.SGD(a.parameters(), lr=0.5, momentum=0.9, weight_decay=lam)
    opt_b = optim.SGD(b.parameters(), lr=0.5, momentum=0.9)
    for _ in range(15):
        opt_a.zero_grad()
        minigrad.nn.functional.cross_entropy(a(x), y).backward()
        opt_a.step()
        opt_b.zero_grad()
        loss = minigrad.nn.functional.cross_entropy(b(x), y) + 0.5 * lam * (b.weight * b.weight).sum()
        loss.backward()
        opt_b.step()
    np.testing.assert_allclose(a.weight.data, b.weight.data, rtol=1e-12, atol=1e-14)


def test_adamw_decay_is_decoupled_adam_l2_is_not():
    """With zero loss gradient, AdamW shrinks θ by exactly (1 − lr·λ) per step, while Adam's L2 term
    is normalized by √v: its first step moves every weight by ≈ lr whatever its size."""
    lr, lam = 0.01, 0.1
    theta = np.array([0.1, 1.0, 10.0])
    w_adamw = nn.Parameter(minigrad.tensor(theta.copy()))
    w_adam = nn.Parameter(minigrad.tensor(theta.copy()))
    adamw = optim.AdamW([w_adamw], lr=lr, weight_decay=lam)
    adam = optim.Adam([w_adam], lr=lr, weight_decay=lam)
    for step in range(1, 6):
        for w, opt in ((w_adamw, adamw), (w_adam, adam)):
            w.grad = minigrad.zeros(3, dtype=np.float64)
            opt.step()
        np.testing.assert_allclose(w_adamw.data, theta * (1 - lr * lam) ** step, rtol=1e-12)
        if step == 1:
            np.testing.assert_allclose(theta - w_adam.data, lr, rtol=1e-6)  # sign(θ)·lr, size-independent
    assert np.all(w_adam.data != w_adamw.data)


def test_param_groups_no_decay_exempts_biases_and_norm_params():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
    groups = optim.param_groups_no_decay(model, 0.5)
    assert [len(g["params"]) for g in groups] == [2, 1]
    assert groups[0]["weight_decay"] == 0.5 and groups[1]["weight_decay"] == 0.0
    assert groups[1]["params"][0] is model[0].bias
    opt = optim.SGD(groups, lr=0.1)
    bias_before = model[0].bias.data.copy()
    weight_before = model[0].weight.data.copy()
    for p in model.parameters():
        p.grad = minigrad.zeros_like(p)
    opt.step()
    np.testing.assert_array_equal(model[0].bias.data, bias_before)  # no decay
    np.testing.assert_allclose(model[0].weight.data, weight_before * (1 - 0.1 * 0.5), rtol=1e-6)
    frozen = nn.Linear(2, 2)
    frozen.bias.requires_grad_(False)
    assert optim.param_groups_no_decay(frozen, 0.1) == [{"params": [frozen.weight], "weight_decay": 0.1}]


# ---------------------------------------------------------------- API and validation
def test_zero_grad_and_closure():
    p = nn.Parameter(minigrad.tensor([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1)
    p.grad = minigrad.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, 0)
    opt.zero_grad()
    assert p.grad is None

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with minigrad.no_grad():
        loss = opt.step(closure)  # the closure runs with grad enabled even inside no_grad
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.data, [0.8, 1.6])


def test_grad_is_not_modified_and_add_param_group():
    p, q = nn.Parameter(minigrad.tensor([1.0, -2.0])), nn.Parameter(minigrad.tensor([3.0]))
    opt = optim.Adam([p], lr=0.1, weight_decay=0.5, maximize=True)
    p.grad = minigrad.tensor([0.5, 0.25])
    opt.step()
    np.testing.assert_array_equal(p.grad.data, [0.5, 0.25])
    opt.add_param_group({"params": q, "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["lr"] == 0.2
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    ada = optim.Adagrad([p], initial_accumulator_value=0.5)
    ada.add_param_group({"params": [q]})
    np.testing.assert_array_equal(ada.state[q]["sum"], [0.5])


@pytest.mark.parametrize("ctor, message", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda ps: optim.SGD(ps, momentum=-1), "Invalid momentum value: -1"),
    (lambda ps: optim.SGD(ps, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda ps: optim.SGD(ps, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda ps: optim.SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda ps: optim.AdamW(ps, lr=-1), "Invalid learning rate: -1"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (lambda ps: optim.RMSprop(ps, alpha=-0.5), "Invalid alpha value: -0.5"),
    (lambda ps: optim.SGD([{"params": ps, "lr": -2.0}], lr=0.1), "Invalid learning rate: -2.0"),
    (lambda ps: optim.Adadelta(ps, rho=1.5), "Invalid rho value: 1.5"),
    (lambda ps: optim.Adadelta(ps, eps=-1), "Invalid epsilon value: -1"),
    (lambda ps: optim.Adamax(ps, betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (lambda ps: optim.NAdam(ps, momentum_decay=-0.1), "Invalid momentum_decay value: -0.1"),
    (lambda ps: optim.NAdam(ps, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda ps: optim.RAdam(ps, lr=-0.5), "Invalid learning rate: -0.5"),
])
def test_validation_messages_match_torch(ctor, message):
    params = [nn.Parameter(minigrad.zeros(2))]
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ctor(params)


def test_bad_params_arguments():
    p = nn.Parameter(minigrad.zeros(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)

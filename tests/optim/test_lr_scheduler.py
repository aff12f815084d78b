"""Learning-rate schedulers against torch.optim.lr_scheduler: the lr (and momentum) sequences, resuming
from state_dict, and argument validation."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

torch = pytest.importorskip("torch")


def _optimizers(name="SGD", lrs=(0.1, 0.02), **kw):
    """Two-group optimizers (different base lrs) in both libraries."""
    ours = getattr(optim, name)([{"params": [nn.Parameter(minigrad.zeros(2))], "lr": lr} for lr in lrs], **kw)
    theirs = getattr(torch.optim, name)(
        [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs], **kw)
    return ours, theirs


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.001)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.6, total_iters=8)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=25)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.1], epochs=4, steps_per_epoch=6, anneal_strategy="linear",
                        three_phase=True, pct_start=0.25)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=20, cycle_momentum=False, div_factor=10.0)),
]


def _ids(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("case", SCHEDULES, ids=_ids)
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_lr_sequence_matches_torch(case, optimizer):
    name, kw = case
    kw_opt = {"momentum": 0.9} if optimizer == "SGD" else {}
    ours, theirs = _optimizers(optimizer, **kw_opt)
    s = getattr(lr_scheduler, name)(ours, **kw)
    t = getattr(torch.optim.lr_scheduler, name)(theirs, **kw)
    steps = 24 if name == "OneCycleLR" else 30  # OneCycleLR refuses to go past total_steps
    for _ in range(min(steps, getattr(t, "total_steps", steps) - 1)):
        np.testing.assert_allclose(s.get_last_lr(), t.get_last_lr(), rtol=1e-12, atol=1e-15)
        for g, tg in zip(ours.param_groups, theirs.param_groups):
            assert g["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=1e-15)
            key = "momentum" if optimizer == "SGD" else "betas"
            assert np.allclose(g[key], tg[key], rtol=1e-12)
        ours.step()
        theirs.step()
        s.step()
        t.step()


def test_cosine_closed_form():
    ours, _ = _optimizers(lrs=(1.0,))
    s = lr_scheduler.CosineAnnealingLR(ours, T_max=10, eta_min=0.1)
    for epoch in range(1, 10):
        s.step()
        expected = 0.1 + 0.9 * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert s.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", threshold_mode="abs", threshold=0.1),
                                dict(patience=2, cooldown=2, factor=0.5, min_lr=[0.01, 0.004]),
                                dict(patience=0, eps=0.05)])
def test_reduce_lr_on_plateau_matches_torch(kw):
    ours, theirs = _optimizers()
    s = lr_scheduler.ReduceLROnPlateau(ours, **kw)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kw)
    metrics = np.concatenate([np.linspace(1, 0.5, 5), np.full(15, 0.5), np.linspace(0.5, 0.6, 10),
                              np.linspace(0.6, 0.2, 8), np.full(12, 0.2)])
    for m in metrics:
        s.step(m)
        t.step(m)
        assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
        assert s.num_bad_epochs == t.num_bad_epochs and s.best == t.best
    assert s.get_last_lr() != [0.1, 0.02]  # the schedule did reduce


@pytest.mark.parametrize("case", SCHEDULES[:7] + SCHEDULES[7:8], ids=_ids)
def test_state_dict_resume_continues_identically(case):
    name, kw = case
    ours, _ = _optimizers()
    s = getattr(lr_scheduler, name)(ours, **kw)
    for _ in range(6):
        ours.step()
        s.step()
    state, opt_state = s.state_dict(), ours.state_dict()
    assert "optimizer" not in state
    # The usual resume order: build optimizer and scheduler, then load both states.
    resumed_opt, _ = _optimizers()
    resumed = getattr(lr_scheduler, name)(resumed_opt, **kw)
    resumed_opt.load_state_dict(opt_state)
    resumed.load_state_dict(state)
    for _ in range(10):
        s.step()
        resumed.step()
        assert resumed.get_last_lr() == s.get_last_lr()
        assert [g["lr"] for g in resumed_opt.param_groups] == [g["lr"] for g in ours.param_groups]


def test_plateau_state_dict_round_trip():
    ours, _ = _optimizers()
    s = lr_scheduler.ReduceLROnPlateau(ours, patience=1)
    for m in [1.0, 0.9, 0.95, 0.97]:
        s.step(m)
    state = s.state_dict()
    other, _ = _optimizers()
    r = lr_scheduler.ReduceLROnPlateau(other, patience=1)
    other.load_state_dict(ours.state_dict())
    r.load_state_dict(state)
    for m in [0.99, 0.99, 0.99, 0.5]:
        s.step(m)
        r.step(m)
        assert r.get_last_lr() == s.get_last_lr()
    assert r.best == 0.5


def test_resume_with_last_epoch_needs_initial_lr():
    ours, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(ours, step_size=2, last_epoch=4)


def test_validation():
    ours, _ = _optimizers()
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(ours, factor=1.5)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(ours, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        lr_scheduler.LinearLR(ours, end_factor=1.5)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(ours, max_lr=0.1)
    with pytest.raises(ValueError, match="Expected positive integer total_steps"):
        lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=0)
    adagrad = optim.Adagrad([nn.Parameter(minigrad.zeros(1))])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    s = lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=3)
    s.step()
    s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()
        s.step()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)


# ---------------------------------------------------------------- LambdaLR, warm restarts, SequentialLR
class _Decay:
    """A callable object: LambdaLR saves its attributes in state_dict (a lambda is left out)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


def _assert_same_lrs(ours, theirs, s, t, steps, step_args=None):
    for i in range(steps):
        np.testing.assert_allclose(s.get_last_lr(), t.get_last_lr(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose([g["lr"] for g in ours.param_groups],
                                   [g["lr"] for g in theirs.param_groups], rtol=1e-12, atol=1e-15)
        ours.step()
        theirs.step()
        args = step_args(i) if step_args else ()
        s.step(*args)
        t.step(*args)


@pytest.mark.parametrize("make", [
    lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1 / (1 + e)),
    lambda m, o: m.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 + (e % 4)]),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.005),
], ids=["lambda", "lambda-per-group", "warm-restarts", "warm-restarts-T_mult"])
def test_new_schedules_match_torch(make):
    ours, theirs = _optimizers("SGD", momentum=0.9)
    _assert_same_lrs(ours, theirs, make(lr_scheduler, ours), make(torch.optim.lr_scheduler, theirs), 30)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_fractional_epochs_match_torch(T_mult):
    """The per-batch form: step(epoch + i / iters) jumps to a fractional epoch."""
    ours, theirs = _optimizers()
    s = lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=2, T_mult=T_mult, eta_min=0.01)
    t = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs, T_0=2, T_mult=T_mult, eta_min=0.01)
    _assert_same_lrs(ours, theirs, s, t, 40, step_args=lambda i: (i / 3,))
    assert s.T_i == t.T_i and s.T_cur == pytest.approx(t.T_cur, rel=1e-12)


def _sequential(m, o, which):
    if which == "warmup-cosine":
        return m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.CosineAnnealingLR(o, T_max=10)],
                              milestones=[4])
    if which == "three":
        return m.SequentialLR(o, [m.ExponentialLR(o, gamma=0.8), m.StepLR(o, step_size=2, gamma=0.5),
                                  m.LambdaLR(o, lambda e: 1 / (e + 1))], milestones=[3, 9])
    inner = m.SequentialLR(o, [m.LinearLR(o, start_factor=0.5, total_iters=2), m.ExponentialLR(o, gamma=0.9)],
                           milestones=[2])
    return m.SequentialLR(o, [inner, m.CosineAnnealingWarmRestarts(o, T_0=3)], milestones=[6])


@pytest.mark.parametrize("which", ["warmup-cosine", "three", "nested"])
def test_sequential_lr_matches_torch(which):
    ours, theirs = _optimizers("Adam")
    s, t = _sequential(lr_scheduler, ours, which), _sequential(torch.optim.lr_scheduler, theirs, which)
    _assert_same_lrs(ours, theirs, s, t, 25)


def test_sequential_and_lambda_state_dict_resume():
    def build(opt):
        warm = lr_scheduler.LambdaLR(opt, _Decay(0.5))
        return lr_scheduler.SequentialLR(opt, [warm, lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)],
                                         milestones=[3])
    ours, _ = _optimizers()
    s = build(ours)
    for _ in range(5):
        ours.step()
        s.step()
    state = s.state_dict()
    assert state["_schedulers"][0]["lr_lambdas"] == [{"rate": 0.5}, {"rate": 0.5}]
    other, _ = _optimizers()
    resumed = build(other)
    other.load_state_dict(ours.state_dict())
    resumed.load_state_dict(state)
    for _ in range(8):
        s.step()
        resumed.step()
        assert resumed.get_last_lr() == s.get_last_lr()


def test_lambda_state_dict_drops_plain_functions():
    ours, _ = _optimizers()
    state = lr_scheduler.LambdaLR(ours, [lambda e: 1.0, _Decay(0.3)]).state_dict()
    assert state["lr_lambdas"] == [None, {"rate": 0.3}]


def test_new_schedulers_validate_like_torch():
    ours, _ = _optimizers()
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(ours, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
        lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=0)
    with pytest.raises(ValueError, match="Expected integer T_mult >= 1, but got 1.5"):
        lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=2, T_mult=1.5)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        lr_scheduler.CosineAnnealingWarmRestarts(ours, T_0=2).step(-1)
    step = lr_scheduler.StepLR(ours, step_size=2)
    with pytest.raises(ValueError, match="one more than the number of milestone points"):
        lr_scheduler.SequentialLR(ours, [step], milestones=[3])
    with pytest.raises(ValueError, match="expects at least one scheduler"):
        lr_scheduler.SequentialLR(ours, [], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lr_scheduler.SequentialLR(ours, [step, lr_scheduler.ReduceLROnPlateau(ours)], milestones=[3])
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(ours, [step, lr_scheduler.StepLR(other, step_size=2)], milestones=[3])

"""minigrad.tune.search: successive halving and the validation split."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import tune
from minigrad.data import TensorDataset

SPACE = {"lr": tune.loguniform(1e-6, 1e-2), "weight_decay": tune.loguniform(1e-8, 1e-4)}


def budgeted(config, budget):
    """Metric grows with the budget, best near lr = 10^-2.5, plus seeded noise."""
    base = 1.0 - abs(math.log10(config["lr"]) + 2.5) / 4
    return {"val_acc": base * (1 - 1 / (1 + budget)) + 1e-3 * float(minigrad.rand(1).item()), "budget": budget}


def test_successive_halving_budgets_and_survivors():
    sh = tune.SuccessiveHalving(max_budget=50, eta=3, rungs=3)
    assert sh.budgets == [6, 17, 50]
    assert [sh.survivors(n) for n in (100, 34, 1)] == [34, 12, 1]
    assert tune.SuccessiveHalving(max_budget=2, eta=3, rungs=3).budgets == [1, 1, 2]
    with pytest.raises(ValueError):
        tune.SuccessiveHalving(10, eta=1)


def test_halving_promotes_the_best_and_top_rung_equals_a_full_run():
    sh = tune.SuccessiveHalving(max_budget=27, eta=3, rungs=3)
    calls = []

    def train(config, budget):
        calls.append(budget)
        return budgeted(config, budget)

    result = tune.random_search(train, SPACE, 27, seed=4, executor="serial", scheduler=sh, quiet=True)
    assert sorted(calls) == [3] * 27 + [9] * 9 + [27] * 3
    rung0 = [r for r in result.trials if r["rung"] == 0]
    top9 = sorted(rung0, key=lambda r: -r["metrics"]["val_acc"])[:9]
    assert {r["trial"] for r in result.trials if r["rung"] == 1} == {r["trial"] for r in top9}
    best = result.best
    assert best["rung"] == 2 and best["budget"] == 27
    assert result.sorted()[:3] == sorted([r for r in result.trials if r["rung"] == 2],
                                         key=lambda r: -r["metrics"]["val_acc"])
    # the promoted trial trains from scratch with its own seed: same number as an unscheduled run
    full = tune.random_search(lambda c: budgeted(c, 27), SPACE, 27, seed=4, executor="serial", quiet=True)
    assert full.trials[best["trial"]]["metrics"]["val_acc"] == best["metrics"]["val_acc"]
    assert full.best["trial"] == best["trial"]
    assert sum(calls) / (27 * 27) == pytest.approx((81 + 81 + 81) / 729)


def test_halving_resumes_per_rung(tmp_path):
    sh = tune.SuccessiveHalving(max_budget=9, eta=3, rungs=2)
    path = tmp_path / "sh.jsonl"
    first = tune.random_search(budgeted, SPACE, 9, seed=1, executor="serial", scheduler=sh, results=path,
                               quiet=True)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")  # two top-rung trials missing
    calls = []

    def train(config, budget):
        calls.append(budget)
        return budgeted(config, budget)

    again = tune.random_search(train, SPACE, 9, seed=1, executor="serial", scheduler=sh, results=path, quiet=True)
    assert calls == [9, 9]
    assert again.best_config == first.best_config


def test_validation_split_is_seeded_and_disjoint():
    n = 1000
    ds = TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n))
    train, val = tune.validation_split(ds, fraction=0.2, seed=3, n=500)
    assert (len(train), len(val)) == (400, 100)
    ids_train = {int(train[i][1].item()) for i in range(len(train))}
    ids_val = {int(val[i][1].item()) for i in range(len(val))}
    assert not ids_train & ids_val and len(ids_train | ids_val) == 500
    again_train, again_val = tune.validation_split(ds, fraction=0.2, seed=3, n=500)
    assert ids_val == {int(again_val[i][1].item()) for i in range(100)}
    _, other_val = tune.validation_split(ds, fraction=0.2, seed=4, n=500)
    assert ids_val != {int(other_val[i][1].item()) for i in range(100)}
    whole_train, whole_val = tune.validation_split(ds, fraction=0.1, seed=0)
    assert (len(whole_train), len(whole_val)) == (900, 100)
    with pytest.raises(ValueError):
        tune.validation_split(ds, fraction=1.0)
    with pytest.raises(ValueError):
        tune.validation_split(ds, n=n + 1)

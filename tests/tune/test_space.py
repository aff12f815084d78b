"""minigrad.tune.space: domains draw inside their ranges, and trial i's draws depend only on (seed, i)."""
import math

import numpy as np
import pytest

from minigrad import tune

SPACE = {"lr": tune.loguniform(1e-6, 1e-2), "weight_decay": tune.loguniform(1e-8, 1e-4),
         "dropout": tune.uniform(0.0, 0.5), "layers": tune.randint(2, 7), "act": tune.choice(["relu", "tanh"]),
         "batch": 100}


def test_same_seed_same_configs_and_different_seed_different_configs():
    a = [tune.sample_config(SPACE, 7, i) for i in range(20)]
    b = [tune.sample_config(SPACE, 7, i) for i in reversed(range(20))][::-1]  # order of drawing is irrelevant
    c = [tune.sample_config(SPACE, 8, i) for i in range(20)]
    assert a == b
    assert all(x["lr"] != y["lr"] for x, y in zip(a, c))
    assert len({x["lr"] for x in a}) == 20  # every trial gets its own draw


def test_adding_a_parameter_keeps_the_other_draws():
    grown = dict(SPACE, momentum=tune.uniform(0.5, 0.99))
    for i in range(5):
        old, new = tune.sample_config(SPACE, 3, i), tune.sample_config(grown, 3, i)
        assert {k: new[k] for k in old} == old


def test_draws_stay_in_range_with_python_types():
    configs = [tune.sample_config(SPACE, 0, i) for i in range(400)]
    lr = np.array([c["lr"] for c in configs])
    assert lr.min() >= 1e-6 and lr.max() <= 1e-2
    # uniform in log scale: about half of the draws below the geometric midpoint 1e-4, a quarter per decade
    assert 0.4 < np.mean(lr < 1e-4) < 0.6
    assert 0.17 < np.mean((lr >= 1e-3)) < 0.33
    drop = [c["dropout"] for c in configs]
    assert 0 <= min(drop) and max(drop) < 0.5
    assert {c["layers"] for c in configs} == {2, 3, 4, 5, 6}  # hi excluded
    assert {c["act"] for c in configs} == {"relu", "tanh"}
    assert all(c["batch"] == 100 for c in configs)
    assert all(type(c["layers"]) is int and type(c["lr"]) is float for c in configs)


def test_choice_of_numpy_values_gives_python_values():
    config = tune.sample_config({"k": tune.choice(np.array([1, 2, 3]))}, 0, 0)
    assert type(config["k"]) is int


def test_trial_seeds_are_distinct_and_stable():
    seeds = [tune.trial_seed(0, i) for i in range(100)]
    assert len(set(seeds)) == 100
    assert seeds == [tune.trial_seed(0, i) for i in range(100)]
    assert tune.trial_seed(1, 0) != seeds[0]


@pytest.mark.parametrize("make", [lambda: tune.loguniform(0, 1), lambda: tune.loguniform(1e-2, 1e-6),
                                  lambda: tune.uniform(1, 1), lambda: tune.randint(0.5, 3),
                                  lambda: tune.randint(3, 3), lambda: tune.choice([])])
def test_bad_domains_raise(make):
    with pytest.raises(ValueError):
        make()


def test_bad_space_raises():
    with pytest.raises(TypeError, match="non-empty dict"):
        tune.sample_config({}, 0, 0)
    with pytest.raises(TypeError, match="str parameter names"):
        tune.sample_config({1: tune.uniform(0, 1)}, 0, 0)


def test_repr_and_equality():
    assert repr(tune.loguniform(1e-6, 1e-2)) == "loguniform(1e-06, 0.01)"
    assert tune.uniform(0, 1) == tune.uniform(0.0, 1.0) and tune.uniform(0, 1) != tune.loguniform(0.1, 1)
    assert tune.loguniform(1, 2).log and not tune.uniform(1, 2).log
    assert math.isclose(tune.loguniform(2, 2.0000001).sample(np.random.default_rng(0)), 2, rel_tol=1e-6)

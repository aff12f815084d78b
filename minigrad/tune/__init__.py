"""Hyperparameter search: the book's §6.5 random search as one call, on local processes or Dask.

    from minigrad import tune

    space = {"lr": tune.loguniform(1e-6, 1e-2), "weight_decay": tune.loguniform(1e-8, 1e-4)}
    result = tune.random_search(train_fn, space, n_trials=100, seed=0, results="search.jsonl")
    print(result.table(k=10)); result.best_config; result.plot("search.png")

``train_fn(config)`` trains one model and returns a dict of metrics (e.g. ``{"val_acc": 0.81}``).
Trials run in local worker processes by default, on a Dask cluster with ``executor="dask"`` or
``executor=distributed.Client(...)``. Dask is imported only when asked for. See docs/tune.md.
"""
from .results import ResultsFile, SearchResult
from .search import SuccessiveHalving, random_search, validation_split
from .space import Domain, choice, loguniform, randint, sample_config, trial_seed, uniform

__all__ = ["random_search", "SuccessiveHalving", "validation_split", "SearchResult", "ResultsFile",
           "Domain", "loguniform", "uniform", "choice", "randint", "sample_config", "trial_seed"]

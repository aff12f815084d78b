"""``random_search``: the book's §6.5 random search as one call, with optional successive halving."""
import math
import sys
import time

from ..data import progress, random_split
from .executors import make_backend
from .results import ResultsFile, SearchResult
from .space import describe_space, sample_config, trial_seed

__all__ = ["random_search", "SuccessiveHalving", "validation_split"]


class SuccessiveHalving:
    """Synchronous successive halving: every trial first trains for the smallest budget, the best
    ``1/eta`` of them are trained again with ``eta`` times the budget, and so on up to ``max_budget``.

    ``rungs`` budgets ``max_budget / eta**(rungs-1), ..., max_budget / eta, max_budget`` (rounded, at
    least ``min_budget``). With a scheduler ``train_fn(config, budget)`` is called and trains from
    scratch for ``budget`` units (e.g. epochs); the trial keeps its seed, so a trial that reaches the
    top rung reports exactly what an unscheduled run with ``max_budget`` would.

    Synchronous, unlike ASHA's asynchronous promotions: a rung is ranked once all of its trials are
    done, so which trials get promoted never depends on worker count or finishing order (the search
    stays reproducible); the price is idle workers while a rung's last trials finish.
    """

    def __init__(self, max_budget, eta=3, rungs=3, min_budget=1):
        if not (isinstance(eta, (int, float)) and eta > 1):
            raise ValueError(f"eta must be > 1, got {eta!r}")
        if not (isinstance(rungs, int) and rungs >= 1):
            raise ValueError(f"rungs must be a positive int, got {rungs!r}")
        self.max_budget, self.eta, self.rungs, self.min_budget = max_budget, eta, rungs, min_budget
        self.budgets = [max(min_budget, round(max_budget / eta ** (rungs - 1 - k))) for k in range(rungs)]

    def survivors(self, n):
        """How many of ``n`` trials of a rung go on to the next one."""
        return max(1, math.ceil(n / self.eta))

    def __repr__(self):
        return f"SuccessiveHalving(max_budget={self.max_budget!r}, eta={self.eta!r}, rungs={self.rungs!r}, " \
               f"min_budget={self.min_budget!r})"


def validation_split(dataset, fraction=0.2, seed=0, n=None):
    """``(train, val)`` subsets of ``dataset`` (pass the *training* set: trials never see the test set).

    ``n`` first keeps a random ``n`` samples (the book's search uses 500), then ``fraction`` of them
    become the validation set (the book's 20 %). Both draws come from ``seed`` via
    :func:`minigrad.data.random_split`, so every trial and every worker sees the same split.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    import numpy as np

    rng = np.random.default_rng(seed)
    if n is not None:
        if not 0 < n <= len(dataset):
            raise ValueError(f"n must be in [1, {len(dataset)}], got {n!r}")
        dataset, _ = random_split(dataset, [n, len(dataset) - n], generator=rng)
    n_val = max(1, round(len(dataset) * fraction))
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], generator=rng)
    return train, val


def random_search(train_fn, space, n_trials, seed=0, executor=None, results=None, *, metric="val_acc",
                  mode="max", n_workers=None, threads=1, scheduler=None, quiet=False):
    """Random search: ``n_trials`` configurations drawn from ``space``, each trained by ``train_fn``.

    Parameters
    ----------
    train_fn : callable
        ``train_fn(config) -> dict of metrics`` (``train_fn(config, budget)`` with a scheduler).
        ``minigrad.manual_seed`` is called with the trial's own seed before each call. It must be
        picklable for process and Dask executors (a module-level function, or any function when
        ``cloudpickle`` is installed).
    space : dict
        ``{name: loguniform(...) | uniform(...) | choice(...) | randint(...) | constant}``.
    n_trials, seed : int
        Trial ``i``'s configuration and seed depend only on ``(seed, i)``.
    executor : None, "local", "serial", "dask", distributed.Client or concurrent.futures.Executor
        None/"local": ``n_workers`` spawned processes (default: the CPUs available). "serial": this
        process. "dask": a ``distributed.LocalCluster`` of ``n_workers`` one-thread processes,
        started and closed by this call. A ``Client`` runs the trials on its (existing) cluster.
    results : path or None
        JSON-lines file the trials are streamed into as they finish. If it already holds trials of
        the same search (same seed, space, metric, mode, scheduler), they are not run again.
    metric, mode : str
        The metric of ``train_fn``'s dict that ranks trials, and ``"max"`` or ``"min"``. A trial whose
        metric is missing or not finite, or that raises, is recorded as failed.
    threads : int or None
        Kernel/BLAS threads inside each trial (1: parallelism comes from running trials side by side).
    scheduler : None or SuccessiveHalving
        Stop bad trials early (see :class:`SuccessiveHalving`).
    quiet : bool
        No progress bar.

    Returns
    -------
    SearchResult
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    if not (isinstance(n_trials, int) and n_trials >= 1):
        raise ValueError(f"n_trials must be a positive int, got {n_trials!r}")
    if scheduler is not None and not isinstance(scheduler, SuccessiveHalving):
        raise TypeError(f"scheduler must be None or a SuccessiveHalving, got {scheduler!r}")
    header = {"seed": int(seed), "space": describe_space(space), "metric": metric, "mode": mode,
              "scheduler": repr(scheduler) if scheduler is not None else None}
    store = ResultsFile(results, header) if results is not None else None
    records = {}  # (trial, rung) → record; "lost" trials (worker died) are run again
    for r in store.records if store else []:
        if r["status"] in ("ok", "failed") and r["trial"] < n_trials:
            records[(r["trial"], r.get("rung", 0))] = r

    budgets = scheduler.budgets if scheduler is not None else [None]
    total = n_trials if scheduler is None else _planned(scheduler, n_trials)
    backend, start = None, time.perf_counter()
    bar = progress(desc="search", total=total, unit="trial", disable=quiet, leave=not quiet)
    best = None
    try:
        with bar:
            bar.update(len(records))
            alive = list(range(n_trials))
            for rung, budget in enumerate(budgets):
                todo = [_spec(space, seed, i, budget, rung) for i in alive if (i, rung) not in records]
                if todo and backend is None:
                    backend = make_backend(executor, n_workers, train_fn, metric, threads)
                for record in backend.run(todo) if todo else ():
                    if store is not None:
                        store.append(record)
                    if record["status"] != "lost":
                        records[(record["trial"], rung)] = record
                    best = _better(best, record, metric, mode)
                    bar.set_postfix({f"best {metric}": f"{best:.4f}" if best is not None else "-"}, refresh=False)
                    bar.update(1)
                if rung + 1 < len(budgets):
                    alive = _promote(records, alive, rung, metric, mode, scheduler.survivors(len(alive)))
    finally:
        if backend is not None:
            backend.close()
    wall = time.perf_counter() - start
    result = SearchResult(list(records.values()), metric, mode, space=space, wall_seconds=wall,
                          executor=backend.name if backend is not None else None)
    if not quiet:
        print(f"[tune] {len(result.final())} trials in {wall:.1f} s on {result.executor or 'nothing (resumed)'}",
              file=sys.stderr)
    return result


def _planned(scheduler, n):
    total = 0
    for _ in scheduler.budgets:
        total += n
        n = scheduler.survivors(n)
    return total


def _spec(space, seed, i, budget, rung):
    return {"trial": i, "config": sample_config(space, seed, i), "seed": trial_seed(seed, i), "budget": budget,
            "rung": rung}


def _better(best, record, metric, mode):
    if record["status"] != "ok":
        return best
    value = record["metrics"][metric]
    if best is None or (value > best if mode == "max" else value < best):
        return value
    return best


def _promote(records, alive, rung, metric, mode, keep):
    """The ``keep`` best trials of ``rung`` (ties by trial number); failed or lost ones never go on."""
    ok = [records[(i, rung)] for i in alive if (i, rung) in records and records[(i, rung)]["status"] == "ok"]
    sign = -1 if mode == "max" else 1
    ok.sort(key=lambda r: (sign * r["metrics"][metric], r["trial"]))
    return sorted(r["trial"] for r in ok[:keep])

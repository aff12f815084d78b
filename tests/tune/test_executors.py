"""minigrad.tune executors: the same seed gives the same trials and results in this process, on 1 and 2
local worker processes and on a Dask LocalCluster; failures and dead workers never end the search.

The Dask comparison runs on a LocalCluster of 2 worker *processes* (1 thread each) on 127.0.0.1. Worker
threads of one process (``processes=False``) would share minigrad's global generator and thread count,
so two concurrent trials could disturb each other's seeding. ``executor="dask"``, which starts its own
process cluster, is checked for starting and closing it with a one-thread in-process cluster swapped
in (a second process cluster would cost another ~5 s of worker start-up on Zen 3).
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import tune

SPACE = {"lr": tune.loguniform(1e-6, 1e-2), "weight_decay": tune.loguniform(1e-8, 1e-4), "k": tune.randint(0, 8)}


def cheap_train(config):
    """Deterministic given the config and minigrad's seed (which the search sets per trial)."""
    noise = float(minigrad.randn(4).data.sum())
    score = -abs(math.log10(config["lr"]) + 2.5) + 0.01 * noise
    return {"val_acc": score, "noise": noise, "threads": minigrad.get_num_threads(), "pid": os.getpid()}


def flaky_train(config):
    if config["k"] == 1:
        raise RuntimeError(f"diverged at lr={config['lr']:.2g}")
    if config["k"] == 2:
        return {"val_acc": float("nan")}
    if config["k"] == 3:
        return {"loss": 1.0}
    if config["k"] == 4:
        return [0.5]
    return cheap_train(config)


def crashing_train(config):
    if config["k"] == 5:
        os._exit(3)  # the worker process dies without a Python exception
    return flaky_train(config)


def _comparable(result):
    """Records without timing and process ids, as JSON text (NaN compares equal to NaN)."""
    out = []
    for r in result.trials:
        r = {k: v for k, v in r.items() if k not in ("seconds", "worker")}
        r["metrics"] = {k: v for k, v in r["metrics"].items() if k != "pid"}
        out.append(json.dumps(r, sort_keys=True))
    return out


@pytest.fixture(scope="module")
def serial():
    return tune.random_search(cheap_train, SPACE, 8, seed=11, executor="serial", quiet=True)


def test_serial_runs_every_trial_with_its_config_and_seed(serial):
    assert [r["trial"] for r in serial.trials] == list(range(8))
    for r in serial.trials:
        assert r["status"] == "ok" and r["config"] == tune.sample_config(SPACE, 11, r["trial"])
        assert r["seed"] == tune.trial_seed(11, r["trial"])
        minigrad.manual_seed(r["seed"])
        assert r["metrics"]["noise"] == float(minigrad.randn(4).data.sum())  # seeded before train_fn
        assert r["metrics"]["threads"] == 1


def test_serial_search_leaves_the_callers_generator_and_threads_alone():
    minigrad.manual_seed(5)
    expected = minigrad.randn(3).data
    minigrad.manual_seed(5)
    threads = minigrad.get_num_threads()
    tune.random_search(cheap_train, SPACE, 2, executor="serial", quiet=True)
    np.testing.assert_array_equal(minigrad.randn(3).data, expected)
    assert minigrad.get_num_threads() == threads


@pytest.mark.parametrize("workers", [1, 2])
def test_local_processes_give_the_serial_results(serial, workers):
    result = tune.random_search(cheap_train, SPACE, 8, seed=11, n_workers=workers, quiet=True)
    assert _comparable(result) == _comparable(serial)
    pids = {r["metrics"]["pid"] for r in result.trials}
    assert os.getpid() not in pids and len(pids) <= workers
    assert result.executor == f"local processes ({workers})"


def test_dask_local_cluster_gives_the_serial_results(serial):
    import dask
    from distributed import Client, LocalCluster

    # worker processes forked from multiprocessing's fork server: they start ~2x faster than spawned ones (Zen 3)
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster, Client(cluster) as client:
        result = tune.random_search(cheap_train, SPACE, 8, seed=11, executor=client, quiet=True)
        assert client.status == "running"  # a cluster the caller owns stays up
    assert result.executor.startswith("dask (tcp://127.0.0.1:")
    assert _comparable(result) == _comparable(serial)


def test_executor_dask_starts_and_closes_its_cluster(serial, monkeypatch):
    import distributed

    made = []

    class ThreadCluster(distributed.LocalCluster):
        def __init__(self, **kwargs):
            assert kwargs["threads_per_worker"] == 1 and kwargs["processes"] is True
            kwargs.update(processes=False, n_workers=1, host="127.0.0.1", protocol="tcp")
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(distributed, "LocalCluster", ThreadCluster)
    result = tune.random_search(cheap_train, SPACE, 8, seed=11, executor="dask", n_workers=2, quiet=True)
    assert _comparable(result) == _comparable(serial)
    assert len(made) == 1 and made[0].status.name == "closed"


def test_a_users_process_pool_gives_the_serial_results(serial):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        result = tune.random_search(cheap_train, SPACE, 8, seed=11, executor=pool, quiet=True)
        assert pool.submit(abs, -1).result() == 1  # the caller's pool is not shut down
    assert result.executor == "ProcessPoolExecutor"
    assert _comparable(result) == _comparable(serial)


def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path):
    result = tune.random_search(flaky_train, SPACE, 24, seed=3, executor="serial", results=tmp_path / "r.jsonl",
                                quiet=True)
    by_k = {}
    for r in result.final():
        by_k.setdefault(r["config"]["k"], []).append(r)
    assert set(by_k) >= {0, 1, 2, 3, 4}  # every kind of failure was drawn at least once
    for r in by_k[1]:
        assert r["status"] == "failed" and r["error"].startswith("RuntimeError: diverged at lr=")
    for r in by_k[2]:
        assert r["status"] == "failed" and "'val_acc' is nan" in r["error"]
    for r in by_k[3]:
        assert r["status"] == "failed" and "missing" in r["error"]
    for r in by_k[4]:
        assert r["status"] == "failed" and "must return a dict" in r["error"]
    good = [r for k, rs in by_k.items() if k not in (1, 2, 3, 4) for r in rs]
    assert good and all(r["status"] == "ok" for r in good)
    assert result.best["status"] == "ok" and result.best in good
    assert len(result.failed) == 24 - len(good)
    assert "failed: RuntimeError: diverged" in result.table()
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == 25  # header + every trial, failed ones too


def test_a_dead_worker_loses_only_in_flight_trials_and_the_pool_restarts(tmp_path):
    path = tmp_path / "r.jsonl"
    result = tune.random_search(crashing_train, SPACE, 16, seed=3, n_workers=2, results=path, quiet=True)
    records = {r["trial"]: r for r in result.trials}
    crashers = [i for i in range(16) if tune.sample_config(SPACE, 3, i)["k"] == 5]
    assert crashers
    # lost trials are not part of the result (the next run of the search retries them) but are in the file
    lost = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    lost = [r for r in lost if r["status"] == "lost"]
    assert {r["trial"] for r in lost} >= set(crashers)
    assert all("BrokenProcessPool" in r["error"] for r in lost)
    assert all(i not in records for i in crashers)
    # trials after the crash ran on a fresh pool, so most trials still finished
    assert len(records) >= 16 - len(crashers) - 2 * 2 * len(crashers)
    assert {r["status"] for r in records.values()} <= {"ok", "failed"}


def test_minigrad_and_tune_import_without_dask():
    code = ("import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
            "import minigrad, minigrad.tune as t\n"
            "r = t.random_search(lambda c: {'val_acc': c['x']}, {'x': t.uniform(0, 1)}, 3, executor='serial', quiet=True)\n"
            "assert len(r.ok) == 3\n"
            "try:\n    t.random_search(lambda c: {}, {'x': 1}, 1, executor='dask', quiet=True)\n"
            "except ImportError as e:\n    print('needs', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install 'minigrad[tune]'" in out.stdout


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        tune.random_search(cheap_train, SPACE, 2, mode="best", executor="serial")
    with pytest.raises(ValueError, match="n_trials"):
        tune.random_search(cheap_train, SPACE, 0, executor="serial")
    with pytest.raises(ValueError, match="executor must be"):
        tune.random_search(cheap_train, SPACE, 2, executor="gpu", quiet=True)
    with pytest.raises(TypeError, match="scheduler"):
        tune.random_search(cheap_train, SPACE, 2, executor="serial", scheduler="asha")


def test_metric_mode_min_ranks_lowest_first():
    result = tune.random_search(cheap_train, SPACE, 6, seed=0, executor="serial", metric="noise", mode="min",
                                quiet=True)
    values = [r["metrics"]["noise"] for r in result.sorted()]
    assert values == sorted(values) and result.best["metrics"]["noise"] == min(values)
    assert np.isfinite(values).all()

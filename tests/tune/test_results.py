"""minigrad.tune.results: the streamed results file, resuming a search from it, and SearchResult."""
import csv
import json
import math

import pytest

import minigrad
from minigrad import tune

SPACE = {"lr": tune.loguniform(1e-6, 1e-2), "weight_decay": tune.loguniform(1e-8, 1e-4)}


class Recorder:
    """A deterministic train_fn that remembers which trials it was called for (serial executor)."""

    def __init__(self):
        self.calls = []

    def __call__(self, config):
        self.calls.append(config["lr"])
        return {"val_acc": 1.0 - abs(math.log10(config["lr"]) + 2.5) / 4 + 1e-3 * float(minigrad.rand(1).item())}


def _trial_of(lr, n=10, seed=5):
    return next(i for i in range(n) if tune.sample_config(SPACE, seed, i)["lr"] == lr)


def test_every_finished_trial_is_on_disk_in_order_of_finishing(tmp_path):
    path = tmp_path / "search.jsonl"
    result = tune.random_search(Recorder(), SPACE, 5, seed=5, executor="serial", results=path, quiet=True)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"search": {"seed": 5, "space": {"lr": "loguniform(1e-06, 0.01)",
                                                        "weight_decay": "loguniform(1e-08, 0.0001)"},
                                   "metric": "val_acc", "mode": "max", "scheduler": None}}
    assert [r["trial"] for r in lines[1:]] == [0, 1, 2, 3, 4]
    assert lines[1:] == result.trials


def test_resume_skips_finished_trials(tmp_path):
    path = tmp_path / "search.jsonl"
    full = tune.random_search(Recorder(), SPACE, 10, seed=5, executor="serial", quiet=True)
    written = tune.random_search(Recorder(), SPACE, 10, seed=5, executor="serial", results=path, quiet=True)
    # interrupted after 4 trials, while writing the 5th line
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5]) + "\n" + lines[5][:17])
    again = Recorder()
    resumed = tune.random_search(again, SPACE, 10, seed=5, executor="serial", results=path, quiet=True)
    assert sorted(_trial_of(lr) for lr in again.calls) == list(range(4, 10))  # trials 0-3 not run again
    assert resumed.trials[:4] == written.trials[:4]  # read back from the file, timings included
    strip = [{k: v for k, v in r.items() if k not in ("seconds", "worker")} for r in resumed.trials]
    assert strip == [{k: v for k, v in r.items() if k not in ("seconds", "worker")} for r in full.trials]
    assert [json.loads(line)["trial"] for line in path.read_text().splitlines()[1:]] == list(range(10))
    # everything done: nothing runs, no pool is started
    idle = Recorder()
    done = tune.random_search(idle, SPACE, 10, seed=5, executor="dask", results=path, quiet=True)
    assert idle.calls == [] and done.trials == resumed.trials and done.executor is None


def test_more_trials_extend_a_finished_search(tmp_path):
    path = tmp_path / "search.jsonl"
    tune.random_search(Recorder(), SPACE, 4, seed=5, executor="serial", results=path, quiet=True)
    more = Recorder()
    result = tune.random_search(more, SPACE, 7, seed=5, executor="serial", results=path, quiet=True)
    assert sorted(_trial_of(lr) for lr in more.calls) == [4, 5, 6]
    assert [r["trial"] for r in result.trials] == list(range(7))


def test_lost_trials_run_again_on_resume(tmp_path):
    path = tmp_path / "search.jsonl"
    tune.random_search(Recorder(), SPACE, 3, seed=5, executor="serial", results=path, quiet=True)
    lines = path.read_text().splitlines()
    lost = dict(json.loads(lines[2]), status="lost", metrics={}, error="BrokenProcessPool: died")
    path.write_text("\n".join(lines[:2] + [json.dumps(lost), lines[3]]) + "\n")
    again = Recorder()
    result = tune.random_search(again, SPACE, 3, seed=5, executor="serial", results=path, quiet=True)
    assert [_trial_of(lr) for lr in again.calls] == [1]
    assert all(r["status"] == "ok" for r in result.trials)


def test_a_file_of_another_search_is_refused(tmp_path):
    path = tmp_path / "search.jsonl"
    tune.random_search(Recorder(), SPACE, 2, seed=5, executor="serial", results=path, quiet=True)
    with pytest.raises(ValueError, match="different search.*seed"):
        tune.random_search(Recorder(), SPACE, 2, seed=6, executor="serial", results=path, quiet=True)
    with pytest.raises(ValueError, match="different search.*space"):
        tune.random_search(Recorder(), dict(SPACE, lr=tune.loguniform(1e-5, 1)), 2, seed=5, executor="serial",
                           results=path, quiet=True)
    other = tmp_path / "other.jsonl"
    other.write_text('{"trial": 0}\n')
    with pytest.raises(ValueError, match="not a minigrad.tune results file"):
        tune.random_search(Recorder(), SPACE, 2, seed=5, executor="serial", results=other, quiet=True)


@pytest.fixture
def result():
    def train(config):
        if config["lr"] < 1e-5:
            raise ValueError("too slow")
        return {"val_acc": 1.0 - abs(math.log10(config["lr"]) + 2.5) / 4, "train_acc": 0.5}
    return tune.random_search(train, SPACE, 30, seed=2, executor="serial", quiet=True)


def test_table_best_and_failed(result):
    ranked = result.sorted()
    accs = [r["metrics"]["val_acc"] for r in ranked if r["status"] == "ok"]
    assert accs == sorted(accs, reverse=True)
    assert all(r["status"] == "failed" for r in ranked[len(accs):]) and result.failed
    assert result.best is ranked[0] and result.best_config == ranked[0]["config"]
    table = result.table(k=5, metrics=["val_acc", "train_acc"]).splitlines()
    assert table[0] == "| rank | trial | lr | weight_decay | val_acc | train_acc | status |"
    assert len(table) == 2 + 5 and table[2].startswith(f"| 1 | {ranked[0]['trial']} | ")
    assert f"{accs[0]:.4f}" in table[2]
    assert "30 trials" in str(result) and "failed: ValueError: too slow" in result.table()
    assert repr(result).startswith("<SearchResult 30 trials, best val_acc=")


def test_all_failed_has_no_best():
    result = tune.random_search(lambda c: {"val_acc": float("inf")}, SPACE, 3, executor="serial", quiet=True)
    assert result.best is None and result.best_config is None and len(result.failed) == 3


def test_csv_export(result, tmp_path):
    result.to_csv(tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 30 and float(rows[0]["lr"]) == result.trials[0]["config"]["lr"]
    assert {row["status"] for row in rows} == {"ok", "failed"}


def test_plot_is_a_log_log_scatter(result, tmp_path):
    fig = result.plot(tmp_path / "s.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "lr" and ax.get_ylabel() == "weight_decay"
    assert len(ax.collections[0].get_offsets()) == len(result.ok)  # one point per successful trial
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

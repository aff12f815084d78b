"""examples/hyperparameter_search.py --quick --halving: outputs exist, the best trial learned, the table
is sorted, the halving search ran fewer epochs, and a rerun with --resume trains nothing again."""
import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, load_example):
    out = tmp_path_factory.mktemp("hpsearch")
    example = load_example("hyperparameter_search")
    return example, out, example.main(["--quick", "--quiet", "--halving", "--out", str(out)])


def test_quick_search_writes_outputs(quick_run):
    _, out, summary = quick_run
    for name in ("hyperparameter_search.png", "hyperparameter_search.json", "hyperparameter_search.jsonl",
                 "hyperparameter_search_halving.jsonl"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "hyperparameter_search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "hyperparameter_search.json").read_text())
    assert saved["best_config"] == summary["best_config"] and saved["n_ok"] + saved["n_failed"] == 6
    lines = (out / "hyperparameter_search.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 6 and json.loads(lines[0])["search"]["metric"] == "val_acc"
    assert "bundled Fashion-MNIST subset" in summary["data"]


def test_quick_search_learns_and_ranks(quick_run):
    _, _, summary = quick_run
    best = summary["best"]["metrics"]
    assert len(best["loss_curve"]) == 5 and np.all(np.isfinite(best["loss_curve"]))
    assert best["loss_curve"][-1] < best["loss_curve"][0]  # the best trial's training loss went down
    assert best["val_acc"] == best["val_curve"][-1] > 0.1  # chance is 0.1
    accs = [float(row.split(" | ")[4]) for row in summary["table"].splitlines()[2:]]
    assert accs == sorted(accs, reverse=True) and accs[0] == pytest.approx(best["val_acc"], abs=1e-4)


def test_quick_halving_trains_fewer_epochs(quick_run):
    _, _, summary = quick_run
    halving = summary["halving"]
    assert halving["epochs_full"] == 6 * 5
    assert halving["epochs_halving"] == 6 * 1 + 2 * 2 + 1 * 5  # budgets 1/2/5 (rounded 5/9, 5/3, 5)
    assert halving["rank_of_halving_best_in_full"] >= 1


def test_resume_runs_no_trial_again(quick_run, monkeypatch):
    example, out, summary = quick_run

    def untouchable(self, config, epochs=None):
        raise AssertionError("a finished trial was trained again")

    monkeypatch.setattr(example.BookTrial, "__call__", untouchable)
    again = example.main(["--quick", "--quiet", "--resume", "--workers", "1", "--out", str(out)])
    assert again["best"] == summary["best"] and again["executor"] is None

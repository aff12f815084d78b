"""benchmarks/tune.py: the section times the same trials on 1 and 2 workers and reports the speed-up."""
from benchmarks import __main__ as bench_main
from benchmarks import harness
from benchmarks import tune as bench_tune
from minigrad import tune


def tiny_trial(config):
    return {"val_acc": config["lr"]}


def test_section_rows_and_report(monkeypatch):
    assert bench_main.SECTIONS["tune"][0] == "tune"
    monkeypatch.setattr(bench_tune, "TRIALS", 4)
    monkeypatch.setattr(bench_tune, "book_trial",
                        lambda epochs: (tiny_trial, {"lr": tune.loguniform(1e-6, 1e-2)}, "tiny (test)"))
    (row,) = bench_tune.run(quick=True)
    cands = row["candidates"]
    assert set(cands) == {"1 worker", "2 workers"} and all(c["median"] > 0 for c in cands.values())
    (speedup,) = row["speedups"]
    assert speedup == cands["1 worker"]["median"] / cands["2 workers"]["median"]
    assert row["extra"]["speed-up 1 → 2 workers"] == f"{speedup:.2f}×"
    table = harness.report._section_table([row])
    assert "| 1 worker | 2 workers | 2 workers / 1 worker | speed-up 1 → 2 workers |" in table

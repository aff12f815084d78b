"""The thread-scaling section: its thread counts and its table. No timing is asserted."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import harness, threads  # noqa: E402


def test_thread_counts_stop_at_the_cores_and_include_them():
    assert threads.thread_counts(1) == [1]
    assert threads.thread_counts(2) == [1, 2]
    assert threads.thread_counts(12) == [1, 2, 4, 8, 12]
    assert threads.thread_counts(16) == [1, 2, 4, 8, 16]
    assert threads.thread_counts(64) == [1, 2, 4, 8, 16, 64]


def test_rows_and_table(monkeypatch):
    """One row per thread count with the ratio columns; the table has a line per row."""
    monkeypatch.setitem(harness.DEFAULTS, "gap", 0.0)
    monkeypatch.setitem(harness.DEFAULTS, "target", 0.001)
    monkeypatch.setitem(harness.DEFAULTS, "warmup", 0)
    rows = threads.run(threads=[1, 2], only=["overhead"], reps=2)
    assert [r["threads"] for r in rows] == [1, 2]
    for r in rows:
        assert r["section"] == threads.SECTION and "minigrad" in r["candidates"]
        assert r["extra"]["minigrad / 2 threads"].endswith("×")
    assert rows[1]["extra"]["minigrad / 2 threads"] == "1.00×"
    table = threads.markdown(rows).splitlines()
    assert len(table) == 2 + len(rows) and all(line.count("|") == table[0].count("|") for line in table)
    summary = threads.summary(rows)
    assert summary[0]["median_s"]["minigrad"] > 0


def test_progress_gets_each_case_as_it_is_measured(monkeypatch):
    monkeypatch.setitem(harness.DEFAULTS, "gap", 0.0)
    monkeypatch.setitem(harness.DEFAULTS, "target", 0.001)
    monkeypatch.setitem(harness.DEFAULTS, "warmup", 0)
    seen = []
    rows = threads.run(threads=[1], only=["overhead"], reps=1, progress=seen.append)
    assert len(seen) == 1 and seen[0] == rows
    assert len(threads.markdown(rows, header=False).splitlines()) == len(rows)


def test_conv_rows_are_the_conv_sections_cases_without_the_book():
    """Issue 21's 16-thread criteria are read off these rows: the three cases of benchmarks.conv,
    minigrad against torch (the book's numpy conv left out), each candidate one fwd+bwd step."""
    from benchmarks import conv

    cases = list(threads.CASES["conv"]())
    assert [c[0].split()[1] for c in cases] == [f"({c[0]})" for c in conv.CONV_CASES]
    name, make, baseline, extra = cases[0]
    cands = make()
    assert conv.BOOK not in cands and "minigrad" in cands and "numpy-ref" not in cands
    assert baseline == "torch" and extra["flops"] == 3 * 2.0 * 100 * 30 * 24 * 24 * 1 * 25
    cands["minigrad"].fn()  # one step runs

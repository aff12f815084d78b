"""The benchmark harness produces well-formed statistics and reports. No timing is asserted: these
machines are shared, and a test that fails when a neighbour compiles would be a bad test."""
import json
import math
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks import harness  # noqa: E402

STAT_KEYS = {"median", "q1", "q3", "min", "max"}


def _ordered(s):
    return s["min"] <= s["q1"] <= s["median"] <= s["q3"] <= s["max"]


def test_compare_stats_are_well_formed():
    calls = {"a": 0, "b": 0, "torch": 0}

    def counter(name):
        def fn():
            calls[name] += 1
        return fn

    res = harness.compare({k: counter(k) for k in calls}, reps=4, warmup=2, threads=1, gap=0.0,
                          target=0.001)
    assert res["reps"] == 4 and res["threads"] == 1 and res["baseline"] == "torch"
    assert res["settings"]["minigrad"] == 1 and res["settings"]["numpy_blas"] == 1
    for name, s in res["candidates"].items():
        assert STAT_KEYS <= set(s) and _ordered(s)
        assert len(s["times"]) == 4 and all(t > 0 for t in s["times"])
        assert s["number"] >= 1
        # warm-up + calibration + every block's calls, nothing more and nothing less
        assert calls[name] == 2 + 1 + 4 * s["number"]
    assert set(res["ratios"]) == {"a", "b"}
    for r in res["ratios"].values():
        assert STAT_KEYS <= set(r) and _ordered(r) and r["median"] > 0
    # the order is rotated every repetition: each candidate leads once in 3 consecutive reps
    assert [o[0] for o in res["order"][:3]] == ["a", "b", "torch"]
    assert all(sorted(o) == sorted(calls) for o in res["order"])


def test_compare_reports_a_failing_candidate_and_times_the_others():
    def broken():
        raise RuntimeError("kernel missing")

    res = harness.compare({"minigrad": broken, "torch": lambda: None}, reps=2, gap=0.0, target=0.001)
    assert res["candidates"]["minigrad"] == {"error": "RuntimeError: kernel missing"}
    assert len(res["candidates"]["torch"]["times"]) == 2
    assert res["ratios"] == {}


def test_candidate_context_is_entered_once_per_block():
    entered = []

    class Ctx:
        def __enter__(self):
            entered.append(1)

        def __exit__(self, *exc):
            return False

    res = harness.compare({"x": harness.Candidate(lambda: None, Ctx)}, reps=3, warmup=1, gap=0.0,
                          target=0.001)
    assert len(entered) == 1 + 1 + 3  # warm-up, calibration, 3 blocks — not once per call
    assert res["candidates"]["x"]["number"] > 1


def test_threads_are_restored():
    import minigrad

    before = minigrad.get_num_threads()
    with harness.use_threads(1):
        assert harness.thread_settings()["minigrad"] == 1
    assert minigrad.get_num_threads() == before


def test_adapt_reads_rows_of_modules_with_their_own_timing():
    row = {"case": "conv (a)", "minigrad_ms": 3.0, "torch_ms": 2.0, "numpy_ms": 12.0, "ratio_torch": 1.5,
           "speedup_numpy": 4.0, "cpu": "X"}
    r = harness.adapt("conv", row, threads=2, rename={"numpy": "numpy-ref"})
    assert r["threads"] == 2
    assert r["candidates"]["minigrad"]["median"] == pytest.approx(3e-3)
    assert r["ratios"]["minigrad"]["median"] == pytest.approx(1.5)
    assert r["ratios"]["numpy-ref"]["median"] == pytest.approx(6.0)
    # the module's own ratio keys are not shown (conventions differ between modules), ours are
    assert r["extra"] == {"numpy-ref / minigrad": "4.00×"}
    assert r["raw"] is row

    gemm = {"case": "1024^3", "M": 1024, "K": 1024, "N": 1024, "threads": 1,
            "minigrad_gflops": 50.0, "numpy_gflops": 100.0, "torch_gflops": 25.0}
    r = harness.adapt("gemm", gemm)
    assert r["candidates"]["minigrad"]["median"] == pytest.approx(2 * 1024 ** 3 / 50e9)
    assert r["ratios"]["minigrad"]["median"] == pytest.approx(0.5)
    assert r["extra"]["minigrad / numpy"] == "2.00×"
    assert harness.add_derived(r)["derived"]["gflops"] == pytest.approx(50.0)

    unknown = {"case": "x", "gflops": 12.5}
    assert harness.adapt("gemm", unknown) is unknown  # shown as given, in a generic table


def test_quick_run_writes_well_formed_report(tmp_path, monkeypatch):
    # Shorter blocks and gaps than a real QUICK run: this checks the plumbing, not the figures.
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "gap", 0.01)
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "target", 0.002)
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "reps", 2)
    try:
        assert bench_main.main(["--quick", "--only", "overhead", "--out", str(tmp_path)]) == 0
    finally:
        harness.configure(quick=False)

    results = list((tmp_path / "benchmarks" / "results").glob("*-quick.json"))
    assert len(results) == 1
    data = json.loads(results[0].read_text())
    assert data["meta"]["quick"] is True
    machine = data["meta"]["machine"]
    assert machine["cpu"] and machine["numpy"] and "minigrad_config" in machine
    for when in ("start", "end"):
        p = data["probes"][when]
        assert p["copy_256MB_gbs"] > 0 and p["numpy_sgemm1024_gflops_1t"] > 0
        assert p.get("fma_gflops_1t", 1) > 0
    assert list(data["sections"]) == ["overhead"]
    rows = data["sections"]["overhead"]["rows"]
    assert len(rows) == 3
    for r in rows:
        assert r["threads"] == 1 and len(r["candidates"]["minigrad"]["times"]) == 2
        assert math.isfinite(r["candidates"]["minigrad"]["median"])

    md = (tmp_path / "BENCHMARKS.md").read_text()
    assert f"**CPU:** {machine['cpu']}" in md
    assert "## Per-op Python overhead" in md
    assert "| case | threads | minigrad |" in md
    assert results[0].name in md  # the report links its raw data


def test_unknown_section_is_an_error():
    with pytest.raises(SystemExit):
        bench_main.main(["--only", "nonsense"])

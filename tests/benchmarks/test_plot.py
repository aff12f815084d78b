"""The scaling section draws its plot next to its run's report, named after it (one per CPU kind for
full runs), and the report links it. No timing is asserted."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks import harness, plot  # noqa: E402


def test_scaling_plot_is_named_after_the_report_and_linked(tmp_path, monkeypatch):
    # Tiny sizes and short blocks: this checks where the plot goes, not the figures.
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "gap", 0.01)
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "target", 0.002)
    monkeypatch.setitem(harness.QUICK_DEFAULTS, "reps", 2)
    monkeypatch.setitem(plot.GEMM_SIZES, "quick", (16,))
    monkeypatch.setitem(plot.BATCHES, "quick", (2,))
    try:
        assert bench_main.main(["--quick", "--only", "scaling", "--out", str(tmp_path)]) == 0
    finally:
        harness.configure(quick=False)

    results = tmp_path / "benchmarks" / "results"
    (path_json,) = results.glob("*-quick.json")
    report = json.loads(path_json.read_text())["meta"]["report"]
    image = report[:-len(".md")] + "-scaling.png"
    assert sorted(p.name for p in results.glob("*.png")) == [image]
    assert (results / image).stat().st_size > 0
    assert f"![Scaling]({image})" in (results / report).read_text()

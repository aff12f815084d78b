"""One report per CPU kind and the BENCHMARKS.md index (no timing is run here)."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import per_cpu  # noqa: E402


def test_report_path_per_kind_only_for_full_runs(tmp_path):
    assert per_cpu.report_path(str(tmp_path), "AMD Zen 4", "20261204T190000Z", True) == str(tmp_path / "amd-zen-4.md")
    assert per_cpu.report_path(str(tmp_path), "AMD Zen 4", "20261204T190000Z-quick", False) \
        == str(tmp_path / "20261204T190000Z-quick.md")


def test_scaling_plot_is_named_after_the_report(tmp_path):
    full = per_cpu.report_path(str(tmp_path), "AMD Zen 4", "20261204T190000Z", True)
    partial = per_cpu.report_path(str(tmp_path), "AMD Zen 4", "20261204T190000Z", False)
    assert per_cpu.scaling_image(full) == str(tmp_path / "amd-zen-4-scaling.png")
    assert per_cpu.scaling_image(partial) == str(tmp_path / "20261204T190000Z-scaling.png")
    other = per_cpu.report_path(str(tmp_path), "AMD Zen 3", "20261204T190000Z", True)
    assert per_cpu.scaling_image(other) != per_cpu.scaling_image(full)


def _run(kind, started, full, value):
    row = {"section": "overhead", "case": "tiny", "threads": 1, "baseline": "torch",
           "candidates": {"minigrad": {"median": value}, "torch": {"median": 1.0}},
           "ratios": {"minigrad": {"median": value, "q1": value, "q3": value}}}
    return {"meta": {"kind": kind, "full": full, "started": started, "duration_s": 60, "quick": not full,
                     "machine": {"cpu": "AMD EPYC", "cores_available": 2,
                                 "minigrad_config": {"gemm_path": "avx512", "batchnorm_path": "avx2"}}},
            "sections": {"overhead": {"rows": [row]}}}


def test_index_has_one_section_per_kind_from_its_latest_full_run(tmp_path):
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    runs = {"20261101T000000Z": _run("AMD Zen 4", "2026-11-01", True, 0.5),
            "20261102T000000Z": _run("AMD Zen 4", "2026-11-02", True, 0.75),   # latest Zen 4
            "20261103T000000Z-quick": _run("AMD Zen 4", "2026-11-03", False, 9.0),  # QUICK: ignored
            "20261104T000000Z": _run("Intel Sapphire Rapids", "2026-11-04", True, 1.25)}
    for stamp, data in runs.items():
        (results / f"{stamp}.json").write_text(json.dumps(data))
    (results / "amd-zen-4-scaling.png").write_bytes(b"")  # Zen 4's run drew its plot; Sapphire Rapids' did not
    per_cpu.write_index(str(tmp_path / "BENCHMARKS.md"), str(results))
    md = (tmp_path / "BENCHMARKS.md").read_text()
    assert md.count("\n## ") == 2 and "## AMD Zen 4" in md and "## Intel Sapphire Rapids" in md
    zen4 = md.split("## AMD Zen 4")[1].split("## Intel")[0]
    assert "**0.75×**" in zen4 and "0.50" not in zen4 and "9.00" not in md
    assert "gemm avx512, batchnorm avx2" in zen4 and "2 cores" in zen4
    assert "(benchmarks/results/amd-zen-4.md)" in zen4
    assert "(benchmarks/results/amd-zen-4-scaling.png)" in zen4
    assert "scaling" not in md.split("## Intel Sapphire Rapids")[1]

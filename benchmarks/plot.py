"""Scaling section: how minigrad, numpy and torch scale with problem size and with 1 vs 2 threads.

- GEMM float32 C = A @ B, square n×n: GFLOP/s of minigrad's kernel door (``minigrad._ops.gemm``, as in the GEMM section),
  numpy (``a @ b``) and torch;
- BatchNorm2d(32) forward + backward on (N, 32, 16, 16), training mode: time vs batch N;
- Conv2d(1, 30, 5) forward + backward (the SimpleConvNet layer) on (N, 1, 28, 28): time vs batch N.

``run`` measures (rows for the report) and draws the PNG ``image`` with matplotlib's Agg backend
(named after the run's report, ``per_cpu.scaling_image``: one per CPU kind); ``python -m
benchmarks.plot RESULTS.json`` redraws it from a saved run.
"""
import os
import sys

import numpy as np

from . import gemm, harness, per_cpu

SECTION = "scaling"
# QUICK: one size per series (a smoke test of the section and the plot, within the 2-minute budget)
GEMM_SIZES = {"full": (64, 256, 1024), "quick": (1024,)}  # 2048³: in the GEMM section
BATCHES = {"full": (1, 16, 128, 512), "quick": (128,)}
THREADS = (1, 2)


def _gemm_candidates(n):
    rng = np.random.default_rng(n)
    return gemm.candidates(rng.standard_normal((n, n), dtype=np.float32),
                           rng.standard_normal((n, n), dtype=np.float32))


def _layer_candidates(make_layer, shape, out_shape):
    """forward + backward of a fresh layer from ``make_layer(nn)``, minigrad (compiled) and torch."""
    import minigrad

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(out_shape, dtype=np.float32)
    return harness.step_candidates(make_layer(minigrad.nn), lambda torch: make_layer(torch.nn), (x,), g,
                                   numpy_ref=False)


SERIES = {
    # name: (case format, sizes key, candidates(size), flops(size) or None)
    "gemm": ("GEMM {}³ float32", "gemm", _gemm_candidates, lambda n: 2.0 * n ** 3),
    "bn": ("BatchNorm2d(32) fwd+bwd, N={} × 32×16×16", "batch",
           lambda n: _layer_candidates(lambda nn: nn.BatchNorm2d(32), (n, 32, 16, 16), (n, 32, 16, 16)), None),
    "conv": ("Conv2d(1, 30, 5) fwd+bwd, N={} × 1×28×28", "batch",
             lambda n: _layer_candidates(lambda nn: nn.Conv2d(1, 30, 5), (n, 1, 28, 28), (n, 30, 24, 24)), None),
}


def _gemm_note():
    from minigrad import _ops
    return ("minigrad = its compiled GEMM" if _ops.compiled_kernel("gemm") is not None
            else "minigrad's GEMM is not compiled in this build: its door runs the numpy twin")


def run(quick=False, image=None):
    mode = "quick" if quick else "full"
    rows = []
    for series, (fmt, sizes_key, make, flops) in SERIES.items():
        sizes = (GEMM_SIZES if sizes_key == "gemm" else BATCHES)[mode]
        for size in sizes:
            case = fmt.format(size)
            try:
                cands = make(size)
            except Exception as e:  # noqa: BLE001  the layer is not written yet
                rows.append(harness.skipped(SECTION, case, harness.not_available(e)))
                break
            for n_threads in THREADS:
                res = harness.compare(cands, threads=n_threads)
                rows.append(harness.row(SECTION, case, res, series=series, size=size,
                                        flops=flops(size) if flops else None,
                                        note=_gemm_note() if series == "gemm" else None))
    if image is not None:
        draw(rows, image)
    return rows


def draw(rows, path):
    """Three panels (GEMM GFLOP/s, BN time, conv time) against size; solid 2 threads, dashed 1."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    colors = {"minigrad": "C0", "numpy": "C1", "torch": "C3"}
    titles = {"gemm": ("GEMM float32, n×n×n", "n", "GFLOP/s"),
              "bn": ("BatchNorm2d(32) fwd+bwd, 16×16", "batch N", "ms"),
              "conv": ("Conv2d 1→30, 5×5, fwd+bwd, 28×28", "batch N", "ms")}
    for ax, (series, (title, xlabel, ylabel)) in zip(axes, titles.items()):
        measured = [r for r in rows if r.get("series") == series and "candidates" in r]
        for name in colors:
            for n_threads, style in ((2, "-"), (1, "--")):
                pts = sorted((r["size"], r["candidates"][name]["median"]) for r in measured
                             if r["threads"] == n_threads and "median" in r["candidates"].get(name, {}))
                if not pts:
                    continue
                x = [p[0] for p in pts]
                y = [2.0 * s ** 3 / t / 1e9 for s, t in pts] if series == "gemm" else [t * 1e3 for _, t in pts]
                ax.plot(x, y, style, marker="o", ms=3, color=colors[name], label=f"{name}, {n_threads} thr")
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.set_xscale("log", base=2)
        sizes = sorted({r["size"] for r in measured})
        if sizes:
            ax.set_xticks(sizes, [str(v) for v in sizes])
        if series != "gemm":
            ax.set_yscale("log")
        if not measured:
            ax.text(0.5, 0.5, "not available", ha="center", transform=ax.transAxes)
        else:
            ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("minigrad scaling (median of interleaved repetitions)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    import json

    with open(sys.argv[1]) as f:
        saved = json.load(f)
    path_json = os.path.abspath(sys.argv[1])
    # runs before the per-CPU reports named none: their report was the JSON's namesake
    report = saved["meta"].get("report") or os.path.basename(path_json)[:-len(".json")] + ".md"
    out = per_cpu.scaling_image(os.path.join(os.path.dirname(path_json), report))
    draw(saved["sections"]["scaling"]["rows"], out)
    print(out)

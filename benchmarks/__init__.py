"""minigrad's benchmarks: `make bench` / `python -m benchmarks` → BENCHMARKS.md + results/*.json.

One module per section, each with ``run(quick: bool) -> list[dict]``. The shared timing method is in
:mod:`benchmarks.harness`::

    from benchmarks import harness
    res = harness.compare({"minigrad": f, "torch": g, "numpy-ref": h}, threads=2)
    rows.append(harness.row("gemm", "100x784x100", res, flops=2 * 100 * 784 * 100))

``compare`` interleaves the candidates, rotates their order, warms up, sleeps between blocks and sets
the thread counts of minigrad, numpy's BLAS and torch; see its docstring for the statistics.
"""

"""GEMM: minigrad's compiled kernel (``minigrad._ops.gemm``) vs numpy (OpenBLAS) and torch, float32
(and one float64 case), 1 and 2 threads, timed by :func:`benchmarks.harness.compare`.

    python -m benchmarks.gemm [--quick]

Cases: square sizes, the 100-sized shapes of the MLP, and the three products of a Linear layer
(forward x @ W.T, backward grad @ W and grad.T @ x) with the transposed operands as strided views,
as autograd passes them. Rows carry the flop count, so the report adds minigrad's GFLOP/s.
"""

import numpy as np

from . import harness

SECTION = "gemm"
# (label, dtype, M, K, N, layout of A and B: 't' = passed as a transposed view)
CASES = [
    ("100x784x100", np.float32, 100, 784, 100, "nn"),
    ("100x100x100", np.float32, 100, 100, 100, "nn"),
    ("256x1024x1024", np.float32, 256, 1024, 1024, "nn"),
    ("1024^3", np.float32, 1024, 1024, 1024, "nn"),
    ("2048^3", np.float32, 2048, 2048, 2048, "nn"),
    ("Linear fwd x@W.T", np.float32, 100, 784, 100, "nt"),
    ("Linear bwd grad@W", np.float32, 100, 100, 784, "nn"),
    ("Linear bwd grad.T@x", np.float32, 100, 100, 784, "tn"),
    ("1024^3 float64", np.float64, 1024, 1024, 1024, "nn"),
]
QUICK_CASES = ("100x784x100", "Linear fwd x@W.T", "1024^3")  # at 2 threads only


def _operands(dtype, M, K, N, layout, rng):
    """A (M, K), B (K, N), transposed views where the layout says 't'."""
    a = rng.standard_normal((K, M) if layout[0] == "t" else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if layout[1] == "t" else (K, N)).astype(dtype)
    return (a.T if layout[0] == "t" else a), (b.T if layout[1] == "t" else b)


def candidates(a, b):
    """numpy, minigrad (its compiled GEMM) and torch computing a @ b."""
    from minigrad import _ops

    cands = {"numpy": lambda: a @ b,
             "minigrad": harness.Candidate(lambda: _ops.gemm(a, b), lambda: _ops.use_backend("compiled"))}
    torch = harness.optional_torch()
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        cands["torch"] = lambda: torch.mm(ta, tb)
    return cands


def _isa():
    from minigrad import _ops
    return _ops.kernel_paths()["gemm_path"]


def run(quick=False):
    rng = np.random.default_rng(0)
    rows = []
    isa = _isa()
    for threads in (2,) if quick else (1, 2):
        for label, dtype, M, K, N, layout in CASES:
            if quick and label not in QUICK_CASES:
                continue
            a, b = _operands(dtype, M, K, N, layout, rng)
            res = harness.compare(candidates(a, b), threads=threads)
            vs_numpy = harness.paired_ratio(res, "minigrad", "numpy")
            rows.append(harness.row(SECTION, label, res, flops=2.0 * M * K * N, dtype=np.dtype(dtype).name,
                                    extra={"minigrad / numpy": f"{vs_numpy['median']:.2f}×" if vs_numpy else "",
                                           "isa": isa}))
    return rows


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.gemm", __doc__, argv)

if __name__ == "__main__":
    main()

"""The convolution ladder of docs/kernels.md: conv2d forward + backward (dx, dW, db), float32, from the
book's numpy conv to minigrad's implicit GEMM on two threads, one idea per step.

    python -m benchmarks.conv_ladder [--quick]

1. ``book (numpy)``: the book's loop im2col into float64, numpy GEMMs (benchmarks/book_conv.py).
2. ``im2col + GEMM``: minigrad's compiled im2col and GEMM, the column matrix built for the whole
   batch (in forward and again in backward) and col2im for dx: the path minigrad had before the
   implicit GEMM (written out below, ``im2col_step``).
3. ``implicit GEMM``: minigrad's conv (``F.conv2d``): forward and dW gather the packed panels
   straight from x, no column matrix.
4. ``implicit GEMM, 2 threads``: the same on two threads.

Steps 1-3 and ``torch`` run on one thread (minigrad's kernels, numpy's BLAS and torch alike); the
two-thread rows set their thread count around each call, so all rows are timed interleaved in one
``compare`` call. Cases (a), (b), (c) of the conv section.
"""
import numpy as np

from . import harness
from .conv import BOOK, CONV_CASES, case_candidates, case_flops

SECTION = "conv ladder"


def im2col_step(x, w, b, stride, pad, g):
    """Step 2: forward and backward with explicit column matrices (minigrad's kernels)."""
    from minigrad import _ops

    N, Cout, OH, OW = g.shape
    k = w.shape[2:]
    wm = w.reshape(Cout, -1)
    cols = _ops.im2col(x, k, stride, pad)
    per_sample = cols.reshape(cols.shape[0], N, OH * OW).transpose(1, 0, 2)  # (N, C·k², OH·OW) view
    y = _ops.matmul(wm, per_sample) + b[:, None]
    g3 = g.reshape(N, Cout, OH * OW)
    cols = _ops.im2col(x, k, stride, pad)  # backward recomputes the columns, as minigrad did
    per_sample = cols.reshape(cols.shape[0], N, OH * OW).transpose(1, 0, 2)
    dw = _ops.matmul(g3, per_sample.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = _ops.matmul(wm.T, g3)  # (N, C·k², OH·OW)
    dx = _ops.col2im(np.ascontiguousarray(dcols.transpose(1, 0, 2)).reshape(cols.shape), x.shape, k, stride, pad)
    return y, dx, dw, g3.sum(axis=(0, 2))


def _on_threads(step, n):
    """``step`` run with minigrad's kernels and torch on n threads, then back to one."""
    import minigrad
    torch = harness.optional_torch()

    def call():
        minigrad.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)
        try:
            step()
        finally:
            minigrad.set_num_threads(1)
            if torch is not None:
                torch.set_num_threads(1)
    return call


def run(quick=False):
    rng = np.random.default_rng(0)
    rows = []
    for name, N, Cin, H, W, Cout, k, s, p in CONV_CASES:
        (x, w, b, g), cands = case_candidates(rng, N, Cin, H, W, Cout, k, s, p, numpy_ref=False)
        ladder = {"1. book (numpy)": cands[BOOK],
                  "2. im2col + GEMM": lambda: im2col_step(x, w, b, s, p, g),
                  "3. implicit GEMM": cands["minigrad"],
                  "4. implicit GEMM, 2 threads": _on_threads(cands["minigrad"].fn, 2)}
        if "torch" in cands:
            ladder["torch"] = cands["torch"]
            ladder["torch, 2 threads"] = _on_threads(cands["torch"], 2)
        res = harness.compare(ladder, threads=1)
        extra = {}
        for a, b_ in (("1. book (numpy)", "2. im2col + GEMM"), ("2. im2col + GEMM", "3. implicit GEMM"),
                      ("3. implicit GEMM", "4. implicit GEMM, 2 threads"), ("1. book (numpy)", "4. implicit GEMM, 2 threads")):
            r = harness.paired_ratio(res, a, b_)
            extra[f"{a[0]}→{b_[0]}"] = f"{r['median']:.2f}×" if r else ""
        rows.append(harness.row(SECTION, f"conv ({name}) {N},{Cin},{H}x{W},{Cout},k{k},s{s},p{p}", res,
                                flops=case_flops(N, Cin, H, W, Cout, k, s, p), extra=extra))
    return rows


def _print_with_steps(rows):
    harness.print_rows(rows)
    for r in rows:  # the speed-up of each step over the one before (paired medians)
        print(r["case"] + ": " + ", ".join(f"{k} {v}" for k, v in r["extra"].items()))


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv_ladder", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    harness.prepare_process()
    harness.configure(quick=args.quick)
    _print_with_steps(run(args.quick))


if __name__ == "__main__":
    main()

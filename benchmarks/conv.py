"""Conv2d and max_pool2d forward + backward: minigrad (compiled kernels) vs torch vs minigrad on its
numpy reference kernels (``numpy-ref``) vs the book's numpy conv (``book (numpy)``), float32,
2 threads, timed by :func:`benchmarks.harness.compare`.

    python -m benchmarks.conv [--quick]

One call = forward and backward to x, W and b (dx only for pooling) through each framework's
autograd, with a fixed upstream gradient. Cases (N, Cin, H×W, Cout, k, stride, pad) are those of
PERFORMANCE.md; the pooling row is the 2×2 max-pool after case (a).

``book (numpy)`` is the Convolution layer of "Deep Learning from Scratch" (ch. 7) as
:mod:`benchmarks.book_conv` reproduces it: loop-based im2col/col2im into float64 buffers (the book's
silent upcast of float32 input), numpy GEMMs on the same BLAS threads as the other candidates. It is
timed interleaved with the others in the same ``compare`` call; ``numpy-ref / minigrad`` and
``book / minigrad`` are paired median ratios (above 1: minigrad is faster). A call of the book's layer
(~40–150 ms on these cases on Zen 3) outlasts a block's ``target``, so compare() gives it one call per block
and it adds a few calls per case to the section's run time, in QUICK mode too.
"""

import numpy as np

from . import book_conv, harness

SECTION = "conv"
THREADS = 2
# (name, N, Cin, H, W, Cout, k, stride, pad)
CONV_CASES = [
    ("a", 100, 1, 28, 28, 30, 5, 1, 0),
    ("b", 64, 32, 14, 14, 64, 3, 1, 1),
    ("c", 128, 3, 32, 32, 32, 3, 1, 1),
]
POOL_SHAPE = (100, 30, 24, 24)
BOOK = "book (numpy)"


def case_arrays(rng, N, Cin, H, W, Cout, k, s, p):
    """One conv case's float32 arrays (x, W, b) and its upstream gradient g (N, Cout, OH, OW)."""
    x = rng.standard_normal((N, Cin, H, W), dtype=np.float32)
    w = (rng.standard_normal((Cout, Cin, k, k), dtype=np.float32) / np.sqrt(Cin * k * k)).astype(np.float32)
    b = rng.standard_normal(Cout, dtype=np.float32)
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    return (x, w, b), rng.standard_normal((N, Cout, OH, OW), dtype=np.float32)


def case_flops(N, Cin, H, W, Cout, k, s, p):
    """Flops of one forward + backward of a conv case: the forward and the two backward products
    (dx, dW), each 2·N·Cout·OH·OW·Cin·k²."""
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    return 3 * 2.0 * N * Cout * OH * OW * Cin * k * k


def case_candidates(rng, N, Cin, H, W, Cout, k, s, p, numpy_ref=True):
    """One conv case: its float32 arrays (x, W, b, upstream gradient g) and its
    forward + backward candidates (minigrad, numpy-ref unless numpy_ref=False, torch, the book)."""
    import minigrad.nn.functional as F

    (x, w, b), g = case_arrays(rng, N, Cin, H, W, Cout, k, s, p)
    cands = harness.step_candidates(
        lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=p),
        lambda torch: lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=s, padding=p), (x, w, b), g,
        numpy_ref=numpy_ref)
    cands[BOOK] = lambda: book_conv.conv_step(x, w, b, s, p, g)
    return (x, w, b, g), cands


def run(quick=False):
    import minigrad.nn.functional as F

    rng = np.random.default_rng(0)
    rows = []
    for name, N, Cin, H, W, Cout, k, s, p in CONV_CASES:
        _, cands = case_candidates(rng, N, Cin, H, W, Cout, k, s, p)
        res = harness.compare(cands, threads=THREADS)
        extra = {**harness.speedup_extra(res), **harness.speedup_extra(res, BOOK, "book / minigrad")}
        rows.append(harness.row(SECTION, f"conv ({name}) {N},{Cin},{H}x{W},{Cout},k{k},s{s},p{p}", res,
                                flops=case_flops(N, Cin, H, W, Cout, k, s, p), extra=extra))
    x = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    g = rng.standard_normal((*POOL_SHAPE[:2], POOL_SHAPE[2] // 2, POOL_SHAPE[3] // 2), dtype=np.float32)
    cands = harness.step_candidates(lambda x: F.max_pool2d(x, 2),
                                    lambda torch: lambda x: torch.nn.functional.max_pool2d(x, 2), (x,), g)
    res = harness.compare(cands, threads=THREADS)
    rows.append(harness.row(SECTION, "max_pool2d 2x2 on (a): {},{},{}x{}".format(*POOL_SHAPE), res,
                            extra=harness.speedup_extra(res)))
    return rows


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.conv", __doc__, argv)

if __name__ == "__main__":
    main()

"""Elementwise activations on the compiled kernels, forward + backward: minigrad vs torch vs minigrad
on its numpy reference kernels (``numpy-ref``), timed by :func:`benchmarks.harness.compare`.

    python -m benchmarks.elementwise [--quick]

One call = ``F.<op>(x)`` and its backward to x through each framework's autograd, with a fixed
upstream gradient. Sigmoid and tanh (whose exp the kernels compute themselves, ``_ops/vecmath.pxi``):
2¹⁷ values (512 KB of float32, the size at which a second thread starts to pay) and 2²⁰, float32 and
float64, on 1 and 2 threads. GELU and ReLU: float32 on 2 threads, 2¹⁷ values and 256×1024 (1 MB);
GELU also in float64.
QUICK: sigmoid and tanh, float32, 2¹⁷, 1 and 2 threads.
"""
import numpy as np

from . import harness

SECTION = "elementwise"
# (ops, shapes, dtypes, thread counts) of the rows; the first is the QUICK set
GRID = [(("sigmoid", "tanh"), [(1 << 17,)], (np.float32,), (1, 2)),
        (("sigmoid", "tanh"), [(1 << 20,)], (np.float32,), (1, 2)),
        (("sigmoid", "tanh"), [(1 << 17,), (1 << 20,)], (np.float64,), (1, 2)),
        (("gelu", "relu"), [(1 << 17,), (256, 1024)], (np.float32,), (2,)),
        (("gelu",), [(1 << 17,), (256, 1024)], (np.float64,), (2,))]


def run(quick=False):
    import minigrad

    rng = np.random.default_rng(0)
    rows = []
    for ops, shapes, dtypes, thread_counts in GRID[:1] if quick else GRID:
        for op in ops:
            for dtype in dtypes:
                for shape in shapes:
                    x = rng.standard_normal(shape, dtype=dtype)
                    g = rng.standard_normal(shape, dtype=dtype)
                    cands = harness.step_candidates(getattr(minigrad.nn.functional, op),
                                                    lambda torch: getattr(torch.nn.functional, op), (x,), g)
                    for threads in thread_counts:
                        res = harness.compare(cands, threads=threads)
                        case = f"{op} {'×'.join(map(str, shape))} {np.dtype(dtype).name}"
                        rows.append(harness.row(SECTION, case, res, extra=harness.speedup_extra(res)))
    return rows


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.elementwise", __doc__, argv)


if __name__ == "__main__":
    main()

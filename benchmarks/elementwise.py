"""Elementwise activations on the compiled kernels, forward + backward: minigrad vs torch vs minigrad
on its numpy reference kernels (``numpy-ref``), float32, 2 threads, timed by
:func:`benchmarks.harness.compare`.

    python -m benchmarks.elementwise [--quick]

One call = ``F.<op>(x)`` and its backward to x through each framework's autograd, with a fixed
upstream gradient. 2¹⁷ values (512 KB, above the kernels' PARALLEL_MIN, so both threads work) and
256×1024 (1 MB).
"""
import numpy as np

from . import harness

SECTION = "elementwise"
THREADS = 2
OPS = ("sigmoid", "tanh", "gelu", "relu")
SHAPES = [(1 << 17,), (256, 1024)]


def run(quick=False):
    import minigrad

    rng = np.random.default_rng(0)
    rows = []
    for op in OPS[:2] if quick else OPS:
        for shape in SHAPES[:1] if quick else SHAPES:
            x = rng.standard_normal(shape, dtype=np.float32)
            g = rng.standard_normal(shape, dtype=np.float32)
            cands = harness.step_candidates(getattr(minigrad.nn.functional, op),
                                            lambda torch: getattr(torch.nn.functional, op), (x,), g)
            res = harness.compare(cands, threads=THREADS)
            rows.append(harness.row(SECTION, f"{op} {'×'.join(map(str, shape))}", res,
                                    extra=harness.speedup_extra(res)))
    return rows


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.elementwise", __doc__, argv)


if __name__ == "__main__":
    main()

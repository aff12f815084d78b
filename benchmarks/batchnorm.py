"""BatchNorm forward + backward in training mode: minigrad (compiled kernels) vs torch vs minigrad on
its numpy reference kernels (``numpy-ref``), float32, 2 threads, timed by
:func:`benchmarks.harness.compare`.

    python -m benchmarks.batchnorm [--quick]

One call = module forward in training mode (batch statistics, running-statistics update) and
backward to x, γ and β through each framework's autograd, with a fixed upstream gradient.

DRAM traffic bound: an ideal fused fwd+bwd moves 5 × the tensor's bytes — the forward reads x and
writes y, the backward reads grad_out and x and writes grad_x (per-channel vectors are negligible) —
so bound = 5·N·C·H·W·4 bytes / copy bandwidth, the bandwidth being the 256 MB copy probe of this run
(read + write counted, as here). ``× bound`` = measured time / bound; ``GB/s`` = those 5 tensors'
bytes / minigrad's time. A tensor that fits in the caches (N=100, D=100: 40 KB) can beat the bound.
"""

import numpy as np

from . import harness

SECTION = "bn"
THREADS = 2
CASES = [(100, 100), (256, 1024), (64, 64, 14, 14), (128, 32, 32, 32)]


def traffic_bytes(shape, itemsize=4):
    """Bytes an ideal fwd+bwd moves: x, y, grad_out, x again, grad_x."""
    return 5 * int(np.prod(shape)) * itemsize


def case_name(shape):
    return ("N={},D={}" if len(shape) == 2 else "N={},C={},{}x{}").format(*shape)


def run(quick=False):
    import minigrad

    rng = np.random.default_rng(0)
    gbs = harness.copy_bandwidth()
    rows = []
    for shape in CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        g = rng.standard_normal(shape, dtype=np.float32)
        kind = "BatchNorm1d" if len(shape) == 2 else "BatchNorm2d"
        cands = harness.step_candidates(getattr(minigrad.nn, kind)(shape[1]),
                                        lambda torch: getattr(torch.nn, kind)(shape[1]), (x,), g)
        res = harness.compare(cands, threads=THREADS)
        nbytes = traffic_bytes(shape)
        bound = nbytes / (gbs * 1e9)
        mg = res["candidates"].get("minigrad", {}).get("median")
        extra = {**harness.speedup_extra(res), "DRAM bound": harness.fmt_time(bound),
                 "minigrad / bound": f"{mg / bound:.2f}×" if mg else ""}
        rows.append(harness.row(SECTION, case_name(shape), res, bytes=nbytes, copy_gbs=gbs, bound_s=bound,
                                extra=extra))
    return rows


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.batchnorm", __doc__, argv)

if __name__ == "__main__":
    main()

"""BatchNorm forward + backward in training mode: minigrad (compiled kernels) vs PyTorch vs minigrad on
the numpy reference kernels, float32, interleaved in one process.

    python -m benchmarks.batchnorm [--quick] [--threads 2]

One step = module forward in training mode (batch statistics, running-statistics update) and
backward to x, γ and β, through each framework's autograd. Candidates rotate every repetition with a
pause between them (BLAS pools spin after a call). Reported: the median per candidate, minigrad/torch,
and the effective bandwidth against the DRAM traffic bound 5 × tensor bytes (read x and write y in
the forward; read grad_out and x, write grad_x in the backward) at the copy bandwidth measured here.
"""
import argparse
import time

import numpy as np

import minigrad
from minigrad import _ops, nn

CASES = [(100, 100), (256, 1024), (64, 64, 14, 14), (128, 32, 32, 32)]
PAUSE = 0.25  # s


def _copy_bandwidth(nbytes=256 << 20, reps=5):
    """Bytes/s of np.copyto on a 256 MB array (read + write counted), best of ``reps``."""
    a = np.ones(nbytes // 4, np.float32)
    b = np.empty_like(a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(reps))
    return 2 * a.nbytes / best


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _minigrad_step(x, g):
    bn = (nn.BatchNorm1d if x.ndim == 2 else nn.BatchNorm2d)(x.shape[1])
    X, G = minigrad.Tensor(x, requires_grad=True), minigrad.Tensor(g)

    def step():
        X.grad = bn.weight.grad = bn.bias.grad = None
        bn(X).backward(G)
    return step


def _torch_step(torch, x, g):
    bn = (torch.nn.BatchNorm1d if x.ndim == 2 else torch.nn.BatchNorm2d)(x.shape[1])
    X, G = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step():
        X.grad = bn.weight.grad = bn.bias.grad = None
        bn(X).backward(G)
    return step


def _numpy_backend(step):
    def run():
        with _ops.use_backend("numpy"):
            step()
    return run


def _interleaved(candidates, reps, inner):
    """Median seconds per call of each candidate; candidates rotate every repetition."""
    times = {name: [] for name in candidates}
    names = list(candidates)
    for name in names:
        candidates[name]()
    for r in range(reps):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(PAUSE)
            for _ in range(inner):
                times[name].append(_timed(candidates[name]))
    return {name: float(np.median(t)) for name, t in times.items()}


def run(quick=False, threads=2):
    """Rows of {case, minigrad_us, torch_us, numpy_us, ratio_torch, gbps, bound_us, x_bound}."""
    import torch
    from threadpoolctl import threadpool_limits

    reps = 7 if quick else 11
    minigrad.set_num_threads(threads)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    with threadpool_limits(limits=threads):
        bandwidth = _copy_bandwidth()
        for shape in CASES:
            x = rng.standard_normal(shape, dtype=np.float32)
            g = rng.standard_normal(shape, dtype=np.float32)
            inner = max(1, int(2e5 // x.size)) if x.size < 2e5 else 1
            mg = _minigrad_step(x, g)
            t = _interleaved({"minigrad": mg, "torch": _torch_step(torch, x, g), "numpy": _numpy_backend(mg)},
                             reps, inner)
            traffic = 5 * x.nbytes
            rows.append({
                "case": ("N={},D={}" if len(shape) == 2 else "N={},C={},{}x{}").format(*shape),
                "threads": threads,
                "minigrad_us": 1e6 * t["minigrad"],
                "torch_us": 1e6 * t["torch"],
                "numpy_us": 1e6 * t["numpy"],
                "ratio_torch": t["minigrad"] / t["torch"],
                "gbps": traffic / t["minigrad"] / 1e9,
                "bound_us": 1e6 * traffic / bandwidth,
                "x_bound": t["minigrad"] / (traffic / bandwidth),
                "copy_gbps": bandwidth / 1e9,
            })
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = run(args.quick, args.threads)
    from minigrad._ops import batchnorm
    print(f"BatchNorm fwd+bwd (train), float32, {args.threads} threads, median; kernels: "
          f"{_ops.get_backend()} ({batchnorm.active_build}); copy bandwidth {rows[0]['copy_gbps']:.1f} GB/s")
    print(f"{'case':<20} {'minigrad us':>11} {'torch us':>9} {'numpy us':>9} {'/torch':>7} "
          f"{'GB/s':>6} {'bound us':>9} {'x bound':>8}")
    for r in rows:
        print(f"{r['case']:<20} {r['minigrad_us']:>11.0f} {r['torch_us']:>9.0f} {r['numpy_us']:>9.0f} "
              f"{r['ratio_torch']:>7.2f} {r['gbps']:>6.1f} {r['bound_us']:>9.0f} {r['x_bound']:>8.2f}")


if __name__ == "__main__":
    main()

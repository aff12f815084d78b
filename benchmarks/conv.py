"""Conv2d and max_pool2d forward + backward: minigrad (compiled) vs PyTorch vs minigrad on the numpy
reference kernels, float32, interleaved in one process.

    python -m benchmarks.conv [--quick] [--threads 2]

Each repetition times one forward + backward (dx, dW, db) per candidate, in rotating order, with a
pause between candidates so that a BLAS pool still spinning from the previous one does not steal the
cores. Thread pools are set explicitly: minigrad's kernels, the BLAS under numpy (threadpoolctl) and
torch. Reported: the median per candidate and the ratios that the acceptance criteria use.
"""
import argparse
import time

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import _ops

# (name, N, Cin, H, W, Cout, k, stride, pad)
CONV_CASES = [
    ("a", 100, 1, 28, 28, 30, 5, 1, 0),
    ("b", 64, 32, 14, 14, 64, 3, 1, 1),
    ("c", 128, 3, 32, 32, 32, 3, 1, 1),
]
PAUSE = 0.25  # s; OpenBLAS workers spin ~0.1 s after a call


def _minigrad_conv(x, w, b, g, stride, pad):
    X = minigrad.Tensor(x, requires_grad=True)
    W = minigrad.Tensor(w, requires_grad=True)
    B = minigrad.Tensor(b, requires_grad=True)
    G = minigrad.Tensor(g)

    def step():
        X.grad = W.grad = B.grad = None
        F.conv2d(X, W, B, stride=stride, padding=pad).backward(G)
    return step


def _torch_conv(torch, x, w, b, g, stride, pad):
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    G = torch.tensor(g)

    def step():
        X.grad = W.grad = B.grad = None
        torch.nn.functional.conv2d(X, W, B, stride=stride, padding=pad).backward(G)
    return step


def _minigrad_pool(x, g):
    X, G = minigrad.Tensor(x, requires_grad=True), minigrad.Tensor(g)

    def step():
        X.grad = None
        F.max_pool2d(X, 2).backward(G)
    return step


def _torch_pool(torch, x, g):
    X, G = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step():
        X.grad = None
        torch.nn.functional.max_pool2d(X, 2).backward(G)
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
    for name in names:  # warm-up: first-call allocations, thread start-up
        candidates[name]()
    for r in range(reps):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(PAUSE)
            for _ in range(inner):
                t0 = time.perf_counter()
                candidates[name]()
                times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def run(quick=False, threads=2):
    """Rows of {case, minigrad_ms, torch_ms, numpy_ms, ratio_torch, speedup_numpy}."""
    import torch
    from threadpoolctl import threadpool_limits

    reps, inner = (7, 1) if quick else (9, 3)
    minigrad.set_num_threads(threads)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    with threadpool_limits(limits=threads):
        for name, N, Cin, H, W, Cout, k, s, p in CONV_CASES:
            x = rng.standard_normal((N, Cin, H, W), dtype=np.float32)
            w = (rng.standard_normal((Cout, Cin, k, k), dtype=np.float32) / np.sqrt(Cin * k * k)).astype(np.float32)
            b = rng.standard_normal(Cout, dtype=np.float32)
            OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
            g = rng.standard_normal((N, Cout, OH, OW), dtype=np.float32)
            mg = _minigrad_conv(x, w, b, g, s, p)
            cands = {"minigrad": mg, "torch": _torch_conv(torch, x, w, b, g, s, p), "numpy": _numpy_backend(mg)}
            t = _interleaved(cands, reps, inner)
            rows.append(_row(f"conv ({name}) {N},{Cin},{H}x{W},{Cout},k{k},s{s},p{p}", t))
        # max_pool2d 2×2 on the output of case (a)
        x = rng.standard_normal((100, 30, 24, 24), dtype=np.float32)
        g = rng.standard_normal((100, 30, 12, 12), dtype=np.float32)
        mp = _minigrad_pool(x, g)
        t = _interleaved({"minigrad": mp, "torch": _torch_pool(torch, x, g), "numpy": _numpy_backend(mp)},
                         reps, inner * 3)
        rows.append(_row("max_pool2d 2x2 on (a): 100,30,24x24", t))
    return rows


def _row(case, t):
    return {
        "case": case,
        "minigrad_ms": 1e3 * t["minigrad"],
        "torch_ms": 1e3 * t["torch"],
        "numpy_ms": 1e3 * t["numpy"],
        "ratio_torch": t["minigrad"] / t["torch"],
        "speedup_numpy": t["numpy"] / t["minigrad"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = run(args.quick, args.threads)
    print(f"float32, fwd+bwd, {args.threads} threads, median; kernels: {_ops.get_backend()}, "
          f"GEMM: {'compiled' if 'gemm' in _ops._compiled else 'numpy (OpenBLAS)'}")
    print(f"{'case':<42} {'minigrad ms':>11} {'torch ms':>9} {'numpy ms':>9} {'/torch':>7} {'numpy/':>7}")
    for r in rows:
        print(f"{r['case']:<42} {r['minigrad_ms']:>11.2f} {r['torch_ms']:>9.2f} {r['numpy_ms']:>9.2f} "
              f"{r['ratio_torch']:>7.2f} {r['speedup_numpy']:>7.1f}")


if __name__ == "__main__":
    main()

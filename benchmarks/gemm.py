"""GEMM benchmark: minigrad's compiled kernel vs numpy (OpenBLAS) and torch, interleaved in one run.

    python -m benchmarks.gemm [--quick]

Each case runs the three libraries in alternating timed blocks (numpy, minigrad, torch, repeated
``rounds`` times) with the same thread count for all: minigrad.set_num_threads, threadpoolctl for
numpy's BLAS pool, torch.set_num_threads. Blocks are separated by a 0.25 s sleep because
OpenBLAS worker threads keep spinning for ~0.1 s after a call and would steal a core from whoever
runs next. A block's time is the median of its calls; a figure is the median over rounds, and the
ratio is the median of the per-round ratios (paired, so slow phases of a shared host cancel).
On a host shared with other work, the ratio of the best blocks ("best" columns) is the steadier
figure: contention only ever adds time.

``run(quick)`` returns one dict per (case, threads) for the ``make bench`` harness.
"""
import argparse
import importlib
import platform
import time

import numpy as np

import minigrad._ops as ops

PAUSE = 0.25  # s between timed blocks (OpenBLAS spin-wait)
BLOCK = 0.05  # s of calls per timed block

# (label, dtype, M, K, N, how A and B are laid out)
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
QUICK_SKIP = {"2048^3"}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _operands(dtype, M, K, N, layout, rng):
    """A (M, K), B (K, N) as numpy arrays, transposed views where the layout says 't'."""
    a = rng.standard_normal((K, M) if layout[0] == "t" else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if layout[1] == "t" else (K, N)).astype(dtype)
    return (a.T if layout[0] == "t" else a), (b.T if layout[1] == "t" else b)


def _block(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _time_interleaved(fns, rounds):
    """{name: [block median per round]} for the callables in fns, run in alternating blocks."""
    reps = {}
    for name, fn in fns.items():
        fn()  # warm up (allocations, thread pools, packing buffers)
        t0 = time.perf_counter()
        fn()
        reps[name] = max(3, int(BLOCK / max(time.perf_counter() - t0, 1e-7)))
    out = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(PAUSE)
            out[name].append(_block(fn, reps[name]))
    return out


def run(quick=False):
    """Benchmark every case at 1 and 2 threads; one result dict per (case, threads)."""
    from threadpoolctl import threadpool_limits
    try:
        import torch
    except ImportError:
        torch = None
    isa = importlib.import_module("minigrad._ops.gemm").active_isa()
    rounds = 3 if quick else 7
    rng = np.random.default_rng(0)
    results = []
    saved_threads = ops.get_num_threads()
    for threads in (1, 2):
        ops.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"), ops.use_backend("compiled"):
            for label, dtype, M, K, N, layout in CASES:
                if quick and label in QUICK_SKIP:
                    continue
                a, b = _operands(dtype, M, K, N, layout, rng)
                fns = {"numpy": lambda: a @ b, "minigrad": lambda: ops.gemm(a, b)}
                if torch is not None:
                    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
                    fns["torch"] = lambda: torch.mm(ta, tb)
                times = _time_interleaved(fns, rounds)
                flops = 2.0 * M * K * N
                row = {"bench": "gemm", "case": label, "dtype": np.dtype(dtype).name,
                       "M": M, "K": K, "N": N, "threads": threads, "isa": isa, "cpu": cpu_name()}
                for name, ts in times.items():
                    row[f"{name}_gflops"] = flops / np.median(ts) / 1e9
                    row[f"{name}_gflops_best"] = flops / np.min(ts) / 1e9
                for name in ("numpy", "torch"):
                    if name in times:
                        row[f"ratio_{name}"] = float(np.median(
                            [t_ref / t_ours for t_ref, t_ours in zip(times[name], times["minigrad"])]))
                        row[f"ratio_{name}_best"] = float(np.min(times[name]) / np.min(times["minigrad"]))
                results.append(row)
    ops.set_num_threads(saved_threads)
    return results


def format_table(results):
    head = f"{'case':20s} {'dtype':7s} {'thr':>3s} {'minigrad':>8s} {'numpy':>7s} {'torch':>7s} " \
           f"{'x numpy':>7s} {'x torch':>7s} {'best x numpy':>12s} {'best x torch':>12s}"
    lines = [head, "-" * len(head)]
    nan = float("nan")
    for r in results:
        lines.append(
            f"{r['case']:20s} {r['dtype']:7s} {r['threads']:3d} {r['minigrad_gflops']:8.1f} "
            f"{r['numpy_gflops']:7.1f} {r.get('torch_gflops', nan):7.1f} "
            f"{r['ratio_numpy']:7.2f} {r.get('ratio_torch', nan):7.2f} "
            f"{r['ratio_numpy_best']:12.2f} {r.get('ratio_torch_best', nan):12.2f}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, no 2048^3")
    args = parser.parse_args()
    results = run(args.quick)
    print(f"GEMM, GFLOP/s (median of {3 if args.quick else 7} interleaved rounds); CPU: {cpu_name()}; "
          f"minigrad path: {results[0]['isa']}")
    print(format_table(results))


if __name__ == "__main__":
    main()

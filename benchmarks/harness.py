"""The timing method every benchmark module shares, the machine's sanity probes, and the report.

Method (the machines are shared and noisy, so only ratios measured in the same run are compared):

- ``compare({"minigrad": f, "torch": g, ...})`` times the candidates *interleaved in one process*:
  each repetition runs one timed block per candidate, in an order rotated every repetition, so slow
  drifts of the machine hit every candidate alike.
- Each candidate is warmed up first, then a block calls it ``number`` times, ``number`` calibrated so a
  block lasts about ``target`` seconds (tiny ops are timed over hundreds of calls, a training step
  over one or a few). The figure is seconds per call.
- Before every block the process sleeps ``gap`` seconds (0.25 s; 0.15 s in QUICK): OpenBLAS's
  workers busy-wait ~0.1 s after a call, and whichever candidate runs next would otherwise share the
  cores with them.
- Thread counts are explicit and the same for every candidate of a comparison: minigrad's kernels
  (``minigrad.set_num_threads``), numpy's BLAS (threadpoolctl) and torch (``torch.set_num_threads``).
- Statistics: median, quartiles, min and max of the per-call time over the repetitions, and the ratio
  of each candidate to the baseline (torch) *paired by repetition* (both timed within the same
  rotation), summarized by its median and quartiles.
- Process settings (:func:`steady_allocator`, applied by ``python -m benchmarks`` before numpy, torch
  or minigrad load): freed buffers stay in the heap instead of going back to the OS and being
  page-faulted in again. The OpenMP wait policy is the caller's (see :data:`OMP_WAIT_ENV`).

A row (what a benchmark module's ``run(quick)`` returns a list of) is a dict made by :func:`row` or
:func:`skipped` (a dict in any other format is shown as given, in a generic table); the report is
written by :func:`write_report`.
"""
import contextlib
import ctypes
import datetime
import functools
import gc
import json
import math
import mmap
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

# Defaults of compare(); ``configure(quick=True)`` shrinks them for `make bench QUICK=1`.
FULL_DEFAULTS = {"reps": 7, "warmup": 2, "gap": 0.25, "target": 0.05}
DEFAULTS = dict(FULL_DEFAULTS)
# QUICK (a smoke run, ≤ 2 minutes in all): a shorter gap, still longer than OpenBLAS's ~0.1 s spin.
QUICK_DEFAULTS = {"reps": 3, "warmup": 1, "gap": 0.15, "target": 0.02}
BASELINE = "torch"

# OpenMP waiting is left as the caller's environment has it (recorded with the run; libgomp reads it
# once, when it loads). Unset is libgomp's default and what users of either framework get: an idle
# worker spins ~300 000 times (well under a millisecond on an idle core) before sleeping, so the next
# parallel region starts at once. On a host whose cores are shared with other jobs a spinning worker
# takes the core its partner thread needs (torch's MLP step once took 35 ms on 2 threads against
# 2.4 ms on 1): run `OMP_WAIT_POLICY=PASSIVE make bench` there. PASSIVE costs a wake-up per parallel
# region: on the idle AMD EPYC minigrad's 2-thread GEMM at 100×784×100 took 1.4–1.7× numpy's time
# with it against 1.02–1.06× without, and a full run under it showed 2-thread GEMM rows that did not
# scale. OpenBLAS's own pthread pool ignores the variable; the gap between blocks outlasts its spin.
OMP_WAIT_ENV = "OMP_WAIT_POLICY"
# glibc malloc: mmap threshold and trim threshold (mallopt parameters M_MMAP_THRESHOLD = -3,
# M_TRIM_THRESHOLD = -1), 1 GiB each, so a freed output buffer is reused by the next call.
_MALLOC_LIMIT = 1 << 30


def prepare_process():
    """Apply :func:`steady_allocator` and return the process settings in effect, recorded with the
    run: the OpenMP wait policy as the caller set it ("unset": libgomp's default) and the allocator."""
    return {OMP_WAIT_ENV: os.environ.get(OMP_WAIT_ENV, "unset"), "steady_allocator": steady_allocator()}


def steady_allocator():
    """Keep freed memory in glibc's heap (True if set). By default glibc serves a multi-MB array
    with mmap, or trims the heap top when it is freed, so the next call's output buffer of the same
    size is page-faulted in again: a BatchNorm fwd+bwd on 64×64×14×14 took ~1 500 faults (one per
    4 KB of y and grad_x) and ran 5–10× slower than its arithmetic, in every framework alike. A
    training loop that keeps allocating the same sizes stays in that steady state after its first
    step; this setting gives the benchmark that state from the first timed block."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, _MALLOC_LIMIT)) and bool(libc.mallopt(-1, _MALLOC_LIMIT))
    except (OSError, AttributeError):  # not glibc
        return False


def configure(quick=False):
    """Set compare()'s default repetitions/warm-up/block length for a full or a QUICK run."""
    DEFAULTS.update(QUICK_DEFAULTS if quick else FULL_DEFAULTS)


# ---------------------------------------------------------------- thread control

def _torch():
    """torch if installed (the `bench` extra), else None: a torch-less run still times the rest."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def thread_settings():
    """The thread counts in effect right now, per library (recorded with every comparison)."""
    import minigrad
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    torch = _torch()
    return {
        "minigrad": minigrad.get_num_threads(),
        "numpy_blas": blas[0] if blas else None,
        "torch": torch.get_num_threads() if torch is not None else None,
    }


@contextlib.contextmanager
def use_threads(n):
    """Run the block with ``n`` threads for minigrad's kernels, numpy's BLAS and torch alike."""
    import minigrad
    from threadpoolctl import threadpool_limits

    torch = _torch()
    saved = minigrad.get_num_threads(), torch.get_num_threads() if torch is not None else None
    minigrad.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        minigrad.set_num_threads(saved[0])
        if torch is not None:
            torch.set_num_threads(saved[1])


# ---------------------------------------------------------------- timing

class Candidate:
    """A function to time, optionally inside a context entered once per timed block (not per call),
    e.g. ``Candidate(step, context=lambda: minigrad._ops.use_backend("numpy"))``."""

    def __init__(self, fn, context=None):
        self.fn = fn
        self.context = context or contextlib.nullcontext


def _block(cand, number):
    """Seconds per call of ``number`` back-to-back calls."""
    fn = cand.fn
    with cand.context():
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number


def _summary(values):
    v = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3),
            "min": float(v.min()), "max": float(v.max())}


def compare(candidates, reps=None, warmup=None, threads=2, gap=None, target=None, baseline=BASELINE):
    """Time ``candidates`` (name → callable or :class:`Candidate`) interleaved; see the module doc.

    Returns ``{"threads", "reps", "warmup", "gap", "order", "settings", "baseline", "candidates",
    "ratios"}`` where ``candidates[name]`` holds ``median, q1, q3, min, max`` (seconds per call),
    ``number`` (calls per block) and ``times`` (every repetition), or ``error`` if the candidate
    raised; ``ratios[name]`` summarizes time(name) / time(baseline) paired by repetition.
    """
    reps = DEFAULTS["reps"] if reps is None else reps
    warmup = DEFAULTS["warmup"] if warmup is None else warmup
    gap = DEFAULTS["gap"] if gap is None else gap
    target = DEFAULTS["target"] if target is None else target
    cands = {k: v if isinstance(v, Candidate) else Candidate(v) for k, v in candidates.items()}
    out = {"threads": threads, "reps": reps, "warmup": warmup, "gap": gap, "baseline": baseline,
           "candidates": {}, "order": [], "ratios": {}}
    with use_threads(threads):
        out["settings"] = thread_settings()
        numbers = {}
        for name, cand in cands.items():
            try:
                # warm-up, then calibration: calls per block so a block lasts ~target. The fastest
                # of these calls is used, so one call slowed by a neighbour does not shrink the block.
                once = min(_block(cand, 1) for _ in range(warmup + 1))
                numbers[name] = max(1, min(100_000, math.ceil(target / max(once, 1e-9))))
            except Exception as e:  # a broken candidate is reported, the others still timed
                out["candidates"][name] = {"error": f"{type(e).__name__}: {e}"}
        names = list(numbers)
        times = {name: [] for name in names}
        for r in range(reps):
            order = names[r % len(names):] + names[:r % len(names)] if names else []
            out["order"].append(order)
            for name in order:
                gc.collect()
                time.sleep(gap)
                times[name].append(_block(cands[name], numbers[name]))
    for name in names:
        out["candidates"][name] = {**_summary(times[name]), "number": numbers[name],
                                   "times": times[name]}
    if baseline in times:
        out["ratios"] = {name: paired_ratio(out, name, baseline) for name in names if name != baseline}
    return out


def paired_ratio(result, a, b):
    """Summary of time(a) / time(b) over the repetitions of one compare() result, or None."""
    ta, tb = (result["candidates"].get(n, {}).get("times") for n in (a, b))
    return _summary([x / y for x, y in zip(ta, tb)]) if ta and tb else None


# ---------------------------------------------------------------- framework steps

def fwd_bwd(mod, fn, arrays, grad):
    """forward + backward of ``fn(*tensors)`` in framework ``mod`` (minigrad or torch) on fixed inputs
    (each requiring grad) and a fixed upstream gradient; ``fn`` may be a module, whose parameter
    gradients are reset too, so every call does the same work."""
    tensors = [mod.from_numpy(a).requires_grad_() for a in arrays]
    params = list(fn.parameters()) if hasattr(fn, "parameters") else []
    g = mod.from_numpy(grad)

    def step():
        for t in tensors + params:
            t.grad = None
        fn(*tensors).backward(g)
    return step


def step_candidates(fn_minigrad, make_torch_fn, arrays, grad, numpy_ref=True):
    """``minigrad`` (compiled kernels), ``numpy-ref`` (the same step on minigrad's numpy reference
    kernels, unless numpy_ref=False) and ``torch`` (``make_torch_fn(torch)``, if torch is installed)
    candidates of :func:`fwd_bwd`."""
    import minigrad
    from minigrad import _ops

    step = fwd_bwd(minigrad, fn_minigrad, arrays, grad)
    cands = {"minigrad": Candidate(step, lambda: _ops.use_backend("compiled"))}
    if numpy_ref:
        cands["numpy-ref"] = Candidate(step, lambda: _ops.use_backend("numpy"))
    torch = _torch()
    if torch is not None:
        cands["torch"] = fwd_bwd(torch, make_torch_fn(torch), arrays, grad)
    return cands


def speedup_extra(res, slower="numpy-ref", label=None):
    """The ``<slower> / minigrad`` column (or ``label``): how much faster the compiled kernels are
    than candidate ``slower`` (paired median ratio)."""
    s = paired_ratio(res, slower, "minigrad")
    return {label or f"{slower} / minigrad": f"{s['median']:.2f}×" if s else ""}


# ---------------------------------------------------------------- rows

def row(section, case, result, **extra):
    """A table row from a :func:`compare` result; ``extra`` may carry e.g. ``flops`` or ``bytes``
    (the report then adds GFLOP/s or GB/s), ``note``, ``params``."""
    return {"section": section, "case": case, **extra, **result}


def skipped(section, case, reason):
    """A row that could not be measured, with the reason shown in the report."""
    return {"section": section, "case": case, "skipped": reason}


def not_available(exc):
    return f"not available: {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- machine info and probes

def cpu_name():
    """The CPU model as /proc/cpuinfo names it."""
    return _cpuinfo()[0]


def _cpuinfo():
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def machine_info():
    """CPU, ISA, cores, versions, thread settings and minigrad's build flags (every report has it)."""
    import minigrad
    from threadpoolctl import threadpool_info

    model, flags = _cpuinfo()
    torch = _torch()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    info = {
        "cpu": model,
        "isa": [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "amx_tile") if f in flags],
        "cores_available": cores,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability() if torch is not None else None,
        "threadpools": [{k: p.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                               "architecture", "num_threads")}
                        for p in threadpool_info()],
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                           "MINIGRAD_KERNELS", "MINIGRAD_NUM_THREADS") if k in os.environ},
        "minigrad_config": minigrad.config(),
        "loadavg_start": os.getloadavg(),
    }
    return info


# A register-bound FMA loop: 12 independent accumulators hide the 4-cycle FMA latency on 2 FMA ports.
# One function per ISA (compiled with a target attribute) and a runtime check, so the probe runs on
# the AVX2 and the AVX-512 machines alike; it returns the flops it performed.
_FMA_SOURCE = r"""
#include <immintrin.h>
/* 12 named accumulators (an array would live on the stack at -O2 and measure store forwarding),
   each with its own start value: identical chains would be merged by the compiler into one. */
#define FMA12(f, b, c) a0 = f(a0, b, c); a1 = f(a1, b, c); a2 = f(a2, b, c); a3 = f(a3, b, c); \
    a4 = f(a4, b, c); a5 = f(a5, b, c); a6 = f(a6, b, c); a7 = f(a7, b, c); a8 = f(a8, b, c); \
    a9 = f(a9, b, c); a10 = f(a10, b, c); a11 = f(a11, b, c);
#define SUM12 (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11)
__attribute__((target("avx2,fma"))) static double fma_avx2(long iters, float *sink) {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(1.f), a1 = _mm256_set1_ps(2.f), a2 = _mm256_set1_ps(3.f),
           a3 = _mm256_set1_ps(4.f), a4 = _mm256_set1_ps(5.f), a5 = _mm256_set1_ps(6.f),
           a6 = _mm256_set1_ps(7.f), a7 = _mm256_set1_ps(8.f), a8 = _mm256_set1_ps(9.f),
           a9 = _mm256_set1_ps(10.f), a10 = _mm256_set1_ps(11.f), a11 = _mm256_set1_ps(12.f);
    for (long i = 0; i < iters; i++) { FMA12(_mm256_fmadd_ps, b, c) }
    _mm256_storeu_ps(sink, SUM12);
    return 2.0 * 8 * 12 * (double)iters;
}
__attribute__((target("avx512f"))) static double fma_avx512(long iters, float *sink) {
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(1.f), a1 = _mm512_set1_ps(2.f), a2 = _mm512_set1_ps(3.f),
           a3 = _mm512_set1_ps(4.f), a4 = _mm512_set1_ps(5.f), a5 = _mm512_set1_ps(6.f),
           a6 = _mm512_set1_ps(7.f), a7 = _mm512_set1_ps(8.f), a8 = _mm512_set1_ps(9.f),
           a9 = _mm512_set1_ps(10.f), a10 = _mm512_set1_ps(11.f), a11 = _mm512_set1_ps(12.f);
    for (long i = 0; i < iters; i++) { FMA12(_mm512_fmadd_ps, b, c) }
    _mm512_storeu_ps(sink, SUM12);
    return 2.0 * 16 * 12 * (double)iters;
}
int fma_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 256;
    return 0;
}
float fma_sink[16];  /* results are stored in a global so the loops cannot be optimized away */
double fma_loop(long iters) {
    int isa = fma_isa();
    return isa == 512 ? fma_avx512(iters, fma_sink) : isa == 256 ? fma_avx2(iters, fma_sink) : 0.0;
}
"""


@functools.lru_cache(maxsize=None)
def _fma_library():
    """The probe, compiled once per process with the system C compiler, or (None, reason)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc or platform.machine().lower() not in ("x86_64", "amd64"):
        return None, "no C compiler or not x86-64"
    with tempfile.TemporaryDirectory(prefix="minigrad-fma-") as tmp:
        src, lib = os.path.join(tmp, "fma.c"), os.path.join(tmp, "fma.so")
        with open(src, "w") as f:
            f.write(_FMA_SOURCE)
        proc = subprocess.run([cc, "-O2", "-shared", "-fPIC", src, "-o", lib], capture_output=True, text=True)
        if proc.returncode != 0:
            return None, "compile failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
        dll = ctypes.CDLL(lib)  # stays mapped after the file is deleted
    dll.fma_loop.restype, dll.fma_loop.argtypes = ctypes.c_double, [ctypes.c_long]
    return dll, None


def _fma_peak(dll, nthreads, seconds):
    """GFLOP/s of ``nthreads`` concurrent FMA loops (ctypes releases the GIL during the call)."""
    iters = 1 << 16
    while True:  # calibrate on one thread: grow until a call lasts ≥ seconds/3, then scale
        elapsed = _timed(lambda: dll.fma_loop(iters))
        if elapsed > seconds / 3 or iters > 1 << 34:
            break
        iters *= 4
    iters = int(iters * seconds / elapsed)
    best = 0.0
    for _ in range(3):
        flops = [0.0] * nthreads

        def work(i):
            flops[i] = dll.fma_loop(iters)
        pool = [threading.Thread(target=work, args=(i,)) for i in range(nthreads)]
        t = time.perf_counter()
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        best = max(best, sum(flops) / (time.perf_counter() - t) / 1e9)
    return best


def probes(quick=False):
    """Sanity probes: FMA peak (1 and 2 threads), numpy SGEMM 1024³ (1 and 2 threads) and a 256 MB
    copy. Best of a few runs each, so they show what the machine can do *now*; a disturbed run shows
    up as a low figure here."""
    from threadpoolctl import threadpool_limits

    res = {}
    dll, why = _fma_library()
    if dll is None:
        res["fma_note"] = why
    else:
        res["fma_isa_bits"] = dll.fma_isa()
        for n in (1, 2):
            time.sleep(0.25)
            res[f"fma_gflops_{n}t"] = _fma_peak(dll, n, 0.05 if quick else 0.3)
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    b = a.T.copy()
    for n in (1, 2):
        with threadpool_limits(limits=n, user_api="blas"):
            time.sleep(0.25)
            a @ b
            best = min(_timed(lambda: a @ b) for _ in range(3 if quick else 7))
        res[f"numpy_sgemm1024_gflops_{n}t"] = 2 * 1024 ** 3 / best / 1e9
    res["copy_256MB_gbs"] = _copy_gbs(3 if quick else 5)
    res["loadavg"] = os.getloadavg()
    _LAST_PROBES.update(res)
    return res


_LAST_PROBES = {}


def _copy_gbs(reps):
    """GB/s of np.copyto on 256 MB (STREAM convention: bytes read + bytes written), best of reps.

    The buffers are mapped directly and advised to use huge pages, so the figure is the machine's
    DRAM bandwidth whatever the allocator does: under :func:`steady_allocator` a 256 MB numpy
    array comes from the heap on 4 KB pages, and TLB misses alone cut the copy to ~7 GB/s against
    ~22 GB/s (measured on the AMD EPYC), which would make the traffic bound meaninglessly loose."""
    nbytes = 256 * 2 ** 20
    maps = [mmap.mmap(-1, nbytes) for _ in range(2)]
    for m in maps:
        if hasattr(mmap, "MADV_HUGEPAGE"):
            m.madvise(mmap.MADV_HUGEPAGE)
    src, dst = (np.frombuffer(m, dtype=np.float32) for m in maps)
    src[:] = 1
    np.copyto(dst, src)
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(reps))
    return 2 * src.nbytes / best / 1e9


def copy_bandwidth():
    """DRAM copy bandwidth in GB/s (read + write) for traffic bounds: the run's start probe, or a
    fresh measurement when a module runs on its own."""
    if "copy_256MB_gbs" not in _LAST_PROBES:
        _LAST_PROBES["copy_256MB_gbs"] = _copy_gbs(5)
    return _LAST_PROBES["copy_256MB_gbs"]


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# ---------------------------------------------------------------- report

def _wait_policy_text(meta):
    policy = meta.get("process", {}).get(OMP_WAIT_ENV, "unset")
    if policy == "unset":
        return ("unset, libgomp's default as users get it (idle workers spin briefly, then sleep; on a "
                "host shared with other jobs run `OMP_WAIT_POLICY=PASSIVE make bench`, as spinning workers "
                "then steal the cores their partners need)")
    return f"`{policy}`, as set by the caller"


def fmt_time(seconds):
    """Format with a unit chosen by magnitude."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{seconds} s"


def module_main(run, prog, doc, argv=None):
    """``python -m benchmarks.<module> [--quick]``: one section on its own, printed (no report)."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    prepare_process()
    configure(quick=args.quick)
    print_rows(run(args.quick))


def print_rows(rows):
    """Rows on stdout, one line per candidate (for ``python -m benchmarks.<module>``)."""
    for r in rows:
        if "candidates" not in r:
            print(f"{r.get('case')}: {r.get('skipped', r)}")
            continue
        print(f"{r['case']} ({r['threads']} thread{'s' if r['threads'] != 1 else ''})")
        for name, c in r["candidates"].items():
            ratio = r["ratios"].get(name)
            print(f"    {name:12s} {_fmt_stat(c):>16s}" + (f"   {_fmt_ratio(ratio)} × {r['baseline']}" if ratio else ""))


def _fmt_stat(s):
    if "error" in s:
        return "error"
    if "q1" not in s:
        return fmt_time(s["median"])
    spread = (s["q3"] - s["q1"]) / s["median"] * 50 if s["median"] else 0.0
    return f"{fmt_time(s['median'])} ±{spread:.0f}%"


def _fmt_ratio(r):
    spread = f" ({r['q1']:.2f}–{r['q3']:.2f})" if "q1" in r else ""
    return f"**{r['median']:.2f}×**{spread}"


def _geomean(values):
    values = [v for v in values if v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def sanity_line(info, start, end=None):
    def one(p):
        parts = []
        if "fma_gflops_1t" in p:
            parts.append(f"FMA peak {p['fma_gflops_1t']:.0f} / {p['fma_gflops_2t']:.0f} GFLOP/s (1 / 2 threads,"
                         f" {p['fma_isa_bits']}-bit)")
        else:
            parts.append(f"FMA probe unavailable ({p.get('fma_note')})")
        parts.append(f"numpy SGEMM 1024³ {p['numpy_sgemm1024_gflops_1t']:.0f} / "
                     f"{p['numpy_sgemm1024_gflops_2t']:.0f} GFLOP/s")
        parts.append(f"copy 256 MB {p['copy_256MB_gbs']:.1f} GB/s (read+write)")
        parts.append(f"load avg {p['loadavg'][0]:.2f}")
        return "; ".join(parts)

    isa = ", ".join(info["isa"]) or "no AVX2"
    line = (f"**CPU:** {info['cpu']} ({isa}; {info['cores_available']} cores available) — "
            f"**start:** {one(start)}")
    if end:
        line += f" — **end:** {one(end)}"
    return line


def _section_table(rows):
    """Markdown table of rows produced by compare(): one column per candidate (median ± half the
    IQR as % of the median), then each candidate's ratio to the baseline."""
    measured = [r for r in rows if "candidates" in r]
    names = []
    for r in measured:
        names += [n for n in r["candidates"] if n not in names]
    baseline = next((r["baseline"] for r in measured if r.get("baseline") in names), None)
    others = [n for n in names if n != baseline]
    derived = [k for k in ("gflops", "gbs") if any(k in r.get("derived", {}) for r in measured)]
    extras = []
    for r in measured:
        extras += [k for k in r.get("extra", {}) if k not in extras]
    head = ["case", "threads"] + names + [f"{n} / {baseline}" for n in others if baseline] + \
        [{"gflops": "GFLOP/s (minigrad)", "gbs": "GB/s (minigrad)"}[k] for k in derived] + extras
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['case']} | | " + f"*{r['skipped']}*" + " |" * (len(head) - 2))
            continue
        if "candidates" not in r:
            continue
        cells = [r["case"], str(r["threads"])]
        cells += [_fmt_stat(r["candidates"][n]) if n in r["candidates"] else "" for n in names]
        if baseline:
            cells += [_fmt_ratio(r["ratios"][n]) if n in r.get("ratios", {}) else "" for n in others]
        for k in derived:
            v = r.get("derived", {}).get(k)
            cells.append(f"{v:.1f}" if v is not None else "")
        cells += [_fmt_cell(r.get("extra", {}).get(k, "")) for k in extras]
        lines.append("| " + " | ".join(cells) + " |")
    by_note = {}
    for r in rows:
        if r.get("note"):
            by_note.setdefault(r["note"], []).append(r["case"])
    notes = [f"- {n}" if len(cases) > 1 else f"- {cases[0]}: {n}" for n, cases in by_note.items()]
    errors = [f"- {r['case']} / {n}: {s['error']}" for r in measured for n, s in r["candidates"].items()
              if "error" in s]
    return "\n".join(lines + ([""] + notes if notes else []) + ([""] + errors if errors else []))


def _generic_table(rows):
    """Rows in a format compare() did not make: every key as a column, values as given."""
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys and not isinstance(r[k], (list, dict))]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt_cell(r.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def _fmt_cell(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def add_derived(r):
    """GFLOP/s or GB/s of the minigrad candidate when a row carries ``flops`` or ``bytes``."""
    cands = r.get("candidates", {})
    m = cands.get("minigrad", {})
    if "median" in m:
        d = r.setdefault("derived", {})
        if r.get("flops"):
            d["gflops"] = r["flops"] / m["median"] / 1e9
            d["gflops_all"] = {n: r["flops"] / s["median"] / 1e9 for n, s in cands.items() if "median" in s}
        if r.get("bytes"):
            d["gbs"] = r["bytes"] / m["median"] / 1e9
    return r


def headline(sections):
    """(label, ratio summary) of minigrad / torch: every train and overhead row, and the geometric
    mean of each kernel section's rows (the scaling section is a plot, not a headline)."""
    lines = []
    for name, sec in sections.items():
        rows = [r for r in sec.get("rows", []) if "minigrad" in r.get("ratios", {})]
        if not rows or name == "scaling":
            continue
        if name in ("train", "overhead"):
            for r in rows:
                threads = f" ({r['threads']} thread{'s' if r['threads'] != 1 else ''})" if r.get("threads") else ""
                lines.append((f"{name}: {r['case']}{threads}", r["ratios"]["minigrad"]))
        else:
            g = _geomean([r["ratios"]["minigrad"]["median"] for r in rows])
            lines.append((f"{name}: geometric mean over {len(rows)} rows", {"median": g}))
    return lines


def write_report(path_md, path_json, data, titles):
    """BENCHMARKS.md (tables) and the raw JSON. ``data`` = {"meta", "probes", "sections"};
    ``titles`` maps section name → (title, one-paragraph description)."""
    tmp = path_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(tmp, path_json)

    meta, probes_ = data["meta"], data["probes"]
    info = meta["machine"]
    cfg = info["minigrad_config"]
    out = [
        "# minigrad benchmarks",
        "",
        "Generated by `make bench` (`python -m benchmarks`); do not edit by hand. "
        f"Mode: **{'QUICK' if meta['quick'] else 'full'}**, sections: {', '.join(data['sections'])}; "
        f"run {meta['started']} UTC, {meta['duration_s']:.0f} s. Raw data: "
        f"[`{os.path.relpath(path_json, os.path.dirname(path_md))}`]"
        f"({os.path.relpath(path_json, os.path.dirname(path_md))}).",
        "",
        sanity_line(info, probes_["start"], probes_.get("end")),
        "",
        f"numpy {info['numpy']} ({_blas_name(info)}), torch {info['torch']} "
        f"(CPU capability {info['torch_cpu_capability']}), minigrad {cfg.get('minigrad')} kernels "
        f"`{cfg.get('kernels')}`, OpenMP {cfg.get('openmp')}, CPU paths {cfg.get('cpu_features')}, "
        f"build flags `{' '.join(cfg.get('build', {}).get('base_flags', []))}`, Python {info['python']}.",
        "",
        "**Method.** Every row is timed by `harness.compare`: candidates interleaved in one process, "
        "their order rotated every repetition, after warm-up; a timed block calls a candidate enough "
        "times to last ~" + f"{DEFAULTS['target'] * 1e3:.0f} ms, and each figure is the median time per call over the "
        f"repetitions ({DEFAULTS['reps']} here), ± half the interquartile range as % of the median; every "
        "repetition is in the JSON. `X / torch` is the median over repetitions of time(X) / time(torch) "
        "measured in the same rotation (quartiles in parentheses): **below 1 means faster than torch**. "
        "Threads are set explicitly, and restored after each row, for minigrad, numpy's BLAS "
        "(threadpoolctl) and torch alike (the `threads` column). Process settings, the same for every "
        f"candidate: `OMP_WAIT_POLICY` {_wait_policy_text(meta)}; glibc's mmap and trim thresholds raised "
        "to 1 GiB, so a freed output buffer is reused by the next call instead of being returned to the "
        "OS and page-faulted in again (that cost ~1 fault per 4 KB of output per call and made BatchNorm "
        "5–10× slower than its arithmetic in both frameworks). The process sleeps "
        f"{DEFAULTS['gap']} s before each timed block so OpenBLAS's workers (which spin ~0.1 s after a "
        "call) are idle. Absolute times drift between runs on these shared machines; only ratios within "
        "one run are comparable. `numpy-ref` is minigrad running its numpy reference kernels "
        "(`use_backend('numpy')`).",
        "",
        "## Headline: minigrad / torch (same run)",
        "",
        "| figure | minigrad / torch |",
        "|---|---|",
    ]
    for label, r in headline(data["sections"]):
        spread = f" ({r['q1']:.2f}–{r['q3']:.2f})" if "q1" in r else ""
        out.append(f"| {label} | **{r['median']:.2f}×**{spread} |")
    speedups = [r for sec in data["sections"].values() for r in sec.get("rows", []) if r.get("compiled_speedup")]
    if speedups:
        out += ["", "Compiled kernels against minigrad's own numpy reference kernels (numpy-ref / minigrad, "
                "same run; above 1 means the compiled kernels are faster):", "",
                "| figure | numpy-ref / minigrad |", "|---|---|"]
        out += [f"| {r['section']}: {r['case']} ({r['threads']} thread{'s' if r['threads'] != 1 else ''}) | "
                f"**{r['compiled_speedup']['median']:.2f}×** "
                f"({r['compiled_speedup']['q1']:.2f}–{r['compiled_speedup']['q3']:.2f}) |" for r in speedups]
    for name, sec in data["sections"].items():
        title, desc = titles.get(name, (name, ""))
        out += ["", f"## {title}", ""]
        if desc:
            out += [desc, ""]
        if sec.get("loadavg"):
            out += [f"*{sec['seconds']:.0f} s; 1-minute load average {sec['loadavg'][0]:.1f} → "
                    f"{sec['loadavg'][1]:.1f} on {info['cores_available']} cores.*", ""]
        if sec.get("error"):
            out += [f"*Section failed: {sec['error']}*", ""]
        rows = sec.get("rows", [])
        ours = [r for r in rows if "candidates" in r or "skipped" in r]
        foreign = [r for r in rows if r not in ours]
        if ours:
            out.append(_section_table(ours))
        if foreign:
            out += ["", _generic_table(foreign)]
        if sec.get("image"):
            rel = os.path.relpath(sec["image"], os.path.dirname(path_md))
            out += ["", f"![{title}]({rel})"]
    with open(path_md, "w") as f:
        f.write("\n".join(out) + "\n")


def _blas_name(info):
    for p in info["threadpools"]:
        if p["user_api"] == "blas":
            return f"{p['internal_api']} {p['version']} {p.get('architecture') or ''}".strip()
    return "BLAS unknown"


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def run_section(name, fn, quick):
    """Call a module's ``run(quick)``; an exception becomes the section's error, not a crash."""
    t, load = time.perf_counter(), os.getloadavg()[0]
    try:
        rows = [add_derived(r) for r in fn(quick)]
        sec = {"rows": rows}
    except Exception as e:  # noqa: BLE001  a broken module must not lose the other sections
        import traceback
        sec = {"rows": [], "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    sec["seconds"] = time.perf_counter() - t
    sec["loadavg"] = (load, os.getloadavg()[0])  # 1-minute load before and after: disturbance shows
    print(f"[bench] {name}: {len(sec['rows'])} rows in {sec['seconds']:.1f} s"
          + (f" — ERROR {sec['error']}" if sec.get("error") else ""), file=sys.stderr, flush=True)
    return sec

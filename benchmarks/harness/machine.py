"""Machine info and sanity probes: CPU model and ISA, versions, FMA peak, numpy SGEMM and DRAM copy
bandwidth, so a report says what the machine could do while it ran."""
import ctypes
import functools
import mmap
import os
import platform
import subprocess
import tempfile
import threading
import time

import numpy as np

from .process import optional_torch

# (vendor, family, model or None for every model) -> microarchitecture; facts from the vendors'
# family/model tables, only for CPUs this project may meet. The project's virtual machines hide the
# marketing name (Zen 3, Zen 4 and Zen 5 EPYCs all read "AMD EPYC"), so this is what tells them apart.
_MICROARCHITECTURES = {
    ("AuthenticAMD", 23, None): "Zen 2",
    ("AuthenticAMD", 25, 1): "Zen 3", ("AuthenticAMD", 25, 33): "Zen 3", ("AuthenticAMD", 25, 80): "Zen 3",
    ("AuthenticAMD", 25, 17): "Zen 4", ("AuthenticAMD", 25, 97): "Zen 4", ("AuthenticAMD", 25, 160): "Zen 4",
    ("AuthenticAMD", 26, None): "Zen 5",
    ("GenuineIntel", 6, 85): "Skylake-SP / Cascade Lake", ("GenuineIntel", 6, 106): "Ice Lake-SP",
    ("GenuineIntel", 6, 143): "Sapphire Rapids", ("GenuineIntel", 6, 207): "Emerald Rapids",
    ("GenuineIntel", 6, 173): "Granite Rapids",
}
_VENDORS = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}


def cpu_name(text=None):
    """The CPU model as /proc/cpuinfo (or ``text``) names it, with its microarchitecture, family and
    model, e.g. "AMD EPYC (Zen 4, family 25 model 17)"."""
    fields = _cpu_fields(text)
    model = fields.get("model name") or platform.processor() or "unknown CPU"
    ids = _ids(fields)
    if ids[1] is None:
        return model
    arch = _microarchitecture(ids)
    return f"{model} ({arch + ', ' if arch else ''}family {ids[1]} model {ids[2]})"


def cpu_ids(text=None):
    """(vendor, family, model) of the first CPU in /proc/cpuinfo (or ``text``); None where absent."""
    return _ids(_cpu_fields(text))


def _ids(fields):
    num = lambda k: int(fields[k]) if fields.get(k, "").isdigit() else None  # noqa: E731
    return fields.get("vendor_id"), num("cpu family"), num("model")


def cpu_kind(ids):
    """A readable CPU kind for (vendor, family, model): "AMD Zen 4", else vendor, family and model."""
    vendor, family, model = ids
    arch = _microarchitecture(ids)
    if arch:
        return f"{_VENDORS.get(vendor, vendor)} {arch}"
    return f"{vendor or 'unknown vendor'} family {family} model {model}"


def _microarchitecture(ids):
    vendor, family, _ = ids
    return _MICROARCHITECTURES.get(ids) or _MICROARCHITECTURES.get((vendor, family, None))


def _cpu_fields(text=None):
    """The first CPU's fields in /proc/cpuinfo (or ``text``): {} where it cannot be read."""
    if text is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            text = ""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def machine_info():
    """CPU, ISA, cores, versions, thread settings and minigrad's build flags (every report has it)."""
    import minigrad
    from threadpoolctl import threadpool_info

    flags = set(_cpu_fields().get("flags", "").split())
    torch = optional_torch()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    info = {
        "cpu": cpu_name(),
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
# One function per ISA (compiled with a target attribute, so the file builds with baseline flags);
# the caller passes the vector width the CPU runs (minigrad's cpu_features: the one ISA probe), and
# the call returns the flops it performed.
_FMA_SOURCE = r"""
#include <immintrin.h>
/* 12 named accumulators (an array would live on the stack at -O2 and measure store forwarding),
   each with its own start value: identical chains would be merged by the compiler into one. */
#define FMA12(f, b, c) a0 = f(a0, b, c); a1 = f(a1, b, c); a2 = f(a2, b, c); a3 = f(a3, b, c); \
    a4 = f(a4, b, c); a5 = f(a5, b, c); a6 = f(a6, b, c); a7 = f(a7, b, c); a8 = f(a8, b, c); \
    a9 = f(a9, b, c); a10 = f(a10, b, c); a11 = f(a11, b, c);
#define SUM12 (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11)
#define FMA_LOOP(name, isa, vec, lanes, set1, fmadd, store) \
__attribute__((target(isa))) static double name(long iters, float *sink) { \
    vec b = set1(0.999999f), c = set1(1e-7f); \
    vec a0 = set1(1.f), a1 = set1(2.f), a2 = set1(3.f), a3 = set1(4.f), a4 = set1(5.f), \
        a5 = set1(6.f), a6 = set1(7.f), a7 = set1(8.f), a8 = set1(9.f), a9 = set1(10.f), \
        a10 = set1(11.f), a11 = set1(12.f); \
    for (long i = 0; i < iters; i++) { FMA12(fmadd, b, c) } \
    store(sink, SUM12); \
    return 2.0 * lanes * 12 * (double)iters; \
}
FMA_LOOP(fma_avx2, "avx2,fma", __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps)
FMA_LOOP(fma_avx512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
float fma_sink[16];  /* results are stored in a global so the loops cannot be optimized away */
double fma_loop(long iters, int bits) {
    return bits == 512 ? fma_avx512(iters, fma_sink) : bits == 256 ? fma_avx2(iters, fma_sink) : 0.0;
}
"""


def _fma_bits():
    """The vector width of the FMA loop this CPU runs (0: neither AVX2+FMA nor AVX-512)."""
    from minigrad._ops import cpu_features

    return {"avx512": 512, "avx2": 256}.get(cpu_features()[-1], 0)


@functools.lru_cache(maxsize=None)
def _fma_library():
    """The probe, compiled once per process with the kernels' C compiler, or (None, reason)."""
    from minigrad._ops import toolchain

    if not toolchain.IS_X86 or not _fma_bits():
        return None, "not x86-64 with AVX2+FMA or AVX-512"
    with tempfile.TemporaryDirectory(prefix="minigrad-fma-") as tmp:
        src, lib = os.path.join(tmp, "fma.c"), os.path.join(tmp, "fma.so")
        with open(src, "w") as f:
            f.write(_FMA_SOURCE)
        try:
            proc = subprocess.run([toolchain.compiler(), "-O2", "-shared", "-fPIC", src, "-o", lib],
                                  capture_output=True, text=True)
        except OSError as e:
            return None, f"no C compiler: {e}"
        if proc.returncode != 0:
            return None, "compile failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
        dll = ctypes.CDLL(lib)  # stays mapped after the file is deleted
    dll.fma_loop.restype, dll.fma_loop.argtypes = ctypes.c_double, [ctypes.c_long, ctypes.c_int]
    return dll, None


def _fma_peak(dll, nthreads, seconds):
    """GFLOP/s of ``nthreads`` concurrent FMA loops (ctypes releases the GIL during the call)."""
    bits = _fma_bits()
    iters = 1 << 16
    while True:  # calibrate on one thread: grow until a call lasts ≥ seconds/3, then scale
        elapsed = _timed(lambda: dll.fma_loop(iters, bits))
        if elapsed > seconds / 3 or iters > 1 << 34:
            break
        iters *= 4
    iters = int(iters * seconds / elapsed)
    best = 0.0
    for _ in range(3):
        flops = [0.0] * nthreads

        def work(i):
            flops[i] = dll.fma_loop(iters, bits)
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
        res["fma_isa_bits"] = _fma_bits()
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

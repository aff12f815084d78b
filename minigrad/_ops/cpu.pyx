"""CPU feature detection and the thread count every compiled kernel uses.

Built with baseline flags (no ISA suffix), so it imports on any x86-64 and can safely decide which
ISA-specific module (``*_avx2``, ``*_avx512``) the CPU can run. Feature checks use the compiler's
``__builtin_cpu_supports``, which also checks that the OS saves the wide registers.

Kernels read the thread count with ``num_threads()`` (a cimport), so ``set_num_threads`` governs
every ``prange`` in the package without passing it through each call; ``threads_for`` turns it into
the team size for one call from the call's work (docs/kernels.md, "How many threads").
"""
import os


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int mg_openmp_enabled(void) { return 1; }
    static int mg_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int mg_openmp_enabled(void) { return 0; }
    static int mg_omp_max_threads(void) { return 1; }
    #endif
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    static int mg_has_avx2_fma(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    static int mg_has_avx512(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    }
    #else
    static int mg_has_avx2_fma(void) { return 0; }
    static int mg_has_avx512(void) { return 0; }
    #endif
    """
    int mg_openmp_enabled() noexcept nogil
    int mg_omp_max_threads() noexcept nogil
    int mg_has_avx2_fma() noexcept nogil
    int mg_has_avx512() noexcept nogil

cdef int _num_threads = 1


cdef int num_threads() noexcept nogil:
    return _num_threads


def set_num_threads(int n):
    """Set the number of OpenMP threads used by the compiled kernels (n >= 1)."""
    global _num_threads
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    _num_threads = n if mg_openmp_enabled() else 1


def get_num_threads():
    return _num_threads


def openmp_enabled():
    return bool(mg_openmp_enabled())


def omp_wait_passive():
    """Whether OpenMP workers sleep between parallel regions (OMP_WAIT_POLICY=passive, which
    libgomp reads once at start-up) instead of spinning first, so that waking them costs more."""
    return os.environ.get("OMP_WAIT_POLICY", "").strip().lower() == "passive"


def cpu_features():
    """The ISA levels this CPU (and OS) can run, best last: ['generic', 'avx2', 'avx512']."""
    levels = ["generic"]
    if mg_has_avx2_fma():
        levels.append("avx2")
        if mg_has_avx512():
            levels.append("avx512")
    return levels


cdef int threads_for(double work, double first, double grain) noexcept nogil:
    """Team size for one parallel call of ``work`` units (flops, or bytes moved), capped by
    ``set_num_threads``: see ``threads_for_work``."""
    return threads_capped(work, first, grain, _num_threads)


cdef int threads_capped(double work, double first, double grain, int cap) noexcept nogil:
    if work < first or cap < 2:
        return 1
    if work >= grain * cap:
        return cap
    return max(2, <int>(work / grain))


def threads_for_work(double work, double first, double grain, int cap):
    """The thread rule of every parallel kernel, as a pure function: 1 thread below ``first``
    units of work (where a second thread stops paying for its wake-up, measured per kernel
    family), else one thread per ``grain`` units, at least 2 and at most ``cap``."""
    if not (first > 0 and grain > 0 and cap >= 1):
        raise ValueError(f"threads_for_work: expected first > 0, grain > 0 and cap >= 1, "
                         f"got {first}, {grain} and {cap}")
    return threads_capped(work, first, grain, cap)


def _sysfs_cache_size(level, kind):
    """Bytes of the level-``level`` cache of cpu0 of the given kind ('Data', 'Unified') as sysfs
    lists it; None where sysfs does not say."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            d = os.path.join(base, index)
            with open(os.path.join(d, "level")) as f, open(os.path.join(d, "type")) as g:
                if int(f.read()) != level or g.read().strip() not in (kind, "Unified"):
                    continue
            with open(os.path.join(d, "size")) as f:
                text = f.read().strip()
            digits = text.rstrip("KMG")  # e.g. "48K"
            return int(digits) << {"": 0, "K": 10, "M": 20, "G": 30}[text[len(digits):]]
    except (OSError, ValueError, KeyError):
        return None
    return None


def _cache_size(level, kind):
    """Bytes of that cache from sysfs, else sysconf; 0 when neither says."""
    size = _sysfs_cache_size(level, kind)
    if size is not None:
        return size
    name = {1: "SC_LEVEL1_DCACHE_SIZE", 2: "SC_LEVEL2_CACHE_SIZE"}.get(level)
    try:
        return max(0, os.sysconf(name)) if name else 0
    except (ValueError, OSError):
        return 0


def cache_sizes():
    """{'l1d': bytes, 'l2': bytes} per core, read at run time (0 where the OS does not say)."""
    return {"l1d": _cache_size(1, "Data"), "l2": _cache_size(2, "Unified")}

"""CPU feature detection and the thread count every compiled kernel uses.

Built with baseline flags (no ISA suffix), so it imports on any x86-64 and can safely decide which
ISA-specific module (``*_avx2``, ``*_avx512``) the CPU can run. Feature checks use the compiler's
``__builtin_cpu_supports``, which also checks that the OS saves the wide registers.

Kernels read the thread count with ``num_threads()`` (a cimport), so ``set_num_threads`` governs
every ``prange`` in the package without passing it through each call.
"""

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


def cpu_features():
    """The ISA levels this CPU (and OS) can run, best last: ['generic', 'avx2', 'avx512']."""
    levels = ["generic"]
    if mg_has_avx2_fma():
        levels.append("avx2")
        if mg_has_avx512():
            levels.append("avx512")
    return levels

"""Process and threads: allocator and OpenMP settings recorded with a run, and thread counts set
alike for minigrad's kernels, numpy's BLAS and torch."""
import contextlib
import ctypes
import os
import threading

# OpenMP waiting is left as the caller's environment has it (recorded with the run; libgomp reads it
# once, when it loads). Unset is libgomp's default and what users of either framework get: an idle
# worker spins ~300 000 times (well under a millisecond on an idle core) before sleeping, so the next
# parallel region starts at once. On a host whose cores are shared with other jobs a spinning worker
# takes the core its partner thread needs (torch's MLP step once took 35 ms on 2 threads against
# 2.4 ms on 1, Zen 3): run `OMP_WAIT_POLICY=PASSIVE make bench` there. PASSIVE costs a wake-up per parallel
# region: on the idle AMD EPYC Zen 3 minigrad's 2-thread GEMM at 100×784×100 took 1.4–1.7× numpy's time
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


def optional_torch():
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
    torch = optional_torch()
    return {
        "minigrad": minigrad.get_num_threads(),
        "numpy_blas": blas[0] if blas else None,
        "torch": torch.get_num_threads() if torch is not None else None,
    }


def pool_label(pool):
    """A pool of threadpoolctl's ``threadpool_info()`` as "library (API) × size"."""
    return f"{pool['prefix']} ({pool['internal_api']}) × {pool['num_threads']}"


def thread_pools():
    """Every thread pool of the process that threadpoolctl finds, each as :func:`pool_label`."""
    from threadpoolctl import threadpool_info

    return [pool_label(p) for p in threadpool_info()]


def busy_threads():
    """How many of this process's threads other than the caller are running or runnable right now
    (state R in /proc/self/task/*/stat; None without /proc). compare() samples it before every timed
    block, after the gap: a pool still spinning then (from an earlier row, or a wait policy that
    never sleeps) takes the cores the next candidate's threads need. A full run's `threads` section
    once had BatchNorm slower on 2 threads than on 1 (Zen 4), which reruns did not reproduce."""
    me = threading.get_native_id()
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return None
    running = 0
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                running += tid != me and f.read().rsplit(")", 1)[1].split()[0] == "R"
        except OSError:  # the thread ended meanwhile
            pass
    return running


def cpu_seconds():
    """(CPU seconds all processes have run, CPU seconds this process has run) so far, from
    /proc/stat and os.times(), or None without /proc: over a timed block, the first minus the
    second is what other processes ran beside it (10 ms ticks)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except OSError:
        return None
    own = os.times()
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


@contextlib.contextmanager
def use_threads(n):
    """Run the block with ``n`` threads for minigrad's kernels, numpy's BLAS and torch alike."""
    import minigrad
    from threadpoolctl import threadpool_limits

    torch = optional_torch()
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

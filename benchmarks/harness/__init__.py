"""The timing method every benchmark module shares, the machine's sanity probes, and the report.

One module per job: :mod:`.process` (allocator, OpenMP wait policy, thread counts), :mod:`.timing`
(:func:`compare`), :mod:`.steps` (framework forward + backward steps as candidates), :mod:`.machine`
(CPU info and probes) and :mod:`.report` (rows, tables, BENCHMARKS.md). A benchmark module imports
the package and uses the names below.

Method (the machines are shared and noisy, so only ratios measured in the same run are compared):

- ``compare({"minigrad": f, "torch": g, ...})`` times the candidates *interleaved in one process*:
  each repetition runs one timed block per candidate, in an order rotated every repetition, so slow
  drifts of the machine hit every candidate alike.
- Each candidate is warmed up first, then a block calls it ``number`` times, ``number`` calibrated so a
  block lasts about ``target`` seconds (tiny ops are timed over hundreds of calls, a training step
  over one or a few). The figure is seconds per call.
- Before every block the process sleeps ``gap`` seconds (0.25 s; 0.15 s in QUICK): OpenBLAS's
  workers busy-wait ~0.1 s after a call (measured on Zen 3), and whichever candidate runs next would otherwise share the
  cores with them.
  Then it counts the process's other threads still running (``busy_threads``), and over the block
  the cores other processes keep busy (``cpu_seconds``): a candidate whose block started beside a
  running thread (a pool still spinning), or shared the machine, is listed under its section's
  table (``busy_notes``). Every comparison records the thread pools and their sizes
  (``thread_pools``).
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
from .machine import copy_bandwidth, cpu_ids, cpu_kind, cpu_name, machine_info, probes
from .process import (OMP_WAIT_ENV, busy_threads, cpu_seconds, optional_torch, prepare_process, steady_allocator,
                      thread_pools, thread_settings, use_threads)
from .report import (add_derived, busy_notes, fmt_time, headline, module_main, not_available, print_rows, row,
                     run_section, sanity_line, skipped, utc_now, write_report)
from .steps import fwd_bwd, speedup_extra, step_candidates
from .timing import BASELINE, DEFAULTS, FULL_DEFAULTS, QUICK_DEFAULTS, Candidate, compare, configure, paired_ratio

# What benchmark modules use as ``harness.<name>``.
__all__ = [
    "copy_bandwidth", "cpu_ids", "cpu_kind", "cpu_name", "machine_info", "probes",
    "OMP_WAIT_ENV", "busy_threads", "cpu_seconds", "optional_torch", "prepare_process", "steady_allocator",
    "thread_pools", "thread_settings", "use_threads",
    "add_derived", "busy_notes", "fmt_time", "headline", "module_main", "not_available", "print_rows", "row",
    "run_section", "sanity_line", "skipped", "utc_now", "write_report",
    "fwd_bwd", "speedup_extra", "step_candidates",
    "BASELINE", "DEFAULTS", "FULL_DEFAULTS", "QUICK_DEFAULTS", "Candidate", "compare", "configure", "paired_ratio",
]

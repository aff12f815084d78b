"""Timing: candidates interleaved in one process, their order rotated every repetition, and the
ratios paired by repetition (the method is in the package docstring)."""
import contextlib
import gc
import math
import time

import numpy as np

from .process import busy_threads, cpu_seconds, thread_pools, thread_settings, use_threads

# Defaults of compare(); ``configure(quick=True)`` shrinks them for `make bench QUICK=1`.
FULL_DEFAULTS = {"reps": 7, "warmup": 2, "gap": 0.25, "target": 0.05}
DEFAULTS = dict(FULL_DEFAULTS)
# QUICK (a smoke run, ≤ 2 minutes in all): a shorter gap, still longer than OpenBLAS's ~0.1 s spin (on Zen 3).
QUICK_DEFAULTS = {"reps": 3, "warmup": 1, "gap": 0.15, "target": 0.02}
BASELINE = "torch"


def configure(quick=False):
    """Set compare()'s default repetitions/warm-up/block length for a full or a QUICK run."""
    DEFAULTS.update(QUICK_DEFAULTS if quick else FULL_DEFAULTS)


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

    Returns ``{"threads", "reps", "warmup", "gap", "order", "settings", "pools", "baseline",
    "candidates", "ratios"}`` where ``pools`` lists the process's thread pools and their sizes
    (:func:`thread_pools`), ``candidates[name]`` holds ``median, q1, q3, min, max`` (seconds per
    call), ``number`` (calls per block), ``times`` (every repetition), ``busy`` (the most other
    threads of the process found running as one of its blocks started: :func:`busy_threads`) and
    ``others`` (the median over its blocks of the cores other processes kept busy meanwhile:
    :func:`cpu_seconds`), or ``error`` if the candidate raised; ``ratios[name]`` summarizes
    time(name) / time(baseline) paired by repetition.
    """
    reps = DEFAULTS["reps"] if reps is None else reps
    warmup = DEFAULTS["warmup"] if warmup is None else warmup
    gap = DEFAULTS["gap"] if gap is None else gap
    target = DEFAULTS["target"] if target is None else target
    cands = {k: v if isinstance(v, Candidate) else Candidate(v) for k, v in candidates.items()}
    out = {"threads": threads, "reps": reps, "warmup": warmup, "gap": gap, "baseline": baseline,
           "candidates": {}, "order": [], "ratios": {}}
    with use_threads(threads):
        out["settings"], out["pools"] = thread_settings(), thread_pools()
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
        busy, others = dict.fromkeys(names, 0), {name: [] for name in names}
        for r in range(reps):
            order = names[r % len(names):] + names[:r % len(names)] if names else []
            out["order"].append(order)
            for name in order:
                gc.collect()
                time.sleep(gap)
                now, cpu0 = busy_threads(), cpu_seconds()
                busy[name] = None if now is None else max(busy[name], now)
                times[name].append(_block(cands[name], numbers[name]))
                if cpu0:
                    cpu1 = cpu_seconds()
                    wall = times[name][-1] * numbers[name]
                    others[name].append((cpu1[0] - cpu0[0] - (cpu1[1] - cpu0[1])) / wall)
    for name in names:
        out["candidates"][name] = {**_summary(times[name]), "number": numbers[name], "times": times[name],
                                   "busy": busy[name],
                                   "others": float(np.median(others[name])) if others[name] else None}
    if baseline in times:
        out["ratios"] = {name: paired_ratio(out, name, baseline) for name in names if name != baseline}
    return out


def paired_ratio(result, a, b):
    """Summary of time(a) / time(b) over the repetitions of one compare() result, or None."""
    ta, tb = (result["candidates"].get(n, {}).get("times") for n in (a, b))
    return _summary([x / y for x, y in zip(ta, tb)]) if ta and tb else None

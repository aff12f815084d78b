"""Hyperparameter search: wall time of 20 book-style trials on 1 and on 2 local worker processes.

    python -m benchmarks.tune [--quick]

Each trial is the book's §6.5 trial from ``examples/hyperparameter_search.py`` (784-[100]×6-10 ReLU
MLP, SGD, 400 training + 100 validation images, 50 epochs; 10 epochs with --quick). A search runs
the same 20 trials (same seed, so the same configurations) through ``minigrad.tune.random_search``
with ``n_workers=1`` and ``n_workers=2``, each worker using one thread; the time includes starting
the worker pool, as a user sees it. The runs alternate 1, 2, 2, 1 (1, 2 with --quick) so a drift of
the machine's load hits both alike. The figure is the speed-up time(1 worker) / time(2 workers);
acceptance: ≥ 1.7 on an idle 2-core machine.
"""
import argparse
import os
import sys
import time


SECTION = "tune"
TRIALS = 20
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def book_trial(epochs):
    """The example's trial function with its data (the full Fashion-MNIST if installed)."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)  # workers get this sys.path too, so they import the same module
    import hyperparameter_search as example
    from _common import load_data

    from minigrad import tune

    train, _, desc = load_data()
    train_part, val_part = tune.validation_split(train, 0.2, seed=0, n=500)
    return example.BookTrial(train_part, val_part, epochs), example.SPACE, desc


def time_search(trial, space, workers, trials=TRIALS):
    from minigrad import tune

    start = time.perf_counter()
    result = tune.random_search(trial, space, trials, seed=0, n_workers=workers, quiet=True)
    seconds = time.perf_counter() - start
    if len(result.ok) + len(result.failed) != trials:
        raise RuntimeError(f"{trials - len(result.final())} trials lost")
    return seconds


def run(quick=False):
    epochs = 10 if quick else 50
    trial, space, desc = book_trial(epochs)
    order = (1, 2) if quick else (1, 2, 2, 1)
    times = {1: [], 2: []}
    for workers in order:
        times[workers].append(time_search(trial, space, workers))
        print(f"[bench] tune: {TRIALS} trials on {workers} worker(s): {times[workers][-1]:.1f} s",
              file=sys.stderr, flush=True)
    pairs = list(zip(times[1], times[2]))
    speedups = [t1 / t2 for t1, t2 in pairs]
    cands = {f"{w} worker{'s' if w > 1 else ''}": {"median": sum(t) / len(t), "min": min(t), "max": max(t),
                                                   "times": t} for w, t in times.items()}
    ratio = sum(t2 / t1 for t1, t2 in pairs) / len(pairs)
    case = (f"{TRIALS} trials of the book's §6.5 search (784-[100]×6-10, 400 + 100 images of "
            f"{desc.split(' (')[0]}, {epochs} epochs), local processes")
    return [{"section": SECTION, "case": case, "threads": 1, "baseline": "1 worker", "candidates": cands,
             "ratios": {"2 workers": {"median": ratio}},
             "extra": {"speed-up 1 → 2 workers": f"{sum(speedups) / len(speedups):.2f}×"},
             "speedups": speedups}]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for r in run(args.quick):
        print(r["case"])
        for name, c in r["candidates"].items():
            print(f"    {name:10s} {c['median']:.1f} s  (runs: {', '.join(f'{t:.1f}' for t in c['times'])})")
        print(f"    speed-up 1 → 2 workers: {r['extra']['speed-up 1 → 2 workers']}")


if __name__ == "__main__":
    main()

"""Random search of learning rate and weight decay ("Deep Learning from Scratch" §6.5) with minigrad.tune.

    python examples/hyperparameter_search.py [--quick] [--out DIR] [--trials 100] [--workers N]
                                             [--dask tcp://HOST:8786] [--halving] [--speedup 20]

The book's experiment: 500 training images, 20 % of them (100) held out as validation data, a
784-[100]×6-10 ReLU MLP (He init, biases 0), plain SGD with batch 100 for 50 epochs, weight decay
as an L2 penalty on the weight matrices only; 100 trials with ``lr = 10 ** uniform(-6, -2)`` and
``weight_decay = 10 ** uniform(-8, -4)``, ranked by the final validation accuracy. The test set is
never looked at. The book (MNIST) finds the best trials at lr ≈ 1e-3…1e-2 and weight decay ≈
1e-8…1e-6, with validation accuracies up to ≈ 0.8, and says to narrow the ranges and search again.

Here the trials run through :func:`minigrad.tune.random_search`: on local worker processes (one
thread each; ``--workers``, default all CPUs), or on an existing Dask cluster with ``--dask ADDRESS``.
Deviations: Fashion-MNIST by default, and the 500 images are a seeded random draw from the training
set (:func:`minigrad.tune.validation_split`), not its first 500. ``--halving`` adds a second search
with successive halving (budgets 6/17/50 epochs, the best third promoted) and reports the compute it
saved. ``--speedup N`` first times N trials on 1 and on 2 worker processes.

Writes ``hyperparameter_search.png`` (validation accuracy over (lr, weight decay) in log scale, and
the validation curves of the best trials as the book's Fig. 6-24), ``hyperparameter_search.jsonl``
(every trial, streamed; rerun with ``--resume`` to continue an interrupted search) and
``hyperparameter_search.json`` into ``--out``. ``--quick``: 6 trials of 5 epochs on the bundled subset
(tests).
"""
import sys
import time

import numpy as np

import _common
from minigrad import optim, tune
from minigrad.data import DataLoader, TensorDataset
from _common import NonFiniteLoss, evaluate, load_data, make_parser, mlp, run, save_figure, train_epoch, write_json

HIDDEN = [100] * 6
SPACE = {"lr": tune.loguniform(1e-6, 1e-2), "weight_decay": tune.loguniform(1e-8, 1e-4)}
BOOK = "best trials at lr ≈ 1e-3…1e-2, weight decay ≈ 1e-8…1e-6, validation accuracy up to ≈ 0.8 (MNIST)"
NAME = "hyperparameter_search"


class BookTrial:
    """One trial: train the book's MLP on the 400 training images for ``epochs`` epochs and return
    the validation accuracy (final and per epoch). Holds the data as arrays, so it is shipped to each
    worker once."""

    def __init__(self, train, val, epochs, batch_size=100):
        self.train, self.val, self.epochs, self.batch_size = _arrays(train), _arrays(val), epochs, batch_size

    def __call__(self, config, epochs=None):
        train_loader = DataLoader(TensorDataset(*self.train), batch_size=self.batch_size, shuffle=True)
        val_loader = DataLoader(TensorDataset(*self.val), batch_size=250)
        model = mlp(HIDDEN, init="he")
        optimizer = optim.SGD(optim.param_groups_no_decay(model, config["weight_decay"]), lr=config["lr"])
        curve, losses = [], []
        for _ in range(epochs or self.epochs):
            try:
                train = train_epoch(model, train_loader, optimizer, quiet=True)
            except NonFiniteLoss:
                return {"val_acc": float("nan"), "val_curve": curve, "loss_curve": losses}
            losses.append(train["loss"])
            curve.append(evaluate(model, val_loader, quiet=True)["acc"])
        return {"val_acc": curve[-1], "train_acc": train["acc"], "val_curve": curve, "loss_curve": losses}


def _arrays(dataset):
    x, y = next(iter(DataLoader(dataset, batch_size=len(dataset))))
    return x.data, y.data


def plot(result, path, title, k=10):
    """Left: the metric over (lr, weight decay); right: validation curves of the ``k`` best trials."""
    import matplotlib  # here, not at the top: every worker process imports this script

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_scatter, ax_curves) = plt.subplots(1, 2, figsize=(12, 4.6))
    result.plot(ax=ax_scatter, title="validation accuracy of each trial")
    for rank, r in enumerate(result.sorted()[:k], 1):
        curve = r["metrics"].get("val_curve") or []
        ax_curves.plot(np.arange(1, len(curve) + 1), curve,
                       label=f"#{rank} lr {r['config']['lr']:.1e}, wd {r['config']['weight_decay']:.0e}")
    ax_curves.set(xlabel="epochs", ylabel="validation accuracy", ylim=(0, 1), title=f"best {k} trials (Fig. 6-24)")
    ax_curves.grid(alpha=0.3)
    ax_curves.legend(fontsize="x-small", loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def speedup(trial, trials, seed, quiet):
    """Wall time of ``trials`` trials on 1 and on 2 local worker processes (pool start included)."""
    times = {}
    for workers in (1, 2):
        start = time.perf_counter()
        tune.random_search(trial, SPACE, trials, seed=seed, n_workers=workers, quiet=quiet)
        times[workers] = time.perf_counter() - start
        print(f"speed-up check: {trials} trials on {workers} worker(s): {times[workers]:.1f} s", flush=True)
    print(f"speed-up 1 → 2 workers: {times[1] / times[2]:.2f}×", flush=True)
    return {"trials": trials, "seconds_1_worker": times[1], "seconds_2_workers": times[2],
            "speedup": times[1] / times[2]}


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0], epochs=50)
    parser.add_argument("--trials", type=int, default=100, help="number of trials (default 100)")
    parser.add_argument("--train-size", type=int, default=500, help="images used, train + validation (500)")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="validation share (default 0.2)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPUs)")
    parser.add_argument("--dask", metavar="ADDRESS", help="run on this Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--halving", action="store_true", help="also run the search with successive halving")
    parser.add_argument("--speedup", type=int, default=0, metavar="N", help="first time N trials on 1 and 2 workers")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out instead of restarting")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs = min(args.trials, 6), min(args.epochs, 5)
    args.out.mkdir(parents=True, exist_ok=True)

    train, _, data_desc = load_data(args.dataset, small=args.quick)  # the test set is never used
    train_part, val_part = tune.validation_split(train, args.val_fraction, seed=args.seed, n=args.train_size)
    trial = BookTrial(train_part, val_part, args.epochs)
    print(f"data: {len(train_part)} train + {len(val_part)} validation images drawn from {data_desc}")
    print(f"784-{HIDDEN}-10 ReLU, He init, SGD batch 100, {args.epochs} epochs per trial; "
          f"lr ~ {SPACE['lr']}, weight decay ~ {SPACE['weight_decay']}")

    summary = {"data": data_desc, "settings": {k: v for k, v in vars(args).items() if k != "out"}, "book": BOOK}
    if args.speedup:
        summary["speedup"] = speedup(trial, args.speedup, args.seed, args.quiet)

    executor, client = None, None
    if args.dask:
        import cloudpickle
        from distributed import Client

        cloudpickle.register_pickle_by_value(_common)  # cluster workers do not have examples/_common.py
        executor = client = Client(args.dask)
    results_file = args.out / f"{NAME}.jsonl"
    if results_file.exists() and not args.resume:
        results_file.unlink()
    try:
        result = tune.random_search(trial, SPACE, args.trials, seed=args.seed, executor=executor,
                                    n_workers=args.workers, results=results_file, quiet=args.quiet)
        searches = {"random search": result}
        if args.halving:
            sh_file = args.out / f"{NAME}_halving.jsonl"
            if sh_file.exists() and not args.resume:
                sh_file.unlink()
            sh = tune.SuccessiveHalving(max_budget=args.epochs, eta=3, rungs=3)
            searches["successive halving"] = tune.random_search(
                trial, SPACE, args.trials, seed=args.seed, executor=executor, n_workers=args.workers,
                results=sh_file, scheduler=sh, quiet=args.quiet)
    finally:
        if client is not None:
            client.close()

    print(f"\n{result}\n")
    print(f"book: {BOOK}")
    top = result.sorted()[:10]
    in_band = sum(1e-3 <= r["config"]["lr"] <= 1e-2 for r in top if r["status"] == "ok")
    print(f"{in_band} of the best {len(top)} trials have lr in [1e-3, 1e-2]")
    summary.update(table=result.table(k=20), best=result.best, best_config=result.best_config,
                   best_lr_in_band=in_band, n_ok=len(result.ok), n_failed=len(result.failed),
                   wall_seconds=result.wall_seconds, compute_seconds=result.compute_seconds,
                   executor=result.executor)
    if args.halving:
        summary["halving"] = compare_halving(searches["random search"], searches["successive halving"], args.epochs)

    figure = args.out / f"{NAME}.png"
    plot(result, figure, f"random search, {args.trials} trials: 784-[100]x6-10 on {len(train_part)} images of "
                         f"{data_desc.split(' (')[0]}, {args.epochs} epochs each")
    write_json(args.out / f"{NAME}.json", summary)
    print(f"wrote {figure}, {results_file} and {args.out / (NAME + '.json')}")
    return summary


def compare_halving(full, halved, epochs):
    """Epochs trained, wall time and best trial of the halving search against the full one."""
    epochs_full = len(full.final()) * epochs
    epochs_sh = sum(r["budget"] for r in halved.trials)
    best_full, best_sh = full.best, halved.best
    out = {"epochs_full": epochs_full, "epochs_halving": epochs_sh, "compute_fraction": epochs_sh / epochs_full,
           "wall_full": full.wall_seconds, "wall_halving": halved.wall_seconds,
           "best_full": best_full and (best_full["trial"], best_full["metrics"]["val_acc"]),
           "best_halving": best_sh and (best_sh["trial"], best_sh["metrics"]["val_acc"]),
           "rank_of_halving_best_in_full": next((i for i, r in enumerate(full.sorted(), 1)
                                                 if best_sh and r["trial"] == best_sh["trial"]), None)}
    print(f"successive halving: {epochs_sh} of {epochs_full} epochs ({out['compute_fraction']:.0%}), "
          f"{halved.wall_seconds:.0f} s vs {full.wall_seconds:.0f} s; best trial {out['best_halving']} "
          f"(rank {out['rank_of_halving_best_in_full']} in the full search, whose best is {out['best_full']})")
    return out


if __name__ == "__main__":
    run(main, sys.argv[1:])

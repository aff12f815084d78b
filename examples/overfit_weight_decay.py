"""Overfitting and weight decay ("Deep Learning from Scratch" §6.4.1–6.4.2, Figs. 6-20 and 6-21).

    python examples/overfit_weight_decay.py [--quick] [--out DIR] [--epochs 200] [--weight-decay 0.1]

The book's experiment: make a net overfit on purpose, with many parameters and little data: a
784-[100]×6-10 ReLU MLP (7 layers, He init, biases 0) on only the first 300 training images, plain
SGD lr 0.01, batch 100 (3 steps per epoch), 200 epochs, accuracy on the 300 training images and on
the whole test set before training and after every epoch (201 points, as the book's plots). Then the
same run with weight decay λ = 0.1. What it shows: without regularization the training accuracy
reaches 1.0 while the test accuracy stalls far below it (overfitting); weight decay keeps the weights
small and shrinks the train–test gap. The book (MNIST): train 1.00 / test ≈ 0.75 without, train
≈ 0.90 / test ≈ 0.71 with λ = 0.1.

Weight decay here is minigrad's ``optim.SGD(weight_decay=λ)`` (PyTorch semantics: g ← g + λ·W before
the step), which is exactly the gradient of the book's penalty ½·λ·‖W‖² added to the loss. As in the
book, only the weight matrices are decayed, not the biases: ``optim.param_groups_no_decay`` puts the
biases in a group with weight_decay 0. The printed and plotted loss is the data loss without the penalty.

``overfit_dropout.py`` runs the same setup with dropout and reuses :func:`compare_overfitting`.
Writes ``overfit_weight_decay.png`` and ``overfit_weight_decay.json`` into ``--out``. ``--quick``:
20 epochs on the bundled subset (for the tests).
"""
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import optim  # noqa: E402
from minigrad.data import DataLoader, Subset  # noqa: E402
from _common import fit, format_table, load_data, make_parser, mlp, run, save_figure, write_json  # noqa: E402

HIDDEN = [100] * 6


def overfit_parser(description, epochs):
    """The options both overfitting examples share (the book's 300 images, batch 100, SGD lr 0.01)."""
    parser = make_parser(description, epochs=epochs)
    parser.add_argument("--train-size", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01)
    return parser


def compare_overfitting(args, runs, name, book):
    """Train each ``(label, make_model, weight_decay)`` of ``runs`` from the same seed on the first
    ``args.train_size`` images; print the table of final train / test accuracy and their gap, plot the
    curves into ``<out>/<name>.png`` and write ``<out>/<name>.json``. Returns the summary dict."""
    if args.quick:
        args.epochs = min(args.epochs, 20)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    train, test, data_desc = load_data(args.dataset, small=args.quick)
    samples = Subset(train, np.arange(min(args.train_size, len(train))))
    train_loader = DataLoader(samples, batch_size=args.batch_size, shuffle=True)
    eval_loaders = {"train": DataLoader(samples, batch_size=250), "test": DataLoader(test, batch_size=250)}
    print(f"data: first {len(samples)} training images of {data_desc}; test on all {len(test):,}")
    print(f"784-{HIDDEN}-10 ReLU, He init, SGD lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs")

    results = []
    for label, make_model, weight_decay in runs:
        minigrad.manual_seed(args.seed)
        model = make_model()
        optimizer = optim.SGD(optim.param_groups_no_decay(model, weight_decay), lr=args.lr)
        t0 = time.perf_counter()
        history = fit(model, optimizer, train_loader, args.epochs, eval_loaders, desc=label, quiet=args.quiet)
        history.update(label=label, weight_decay=weight_decay, seconds=time.perf_counter() - t0)
        results.append(history)
        print(f"{label}: train {history['train_acc'][-1]:.4f}  test {history['test_acc'][-1]:.4f}  "
              f"({history['seconds']:.0f} s)", flush=True)

    rows = [[r["label"], r["train_acc"][-1], r["test_acc"][-1], r["train_acc"][-1] - r["test_acc"][-1],
             max(r["test_acc"])] for r in results]
    table = format_table(["run", "train acc", "test acc", "gap (train − test)", "best test acc"], rows)
    wall = time.perf_counter() - start
    print(f"\nafter {args.epochs} epochs (eval mode)\n{table}\nbook (MNIST): {book}\n{wall:.0f} s")

    figure = args.out / f"{name}.png"
    plot(results, figure, f"784-[100]x6-10 on {len(samples)} images of {data_desc.split(' (')[0]}, "
                          f"SGD lr {args.lr}")
    summary = {"data": data_desc, "settings": {k: v for k, v in vars(args).items() if k != "out"},
               "runs": results, "table": table, "book": book, "wall_seconds": wall}
    write_json(args.out / f"{name}.json", summary)
    print(f"wrote {figure}")
    return summary


def plot(results, path, title):
    fig, axes = plt.subplots(1, len(results) + 1, figsize=(4.2 * (len(results) + 1), 3.8))
    for ax, r in zip(axes, results):
        epochs = np.arange(len(r["train_acc"]))
        marks = max(1, len(epochs) // 20)
        ax.plot(epochs, r["train_acc"], "o-", ms=3, markevery=marks, label="train")
        ax.plot(epochs, r["test_acc"], "s-", ms=3, markevery=marks, label="test")
        ax.set(title=r["label"], xlabel="epochs", ylabel="accuracy", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    gap_ax = axes[-1]
    for r in results:
        gap_ax.plot(np.subtract(r["train_acc"], r["test_acc"]), label=r["label"])
    gap_ax.set(title="train − test accuracy", xlabel="epochs", ylabel="gap")
    gap_ax.grid(alpha=0.3)
    gap_ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = overfit_parser(__doc__.splitlines()[0], epochs=200)
    parser.add_argument("--weight-decay", type=float, default=0.1, help="λ on the weights (default 0.1)")
    args = parser.parse_args(argv)

    def make_model():
        return mlp(HIDDEN, init="he")

    runs = [("no regularization", make_model, 0.0),
            (f"weight decay λ={args.weight_decay:g}", make_model, args.weight_decay)]
    return compare_overfitting(args, runs, "overfit_weight_decay",
                               book="train 1.00 / test ≈ 0.75 without; train ≈ 0.90 / test ≈ 0.71 with λ = 0.1")


if __name__ == "__main__":
    run(main, sys.argv[1:])

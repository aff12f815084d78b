"""Batch normalization vs a plain MLP over 16 weight-init scales ("Deep Learning from Scratch" §6.3.2, Fig. 6-19).

    python examples/batchnorm_vs_plain.py [--quick] [--out DIR] [--epochs 20] [--bn torch|book]

The book's experiment: a 784-[100]×5-10 ReLU MLP trained with and without batch normalization
(Linear → BN → ReLU in every hidden layer), every weight drawn from N(0, std²) and every bias 0, for
16 values std = logspace(0, −4, 16) from 1 down to 1e-4. Settings as in the book: the first 1000
training images, plain SGD lr 0.01, batch 100, 20 epochs of 10 iterations (200 steps), accuracy in
eval mode on those 1000 training images before training and after every epoch. Each panel trains both
nets from the same seed (same batches). What it shows: without BN, training only works for a narrow
band of init scales (too small: the signal vanishes and the net stays at chance; too large: it
explodes); with BN the net learns for nearly every scale, because each layer's input is re-normalized
whatever the scale of W. The book (MNIST): BN better in 14 of 16 panels.

BN is ``nn.BatchNorm1d`` (PyTorch's conventions, momentum 0.1, running_var starting at 1);
``--bn book`` uses ``nn.BookBatchNorm1d`` (the book's momentum 0.9 on the old value, running_var
starting at 0, eps 1e-6). A plain run whose loss becomes NaN/inf stops there (marked "diverged"); its
final accuracy is the last one measured.

Writes ``batchnorm_vs_plain.png`` (the 4×4 grid of accuracy curves) and ``batchnorm_vs_plain.json``
into ``--out``. ``--quick``: 4 scales, 5 epochs of 5 batches of 40 on 200 images of the bundled subset (for the
tests).
"""
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.data import DataLoader, Subset  # noqa: E402
from _common import fit, format_table, load_data, make_parser, mlp, run, save_figure, write_json  # noqa: E402

NORMS = {"torch": nn.BatchNorm1d, "book": nn.BookBatchNorm1d}


def train_pair(std, norm, train_loader, eval_loader, epochs, lr, seed, quiet):
    """Plain and BN nets from the same seed; returns {"plain": history, "bn": history}."""
    histories = {}
    for name, layer in (("plain", None), ("bn", norm)):
        minigrad.manual_seed(seed)
        model = mlp([100] * 5, norm=layer, init=std)
        optimizer = optim.SGD(model.parameters(), lr=lr)
        # large inits make the plain net overflow on purpose; fit stops it, numpy need not warn
        with np.errstate(over="ignore", invalid="ignore"):
            histories[name] = fit(model, optimizer, train_loader, epochs, {"train": eval_loader},
                                  desc=f"std {std:.2g} {name}", quiet=quiet, stop_on_nonfinite=True)
    return histories


def plot(panels, path, title):
    cols = 4
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for name, style, label in (("bn", "-", "Batch Normalization"), ("plain", "--", "Normal (without BN)")):
            acc = panel[name]["train_acc"]
            ax.plot(range(len(acc)), acc, style, lw=1.6, label=label)
        if "diverged_epoch" in panel["plain"]:
            ax.text(0.97, 0.9, f"plain: loss inf/NaN\nin epoch {panel['plain']['diverged_epoch']}",
                    transform=ax.transAxes, ha="right", va="top", fontsize=7, color="tab:orange")
        ax.set_title(f"W: std={panel['std']:.4g}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("epochs")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0], epochs=20)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--panels", type=int, default=16, help="number of init scales in logspace(0, -4)")
    parser.add_argument("--bn", choices=sorted(NORMS), default="torch",
                        help="BatchNorm1d (PyTorch conventions) or BookBatchNorm1d (the book's)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_size, args.batch_size, args.panels = 5, 200, 40, 4
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    train, _, data_desc = load_data(args.dataset, small=args.quick)
    samples = Subset(train, np.arange(min(args.train_size, len(train))))
    train_loader = DataLoader(samples, batch_size=args.batch_size, shuffle=True)
    eval_loader = DataLoader(samples, batch_size=250)
    stds = np.logspace(0, -4, args.panels)
    print(f"data: first {len(samples)} training images of {data_desc}")
    print(f"784-[100]x5-10 ReLU, SGD lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs of "
          f"{len(train_loader)} steps, BN = {NORMS[args.bn].__name__}")

    panels = []
    for i, std in enumerate(stds):
        histories = train_pair(float(std), NORMS[args.bn], train_loader, eval_loader, args.epochs, args.lr,
                               seed=args.seed * 1000 + i, quiet=args.quiet)
        panel = {"std": float(std), **histories}
        panels.append(panel)
        notes = "  (plain diverged in epoch %d)" % histories["plain"]["diverged_epoch"] \
            if "diverged_epoch" in histories["plain"] else ""
        print(f"[{i + 1:2d}/{len(stds)}] std {std:.4g}: plain {histories['plain']['train_acc'][-1]:.4f}  "
              f"BN {histories['bn']['train_acc'][-1]:.4f}{notes}", flush=True)

    rows, wins = [], 0
    for panel in panels:
        plain, bn = panel["plain"]["train_acc"][-1], panel["bn"]["train_acc"][-1]
        wins += bn > plain
        status = "diverged" if "diverged_epoch" in panel["plain"] else ""
        rows.append([f"{panel['std']:.4g}", plain, bn, "BN" if bn > plain else "plain", status])
    table = format_table(["init std", "plain acc", "BN acc", "better", "plain run"], rows)
    wall = time.perf_counter() - start
    print(f"\nfinal accuracy on the {len(samples)} training images (eval mode) after {args.epochs} epochs")
    print(table)
    print(f"BN better in {wins} of {len(panels)} panels (book, on MNIST: 14 of 16); {wall:.0f} s")

    figure = args.out / "batchnorm_vs_plain.png"
    plot(panels, figure, f"BN vs plain, 784-[100]x5-10 ReLU, {len(samples)} images of "
                         f"{data_desc.split(' (')[0]}: BN better in {wins}/{len(panels)}")
    summary = {"data": data_desc, "settings": {k: v for k, v in vars(args).items() if k != "out"},
               "panels": panels, "bn_wins": int(wins), "table": table, "wall_seconds": wall}
    write_json(args.out / "batchnorm_vs_plain.json", summary)
    print(f"wrote {figure}")
    return summary


if __name__ == "__main__":
    run(main, sys.argv[1:])

"""SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam and AdamW on one MLP ("Deep Learning from Scratch" §6.1.7, Fig. 6-9).

    python examples/optimizer_compare.py [--quick] [--out DIR] [--iterations 2000] [--batch-size 128]

The book's experiment (optimizer_compare_mnist.py): a 784-[100]×4-10 ReLU MLP (5 layers, He init,
biases 0) trained for 2000 iterations of batch 128 (≈ 4.3 epochs of the 60,000 training images) by each
optimizer with the book's learning rates: SGD 0.01; Momentum 0.01 with momentum 0.9; AdaGrad 0.01;
Adam 0.001 (β 0.9 / 0.999). Added: Nesterov 0.01 with momentum 0.9 and RMSprop with decay 0.99 (both
in the book's optimizer module, not in its comparison) and AdamW 0.001 with weight decay 0.01 (PyTorch's
default; not in the book). RMSprop runs with Adam's lr 0.001, not the 0.01 of the book's RMSprop class (and PyTorch's
default): with 0.01 its loss jumped to 729 at step 2, spiked again later and ended above SGD's (0.52 vs
0.45 on full Fashion-MNIST). Every optimizer starts from the same initial weights and sees the same
batches. What it shows: plain SGD is the slowest; the momentum and adaptive methods reach a lower
training loss in the same number of steps. The book (MNIST): SGD clearly slowest, AdaGrad
a bit ahead of Momentum and Adam.

The optimizers are minigrad's ``optim.SGD`` (momentum / nesterov), ``Adagrad``, ``RMSprop``, ``Adam``
and ``AdamW`` with PyTorch's update rules; the book's AdaGrad/RMSprop put eps (1e-7) at a slightly
different place (see NUMERICS.md), which changes nothing visible here. The table gives the training loss
smoothed over the last 100 iterations, and the test accuracy at the end (this experiment counts
iterations: ``--iterations``, not epochs).

Writes ``optimizer_compare.png`` (raw and smoothed loss curves) and ``optimizer_compare.json`` into
``--out``. ``--quick``: 40 iterations of batch 64 on the bundled subset (for the tests).
"""
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import optim  # noqa: E402
from _common import (evaluate, format_table, load_data, loader_pair, make_parser, mlp, run, save_figure,  # noqa: E402
                     smooth, train_steps, write_json)

OPTIMIZERS = {
    "SGD": ("lr 0.01", lambda p: optim.SGD(p, lr=0.01)),
    "Momentum": ("lr 0.01, momentum 0.9", lambda p: optim.SGD(p, lr=0.01, momentum=0.9)),
    "Nesterov": ("lr 0.01, momentum 0.9", lambda p: optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True)),
    "AdaGrad": ("lr 0.01", lambda p: optim.Adagrad(p, lr=0.01)),
    "RMSprop": ("lr 0.001, alpha 0.99", lambda p: optim.RMSprop(p, lr=0.001, alpha=0.99)),
    "Adam": ("lr 0.001", lambda p: optim.Adam(p, lr=0.001)),
    "AdamW": ("lr 0.001, weight decay 0.01", lambda p: optim.AdamW(p, lr=0.001, weight_decay=0.01)),
}
WINDOW = 100  # iterations in the smoothed curve and the "final loss"


def plot(results, path, title, window):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, r in results.items():
        line, = axes[0].plot(r["losses"], lw=0.5, alpha=0.6)
        axes[1].plot(smooth(r["losses"], window), lw=1.5, color=line.get_color(), label=name)
    axes[0].set(title="per-iteration loss", xlabel="iterations", ylabel="loss")
    axes[1].set(title=f"moving average over {window} iterations", xlabel="iterations", ylabel="loss")
    top = max(r["losses"][0] for r in results.values())
    for ax in axes:
        ax.set_ylim(0, min(top * 1.1, 3.0))
        ax.grid(alpha=0.3)
    axes[1].legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def iteration_parser(description):
    """The options of the iteration-counted comparisons (this one and ``weight_init_compare.py``)."""
    parser = make_parser(description)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    return parser


def prepare(args):
    """Apply ``--quick``, create ``--out``, load the data: ``(train_loader, test_loader, data_desc, window)``
    where ``window`` is the number of iterations of the smoothed curves and of the final loss."""
    if args.quick:
        args.iterations, args.batch_size = 40, 64
    args.out.mkdir(parents=True, exist_ok=True)
    train, test, data_desc = load_data(args.dataset, small=args.quick)
    train_loader, test_loader = loader_pair(train, test, args.batch_size)
    return train_loader, test_loader, data_desc, min(WINDOW, max(1, args.iterations // 4))


def loss_curve(model, optimizer, train_loader, test_loader, args, window, desc):
    """Train ``args.iterations`` steps; the per-iteration losses, the mean of the first 10 and of the
    last ``window``, the final test accuracy and loss, and the training time."""
    t0 = time.perf_counter()
    losses = train_steps(model, train_loader, optimizer, args.iterations, desc=desc, quiet=args.quiet)
    seconds = time.perf_counter() - t0
    test_result = evaluate(model, test_loader, quiet=True)
    return {"losses": losses, "first_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-window:])),
            "test_acc": test_result["acc"], "test_loss": test_result["loss"], "seconds": seconds}


def main(argv=None):
    parser = iteration_parser(__doc__.splitlines()[0])
    parser.add_argument("--optimizers", nargs="+", choices=list(OPTIMIZERS), default=list(OPTIMIZERS))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    train_loader, test_loader, data_desc, window = prepare(args)
    print(f"data: {data_desc}")
    print(f"784-[100]x4-10 ReLU, He init, {args.iterations} iterations of batch {args.batch_size}")

    results = {}
    for name in args.optimizers:
        settings, make_optimizer = OPTIMIZERS[name]
        minigrad.manual_seed(args.seed)  # same initial weights and same batches for every optimizer
        model = mlp([100] * 4, init="he")
        r = loss_curve(model, make_optimizer(model.parameters()), train_loader, test_loader, args, window, name)
        results[name] = {"settings": settings, **r}
        print(f"{name:9s} ({settings}): loss {r['final_loss']:.4f}, test acc {r['test_acc']:.4f}, "
              f"{r['seconds']:.0f} s", flush=True)

    ranking = sorted(results, key=lambda n: results[n]["final_loss"], reverse=True)
    rows = [[name, results[name]["settings"], results[name]["final_loss"], results[name]["test_acc"]]
            for name in ranking]
    table = format_table(["optimizer", "settings", f"train loss (last {window} it.)", "test acc"], rows)
    wall = time.perf_counter() - start
    print(f"\nslowest first\n{table}\nslowest: {ranking[0]} (book, on MNIST: SGD); {wall:.0f} s")

    figure = args.out / "optimizer_compare.png"
    plot(results, figure, f"784-[100]x4-10 ReLU on {data_desc.split(' (')[0]}, batch {args.batch_size}", window)
    summary = {"data": data_desc, "settings": {k: v for k, v in vars(args).items() if k != "out"},
               "window": window, "results": results, "slowest": ranking[0], "table": table, "wall_seconds": wall}
    write_json(args.out / "optimizer_compare.json", summary)
    print(f"wrote {figure}")
    return summary


if __name__ == "__main__":
    run(main, sys.argv[1:])

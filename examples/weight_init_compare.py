"""Weight initialization: std 0.01 vs Xavier vs He ("Deep Learning from Scratch" §6.2, Figs. 6-10 to 6-15).

    python examples/weight_init_compare.py [--quick] [--out DIR] [--iterations 2000] [--batch-size 128]

Two experiments of the book.
1. Activation histograms (weight_init_activation_histogram.py): 1000 random inputs x ~ N(0, 1) of width
   100 pass through 5 layers of 100 units (bias-free Linear → activation), weights drawn from N(0, std²);
   a histogram of each layer's outputs. Sigmoid with std 1 (outputs pile up at 0 and 1: vanishing
   gradients), std 0.01 (all near 0.5: the units say the same thing, little representational power) and
   Xavier (spread out); ReLU with std 0.01 (all near 0), Xavier (shrinking with depth) and He (the same
   spread in every layer). Histograms over (0, 1) with 30 bins, as the book draws them (ReLU panels
   clipped at 7000 counts, as the book's figure: about half of the ReLU outputs are exactly 0).
2. Loss curves (weight_init_compare.py): a 784-[100]×4-10 ReLU MLP (5 layers, biases 0) trained with
   SGD lr 0.01, batch 128, 2000 iterations from std 0.01, Xavier and He. What it shows: with std 0.01
   the signal vanishes through the 5 layers, the gradients are tiny and the loss stays at ln 10 ≈ 2.30;
   Xavier and He learn, He somewhat faster. Added as a control (not in the book): std 0.01 on a
   2-layer 784-100-10 net does learn, so the failure comes from the depth.
The book (MNIST): std 0.01 does not learn at all; He ≥ Xavier.

Inits: ``nn.init.normal_(std=…)``; Xavier = ``nn.init.xavier_normal_`` (std √(2/(fan_in+fan_out));
the book uses √(1/fan_in), identical for the 100×100 layers, 0.048 vs 0.036 for the first 784→100 layer);
He = ``nn.init.kaiming_normal_(nonlinearity="relu")`` (std √(2/fan_in), as the book).

Shares the options, data setup and training loop with ``optimizer_compare.py``.
Writes ``weight_init_histograms_sigmoid.png``, ``weight_init_histograms_relu.png``,
``weight_init_compare.png`` and ``weight_init_compare.json`` into ``--out``. ``--quick``: 40 iterations
of batch 64 on the bundled subset (for the tests).
"""
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from _common import format_table, init_linear_, mlp, run, save_figure, smooth, write_json  # noqa: E402
from optimizer_compare import iteration_parser, loss_curve, prepare  # noqa: E402

HISTOGRAMS = {"sigmoid": (nn.Sigmoid, [1.0, 0.01, "xavier"]), "relu": (nn.ReLU, [0.01, "xavier", "he"])}
TRAINING_RUNS = [("std 0.01", 0.01, [100] * 4), ("Xavier", "xavier", [100] * 4), ("He", "he", [100] * 4),
                 ("std 0.01, 2 layers (control)", 0.01, [100])]


def init_label(init):
    return {"xavier": "Xavier", "he": "He"}[init] if isinstance(init, str) else f"std {init:g}"


def layer_activations(activation, init, n=1000, width=100, layers=5):
    """Outputs of each of ``layers`` bias-free Linear(width, width) → activation layers for x ~ N(0, 1)."""
    x = minigrad.randn(n, width)
    outputs = []
    with minigrad.no_grad():
        for _ in range(layers):
            x = activation()(init_linear_(nn.Linear(width, width, bias=False), init)(x))
            outputs.append(x.data.ravel().copy())
    return outputs


def plot_histograms(name, activations, path):
    inits = list(activations)
    layers = len(activations[inits[0]])
    fig, axes = plt.subplots(len(inits), layers, figsize=(2.4 * layers, 2.1 * len(inits)), sharex=True,
                             sharey="row")
    for row, init in zip(axes, inits):
        for i, (ax, values) in enumerate(zip(row, activations[init])):
            counts, edges = np.histogram(values, 30, range=(0, 1))
            ax.stairs(counts, edges, fill=True)  # one artist, not 30 bars: draws much faster
            ax.set_title(f"{i + 1}-layer", fontsize=9)
            if name == "relu":
                ax.set_ylim(0, 7000)
            ax.tick_params(labelleft=i == 0)
        row[0].set_ylabel(init_label(init))
    fig.suptitle(f"{name} activations per layer, 5 layers of 100 units, x ~ N(0, 1)")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=0.88, wspace=0.08, hspace=0.35)
    save_figure(fig, path)


def plot_losses(results, path, title, window):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, r in results.items():
        ax.plot(smooth(r["losses"], window), lw=1.5, label=label)
    ax.set(xlabel="iterations", ylabel=f"loss (moving average over {window})", ylim=(0, 2.5), title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = iteration_parser(__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    train_loader, test_loader, data_desc, window = prepare(args)

    # 1. activation histograms
    activation_std, figures = {}, []
    for name, (activation, inits) in HISTOGRAMS.items():
        minigrad.manual_seed(args.seed)
        activations = {init: layer_activations(activation, init) for init in inits}
        figures.append(args.out / f"weight_init_histograms_{name}.png")
        plot_histograms(name, activations, figures[-1])
        activation_std[name] = {init_label(init): [float(np.std(a)) for a in values]
                                for init, values in activations.items()}
    hist_rows = [[name, label] + [f"{s:.3g}" for s in stds]
                 for name, by_init in activation_std.items() for label, stds in by_init.items()]
    hist_table = format_table(["activation", "init"] + [f"std of layer {i} output" for i in range(1, 6)], hist_rows)
    print(f"spread of the activations (book's histograms: {', '.join(f.name for f in figures)})\n{hist_table}\n")

    # 2. loss curves
    print(f"data: {data_desc}; SGD lr {args.lr}, {args.iterations} iterations of batch {args.batch_size}")
    results = {}
    for label, init, hidden in TRAINING_RUNS:
        minigrad.manual_seed(args.seed)
        model = mlp(hidden, init=init)
        r = loss_curve(model, optim.SGD(model.parameters(), lr=args.lr), train_loader, test_loader, args, window,
                       label)
        results[label] = {"layers": len(hidden) + 1, **r}
        print(f"{label}: loss {r['final_loss']:.4f}, test acc {r['test_acc']:.4f}", flush=True)
    rows = [[label, r["layers"], r["first_loss"], r["final_loss"], r["test_acc"]] for label, r in results.items()]
    table = format_table(["init", "layers", "loss (first 10 it.)", f"loss (last {window} it.)", "test acc"], rows)
    wall = time.perf_counter() - start
    print(f"\n{table}\nbook (MNIST): std 0.01 does not learn (loss stays ≈ 2.30); He ≥ Xavier\n{wall:.0f} s")

    figures.append(args.out / "weight_init_compare.png")
    plot_losses(results, figures[-1], f"784-[100]x4-10 ReLU, SGD lr {args.lr}, {data_desc.split(' (')[0]}", window)
    summary = {"data": data_desc, "settings": {k: v for k, v in vars(args).items() if k != "out"},
               "activation_std": activation_std, "histogram_table": hist_table, "window": window,
               "results": results, "table": table, "wall_seconds": wall}
    write_json(args.out / "weight_init_compare.json", summary)
    print("wrote " + ", ".join(str(f) for f in figures))
    return summary


if __name__ == "__main__":
    run(main, sys.argv[1:])

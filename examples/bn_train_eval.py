"""What BN's running statistics do: train-mode vs eval-mode accuracy, momentum, batch size, the
PyTorch vs book conventions, and ``recalibrate_bn``.

    python examples/bn_train_eval.py [--epochs N] [--out DIR] [--quick]

Background (Ioffe & Szegedy §3.1, Algorithm 2; "Deep Learning from Scratch" §6.3): in training BN
normalizes with the batch's μ_B, σ²_B; at inference it uses population estimates kept as running
averages during training. The test accuracy of a BN net therefore depends on how those averages
were kept: ``momentum`` (how fast they forget), the batch size (how noisy each batch estimate is,
and how many updates an epoch gives), and the convention (PyTorch: new-batch weight 0.1, unbiased
variance, running_var starts at 1; the book: old-value weight 0.9, biased variance, both buffers
start at 0, eps 1e-6; see docs/batchnorm.md).

Experiment: MLP 784-100-BN-ReLU-100-BN-ReLU-10 (He init), Adam lr 1e-3, one epoch of full
Fashion-MNIST for every batch size B ∈ {8, 32, 128} and momentum ∈ {0.1, 0.01, 0.001, None
(cumulative average)} (book layer: the equivalent 0.9, 0.99, 0.999, None), the same seed each time.
Then test accuracy in
- train mode: batch statistics of test batches of the same size B (buffers left untouched);
- eval mode: the running statistics;
- eval mode after ``minigrad.nn.utils.recalibrate_bn`` (cumulative average over 100 training batches
  of 128 with the final weights: the statistics the trained net actually produces).
"stale" is the mean over the BN units of |running_mean − recalibrated mean| / sqrt(recalibrated var).
One epoch is few updates for batch 128 (469): momentum 0.001 keeps ≈ 63 % of the initial
(0, 1) buffers, the stale case recalibration repairs. No paper has this exact table; it is a study aid.
Writes ``bn_train_eval.png`` and ``bn_train_eval.json``. ``--quick``: a few batches on the bundled
subset (tests).
"""
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.data import DataLoader, Subset  # noqa: E402
from minigrad.nn.utils import recalibrate_bn  # noqa: E402
from _common import (evaluate, kept_buffers, load_data, make_parser, mlp, run, save_figure,  # noqa: E402
                     train_epoch, write_json)

BATCH_SIZES = (8, 32, 128)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)  # (BookBatchNorm1d is a BatchNorm1d)
MOMENTA = (0.1, 0.01, 0.001, None)  # PyTorch convention; the book's equivalent is 1 − momentum
CONVENTIONS = ("pytorch", "book")
RECALIBRATION_BATCHES = 100
QUICK_BATCHES, QUICK_TEST, QUICK_RECALIBRATION = 10, 128, 4


def book_momentum(momentum):
    return None if momentum is None else round(1.0 - momentum, 6)


def make_net(convention, momentum):
    if convention == "pytorch":
        def norm(width):
            return nn.BatchNorm1d(width, momentum=momentum)
    else:
        def norm(width):
            return nn.BookBatchNorm1d(width, momentum=book_momentum(momentum))
    return mlp([100, 100], norm=norm, init="he")


def train_mode_eval(model, loader):
    """Test accuracy with batch statistics (training mode, no graph); the running buffers and batch
    counts are restored afterwards."""
    correct = 0
    with kept_buffers(model), minigrad.no_grad():
        model.train()
        for x, y in loader:
            correct += int((model(x).data.argmax(axis=1) == y.data).sum())
    return correct / len(loader.dataset)


def staleness(model, before):
    """Mean over BN units of |running_mean − recalibrated mean| / sqrt(recalibrated var)."""
    after = [(m.running_mean.data, m.running_var.data) for m in model.modules() if isinstance(m, BATCH_NORMS)]
    gaps = [np.abs(rm0 - rm1) / np.sqrt(rv1 + 1e-5) for (rm0, _), (rm1, rv1) in zip(before, after)]
    return float(np.mean(np.concatenate(gaps)))


def run_config(train, test, convention, momentum, batch_size, quick, quiet, seed):
    minigrad.manual_seed(seed)
    model = make_net(convention, momentum)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(train, batch_size=batch_size, shuffle=True)
    stats = train_epoch(model, loader, optimizer, desc=f"{convention} m={momentum} B={batch_size}", quiet=quiet,
                        max_batches=QUICK_BATCHES if quick else None)
    test_loader = DataLoader(test, batch_size=batch_size)
    k = min(10, len(stats["losses"]) // 4)  # batches averaged for the first and last training loss
    result = {"convention": convention, "momentum": momentum,
              "layer_momentum": momentum if convention == "pytorch" else book_momentum(momentum),
              "batch_size": batch_size, "steps": len(stats["losses"]),
              "loss_start": float(np.mean(stats["losses"][:k])), "loss_end": float(np.mean(stats["losses"][-k:])),
              "train_mode_acc": train_mode_eval(model, test_loader),
              "eval_acc": evaluate(model, DataLoader(test, batch_size=1000), quiet=True)["acc"]}
    before = [(m.running_mean.data.copy(), m.running_var.data.copy())
              for m in model.modules() if isinstance(m, BATCH_NORMS)]
    recalibrate_bn(model, DataLoader(train, batch_size=128, shuffle=True),
                   num_batches=QUICK_RECALIBRATION if quick else RECALIBRATION_BATCHES)
    result["stale"] = staleness(model, before)
    result["recalibrated_acc"] = evaluate(model, DataLoader(test, batch_size=1000), quiet=True)["acc"]
    return result


def momentum_label(momentum):
    return "None" if momentum is None else f"{momentum:g}"


def plot(results, path, title):
    fig, axes = plt.subplots(len(CONVENTIONS), len(BATCH_SIZES), figsize=(14, 7), sharey=True)
    kinds = (("train_mode_acc", "train mode (batch stats)", "tab:gray"),
             ("eval_acc", "eval mode (running stats)", "tab:blue"),
             ("recalibrated_acc", "eval after recalibrate_bn", "tab:green"))
    width = 0.27
    values = [r[key] for r in results for key, _, _ in kinds]
    ylim = (max(0.0, np.floor((min(values) - 0.05) * 20) / 20), min(1.0, max(values) + 0.03))
    for row, convention in enumerate(CONVENTIONS):
        for col, batch_size in enumerate(BATCH_SIZES):
            ax = axes[row, col]
            sel = [r for r in results if r["convention"] == convention and r["batch_size"] == batch_size]
            x = np.arange(len(sel))
            for k, (key, label, color) in enumerate(kinds):
                ax.bar(x + (k - 1) * width, [r[key] for r in sel], width, color=color, label=label)
            ax.set_xticks(x, [momentum_label(r["layer_momentum"]) for r in sel])
            ax.set(title=f"{'PyTorch' if convention == 'pytorch' else 'book'} BN, batch {batch_size}",
                   xlabel=f"{'momentum' if convention == 'pytorch' else 'book momentum (weight of the old value)'}",
                   ylim=ylim)
            ax.grid(axis="y", alpha=0.3)
            if col == 0:
                ax.set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0], epochs=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    train, test, data_desc = load_data(args.dataset, small=args.quick)
    if args.quick:
        test = Subset(test, range(QUICK_TEST))
    elif args.epochs != 1:
        parser.error("this example trains exactly one epoch per configuration")
    print(f"running statistics on {data_desc}: 784-100-BN-ReLU-100-BN-ReLU-10, Adam 1e-3, one epoch per config")
    results = [run_config(train, test, convention, momentum, batch_size, args.quick, args.quiet, args.seed)
               for convention in CONVENTIONS for batch_size in BATCH_SIZES for momentum in MOMENTA]

    print(f"\n{'layer':<8} {'momentum':>8} {'batch':>5} {'steps':>5} {'train-mode acc':>14} {'eval acc':>8} "
          f"{'stale':>6} {'recalibrated acc':>16}")
    for r in results:
        print(f"{r['convention']:<8} {momentum_label(r['layer_momentum']):>8} {r['batch_size']:>5} {r['steps']:>5} "
              f"{r['train_mode_acc']:>14.4f} {r['eval_acc']:>8.4f} {r['stale']:>6.3f} {r['recalibrated_acc']:>16.4f}")
    summary = {"data": data_desc, "results": results, "seconds": time.perf_counter() - start}
    plot(results, args.out / "bn_train_eval.png",
         f"BN train vs eval mode after one epoch ({data_desc.split(' (')[0]}): momentum, batch size, convention")
    write_json(args.out / "bn_train_eval.json", summary)
    print(f"{summary['seconds']:.0f} s; wrote {args.out / 'bn_train_eval.png'}")
    return summary


if __name__ == "__main__":
    run(main)

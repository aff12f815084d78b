"""Santurkar et al. (2018) "How does batch normalization help optimization?", §2.1: "noisy" BN.

    python examples/noisy_bn.py [--epochs N] [--lr LR] [--depth D] [--out DIR] [--quick]

Original experiment: VGG on CIFAR-10 trained three ways: without BN ("standard"), with BN, and with
BN followed by random noise that shifts the distribution of every BN output at every step
("noisy BN": non-zero mean, non-unit variance, changing over time), i.e. severe *internal covariate
shift* added on purpose. Claim: noisy BN trains about as well as BN and both beat the standard net,
so BN's benefit does not come from reducing internal covariate shift.

Noise (minigrad's NUMERICS.md spelling of it): after each BN layer, in training only,
a ← s·a + m, where per unit and step μ ~ U(−0.5, 0.5), σ ~ U(1, 1.25) and per element
m ~ U(μ − 0.1, μ + 0.1), s ~ N(σ, 0.1²). Eval mode adds no noise.

Settings here: MLP 784-[100]×6-10 with ReLU (BN between each hidden Linear and its ReLU, the noise
right after BN), He init (N(0, 2/fan_in), biases 0), plain SGD lr 0.5, batch 128, 8 epochs, the same seed
(init and batch order) for the three nets. At lr 0.5 the un-normalized net trains poorly while both BN nets
train as well as at lr 0.1; at ``--lr 0.1`` all three nets end within 0.015 test accuracy of each other (BN's advantage
here is the larger usable learning rate, as in the paper's Fig. 1). A net whose loss becomes NaN/inf is
recorded as diverged, not an error. Reported per epoch: training loss and accuracy measured during the
epoch (train mode: the noisy net sees its noise), eval-mode accuracy on the first 10,000 training
images and on the test set.
Deviations: an MLP on full Fashion-MNIST instead of VGG on CIFAR-10 (a CIFAR CNN is far beyond
this shared 2-core machine's budget); a 6-hidden-layer MLP is deep enough for the un-normalized
net to train visibly worse at this learning rate. Writes ``noisy_bn.png`` and ``noisy_bn.json``.
``--quick``: a few batches on the bundled subset (tests).
"""
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.data import DataLoader, Subset  # noqa: E402
from minigrad.random import default_generator  # noqa: E402
from minigrad.tensor import Tensor  # noqa: E402
from _common import (NonFiniteLoss, evaluate, load_data, loader_pair, make_parser, mlp,  # noqa: E402
                     plot_batch_losses, run, save_figure, train_epoch, write_json)

QUICK_BATCHES = 12
TRAIN_EVAL_SAMPLES = 10_000
NETS = ("plain", "bn", "noisy_bn")
LABELS = {"plain": "standard (no BN)", "bn": "standard + BN", "noisy_bn": 'standard + "noisy" BN'}


class DistributionShift(nn.Module):
    """Santurkar et al.'s noise after a BN layer: a ← s·a + m with fresh per-unit (μ, σ) every step
    and per-element m ~ U(μ ± mean_spread), s ~ N(σ, scale_std²); identity in eval mode."""

    def __init__(self, mean_range=0.5, scale_range=(1.0, 1.25), mean_spread=0.1, scale_std=0.1):
        super().__init__()
        self.mean_range, self.scale_range = mean_range, scale_range
        self.mean_spread, self.scale_std = mean_spread, scale_std

    def forward(self, a):
        if not self.training:
            return a
        rng = default_generator()
        shape, units = a.data.shape, a.data.shape[1]
        mu = rng.uniform(-self.mean_range, self.mean_range, units)
        sigma = rng.uniform(*self.scale_range, units)
        m = rng.uniform(mu - self.mean_spread, mu + self.mean_spread, shape)
        s = rng.normal(sigma, self.scale_std, shape)
        return a * Tensor(s.astype(a.data.dtype)) + Tensor(m.astype(a.data.dtype))


def noisy_bn(width):
    return nn.Sequential(nn.BatchNorm1d(width), DistributionShift())


def make_net(name, depth):
    norm = {"plain": None, "bn": nn.BatchNorm1d, "noisy_bn": noisy_bn}[name]
    return mlp([100] * depth, activation=nn.ReLU, norm=norm, init="he")


def plot(records, path, title):
    fig, (ax_loss, ax_train, ax_test) = plt.subplots(1, 3, figsize=(14, 4))
    colors = {"plain": "tab:blue", "bn": "tab:red", "noisy_bn": "tab:green"}
    for name, rec in records.items():
        plot_batch_losses(ax_loss, rec["batch_losses"], rec["steps_per_epoch"], colors[name], per_batch=None,
                          average=LABELS[name])
        epochs = [h["epoch"] for h in rec["history"]]
        ax_train.plot(epochs, [h["train_mode_acc"] for h in rec["history"]], "o--", color=colors[name], alpha=0.6,
                      label=f"{LABELS[name]}, during the epoch")
        ax_train.plot(epochs, [h["train_eval_acc"] for h in rec["history"]], "o-", color=colors[name],
                      label=f"{LABELS[name]}, eval mode after it")
        ax_test.plot(epochs, [h["test_acc"] for h in rec["history"]], "o-", color=colors[name], label=LABELS[name])
    ax_loss.set(xlabel="epoch", ylabel="training loss (moving average)", title="training loss")
    ax_train.set(xlabel="epoch", ylabel="accuracy", title="training accuracy")
    ax_test.set(xlabel="epoch", ylabel="accuracy", title="test accuracy (eval mode)")
    for ax in (ax_loss, ax_train, ax_test):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0], epochs=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default 0.5)")
    parser.add_argument("--depth", type=int, default=6, help="hidden layers of 100 units (default 6)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    train, test, data_desc = load_data(args.dataset, small=args.quick)
    train_eval = DataLoader(Subset(train, range(min(TRAIN_EVAL_SAMPLES, len(train)))), batch_size=1000)
    epochs = 2 if args.quick else args.epochs
    print(f"noisy BN on {data_desc}: 784-[100]x{args.depth}-10 ReLU, SGD lr {args.lr}, batch {args.batch_size}, "
          f"{epochs} epochs")

    records = {}
    for name in NETS:
        minigrad.manual_seed(args.seed)  # same init and batch order for the three nets
        model = make_net(name, args.depth)
        optimizer = optim.SGD(model.parameters(), lr=args.lr)
        train_loader, test_loader = loader_pair(train, test, args.batch_size, eval_batch_size=1000)
        rec = {"history": [], "batch_losses": [], "seconds": 0.0}
        for epoch in range(1, epochs + 1):
            try:
                stats = train_epoch(model, train_loader, optimizer, desc=f"{name} epoch {epoch}", quiet=args.quiet,
                                    max_batches=QUICK_BATCHES if args.quick else None)
            except NonFiniteLoss:  # recorded as a result (a diverged net), not a failure of the example
                stats = {"losses": [], "loss": float("nan"), "acc": float("nan"), "seconds": 0.0}
                rec["diverged_epoch"] = epoch
            rec["batch_losses"] += stats["losses"]
            rec["steps_per_epoch"] = rec.get("steps_per_epoch") or len(stats["losses"])
            rec["seconds"] += stats["seconds"]
            rec["history"].append({"epoch": epoch, "train_loss": stats["loss"], "train_mode_acc": stats["acc"],
                                   "train_eval_acc": evaluate(model, train_eval, quiet=True)["acc"],
                                   **{f"test_{k}": v for k, v in evaluate(model, test_loader, quiet=True).items()}})
            if "diverged_epoch" in rec:
                break
        records[name] = rec

    print(f"\n{'net':<24} {'epoch':>5} {'train loss':>10} {'train acc (train mode)':>22} {'train acc (eval)':>16} "
          f"{'test acc':>8}")
    for name, rec in records.items():
        for h in rec["history"]:
            print(f"{LABELS[name]:<24} {h['epoch']:>5} {h['train_loss']:>10.4f} {h['train_mode_acc']:>22.4f} "
                  f"{h['train_eval_acc']:>16.4f} {h['test_acc']:>8.4f}")
    final = {name: rec["history"][-1] for name, rec in records.items()}
    summary = {"data": data_desc, "epochs": epochs, "depth": args.depth, "lr": args.lr, "batch_size": args.batch_size,
               "nets": records, "final": final, "seconds": time.perf_counter() - start}
    plot(records, args.out / "noisy_bn.png",
         f"Noisy BN (Santurkar et al. §2.1), MLP 784-[100]×{args.depth}-10 on {data_desc.split(' (')[0]}, "
         f"SGD lr {args.lr}")
    write_json(args.out / "noisy_bn.json", summary)
    diverged = "".join(f"; {LABELS[n]} diverged in epoch {records[n]['diverged_epoch']}"
                       for n in NETS if "diverged_epoch" in records[n])
    print("\nfinal test accuracy: " + ", ".join(f"{LABELS[n]} {final[n]['test_acc']:.4f}" for n in NETS) + diverged
          + f"\n{summary['seconds']:.0f} s; wrote {args.out / 'noisy_bn.png'}")
    return summary


if __name__ == "__main__":
    run(main)

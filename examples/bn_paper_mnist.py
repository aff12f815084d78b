"""Ioffe & Szegedy (2015), Fig. 1: a 3×100 sigmoid MLP with and without batch normalization.

    python examples/bn_paper_mnist.py [--steps N] [--lr LR] [--init-std S] [--out DIR] [--quick]

Original experiment (paper §4.1): predict the digit class on MNIST with a network of 3 fully
connected hidden layers of 100 sigmoid units each, weights initialized to small random Gaussian
values, trained 50,000 steps with mini-batches of 60; the BN net adds BN to every hidden layer (before
the sigmoid). Fig. 1(a): test accuracy over steps (BN higher throughout, and it trains faster);
Fig. 1(b, c): the 15th, 50th and 85th percentiles of the input of one typical last-hidden-layer
sigmoid over training: without BN they drift (in mean and spread), with BN they stay stable.

Settings here: 784-100-100-100-10, sigmoid, weights ~ N(0, init_std²) with init_std = 0.1 (the paper
says only "small random Gaussian values"), biases 0, BN (minigrad's BatchNorm1d, PyTorch defaults)
between each hidden Linear and its sigmoid, plain SGD with lr 0.5 for both nets (the paper gives
neither optimizer nor learning rate), batch 60, cross-entropy loss. Every ``--eval-every`` steps:
eval-mode accuracy on the whole test set, and the percentiles of the input of last-hidden-layer
sigmoid unit ``--unit`` over the whole test set (for the BN net this is the BN output γ·x̂ + β).
Deviations: full Fashion-MNIST by default (``--dataset mnist`` if MNIST files are present);
10,000 steps by default instead of 50,000 (the curves have mostly flattened by then; ≈ 70 s of CPU on
one thread, ``--steps 50000 --eval-every 500`` for the paper's length).
Writes ``bn_paper_mnist.png`` and ``bn_paper_mnist.json`` into ``--out``. ``--quick``: 150 steps on
the bundled subset (tests).
"""
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.data import DataLoader  # noqa: E402
from _common import endless, load_data, make_parser, mlp, run, save_figure, train_step, write_json  # noqa: E402

PERCENTILES = (15, 50, 85)
NETS = ("plain", "bn")


def make_net(bn, init_std):
    return mlp([100, 100, 100], activation=nn.Sigmoid, norm=nn.BatchNorm1d if bn else None, init=init_std)


def probe(model, loader, unit):
    """Eval-mode test accuracy and the inputs of last-hidden-layer sigmoid ``unit`` over ``loader``."""
    last_sigmoid = [m for m in model if isinstance(m, nn.Sigmoid)][-1]
    model.eval()
    correct, seen, unit_inputs = 0, 0, []
    with minigrad.no_grad():
        for x, y in loader:
            for layer in model:
                if layer is last_sigmoid:
                    unit_inputs.append(x.data[:, unit].astype(np.float64))
                x = layer(x)
            correct += int((x.data.argmax(axis=1) == y.data).sum())
            seen += len(y)
    model.train()
    return correct / seen, np.concatenate(unit_inputs)


def train(model, train_loader, test_loader, steps, lr, eval_every, unit):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    record = {"steps": [], "test_acc": [], "percentiles": [], "losses": []}
    batches = endless(train_loader)
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            acc, inputs = probe(model, test_loader, unit)
            record["steps"].append(step)
            record["test_acc"].append(acc)
            record["percentiles"].append(np.percentile(inputs, PERCENTILES).tolist())
        if step == steps:
            break
        record["losses"].append(train_step(model, optimizer, *next(batches)))
    return record


def plot(records, path, title):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colors = {"plain": "tab:blue", "bn": "tab:red"}
    labels = {"plain": "without BN", "bn": "with BN"}
    for name, rec in records.items():
        axes[0].plot(rec["steps"], rec["test_acc"], color=colors[name], label=labels[name])
    axes[0].set(xlabel="training step", ylabel="test accuracy", title="(a) test accuracy")
    axes[0].grid(alpha=0.3)
    axes[0].legend()
    lo = min(np.min(rec["percentiles"]) for rec in records.values())
    hi = max(np.max(rec["percentiles"]) for rec in records.values())
    for ax, name, tag in ((axes[1], "plain", "(b)"), (axes[2], "bn", "(c)")):
        pct = np.asarray(records[name]["percentiles"])
        for j, q in enumerate(PERCENTILES):
            ax.plot(records[name]["steps"], pct[:, j], color=colors[name], lw=1.8 if q == 50 else 1,
                    ls="-" if q == 50 else "--", label=f"{q}th percentile")
        ax.set(xlabel="training step", ylabel="sigmoid input", ylim=(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)),
               title=f"{tag} {labels[name]}: one last-hidden-layer sigmoid's input")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="training steps per net (default 10000)")
    parser.add_argument("--batch-size", type=int, default=60)
    parser.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default 0.5)")
    parser.add_argument("--init-std", type=float, default=0.1, help="Gaussian weight init std (default 0.1)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--unit", type=int, default=0, help="which last-hidden-layer unit to follow")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    train_set, test_set, data_desc = load_data(args.dataset, small=args.quick)
    steps, eval_every = (150, 50) if args.quick else (args.steps, args.eval_every)
    print(f"Ioffe & Szegedy Fig. 1 on {data_desc}: 784-[100 sigmoid]x3-10, N(0, {args.init_std}²) init, "
          f"SGD lr {args.lr}, batch {args.batch_size}, {steps} steps")

    records = {}
    for name in NETS:
        minigrad.manual_seed(args.seed)  # same init draws and batch order for both nets
        model = make_net(name == "bn", args.init_std)
        t0 = time.perf_counter()
        records[name] = train(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
                              DataLoader(test_set, batch_size=1000), steps, args.lr, eval_every, args.unit)
        records[name]["seconds"] = time.perf_counter() - t0

    checkpoints = sorted({s for s in (steps // 20, steps // 10, steps // 4, steps // 2, steps)
                          if s in records["plain"]["steps"]})
    print(f"\n{'step':>7} {'plain acc':>9} {'BN acc':>7}   {'plain p15/p50/p85':>22}   {'BN p15/p50/p85':>22}")
    rows = []
    for s in checkpoints:
        i = records["plain"]["steps"].index(s)
        row = {"step": s, **{f"{n}_acc": records[n]["test_acc"][i] for n in NETS},
               **{f"{n}_percentiles": records[n]["percentiles"][i] for n in NETS}}
        rows.append(row)
        fmt = lambda p: "/".join(f"{v:6.2f}" for v in p)  # noqa: E731
        print(f"{s:>7} {row['plain_acc']:>9.4f} {row['bn_acc']:>7.4f}   {fmt(row['plain_percentiles']):>22}   "
              f"{fmt(row['bn_percentiles']):>22}")
    above = float(np.mean(np.asarray(records["bn"]["test_acc"][1:]) > np.asarray(records["plain"]["test_acc"][1:])))
    print(f"\nBN above plain at {above:.0%} of the evaluation points after step 0 (paper: throughout)")
    summary = {"data": data_desc, "steps": steps, "batch_size": args.batch_size, "lr": args.lr,
               "init_std": args.init_std, "unit": args.unit, "percentiles": list(PERCENTILES),
               "nets": records, "table": rows, "bn_above_fraction": above,
               "seconds": time.perf_counter() - start}
    plot(records, args.out / "bn_paper_mnist.png",
         f"3×100 sigmoid MLP with/without BN ({data_desc.split(' (')[0]}, SGD lr {args.lr}, batch {args.batch_size})")
    write_json(args.out / "bn_paper_mnist.json", summary)
    print(f"{summary['seconds']:.0f} s; wrote {args.out / 'bn_paper_mnist.png'}")
    return summary


if __name__ == "__main__":
    run(main)

"""Shared pieces of the example scripts: command line, data with the offline fallback, one training
epoch and one evaluation with progress bars, and a clear stop when the loss stops being finite.

Examples import it as ``from _common import ...`` (Python puts the script's directory on sys.path).
"""
import argparse
import contextlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.data import DataLoader, DatasetNotFoundError, progress
from minigrad.data.datasets import MNIST, FashionMNIST

OUT_DIR = Path(__file__).resolve().parent / "out"
DATASETS = {"fashion-mnist": FashionMNIST, "mnist": MNIST}


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the message says where and what to try."""


def make_parser(description, epochs=None):
    """The options every example has: --quick, --out, --seed, --quiet, --dataset, and --epochs
    unless ``epochs`` is None (the examples that count steps or iterations instead)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="a few batches on the bundled small subset (what the test suite runs)")
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default {OUT_DIR})")
    parser.add_argument("--seed", type=int, default=0, help="minigrad.manual_seed value (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="fashion-mnist")
    return parser


def load_data(name="fashion-mnist", small=False):
    """``(train, test, description)``: the full data set, or the bundled Fashion-MNIST subset when
    ``small`` is asked for or, with a printed notice, when the full Fashion-MNIST is not available.
    MNIST has no bundled subset: its absence raises ``DatasetNotFoundError``."""
    cls = DATASETS[name]
    if not small:
        try:
            train, test = cls(train=True), cls(train=False)
            return train, test, f"full {cls.title} ({len(train):,} train / {len(test):,} test, from {train.source})"
        except DatasetNotFoundError as exc:
            if cls is not FashionMNIST:
                raise
            todo = str(exc).split("Do one of these:")[-1]
            print("NOTICE: the full Fashion-MNIST is not available, so this run uses the SMALL SUBSET bundled "
                  "with minigrad (2,000 train / 1,000 test images). Its accuracies are not comparable to "
                  f"results on the full data set. To get the full set, do one of these:{todo}\n", flush=True)
    train, test = FashionMNIST(subset="small"), FashionMNIST(subset="small", train=False)
    return train, test, f"bundled Fashion-MNIST subset ({len(train):,} train / {len(test):,} test)"


def _batch_stats(logits, target):
    return int((logits.data.argmax(axis=1) == target.data).sum())


def train_epoch(model, loader, optimizer, scheduler=None, loss_fn=F.cross_entropy, desc="train", quiet=False,
                max_batches=None):
    """One pass over ``loader`` in training mode; ``scheduler.step()`` after every batch if given.

    Returns a dict: mean ``loss``, ``acc``, ``images_per_s``, ``seconds`` and the per-batch ``losses``.
    Raises :class:`NonFiniteLoss` as soon as a batch loss is NaN or infinite.
    """
    model.train()
    total = len(loader) if max_batches is None else min(max_batches, len(loader))
    losses, seen, correct, loss_sum = [], 0, 0, 0.0
    start = time.perf_counter()
    bar = progress(desc=desc, total=total, unit="batch", disable=quiet, leave=not quiet)
    with bar:
        for i, (x, y) in enumerate(loader):
            if i == total:
                break
            logits = model(x)
            loss = loss_fn(logits, y)
            value = loss.item()
            if not math.isfinite(value):
                lrs = ", ".join(f"{g['lr']:.3g}" for g in optimizer.param_groups)
                raise NonFiniteLoss(
                    f"{desc}: the loss became {value} at batch {i + 1}/{total} (learning rate {lrs}); training "
                    "stopped. Try a smaller learning rate, or check the inputs for NaN/inf."
                )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            n = len(y)
            seen += n
            correct += _batch_stats(logits, y)
            loss_sum += value * n
            losses.append(value)
            elapsed = time.perf_counter() - start
            # a dict keeps this order (tqdm sorts keyword arguments)
            bar.set_postfix({"loss": f"{loss_sum / seen:.4f}", "acc": f"{correct / seen:.4f}",
                             "img/s": f"{seen / elapsed:.0f}"}, refresh=False)
            bar.update(1)
    seconds = time.perf_counter() - start
    return {"loss": loss_sum / max(seen, 1), "acc": correct / max(seen, 1), "images_per_s": seen / seconds,
            "seconds": seconds, "losses": losses}


def evaluate(model, loader, loss_fn=F.cross_entropy, desc="eval", quiet=False):
    """Mean loss and accuracy over ``loader`` in eval mode without recording a graph; the model's
    training/eval mode is restored afterwards. Returns ``{"loss", "acc"}``."""
    was_training = model.training
    model.eval()
    seen, correct, loss_sum = 0, 0, 0.0
    try:
        with minigrad.no_grad():
            for x, y in progress(loader, desc=desc, unit="batch", disable=quiet, leave=False):
                logits = model(x)
                loss_sum += loss_fn(logits, y).item() * len(y)
                correct += _batch_stats(logits, y)
                seen += len(y)
    finally:
        model.train(was_training)
    return {"loss": loss_sum / max(seen, 1), "acc": correct / max(seen, 1)}


def loader_pair(train, test, batch_size, eval_batch_size=250):
    """Shuffled training loader (minigrad's global generator) and a sequential test loader (batches of
    250 by default: with larger ones the im2col buffers outgrow the cache and inference gets slower)."""
    return (DataLoader(train, batch_size=batch_size, shuffle=True),
            DataLoader(test, batch_size=eval_batch_size))


def run(main, argv=None):
    """Call ``main(argv)`` and turn the expected failures (missing data, diverged training) into one
    message on stderr and exit status 1 instead of a traceback."""
    try:
        return main(argv)
    except (DatasetNotFoundError, NonFiniteLoss) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def smooth(values, window):
    """Moving average (same length: shorter windows at the start), for noisy per-batch curves."""
    values = np.asarray(values, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (csum[end] - csum[start]) / (end - start)


def plot_batch_losses(ax, losses, steps_per_epoch, color="tab:blue", per_batch="per batch",
                      average="moving average"):
    """Per-batch training losses on ``ax`` against epochs: each batch faintly (unless ``per_batch``, its
    legend label, is None) and their moving average over a tenth of the run (1 to 50 batches)."""
    x = np.arange(1, len(losses) + 1) / steps_per_epoch
    if per_batch is not None:
        ax.plot(x, losses, color=color, alpha=0.25, lw=0.8, label=per_batch)
    ax.plot(x, smooth(losses, max(1, min(50, len(losses) // 10))), color=color, lw=1.5, label=average)


def mlp(hidden, activation=nn.ReLU, norm=None, in_features=784, classes=10, dropout=0.0, init=None):
    """``Flatten → [Linear → norm → activation → dropout] per width in hidden → Linear(classes)``;
    ``norm`` is a layer class taking the width (e.g. ``nn.BatchNorm1d``) or None; ``dropout`` > 0 adds
    ``nn.Dropout(dropout)`` after each hidden activation (the book's MultiLayerNetExtend); ``init``
    re-initializes every Linear with :func:`init_linear_` (None keeps PyTorch's default)."""
    layers, width = [nn.Flatten()], in_features
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if norm is not None:
            layers.append(norm(h))
        layers.append(activation())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    if init is not None:
        for layer in layers:
            if isinstance(layer, nn.Linear):
                init_linear_(layer, init)
    return nn.Sequential(*layers)


def init_linear_(linear, init):
    """The book's weight inits (§6.2) on a Linear: a number draws W from N(0, init²); ``"xavier"`` is
    ``nn.init.xavier_normal_`` (std √(2/(fan_in+fan_out)); the book's "Xavier" is √(1/fan_in), the same
    for square layers); ``"he"`` is ``kaiming_normal_`` for ReLU (std √(2/fan_in), as the book). The bias
    starts at 0, as in the book."""
    if init == "xavier":
        nn.init.xavier_normal_(linear.weight)
    elif init == "he":
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
    else:
        nn.init.normal_(linear.weight, std=float(init))
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
    return linear


def train_steps(model, loader, optimizer, steps, desc="train", quiet=False):
    """``steps`` optimizer steps with :func:`train_epoch` over as many passes of ``loader`` as needed
    (reshuffled each pass): the book's iteration-counted runs. Returns the per-batch losses."""
    losses = []
    while len(losses) < steps:
        losses += train_epoch(model, loader, optimizer, desc=desc, quiet=quiet,
                              max_batches=steps - len(losses))["losses"]
    return losses


def fit(model, optimizer, train_loader, epochs, eval_loaders, desc="fit", quiet=False, stop_on_nonfinite=False):
    """Train ``epochs`` epochs with :func:`train_epoch` and :func:`evaluate` on every ``{name: loader}`` of
    ``eval_loaders`` before training and after each epoch (the book's curves start at epoch 0).

    Returns ``{"losses": per-batch losses, "<name>_acc": [...], "<name>_loss": [...]}`` (epochs + 1
    entries each). With ``stop_on_nonfinite`` a NaN/inf loss ends the run instead of raising, and
    ``"diverged_epoch"`` says in which epoch (the curves then stop there).
    """
    history = {"losses": []}

    def record():
        for name, loader in eval_loaders.items():
            result = evaluate(model, loader, quiet=True)
            history.setdefault(f"{name}_acc", []).append(result["acc"])
            history.setdefault(f"{name}_loss", []).append(result["loss"])

    record()
    for epoch in progress(range(1, epochs + 1), desc=desc, unit="epoch", disable=quiet, leave=False):
        try:
            history["losses"] += train_epoch(model, train_loader, optimizer, quiet=True)["losses"]
        except NonFiniteLoss:
            if not stop_on_nonfinite:
                raise
            history["diverged_epoch"] = epoch
            break
        record()
    return history


def format_table(headers, rows):
    """A Markdown table (what the examples print and what RESULTS.md shows); floats get 4 decimals."""
    cells = [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def train_step(model, optimizer, x, y, loss_fn=F.cross_entropy):
    """One optimizer step on the batch ``(x, y)``; returns the loss value (no NaN check)."""
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def endless(loader):
    """Batches of ``loader`` forever, a new epoch (new shuffle) each pass: for step-counted training."""
    while True:
        yield from loader


@contextlib.contextmanager
def kept_buffers(model):
    """Run a block (e.g. a train-mode forward pass for a probe) and restore every buffer of ``model``
    (BatchNorm running statistics and batch counts) to its value before the block."""
    saved = [(b, b.data.copy()) for b in model.buffers() if b is not None]
    try:
        yield model
    finally:
        for b, value in saved:
            b.data[...] = value


def save_figure(fig, path, dpi=80):
    """Save and close a matplotlib figure (the committed plots in examples/results use dpi 80)."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_json(path, obj):
    """Write ``obj`` as indented JSON (numpy scalars and arrays converted) and return the path."""
    def convert(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        raise TypeError(f"not JSON serializable: {type(v).__name__}")

    Path(path).write_text(json.dumps(obj, indent=1, default=convert))
    return path

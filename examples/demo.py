"""minigrad's first demo (`make demo`): a small CNN on Fashion-MNIST, ≥ 0.90 test accuracy in minutes.

    python examples/demo.py [--epochs N] [--out DIR] [--quick] [--quiet]

Model: conv 1→16 3×3 + BatchNorm + max-pool 2 + ReLU, conv 16→32 3×3 + BatchNorm + max-pool 2 + ReLU,
dropout 0.25, linear 32·7·7→10 (20,538 parameters). AdamW with weight decay on the conv/linear
weights only (biases and BN parameters in a no-decay group), OneCycle learning-rate schedule stepped
every batch, batch 128.
Prints per-epoch train/test accuracy and the final eval-mode test accuracy; writes into ``--out`` the
checkpoint ``demo_cnn.safetensors`` (``minigrad.save`` of model and optimizer state), the trained
model as ONNX ``demo_cnn.onnx`` (eval mode, BatchNorm folded by ``nn.utils.fuse_bn``, any batch size;
run it with onnxruntime, see the README), the plot ``demo_curves.png`` and the numbers
``demo_summary.json``.

Uses the full Fashion-MNIST when it can be found (see ``minigrad.data.datasets``), otherwise the small
subset bundled with minigrad, with a notice. ``--quick`` trains a few batches on the subset (tests).
"""
import json
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import minigrad  # noqa: E402
import minigrad.onnx  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from _common import (evaluate, load_data, loader_pair, make_parser, plot_batch_losses, run,  # noqa: E402
                     save_figure, train_epoch)

QUICK_BATCHES = 25


def make_model(dropout=0.25):
    # Conv biases are off: the BatchNorm after each conv subtracts the mean, β is the bias.
    # MaxPool runs before ReLU: max and ReLU commute (both monotone), so the output is the same as
    # conv-BN-ReLU-pool while ReLU touches 4x fewer values.
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(32 * 7 * 7, 10),
    )


def export_onnx(model, path):
    """The eval-mode model with BN folded, as ONNX with a dynamic batch dim; None without the onnx package."""
    try:
        minigrad.onnx.export(nn.utils.fuse_bn(model), minigrad.zeros(1, 1, 28, 28), path,
                             dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    except ImportError as err:
        print(f"no ONNX export: {err}")
        return None
    return path


def plot(history, batch_losses, path, title):
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = [h["epoch"] for h in history]
    plot_batch_losses(ax_loss, batch_losses, len(batch_losses) / max(len(history), 1),
                      per_batch="train (per batch)", average="train (moving average)")
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "o-", color="tab:orange", label="test (eval mode)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [h["train_acc"] for h in history], "o-", label="train (train mode, during the epoch)")
    ax_acc.plot(epochs, [h["test_acc"] for h in history], "o-", label="test (eval mode)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0], epochs=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-3, help="OneCycle peak learning rate (default 5e-3)")
    parser.add_argument("--weight-decay", type=float, default=5e-2)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    minigrad.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    train, test, data_desc = load_data(args.dataset, small=args.quick)
    train_loader, test_loader = loader_pair(train, test, args.batch_size)
    epochs = 1 if args.quick else args.epochs
    steps_per_epoch = min(QUICK_BATCHES, len(train_loader)) if args.quick else len(train_loader)

    model = make_model()
    optimizer = optim.AdamW(optim.param_groups_no_decay(model, args.weight_decay), lr=args.lr)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=epochs * steps_per_epoch)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"data: {data_desc}")
    print(f"model: {n_params:,} parameters; {epochs} epoch(s) of {steps_per_epoch} batches of {args.batch_size}; "
          f"kernels: {minigrad.config()['kernels']}, threads: {minigrad.get_num_threads()}")

    history, batch_losses = [], []
    for epoch in range(1, epochs + 1):
        tr = train_epoch(model, train_loader, optimizer, scheduler, desc=f"epoch {epoch}/{epochs}",
                         quiet=args.quiet, max_batches=steps_per_epoch)
        te = evaluate(model, test_loader, desc="test", quiet=args.quiet)
        batch_losses += tr["losses"]
        history.append({"epoch": epoch, "train_loss": tr["loss"], "train_acc": tr["acc"], "test_loss": te["loss"],
                        "test_acc": te["acc"], "images_per_s": tr["images_per_s"], "seconds": tr["seconds"]})
        print(f"epoch {epoch}/{epochs}: train loss {tr['loss']:.4f} acc {tr['acc']:.4f} | test loss "
              f"{te['loss']:.4f} acc {te['acc']:.4f} | {tr['images_per_s']:.0f} images/s, {tr['seconds']:.1f} s",
              flush=True)

    # evaluate() ran the last epoch's test pass with model.eval(): that is the final eval-mode accuracy,
    # so it is not computed twice. The model is left in eval mode, as saved.
    model.eval()
    final = te
    checkpoint = args.out / "demo_cnn.safetensors"
    minigrad.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epochs,
                   "test_acc": final["acc"]}, checkpoint)
    exported = export_onnx(model, args.out / "demo_cnn.onnx")
    curves = args.out / "demo_curves.png"
    plot(history, batch_losses, curves, f"minigrad demo CNN on {data_desc.split(' (')[0]}")
    wall = time.perf_counter() - start
    summary = {"data": data_desc, "test_acc": final["acc"], "test_loss": final["loss"], "epochs": history,
               "batch_losses": batch_losses, "wall_seconds": wall, "checkpoint": str(checkpoint),
               "curves": str(curves), "onnx": exported and str(exported)}
    (args.out / "demo_summary.json").write_text(json.dumps(summary, indent=1))
    print(f"final test accuracy (model.eval()): {final['acc']:.4f}  [{data_desc}]")
    print(f"wrote {checkpoint}, {exported or '(no ONNX file)'} and {curves}; total {wall:.0f} s")
    return summary


if __name__ == "__main__":
    run(main, sys.argv[1:])

"""Santurkar et al. (2018) "How does batch normalization help optimization?", §3 and Fig. 4: the
loss landscape along the gradient, with and without BN.

    python examples/bn_smoothness.py [--steps N] [--lr LR] [--probe-every K] [--out DIR] [--quick]

Original experiment: VGG on CIFAR-10 with and without BN, same learning rate. At steps during
training, from the current parameters θ with batch gradient g = ∇L(θ), move along the gradient to
θ − η·g for a range of step sizes η (without changing the training run) and record, on the same
batch: (a) the loss L(θ − η·g) ("loss landscape": its range over η), (b) the ℓ2 change of the
gradient ‖∇L(θ − η·g) − ∇L(θ)‖ ("gradient predictiveness"), and (c) the "effective β-smoothness"
max_η ‖∇L(θ − η·g) − ∇L(θ)‖ / ‖η·g‖. Claim: with BN the loss varies much less along the gradient,
the gradient changes less, and β is smaller: a smoother landscape.

β-smoothness proper is a bound on the Hessian: ‖∇L(a) − ∇L(b)‖ ≤ β‖a − b‖ holds with β = the largest
|eigenvalue| of ∇²L. So every ``--hessian-every`` steps the probe also measures the top eigenvalue of
the batch loss's Hessian in all the parameters directly, by power iteration on Hessian-vector
products (``--power-iters`` of them, each a backward through a ``create_graph`` backward), without
ever forming the Hessian.

Settings here: MLP 784-[100]×6-10 ReLU (BN between each hidden Linear and its ReLU), He init
(N(0, 2/fan_in), biases 0), plain SGD lr 0.1, batch 128, 4,000 steps (≈ 8.5 epochs), the same seed (init and
batch order) for both nets; every 50 steps a probe at η = lr·{0.5, 1, 1.5, …, 4} (8 step sizes,
NUMERICS.md's range), every 200 steps the top Hessian eigenvalue (20 power iterations). Probes use the network in training mode (batch statistics, as the step
itself does) and leave parameters and running statistics exactly as they were.
Deviations: an MLP on full Fashion-MNIST instead of VGG on CIFAR-10 (compute budget of this shared
2-core machine). Writes ``bn_smoothness.png`` and ``bn_smoothness.json``. ``--quick``: 60 steps on the
bundled subset (tests).
"""
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import autograd, nn, optim  # noqa: E402
from minigrad.data import DataLoader  # noqa: E402
from _common import (endless, kept_buffers, load_data, make_parser, mlp, run, save_figure, train_step,  # noqa: E402
                     write_json)

NETS = ("plain", "bn")
LABELS = {"plain": "standard (no BN)", "bn": "standard + BN"}
COLORS = {"plain": "tab:blue", "bn": "tab:red"}


def loss_and_grad(model, x, y):
    """Batch loss and the flat gradient of all parameters (float64)."""
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.item(), np.concatenate([p.grad.data.ravel().astype(np.float64) for p in model.parameters()])


def top_hessian_eigenvalue(model, x, y, iters, seed=0):
    """The largest-magnitude eigenvalue λ of ∇²L(θ) on this batch: power iteration v ← Hv / ‖Hv‖ on
    Hessian-vector products Hv = ∂⟨∇L, v⟩/∂θ (the gradient recorded with create_graph, then
    differentiated along v); λ = vᵀHv, the Rayleigh quotient of the last unit v."""
    params = list(model.parameters())
    rng = np.random.default_rng(seed)
    with kept_buffers(model):
        grads = autograd.grad(F.cross_entropy(model(x), y), params, create_graph=True)
        v = [rng.standard_normal(p.shape) for p in params]
        lam = 0.0
        for _ in range(iters):
            norm = np.sqrt(sum(float((u * u).sum()) for u in v))
            v = [u / norm for u in v]
            hv = autograd.grad(grads, params, grad_outputs=[minigrad.tensor(u, dtype=p.dtype) for u, p in zip(v, params)],
                               retain_graph=True)
            lam = sum(float((h.data.astype(np.float64) * u).sum()) for h, u in zip(hv, v))
            v = [h.data.astype(np.float64) for h in hv]
    return lam


def probe(model, x, y, etas):
    """Loss, gradient change and effective β-smoothness along −g for each step size in ``etas``;
    parameters and BN buffers are restored afterwards."""
    params = list(model.parameters())
    saved = [p.data.copy() for p in params]
    with kept_buffers(model):
        loss0, g0 = loss_and_grad(model, x, y)
        grads = [p.grad.data.copy() for p in params]
        losses, changes, betas = [], [], []
        try:
            for eta in etas:
                for p, w, g in zip(params, saved, grads):
                    p.data[...] = w - eta * g
                loss, g = loss_and_grad(model, x, y)
                change = float(np.linalg.norm(g - g0))
                losses.append(loss)
                changes.append(change)
                betas.append(change / (eta * float(np.linalg.norm(g0))))
        finally:
            for p, w in zip(params, saved):
                p.data[...] = w
    model.zero_grad()
    return {"loss": loss0, "grad_norm": float(np.linalg.norm(g0)), "losses": losses, "grad_changes": changes,
            "beta": max(betas)}


def train(model, loader, steps, lr, probe_every, etas, hessian_every, power_iters):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    batches = endless(loader)
    rec = {"losses": [], "probes": [], "hessian": []}
    for step in range(steps):
        x, y = next(batches)
        if step % probe_every == 0:
            rec["probes"].append({"step": step, **probe(model, x, y, etas)})
        if step % hessian_every == 0:
            rec["hessian"].append({"step": step, "top_eigenvalue": top_hessian_eigenvalue(model, x, y, power_iters)})
        rec["losses"].append(train_step(model, optimizer, x, y))
    return rec


def phase_stats(rec, lo, hi):
    """Means over the probes with lo ≤ step < hi: loss range over η, largest gradient change, β, and
    the top Hessian eigenvalue."""
    sel = [p for p in rec["probes"] if lo <= p["step"] < hi]
    eig = [h["top_eigenvalue"] for h in rec["hessian"] if lo <= h["step"] < hi]
    return {"loss_range": float(np.mean([max(p["losses"]) - min(p["losses"]) for p in sel])),
            "grad_change": float(np.mean([max(p["grad_changes"]) for p in sel])),
            "beta": float(np.mean([p["beta"] for p in sel])),
            "top_eigenvalue": float(np.mean(eig)) if eig else float("nan")}


def plot(records, path, title):
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    for name, rec in records.items():
        steps = [p["step"] for p in rec["probes"]]
        for ax, key in ((axes[0], "losses"), (axes[1], "grad_changes")):
            values = np.array([p[key] for p in rec["probes"]])
            ax.fill_between(steps, values.min(axis=1), values.max(axis=1), color=COLORS[name], alpha=0.35,
                            label=LABELS[name])
        axes[2].plot(steps, [p["beta"] for p in rec["probes"]], color=COLORS[name], label=LABELS[name])
        axes[3].plot([h["step"] for h in rec["hessian"]], [h["top_eigenvalue"] for h in rec["hessian"]], "o-",
                     ms=3, color=COLORS[name], label=LABELS[name])
    axes[0].set(title="(a) loss landscape: L(θ − η·g) over η", ylabel="loss")
    axes[1].set(title="(b) gradient predictiveness", ylabel="‖∇L(θ − η·g) − ∇L(θ)‖", yscale="log")
    axes[2].set(title='(c) "effective" β-smoothness', ylabel="max_η ‖Δ∇L‖ / ‖η·g‖", yscale="log")
    axes[3].set(title="(d) top eigenvalue of ∇²L (power iteration)", ylabel="λ_max")
    for ax in axes:
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--depth", type=int, default=6, help="hidden layers of 100 units (default 6)")
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--hessian-every", type=int, default=200, help="steps between eigenvalue probes (default 200)")
    parser.add_argument("--power-iters", type=int, default=20, help="HVPs per eigenvalue probe (default 20)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    train_set, _, data_desc = load_data(args.dataset, small=args.quick)
    steps, probe_every, hessian_every = (60, 20, 30) if args.quick else (args.steps, args.probe_every,
                                                                         args.hessian_every)
    etas = [args.lr * k for k in np.arange(0.5, 4.01, 0.5)]
    print(f"loss landscape along the gradient on {data_desc}: 784-[100]x{args.depth}-10 ReLU, SGD lr {args.lr}, "
          f"batch {args.batch_size}, {steps} steps, probes every {probe_every} at η = lr·[0.5 … 4]")

    records = {}
    for name in NETS:
        minigrad.manual_seed(args.seed)  # same init and batch order for both nets
        model = mlp([100] * args.depth, norm=nn.BatchNorm1d if name == "bn" else None, init="he")
        t0 = time.perf_counter()
        records[name] = train(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True), steps,
                              args.lr, probe_every, etas, hessian_every, args.power_iters)
        records[name]["seconds"] = time.perf_counter() - t0

    bounds = [(0, steps // 10), (steps // 10, steps // 2), (steps // 2, steps)]
    table = []
    print(f"\n{'steps':>12} {'net':<18} {'loss range':>10} {'max ‖Δgrad‖':>12} {'β_eff':>9} {'λ_max(∇²L)':>11}")
    for lo, hi in bounds:
        stats = {name: phase_stats(records[name], lo, hi) for name in NETS}
        ratios = {k: stats["plain"][k] / stats["bn"][k] for k in stats["bn"]}
        table.append({"steps": [lo, hi], **stats, "plain_over_bn": ratios})
        for name in NETS:
            s = stats[name]
            print(f"{f'{lo}–{hi}':>12} {LABELS[name]:<18} {s['loss_range']:>10.4f} {s['grad_change']:>12.4f} "
                  f"{s['beta']:>9.3f} {s['top_eigenvalue']:>11.2f}")
        print(f"{'':>12} {'plain / BN':<18} {ratios['loss_range']:>10.1f} {ratios['grad_change']:>12.1f} "
              f"{ratios['beta']:>9.1f} {ratios['top_eigenvalue']:>11.2f}")
    summary = {"data": data_desc, "steps": steps, "lr": args.lr, "etas": etas, "depth": args.depth,
               "hessian_every": hessian_every, "power_iters": args.power_iters,
               "batch_size": args.batch_size, "nets": records, "table": table,
               "seconds": time.perf_counter() - start}
    plot(records, args.out / "bn_smoothness.png",
         f"Along the gradient (Santurkar et al. Fig. 4), MLP 784-[100]×{args.depth}-10 on "
         f"{data_desc.split(' (')[0]}, SGD lr {args.lr}")
    write_json(args.out / "bn_smoothness.json", summary)
    print(f"{summary['seconds']:.0f} s; wrote {args.out / 'bn_smoothness.png'}")
    return summary


if __name__ == "__main__":
    run(main)

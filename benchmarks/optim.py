"""Optimizer step: ``optimizer.step()`` over the parameters of the 784-[H]×5-10 BN MLP, minigrad vs
torch.optim, float32, interleaved in one process (``harness.compare``).

    python -m benchmarks.optim [--quick]

The parameter list has the model's shapes — per hidden layer W (H, in), b (H,), BatchNorm γ (H,) and
β (H,); then W (10, H), b (10,) — with fixed random gradients, so only the update is timed (no
forward/backward). H = 100 is the seed's network (0.12 M parameters, 22 tensors); H = 300 is the
≈ 0.6 M-parameter variant. Candidates: minigrad (the fused update of ``_ops/optim.pyx``), torch's
default (single-tensor loop on CPU), and torch with ``foreach=True`` for reference. Each case runs
with 2 threads, and the H = 100 cases also with 1 thread (not in QUICK): on a host whose cores are
shared with other jobs a 2-thread parallel region can wait a whole scheduler time slice for its
second thread, so the 1-thread rows are the stable ones there. Acceptance: minigrad ≤ 1.2 × torch for SGD-momentum and Adam.
"""
import itertools

import numpy as np

from . import harness

SECTION = "optim"
OPTIMIZERS = {
    "SGD-momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "Adam": ("Adam", {"lr": 1e-3}),
    "AdamW": ("AdamW", {"lr": 1e-3, "weight_decay": 1e-2}),
}


def mlp_shapes(hidden):
    """Parameter shapes of 784-[hidden]×5-10 with BatchNorm1d after each hidden Linear."""
    shapes, width = [], 784
    for _ in range(5):
        shapes += [(hidden, width), (hidden,), (hidden,), (hidden,)]
        width = hidden
    return shapes + [(10, hidden), (10,)]


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s, dtype=np.float32) * 0.05, rng.standard_normal(s, dtype=np.float32) * 1e-3)
            for s in shapes]


def _minigrad_step(shapes, opt_name, kwargs):
    import minigrad
    from minigrad import nn, optim

    params = []
    for value, grad in _arrays(shapes):
        p = nn.Parameter(minigrad.tensor(value))
        p.grad = minigrad.tensor(grad)
        params.append(p)
    return getattr(optim, opt_name)(params, **kwargs).step


def _torch_step(shapes, opt_name, kwargs, **extra):
    import torch

    params = []
    for value, grad in _arrays(shapes):
        p = torch.nn.Parameter(torch.from_numpy(value))
        p.grad = torch.from_numpy(grad)
        params.append(p)
    return getattr(torch.optim, opt_name)(params, **kwargs, **extra).step


def run(quick=False):
    rows = []
    hiddens = [100] if quick else [100, 300]
    names = ["SGD-momentum", "Adam"] if quick else list(OPTIMIZERS)
    for hidden, name, threads in itertools.product(hiddens, names, (1, 2)):
        if threads == 1 and (quick or hidden != 100):  # the time budget: 1 thread for the seed's net only
            continue
        shapes = mlp_shapes(hidden)
        n_params = int(sum(np.prod(s) for s in shapes))
        opt_name, kwargs = OPTIMIZERS[name]
        case = (f"{name}, 784-[{hidden}]×5-10 BN MLP ({n_params / 1e6:.2f} M params, {len(shapes)} tensors), "
                f"{threads} thread{'s' if threads > 1 else ''}")
        try:
            cands = {"minigrad": _minigrad_step(shapes, opt_name, kwargs)}
        except Exception as e:  # noqa: BLE001  optimizer not available
            rows.append(harness.skipped(SECTION, case, harness.not_available(e)))
            continue
        try:
            cands["torch"] = _torch_step(shapes, opt_name, kwargs)
            cands["torch-foreach"] = _torch_step(shapes, opt_name, kwargs, foreach=True)
        except ImportError as e:
            note = harness.not_available(e)
        else:
            note = "torch: default (single-tensor loop on CPU); torch-foreach: foreach=True"
        res = harness.compare(cands, threads=threads)
        rows.append(harness.row(SECTION, case, res, params=n_params, note=note))
    return rows


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.optim", __doc__, argv)

if __name__ == "__main__":
    main()

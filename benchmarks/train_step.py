"""End-to-end rows: one training step (forward + backward + optimizer step) of whole models, batch 100,
float32, 2 threads — minigrad on its compiled kernels, minigrad on its numpy reference kernels, torch.

Each model is built by one function from a PyTorch-style namespace, called once with ``minigrad.nn``
and once with ``torch.nn``, so both frameworks run the same architecture with the same code:

(a) MLP 784-[100]×5-10 with BatchNorm1d + ReLU, SGD(lr=0.01);
(b) the book's SimpleConvNet: conv 30@5×5 → ReLU → maxpool 2 → Linear(30·12·12, 100) → ReLU →
    Linear(100, 10), Adam(lr=1e-3);
(c) the demo CNN of ``examples/demo.py`` (its model builder, translated layer by layer to torch),
    AdamW(lr=1e-3, weight_decay=0.01) on all parameters;
and in a full run also (a) and (b) at 1 thread. Inference of these models is the ``infer`` section
(``benchmarks/inference.py``).

A model whose layers are not available yet is reported as "not available: <error>", not measured.
"""
import importlib.util
import inspect
import os
import sys

import numpy as np

from . import harness

SECTION = "train"
BATCH = 100
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Lib:
    """The PyTorch-style names a benchmark needs, from minigrad or from torch."""

    def __init__(self, name):
        if name == "torch":
            import torch as mod
        else:
            import minigrad as mod
            import minigrad.optim  # noqa: F401
        self.name, self.mod = name, mod
        self.nn, self.optim = mod.nn, mod.optim
        self.F = mod.nn.functional

    def tensor(self, array):
        return self.mod.from_numpy(array)

    def no_grad(self):
        return self.mod.no_grad()


def mlp_bn(nn):
    """(a) 784-[100]×5-10, each hidden layer Linear → BatchNorm1d → ReLU."""
    layers, width = [], 784
    for _ in range(5):
        layers += [nn.Linear(width, 100), nn.BatchNorm1d(100), nn.ReLU()]
        width = 100
    return nn.Sequential(*layers, nn.Linear(100, 10))


def simple_convnet(nn):
    """(b) The book's SimpleConvNet (ch. 7) for 1×28×28 input."""
    return nn.Sequential(
        nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10),
    )


# ---------------------------------------------------------------- the demo CNN

DEMO = os.path.join(REPO, "examples", "demo.py")
DEMO_BUILDERS = ("build_model", "make_model", "create_model", "build_cnn", "make_cnn", "DemoCNN", "CNN", "Net")


def demo_builder():
    """The model builder of examples/demo.py: the first of DEMO_BUILDERS it defines that can be
    called without arguments (importing demo.py must not train: its work is under __main__)."""
    if not os.path.exists(DEMO):
        raise ImportError(f"{os.path.relpath(DEMO, REPO)} does not exist yet")
    spec = importlib.util.spec_from_file_location("minigrad_demo_for_bench", DEMO)
    demo = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(DEMO))  # as when run as a script: it imports its siblings
    try:
        spec.loader.exec_module(demo)
    finally:
        sys.path.remove(os.path.dirname(DEMO))
    for name in DEMO_BUILDERS:
        fn = getattr(demo, name, None)
        if callable(fn) and all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                                for p in inspect.signature(fn).parameters.values()):
            return fn
    raise ImportError(f"examples/demo.py defines none of {', '.join(DEMO_BUILDERS)} callable without arguments")


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else v


# minigrad module → the equivalent torch module, read from the PyTorch-named attributes.
_TORCH_TWINS = {
    "Linear": lambda m, nn: nn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
    "Conv2d": lambda m, nn: nn.Conv2d(m.in_channels, m.out_channels, _pair(m.kernel_size), stride=_pair(m.stride),
                                      padding=_pair(m.padding), dilation=_pair(m.dilation), groups=m.groups,
                                      bias=m.bias is not None),
    "BatchNorm1d": lambda m, nn: nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum,
                                                affine=m.affine, track_running_stats=m.track_running_stats),
    "BatchNorm2d": lambda m, nn: nn.BatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum,
                                                affine=m.affine, track_running_stats=m.track_running_stats),
    "MaxPool2d": lambda m, nn: nn.MaxPool2d(_pair(m.kernel_size), _pair(m.stride), _pair(m.padding)),
    "AvgPool2d": lambda m, nn: nn.AvgPool2d(_pair(m.kernel_size), _pair(m.stride), _pair(m.padding)),
    "AdaptiveAvgPool2d": lambda m, nn: nn.AdaptiveAvgPool2d(_pair(m.output_size)),
    "Dropout": lambda m, nn: nn.Dropout(m.p),
    "Dropout2d": lambda m, nn: nn.Dropout2d(m.p),
    "Flatten": lambda m, nn: nn.Flatten(m.start_dim, m.end_dim),
    "Identity": lambda m, nn: nn.Identity(),
    "ReLU": lambda m, nn: nn.ReLU(),
    "Tanh": lambda m, nn: nn.Tanh(),
    "Sigmoid": lambda m, nn: nn.Sigmoid(),
    "GELU": lambda m, nn: nn.GELU(),
    "SiLU": lambda m, nn: nn.SiLU(),
}


def to_torch(module, nn):
    """The torch twin of a minigrad model made of Sequential containers and the layers above."""
    kind = type(module).__name__
    if kind == "Sequential":
        return nn.Sequential(*(to_torch(child, nn) for child in module.children()))
    if kind not in _TORCH_TWINS:
        raise NotImplementedError(f"no torch twin for minigrad layer {kind} (only Sequential models "
                                  "of standard layers are translated)")
    return _TORCH_TWINS[kind](module, nn)


# ---------------------------------------------------------------- steps

def train_step(lib, model, opt, x, t):
    F = lib.F

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
    return step


def inputs(shape, seed=0):
    """A fixed float32 batch (BATCH, *shape) and its int64 class targets."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, *shape), dtype=np.float32)
    t = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, t


MODELS = {
    # key: (case label, builder taking nn, input shape, optimizer name, optimizer kwargs)
    "mlp": ("(a) MLP 784-[100]×5-10, BN + ReLU, SGD", mlp_bn, (784,), "SGD", {"lr": 0.01}),
    "cnn": ("(b) SimpleConvNet, Adam", simple_convnet, (1, 28, 28), "Adam", {"lr": 1e-3}),
    "demo": ("(c) demo CNN (examples/demo.py), AdamW", None, (1, 28, 28), "AdamW",
             {"lr": 1e-3, "weight_decay": 0.01}),
}


def build(lib, key):
    """(model, optimizer) for framework ``lib``; the demo model is built by minigrad's builder and
    translated for torch."""
    _, builder, _, opt_name, opt_kwargs = MODELS[key]
    if key == "demo":
        import minigrad
        model = demo_builder()()
        if lib.name == "torch":
            model = to_torch(model, lib.nn)
        elif not isinstance(model, minigrad.nn.Module):
            raise TypeError(f"the demo builder returned {type(model).__name__}, not a minigrad Module")
    else:
        model = builder(lib.nn)
    model.train()
    return model, getattr(lib.optim, opt_name)(model.parameters(), **opt_kwargs)


def candidates(key, make_fn):
    """(name → Candidate, name → build error) for minigrad compiled, minigrad numpy-ref and torch."""
    from minigrad import _ops

    cands, errors = {}, {}
    for name, lib_name, backend in (("minigrad", "minigrad", "compiled"), ("numpy-ref", "minigrad", "numpy"),
                                    ("torch", "torch", None)):
        try:
            lib = Lib(lib_name)
            lib.mod.manual_seed(0)
            fn = make_fn(lib, key)
        except Exception as e:  # noqa: BLE001  a layer or optimizer not written yet
            errors[name] = harness.not_available(e)
            continue
        context = (lambda b=backend: _ops.use_backend(b)) if backend else None
        cands[name] = harness.Candidate(fn, context)
    return cands, errors


def train_fn(lib, key):
    model, opt = build(lib, key)
    x, t = inputs(MODELS[key][2])
    return train_step(lib, model, opt, lib.tensor(x), lib.tensor(t))


def run(quick=False):
    """Every model at 2 threads; in a full run also (a) and (b) at 1 thread (a shared machine
    disturbs 2-thread figures most)."""
    jobs = [(key, MODELS[key][0], train_fn, 2) for key in MODELS]
    if not quick:
        jobs += [(key, MODELS[key][0], train_fn, 1) for key in ("mlp", "cnn")]
    return run_jobs(jobs)


def run_jobs(jobs, section=SECTION):
    """Rows of ``section`` for (model key, case label, ``make_fn(lib, key)`` → step, threads) jobs:
    minigrad compiled, numpy-ref and torch timed interleaved."""
    rows = []
    for key, case, make_fn, threads in jobs:
        cands, errors = candidates(key, make_fn)
        if "minigrad" not in cands:
            rows.append(harness.skipped(section, case, errors["minigrad"]))
            continue
        notes = [f"{name}: {err}" for name, err in errors.items()]
        res = harness.compare(cands, threads=threads)
        speedup = harness.paired_ratio(res, "numpy-ref", "minigrad")
        extra = {"numpy-ref / minigrad": f"{speedup['median']:.2f}×" if speedup else ""}
        shares = {}
        if key == "cnn" and make_fn is train_fn:  # issue #8's numpy-ref target is on (b): where time goes
            with harness.use_threads(threads):
                shares = {name: kernel_shares(cands[name]) for name in ("numpy-ref", "minigrad") if name in cands}
            notes += [f"{name} time by kernel (cProfile, {PROFILE_STEPS} steps): " + ", ".join(
                f"{k} {v:.0%}" for k, v in list(sh.items())[:6]) + f", other (Python, autograd) "
                f"{1 - sum(sh.values()):.0%}" for name, sh in shares.items()]
        rows.append(harness.row(section, case, res, batch=BATCH, note="; ".join(notes) or None, extra=extra,
                                compiled_speedup=speedup, kernel_shares=shares))
    return rows


PROFILE_STEPS = 3


def kernel_shares(cand):
    """Share of a candidate's step time inside each kernel door of ``minigrad._ops`` (the functions of
    its ``__init__.py``, which run the compiled kernel or its numpy twin), from cProfile over
    PROFILE_STEPS steps, largest first; the remainder is Python: layers, autograd, optimizer loop.
    Profiling slows the Python part more than the kernels, so the kernel shares are lower bounds."""
    import cProfile
    import pstats

    from minigrad import _ops

    doors = os.path.abspath(_ops.__file__)
    prof = cProfile.Profile()
    with cand.context():
        cand.fn()
        prof.enable()
        for _ in range(PROFILE_STEPS):
            cand.fn()
        prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(v[2] for v in stats.values())  # Σ own time = the profiled wall time
    shares = {}
    for (path, _, name), (_, _, _, _, callers) in stats.items():
        if os.path.abspath(path) == doors and not name.startswith(("_", "<")):  # public doors only
            # time of calls from outside the doors (a door calling a door is counted once)
            t = sum(c[3] for caller, c in callers.items() if os.path.abspath(caller[0]) != doors)
            if t > 0:
                shares[name] = shares.get(name, 0.0) + t / total
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))

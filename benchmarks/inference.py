"""Inference rows: ``model.eval()`` under ``no_grad``, batch 100, float32, 2 threads: minigrad on its
compiled kernels, on its numpy reference kernels, and torch.

The models of the train section: (a) the MLP 784-[100]×5-10 with BatchNorm1d + ReLU and (c) the demo
CNN of ``examples/demo.py``, each as built and with every BatchNorm folded into the Linear/Conv2d
before it (minigrad's ``nn.utils.fuse_bn``; torch gets the same folding from
``torch.nn.utils.fusion``, so those rows compare like with like). Issue #23's targets: (a) ≤ 1.0×
torch, (c) BN folded ≤ 0.8× torch.
"""
import functools

from . import harness, train_step

SECTION = "infer"


def inference(lib, model, x):
    model.eval()

    def infer():
        with lib.no_grad():
            model(x)
    return infer


def fold_bn(lib, model):
    """``model`` (eval mode) with each BatchNorm that follows a Linear/Conv2d folded into it: minigrad's
    ``nn.utils.fuse_bn``, or for torch the same pairs through ``torch.nn.utils.fusion``."""
    if lib.name != "torch":
        return lib.nn.utils.fuse_bn(model)
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
    nn, layers = lib.nn, []
    for m in model:
        if layers and isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and isinstance(layers[-1], (nn.Linear, nn.Conv2d)):
            fuse = fuse_linear_bn_eval if isinstance(layers[-1], nn.Linear) else fuse_conv_bn_eval
            layers[-1] = fuse(layers[-1], m)
        else:
            layers.append(m)
    return nn.Sequential(*layers).eval()


def infer_fn(lib, key, fused=False):
    """The inference step of model ``key`` (a train_step.MODELS key) on its fixed batch."""
    model, _ = train_step.build(lib, key)
    x, _ = train_step.inputs(train_step.MODELS[key][2])
    model.eval()
    return inference(lib, fold_bn(lib, model) if fused else model, lib.tensor(x))


def run(quick=False):
    """The four rows at 2 threads (each a millisecond or so: QUICK runs them too)."""
    jobs = []
    for key, name in (("mlp", "(a) MLP"), ("demo", "(c) demo CNN")):
        jobs += [(key, f"{name} inference: eval() + no_grad", infer_fn, 2),
                 (key, f"{name} inference, BN folded (fuse_bn)", functools.partial(infer_fn, fused=True), 2)]
    return train_step.run_jobs(jobs, SECTION)


def main(argv=None):
    harness.module_main(run, "python -m benchmarks.inference", __doc__, argv)


if __name__ == "__main__":
    main()

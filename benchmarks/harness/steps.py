"""Framework steps: forward + backward of one function on fixed inputs, in minigrad (compiled and
numpy kernels) and torch, as candidates for :func:`~benchmarks.harness.timing.compare`."""
from .process import optional_torch
from .timing import Candidate, paired_ratio

def fwd_bwd(mod, fn, arrays, grad):
    """forward + backward of ``fn(*tensors)`` in framework ``mod`` (minigrad or torch) on fixed inputs
    (each requiring grad) and a fixed upstream gradient; ``fn`` may be a module, whose parameter
    gradients are reset too, so every call does the same work."""
    tensors = [mod.from_numpy(a).requires_grad_() for a in arrays]
    params = list(fn.parameters()) if hasattr(fn, "parameters") else []
    g = mod.from_numpy(grad)

    def step():
        for t in tensors + params:
            t.grad = None
        fn(*tensors).backward(g)
    return step


def step_candidates(fn_minigrad, make_torch_fn, arrays, grad, numpy_ref=True):
    """``minigrad`` (compiled kernels), ``numpy-ref`` (the same step on minigrad's numpy reference
    kernels, unless numpy_ref=False) and ``torch`` (``make_torch_fn(torch)``, if torch is installed)
    candidates of :func:`fwd_bwd`."""
    import minigrad
    from minigrad import _ops

    step = fwd_bwd(minigrad, fn_minigrad, arrays, grad)
    cands = {"minigrad": Candidate(step, lambda: _ops.use_backend("compiled"))}
    if numpy_ref:
        cands["numpy-ref"] = Candidate(step, lambda: _ops.use_backend("numpy"))
    torch = optional_torch()
    if torch is not None:
        cands["torch"] = fwd_bwd(torch, make_torch_fn(torch), arrays, grad)
    return cands


def speedup_extra(res, slower="numpy-ref", label=None):
    """The ``<slower> / minigrad`` column (or ``label``): how much faster the compiled kernels are
    than candidate ``slower`` (paired median ratio)."""
    s = paired_ratio(res, slower, "minigrad")
    return {label or f"{slower} / minigrad": f"{s['median']:.2f}×" if s else ""}

"""Check analytic gradients against central finite differences, in float64: first derivatives
(``gradcheck``) and second derivatives, through ``create_graph`` (``gradgradcheck``)."""
import numpy as np

from ..autograd import enable_grad
from ..autograd import grad as autograd_grad
from ..autograd import no_grad
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare d(fn)/d(input) from backward with (f(x + eps) − f(x − eps)) / (2·eps).

    ``inputs``: tuple of Tensors (float64 recommended; those with ``requires_grad`` are checked).
    Every element of every output is checked through a random projection vector per output, so one
    backward per input suffices. On mismatch raises ``GradcheckError`` naming the input, the worst
    element's index and both values; returns True otherwise (or False with ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck expects at least one input tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 for finite differences"
            )
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(0)
    # L = Σ_k ⟨v_k, out_k⟩ with random v_k: dL/dx checks every output element at once.
    vs = [rng.standard_normal(o.shape) for o in outs]

    def scalar():
        with no_grad():  # forward passes only: recording a graph would just be thrown away
            return sum(float(np.sum(v * o.data)) for v, o in zip(vs, _outputs(fn, inputs)))

    differentiable = [o for o in outs if o.requires_grad]
    if not differentiable:
        raise GradcheckError("gradcheck: no output requires grad")
    seeds = [Tensor(v) for o, v in zip(outs, vs) if o.requires_grad]
    analytic = autograd_grad(differentiable, [inputs[i] for i in checked], grad_outputs=seeds,
                             allow_unused=True)
    for i, a in zip(checked, analytic):
        x = inputs[i].data
        a = np.zeros_like(x) if a is None else a.data
        numeric = np.zeros_like(x)
        # Perturb x in place and restore (indexing x itself: reshape(-1) would copy a strided x).
        for j in np.ndindex(x.shape):
            orig = x[j]
            x[j] = orig + eps
            plus = scalar()
            x[j] = orig - eps
            minus = scalar()
            x[j] = orig
            numeric[j] = (plus - minus) / (2 * eps)
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0) or not np.all(np.isfinite(a) == np.isfinite(numeric)):
            k = np.unravel_index(np.argmax(err), x.shape) if x.ndim else ()
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for input {i} at index {tuple(int(n) for n in k)}: "
                f"analytical {a[k]!r} vs numerical {numeric[k]!r} (atol={atol}, rtol={rtol})"
            )
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check second derivatives: ``gradcheck`` applied to the first derivatives, as PyTorch does.

    The function checked is (inputs, v) ↦ vᵀ·∂fn/∂inputs, computed by ``autograd.grad`` with
    ``create_graph=True``; its own gradient (from a backward through that recorded backward) is
    compared with finite differences, with respect to the inputs (the Hessian-vector products) and
    to v (the first derivatives again). ``grad_outputs``: the vectors v, one per output that
    requires grad (float64 Tensors); random ones by default. Returns True, or raises
    ``GradcheckError`` (False with ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck expects at least one input tensor with requires_grad=True")
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        outs = [o for o in _outputs(fn, inputs) if o.requires_grad]
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    grad_outputs = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (grad_outputs,)
    n = len(inputs)

    def first_derivatives(*args):
        xs, vs = args[:n], args[n:]
        with enable_grad():  # gradcheck evaluates under no_grad; this function needs a graph
            outs = [o for o in _outputs(fn, xs) if o.requires_grad]
            grads = autograd_grad(outs, [x for x in xs if isinstance(x, Tensor) and x.requires_grad],
                                  grad_outputs=list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)

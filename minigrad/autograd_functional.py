"""Derivatives of whole functions, as ``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``vhp`` and ``hvp``. Imported as ``minigrad.autograd.functional``.

Each takes ``func`` (Tensors in, a Tensor or a tuple of Tensors out) and ``inputs`` (a Tensor or a
tuple of Tensors) and returns results in the same structure. Everything is built on
``autograd.grad``; the second-order ones and ``jvp`` on ``create_graph=True``:

- vjp      vᵀ·J: one backward.
- jvp      J·v by the double-backward trick: g(u) = Jᵀu is linear in a dummy u, so ∂⟨g(u), v⟩/∂u = J·v.
- jacobian J row by row: one backward per output element (``retain_graph``).
- hessian  the jacobian of the gradient (computed with ``create_graph=True``).
- vhp/hvp  vᵀ·H = ∂⟨∇f, v⟩/∂x: one backward through the recorded backward. H is symmetric for
           the twice continuously differentiable functions these are meant for, so ``hvp`` = ``vhp``.

``create_graph=True`` keeps the results differentiable (with respect to the inputs); otherwise the
inputs are detached first and the results carry no graph. ``strict=True`` raises when an output
does not depend on an input, instead of returning zeros there. Only reverse mode is implemented:
``vectorize=True`` and the forward-mode strategies raise NotImplementedError.
"""
import numpy as np

from . import autograd
from .functional import stack
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, what, fn_name):
    """(was it a tuple, the Tensors as a tuple); anything but Tensors raises TypeError."""
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"element {i} of " if is_tuple else ""
            raise TypeError(f"The {where}{what} given to {fn_name} must be a Tensor, got {type(t).__name__}")
    return is_tuple, items


def _unpack(is_tuple, items):
    return items if is_tuple else items[0]


def _prepare(inputs, create_graph):
    """Inputs the function is evaluated on: with ``create_graph``, an identity op on an input that
    requires grad keeps the results differentiable with respect to it; otherwise a detached copy
    (no outer graph is recorded or reached)."""
    return tuple(t.reshape(t.shape) if create_graph and t.requires_grad
                 else Tensor._wrap(t.data).requires_grad_() for t in inputs)


def _finish(items, create_graph):
    """Results without a graph unless ``create_graph``."""
    return tuple(t if t is None or create_graph else t.detach() for t in items)


def _check_v(v, like, what, fn_name):
    is_tuple, v = _as_tuple(v, "v", fn_name)
    if len(v) != len(like):
        raise RuntimeError(f"The v given to {fn_name} has {len(v)} Tensors, but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {list(b.shape)} but got "
                               f"{list(a.shape)}")
    return v


def _input_v(v, inputs, fn_name):
    """The vector(s) v shaped like the inputs: checked, or ones for a single one-element input."""
    if v is not None:
        return _check_v(v, inputs, "inputs", fn_name)
    if len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                           f"single Tensor with a single element ({fn_name})")
    return (Tensor._wrap(np.ones(inputs[0].shape, inputs[0].dtype)),)


def _check_scalar_output(outputs, fn_name):
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError(f"The vector v can only be None if the user-provided function returns a "
                           f"single Tensor with a single element ({fn_name})")


def _fill(grads, like, strict, fn_name, create_graph):
    """Zeros where an output does not depend on an input (RuntimeError under ``strict``)."""
    out = []
    for i, (g, t) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. "
                                   f"This is not allowed in strict mode ({fn_name}).")
            g = Tensor._wrap(np.zeros(t.shape, t.dtype))
        out.append(g if create_graph else g.detach())
    return tuple(out)


def _grad(outputs, inputs, grad_outputs, create_graph, retain_graph=None):
    """``autograd.grad`` over the outputs that require grad (an output that does not cannot
    contribute: its share of every gradient is 0)."""
    pairs = [(o, v) for o, v in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, vs = zip(*pairs)
    return autograd.grad(list(outs), list(inputs), grad_outputs=list(vs), retain_graph=retain_graph,
                         create_graph=create_graph, allow_unused=True)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀ·J): the vector-Jacobian product, one backward pass.

    ``v``: like the outputs (may be None for a single-element output)."""
    with autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        if v is None:
            _check_scalar_output(outputs, "vjp")
            v = tuple(Tensor._wrap(np.ones(o.shape, o.dtype)) for o in outputs)
        else:
            v = _check_v(v, outputs, "outputs", "vjp")
        grads = _fill(_grad(outputs, inputs, v, create_graph), inputs, strict, "vjp", create_graph)
    return _unpack(is_outputs_tuple, _finish(outputs, create_graph)), _unpack(is_inputs_tuple, grads)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J·v): the Jacobian-vector product, by differentiating a vector-Jacobian
    product with respect to its (dummy) vector. ``v``: like the inputs (may be None for a single
    one-element input)."""
    with autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph)
        v = _input_v(v, inputs, "jvp")
        raw = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(raw, "outputs of the user-provided function", "jvp")
        dummies = tuple(Tensor._wrap(np.zeros(o.shape, o.dtype)).requires_grad_() for o in outputs)
        vjps = _grad(outputs, inputs, dummies, create_graph=True)
        used = [(g, w) for g, w in zip(vjps, v) if g is not None]
        grads = _grad([g for g, _ in used], dummies, [w for _, w in used], create_graph)
        grads = _fill(grads, outputs, strict, "jvp", create_graph)
    return _unpack(is_outputs_tuple, _finish(outputs, create_graph)), _unpack(is_outputs_tuple, grads)


def _jacobian_rows(outputs, inputs, create_graph, strict, fn_name):
    """J[i][j] of shape outputs[i].shape + inputs[j].shape, one backward per output element."""
    blocks = []
    for out in outputs:
        rows = [[] for _ in inputs]
        for k in range(out.numel()):
            onehot = np.zeros(out.numel(), out.dtype)
            onehot[k] = 1
            seed = Tensor._wrap(onehot.reshape(out.shape))
            grads = _grad((out,), inputs, (seed,), create_graph, retain_graph=True)
            for j, g in enumerate(_fill(grads, inputs, strict, fn_name, create_graph)):
                rows[j].append(g)
        blocks.append(tuple(
            (stack(r) if r else Tensor._wrap(np.zeros((0,) + x.shape, x.dtype))).reshape(out.shape + x.shape)
            for r, x in zip(rows, inputs)))
    return blocks


def _no_vectorize(vectorize, strategy, fn_name):
    if vectorize:
        raise NotImplementedError(f"{fn_name}: vectorize=True is not implemented (minigrad has no vmap)")
    if strategy != "reverse-mode":
        raise NotImplementedError(f"{fn_name}: only strategy 'reverse-mode' is implemented, got {strategy!r}")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: a Tensor of shape output.shape + input.shape, or
    tuples of them (indexed [output][input]) when ``func`` returns, or ``inputs`` is, a tuple."""
    _no_vectorize(vectorize, strategy, "jacobian")
    with autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                              "jacobian")
        blocks = _jacobian_rows(outputs, inputs, create_graph, strict, "jacobian")
    blocks = [_unpack(is_inputs_tuple, b) for b in blocks]
    return _unpack(is_outputs_tuple, tuple(blocks))


def _scalar_function(func, fn_name):
    def f(*inputs):
        out = func(*inputs)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a "
                               "single element")
        return out.reshape(())
    return f


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: shape input.shape + input.shape, or a tuple of
    tuples H[i][j] for a tuple of inputs. The Jacobian of the gradient (recorded with create_graph)."""
    _no_vectorize(vectorize, outer_jacobian_strategy, "hessian")
    scalar = _scalar_function(func, "hessian")
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        return jacobian(scalar, _unpack(is_inputs_tuple, xs), create_graph=True, strict=strict)

    return jacobian(gradient, _unpack(is_inputs_tuple, inputs), create_graph=create_graph, strict=strict)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀ·H) for a scalar ``func``: the gradient of ⟨∇func, v⟩, one backward through
    the recorded backward. ``v``: like the inputs."""
    with autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _prepare(inputs, create_graph)
        output = _scalar_function(func, "vhp")(*inputs)
        v = _input_v(v, inputs, "vhp")
        grads = _fill(_grad((output,), inputs, (Tensor._wrap(np.ones((), output.dtype)),), True),
                      inputs, strict, "vhp", True)
        prods = _fill(_grad(grads, inputs, v, create_graph), inputs, strict, "vhp", create_graph)
    return _finish((output,), create_graph)[0], _unpack(is_inputs_tuple, prods)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H·v) for a scalar ``func``. H is symmetric (for a twice continuously
    differentiable func), so this is ``vhp``: one backward through the recorded backward."""
    return vhp(func, inputs, v, create_graph=create_graph, strict=strict)

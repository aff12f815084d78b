"""The autograd engine: Function, Context, grad mode and the backward pass.

How a graph is built: ``Function.apply`` unwraps Tensor arguments to ndarrays, runs ``forward``,
and, when some input requires grad (and grad mode is on), wraps the result in a Tensor whose
``_ctx`` remembers the Function, its inputs and whatever ``forward`` saved. That chain of contexts
is the graph; nothing else records it.

How backward runs: ``backward`` sorts the contexts reachable from the output topologically (an
iterative depth-first search, so a 10,000-op chain needs no recursion), then walks them from the
output down, calling each ``Function.backward`` with the gradient of its output and routing the
returned input gradients to the producing contexts (summed when a tensor is used more than once)
or, for leaves, into ``.grad`` (accumulated, like PyTorch). Saved arrays are released as soon as
a context has run, unless ``retain_graph=True``.

With ``create_graph=True`` the same walk calls each Function's ``backward_create_graph`` instead:
it receives and returns Tensors and is written with differentiable ops, so the backward pass is
itself recorded and its result can be differentiated again (docs/internals.md, section 5).
"""
import functools
import os
import sys
import threading

import numpy as np


class _GradModeState(threading.local):
    """Grad mode, per thread like PyTorch's. The class attribute is every thread's default, so a
    read is a plain attribute lookup (``getattr`` with a default cost ~0.3 µs per op on Zen 4)."""
    enabled = True


_grad_mode = _GradModeState()

# The type the engine wraps arrays in: minigrad.tensor.Tensor. That module sits above this one (a
# Tensor's backward() runs the engine), so it hands its class over when it loads (set_tensor_type)
# instead of being imported. What the engine uses of it: ``data``, ``grad``, ``_ctx``,
# ``_requires_grad``, ``_retains_grad``, ``_hooks``, ``_accumulate(grad, steal)`` and
# ``Tensor._wrap(array, ctx)``.
Tensor = None


def set_tensor_type(cls):
    """Make ``cls`` the type ``Function.apply``, tensor hooks and ``grad`` wrap arrays in (tensor.py
    calls it once, when it loads)."""
    global Tensor
    Tensor = cls


# ---------------------------------------------------------------- the op hook (profiler)
# An object with ``forward(cls, ctx, arrays, kwargs)`` and ``backward(ctx, grad_out)`` that call the
# op's own methods, or None (the normal case, one global lookup per op).
_op_hook = None


def set_op_hook(hook):
    """Route every op's ``forward`` (in ``Function.apply``) and ``backward`` (in the backward pass)
    through ``hook``: ``hook.forward(cls, ctx, arrays, kwargs)`` must return
    ``cls.forward(ctx, *arrays, **kwargs)`` and ``hook.backward(ctx, grad_out)`` must return
    ``ctx.fn.backward(ctx, grad_out)``, timing or recording what they like around the call
    (``minigrad.profile`` does). None removes it. One hook at a time: returns the one it replaced."""
    global _op_hook
    previous, _op_hook = _op_hook, hook
    return previous


def get_op_hook():
    """The hook set by :func:`set_op_hook`, or None."""
    return _op_hook


def is_grad_enabled():
    return _grad_mode.enabled


class _GradMode:
    """Context manager and decorator: sets grad mode, restores the previous mode on exit."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = _grad_mode.enabled
        _grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ``with minigrad.no_grad(): ...`` or ``@minigrad.no_grad()``."""

    def __init__(self):
        self.mode = False  # not through _GradMode.__init__: a no_grad block is entered per call


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block (a context manager, or a decorator as
    ``@enable_grad()``).

    Differs from PyTorch: no ``orig_func`` argument (the bare ``@enable_grad`` decorator form).
    """

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """Set grad mode on or off; takes effect at once, like ``torch.set_grad_enabled(False)``."""

    def __init__(self, mode):
        super().__init__(mode)
        self.prev = is_grad_enabled()
        _grad_mode.enabled = self.mode

    def __enter__(self):
        return self


# ---------------------------------------------------------------- anomaly detection
# Global like PyTorch's anomaly mode. Off (the normal case) it costs one global lookup per op.
_anomaly_enabled = False
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_anomaly_enabled():
    return _anomaly_enabled


class detect_anomaly:
    """Context manager (and decorator): find the op that first produced NaN or inf.

    While active, every Function records where it was created (the first stack frame outside the
    minigrad package: your file and line), and

    - after each forward: an output with NaN/inf computed from finite inputs raises RuntimeError;
    - after each backward: a NaN/inf gradient raises RuntimeError, e.g. ``Function 'LogBackward'
      returned nan values in its 0th output``,

    both naming the op and where it was created. Slow (a check per op): for debugging only.

    >>> with minigrad.autograd.detect_anomaly():
    ...     loss = model(x).log().sum(); loss.backward()
    """

    def __enter__(self):
        global _anomaly_enabled
        self.prev = _anomaly_enabled
        _anomaly_enabled = True
        return self

    def __exit__(self, *exc):
        global _anomaly_enabled
        _anomaly_enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off: at once as a call (``set_detect_anomaly(True)``), or for a
    ``with`` block, restoring the previous setting on exit."""

    def __init__(self, mode):
        global _anomaly_enabled
        self.prev, self.mode = _anomaly_enabled, bool(mode)
        _anomaly_enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_detect_anomaly(mode):
                return fn(*args, **kwargs)
        return wrapper


def _user_frame():
    """'file:line' of the innermost caller outside the minigrad package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return "<unknown>" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _non_finite(a):
    """'nan', 'inf' or None for an array (non-float arrays and None pass)."""
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fc" or a.size == 0:
        return None
    if np.isfinite(a).all():
        return None
    return "nan" if np.isnan(a).any() else "inf"


def _check_forward(cls, arrays, out, where):
    bad = _non_finite(out)
    if bad and not any(_non_finite(a) for a in arrays):
        raise RuntimeError(f"Function '{cls.__name__}' returned {bad} values in its output from finite "
                           f"inputs (anomaly detection). The op was created at {where}")


def _check_backward(ctx, grads):
    for i, g in enumerate(grads):
        bad = _non_finite(g.data if isinstance(g, Tensor) else g if g is None else np.asarray(g))
        if bad:
            raise RuntimeError(f"Function '{ctx.fn.__name__}Backward' returned {bad} values in its {i}th "
                               f"output (anomaly detection). The op was created at "
                               f"{getattr(ctx, 'created_at', '<unknown>')}")


class Context:
    """Per-call record of a Function: its inputs (the graph edges) and the arrays saved for backward."""

    def __init__(self, fn, inputs, needs_input_grad):
        self.fn = fn
        self.inputs = inputs  # tuple: Tensor or None per positional argument
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()
        self.freed = False
        self.output = None  # weak reference to the output Tensor (for retain_grad)
        self._hooks = None  # the output's gradient hooks (Tensor.register_hook on a non-leaf)

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def graph_input(self, i, value):
        """Input ``i`` for a ``backward_create_graph``: the input Tensor (so the new graph reaches
        it), or ``value`` itself for an argument that was not a Tensor (a Python number or array
        stays a constant)."""
        t = self.inputs[i]
        return value if t is None else t

    def release(self):
        """Drop everything backward needed: the graph below this node can be collected."""
        fn = self.fn
        self.__dict__.clear()
        self.fn, self.freed, self.inputs, self.output = fn, True, (), None


class _NoGraph:
    """What ``forward`` gets as ``ctx`` when nothing is recorded (grad mode off, or no input requires
    grad): it keeps nothing. ``save_for_backward`` and attribute stores are dropped, so no context
    holds the op's arrays after the call; ``fn`` and ``needs_input_grad`` (all False) can be read.
    One immutable instance per (Function, argument count), shared by every call and thread."""

    __slots__ = ("fn", "needs_input_grad")

    def __init__(self, fn, nargs):
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "needs_input_grad", (False,) * nargs)

    def __setattr__(self, name, value):
        pass

    def save_for_backward(self, *arrays):
        pass


_no_graph = {}  # (Function, argument count) -> _NoGraph


class Function:
    """An op: ``forward(ctx, *arrays)`` → ndarray and, beside it, ``backward(ctx, grad_out)`` →
    one gradient (ndarray or None) per positional input. Subclasses write both as staticmethods
    on ndarrays; ``apply`` does the Tensor bookkeeping. ``forward`` stores on ``ctx`` only what
    backward needs and never reads it back (under ``no_grad`` its stores are dropped).

    ``backward_create_graph(ctx, grad_out)`` is the same gradient for ``create_graph=True``:
    ``grad_out`` is a Tensor, the inputs are ``ctx.inputs`` (``ctx.graph_input``), and the result
    (Tensors or None) is computed with differentiable ops, so it can be differentiated again. An op
    that does not define it is differentiable once: its gradient is computed by ``backward`` and
    differentiating that gradient raises (PyTorch's ``once_differentiable``)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_out):
        raise NotImplementedError

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        grads = ctx.fn.backward(ctx, grad_out.data)
        grads = grads if isinstance(grads, tuple) else (grads,)
        # the result depends on grad_out and on the inputs: it requires grad when they do
        deps = [grad_out] + [t for t in ctx.inputs if t is not None]
        return tuple(None if g is None else _OnceDifferentiable.apply(g, ctx.fn.__name__, *deps)
                     for g in grads)

    @classmethod
    def apply(cls, *args, **kwargs):
        arrays, track = [], False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                if a._requires_grad:
                    track = True
            else:
                arrays.append(a)
        # which inputs need a gradient is only worked out when a graph is recorded
        if track and _grad_mode.enabled:
            ctx = Context(cls, tuple(a if isinstance(a, Tensor) else None for a in args),
                          tuple(isinstance(a, Tensor) and a._requires_grad for a in args))
        else:  # inference: no context, nothing saved, the output is a leaf
            ctx = _no_graph.get((cls, len(args)))
            if ctx is None:
                ctx = _no_graph[cls, len(args)] = _NoGraph(cls, len(args))
            track = False
        if _anomaly_enabled:
            ctx.created_at = where = _user_frame()
        if _op_hook is None:
            # (an empty ``**kwargs`` still costs a dict unpacking, ~0.1 µs on Zen 4)
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        else:
            out = _op_hook.forward(cls, ctx, arrays, kwargs)
        if _anomaly_enabled:
            _check_forward(cls, arrays, out, where)
        return Tensor._wrap(out, ctx if track else None)


class _OnceDifferentiable(Function):
    """y = g, a gradient computed by a first-order-only backward;  ∂y/∂· raises."""

    @staticmethod
    def forward(ctx, g, name, *deps):
        ctx.name = name
        return np.asarray(g)

    @staticmethod
    def backward(ctx, grad_out):
        raise RuntimeError(
            f"trying to differentiate twice the function {ctx.name}, whose backward is only "
            f"differentiable once: give {ctx.name} a backward_create_graph written with "
            "differentiable ops"
        )


class PassThrough(Function):
    """y = x;  ∂y/∂x = 1: a node that changes nothing. ``nn.Module`` marks with it where a module's
    inputs enter and its outputs leave, so tensor hooks there see exactly the gradient that flows
    through the module (full backward hooks)."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out

    @staticmethod
    def backward_create_graph(ctx, grad_out):
        return grad_out


class _GradCopy(PassThrough):
    """y = x (a copy);  ∂y/∂x = 1. A leaf's first ``.grad`` under create_graph: a differentiable
    copy, so that no two leaves (nor the user's seed) share one gradient Tensor (PyTorch clones)."""

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True)


def topological_order(roots):
    """Contexts reachable from ``roots`` (the ``_ctx`` of output tensors) in the order backward runs
    them: each after every context that consumes its output. The graph tools (``explain``, ``viz``)
    walk the graph in this order."""
    order, visited = [], set()
    stack = [(ctx, False) for ctx in roots]
    while stack:
        ctx, expanded = stack.pop()
        if expanded:
            order.append(ctx)
            continue
        if id(ctx) in visited:
            continue
        visited.add(id(ctx))
        stack.append((ctx, True))
        for t in ctx.inputs:
            if t is not None and t._ctx is not None and id(t._ctx) not in visited:
                stack.append((t._ctx, False))
    order.reverse()  # outputs first
    return order


_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


def _as_grad(t, g, fn_name, index):
    """Check and cast a gradient returned by a Function for its input ``t``."""
    g = np.asarray(g)
    if g.shape != t.data.shape:
        raise RuntimeError(
            f"Function {fn_name} returned an invalid gradient at index {index} - got {list(g.shape)} "
            f"but expected shape compatible with {list(t.data.shape)}"
        )
    return g if g.dtype == t.data.dtype else g.astype(t.data.dtype)


def _as_graph_grad(t, g, fn_name, index):
    """``_as_grad`` for create_graph: a Tensor gradient, cast with a differentiable op."""
    g = g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g))
    if g.shape != t.data.shape:
        raise RuntimeError(
            f"Function {fn_name} returned an invalid gradient at index {index} - got {list(g.shape)} "
            f"but expected shape compatible with {list(t.data.shape)}"
        )
    return g if g.dtype == t.data.dtype else g.to(t.data.dtype)


def _run_backward(outputs, grad_outputs, retain_graph, capture=None, create_graph=False):
    """The engine. Returns the gradients of ``capture`` tensors if given, else accumulates into leaves.

    First order (the default), gradients are ndarrays and each node runs ``Function.backward``.
    With ``create_graph`` they are Tensors, each node runs ``Function.backward_create_graph`` in
    grad mode, and what it computes is recorded: a graph of the backward pass."""
    if create_graph:
        with _GradMode(True):
            return _walk(outputs, grad_outputs, retain_graph, capture, True)
    return _walk(outputs, grad_outputs, retain_graph, capture, False)


def _walk(outputs, grad_outputs, retain_graph, capture, create_graph):
    roots = []
    node_grads = {}   # id(ctx) -> gradient of that context's output
    leaf_grads = {}   # id(leaf) -> [leaf, summed gradient]
    for t, g in zip(outputs, grad_outputs):
        if t._ctx is None:
            # A leaf as output: its gradient is the seed itself.
            _add(leaf_grads, id(t), t, g)
            continue
        if t._ctx.freed:
            raise RuntimeError(_FREED_MSG)
        roots.append(t._ctx)
        key = id(t._ctx)
        node_grads[key] = node_grads[key] + g if key in node_grads else g

    captured_nodes = {}
    if capture is not None:
        captured_nodes = {id(t._ctx): i for i, t in enumerate(capture) if t._ctx is not None}
    results = [None] * len(capture) if capture is not None else None
    as_grad = _as_graph_grad if create_graph else _as_grad

    for ctx in topological_order(roots):
        if ctx.freed:
            raise RuntimeError(_FREED_MSG)
        grad_out = node_grads.pop(id(ctx), None)
        if grad_out is None:
            continue  # nothing flows through this branch
        if ctx._hooks:
            grad_out = run_hooks(ctx._hooks, grad_out)
        out = ctx.output() if ctx.output is not None else None
        if out is not None and out._retains_grad and capture is None:
            if create_graph:
                _accumulate_graph(out, grad_out)
            else:
                out._accumulate(grad_out)
        if id(ctx) in captured_nodes:
            results[captured_nodes[id(ctx)]] = grad_out
        if create_graph:
            grads = ctx.fn.backward_create_graph(ctx, grad_out)
        elif _op_hook is None:
            grads = ctx.fn.backward(ctx, grad_out)
        else:
            grads = _op_hook.backward(ctx, grad_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if _anomaly_enabled:
            _check_backward(ctx, grads)
        if len(grads) != len(ctx.inputs):
            raise RuntimeError(
                f"function {ctx.fn.__name__}.backward returned {len(grads)} gradients, "
                f"expected {len(ctx.inputs)}"
            )
        for i, (t, g) in enumerate(zip(ctx.inputs, grads)):
            if t is None or g is None or not t._requires_grad:
                continue
            d = t.data
            # the usual gradient (an ndarray of the input's shape and dtype) needs no check or cast
            if not (type(g) is np.ndarray and g.shape == d.shape and g.dtype is d.dtype):
                g = as_grad(t, g, ctx.fn.__name__, i)
            if t._ctx is None:
                _add(leaf_grads, id(t), t, g)
            else:
                key = id(t._ctx)
                node_grads[key] = node_grads[key] + g if key in node_grads else g
        if not retain_graph:
            ctx.release()

    if capture is not None:
        for i, t in enumerate(capture):
            if t._ctx is None and id(t) in leaf_grads:
                results[i] = leaf_grads[id(t)][1]
        return results
    grads = grad_out = g = None  # the last node's references would keep its gradients from being stolen
    while leaf_grads:
        t, g = leaf_grads.popitem()[1]
        if t._hooks:
            g = run_hooks(t._hooks, g)
        if create_graph:
            _accumulate_graph(t, g)
            continue
        steal = _refcount(g) == _LOCAL_ONLY and _stealable(g, t.data)
        t._accumulate(g, steal)
    return None


def _accumulate_graph(t, grad):
    """create_graph: ``.grad`` becomes a Tensor with a graph. Accumulation is out of place (an
    earlier ``.grad`` may be part of someone's graph) and the first gradient a differentiable copy."""
    t.grad = _GradCopy.apply(grad) if t.grad is None else t.grad + grad


# Stealing a leaf's first gradient (as PyTorch's AccumulateGrad does when nothing else holds it)
# saves a copy of every parameter's and input's gradient per step: for BN's input that copy was a
# quarter of the layer's fwd+bwd time. An array is stolen only when the engine's local variable is
# its only reference and no other array can reach its memory: the same array handed to two leaves
# (``a + b``), the user's seed, a saved tensor or a hook's keepsake all hold another reference, and
# a view is stolen only as a whole-buffer reshape of a base that nothing but the view holds.
def _refcount(a):
    return sys.getrefcount(a)


def _base_refcount(view):
    return _refcount(view.base)


def _refs_of_a_local():
    a = np.empty(0)
    return _refcount(a)


# What the two counts read for an array held by one local variable and for the base of a fresh
# reshape, measured with the engine's own call shapes so that they follow the interpreter's
# reference counting (which varies between Python versions).
_LOCAL_ONLY = _refs_of_a_local()
_VIEW_ONLY = _base_refcount(np.empty(0).reshape(0))


def _stealable(g, data):
    if not (type(g) is np.ndarray and g.flags.writeable and g.flags.c_contiguous
            and g.dtype == data.dtype and g.shape == data.shape):
        return False
    base = g.base
    if base is None:
        return True
    # (a writeable view implies a writeable base)
    return (type(base) is np.ndarray and base.base is None and base.nbytes == g.nbytes
            and _base_refcount(g) == _VIEW_ONLY + 1)  # + 1: the local ``base``


def run_hooks(hooks, grad):
    """Pass ``grad`` through tensor hooks; a hook returning a Tensor replaces the gradient. Under
    create_graph ``grad`` is a Tensor with a graph, and stays one."""
    graph = isinstance(grad, Tensor)
    for hook in hooks:
        result = hook(grad if graph else Tensor._wrap(grad))
        if result is None:
            continue
        if graph:
            grad = result if isinstance(result, Tensor) else Tensor._wrap(np.asarray(result))
        else:
            grad = result.data if isinstance(result, Tensor) else np.asarray(result)
    return grad


def _add(grads, key, t, g):
    if key in grads:
        grads[key][1] = grads[key][1] + g
    else:
        grads[key] = [t, g]


def _seed_grads(outputs, grad_outputs, create_graph=False):
    """The gradient each output starts with: ndarrays, or Tensors under create_graph (a seed that
    requires grad then joins the new graph, as in PyTorch)."""
    seeds = []
    for t, g in zip(outputs, grad_outputs):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = np.ones_like(t.data)
        elif create_graph and isinstance(g, Tensor):
            if g.dtype != t.dtype:
                g = g.to(t.dtype)
        else:
            g = g.data if isinstance(g, Tensor) else np.asarray(g, dtype=t.data.dtype)
        if g.shape != t.data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output has a shape of {list(g.shape)} and output has a "
                f"shape of {list(t.data.shape)}."
            )
        seeds.append(Tensor._wrap(g) if create_graph and not isinstance(g, Tensor) else g)
    return seeds


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def zero_grads(tensors, set_to_none=True):
    """Reset the ``.grad`` of each tensor: drop it (``set_to_none``) or fill it with zeros in place
    (what ``Module.zero_grad`` and ``Optimizer.zero_grad`` do to their parameters)."""
    for t in tensors:
        if t.grad is None:
            continue
        if set_to_none:
            t.grad = None
        else:
            t.grad.data[...] = 0


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (``torch.autograd.backward``), or
    only into the ``.grad`` of ``inputs`` (leaves or not) when given.

    ``create_graph=True`` records the backward pass, so the gradients in ``.grad`` carry a graph
    and can be differentiated again (``retain_graph`` then defaults to True). As in PyTorch, a
    parameter's ``.grad`` then refers back, through that graph, to the parameter itself: a
    reference cycle, collected by Python's cycle collector rather than at once. Set ``.grad`` to
    None (``zero_grad()``) or use ``autograd.grad(..., create_graph=True)``, which leaves ``.grad``
    alone, to release it at once.
    """
    tensors = _as_list(tensors)
    grad_tensors = [None] * len(tensors) if grad_tensors is None else _as_list(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_grads(tensors, grad_tensors, create_graph)
    if inputs is None:
        _run_backward(tensors, seeds, retain_graph, create_graph=create_graph)
        return
    inputs = _as_list(inputs)
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: inputs must be Tensors, got {type(t).__name__} at index {i}")
    results = _run_backward(tensors, seeds, retain_graph, capture=inputs, create_graph=create_graph)
    for t, g in zip(inputs, results):
        if g is None:
            continue
        if create_graph:
            _accumulate_graph(t, g)
        else:
            t._accumulate(g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad``
    (``torch.autograd.grad``).

    ``grad_outputs``: the vector of the vector-Jacobian product, one per output (None: ones, for
    scalar outputs). ``create_graph=True`` records the backward pass, so the returned gradients can
    be differentiated again (higher-order derivatives); ``retain_graph`` defaults to
    ``create_graph``. An input the outputs do not depend on raises, or gives None with
    ``allow_unused=True``.
    """
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} "
                           f"grad_outputs and {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__} at index {i}")
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (index {i}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    results = _run_backward(outputs, _seed_grads(outputs, grad_outputs, create_graph), retain_graph,
                            capture=inputs, create_graph=create_graph)
    for i, g in enumerate(results):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (index {i}) appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior."
            )
    if create_graph:
        return tuple(results)
    return tuple(None if g is None else Tensor(np.array(g, copy=True)) for g in results)

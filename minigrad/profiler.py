"""See what a step costs and what backward does: ``profile()`` (a per-op table) and ``explain(loss)``.

``profile`` plugs into the one hook point of the engine, ``autograd.set_op_hook``: while it is
active, ``Function.apply`` calls ``forward`` through it and the backward loop calls ``backward``
through it, so each op's own work is timed and nothing else changes. It also routes every kernel
the door calls through counting wrappers (``_ops.instrument_kernels``), so each row says which
kernels the op really entered and whether they were the compiled ones or their numpy twins. When no
profile is active the only cost is one global lookup per op.

``explain`` walks the recorded graph in the order ``backward`` would and prints, for each op, its
``Function`` docstring (forward math and local gradient, by the rule for adding an op) and the
shapes of the gradient that flows in and of the gradients it sends to its inputs.
"""
import time

import numpy as np

from . import _ops, autograd
from .nn.module import Parameter
from .tensor import Tensor

__all__ = ["profile", "explain"]


class _Row:
    __slots__ = ("op", "calls", "forward_time", "backward_time", "forward_bytes", "backward_bytes", "kernels")

    def __init__(self, op):
        self.op = op
        self.calls = 0
        self.forward_time = self.backward_time = 0.0
        self.forward_bytes = self.backward_bytes = 0
        self.kernels = {}  # kernel name -> 'compiled' or 'numpy'


def _new_bytes(result, sources):
    """Bytes of the arrays in ``result`` that are fresh memory (not views of ``sources``)."""
    total = 0
    for r in result if isinstance(result, tuple) else (result,):
        if isinstance(r, np.generic):  # a reduction to a numpy scalar
            total += r.nbytes
        elif isinstance(r, np.ndarray) and not any(
                isinstance(s, np.ndarray) and np.may_share_memory(r, s) for s in sources):
            total += r.nbytes
    return total


class profile:
    """Context manager recording, per op: calls, forward and backward time, bytes of fresh output
    (forward) and gradient (backward) arrays, and the kernels entered with their backend.

    Example::

        with minigrad.profile() as prof:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
        print(prof.table())      # sorted by total time
        prof.rows                # the same as a list of dicts
        prof.wall_time           # seconds between entering and leaving the block

    Times are wall-clock ``time.perf_counter`` around each ``forward``/``backward`` call; the
    Tensor bookkeeping around them (a few microseconds per op) shows up only in ``wall_time``.
    Kernels called outside any op (e.g. ``optim.SGD.step`` runs ``_ops.sgd_step``) get rows of
    their own, named ``_ops.<kernel>``, with their time in the forward column. Profiles do not nest.
    """

    def __init__(self):
        self._rows = {}
        self._stack = []  # rows of the ops currently running (kernels are charged to the top one)
        self.wall_time = 0.0

    # ------------------------------------------------------------ the engine's hook
    def forward(self, cls, ctx, arrays, kwargs):
        row = self._row(cls.__name__)
        self._stack.append(row)
        start = time.perf_counter()
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        finally:
            row.forward_time += time.perf_counter() - start
            self._stack.pop()
        row.calls += 1
        row.forward_bytes += _new_bytes(out, arrays)
        return out

    def backward(self, ctx, grad_out):
        row = self._row(ctx.fn.__name__)
        self._stack.append(row)
        start = time.perf_counter()
        try:
            grads = ctx.fn.backward(ctx, grad_out)
        finally:
            row.backward_time += time.perf_counter() - start
            self._stack.pop()
        row.backward_bytes += _new_bytes(grads, (grad_out,))
        return grads

    def _row(self, name):
        row = self._rows.get(name)
        if row is None:
            row = self._rows[name] = _Row(name)
        return row

    def _counting(self, name, fn, backend):
        def kernel(*args, **kwargs):
            if self._stack:
                self._stack[-1].kernels[name] = backend
                return fn(*args, **kwargs)
            # Called outside any op (an optimizer's update kernel): a row of its own.
            row = self._row(f"_ops.{name}")
            row.kernels[name] = backend
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                row.forward_time += time.perf_counter() - start
                row.calls += 1
        return kernel

    # ------------------------------------------------------------ context manager
    def __enter__(self):
        if autograd.get_op_hook() is not None:
            raise RuntimeError("minigrad.profile() is already active; profiles do not nest")
        self._kernels = _ops.instrument_kernels(self._counting)
        self._kernels.__enter__()
        autograd.set_op_hook(self)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall_time += time.perf_counter() - self._start
        autograd.set_op_hook(None)
        self._kernels.__exit__(*exc)
        return False

    # ------------------------------------------------------------ results
    @property
    def rows(self):
        """One dict per op, sorted by total (forward + backward) time, largest first."""
        out = []
        for r in self._rows.values():
            if r.kernels:
                kinds = set(r.kernels.values())
                backend = kinds.pop() if len(kinds) == 1 else "mixed"
            else:
                backend = "numpy (no kernel)"
            out.append({
                "op": r.op, "calls": r.calls,
                "forward_time": r.forward_time, "backward_time": r.backward_time,
                "total_time": r.forward_time + r.backward_time,
                "forward_bytes": r.forward_bytes, "backward_bytes": r.backward_bytes,
                "backend": backend, "kernels": sorted(r.kernels), "kernel_backends": dict(r.kernels),
            })
        out.sort(key=lambda d: d["total_time"], reverse=True)
        return out

    @property
    def total_time(self):
        """Seconds spent inside the ops' forward and backward (the sum of the table)."""
        return sum(r.forward_time + r.backward_time for r in self._rows.values())

    def table(self):
        """The rows as a fixed-width text table, with totals and the share of ``wall_time``."""
        rows = self.rows
        head = ("op", "calls", "forward ms", "backward ms", "total ms", "%", "fwd bytes", "bwd bytes",
                "backend", "kernels")
        total = self.total_time
        body = [(r["op"], str(r["calls"]), f"{r['forward_time'] * 1e3:.3f}", f"{r['backward_time'] * 1e3:.3f}",
                 f"{r['total_time'] * 1e3:.3f}", f"{100 * r['total_time'] / total:.1f}" if total else "-",
                 _fmt_bytes(r["forward_bytes"]), _fmt_bytes(r["backward_bytes"]), r["backend"],
                 _fmt_kernels(r)) for r in rows]
        body.append(("total", str(sum(r["calls"] for r in rows)),
                     f"{sum(r['forward_time'] for r in rows) * 1e3:.3f}",
                     f"{sum(r['backward_time'] for r in rows) * 1e3:.3f}", f"{total * 1e3:.3f}", "100.0" if total else "-",
                     _fmt_bytes(sum(r["forward_bytes"] for r in rows)),
                     _fmt_bytes(sum(r["backward_bytes"] for r in rows)), "", ""))
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        left = {0, 8, 9}  # text columns; numbers align right

        def fmt(line):
            return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()
        rule = "-" * len(fmt(head))
        lines = [fmt(head), rule] + [fmt(line) for line in body[:-1]] + [rule, fmt(body[-1])]
        if self.wall_time:
            lines.append(f"ops: {total * 1e3:.3f} ms of {self.wall_time * 1e3:.3f} ms in the block "
                         f"({100 * total / self.wall_time:.0f} %; the rest is Python outside the ops); "
                         f"kernel backend: {_ops.get_backend()}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _fmt_kernels(row):
    if row["backend"] != "mixed":
        return ",".join(row["kernels"]) or "-"
    return ",".join(f"{k}[{row['kernel_backends'][k]}]" for k in row["kernels"])


def _fmt_bytes(n):
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


# ---------------------------------------------------------------- explain

def local_gradient(fn):
    """A Function's docstring as one line: its forward math and local gradient (the op files keep
    both in the docstring, by the rule for adding an op)."""
    doc = (fn.__doc__ or "").strip()
    return " ".join(doc.split()) if doc else "(no docstring)"


def _shape(a):
    return "(" + ", ".join(str(n) for n in a) + (",)" if len(a) == 1 else ")")


def explain(loss, params=None, file=None):
    """Print and return the backward order of ``loss``'s graph: per op, its local gradient formula
    (from the Function docstring), the shape of the gradient arriving at its output, and where the
    gradients it produces go (by input shape). ``params``: optional ``dict(model.named_parameters())``
    to name parameters. Nothing is computed; call it before ``backward()`` (or after
    ``backward(retain_graph=True)``): backward frees the graph.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(loss).__name__}")
    if loss._ctx is None:
        raise ValueError("explain: this tensor is a leaf; there is no graph behind it "
                         "(did it come from ops on tensors with requires_grad=True?)")
    if loss._ctx.freed:
        raise RuntimeError("explain: the graph was already freed by backward(); call explain(loss) before "
                           "loss.backward(), or use loss.backward(retain_graph=True)")
    names = {id(p): n for n, p in (params or {}).items()}
    order = autograd.topological_order([loss._ctx])
    step = {id(ctx): i for i, ctx in enumerate(order, 1)}
    lines = [f"backward of a {_shape(loss.shape)} {loss.dtype} tensor: {len(order)} ops, run in this order "
             f"(seed: ones of shape {_shape(loss.shape)})"]
    width = len(str(len(order)))
    for i, ctx in enumerate(order, 1):
        out = ctx.output() if ctx.output is not None else None
        out_shape = _shape(out.shape) if out is not None else "?"
        lines.append(f"{i:>{width}}. {ctx.fn.__name__}Backward   {local_gradient(ctx.fn)}")
        lines.append(f"{'':>{width}}    grad in  {out_shape}")
        for k, t in enumerate(ctx.inputs):
            if t is None:
                continue
            if not t.requires_grad:
                where = "no grad needed"
            elif t._ctx is not None:
                where = f"→ step {step[id(t._ctx)]} ({t._ctx.fn.__name__})"
            elif id(t) in names:
                where = f"→ .grad of parameter {names[id(t)]}"
            elif isinstance(t, Parameter):
                where = "→ .grad of a parameter"
            else:
                where = "→ .grad of a leaf"
            lines.append(f"{'':>{width}}    input {k}  {_shape(t.shape)} {t.dtype}  {where}")
    text = "\n".join(lines)
    print(text, file=file)
    return text

"""Draw the graph that autograd recorded: ``draw_graph(tensor)`` returns Graphviz DOT text.

The graph is read straight from the engine's own records (``tensor._ctx``, ``ctx.inputs``,
``ctx.output``): one box per op (the Function's name) and one node per tensor, labelled with its
shape and dtype. Tensor nodes are styled by role:

    parameter (nn.Parameter)            green box
    leaf with requires_grad=True        blue ellipse
    constant input (no gradient)        grey dashed ellipse
    intermediate result                 white ellipse
    the tensor you drew                 orange ellipse, thick border

Edges run in the forward direction (input → op → output); backward walks them in reverse.
The result is a ``str`` subclass: print it, or ``.save("g.dot")``, or ``.render("g.svg")`` with the
Graphviz ``dot`` program.
"""
import os
import shutil
import subprocess

import numpy as np

from . import autograd
from .tensor import Tensor

__all__ = ["draw_graph", "Graph"]

_STYLES = {
    "parameter": 'shape=box, style=filled, fillcolor="#c7e9c0"',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#c6dbef"',
    "constant": 'shape=ellipse, style="dashed,filled", fillcolor="#f0f0f0"',
    "intermediate": 'shape=ellipse, style=filled, fillcolor="#ffffff"',
    "output": 'shape=ellipse, style=filled, fillcolor="#fdd0a2", penwidth=2',
    "op": 'shape=box, style="rounded,filled", fillcolor="#fff2ae", fontname="Helvetica-Bold"',
}

_LEGEND = (("op", "op (Function)"), ("parameter", "parameter"), ("leaf", "leaf, requires grad"),
           ("constant", "constant (no grad)"), ("intermediate", "intermediate"), ("output", "drawn tensor"))

_INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`, "
                 "conda: `conda install graphviz`), or use .save(path) to write the DOT text and render it elsewhere")


class Graph(str):
    """DOT text of a graph, with ``save`` (the text) and ``render`` (an image, through ``dot``)."""

    def save(self, path):
        """Write the DOT text to ``path``; returns ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(str(self))
        return path

    def render(self, path, format=None):
        """Run Graphviz ``dot`` to write ``path`` as ``format`` ('svg', 'png', ...; default: the
        extension of ``path``, else 'svg'). Raises RuntimeError if ``dot`` is not installed."""
        if format is None:
            format = os.path.splitext(path)[1].lstrip(".") or "svg"
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(f"render: the Graphviz program 'dot' was not found on PATH; {_INSTALL_HINT}")
        proc = subprocess.run([exe, f"-T{format}", "-o", path], input=str(self).encode("utf-8"),
                              capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {proc.stderr.decode(errors='replace').strip()}")
        return path


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(t):
    return "(" + ", ".join(str(n) for n in t.shape) + (",)" if t.ndim == 1 else ")")


def draw_graph(tensor, show_grad_norms=False, params=None, legend=False):
    """The graph behind ``tensor`` as Graphviz DOT text (a :class:`Graph`).

    Parameters
    ----------
    tensor : Tensor
        Usually the loss. Draw before ``backward()`` or after ``backward(retain_graph=True)``:
        a plain ``backward()`` frees the graph.
    show_grad_norms : bool
        Add ‖∂tensor/∂t‖ (Frobenius norm) to every tensor that requires grad. The gradients are
        computed by one extra backward pass (``autograd.grad`` with ``retain_graph=True``): no
        ``.grad`` is changed, but tensor hooks do run. A non-scalar ``tensor`` is seeded with ones.
    params : dict, optional
        ``dict(model.named_parameters())``: parameter nodes are then labelled with their names.
    legend : bool
        Add a small box explaining the node styles (nodes ``legend_*``).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    if tensor._ctx is not None and tensor._ctx.freed:
        raise RuntimeError("draw_graph: the graph was already freed by backward(); draw it before "
                           "loss.backward(), or call loss.backward(retain_graph=True)")
    from .nn.module import Parameter  # nn sits above this module's imports

    names = {id(p): n for n, p in (params or {}).items()}
    tensors, ops, edges = {}, [], []  # tensors: id -> Tensor, in discovery order
    tensors[id(tensor)] = tensor
    seen, stack = set(), [tensor._ctx] if tensor._ctx is not None else []
    while stack:
        ctx = stack.pop()
        if id(ctx) in seen:
            continue
        seen.add(id(ctx))
        ops.append(ctx)
        out = tensor if ctx is tensor._ctx else ctx.output()
        if out is not None:
            tensors.setdefault(id(out), out)
            edges.append((f"op{id(ctx)}", f"t{id(out)}"))
        for t in ctx.inputs:
            if t is None:
                continue
            tensors.setdefault(id(t), t)
            edges.append((f"t{id(t)}", f"op{id(ctx)}"))
            if t._ctx is not None:
                stack.append(t._ctx)

    norms = _grad_norms(tensor, tensors) if show_grad_norms else {}
    lines = ["digraph minigrad {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=11];']
    for ctx in ops:
        lines.append(f"  op{id(ctx)} [label={_quote(ctx.fn.__name__)}, {_STYLES['op']}];")
    for key, t in tensors.items():
        if t is tensor:
            role = "output"
        elif isinstance(t, Parameter):
            role = "parameter"
        elif t._ctx is not None:
            role = "intermediate"
        else:
            role = "leaf" if t.requires_grad else "constant"
        label = f"{_shape(t)} {t.dtype}"
        if key in names:
            label = f"{names[key]}\n{label}"
        elif role in ("parameter", "leaf", "constant"):
            label = f"{role}\n{label}"
        if key in norms:
            label += f"\n‖grad‖ = {norms[key]:.3g}"
        lines.append(f"  t{key} [label={_quote(label)}, {_STYLES[role]}];")
    for a, b in edges:
        lines.append(f"  {a} -> {b};")
    if legend:
        lines.append('  subgraph cluster_legend { label="legend"; fontname="Helvetica"; style=dashed;')
        for role, text in _LEGEND:
            lines.append(f"    legend_{role} [label={_quote(text)}, {_STYLES[role]}];")
        lines.append("  }")
    lines.append("}")
    return Graph("\n".join(lines) + "\n")


def _grad_norms(root, tensors):
    """‖∂root/∂t‖ for every tensor of the graph that requires grad (one retained backward pass)."""
    if not root.requires_grad:
        return {}
    targets = [t for t in tensors.values() if t.requires_grad]
    grads = autograd.grad(root, targets, grad_outputs=np.ones_like(root.data), retain_graph=True,
                          allow_unused=True)
    return {id(t): float(np.linalg.norm(g.data)) for t, g in zip(targets, grads) if g is not None}

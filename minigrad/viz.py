"""See the graph that autograd recorded: ``draw_graph(tensor)`` returns Graphviz DOT text, and
``html(tensor)`` one self-contained interactive page (no Graphviz needed) with a backward stepper.

The graph is read straight from the engine's own records (``tensor._ctx``, ``ctx.inputs``,
``ctx.output``): one box per op (the Function's name) and one node per tensor, labelled with its
shape and dtype. Tensor nodes are styled by role:

    parameter (nn.Parameter)            green box
    leaf with requires_grad=True        blue ellipse
    constant input (no gradient)        grey dashed ellipse
    intermediate result                 white ellipse
    the tensor you drew                 orange ellipse, thick border

Edges run in the forward direction (input → op → output); backward walks them in reverse.
``draw_graph``'s result is a ``str`` subclass: print it, or ``.save("g.dot")``, or
``.render("g.svg")`` with the Graphviz ``dot`` program; Jupyter shows it as a picture drawn by
``viz_layout`` / ``viz_page``, which also draw ``html``'s page.
"""
import html as _html
import os
import shutil
import subprocess
import time
import weakref

import numpy as np

from . import autograd
from .nn.module import Module, Parameter
from .profiler import local_gradient, profile
from .tensor import Tensor
from .viz_page import draw_svg, page

__all__ = ["draw_graph", "Graph", "html", "Page", "record_modules"]

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

    def _repr_svg_(self):
        """Jupyter shows the graph as a picture, laid out by minigrad itself (no Graphviz needed);
        None (Jupyter then shows the text) for a Graph made from a plain string."""
        view = getattr(self, "_view", None)
        return None if view is None else draw_svg(*view)[0]


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
    names = {id(p): n for n, p in (params or {}).items()}
    tensors, ops, edges = _walk(tensor)

    norms = _grad_norms(tensor, tensors) if show_grad_norms else {}
    lines = ["digraph minigrad {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=11];']
    for ctx in ops:
        lines.append(f"  op{id(ctx)} [label={_quote(ctx.fn.__name__)}, {_STYLES['op']}];")
    view_nodes = [{"key": f"op{id(ctx)}", "kind": "op", "role": "op", "lines": [ctx.fn.__name__]} for ctx in ops]
    for key, t in tensors.items():
        role = _role(t, tensor)
        label = f"{_shape(t)} {t.dtype}"
        if key in names:
            label = f"{names[key]}\n{label}"
        elif role in ("parameter", "leaf", "constant"):
            label = f"{role}\n{label}"
        if key in norms:
            label += f"\n‖grad‖ = {norms[key]:.3g}"
        lines.append(f"  t{key} [label={_quote(label)}, {_STYLES[role]}];")
        view_nodes.append({"key": f"t{key}", "kind": "tensor", "role": role, "lines": label.split("\n")})
    for a, b in edges:
        lines.append(f"  {a} -> {b};")
    if legend:
        lines.append('  subgraph cluster_legend { label="legend"; fontname="Helvetica"; style=dashed;')
        for role, text in _LEGEND:
            lines.append(f"    legend_{role} [label={_quote(text)}, {_STYLES[role]}];")
        lines.append("  }")
    lines.append("}")
    graph = Graph("\n".join(lines) + "\n")
    index = {node["key"]: i for i, node in enumerate(view_nodes)}
    graph._view = (view_nodes, [(index[a], index[b]) for a, b in edges])
    return graph


def _walk(tensor):
    """The graph behind ``tensor``, read from the engine's records: (tensors: id -> Tensor, contexts,
    edges as ("op<id>", "t<id>") and ("t<id>", "op<id>") key pairs), in discovery order."""
    tensors, ops, edges = {id(tensor): tensor}, [], []
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
    return tensors, ops, edges


def _role(t, root):
    if t is root:
        return "output"
    if isinstance(t, Parameter):
        return "parameter"
    if t._ctx is not None:
        return "intermediate"
    return "leaf" if t.requires_grad else "constant"


def _grad_norms(root, tensors):
    """‖∂root/∂t‖ for every tensor of the graph that requires grad (one retained backward pass)."""
    if not root.requires_grad:
        return {}
    targets = [t for t in tensors.values() if t.requires_grad]
    grads = autograd.grad(root, targets, grad_outputs=np.ones_like(root.data), retain_graph=True,
                          allow_unused=True)
    return {id(t): float(np.linalg.norm(g.data)) for t, g in zip(targets, grads) if g is not None}


# ---------------------------------------------------------------- the interactive page

class Page(str):
    """The HTML text of :func:`html`: ``save(path)`` writes it; Jupyter shows it inline (in an
    ``iframe``, so its script and styles stay apart from the notebook's). ``svg``: the expanded view
    on its own, as a static picture."""

    def save(self, path):
        """Write the page to ``path`` (open it in any browser, offline); returns ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(str(self))
        return path

    def _repr_html_(self):
        return (f'<iframe srcdoc="{_html.escape(str(self))}" style="width:100%;height:640px;'
                'border:1px solid #ddd"></iframe>')


class record_modules:
    """Context manager: remember which ``nn.Module`` ran each op recorded inside it, so that
    :func:`html` can collapse each module into one box (names from ``named_modules``).

    Example::

        with minigrad.viz.record_modules(model) as modules:
            loss = F.cross_entropy(model(x), y)
        minigrad.viz.html(loss, modules=modules, path="step.html")

    It adds a forward hook to every module while the block runs; the hook walks the graph back from
    the module's output to its inputs, and each op found that no inner module claimed is the
    module's own (inner modules finish first).
    """

    def __init__(self, model):
        if not isinstance(model, Module):
            raise TypeError(f"record_modules: expected an nn.Module, got {type(model).__name__}")
        self.model = model
        self.types = {name: type(m).__name__ for name, m in model.named_modules()}
        self.module_of = weakref.WeakKeyDictionary()  # Context -> name of the innermost module
        self._handles = []

    def __enter__(self):
        self._handles = [m.register_forward_hook(self._hook(name)) for name, m in self.model.named_modules()]
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False

    def _hook(self, name):
        def hook(module, inputs, output):
            stop = {id(t) for t in inputs if isinstance(t, Tensor)}
            outs = output if isinstance(output, (tuple, list)) else (output,)
            stack = [t._ctx for t in outs if isinstance(t, Tensor) and t._ctx is not None and id(t) not in stop]
            seen = set()
            while stack:
                ctx = stack.pop()
                if id(ctx) in seen:
                    continue
                seen.add(id(ctx))
                self.module_of.setdefault(ctx, name)
                stack.extend(t._ctx for t in ctx.inputs
                             if t is not None and t._ctx is not None and id(t) not in stop)
        return hook


class _Recorder:
    """Engine hook for html()'s gradient pass: per context, the gradient arriving at its output,
    the gradients it sends to its inputs, and the seconds its backward took. Passes every call on
    to ``inner`` (the profile that notes which kernels ran)."""

    def __init__(self, inner):
        self.inner = inner
        self.seen = {}  # id(ctx) -> (grad_out, grads, seconds)

    def forward(self, cls, ctx, arrays, kwargs):
        return self.inner.forward(cls, ctx, arrays, kwargs)

    def backward(self, ctx, grad_out):
        start = time.perf_counter()
        grads = self.inner.backward(ctx, grad_out)
        seconds = time.perf_counter() - start
        self.seen[id(ctx)] = (grad_out, grads if isinstance(grads, tuple) else (grads,), seconds)
        return grads


def _gradient_pass(root, tensors):
    """One backward pass with the graph kept: (recorder, leaf gradients by id, profile rows by op)."""
    leaves = [t for t in tensors.values() if t._ctx is None and t.requires_grad]
    with profile() as prof:
        recorder = _Recorder(prof)
        autograd.set_op_hook(recorder)
        try:
            grads = autograd.grad(root, leaves, grad_outputs=np.ones_like(root.data), retain_graph=True,
                                  allow_unused=True)
        finally:
            autograd.set_op_hook(prof)
    leaf_grads = {id(t): g.data for t, g in zip(leaves, grads) if g is not None}
    return recorder, leaf_grads, {r["op"]: r for r in prof.rows}


def _num(x):
    """A float for the page: 4 significant digits (JSON has no NaN or inf: those become text)."""
    x = float(x)
    return float(f"{x:.4g}") if np.isfinite(x) else str(x)


def _summary(a, bins=16):
    """min / mean / max / norm and a histogram of an array's finite values."""
    if a is None:
        return None
    a = np.asarray(a).astype(np.float64, copy=False).ravel()
    finite = a[np.isfinite(a)]
    s = {"n": int(a.size), "bad": int(a.size - finite.size), "norm": _num(np.sqrt(np.square(a).sum()))}
    if finite.size:
        s.update(min=_num(finite.min()), mean=_num(finite.mean()), max=_num(finite.max()),
                 hist=np.histogram(finite, bins=bins)[0].tolist() if finite.size > 1 else [])
    return s


def _kernels(*rows):
    backends = {}
    for row in rows:
        if row:
            backends.update(row["kernel_backends"])
    return ", ".join(f"{k} ({b})" for k, b in sorted(backends.items())) or None


def html(tensor, params=None, path=None, *, modules=None, profile=None):
    """The graph behind ``tensor`` as one self-contained, interactive HTML page (a :class:`Page`).

    The page needs no network, no Graphviz and no package: the layout is computed here (layered,
    Sugiyama-style) and drawn as inline SVG with a little plain JavaScript. It shows

    - tensor nodes: name (parameter names from ``params`` or the recorded model), shape, dtype,
      requires_grad and the values' min / mean / max with a small histogram;
    - op nodes: the Function, its local gradient (its docstring, as :func:`minigrad.explain` prints
      it), the kernels and backend that ran it and its backward time;
    - a side panel with a clicked node's details and, once backward has reached it, its gradient's
      summary and norm;
    - "step backward" controls that highlight the ops in the order the engine runs them (the order
      ``explain`` prints), with the gradient arriving at each op and the gradients it sends on;
    - with ``modules``, a view per nesting depth in which each module is one box.

    The gradients come from one extra backward pass (``autograd.grad`` with ``retain_graph=True``;
    a non-scalar ``tensor`` is seeded with ones) run under its own :class:`minigrad.profile`: no
    ``.grad`` changes, but tensor hooks do run. So
    draw before ``backward()`` (which frees the graph) or after ``backward(retain_graph=True)``, and
    outside a ``minigrad.profile()`` block.

    Parameters
    ----------
    tensor : Tensor
        Usually the loss.
    params : dict, optional
        ``dict(model.named_parameters())`` to name the parameters (default: from ``modules``).
    path : str, optional
        Also write the page there.
    modules : record_modules, optional
        The ops' modules, recorded around the forward pass (see :class:`record_modules`).
    profile : minigrad.profile, optional
        A profile recorded over the forward pass: op nodes then show their forward time (mean per
        call of that op in the profile) and the kernels the forward ran.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"html: expected a Tensor, got {type(tensor).__name__}")
    if tensor._ctx is not None and tensor._ctx.freed:
        raise RuntimeError("html: the graph was already freed by backward(); call html(loss) before "
                           "loss.backward(), or call loss.backward(retain_graph=True)")
    if modules is not None and not isinstance(modules, record_modules):
        raise TypeError(f"html: modules must be a minigrad.viz.record_modules, got {type(modules).__name__}")
    if autograd.get_op_hook() is not None:
        raise RuntimeError("html: call it outside a minigrad.profile() block (it runs its own); pass the "
                           "finished profile as html(..., profile=prof) to show its forward times")
    if params is None and modules is not None:
        params = dict(modules.model.named_parameters())
    names = {id(p): n for n, p in (params or {}).items()}
    module_of = modules.module_of if modules is not None else {}
    user_rows = {r["op"]: r for r in profile.rows} if profile is not None else {}

    tensors, ops, key_edges = _walk(tensor)
    order = autograd.topological_order([tensor._ctx]) if tensor._ctx is not None else []
    step = {id(ctx): i for i, ctx in enumerate(order, 1)}
    seen, leaf_grads, own_rows = {}, {}, {}
    if tensor.requires_grad and tensor._ctx is not None:
        recorder, leaf_grads, own_rows = _gradient_pass(tensor, tensors)
        seen = recorder.seen
    elif tensor.requires_grad:
        leaf_grads = {id(tensor): np.ones_like(tensor.data)}

    index = {f"t{k}": i for i, k in enumerate(tensors)}
    index.update({f"op{id(ctx)}": len(tensors) + i for i, ctx in enumerate(ops)})
    edges = [(index[a], index[b]) for a, b in key_edges]
    ready = {}  # tensor index -> the backward step after which its gradient is complete
    for ctx in ops:
        for t in ctx.inputs:
            if t is not None:
                ready[index[f"t{id(t)}"]] = max(ready.get(index[f"t{id(t)}"], 0), step[id(ctx)])

    nodes, data = [], []
    for i, (key, t) in enumerate(tensors.items()):
        role = _role(t, tensor)
        made = None if t._ctx is None else index[f"op{id(t._ctx)}"]
        if key in names:
            name = names[key]
        elif role == "output":
            name = "tensor drawn"
        elif role == "intermediate":
            name = f"output of {t._ctx.fn.__name__}"
        else:
            name = role
        if t._ctx is None:
            grad = leaf_grads.get(key)
        else:
            grad = seen[id(t._ctx)][0] if id(t._ctx) in seen else None
        value = _summary(t.data)
        data.append({"k": "t", "name": name, "role": role, "shape": _shape(t), "dtype": str(t.dtype),
                     "rg": t.requires_grad, "made": made, "v": value, "g": _summary(grad), "ready": ready.get(i, 0)})
        lines = [f"{_shape(t)} {t.dtype}"] if role == "intermediate" else [name, f"{_shape(t)} {t.dtype}"]
        nodes.append({"key": f"n{i}", "kind": "tensor", "role": role, "lines": lines,
                      "hist": value.get("hist") if t.data.size > 1 else None})
    for ctx in ops:
        op = ctx.fn.__name__
        grad_out, grads, seconds = seen.get(id(ctx), (None, (None,) * len(ctx.inputs), None))
        user = user_rows.get(op)
        fwd = None
        if user and user["calls"]:
            fwd = f"{user['forward_time'] / user['calls'] * 1e3:.4g} ms (mean of {user['calls']} {op} calls in the profile)"
        data.append({"k": "o", "name": op, "doc": local_gradient(ctx.fn), "step": step[id(ctx)],
                     "module": module_of.get(ctx), "kern": _kernels(own_rows.get(op), user),
                     "fwd": fwd, "bwd": None if seconds is None else _num(seconds * 1e3),
                     "out": index[f"t{id(tensor if ctx is tensor._ctx else ctx.output())}"],
                     "inputs": [None if t is None else index[f"t{id(t)}"] for t in ctx.inputs],
                     "gin": _summary(grad_out),
                     "gout": [None if t is None or not t.requires_grad else _summary(g)
                              for t, g in zip(ctx.inputs, grads)]})
        nodes.append({"key": f"n{len(nodes)}", "kind": "op", "role": "op", "lines": [op]})

    expanded, _, _ = draw_svg(nodes, edges)
    views, module_list = [("expanded", expanded)], []
    if modules is not None:
        for depth, groups in _module_levels(ops, module_of, len(tensors)):
            first = len(module_list)
            for name, members in groups.items():
                module_list.append({"name": name, "type": modules.types.get(name, "?"),
                                    "ops": [i for i in members if data[i]["k"] == "o"],
                                    "params": [n for n in names.values() if n.startswith(name + ".")]})
            svg = _collapsed_view(nodes, edges, data, list(groups.values()), first, module_list)
            if svg is not None:
                views.append((f"modules at depth {depth} collapsed", svg))
    title = f"minigrad graph of a {_shape(tensor)} {tensor.dtype} tensor: {len(order)} ops"
    result = Page(page(title, views, {"nodes": data, "order": [index[f"op{id(c)}"] for c in order],
                                      "modules": module_list}))
    result.svg = expanded
    if path is not None:
        result.save(path)
    return result


def _module_levels(ops, module_of, offset):
    """[(depth, {module name: op node indices})] for each depth at which some module ran ops."""
    levels = {}
    for i, ctx in enumerate(ops):
        name = module_of.get(ctx)
        if not name:  # outside any module, or the root module's own forward
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            levels.setdefault(depth, {}).setdefault(".".join(parts[:depth]), []).append(offset + i)
    return sorted(levels.items())


def _collapsed_view(nodes, edges, data, groups, first, module_list):
    """The SVG with each group of ops (a module) drawn as one box, with the parameters and results
    only its ops touch; None if collapsing would make a cycle (a module whose ops interleave with outside ops)."""
    group = {}
    for k, members in enumerate(groups):
        for i in members:
            group[i] = first + k
    consumers = {}
    for u, v in edges:
        if data[v]["k"] == "o":
            consumers.setdefault(u, set()).add(group.get(v))
    for i, d in enumerate(data):
        if d["k"] != "t" or d["role"] == "output" or (d["made"] is None and d["role"] != "parameter"):
            continue  # the inputs a module is given stay outside its box
        inside = consumers.get(i, set())
        if d["made"] is not None:
            inside = inside | {group.get(d["made"])}
        if len(inside) == 1 and None not in inside:
            group[i] = inside.pop()
    shown, view_nodes, boxes = {}, [], {}
    for i, node in enumerate(nodes):
        if i not in group:
            shown[i] = len(view_nodes)
            view_nodes.append(node)
            continue
        m = group[i]
        if m not in boxes:
            boxes[m] = len(view_nodes)
            info = module_list[m]
            view_nodes.append({"key": f"m{m}", "kind": "module", "role": "module", "members": [],
                               "lines": [f"{info['name']}: {info['type']}",
                                         f"{len(info['ops'])} op" + "s" * (len(info["ops"]) > 1)]})
        view_nodes[boxes[m]]["members"].append(str(i))
        shown[i] = boxes[m]
    for node in view_nodes:
        if node["kind"] == "module":
            node["members"] = " ".join(node["members"])
    view_edges = list(dict.fromkeys((shown[u], shown[v]) for u, v in edges if shown[u] != shown[v]))
    try:
        return draw_svg(view_nodes, view_edges)[0]
    except ValueError:
        return None

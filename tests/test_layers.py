"""The package's import structure, read from the source with ``ast`` (nothing is imported):

- imports point down: a module imports only from layers below its own (``LAYERS``), deferred
  imports inside functions included, and no set of modules imports itself round in a circle;
- no module reads another module's ``_private`` names (``from x import _name`` or ``x._name``).
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"

# Lowest first. A module's layer is that of the first entry its dotted name (below ``minigrad``)
# starts with; ``minigrad/__init__.py`` is the public surface, above everything it gathers.
LAYERS = [
    ["_ops"],                                 # kernels: ndarray in, ndarray out
    ["random", "_device"],                    # the one generator; the device objects
    ["autograd"],                             # engine: Function, Context, grad mode, backward
    ["tensor"],                               # Tensor; its operators call functional (bound at load)
    ["functional"],                           # every differentiable op
    ["creation", "serialization", "utils"],   # tensor factories, save/load, gradcheck
    ["nn", "optim", "data"],                  # modules, optimizers, datasets
    ["viz_layout", "viz_page"],               # the HTML viewer's layout and page (numpy only)
    ["profiler", "viz", "onnx"],              # tools that read the graph through the engine's seams
    ["autograd_functional"],                  # jacobian, hessian, ...: whole functions, on autograd.grad
    [""],                                     # minigrad/__init__.py
    ["tune"],                                 # hyperparameter search: trains whole models
]


def _modules():
    """{dotted name: (path, is_package)} for every .py and .pyx file of the package."""
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyx")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return mods


MODULES = _modules()


def _resolve(name):
    """The package module ``name`` lives in: the longest dotted prefix that is a module."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module):
    """(target module, imported name or None, local name, line) for every import of a package module
    in ``module``: ``from .tensor import Tensor`` gives ("minigrad.tensor", "Tensor", "Tensor", line),
    ``from .. import _ops`` ("minigrad._ops", None, "_ops", line)."""
    path, is_package = MODULES[module]
    here = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "minigrad":
                    target = _resolve(a.name) if a.asname else "minigrad"
                    out.append((target, None, a.asname or "minigrad", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            if base.split(".")[0] != "minigrad":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                local = a.asname or a.name
                out.append((sub, None, local, node.lineno) if sub in MODULES
                           else (_resolve(base), a.name, local, node.lineno))
    return out


def _layer(module):
    rest = module[len("minigrad."):] if module != "minigrad" else ""
    for i, names in enumerate(LAYERS):
        for n in names:
            if rest == n or (n and rest.startswith(n + ".")):
                return i
    raise AssertionError(f"{module}: not in LAYERS; add it there")


def _graph():
    return {m: {t for t, _, _, _ in _imports(m) if t != m} for m in MODULES if MODULES[m][0].suffix == ".py"}


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_imports_point_down_between_layers():
    upward = []
    for module in MODULES:
        if MODULES[module][0].suffix != ".py":
            continue
        for target, _, _, line in _imports(module):
            if _layer(target) > _layer(module):
                upward.append(f"{MODULES[module][0].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert upward == [], "imports from a higher layer:\n" + "\n".join(upward)


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_reads_another_modules_private_names():
    reads = []
    for module, (path, _) in MODULES.items():
        if path.suffix != ".py":
            continue
        where = path.relative_to(PACKAGE.parent)
        modules_here = {}  # local name -> the package module it is bound to
        for target, name, local, line in _imports(module):
            if name is None:
                modules_here[local] = target
            elif _private(name) and target != module:
                reads.append(f"{where}:{line} imports {target}.{name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                    and node.value.id in modules_here
                    and f"{modules_here[node.value.id]}.{node.attr}" not in MODULES):  # a submodule is no name
                reads.append(f"{where}:{node.lineno} reads {modules_here[node.value.id]}.{node.attr}")
    assert reads == [], "private names read across modules:\n" + "\n".join(sorted(set(reads)))

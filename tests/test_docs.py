"""The docs stay true: code references in docs/*.md resolve, the adding-an-op walkthrough runs, and
the tutorial script examples/tour.py runs.

Reference syntax (documented at the top of docs/internals.md):
- a Markdown link ``[text](relative/path)`` to a local file must point at an existing file;
- an inline code span ``path/file.py:name`` or ``path/file.py::name`` (name may be dotted,
  ``Class.method``) must name a function, class, method or top-level variable defined in that file;
  the path is taken from the repository root or from ``minigrad/``. Python files are read with
  ``ast``; Cython files (.pyx/.pxd/.pxi) by their def/cdef/cpdef/class lines;
- in a table with a ``code`` and a ``where`` column, the ``code`` cell quotes a line of source (in
  backticks) and the ``where`` cell names the definitions it comes from: the quoted text must occur
  in the body of one of them (whitespace-insensitive). This is how docs/batchnorm.md puts each
  equation next to the line that computes it.
"""
import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import _ops

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_SPAN = re.compile(r"``?([^`]+?)``?")
_NAMED = re.compile(r"^([\w./-]+\.(?:py|pyx|pxd|pxi)):{1,2}([A-Za-z_][\w.]*)$")
_CY_DEF = re.compile(r"^\s*(?:cdef\s+class|cpdef|cdef|def|class)\b[^(:=\n]*?\b(\w+)\s*[(:]", re.M)


def _strip_fences(text):
    """Markdown without its fenced code blocks (code in them is checked by running it)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _resolve(path):
    for base in (ROOT, ROOT / "minigrad"):
        if (base / path).is_file():
            return base / path
    return None


def _py_names(source):
    """Every name defined in a Python file: top-level functions, classes, assignments, and
    ``Class.method`` / ``Class.Inner.method`` for nested definitions."""
    names = set()

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(prefix + node.name)
                if isinstance(node, ast.ClassDef):
                    visit(node.body, prefix + node.name + ".")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(prefix + t.id for t in targets if isinstance(t, ast.Name))
    visit(ast.parse(source).body, "")
    return names


def _py_source(source, name):
    """Source text of the definition ``name`` (dotted for methods) in a Python file, or None."""
    body, node = ast.parse(source).body, None
    for part in name.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part), None)
        if node is None:
            return None
        body = node.body
    return ast.get_source_segment(source, node)


def _cy_source(source, name):
    """Source text of a Cython definition: its def line and the indented lines under it."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        m = _CY_DEF.match(line)
        if m and m.group(1) == name.split(".")[-1]:
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j][0] in " \t)"):
                j += 1
            return "\n".join(lines[i:j])
    return None


def _definition_source(file, name):
    source = file.read_text(encoding="utf-8")
    return _py_source(source, name) if file.suffix == ".py" else _cy_source(source, name)


def _squash(text):
    return re.sub(r"\s+", "", text)


def misquoted_code(text):
    """Rows of code/where tables whose quoted code is not in the definitions they name."""
    bad = []
    for table in re.findall(r"((?:^\|.*\|[ \t]*\n)+)", _strip_fences(text), flags=re.M):
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
        head = [h.lower() for h in rows[0]]
        if "code" not in head or "where" not in head:
            continue
        ci, wi = head.index("code"), head.index("where")
        for row in rows[2:]:
            quoted = re.fullmatch(r"`([^`]+)`", row[ci])
            refs = [m.groups() for m in map(_NAMED.match, _SPAN.findall(row[wi])) if m]
            if not quoted or not refs:
                bad.append(f"row {row}: the code cell must be one `quoted line` and where must name a definition")
                continue
            sources = [(_definition_source(f, n) or "") for f, n in ((_resolve(p), n) for p, n in refs) if f]
            if not any(_squash(quoted.group(1)) in _squash(src) for src in sources):
                bad.append(f"`{quoted.group(1)}` is not in {', '.join(p + ':' + n for p, n in refs)}")
    return bad


def _defined(file, name):
    source = file.read_text(encoding="utf-8")
    if file.suffix == ".py":
        return name in _py_names(source)
    return name.split(".")[-1] in set(_CY_DEF.findall(source))


def broken_references(doc_path, text):
    """The references of one Markdown text that do not resolve, as readable strings."""
    bad = []
    prose = _strip_fences(text)
    for target in _LINK.findall(_SPAN.sub("", prose)):  # link syntax quoted in code is not a link
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # web links and in-page anchors
        file = (doc_path.parent / target.split("#")[0]).resolve()
        if not file.exists():
            bad.append(f"link ({target}): no such file")
    for span in _SPAN.findall(prose):
        m = _NAMED.match(span.strip())
        if not m:
            continue
        path, name = m.groups()
        file = _resolve(path)
        if file is None:
            bad.append(f"`{span}`: no file {path} (from the repository root or minigrad/)")
        elif not _defined(file, name):
            bad.append(f"`{span}`: {file.relative_to(ROOT)} defines no {name}")
    return bad


def test_there_are_docs():
    names = {p.name for p in DOCS}
    assert {"internals.md", "adding_an_op.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_references_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    assert broken_references(doc, text) == []
    assert misquoted_code(text) == []


def test_code_tables_are_checked():
    text = textwrap.dedent("""
        | math | code | where |
        |---|---|---|
        | y = a + b | `return np.add(a, b)` | `functional/elementwise.py:Add.forward` |
        | y = a − b | `return np.add(a, b)` | `functional/elementwise.py:Sub.forward` |
        | ReLU | `out[i] = 0 if x[i] <= 0 else x[i]` | `_ops/elementwise_kernels.pxi:_relu_forward` |
        | ReLU | `out[i] = x[i]` | `_ops/elementwise_kernels.pxi:_relu_backward` |
        """)
    bad = misquoted_code(text)
    assert len(bad) == 2 and "Sub.forward" in bad[0] and "_relu_backward" in bad[1], bad


def test_internals_references_every_layer():
    text = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    refs = {m.group(1) for m in map(_NAMED.match, _SPAN.findall(_strip_fences(text))) if m}
    for file in ("tensor.py", "autograd.py", "nn/module.py", "_ops/__init__.py", "_ops/reference.py",
                 "functional/linalg.py", "viz.py", "profiler.py"):
        assert file in refs, f"internals.md never points into {file}"


def test_checker_catches_broken_references(tmp_path):
    doc = ROOT / "docs" / "x.md"  # resolved relative to docs/, never written
    text = textwrap.dedent("""
        [ok](../minigrad/autograd.py) [missing](../minigrad/nope.py) [web](https://example.org)
        `autograd.py:Function.apply` `minigrad/autograd.py::_run_backward` `tensor.py:Tensor.nope`
        `_ops/elementwise_kernels.pxi:_relu_forward` `_ops/elementwise_kernels.pxi:no_such_kernel` `nope.py:x`
        `minigrad/new_file.py` (a bare path is prose)
        ```python
        `autograd.py:ignored_inside_code_blocks`
        ```
        """)
    bad = broken_references(doc, text)
    assert len(bad) == 4, bad
    assert any("nope.py)" in b for b in bad) and any("Tensor.nope" in b for b in bad)
    assert any("no_such_kernel" in b for b in bad) and any("`nope.py:x`" in b for b in bad)


# ---------------------------------------------------------------- adding_an_op.md runs

def _blocks(doc, lang):
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


_KERNEL_NAMES = ("softsign_forward", "softsign_backward")


def _run_walkthrough(setattr_):
    """Execute the python blocks of adding_an_op.md, each in a namespace of its own, as if in the
    file its first line names. What the page adds to the package is put there with ``setattr_``
    (pytest's monkeypatch.setattr, undone after the test): ``F.softsign`` after step 1, ``nn.Softsign``
    after step 3. The registry block is a line of the KERNELS table: it is evaluated as a list in the
    registry's namespace, giving its ``Kernel`` entries (``kernels``). Returns the namespaces by file."""
    import minigrad.functional
    import minigrad.nn
    from minigrad._ops import registry

    spaces = {}
    for code in _blocks("adding_an_op.md", "python"):
        path = code.splitlines()[0].lstrip("# ").split()[0]
        ns = spaces.setdefault(path, {"__name__": path})
        if path == "minigrad/_ops/registry.py":
            ns["kernels"] = eval(compile("[" + code + "]", "adding_an_op.md (registry)", "eval"), vars(registry))
            continue
        exec(compile(code, f"adding_an_op.md ({path})", "exec"), ns)
        if path == "minigrad/functional/elementwise.py":
            setattr_(minigrad.functional, "softsign", ns["softsign"], raising=False)
        elif path == "minigrad/nn/activation.py":
            setattr_(minigrad.nn, "Softsign", ns["Softsign"], raising=False)
    return spaces


def test_adding_an_op_walkthrough_runs(monkeypatch):
    pytest.importorskip("torch")
    spaces = _run_walkthrough(monkeypatch.setattr)
    assert set(spaces) == {"minigrad/functional/elementwise.py", "minigrad/_ops/reference.py",
                           "minigrad/_ops/registry.py", "minigrad/nn/activation.py",
                           "tests/functional/test_elementwise.py"}
    tests = [f for name, f in spaces["tests/functional/test_elementwise.py"].items() if name.startswith("test_softsign")]
    assert len(tests) == 2
    for t in tests:
        t()
    # the registry line declares both kernels; the doors generated from it validate like the real
    # ones and call the twins (put where the door looks for them, as the package would have them)
    twins = spaces["minigrad/_ops/reference.py"]
    kernels = spaces["minigrad/_ops/registry.py"]["kernels"]
    assert [k.name for k in kernels] == list(_KERNEL_NAMES) and all(k.family == "elementwise" for k in kernels)
    for name in _KERNEL_NAMES:
        monkeypatch.setattr(_ops.reference, name, twins[name], raising=False)
        monkeypatch.setitem(_ops._impl, name, twins[name])
    door = {k.name: _ops._door(k) for k in kernels}
    x = np.random.default_rng(0).standard_normal((5, 3))
    g = np.random.default_rng(1).standard_normal((5, 3))
    xt = minigrad.tensor(x, requires_grad=True)
    y = minigrad.functional.softsign(xt)
    y.backward(minigrad.tensor(g))
    np.testing.assert_allclose(y.data, twins["softsign_forward"](x), rtol=1e-15)
    np.testing.assert_allclose(xt.grad.data, twins["softsign_backward"](g, x), rtol=1e-15)
    np.testing.assert_allclose(door["softsign_forward"](x[:, ::-1]), y.data[:, ::-1], rtol=1e-15)
    np.testing.assert_allclose(door["softsign_backward"](g, x), xt.grad.data, rtol=1e-15)
    with pytest.raises(TypeError, match="x: expected dtype float32 or float64"):
        door["softsign_forward"](np.arange(3))
    with pytest.raises(ValueError, match="grad_out: expected shape"):
        door["softsign_backward"](g[:2], x)
    # explain prints the docstring's formula
    with open(os.devnull, "w") as devnull:
        text = minigrad.explain(minigrad.functional.softsign(xt).sum(), file=devnull)
    assert "SoftsignBackward   y = x / (1 + |x|); ∂y/∂x = 1 / (1 + |x|)²." in text


def test_adding_an_op_kernel_compiles_and_matches_twin(tmp_path):
    """Build the Cython block of the walkthrough as a throw-away extension and compare it with the twin."""
    assert _ops._cpu is not None, "minigrad._ops.cpu must be built: the kernel cimports num_threads from it"
    (code,) = _blocks("adding_an_op.md", "cython")
    (tmp_path / "softsign_doc.pyx").write_text(code)
    (tmp_path / "setup.py").write_text(textwrap.dedent(f"""
        from setuptools import Extension, setup
        from Cython.Build import cythonize
        ext = Extension("softsign_doc", ["softsign_doc.pyx"], extra_compile_args=["-O2", "-fopenmp"],
                        extra_link_args=["-fopenmp"])
        setup(ext_modules=cythonize([ext], include_path=[{str(ROOT)!r}], language_level=3,
                                    compiler_directives=dict(boundscheck=False, wraparound=False, cdivision=True)),
              script_args=["-q", "build_ext", "--inplace"])
        """))
    proc = subprocess.run([sys.executable, "setup.py"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = textwrap.dedent("""
        import numpy as np, minigrad
        import softsign_doc as k
        twins = __import__("test_docs")._run_walkthrough(lambda *a, **k: None)["minigrad/_ops/reference.py"]
        rng = np.random.default_rng(0)
        for dtype, tol in ((np.float32, 1e-6), (np.float64, 1e-15)):
            for n in (1, 7, 70001):  # 70001 > PARALLEL_MIN: the threaded path
                for threads in (1, 2):
                    minigrad.set_num_threads(threads)
                    x = (rng.standard_normal(n) * 3).astype(dtype)
                    g = rng.standard_normal(n).astype(dtype)
                    x.setflags(write=False)  # const memoryviews accept read-only input
                    y = k.softsign_forward(x)
                    assert y.dtype == dtype
                    np.testing.assert_allclose(y, twins["softsign_forward"](x), rtol=tol)
                    np.testing.assert_allclose(k.softsign_backward(g, x), twins["softsign_backward"](g, x), rtol=tol)
        print("kernel ok")
        """)
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "tests")])},
                          timeout=300)
    assert proc.returncode == 0 and "kernel ok" in proc.stdout, proc.stderr[-3000:]


# ---------------------------------------------------------------- examples/tour.py runs

def test_tour_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "tour.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for heading in ("1. a tiny net", "2. forward", "3. explain", "4. hooks", "5. profile"):
        assert f"=== {heading}" in out
    dot = (tmp_path / "tour_graph.dot").read_text(encoding="utf-8")
    assert dot.startswith("digraph minigrad {") and '"Linear"' in dot and "0.weight" in dot
    if shutil.which("dot"):
        assert "<svg" in (tmp_path / "tour_graph.svg").read_text(encoding="utf-8")
    page = (tmp_path / "tour_graph.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "0.weight" in page and "modules at depth 1 collapsed" in page
    assert re.search(r"^\s*1\. CrossEntropyBackward", out, flags=re.M)
    assert re.search(r"backward\s+0 Conv2d\s+‖grad_output‖", out)  # the full backward hook fired
    if hasattr(minigrad.nn, "BatchNorm2d"):  # the tour's net has BN and ends with its statistics
        assert "BatchNormTrainBackward" in out
        assert re.search(r"=== 6\. batch-norm running statistics.*\n.*\n1\s+BatchNorm2d\s+4\s+train", out)
    # (the 20 % agreement is tested on an op-dominated step in test_profiler.py; this tiny quick
    # step spends a visible share in the optimizer)
    assert re.search(r"measured step: [\d.]+ ms; the ops account for \d+ %", out)

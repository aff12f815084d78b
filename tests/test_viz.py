"""minigrad.viz.draw_graph: DOT text parsed back and checked against the recorded graph."""
import re
import shutil
import subprocess

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.viz import Graph, draw_graph

_NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
_EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")


def parse(dot):
    """(nodes, edges) of the DOT text draw_graph writes: nodes id -> (label, attrs)."""
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph minigrad {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := _NODE.match(line):
            assert m.group(1) not in nodes, f"node declared twice: {line}"
            nodes[m.group(1)] = (m.group(2).replace("\\n", "\n"), m.group(3))
        elif m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert line.strip() == "}" or (line.strip().endswith(";") and "=" in line), f"unexpected DOT line: {line}"
    for a, b in edges:
        assert a in nodes and b in nodes, "edge to an undeclared node"
    return nodes, edges


def _model_and_loss(dtype=np.float32):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).to(dtype)
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(dtype))
    loss = (model(x) ** 2).mean()
    return model, x, loss


def test_nodes_edges_and_roles():
    model, x, loss = _model_and_loss()
    dot = draw_graph(loss, params=dict(model.named_parameters()))
    assert isinstance(dot, Graph) and isinstance(dot, str)
    nodes, edges = parse(dot)
    ops = {k: v for k, v in nodes.items() if k.startswith("op")}
    assert sorted(label for label, _ in ops.values()) == ["Linear", "Linear", "Mean", "Pow", "ReLU"]
    # every op has exactly one outgoing edge (its output) and its inputs as incoming edges
    for op in ops:
        assert sum(a == op for a, _ in edges) == 1
    assert sorted(sum(b == k for _, b in edges) for k, (lbl, _) in ops.items() if lbl == "Linear") == [3, 3]
    # roles
    params = {label.split("\n")[0]: attrs for label, attrs in nodes.values() if "#c7e9c0" in attrs}
    assert set(params) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all("shape=box" in a for a in params.values())
    assert nodes[f"t{id(model[0].weight)}"][0] == "0.weight\n(5, 6) float32"
    assert nodes[f"t{id(model[2].bias)}"][0] == "2.bias\n(3,) float32"
    const_label, const_attrs = nodes[f"t{id(x)}"]
    assert const_label == "constant\n(4, 6) float32" and "dashed" in const_attrs
    out_label, out_attrs = nodes[f"t{id(loss)}"]
    assert out_label == "() float32" and "penwidth=2" in out_attrs
    intermediates = [v for v in nodes.values() if "#ffffff" in v[1]]
    assert sorted(v[0] for v in intermediates) == ["(4, 3) float32", "(4, 3) float32", "(4, 5) float32",
                                                   "(4, 5) float32"]
    # acyclic, and the output is the only sink
    sinks = set(nodes) - {a for a, _ in edges}
    assert sinks == {f"t{id(loss)}"}


def test_leaf_and_float64_and_unnamed_parameters():
    w = nn.Parameter(np.ones((2, 2)))
    b = minigrad.tensor(np.zeros(2), requires_grad=True)
    y = (minigrad.tensor(np.ones(2)) @ w + b).sum()
    nodes, _ = parse(draw_graph(y))
    labels = sorted(label for label, _ in nodes.values())
    assert "leaf\n(2,) float64" in labels and "parameter\n(2, 2) float64" in labels
    leaf = nodes[f"t{id(b)}"]
    assert "ellipse" in leaf[1] and "#c6dbef" in leaf[1]
    # a leaf on its own draws as one node
    nodes, edges = parse(draw_graph(b))
    assert len(nodes) == 1 and edges == []


def test_grad_norms_match_backward_and_leave_grad_untouched():
    model, x, loss = _model_and_loss(np.float64)
    dot = draw_graph(loss, show_grad_norms=True, params=dict(model.named_parameters()))
    assert all(p.grad is None for p in model.parameters())
    nodes, _ = parse(dot)
    loss.backward()
    for name, p in model.named_parameters():
        label = nodes[f"t{id(p)}"][0]
        norm = float(re.search(r"‖grad‖ = (\S+)", label).group(1))
        assert norm == pytest.approx(np.linalg.norm(p.grad.data), rel=5e-3), name  # 3 digits shown
    assert "‖grad‖ = 1" in nodes[f"t{id(loss)}"][0]
    assert "‖grad‖" not in nodes[f"t{id(x)}"][0]  # the data needs no gradient


def test_freed_graph_and_bad_argument():
    _, _, loss = _model_and_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        draw_graph(loss)
    with pytest.raises(TypeError, match="Tensor"):
        draw_graph(np.ones(3))


def test_legend():
    model, _, loss = _model_and_loss()
    plain = parse(draw_graph(loss))
    nodes, edges = parse(draw_graph(loss, legend=True))
    legend = {k: v for k, v in nodes.items() if k.startswith("legend_")}
    assert len(legend) == 6 and len(nodes) == len(plain[0]) + 6 and edges == plain[1]
    assert legend["legend_parameter"][1] == nodes[f"t{id(model[0].weight)}"][1]


def test_save_writes_the_dot_text(tmp_path):
    _, _, loss = _model_and_loss()
    dot = draw_graph(loss)
    path = dot.save(str(tmp_path / "g.dot"))
    assert open(path, encoding="utf-8").read() == str(dot)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_render_svg_and_png_with_dot(tmp_path):
    model, _, loss = _model_and_loss()
    dot = draw_graph(loss, show_grad_norms=True, params=dict(model.named_parameters()), legend=True)
    svg = dot.render(str(tmp_path / "g.svg"))
    text = open(svg, encoding="utf-8").read()
    assert "<svg" in text and "0.weight" in text and "Linear" in text
    png = dot.render(str(tmp_path / "g"), format="png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # dot itself accepts the text: its canonical form has the same nodes
    canon = subprocess.run(["dot", "-Tcanon"], input=str(dot).encode(), capture_output=True, check=True)
    assert canon.stdout.decode().count("->") == str(dot).count("->")


def test_render_without_dot_says_how_to_install(monkeypatch, tmp_path):
    _, _, loss = _model_and_loss()
    monkeypatch.setattr(minigrad.viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"'dot' was not found.*apt-get install graphviz"):
        draw_graph(loss).render(str(tmp_path / "g.svg"))


def _demo_model():
    """examples/demo.py's CNN, or a skip naming the layer the package does not have yet."""
    import importlib.util
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "examples"))
    try:
        spec = importlib.util.spec_from_file_location("demo_for_viz", sys.path[0] + "/demo.py")
        demo = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(demo)
        return demo.make_model()
    finally:
        sys.path.pop(0)


def test_demo_model_graph_explain_profile():
    """The three study tools on the model of examples/demo.py (acceptance of issue 5)."""
    import minigrad.nn.functional as F
    model = _demo_model()
    params = dict(model.named_parameters())
    x, y = minigrad.randn(4, 1, 28, 28), minigrad.randint(0, 10, (4,))
    loss = F.cross_entropy(model(x), y)
    nodes, edges = parse(draw_graph(loss, show_grad_norms=True, params=params))
    labels = [label for label, _ in nodes.values()]
    for name in params:  # every parameter is drawn, named, with its gradient norm
        assert any(label.startswith(name + "\n") and "‖grad‖" in label for label in labels), name
    ops = [label for k, (label, _) in nodes.items() if k.startswith("op")]
    text = minigrad.explain(loss, params=params, file=open("/dev/null", "w"))
    assert len(re.findall(r"^\s*\d+\. ", text, flags=re.M)) == len(ops)
    with minigrad.profile() as prof:
        F.cross_entropy(model(x), y).backward()
    assert sum(r["calls"] for r in prof.rows) == len(ops)
    assert {r["op"] for r in prof.rows} == set(ops)

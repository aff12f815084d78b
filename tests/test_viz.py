"""minigrad.viz: draw_graph's DOT text parsed back and checked against the recorded graph; html's page
(its data, its layout, and in headless Chromium)."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.viz import Graph, Page, draw_graph, html, record_modules

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


# ---------------------------------------------------------------- viz.html

def page_data(page):
    """The JSON the page's script reads."""
    return json.loads(re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page, re.S)
                      .group(1).replace("<\\/", "</"))


def page_views(page):
    """(label, parsed <svg>) of each view of the page."""
    labels = re.findall(r'<option value="\d+">(.*?)</option>', page)
    svgs = re.findall(r'<div class="mg-view"[^>]*>(<svg.*?</svg>)</div>', page, re.S)
    assert len(labels) == len(svgs)
    return [(label, ET.fromstring(svg)) for label, svg in zip(labels, svgs)]


_SVG = "{http://www.w3.org/2000/svg}"


def drawn(svg):
    """{key: (x, y, w, h, data-i)} of the node boxes and [(u, v, path d)] of the edges of one view."""
    nodes = {}
    for g in svg.iter(f"{_SVG}g"):
        if "mg-node" in g.get("class", "").split():
            r = g.find(f"{_SVG}rect")
            nodes[g.get("data-key")] = tuple(float(r.get(a)) for a in ("x", "y", "width", "height")) + (g.get("data-i"),)
    edges = [(p.get("data-u"), p.get("data-v"), p.get("d")) for p in svg.iter(f"{_SVG}path")
             if p.get("class") == "mg-edge"]
    return nodes, edges


def _explained_names(loss, params=None):
    text = minigrad.explain(loss, params=params, file=open(os.devnull, "w"))
    return re.findall(r"^\s*\d+\. (\w+)Backward", text, flags=re.M)


def test_html_summaries_gradients_and_order():
    model, x, loss = _model_and_loss(np.float64)
    params = dict(model.named_parameters())
    page = html(loss, params=params)
    assert isinstance(page, Page) and page.startswith("<!DOCTYPE html>")
    assert all(p.grad is None for p in model.parameters())  # its gradient pass leaves .grad alone
    data = page_data(page)
    nodes = data["nodes"]
    ops = [n for n in nodes if n["k"] == "o"]
    assert [nodes[i]["name"] for i in data["order"]] == _explained_names(loss, params)
    assert sorted(n["step"] for n in ops) == list(range(1, len(ops) + 1))
    by_name = {n["name"]: n for n in nodes if n["k"] == "t"}
    w = model[0].weight.data
    assert by_name["0.weight"]["shape"] == "(5, 6)" and by_name["0.weight"]["dtype"] == "float64"
    v = by_name["0.weight"]["v"]
    assert (v["min"], v["mean"], v["max"]) == pytest.approx((w.min(), w.mean(), w.max()), rel=1e-3)
    assert sum(v["hist"]) == w.size
    assert by_name["constant"]["rg"] is False and by_name["constant"]["g"] is None
    loss.backward()
    for name, p in params.items():
        g = by_name[name]["g"]
        assert g["norm"] == pytest.approx(np.linalg.norm(p.grad.data), rel=1e-3), name
        assert g["max"] == pytest.approx(p.grad.data.max(), rel=1e-3, abs=1e-12), name
        # ready once the op that uses it has sent its gradient
        assert by_name[name]["ready"] == max(o["step"] for o in ops if nodes.index(by_name[name]) in o["inputs"])
    assert by_name["tensor drawn"]["g"]["norm"] == 1 and by_name["tensor drawn"]["ready"] == 0
    # each op: the gradient arriving is its output's gradient; what it sends has its inputs' shapes
    for op in ops:
        assert op["gin"]["norm"] == nodes[op["out"]]["g"]["norm"]
        for i, g in zip(op["inputs"], op["gout"]):
            assert (g is None) == (i is None or not nodes[i]["rg"])
            if g is not None:
                assert g["n"] == np.prod(eval(nodes[i]["shape"]))
        assert op["doc"] and op["bwd"] > 0
    linear = next(op for op in ops if op["name"] == "Linear")
    assert "gemm (" in linear["kern"]


def test_html_profile_forward_times_and_kernels():
    model, x, _ = _model_and_loss()
    with minigrad.profile() as prof:
        loss = (model(x) ** 2).mean()
    ops = {n["name"]: n for n in page_data(html(loss, profile=prof))["nodes"] if n["k"] == "o"}
    assert re.fullmatch(r"\S+ ms \(mean of 2 Linear calls in the profile\)", ops["Linear"]["fwd"])
    assert ops["ReLU"]["kern"].startswith("relu_backward (") and "relu_forward (" in ops["ReLU"]["kern"]
    assert ops["Pow"]["kern"] is None  # numpy inside the op: no kernel


def _nested():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), nn.Linear(3, 2))
    x = minigrad.randn(5, 4)
    with record_modules(model) as modules:
        loss = model(x).sum()
    return model, modules, loss


def test_html_collapses_modules():
    model, modules, loss = _nested()
    assert not model._forward_hooks and not model[0][0]._forward_hooks  # the hooks are gone
    page = html(loss, modules=modules)
    data = page_data(page)
    views = page_views(page)
    assert [label for label, _ in views] == ["expanded", "modules at depth 1 collapsed",
                                             "modules at depth 2 collapsed"]
    mods = {m["name"]: m for m in data["modules"]}
    assert mods["0"]["type"] == "Sequential" and mods["0.1"]["type"] == "ReLU" and mods["1"]["type"] == "Linear"
    assert sorted(data["nodes"][i]["name"] for i in mods["0"]["ops"]) == ["Linear", "ReLU"]
    assert mods["0"]["params"] == ["0.0.weight", "0.0.bias"]
    ops = [n for n in data["nodes"] if n["k"] == "o"]
    assert sorted((n["name"], n["module"] or "") for n in ops) == [("Linear", "0.0"), ("Linear", "1"),
                                                                   ("ReLU", "0.1"), ("Sum", "")]
    # depth 1: module 0 is one box holding its two ops, its parameters and the tensor between them
    nodes, edges = drawn(views[1][1])
    box = next(v for k, v in nodes.items() if k.startswith("m") and data["modules"][int(k[1:])]["name"] == "0")
    members = {data["nodes"][int(i)]["name"] for i in box[4].split()}
    assert members == {"Linear", "ReLU", "0.0.weight", "0.0.bias", "output of Linear"}
    shown = {data["nodes"][int(i)]["name"] for k, v in nodes.items() if k.startswith("n") for i in v[4].split()}
    assert shown == {"constant", "output of ReLU", "output of Linear", "Sum", "tensor drawn"}
    assert sorted(data["modules"][int(k[1:])]["name"] for k in nodes if k.startswith("m")) == ["0", "1"]
    key = {m["name"]: f"m{k}" for k, m in enumerate(data["modules"])}
    between = next(k for k, v in nodes.items() if k.startswith("n") and data["nodes"][int(v[4])]["name"] == "output of ReLU")
    assert {(key["0"], between), (between, key["1"])} <= {(u, v) for u, v, _ in edges}  # box 0 → tensor → box 1
    # every graph node is shown exactly once in every view
    for _, svg in views:
        ids = sorted(int(i) for v in drawn(svg)[0].values() for i in v[4].split())
        assert ids == list(range(len(data["nodes"])))


def test_html_errors():
    _, _, loss = _model_and_loss()
    with pytest.raises(TypeError, match="expected a Tensor"):
        html(np.ones(2))
    with pytest.raises(TypeError, match="record_modules"):
        html(loss, modules={})
    with pytest.raises(TypeError, match="nn.Module"):
        record_modules(lambda x: x)
    with minigrad.profile(), pytest.raises(RuntimeError, match="outside a minigrad.profile"):
        html(loss)
    loss.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        html(loss)


def test_html_of_a_leaf_and_of_a_constant():
    leaf = minigrad.tensor(np.arange(3.0), requires_grad=True)
    data = page_data(html(leaf))
    assert data["order"] == [] and len(data["nodes"]) == 1 and data["nodes"][0]["g"]["norm"] == pytest.approx(3 ** 0.5, rel=1e-3)
    const = minigrad.tensor(np.array([1.0, np.nan, np.inf]))
    (node,) = page_data(html(const * 2))["nodes"]
    assert node["rg"] is False and node["v"]["bad"] == 2 and node["v"]["max"] == 2


def test_page_save_and_jupyter(tmp_path):
    model, _, loss = _model_and_loss()
    dot = draw_graph(loss, params=dict(model.named_parameters()))
    svg = ET.fromstring(dot._repr_svg_())  # Jupyter's picture of a Graph: no Graphviz needed
    nodes, edges = drawn(svg)
    assert len(nodes) == len(parse(dot)[0]) and len(edges) == len(parse(dot)[1])
    assert Graph("digraph g {}")._repr_svg_() is None  # no recorded graph: Jupyter shows the text
    page = html(loss, path=str(tmp_path / "g.html"))
    assert open(tmp_path / "g.html", encoding="utf-8").read() == page
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "<script" not in frame  # the page is escaped inside
    assert ET.fromstring(page.svg).tag == f"{_SVG}svg"


@pytest.fixture(scope="module")
def demo_page():
    """The demo CNN's page (modules recorded), explain's order of op names, and the parameters."""
    import minigrad.nn.functional as F
    model = _demo_model()
    params = dict(model.named_parameters())
    x, y = minigrad.randn(4, 1, 28, 28), minigrad.randint(0, 10, (4,))
    with record_modules(model) as modules:
        loss = F.cross_entropy(model(x), y)
    return html(loss, modules=modules), _explained_names(loss, params), params


def test_demo_page_layout_size_and_offline(demo_page):
    page, _, _ = demo_page
    assert len(page.encode("utf-8")) < 1_000_000
    # nothing to fetch: no URL in a src or href, and the page forbids loading anything itself
    assert not re.search(r'(src|href)="(?!data:|#)', page) and "default-src 'none'" in page
    data = page_data(page)
    for label, svg in page_views(page):
        nodes, edges = drawn(svg)
        boxes = list(nodes.items())
        for i, (a, (ax, ay, aw, ah, _)) in enumerate(boxes):  # no two node boxes overlap
            for b, (bx, by, bw, bh, _) in boxes[:i]:
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (label, a, b)
        if label != "expanded":
            continue
        # every edge runs from an input to the op that uses it, or from an op to its output, and
        # starts at the bottom of the first box and ends at the top of the second
        expected = []
        for i, n in enumerate(data["nodes"]):
            if n["k"] == "o":
                expected += [(f"n{j}", f"n{i}") for j in n["inputs"] if j is not None] + [(f"n{i}", f"n{n['out']}")]
        assert sorted((u, v) for u, v, _ in edges) == sorted(expected)
        for u, v, d in edges:
            points = [tuple(map(float, p.split(","))) for p in re.findall(r"-?[\d.]+,-?[\d.]+", d)]
            (ux, uy, uw, uh, _), (vx, vy, vw, vh, _) = nodes[u], nodes[v]
            assert points[0] == pytest.approx((ux + uw / 2, uy + uh), abs=0.1)
            assert points[-1] == pytest.approx((vx + vw / 2, vy), abs=0.1)


@pytest.fixture(scope="module")
def chromium():
    """Selenium driving the system's headless Chromium (Debian: chromium, chromium-driver), with
    every network request blocked; one browser for all the checks."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_exe = shutil.which("chromedriver")
    if browser is None or driver_exe is None:
        missing = ("no headless Chromium: install the Debian packages chromium and chromium-driver "
                   "(.ci/run does, as root)")
        if os.environ.get("CI"):  # .ci/run installed it: a missing browser there is a failure
            pytest.fail(missing)
        pytest.skip(missing)
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra has it)")
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://0.0.0.0:9"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_exe), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*://*", "*:*"]})
    yield driver
    driver.quit()


def test_demo_page_in_headless_chromium(chromium, demo_page, tmp_path):
    from selenium.webdriver.common.by import By
    page, names, params = demo_page
    path = page.save(str(tmp_path / "demo.html"))
    url = "file://" + path
    chromium.get_log("performance")  # drop what came before
    chromium.get(url)
    assert chromium.execute_script("return document.body.dataset.ready") == "1"
    data = page_data(page)
    run = chromium.execute_script

    # every node of the graph is drawn, with a box of its own on the page
    drawn_ids = run("return Array.from(document.querySelectorAll('.mg-view:not([hidden]) .mg-node'))"
                    ".map(g => [g.dataset.i, g.getBBox().width, g.getBBox().height])")
    assert sorted(int(i) for i, _, _ in drawn_ids) == list(range(len(data["nodes"])))
    assert all(w > 10 and h > 10 for _, w, h in drawn_ids)

    # click a parameter, read its shape in the panel
    weight = next(i for i, n in enumerate(data["nodes"]) if n["name"] == "4.weight")
    chromium.find_element(By.CSS_SELECTOR, f'.mg-view:not([hidden]) [data-key="n{weight}"]').click()
    assert chromium.find_element(By.CSS_SELECTOR, "#mg-details .mg-shape").text == \
        str(tuple(params["4.weight"].shape))
    assert "complete after backward step" in chromium.find_element(By.ID, "mg-details").text

    # step through backward: the highlighted ops come in explain's order, one new op per step
    seen, step_button = [], chromium.find_element(By.ID, "mg-step")
    for step in range(1, len(names) + 1):
        step_button.click()
        current, count, done = run(
            "const v = document.querySelector('.mg-view:not([hidden])');"
            "return [Array.from(v.querySelectorAll('.mg-current')).map(g => g.textContent),"
            "        document.getElementById('mg-count').textContent, v.querySelectorAll('.mg-done').length]")
        assert len(current) == 1 and count == f"{step} / {len(names)}" and done == step - 1
        seen.append(current[0])
    assert seen == names
    # the selected weight now shows its gradient, whose norm the page has from its gradient pass
    assert "norm" in chromium.find_element(By.ID, "mg-details").text

    # the collapsed view: each layer of the Sequential is one box, and stepping still highlights
    chromium.find_element(By.CSS_SELECTOR, '#mg-level option[value="1"]').click()
    boxes = run("return Array.from(document.querySelectorAll('.mg-view:not([hidden]) .mg-module')).length")
    assert boxes == len([m for m in data["modules"] if "." not in m["name"]])
    assert run("return document.querySelectorAll('.mg-view:not([hidden]) .mg-current').length") == 1

    # a screenshot in the middle of backward, with the last layer's weight selected
    chromium.find_element(By.CSS_SELECTOR, '#mg-level option[value="0"]').click()
    chromium.find_element(By.ID, "mg-reset").click()
    for _ in range(8):
        step_button.click()
    chromium.set_window_size(1400, 1300)
    chromium.find_element(By.ID, "mg-fit").click()
    shot = tmp_path / "viewer.png"
    assert chromium.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("MINIGRAD_VIZ_SCREENSHOT"):  # how docs/img/viewer.png is made
        shutil.copy(shot, os.environ["MINIGRAD_VIZ_SCREENSHOT"])

    # no network: the page itself was the only request, and the script logged no error
    requests = [json.loads(e["message"])["message"] for e in chromium.get_log("performance")]
    urls = {m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"}
    assert urls <= {url}, urls
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]

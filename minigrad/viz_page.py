"""Draw a laid-out graph as SVG and wrap it in the self-contained page of ``minigrad.viz.html``.

Knows nothing of tensors: ``minigrad.viz`` hands it boxes to draw (kind, role, text lines, a value
histogram) and the page's data as a dict. The SVG carries its colours as attributes, so it stands on
its own (``_repr_svg_`` in Jupyter); the page's style sheet only adds the highlights of the backward
stepper. No file, font or script is loaded from anywhere: the page works offline.
"""
import html as _html
import json

from .viz_layout import layout

__all__ = ["draw_svg", "page"]

FONT_SIZE = 11
CHAR_WIDTH = 6.7    # of the monospace font at FONT_SIZE px (DejaVu Sans Mono, Liberation Mono: 6.6)
LINE_HEIGHT = 14
HIST_HEIGHT = 12

# fill, stroke, stroke-width, dash: the roles of draw_graph's legend
_LOOK = {
    "parameter": ("#c7e9c0", "#31a354", 1.2, None),
    "leaf": ("#c6dbef", "#3182bd", 1.2, None),
    "constant": ("#f0f0f0", "#969696", 1.2, "4 3"),
    "intermediate": ("#ffffff", "#636363", 1.0, None),
    "output": ("#fdd0a2", "#e6550d", 2.5, None),
    "op": ("#fff2ae", "#b8a000", 1.2, None),
    "module": ("#dadaeb", "#6a51a3", 1.8, None),
}
LEGEND = (("op", "op (Function)"), ("parameter", "parameter"), ("leaf", "leaf, requires grad"),
          ("constant", "constant (no grad)"), ("intermediate", "intermediate"), ("output", "drawn tensor"),
          ("module", "collapsed module"))


def _size(node):
    width = max(len(line) for line in node["lines"]) * CHAR_WIDTH + 16
    height = len(node["lines"]) * LINE_HEIGHT + 10 + (HIST_HEIGHT + 2 if node.get("hist") else 0)
    return max(width, 44.0), height


def _f(x):
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _hist_bars(hist, x, y, w):
    """The histogram as one path of bars (one element per node keeps big pages small)."""
    top = max(hist) or 1
    bw = w / len(hist)
    bars = "".join(f"M{_f(x + i * bw)},{_f(y + HIST_HEIGHT)}v-{_f(HIST_HEIGHT * c / top)}h{_f(max(bw - 1, 0.5))}"
                   f"v{_f(HIST_HEIGHT * c / top)}z" for i, c in enumerate(hist) if c)
    return f'<path class="mg-hist" d="{bars}" fill="#8c8c8c"/>'


def _edge_path(points):
    """Smooth path through the points: cubic segments that leave and enter vertically."""
    (x, y), rest = points[0], points[1:]
    d = [f"M{_f(x)},{_f(y)}"]
    for x1, y1 in rest:
        mid = (y1 - y) / 2
        d.append(f"C{_f(x)},{_f(y + mid)} {_f(x1)},{_f(y1 - mid)} {_f(x1)},{_f(y1)}")
        x, y = x1, y1
    return "".join(d)


def draw_svg(nodes, edges):
    """(svg text, boxes, paths) for ``nodes`` (dicts: key, kind 'tensor'/'op'/'module', role, lines,
    optional hist and members) and ``edges`` (index pairs, forward direction).

    Each node is a ``<g class="mg-node" data-key=...>`` (``data-i``: the graph nodes it shows) and
    each edge a ``<path class="mg-edge" data-u=... data-v=...>`` with the keys of its two ends."""
    boxes, paths, (width, height) = layout([_size(n) for n in nodes], edges)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mg-svg" width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
           f'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT_SIZE}">',
           '<defs><marker id="mg-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0L8,4L0,8z" fill="#777"/></marker></defs>', '<g class="mg-edges">']
    for (u, v), points in zip(edges, paths):
        out.append(f'<path class="mg-edge" data-u="{nodes[u]["key"]}" data-v="{nodes[v]["key"]}" '
                   f'd="{_edge_path(points)}" fill="none" stroke="#999" stroke-width="1.2" marker-end="url(#mg-arrow)"/>')
    out.append("</g>")
    for node, (x, y, w, h) in zip(nodes, boxes):
        role = node["role"] if node["kind"] == "tensor" else node["kind"]
        fill, stroke, sw, dash = _LOOK[role]
        members = node.get("members", node["key"][1:])
        out.append(f'<g class="mg-node mg-{node["kind"]}" data-key="{node["key"]}" data-i="{members}">')
        out.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" rx="{12 if node["kind"] == "op" else 4}" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        for k, line in enumerate(node["lines"]):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{_f(x + w / 2)}" y="{_f(y + 5 + LINE_HEIGHT * (k + 1) - 3)}" text-anchor="middle"{weight}>'
                       f"{_html.escape(line)}</text>")
        if node.get("hist"):
            out.append(_hist_bars(node["hist"], x + 8, y + h - HIST_HEIGHT - 5, w - 16))
        out.append("</g>")
    out.append("</svg>")
    return "".join(out), boxes, paths


def page(title, views, data):
    """The whole HTML page: ``views`` is a list of (label, svg text), one per collapse level;
    ``data`` the dict the script reads (nodes, backward order, modules)."""
    legend = "".join(f'<span class="mg-key"><i style="background:{_LOOK[r][0]};border-color:{_LOOK[r][1]}"></i>{t}</span>'
                     for r, t in LEGEND)
    options = "".join(f'<option value="{i}">{_html.escape(label)}</option>' for i, (label, _) in enumerate(views))
    svgs = "".join(f'<div class="mg-view"{"" if i == 0 else " hidden"}>{svg}</div>' for i, (_, svg) in enumerate(views))
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return (_TEMPLATE.replace("%TITLE%", _html.escape(title)).replace("%LEGEND%", legend)
            .replace("%OPTIONS%", options).replace("%VIEWS%", svgs).replace("%DATA%", payload)
            .replace("%SCRIPT%", _SCRIPT))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%TITLE%</title>
<link rel="icon" href="data:,">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>
body{margin:0;font:13px system-ui,sans-serif;color:#222;display:flex;flex-direction:column;height:100vh}
header{padding:6px 10px;border-bottom:1px solid #ccc;background:#f7f7f7;display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}
header b{font-size:14px}
button,select{font:inherit}
#mg-main{flex:1;display:flex;min-height:0}
#mg-graph{flex:1;overflow:auto;background:#fff}
#mg-panel{width:360px;overflow:auto;border-left:1px solid #ccc;padding:8px 12px;background:#fcfcfc}
#mg-panel h3{margin:10px 0 4px;font-size:14px}
#mg-panel table{border-collapse:collapse}#mg-panel td{padding:1px 6px 1px 0;vertical-align:top}
#mg-panel code{font-size:12px;white-space:pre-wrap}
.mg-key{display:inline-flex;align-items:center;gap:3px;font-size:12px;margin-right:8px}
.mg-key i{display:inline-block;width:14px;height:10px;border:1px solid}
.mg-node{cursor:pointer}
.mg-node.mg-selected rect:first-of-type{stroke:#000;stroke-width:2.5}
.mg-node.mg-done rect:first-of-type{stroke:#2c7fb8;stroke-width:2}
.mg-node.mg-current rect:first-of-type{stroke:#d7301f;stroke-width:4}
.mg-node.mg-gin rect:first-of-type{stroke:#d7301f;stroke-width:2.5;stroke-dasharray:none}
.mg-node.mg-gout rect:first-of-type{stroke:#fc8d59;stroke-width:2.5;stroke-dasharray:none}
.mg-edge.mg-gin{stroke:#d7301f;stroke-width:3}
.mg-edge.mg-gout{stroke:#fc8d59;stroke-width:3}
.mg-muted{color:#777}
</style></head><body>
<header><b>%TITLE%</b>
<span><button id="mg-reset" title="back to the forward view">&#x25C0;&#x25C0;</button>
<button id="mg-back" title="one step back (&larr;)">&#x25C0;</button>
<button id="mg-step" title="step backward (&rarr;)">step backward &#x25B6;</button>
<button id="mg-all" title="run the whole backward">&#x25B6;&#x25B6;</button>
<span id="mg-count"></span></span>
<label>view <select id="mg-level">%OPTIONS%</select></label>
<span><button id="mg-out" title="zoom out">&minus;</button><button id="mg-in" title="zoom in">+</button><button id="mg-fit" title="fit the graph to the window">fit</button></span>
<span>%LEGEND%</span></header>
<div id="mg-main"><div id="mg-graph">%VIEWS%</div>
<div id="mg-panel"><div id="mg-stepinfo"></div><div id="mg-details"><p class="mg-muted">Click a node for its details.
Step backward to watch the gradient flow, in the order the engine runs the ops (as
<code>minigrad.explain</code> prints it).</p></div></div></div>
<script type="application/json" id="mg-data">%DATA%</script>
<script>%SCRIPT%</script>
</body></html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("mg-data").textContent);
  const views = Array.from(document.querySelectorAll(".mg-view"));
  const N = D.order.length;
  let level = 0, step = 0, selected = null, zoom = 1;
  // per view: graph node index -> the element that shows it (the node itself or its module's box)
  const shows = views.map(v => {
    const m = new Map();
    v.querySelectorAll(".mg-node").forEach(el => el.dataset.i.split(" ").forEach(i => m.set(+i, el)));
    return m;
  });
  const $ = id => document.getElementById(id);
  const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  const num = x => typeof x === "number" ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : +x.toPrecision(4)) : x;

  function hist(h) {
    if (!h || !h.length) return "";
    const top = Math.max(...h) || 1, w = 200 / h.length;
    return '<svg width="200" height="30">' + h.map((c, i) =>
      `<rect x="${i * w}" y="${30 - 30 * c / top}" width="${w - 1}" height="${30 * c / top}" fill="#8c8c8c"/>`).join("") + "</svg>";
  }
  function summary(s) {
    if (!s) return '<span class="mg-muted">none</span>';
    let t = `<table><tr><td>min</td><td>${num(s.min)}</td><td>mean</td><td>${num(s.mean)}</td><td>max</td><td>${num(s.max)}</td></tr>`;
    if ("norm" in s) t += `<tr><td>norm</td><td colspan="5">${num(s.norm)}</td></tr>`;
    if (s.bad) t += `<tr><td colspan="6">${s.bad} of ${s.n} values are NaN or inf</td></tr>`;
    return t + "</table>" + hist(s.hist);
  }
  function rows(pairs) {
    return "<table>" + pairs.filter(p => p[1] !== null && p[1] !== undefined)
      .map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join("") + "</table>";
  }
  function label(i) { const n = D.nodes[i]; return n.k === "o" ? n.name : `${n.name} ${n.shape}`; }

  function tensorDetails(i) {
    const n = D.nodes[i];
    let h = `<h3>${esc(n.name)}</h3>` + rows([["role", n.role], ["shape", `<span class="mg-shape">${n.shape}</span>`],
      ["dtype", n.dtype], ["requires_grad", n.rg], ["made by", n.made === null ? "-" : `step ${D.nodes[n.made].step}: ${esc(D.nodes[n.made].name)}`]]);
    h += "<h3>value</h3>" + summary(n.v);
    if (n.rg) {
      h += "<h3>gradient ∂out/∂(this)</h3>";
      h += step >= n.ready ? summary(n.g) : `<p class="mg-muted">complete after backward step ${n.ready}; step backward to see it.</p>`;
    }
    return h;
  }
  function opDetails(i) {
    const n = D.nodes[i];
    let h = `<h3>${esc(n.name)} <span class="mg-muted">(backward step ${n.step} of ${N})</span></h3>`;
    h += `<p><code>${esc(n.doc)}</code></p>` + rows([["module", n.module && esc(n.module)], ["kernels", esc(n.kern || "none (numpy in the op)")],
      ["forward", n.fwd && esc(n.fwd)], ["backward", n.bwd === null ? null : `${num(n.bwd)} ms (this node, in html()'s gradient pass)`],
      ["output", label(n.out)], ["inputs", n.inputs.map(j => j === null ? "-" : esc(label(j))).join("<br>")]]);
    if (step >= n.step) {
      h += "<h3>gradient arriving (at its output)</h3>" + summary(n.gin);
      n.gout.forEach((g, k) => {
        if (n.inputs[k] === null) return;
        h += `<h3>gradient sent to input ${k} <span class="mg-muted">${esc(label(n.inputs[k]))}</span></h3>` + summary(g);
      });
    } else h += '<p class="mg-muted">Step backward to this op to see the gradients it receives and sends.</p>';
    return h;
  }
  function moduleDetails(k) {
    const m = D.modules[k];
    return `<h3>${esc(m.name)}: ${esc(m.type)}</h3>` + rows([["ops", m.ops.map(i => esc(D.nodes[i].name)).join(", ")],
      ["parameters", m.params.map(esc).join("<br>") || "-"]]) + '<p class="mg-muted">Choose the view "expanded" to see inside.</p>';
  }
  function details() {
    if (selected === null) return;
    $("mg-details").innerHTML = selected.startsWith("m") ? moduleDetails(+selected.slice(1))
      : (D.nodes[+selected.slice(1)].k === "o" ? opDetails : tensorDetails)(+selected.slice(1));
  }

  function paint(moved) {
    const v = views[level], shown = shows[level];
    v.querySelectorAll(".mg-done,.mg-current,.mg-gin,.mg-gout,.mg-selected").forEach(el =>
      el.classList.remove("mg-done", "mg-current", "mg-gin", "mg-gout", "mg-selected"));
    for (let s = 0; s < step - 1; s++) shown.get(D.order[s]).classList.add("mg-done");
    let info = `<p class="mg-muted">Forward view: ${N} ops. Step backward (&rarr;) to run them in the engine's order.</p>`;
    if (step > 0) {
      const i = D.order[step - 1], n = D.nodes[i], cur = shown.get(i), key = cur.dataset.key;
      cur.classList.add("mg-current");
      if (moved) cur.scrollIntoView({block: "nearest", inline: "nearest"});
      const gin = shown.get(n.out), outs = new Set();
      if (gin !== cur) gin.classList.add("mg-gin");
      n.inputs.forEach((j, k) => {
        if (j === null || !n.gout[k]) return;
        const el = shown.get(j);
        if (el !== cur) { el.classList.add("mg-gout"); outs.add(el.dataset.key); }
      });
      v.querySelectorAll(".mg-edge").forEach(e => {
        e.classList.remove("mg-gin", "mg-gout");
        if (e.dataset.u === key && e.dataset.v === gin.dataset.key) e.classList.add("mg-gin");
        if (e.dataset.v === key && outs.has(e.dataset.u)) e.classList.add("mg-gout");
      });
      info = `<h3>step ${step} of ${N}: ${esc(n.name)}Backward</h3><p><code>${esc(n.doc)}</code></p>` +
        `<p>gradient in: ${n.gin ? "norm " + num(n.gin.norm) : "none reaches this op"}` +
        n.gout.map((g, k) => n.inputs[k] === null ? "" : `<br>&rarr; input ${k} ${esc(label(n.inputs[k]))}: ` +
          (g ? "norm " + num(g.norm) : "no gradient")).join("") + "</p>";
    } else v.querySelectorAll(".mg-edge").forEach(e => e.classList.remove("mg-gin", "mg-gout"));
    if (selected !== null) {
      const el = selected.startsWith("m") ? v.querySelector(`[data-key="${selected}"]`) : shown.get(+selected.slice(1));
      if (el) el.classList.add("mg-selected");
    }
    $("mg-stepinfo").innerHTML = info;
    $("mg-count").textContent = `${step} / ${N}`;
    details();
  }
  function go(s) { step = Math.max(0, Math.min(N, s)); paint(true); }

  views.forEach(v => v.addEventListener("click", ev => {
    const el = ev.target.closest(".mg-node");
    if (!el) return;
    selected = el.dataset.key;
    paint();
  }));
  $("mg-reset").onclick = () => go(0);
  $("mg-back").onclick = () => go(step - 1);
  $("mg-step").onclick = () => go(step + 1);
  $("mg-all").onclick = () => go(N);
  $("mg-level").onchange = ev => {
    views[level].hidden = true;
    level = +ev.target.value;
    views[level].hidden = false;
    if (selected && selected.startsWith("m")) selected = null;
    paint();
  };
  function scale(z) {
    zoom = Math.max(0.1, Math.min(4, z));
    views.forEach(v => { const s = v.firstChild; s.style.width = s.width.baseVal.value * zoom + "px"; s.style.height = s.height.baseVal.value * zoom + "px"; });
  }
  $("mg-in").onclick = () => scale(zoom * 1.25);
  $("mg-out").onclick = () => scale(zoom * 0.8);
  $("mg-fit").onclick = () => {
    const s = views[level].firstChild, box = $("mg-graph");
    scale(Math.min(box.clientWidth / s.width.baseVal.value, box.clientHeight / s.height.baseVal.value));
  };
  document.addEventListener("keydown", ev => {
    if (ev.key === "ArrowRight") go(step + 1);
    else if (ev.key === "ArrowLeft") go(step - 1);
  });
  paint();
  document.body.dataset.ready = "1";
})();
"""

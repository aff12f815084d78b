"""A layered (Sugiyama-style) drawing of a directed acyclic graph, for ``minigrad.viz``.

Plain Python on plain lists: nodes are indices with a (width, height), edges are (source, target)
pairs. The four classic steps:

1. **layers**: each node one layer below its lowest input (longest path from the sources); a source
   (a parameter, an input batch) then moves down to sit just above its first consumer, so a weight
   is drawn beside the op that uses it instead of at the top of the page;
2. **dummy nodes** split every edge that spans several layers, so all edges join adjacent layers
   and a long edge bends around the boxes in between instead of crossing them;
3. **order within a layer**: barycentre sweeps (each node moves to the mean position of its
   neighbours in the layer above, then below), keeping the order with the fewest crossings seen;
4. **coordinates**: y by layer; x as close as possible to the mean x of each node's neighbours while
   keeping the order and a gap between boxes, a least-squares problem solved exactly per layer by
   pool-adjacent-violators (isotonic regression), alternating downward and upward passes (sources
   follow their consumers without pulling them).

Edges come back as point lists from the bottom centre of the source box, through their dummies, to
the top centre of the target box.
"""

__all__ = ["layout"]


def layout(sizes, edges, gap_x=20.0, gap_y=34.0, margin=12.0, sweeps=6):
    """Place the nodes of a DAG in layers, top to bottom.

    Parameters
    ----------
    sizes : list of (width, height)
        One per node.
    edges : list of (source, target)
        Node indices; the graph must be acyclic (a ValueError names a node of the cycle otherwise).

    Returns
    -------
    boxes : list of (x, y, width, height)
        Top-left corner and size of each node's box.
    paths : list of list of (x, y)
        One per edge, from the bottom centre of its source to the top centre of its target.
    size : (width, height)
        Of the whole drawing, margins included.
    """
    n = len(sizes)
    succ = [[] for _ in range(n)]
    pred = [[] for _ in range(n)]
    for u, v in edges:
        succ[u].append(v)
        pred[v].append(u)
    rank = _layers(n, succ, pred)

    # Dummy chains: node ids from n on; chain[k] lists the nodes edge k passes through.
    width = [float(w) for w, _ in sizes]
    height = [float(h) for _, h in sizes]
    up = [[] for _ in range(n)]  # neighbours in the layered graph (dummies included)
    down = [[] for _ in range(n)]
    chains = []
    for u, v in edges:
        chain = [u]
        for r in range(rank[u] + 1, rank[v]):
            d = len(width)
            width.append(0.0)
            height.append(0.0)
            rank.append(r)
            up.append([])
            down.append([])
            chain.append(d)
        chain.append(v)
        for a, b in zip(chain, chain[1:]):
            down[a].append(b)
            up[b].append(a)
        chains.append(chain)

    layers = [[] for _ in range(max(rank) + 1 if rank else 0)]
    for v in range(len(width)):  # discovery order: a stable start for the sweeps
        layers[rank[v]].append(v)
    layers = _order(layers, up, down, sweeps)

    xs = _x_coordinates(layers, width, up, down, gap_x)
    left = min((xs[v] - width[v] / 2 for v in range(len(width))), default=0.0)
    shift = margin - left
    tops, y = [], margin
    for layer in layers:
        tops.append(y)
        y += max((height[v] for v in layer), default=0.0) + gap_y
    layer_height = [max((height[v] for v in layer), default=0.0) for layer in layers]
    cx = [x + shift for x in xs]
    cy = [tops[rank[v]] + layer_height[rank[v]] / 2 for v in range(len(width))]

    boxes = [(cx[v] - width[v] / 2, cy[v] - height[v] / 2, width[v], height[v]) for v in range(n)]
    paths = []
    for chain in chains:
        u, v = chain[0], chain[-1]
        points = [(cx[u], cy[u] + height[u] / 2)]
        points += [(cx[d], cy[d]) for d in chain[1:-1]]
        points.append((cx[v], cy[v] - height[v] / 2))
        paths.append(points)
    total_w = max((cx[v] + width[v] / 2 for v in range(len(width))), default=0.0) + margin
    total_h = (y - gap_y + margin) if layers else 2 * margin
    return boxes, paths, (total_w, total_h)


def _layers(n, succ, pred):
    """Longest-path layers, then each source moved down to just above its nearest consumer."""
    indeg = [len(p) for p in pred]
    queue = [v for v in range(n) if indeg[v] == 0]
    rank = [0] * n
    seen = 0
    while queue:
        u = queue.pop()
        seen += 1
        for v in succ[u]:
            rank[v] = max(rank[v], rank[u] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    if seen != n:
        stuck = next(v for v in range(n) if indeg[v] > 0)
        raise ValueError(f"layout: the graph has a cycle through node {stuck}")
    for v in range(n):
        if not pred[v] and succ[v]:
            rank[v] = min(rank[s] for s in succ[v]) - 1
    return rank


def _crossings(upper, lower, down):
    """Edge crossings between two adjacent layers (pairs of edges whose ends are in opposite order)."""
    pos = {v: i for i, v in enumerate(lower)}
    ends = [pos[w] for v in upper for w in sorted(down[v], key=pos.__getitem__)]
    return sum(1 for i in range(len(ends)) for j in range(i + 1, len(ends)) if ends[j] < ends[i])


def _order(layers, up, down, sweeps):
    def total(ls):
        return sum(_crossings(a, b, down) for a, b in zip(ls, ls[1:]))

    best, best_count = [list(layer) for layer in layers], total(layers)
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        rng = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for r in rng:
            ref = layers[r - 1] if downward else layers[r + 1]
            pos = {v: i for i, v in enumerate(ref)}
            nbrs = up if downward else down
            keyed = []
            for i, v in enumerate(layers[r]):
                ps = [pos[w] for w in nbrs[v] if w in pos]
                keyed.append((sum(ps) / len(ps) if ps else i, i, v))
            layers[r] = [v for _, _, v in sorted(keyed)]
        count = total(layers)
        if count < best_count:
            best, best_count = [list(layer) for layer in layers], count
        if best_count == 0:
            break
    return best


def _isotonic(targets, weights=None):
    """Non-decreasing sequence closest (weighted least squares) to ``targets``: pool adjacent violators."""
    blocks = []  # [mean, weight, count]
    for t, w in zip(targets, weights or [1.0] * len(targets)):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks[-1]
            blocks[-1] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2]
    out = []
    for m, _, c in blocks:
        out.extend([m] * c)
    return out


def _place(layer, desired, width, gap_x, weights=None):
    """x centres in layer order, at least half-widths + gap apart, closest to ``desired``.

    With offset_i the least distance from the first centre to the i-th, x_i = y_i + offset_i turns
    the gaps into y non-decreasing: isotonic regression of desired_i - offset_i."""
    offsets, acc = [], 0.0
    for i, v in enumerate(layer):
        if i:
            acc += (width[layer[i - 1]] + width[v]) / 2 + gap_x
        offsets.append(acc)
    ys = _isotonic([d - o for d, o in zip(desired, offsets)], weights)
    return [y + o for y, o in zip(ys, offsets)]


def _x_coordinates(layers, width, up, down, gap_x):
    # Sources (inputs, weights, biases) are placed last, beside their consumers: were they placed
    # with the rest, each op of a chain would lean toward its weights, and a deep net would be
    # drawn as a staircase.
    source = [not up[v] for v in range(len(width))]
    inner = [[v for v in layer if not source[v]] for layer in layers]
    xs = [0.0] * len(width)
    for layer in inner:  # packed left to right to start
        for v, x in zip(layer, _place(layer, [0.0] * len(layer), width, gap_x)):
            xs[v] = x
    for sweep in range(8):
        downward = sweep % 2 == 0
        nbrs = up if downward else down
        for layer in inner if downward else inner[::-1]:
            desired = []
            for v in layer:
                pulls = [xs[w] for w in nbrs[v] if not source[w]]
                desired.append(sum(pulls) / len(pulls) if pulls else xs[v])
            for v, x in zip(layer, _place(layer, desired, width, gap_x)):
                xs[v] = x
    for layer in layers:
        desired = [sum(xs[w] for w in down[v]) / len(down[v]) if source[v] and down[v] else xs[v] for v in layer]
        weights = [1.0 if source[v] else 1e3 for v in layer]  # the placed nodes hardly move
        for v, x in zip(layer, _place(layer, desired, width, gap_x, weights)):
            xs[v] = x
    return xs

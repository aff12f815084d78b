"""minigrad.viz_layout: the layered layout on random DAGs (boxes apart, edges joining their ends)."""
import random

import pytest

from minigrad.viz_layout import _isotonic, layout


def random_dag(rng, n, p):
    """Random DAG: an edge i -> j (i < j) with probability p, in shuffled node order."""
    perm = list(range(n))
    rng.shuffle(perm)
    edges = [(perm[i], perm[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    sizes = [(rng.uniform(20, 160), rng.choice([18.0, 32.0, 46.0])) for _ in range(n)]
    return sizes, edges


def overlapping(a, b):
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@pytest.mark.parametrize("seed", range(6))
def test_boxes_never_overlap_and_edges_join_their_ends(seed):
    rng = random.Random(seed)
    sizes, edges = random_dag(rng, rng.randint(1, 40), rng.choice([0.05, 0.15, 0.4]))
    boxes, paths, (width, height) = layout(sizes, edges)
    assert [(w, h) for _, _, w, h in boxes] == [pytest.approx(s) for s in sizes]
    for i in range(len(boxes)):
        x, y, w, h = boxes[i]
        assert x >= 0 and y >= 0 and x + w <= width + 1e-6 and y + h <= height + 1e-6
        for j in range(i):
            assert not overlapping(boxes[i], boxes[j]), (i, j)
    assert len(paths) == len(edges)
    for (u, v), points in zip(edges, paths):
        (ux, uy, uw, uh), (vx, vy, vw, vh) = boxes[u], boxes[v]
        assert points[0] == pytest.approx((ux + uw / 2, uy + uh))  # bottom centre of the source
        assert points[-1] == pytest.approx((vx + vw / 2, vy))       # top centre of the target
        ys = [y for _, y in points]
        assert ys == sorted(ys)  # every edge runs downward: sources above their consumers


def test_layers_follow_the_edges_and_sources_sit_above_their_consumer():
    # a chain 0 -> 1 -> 2 -> 3 and a source 4 feeding only 3: 4 is drawn in 3's layer above, not at the top
    sizes = [(40.0, 20.0)] * 5
    boxes, _, _ = layout(sizes, [(0, 1), (1, 2), (2, 3), (4, 3)])
    ys = [y for _, y, _, _ in boxes]
    assert ys[0] < ys[1] < ys[2] < ys[3] and ys[4] == ys[2]


def test_a_long_edge_bends_around_the_boxes_between():
    # 0 -> 1 -> 2 -> 3 and a skip edge 0 -> 3: the skip edge passes two dummy points
    boxes, paths, _ = layout([(60.0, 20.0)] * 4, [(0, 1), (1, 2), (2, 3), (0, 3)])
    skip = paths[3]
    assert len(skip) == 4
    for (x, y), box in zip(skip[1:-1], boxes[1:3]):
        bx, by, bw, bh = box
        assert not (bx <= x <= bx + bw)  # beside the boxes of the layers it crosses


def test_crossings_are_removed_when_possible():
    # two parallel chains given in crossed order: the sweeps uncross them
    sizes = [(30.0, 20.0)] * 4
    boxes, _, _ = layout(sizes, [(0, 3), (1, 2)])
    assert (boxes[0][0] < boxes[1][0]) == (boxes[3][0] < boxes[2][0])


def test_a_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        layout([(10.0, 10.0)] * 3, [(0, 1), (1, 2), (2, 0)])


def test_empty_and_single_node():
    assert layout([], [])[:2] == ([], [])
    boxes, paths, size = layout([(50.0, 20.0)], [])
    assert paths == [] and boxes[0][2:] == (50.0, 20.0) and size[0] >= 50 and size[1] >= 20


def test_isotonic_is_the_least_squares_monotone_fit():
    assert _isotonic([1.0, 3.0, 2.0, 4.0]) == [1.0, 2.5, 2.5, 4.0]
    assert _isotonic([5.0, 4.0, 3.0]) == [4.0, 4.0, 4.0]
    assert _isotonic([0.0, 1.0]) == [0.0, 1.0]

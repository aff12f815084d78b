"""The GEMM ladder (benchmarks/ladder.py): every step builds and computes A @ B correctly, and the
benchmark's own correctness gate and report rows work. No timing is asserted (shared machines).

The ladder modules are compiled once per test session into a temporary directory (not the
repository's build/ladder cache), in parallel; that build is most of this file's run time.
"""
import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks import harness, ladder  # noqa: E402
from minigrad import _ops  # noqa: E402
from minigrad._ops.cpu import cpu_features  # noqa: E402

# odd sizes; M > MC, K > KC and N > NC of the packed kernels so every block loop runs more than once
SHAPES = [(37, 53, 29), (1, 1, 1), (1, 7, 3), (5, 1, 9), (130, 300, 17), (3, 9, 2100), (4, 0, 6)]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ladder-build")


@pytest.fixture(scope="session")
def steps(build_dir):
    return ladder.steps(build_dir)


def test_every_step_is_there(steps):
    labels = [s[0] for s in steps]
    want = [s[0] for s in ladder.STEPS if "AVX2" not in s[0] or "avx2" in cpu_features()]
    assert labels == want and len(labels) >= 6


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_every_step_matches_numpy(steps, shape, rng):
    M, K, N = shape
    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((K, N), dtype=np.float32)
    want = np.matmul(a, b)
    before = _ops.get_num_threads()
    try:
        for label, fn, threads, _ in steps:
            _ops.set_num_threads(threads)  # step 7 runs minigrad's gemm on 2 threads
            c = np.full((M, N), np.nan, np.float32)  # every element must be written
            fn(a, b, c)
            np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5 * max(K, 1), err_msg=label)
    finally:
        _ops.set_num_threads(before)


def test_steps_reject_what_they_cannot_compute(steps):
    a, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32)
    for label, fn, _, _ in steps[:5]:  # the ladder's own kernels; step 6+ is minigrad's door
        with pytest.raises(ValueError, match="do not match"):
            fn(a, b, np.empty((3, 4), np.float32))
        with pytest.raises(TypeError, match="float32"):
            fn(a.astype(np.float64), b, np.empty((3, 5), np.float32))
        with pytest.raises(TypeError, match="C-contiguous"):
            fn(np.ones((4, 3), np.float32).T, b, np.empty((3, 5), np.float32))


def test_check_catches_a_wrong_step(rng):
    a = rng.standard_normal((6, 5), dtype=np.float32)
    b = rng.standard_normal((5, 4), dtype=np.float32)

    def off_by_one_k(a, b, c):
        c[...] = a[:, 1:] @ b[1:]
    with pytest.raises(AssertionError, match="off_by_one_k"):
        ladder.check(off_by_one_k, a, b, np.empty((6, 4), np.float32))


def test_build_is_cached(steps, build_dir):
    before = sorted(p.name for p in build_dir.iterdir())
    again = ladder.steps(build_dir)  # same key: imported, not rebuilt
    assert sorted(p.name for p in build_dir.iterdir()) == before
    assert [s[1] for s in again] == [s[1] for s in steps]


def test_section_rows(steps, build_dir, monkeypatch, rng):
    """The `ladder` section is registered and its rows carry the table's columns (plumbing only:
    tiny blocks, no gaps)."""
    assert bench_main.SECTIONS["ladder"][0] == "ladder"
    monkeypatch.setitem(harness.DEFAULTS, "gap", 0.0)
    monkeypatch.setitem(harness.DEFAULTS, "target", 0.001)
    monkeypatch.setitem(harness.DEFAULTS, "reps", 2)
    monkeypatch.setitem(harness.DEFAULTS, "warmup", 0)
    monkeypatch.setattr(harness.timing.gc, "collect", lambda: 0)  # ~0.3 s a block with torch loaded (Zen 3)
    rows = ladder.case_rows("37x53x29", 37, 53, 29, rng, build_dir=build_dir)
    assert [r["step"] for r in rows] == [s[0] for s in steps] + [n for n, _ in ladder.NUMPY]
    for r in rows:
        assert float(r["GFLOP/s"]) > 0 and len(r["timing"]["times"]) == 2
    assert rows[0]["× previous step"] == "" and rows[1]["× previous step"].endswith(")")

"""The thread rule every parallel kernel uses (cpu.threads_for) and the cache sizes read at run time."""
import pytest

from minigrad._ops import cpu


@pytest.mark.parametrize("first, grain", [(1 << 18, 1 << 22), (1 << 19, 1 << 18), (100.0, 50.0)])
def test_threads_for_work_rule(first, grain):
    """1 thread below `first`; from there at least 2, one per grain beyond, never more than the cap,
    and never fewer for more work (so more cores cannot make a larger call use fewer threads)."""
    for cap in (1, 2, 3, 16, 64):
        assert cpu.threads_for_work(first * 0.999, first, grain, cap) == 1
        assert cpu.threads_for_work(first, first, grain, cap) == min(cap, max(2, int(first // grain)))
        assert cpu.threads_for_work(grain * cap * 10, first, grain, cap) == cap
        works = [first * 1.1 ** i for i in range(80)]
        counts = [cpu.threads_for_work(w, first, grain, cap) for w in works]
        assert counts == sorted(counts) and max(counts) <= cap and min(counts) >= 1
        for w, t in zip(works, counts):
            if cap >= 2:
                assert t == min(cap, max(2, int(w // grain)))


def test_threads_for_work_examples():
    """GEMM's constants (first 2^18 flops, 2^22 flops per thread) on 16 cores: the 100 x 784 x 100
    product of the issue gets 3 threads, not 16; 1024^3 gets all 16."""
    flops = lambda m, k, n: 2.0 * m * k * n  # noqa: E731
    assert cpu.threads_for_work(flops(32, 32, 32), 1 << 18, 1 << 22, 16) == 1
    assert cpu.threads_for_work(flops(100, 100, 100), 1 << 18, 1 << 22, 16) == 2
    assert cpu.threads_for_work(flops(100, 784, 100), 1 << 18, 1 << 22, 16) == 3
    assert cpu.threads_for_work(flops(1024, 1024, 1024), 1 << 18, 1 << 22, 16) == 16


@pytest.mark.parametrize("args", [(1.0, 0.0, 1.0, 2), (1.0, 1.0, 0.0, 2), (1.0, 1.0, 1.0, 0)])
def test_threads_for_work_rejects_bad_arguments(args):
    with pytest.raises(ValueError, match="threads_for_work"):
        cpu.threads_for_work(*args)


def test_cache_sizes_are_bytes():
    sizes = cpu.cache_sizes()
    assert set(sizes) == {"l1d", "l2"}
    for v in sizes.values():
        assert isinstance(v, int) and v >= 0
    if sizes["l1d"] and sizes["l2"]:
        assert 4096 <= sizes["l1d"] < sizes["l2"]


@pytest.mark.parametrize("value, passive", [("passive", True), (" PASSIVE\n", True), ("active", False),
                                            ("", False), (None, False)])
def test_omp_wait_passive_reads_the_policy(monkeypatch, value, passive):
    if value is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", value)
    assert cpu.omp_wait_passive() is passive

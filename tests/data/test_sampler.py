"""Samplers against torch.utils.data: the same indices where they are deterministic, the same
lengths, distributions and errors where they are random."""
import numpy as np
import pytest
import torch.utils.data as tud

import minigrad
from minigrad.data import (BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler,
                           WeightedRandomSampler)


def test_sequential_and_batch_samplers_equal_torch():
    for n, batch_size, drop_last in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False), (2, 4, True)]:
        assert list(SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n)))
        ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
        theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    # any iterable of indices works as the inner sampler
    assert list(BatchSampler([4, 2, 9, 1, 0], 2, False)) == [[4, 2], [9, 1], [0]]


@pytest.mark.parametrize("kw", [{}, {"num_samples": 23}, {"replacement": True}, {"replacement": True, "num_samples": 4}])
def test_random_sampler_lengths_and_coverage(kw):
    ours, theirs = RandomSampler(range(10), generator=0, **kw), tud.RandomSampler(range(10), **kw)
    first, second = list(ours), list(ours)
    assert len(ours) == len(theirs) == len(first) == len(list(theirs))
    assert first != second  # a new order every epoch
    assert all(0 <= i < 10 for i in first)
    if not kw.get("replacement"):
        # whole permutations back to back, as PyTorch draws num_samples > len
        for start in range(0, len(first) - 9, 10):
            assert sorted(first[start:start + 10]) == list(range(10))
    assert list(RandomSampler(range(10), generator=0, **kw)) == first  # a seed repeats


def test_random_sampler_follows_manual_seed():
    minigrad.manual_seed(3)
    a = list(RandomSampler(range(20)))
    minigrad.manual_seed(3)
    assert list(RandomSampler(range(20))) == a and sorted(a) == list(range(20))


def test_subset_random_sampler_permutes_the_given_indices():
    indices = [5, 17, 3, 8, 11]
    ours = SubsetRandomSampler(indices, generator=1)
    drawn = list(ours)
    assert sorted(drawn) == sorted(indices) and len(ours) == len(tud.SubsetRandomSampler(indices)) == 5
    assert any(list(ours) != drawn for _ in range(5))


def test_weighted_random_sampler_distribution():
    weights = [0.0, 1.0, 3.0]
    drawn = np.array(list(WeightedRandomSampler(weights, 4000, generator=0)))
    counts = np.bincount(drawn, minlength=3)
    assert counts[0] == 0
    assert abs(counts[2] / counts[1] - 3.0) < 0.35  # 4000 draws: ratio 3 ± ~0.2 (2σ)
    no_repeat = list(WeightedRandomSampler(minigrad.tensor([1.0, 2.0, 3.0, 4.0]), 4, replacement=False, generator=0))
    assert sorted(no_repeat) == [0, 1, 2, 3]
    assert len(WeightedRandomSampler(weights, 7)) == len(tud.WeightedRandomSampler(weights, 7)) == 7


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError,
     "num_samples should be a positive integer value, but got num_samples=0"),
    (lambda m: m.BatchSampler(range(3), 0, False), ValueError,
     "batch_size should be a positive integer value, but got batch_size=0"),
    (lambda m: m.BatchSampler(range(3), 2, 1), ValueError, "drop_last should be a boolean value, but got drop_last=1"),
    (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 5), ValueError,
     r"weights should be a 1d sequence but given weights have shape \(1, 2\)"),
    (lambda m: list(m.WeightedRandomSampler([-1.0, 2.0], 5)), RuntimeError, "invalid multinomial distribution"),
    (lambda m: list(m.WeightedRandomSampler([1.0, 2.0], 5, replacement=False)), RuntimeError,
     "cannot sample n_sample > prob_dist.size"),
])
def test_errors_match_torch(make, error, message):
    with pytest.raises(error, match=message):
        make(tud)
    with pytest.raises(error, match=message):
        make(minigrad.data)

"""DataLoader and default_collate against torch.utils.data."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import minigrad
from minigrad.data import DataLoader, Dataset, TensorDataset, default_collate
from minigrad.tensor import Tensor


class PairDataset(Dataset):
    """Per-sample dataset (no fast path): (array of 3 floats, int label)."""

    def __init__(self, n):
        self.x = np.arange(3 * n, dtype=np.float32).reshape(n, 3)

    def __getitem__(self, i):
        return self.x[i], i % 4

    def __len__(self):
        return len(self.x)


@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False),
                                                    (2, 4, True), (7, 1, False)])
def test_len_and_batch_sizes_match_torch(n, batch_size, drop_last):
    ours = DataLoader(PairDataset(n), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [len(y) for _, y in ours] == [len(b) for b in theirs]


def test_sequential_batches_and_dtypes():
    batches = list(DataLoader(PairDataset(5), batch_size=2))
    x, y = batches[0]
    assert isinstance(x, Tensor) and x.shape == (2, 3) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1]
    np.testing.assert_array_equal(batches[2][0].numpy(), [[12, 13, 14]])


def test_default_collate_matches_torch_structure():
    samples = [{"a": 1.5, "b": (np.float32(i), i, True), "s": "x"} for i in range(3)]
    ours = default_collate(samples)
    theirs = tud.default_collate(samples)
    assert type(ours["b"]) is type(theirs["b"]) is list
    assert ours["a"].dtype == np.float64 and theirs["a"].dtype == torch.float64
    assert ours["b"][0].dtype == np.float32 and ours["b"][1].dtype == np.int64 and ours["b"][2].dtype == np.bool_
    assert ours["s"] == theirs["s"] == ["x", "x", "x"]
    np.testing.assert_array_equal(ours["b"][1].numpy(), theirs["b"][1].numpy())


def test_default_collate_stacks_tensors_and_keeps_namedtuples():
    Point = collections.namedtuple("Point", "x y")
    batch = default_collate([Point(minigrad.ones(2), 1), Point(minigrad.zeros(2), 2)])
    assert isinstance(batch, Point) and batch.x.shape == (2, 2) and batch.y.tolist() == [1, 2]
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object()])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])


def test_shuffle_covers_everything_and_changes_per_epoch():
    loader = DataLoader(TensorDataset(minigrad.arange(100)), batch_size=16, shuffle=True, generator=0)
    e1 = np.concatenate([b[0].numpy() for b in loader])
    e2 = np.concatenate([b[0].numpy() for b in loader])
    assert sorted(e1.tolist()) == sorted(e2.tolist()) == list(range(100))
    assert not np.array_equal(e1, e2) and not np.array_equal(e1, np.arange(100))


def test_shuffle_repeatable_from_seed_and_manual_seed():
    ds = TensorDataset(minigrad.arange(30))
    order = lambda loader: np.concatenate([b[0].numpy() for b in loader])  # noqa: E731
    np.testing.assert_array_equal(order(DataLoader(ds, 4, shuffle=True, generator=5)),
                                  order(DataLoader(ds, 4, shuffle=True, generator=5)))
    minigrad.manual_seed(1)
    first = order(DataLoader(ds, 4, shuffle=True))
    minigrad.manual_seed(1)
    np.testing.assert_array_equal(order(DataLoader(ds, 4, shuffle=True)), first)


def test_fast_path_equals_per_sample_path(rng):
    x = rng.standard_normal((23, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 10, 23)
    ds = TensorDataset(x, y)
    fast = list(DataLoader(ds, batch_size=5, shuffle=True, generator=2))
    slow = list(DataLoader(ds, batch_size=5, shuffle=True, generator=2, collate_fn=default_collate))
    assert len(fast) == len(slow) == 5
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype == np.int64


def test_fast_path_batches_are_copies():
    x = np.zeros((6, 2), dtype=np.float32)
    (xb,) = next(iter(DataLoader(TensorDataset(x), batch_size=3)))
    xb.data += 1
    assert x.sum() == 0


def test_custom_collate_and_no_batching():
    loader = DataLoader(PairDataset(4), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2]
    unbatched = list(DataLoader(PairDataset(3), batch_size=None))
    assert len(unbatched) == 3 and unbatched[1][1] == 1


def test_argument_errors():
    ds = PairDataset(3)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, shuffle=True, generator=1.5)

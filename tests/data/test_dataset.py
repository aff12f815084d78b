"""Dataset, TensorDataset, Subset, random_split: PyTorch's semantics (torch is the oracle)."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import minigrad
from minigrad.data import ConcatDataset, Dataset, Subset, TensorDataset, random_split


def test_tensor_dataset_items_and_len(rng):
    x = rng.standard_normal((7, 3)).astype(np.float32)
    y = np.arange(7)
    ds = TensorDataset(minigrad.tensor(x), minigrad.tensor(y))
    assert len(ds) == 7
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), x[4])
    assert yi.item() == 4 and yi.dtype == np.int64


def test_tensor_dataset_accepts_arrays_without_copy(rng):
    x = rng.standard_normal((5, 2))
    ds = TensorDataset(x)
    assert np.shares_memory(ds.tensors[0].data, x)
    assert ds[1][0].shape == (2,)


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(minigrad.zeros(3, 2), minigrad.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_subset_maps_indices():
    ds = TensorDataset(minigrad.arange(10))
    sub = Subset(ds, [9, 2, 5])
    assert len(sub) == 3
    assert [sub[i][0].item() for i in range(3)] == [9, 2, 5]
    np.testing.assert_array_equal(sub._get_batch(np.array([2, 0]))[0].numpy(), [5, 9])


def test_subset_of_plain_dataset_has_no_fast_path():
    class Squares(Dataset):
        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return 4

    sub = Subset(Squares(), [3, 1])
    assert not hasattr(sub, "_get_batch")
    assert sub[0] == 9


@pytest.mark.filterwarnings("ignore:Length of split")
@pytest.mark.parametrize("lengths", [[0.3, 0.7], [0.5, 0.25, 0.25], [0.33, 0.33, 0.34], [0.1, 0.9], [1, 0]])
@pytest.mark.parametrize("n", [10, 11, 17])
def test_random_split_lengths_match_torch(lengths, n):
    ours = [len(s) for s in random_split(TensorDataset(minigrad.arange(n)), lengths, generator=0)]
    theirs = [len(s) for s in tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))]
    assert ours == theirs


def test_random_split_is_a_partition_and_repeatable():
    ds = TensorDataset(minigrad.arange(50))
    a = random_split(ds, [20, 30], generator=3)
    b = random_split(ds, [20, 30], generator=np.random.default_rng(3))
    assert a[0].indices == b[0].indices and a[1].indices == b[1].indices
    assert sorted(a[0].indices + a[1].indices) == list(range(50))
    assert a[0].indices != list(range(20))  # actually shuffled


def test_random_split_default_generator_follows_manual_seed():
    ds = TensorDataset(minigrad.arange(40))
    minigrad.manual_seed(7)
    first = random_split(ds, [0.5, 0.5])[0].indices
    minigrad.manual_seed(7)
    assert random_split(ds, [0.5, 0.5])[0].indices == first
    assert random_split(ds, [0.5, 0.5])[0].indices != first


def test_random_split_errors():
    ds = TensorDataset(minigrad.arange(10))
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])
    with pytest.raises(TypeError, match="generator"):
        random_split(ds, [5, 5], generator="seed")


# ---------------------------------------------------------------- ConcatDataset
def test_concat_dataset_matches_torch():
    parts = [list(range(3)), list(range(10, 14)), [], list(range(20, 22))]
    ours, theirs = ConcatDataset(parts), tud.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 9 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ours[-10]
    with pytest.raises(IndexError):
        ours[9]
    with pytest.raises(ValueError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    joined = TensorDataset(minigrad.arange(3)) + TensorDataset(minigrad.arange(5, 7))
    assert isinstance(joined, ConcatDataset) and [joined[i][0].item() for i in range(5)] == [0, 1, 2, 5, 6]

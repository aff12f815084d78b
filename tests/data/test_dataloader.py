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


# ---------------------------------------------------------------- samplers, batch samplers, workers
def test_sampler_and_batch_sampler_match_torch():
    order = [7, 2, 9, 0, 4, 4, 1]
    ours = [y.tolist() for _, y in DataLoader(PairDataset(10), batch_size=3, sampler=order)]
    theirs = [y.tolist() for _, y in tud.DataLoader(PairDataset(10), batch_size=3, sampler=order)]
    assert ours == theirs == [[3, 2, 1], [0, 0, 0], [1]]
    batches = [[1, 2], [0], [3, 3, 3]]
    ours = [y.tolist() for _, y in DataLoader(PairDataset(4), batch_sampler=batches)]
    assert ours == [y.tolist() for _, y in tud.DataLoader(PairDataset(4), batch_sampler=batches)]
    assert len(DataLoader(PairDataset(4), batch_sampler=batches)) == 3
    loader = DataLoader(PairDataset(9), batch_size=4, sampler=minigrad.data.SequentialSampler(range(9)), drop_last=True)
    assert len(loader) == len(list(loader)) == 2


@pytest.mark.parametrize("kw, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive with batch_size"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(timeout=-1), "timeout option should be non-negative"),
])
def test_option_errors_match_torch(kw, message):
    with pytest.raises(ValueError, match=message):
        tud.DataLoader(PairDataset(3), **kw)
    with pytest.raises(ValueError, match=message):
        DataLoader(PairDataset(3), **kw)


class _RandomPlusOne(Dataset):
    """A sample plus noise from minigrad's generator: shows which generator state a worker has."""

    def __getitem__(self, i):
        return np.float64(i + minigrad.random.default_generator().random())

    def __len__(self):
        return 12


def _seed_recorder(worker_id):
    info = minigrad.data.get_worker_info()
    assert info.id == worker_id and info.num_workers == 2 and len(info.dataset) == 12


def test_workers_give_the_main_process_batches_in_order(rng):
    """The first epoch's batches equal num_workers=0's (later shuffled epochs differ by the draw of
    the workers' base seed)."""
    x = rng.standard_normal((37, 3)).astype(np.float32)
    ds = TensorDataset(x, np.arange(37))
    for kw in [dict(batch_size=5, shuffle=True, generator=7), dict(batch_size=4, drop_last=True),
               dict(batch_size=None), dict(batch_size=3, collate_fn=default_collate, sampler=[5, 1, 30, 2])]:
        main = [b for b in DataLoader(ds, **kw)]
        workers = [b for b in DataLoader(ds, num_workers=2, **kw)]
        assert len(main) == len(workers) > 0
        for a, b in zip(main, workers):
            for u, v in zip(a, b):
                np.testing.assert_array_equal(u.numpy(), v.numpy())
    # an early break shuts the workers down
    loader = DataLoader(ds, batch_size=2, num_workers=2, prefetch_factor=1)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert minigrad.data.get_worker_info() is None


def test_worker_seeds_differ_per_worker_and_epoch_and_repeat():
    def epoch(loader):
        return np.concatenate([b.numpy() for b in loader])
    loader = DataLoader(_RandomPlusOne(), batch_size=3, num_workers=2, worker_init_fn=_seed_recorder)
    minigrad.manual_seed(11)
    first, second = epoch(loader), epoch(loader)
    noise = first - np.arange(12)
    assert np.all((noise >= 0) & (noise < 1))
    assert not np.allclose(noise[0:3], noise[3:6])  # batch 0 from worker 0, batch 1 from worker 1
    assert not np.allclose(first, second)           # a new base seed every epoch
    minigrad.manual_seed(11)
    np.testing.assert_array_equal(epoch(loader), first)


class _Fails(Dataset):
    def __getitem__(self, i):
        if i == 5:
            raise KeyError("sample 5 is broken")
        return i

    def __len__(self):
        return 8


def test_worker_exception_reaches_the_main_process():
    with pytest.raises(KeyError, match="(?s)Caught KeyError in DataLoader worker process 1.*sample 5 is broken"):
        list(DataLoader(_Fails(), batch_size=3, num_workers=2))


def test_workers_with_a_spawned_context():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4, num_workers=1, multiprocessing_context="spawn")
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_persistent_workers_needs_workers_and_the_accepted_options_change_nothing():
    data = TensorDataset(minigrad.arange(10))
    for lib_loader, dataset in ((DataLoader, data), (tud.DataLoader, tud.TensorDataset(torch.arange(10)))):
        with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
            lib_loader(dataset, persistent_workers=True)
    batches = [b[0].tolist() for b in DataLoader(data, batch_size=4, pin_memory_device="", in_order=True)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]

"""``DataLoader``: iterate a dataset in (shuffled) mini-batches of Tensors, with PyTorch's semantics.

Batches are built in the main process (no workers). When no ``collate_fn`` is given and the dataset
has a ``_get_batch(indices)`` method (``TensorDataset``, the vision datasets, ``Subset`` of those), a
batch is one fancy-index per array instead of ``batch_size`` samples stacked one by one.
"""
import collections.abc
import numbers

import numpy as np

from ..tensor import Tensor
from .dataset import as_generator

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch):
    """Merge a list of samples into a batch, recursively, like ``torch.utils.data.default_collate``.

    Tensors and arrays are stacked along a new first axis; Python ints become an int64 tensor, Python
    floats a float64 tensor, bools a bool tensor; tuples/lists/dicts are collated field by field;
    strings stay a list; a
    tuple sample gives a list of fields (PyTorch does the same).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(np.stack([b.data for b in batch]))
    if isinstance(elem, (np.ndarray, np.generic)):
        return Tensor._wrap(np.stack(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([b[key] for b in batch]) for key in elem}
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple keeps its type
            return type(elem)(*fields)
        return fields  # a tuple sample gives a list batch, as in PyTorch
    raise TypeError(
        "default_collate: batch must contain Tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


class DataLoader:
    """Iterate ``dataset`` in mini-batches.

    Parameters
    ----------
    dataset : Dataset
        Map-style: ``__getitem__`` and ``__len__``.
    batch_size : int or None
        Samples per batch (default 1). ``None`` turns batching off: samples come one by one, uncollated.
    shuffle : bool
        Draw a new random order at the start of every epoch (every ``iter()``).
    drop_last : bool
        Drop the last batch if it is smaller than ``batch_size``.
    generator : None, int or numpy.random.Generator
        Source of the shuffling: minigrad's global generator (``minigrad.manual_seed``) by default; an
        int seeds a private generator once, so successive epochs still differ but the run repeats.
    collate_fn : callable, optional
        ``list of samples -> batch``; default :func:`default_collate`.

    Examples
    --------
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    >>> for xb, yb in loader:
    ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0
                                       or isinstance(batch_size, bool)):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # An int seed becomes one generator here, not one per epoch (that would repeat the order).
        self.generator = generator if generator is None else as_generator(generator)
        self.collate_fn = collate_fn

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        return as_generator(self.generator).permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        fast = self.collate_fn is None and hasattr(self.dataset, "_get_batch")
        collate = self.collate_fn or default_collate
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:
                yield self.dataset._get_batch(indices)
            else:
                yield collate([self.dataset[int(i)] for i in indices])

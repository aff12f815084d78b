"""Map-style datasets with PyTorch's semantics: ``Dataset``, ``TensorDataset``, ``Subset``,
``ConcatDataset``, ``random_split``.

A dataset maps an index ``i`` in ``range(len(ds))`` to one sample. Datasets that hold whole arrays also
implement ``_get_batch(indices)``, which returns an already collated batch by fancy-indexing the arrays;
``DataLoader`` uses it instead of stacking samples one by one (the fast path).
"""
import bisect
import itertools
import math
import numbers

import numpy as np

from ..random import default_generator
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


def as_generator(generator):
    """``numpy.random.Generator`` from None (minigrad's global generator), an int seed, or a Generator."""
    if generator is None:
        return default_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"generator must be None, an int seed or a numpy.random.Generator (got {type(generator).__name__})"
    )


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; every tensor has the same first dimension.

    Parameters
    ----------
    *tensors : Tensor or numpy.ndarray
        Arrays are wrapped without a copy.

    Examples
    --------
    >>> ds = TensorDataset(minigrad.randn(100, 3), minigrad.arange(100))
    >>> x, y = ds[0]
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor._wrap(np.asarray(t)) for t in tensors)
        n = len(tensors[0].data) if tensors[0].ndim else None
        for t in tensors:
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(
                    "Size mismatch between tensors: every tensor needs the same first dimension, got "
                    f"shapes {[list(t.shape) for t in tensors]}"
                )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def _get_batch(self, indices):
        return [Tensor._wrap(t.data[indices]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

    def __getattr__(self, name):
        # Only the batch fast path is forwarded, and only if the wrapped dataset has one.
        if name == "_get_batch" and hasattr(self.dataset, "_get_batch"):
            base = np.asarray(self.indices, dtype=np.int64)
            return lambda indices: self.dataset._get_batch(base[indices])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ConcatDataset(Dataset):
    """The samples of several datasets one after another (``ds1 + ds2`` builds one too).

    ``cumulative_sizes[i]`` is the number of samples in ``datasets[:i + 1]``.

    Differs from PyTorch: an empty list of datasets raises ValueError (PyTorch: AssertionError).
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"index {index} is out of range for a ConcatDataset of length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def _split_lengths(lengths, n):
    """Integer lengths from ``lengths``; fractions summing to 1 are floored and the remainder is handed
    out one by one from the first split, as PyTorch does."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"Fraction at every index must be between 0 and 1, got {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    if any(not isinstance(k, numbers.Integral) or k < 0 for k in lengths):
        raise ValueError(f"lengths must be non-negative ints or fractions summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    return [int(k) for k in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    Parameters
    ----------
    lengths : sequence of int or of float
        Sizes that sum to ``len(dataset)``, or fractions that sum to 1.
    generator : None, int or numpy.random.Generator
        Source of the permutation: minigrad's global generator (``minigrad.manual_seed``), a seed, or
        a generator.

    Differs from PyTorch: ``generator`` defaults to None, meaning minigrad's global generator
    (PyTorch's default is its global generator object); it is an int seed or a numpy Generator.
    """
    counts = _split_lengths(lengths, len(dataset))
    perm = as_generator(generator).permutation(len(dataset))
    subsets, start = [], 0
    for k in counts:
        subsets.append(Subset(dataset, perm[start:start + k].tolist()))
        start += k
    return subsets

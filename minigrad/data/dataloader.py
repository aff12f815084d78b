"""``DataLoader``: iterate a dataset in (shuffled) mini-batches of Tensors, with PyTorch's semantics.

Indices come from a sampler (``SequentialSampler``, or ``RandomSampler`` with ``shuffle=True``, or
the one given), grouped by a ``BatchSampler``. When no ``collate_fn`` is given and the dataset has a
``_get_batch(indices)`` method (``TensorDataset``, the vision datasets, ``Subset`` of those), a batch
is one fancy-index per array instead of ``batch_size`` samples stacked one by one.

With ``num_workers > 0`` batches are built in that many worker processes (``multiprocessing``; the
platform's default start method, ``fork`` on Linux, as in PyTorch): each worker gets whole batches'
indices, up to ``prefetch_factor`` batches per worker are in flight, and batches are yielded in
sampler order. Each worker seeds minigrad's generator with ``base_seed + worker_id`` (``base_seed``
drawn from the loader's generator every epoch, so random transforms differ between workers and
epochs yet repeat under ``manual_seed``), runs kernels on one thread, then calls ``worker_init_fn``.
"""
import collections.abc
import itertools
import multiprocessing
import numbers
import queue
import traceback
from dataclasses import dataclass

import numpy as np

from .. import _ops
from ..random import manual_seed
from ..tensor import Tensor
from .dataset import as_generator
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "get_worker_info"]


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


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info = None


def get_worker_info():
    """The :class:`WorkerInfo` of the calling DataLoader worker process; None in the main process."""
    return _worker_info


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
    sampler : Sampler or iterable of indices, optional
        The indices to read, in order (exclusive with ``shuffle``).
    batch_sampler : Sampler or iterable of lists of indices, optional
        Whole batches of indices (exclusive with ``batch_size``, ``shuffle``, ``sampler``, ``drop_last``).
    num_workers : int
        Worker processes building batches (default 0: the main process).
    collate_fn : callable, optional
        ``list of samples -> batch``; default :func:`default_collate`.
    pin_memory : bool
        Accepted for compatibility; there is no GPU memory to pin (nor a ``pin_memory_device``).
    drop_last : bool
        Drop the last batch if it is smaller than ``batch_size``.
    timeout : float
        Seconds to wait for a batch from the workers before raising (0: wait as long as the workers live).
    worker_init_fn : callable, optional
        Called in each worker with its id, after seeding.
    multiprocessing_context : str or context, optional
        ``'fork'``, ``'forkserver'`` or ``'spawn'`` (default: the platform's default).
    generator : None, int or numpy.random.Generator
        Source of the shuffling and of the workers' seeds: minigrad's global generator
        (``minigrad.manual_seed``) by default; an int seeds a private generator once, so successive
        epochs still differ but the run repeats.
    prefetch_factor : int, optional
        Batches in flight per worker (default 2 with workers).
    persistent_workers : bool
        Accepted (it needs ``num_workers`` > 0, as in PyTorch); workers start anew each epoch.
    in_order : bool
        Accepted; batches always come in sampler order (what ``in_order=True`` asks for).

    Differs from PyTorch: ``generator`` is an int seed or a numpy Generator (PyTorch: a torch.Generator).
    ``persistent_workers=True`` does not keep the worker processes between epochs.

    Examples
    --------
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    >>> for xb, yb in loader:
    ...     loss = F.cross_entropy(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or batch_size <= 0
                                       or isinstance(batch_size, bool)):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.dataset = dataset
        # An int seed becomes one generator here, not one per epoch (that would repeat the order).
        self.generator = generator if generator is None else as_generator(generator)
        if sampler is None:
            sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.batch_size, self.drop_last = batch_size, bool(drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.timeout, self.worker_init_fn = int(num_workers), timeout, worker_init_fn
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) if num_workers else None
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory = pin_memory
        self.collate_fn = collate_fn

    def __len__(self):
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def _fetch(self, indices):
        """One batch (or, without batching, one sample) for the given indices."""
        if self.batch_sampler is None:
            return self.dataset[indices]
        if self.collate_fn is None and hasattr(self.dataset, "_get_batch"):
            return self.dataset._get_batch(np.asarray(indices, dtype=np.int64))
        return (self.collate_fn or default_collate)([self.dataset[int(i)] for i in indices])

    def __iter__(self):
        batches = self.batch_sampler if self.batch_sampler is not None else self.sampler
        if self.num_workers == 0:
            return (self._fetch(indices) for indices in batches)
        return _worker_batches(self, iter(batches))


def _worker_loop(loader, worker_id, seed, index_queue, result_queue):
    """A worker process: seed, then build the batches whose indices arrive until None does."""
    global _worker_info
    manual_seed(seed)
    _ops.set_num_threads(1)  # num_workers processes already share the cores
    _worker_info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)
    except Exception as exc:  # reported with the first batch asked for
        init_error = _Failure(exc, worker_id)
    else:
        init_error = None
    while True:
        job = index_queue.get()
        if job is None:
            return
        number, indices = job
        try:
            result = init_error or loader._fetch(indices)
        except Exception as exc:
            result = _Failure(exc, worker_id)
        result_queue.put((number, result))


class _Failure:
    """An exception raised in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc, worker_id):
        self.type, self.worker_id = type(exc), worker_id
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        message = (f"Caught {self.type.__name__} in DataLoader worker process {self.worker_id}.\n"
                   f"Original {self.text}")
        try:
            error = self.type(message)
        except Exception:  # an exception class that needs other arguments
            error = RuntimeError(message)
        raise error


def _worker_batches(loader, batches):
    """Batches built by ``loader.num_workers`` processes, yielded in sampler order."""
    ctx = loader.multiprocessing_context
    ctx = multiprocessing.get_context(ctx) if ctx is None or isinstance(ctx, str) else ctx
    first = next(batches, None)
    if first is None:
        return
    # Drawn after the sampler drew this epoch's order, so the first epoch's batches equal
    # num_workers=0's; later shuffles differ from num_workers=0's by this one draw per epoch.
    base_seed = int(as_generator(loader.generator).integers(2 ** 62))
    batches = itertools.chain([first], batches)
    result_queue = ctx.Queue()
    index_queues, workers = [], []
    try:
        for worker_id in range(loader.num_workers):
            index_queue = ctx.Queue()
            worker = ctx.Process(target=_worker_loop, daemon=True,
                                 args=(loader, worker_id, base_seed + worker_id, index_queue, result_queue))
            worker.start()
            index_queues.append(index_queue)
            workers.append(worker)
        sent = received = 0
        done, ready = False, {}

        def send():
            nonlocal sent, done
            indices = next(batches, None)
            if indices is None:
                done = True
                return
            index_queues[sent % len(workers)].put((sent, indices))  # round robin keeps workers even
            sent += 1

        for _ in range(loader.prefetch_factor * len(workers)):
            send()
        while received < sent:
            while received not in ready:
                number, result = _next_result(result_queue, workers, loader.timeout)
                ready[number] = result
            result = ready.pop(received)
            received += 1
            if isinstance(result, _Failure):
                result.reraise()
            if not done:
                send()
            yield result
    finally:
        for index_queue in index_queues:
            index_queue.put(None)
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
        for q in index_queues + [result_queue]:
            q.cancel_join_thread()
            q.close()


def _next_result(result_queue, workers, timeout):
    """The next (number, batch) from any worker; raises if a worker died or ``timeout`` passed."""
    waited = 0.0
    while True:
        try:
            return result_queue.get(timeout=1.0 if not timeout else min(timeout - waited, 1.0))
        except queue.Empty:
            waited += 1.0
        dead = [w for w in workers if not w.is_alive()]
        if dead:
            raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(str(w.pid) for w in dead)}) exited "
                               f"unexpectedly with exit code {dead[0].exitcode}")
        if timeout and waited >= timeout:
            raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

"""Where trials run: in this process, in local worker processes, or on a Dask cluster.

Every backend runs the same function, :func:`run_trial`, which seeds minigrad with the trial's seed,
limits the kernel and BLAS threads to one, calls ``train_fn`` and turns whatever happens (metrics, an
exception, a NaN) into a plain record. Backends only differ in how records come back:

- ``"serial"``: in this process, one after another.
- local processes (the default): a ``concurrent.futures.ProcessPoolExecutor`` whose workers are
  forked from multiprocessing's fork server (which imports minigrad once; ``spawn`` where there is
  no fork server). Plain ``fork`` is unsafe here: a child forked after the parent used OpenMP
  (minigrad's kernels) or a BLAS thread pool can hang in its first parallel region; the fork server
  is a fresh single-threaded process that never ran a parallel region.
- Dask: a ``distributed.Client`` the caller passes, or ``"dask"``, which starts a
  ``distributed.LocalCluster`` (one process per worker, one thread each) and closes it afterwards.

``train_fn`` travels to the workers once, pickled with ``cloudpickle`` when it is installed (it comes
with ``dask[distributed]``): a function defined in a notebook, in the ``__main__`` script or in a file
loaded by path cannot be imported by name in another process, so its code is sent by value.
"""
import contextlib
import hashlib
import importlib.machinery
import math
import numbers
import os
import pickle
import socket
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .. import _ops
from .. import random as minigrad_random

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MINIGRAD_NUM_THREADS")


def _start_methods():
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def default_workers():
    """CPUs this process may use (2 on the project's machine): the kernels' default thread count."""
    return _ops.default_threads()


# ---------------------------------------------------------------- one trial (runs on a worker)

@contextlib.contextmanager
def limit_threads(n):
    """minigrad's kernels and numpy's BLAS use ``n`` threads inside the block (None: unchanged)."""
    if n is None:
        yield
        return
    before = _ops.get_num_threads()
    _ops.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl is optional: the worker's environment variables still apply
        blas = contextlib.nullcontext()
    else:
        blas = threadpool_limits(limits=n, user_api="blas")
    try:
        with blas:
            yield
    finally:
        _ops.set_num_threads(before)


def _plain(value):
    """A JSON-friendly metric value."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


def run_trial(train_fn, spec, metric, threads=1):
    """Run one trial and return its record: ``spec`` (trial, config, seed, budget, rung) plus
    ``status`` ("ok" or "failed"), ``metrics``, ``error``, ``seconds`` and ``worker``."""
    record = dict(spec, status="ok", metrics={}, error=None, worker=f"{socket.gethostname()}:{os.getpid()}")
    start = time.perf_counter()
    try:  # fork_rng: the serial executor runs in the caller's process, whose generator stays put
        with minigrad_random.fork_rng(), limit_threads(threads):
            minigrad_random.manual_seed(spec["seed"])
            config = dict(spec["config"])
            out = train_fn(config) if spec.get("budget") is None else train_fn(config, spec["budget"])
        if not isinstance(out, dict):
            raise TypeError(f"train_fn must return a dict of metrics, got {type(out).__name__}")
        record["metrics"] = {str(k): _plain(v) for k, v in out.items()}
        value = record["metrics"].get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            record["status"] = "failed"
            record["error"] = (f"metric {metric!r} missing from {sorted(record['metrics'])}" if metric not in
                               record["metrics"] else f"metric {metric!r} is {value!r}, not a finite number")
    except Exception as exc:  # noqa: BLE001  a failing trial is a result, never the end of the search
        record["status"] = "failed"
        last = traceback.extract_tb(exc.__traceback__)[-1]
        record["error"] = f"{type(exc).__name__}: {exc} ({os.path.basename(last.filename)}:{last.lineno})"
    record["seconds"] = time.perf_counter() - start
    return record


# ---------------------------------------------------------------- shipping train_fn

def _by_value_modules(fn):
    """Modules that define ``fn`` (or the function a ``functools.partial`` wraps) and that another
    process could not import by name."""
    modules = []
    while fn is not None:
        name = getattr(fn, "__module__", None)
        module = sys.modules.get(name) if name else None
        if module is not None and name != "__main__":  # cloudpickle sends __main__ by value itself
            top = name.partition(".")[0]
            if importlib.machinery.PathFinder.find_spec(top, sys.path) is None and top not in sys.builtin_module_names:
                modules.append(module)
        fn = getattr(fn, "func", None)
    return modules


def dumps_fn(fn):
    """Bytes a worker turns back into ``fn`` with ``pickle.loads``."""
    try:
        import cloudpickle
    except ImportError:
        return pickle.dumps(fn)
    modules = _by_value_modules(fn)
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(fn)
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)


_worker_fn = {}  # digest of the payload → train_fn, in each worker process


def _load_fn(payload, digest):
    if digest not in _worker_fn:
        _worker_fn.clear()
        _worker_fn[digest] = pickle.loads(payload)
    return _worker_fn[digest]


def _pool_init(threads, payload, digest):
    # Libraries loaded later in the worker (torch, a BLAS opened by train_fn) read these.
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    _load_fn(payload, digest)


def _preloaded_trial(digest, spec, metric, threads):
    """A trial in a local pool worker, whose initializer already unpickled ``train_fn``."""
    return run_trial(_worker_fn[digest], spec, metric, threads)


def _payload_trial(payload, spec, metric, threads):
    """A trial on a Dask worker (the payload comes from the worker's copy of the scattered bytes) or an
    executor of the caller's (the payload travels with every task); unpickled once per process."""
    return run_trial(_load_fn(payload, hashlib.sha1(payload).digest()), spec, metric, threads)


# ---------------------------------------------------------------- backends

class Backend:
    """Runs :func:`run_trial` for a stream of specs; yields records as trials finish."""

    workers = 1
    name = "serial"

    def __init__(self, train_fn, metric, threads):
        self.train_fn, self.metric, self.threads = train_fn, metric, threads

    def run(self, specs):
        for spec in specs:
            yield run_trial(self.train_fn, spec, self.metric, self.threads)

    def close(self):
        pass


def _lost(spec, error):
    return dict(spec, status="lost", metrics={}, error=error, seconds=0.0, worker=None)


class FuturesBackend(Backend):
    """Any ``concurrent.futures.Executor``-like object with ``submit``; at most ``window`` trials are
    queued at a time, so an executor that breaks loses only those."""

    def __init__(self, train_fn, metric, threads, executor, workers, name):
        super().__init__(train_fn, metric, threads)
        self.executor, self.workers, self.name = executor, workers, name
        self.payload = dumps_fn(train_fn)

    def submit(self, spec):
        return self.executor.submit(_payload_trial, self.payload, spec, self.metric, self.threads)

    def wait_one(self, pending):
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        return done

    def recover(self, exc):
        """Called when a future raised instead of returning a record; may replace the executor."""

    def run(self, specs):
        specs, pending = iter(specs), {}
        window = 2 * self.workers
        while True:
            while len(pending) < window:
                spec = next(specs, None)
                if spec is None:
                    break
                pending[self.submit(spec)] = spec
            if not pending:
                return
            for future in self.wait_one(list(pending)):
                spec = pending.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001  the worker died or the cluster lost the task
                    self.recover(exc)
                    yield _lost(spec, f"{type(exc).__name__}: {exc}")


class LocalBackend(FuturesBackend):
    """A ``ProcessPoolExecutor`` of ``workers`` spawned processes, each with ``threads`` threads."""

    def __init__(self, train_fn, metric, threads, workers):
        super().__init__(train_fn, metric, threads, None, workers, f"local processes ({workers})")
        self.digest = hashlib.sha1(self.payload).digest()
        self.executor = self._pool()

    def submit(self, spec):
        return self.executor.submit(_preloaded_trial, self.digest, spec, self.metric, self.threads)

    def _pool(self):
        import multiprocessing

        if "forkserver" in _start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["minigrad"])  # workers start without re-importing numpy
        else:
            context = multiprocessing.get_context("spawn")
        # train_fn goes to each worker once, with the initializer; tasks carry only its digest
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_pool_init,
                                   initargs=(self.threads or default_workers(), self.payload, self.digest))

    def recover(self, exc):
        if isinstance(exc, BrokenProcessPool):  # a worker died: the pool is unusable, start another
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._pool()

    def close(self):
        self.executor.shutdown(wait=True, cancel_futures=True)


class DaskBackend(FuturesBackend):
    """Trials as tasks of a ``distributed.Client``; ``train_fn`` is scattered to every worker once."""

    def __init__(self, train_fn, metric, threads, client, owned=()):
        from distributed import as_completed  # noqa: F401  fail early if distributed is missing

        self.client, self.owned = client, owned
        workers = sum(client.nthreads().values()) or 1
        super().__init__(train_fn, metric, threads, client, workers, f"dask ({client.scheduler.address})")
        self.payload_future = client.scatter(self.payload, broadcast=True, hash=True)

    def submit(self, spec):
        key = f"minigrad-trial-{spec['trial']}-rung{spec.get('rung', 0)}-{os.getpid()}-{time.time_ns()}"
        return self.client.submit(_payload_trial, self.payload_future, spec, self.metric, self.threads,
                                  key=key, pure=False)

    def wait_one(self, pending):
        from distributed import wait as dask_wait

        return dask_wait(pending, return_when="FIRST_COMPLETED").done

    def close(self):
        for obj in self.owned:  # the client first, then the cluster we started
            obj.close()


def make_backend(executor, n_workers, train_fn, metric, threads):
    """The backend for ``random_search``'s ``executor`` argument (see its docstring)."""
    if executor in (None, "local", "processes"):
        workers = n_workers or default_workers()
        return LocalBackend(train_fn, metric, threads, workers)
    if executor == "serial":
        return Backend(train_fn, metric, threads)
    if executor == "dask":
        try:
            import dask
            import distributed
        except ImportError as exc:
            raise ImportError("executor='dask' needs dask.distributed: pip install 'minigrad[tune]'") from exc
        # worker processes from a fork server too (dask's default is spawn): safe with OpenMP, and
        # starting a worker takes ~half as long as spawning a fresh interpreter
        method = "forkserver" if "forkserver" in _start_methods() else "spawn"
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            cluster = distributed.LocalCluster(n_workers=n_workers or default_workers(), threads_per_worker=1,
                                               processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
        return DaskBackend(train_fn, metric, threads, client, owned=(client, cluster))
    if type(executor).__module__.startswith("distributed") and hasattr(executor, "scatter"):
        return DaskBackend(train_fn, metric, threads, executor)
    if isinstance(executor, Executor):
        return FuturesBackend(train_fn, metric, threads, executor, n_workers or default_workers(),
                              type(executor).__name__)
    raise ValueError(f"executor must be None/'local', 'serial', 'dask', a distributed.Client or a "
                     f"concurrent.futures.Executor, got {executor!r}")

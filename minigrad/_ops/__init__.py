"""The only door to the kernels: ndarray in, ndarray out; knows nothing of Tensor or autograd.

Every kernel is declared once in ``registry.py``; this module turns each declaration into a door,
``_ops.<name>``, that validates the arguments (``checks.py``: dtype, shape, contiguity) and then calls
the selected implementation: the compiled Cython kernel, or its numpy twin in ``reference.py`` (same
name, same signature). Compiled code is therefore only ever entered with arrays it can handle.

Backend selection: ``MINIGRAD_KERNELS=compiled`` (default) or ``numpy``. If the extension is missing,
the default falls back to numpy with a warning; an explicit ``compiled`` raises ImportError.

ISA selection, one switch for every family: each family runs its best build for the CPU
(``kernel_paths()``), or at most ``MINIGRAD_ISA=generic|avx2|avx512`` (capped to what the CPU
runs; any other value is an error), or exactly ``set_isa(level)`` at run time (tests use it to cover
every path the CPU can run).
"""
import contextlib
import functools
import importlib
import inspect
import os
import warnings

import numpy as np

from . import reference
from .checks import (FLOAT_DTYPES, check_float, check_same, conv_output_size, conv_padding,  # noqa: F401
                     pool_output_size)
from .registry import FAMILIES, ISAS, KERNELS

try:
    from . import cpu as _cpu
except ImportError:  # not built: single-threaded reference kernels only
    _cpu = None


def cpu_features():
    """The ISA levels this CPU runs, worst to best, e.g. ['generic', 'avx2', 'avx512']."""
    return _cpu.cpu_features() if _cpu is not None else ["generic"]


# ---------------------------------------------------------------- compiled modules and their ISA

def _module_name(family, isa):
    """A family with one build is ``_ops/<family>.pyx``; one with ISA builds ``<family>_<isa>.pyx``."""
    return family if len(FAMILIES[family]) == 1 else f"{family}_{isa}"


def _load_compiled(level):
    """The kernels of every family's best build at or below ISA ``level``, the ISA each family
    runs, and why a family has no build (not compiled, or not importable)."""
    kernels, paths, errors = {}, {}, []
    allowed = ISAS[:ISAS.index(level) + 1]
    for family, isas in FAMILIES.items():
        for isa in reversed([i for i in isas if i in allowed]):
            try:
                module = importlib.import_module(f"{__name__}.{_module_name(family, isa)}")
            except ImportError as e:  # the compiler could not target this ISA: try the next one down
                reason = f"{family}: {e}"
                continue
            kernels.update({k.name: getattr(module, k.name) for k in KERNELS.values() if k.family == family})
            paths[family] = isa
            break
        else:
            errors.append(reason)
    return kernels, paths, errors


def _isa_from_env():
    """MINIGRAD_ISA capped to the best level this CPU runs, or that best level if unset."""
    if os.environ.get("MINIGRAD_GEMM_ISA"):
        warnings.warn("MINIGRAD_GEMM_ISA is no longer read: MINIGRAD_ISA sets the path of every kernel "
                      "family", RuntimeWarning, stacklevel=3)
    best = cpu_features()[-1]
    value = os.environ.get("MINIGRAD_ISA", "").strip()
    if not value:
        return best
    if value not in ISAS:
        raise ValueError(f"MINIGRAD_ISA: expected one of {', '.join(ISAS)}, got {value!r}")
    return min(value, best, key=ISAS.index)


isa_level = _isa_from_env()
_compiled, _paths, _compile_errors = _load_compiled(isa_level) if _cpu is not None else ({}, {}, ["cpu: not built"])


def _select(name, explicit=True):
    """Kernel table for backend ``name``. Compiled kernels that are missing fall back to their numpy
    twins with a warning, or raise ImportError if ``compiled`` was asked for explicitly."""
    if name not in ("compiled", "numpy"):
        raise ValueError(f"MINIGRAD_KERNELS must be 'compiled' or 'numpy', got {name!r}")
    impl = {k: getattr(reference, k) for k in KERNELS}
    if name == "compiled":
        if _compile_errors:
            message = (
                "minigrad's compiled kernels are not all built (" + "; ".join(_compile_errors)
                + "). Run `pip install -e .` (or `make build`), or set MINIGRAD_KERNELS=numpy."
            )
            if explicit:
                raise ImportError(message)
            warnings.warn(message + " Using the numpy reference kernels for those.",
                          RuntimeWarning, stacklevel=3)
        impl.update(_compiled)
    return impl


_requested = os.environ.get("MINIGRAD_KERNELS", "")
backend = _requested or "compiled"
_impl = _select(backend, explicit=bool(_requested))


def get_backend():
    """'compiled' or 'numpy': which implementation the kernels below call."""
    return backend


@contextlib.contextmanager
def use_backend(name):
    """Temporarily switch every kernel to the 'compiled' or 'numpy' implementation (for tests)."""
    global backend, _impl
    saved = backend, _impl
    _impl, backend = _select(name), name
    try:
        yield
    finally:
        backend, _impl = saved


def set_isa(level):
    """Run every family's best build at or below ``level`` ('generic', 'avx2', 'avx512') from now
    on; unlike MINIGRAD_ISA, a level this CPU cannot run is an error (a test must not believe it
    covered a path it did not). Returns the level it replaced."""
    global isa_level, _compiled, _paths, _impl
    if level not in ISAS:
        raise ValueError(f"set_isa: expected one of {', '.join(ISAS)}, got {level!r}")
    if level not in cpu_features():
        raise ValueError(f"set_isa: this CPU cannot run the {level!r} path (it runs {cpu_features()})")
    previous = isa_level
    isa_level = level
    if _cpu is not None:
        _compiled, _paths, _ = _load_compiled(level)
    if backend == "compiled":
        _impl = {**_impl, **_compiled}
    return previous


@contextlib.contextmanager
def use_isa(level):
    """Temporarily run every family's best build at or below ``level`` (see :func:`set_isa`)."""
    previous = set_isa(level)
    try:
        yield
    finally:
        set_isa(previous)


def available_isas(family):
    """The ISA builds of ``family`` this CPU runs and the build has, worst to best: the paths the
    kernel tests must cover."""
    out = []
    for isa in FAMILIES[family]:
        if isa in cpu_features() and _cpu is not None:
            try:
                importlib.import_module(f"{__name__}.{_module_name(family, isa)}")
            except ImportError:  # the compiler could not target it: not built
                continue
            out.append(isa)
    return out


def kernel_paths():
    """The ISA build each family runs, as ``{'<family>_path': isa}`` (``minigrad.show_config``), and
    the GEMM's register tile and cache blocks (``gemm_blocking``, chosen from the cache sizes)."""
    paths = {f"{family}_path": _paths.get(family, "not built") for family in FAMILIES}
    if "gemm" in _paths:
        b = gemm_blocking()
        paths["gemm_blocking"] = f"tile {b['mr']}x{b['nr']}, kc {b['kc']}, mc {b['mc']}, nc {b['nc']}"
    return paths


def gemm_blocking():
    """The active GEMM build's blocking: {'mr', 'nr', 'kc', 'mc', 'nc'} (float32 elements)."""
    return importlib.import_module(f"{__name__}.{_module_name('gemm', _paths['gemm'])}").blocking()


def compiled_kernel(name):
    """The compiled implementation of kernel ``name`` (its current ISA build), or None if not built."""
    return _compiled.get(name)


@contextlib.contextmanager
def instrument_kernels(wrap):
    """Call every kernel through ``wrap(name, fn, backend)`` while the block runs: ``fn`` is the
    implementation the door would call and ``backend`` ('compiled' or 'numpy') what it is; the
    returned callable replaces it (``minigrad.profile`` counts and times kernels this way)."""
    global _impl
    saved = _impl
    _impl = {name: wrap(name, fn, "compiled" if _compiled.get(name) is fn else "numpy")
             for name, fn in saved.items()}
    try:
        yield
    finally:
        _impl = saved


# ---------------------------------------------------------------- threads

def default_threads():
    """The cores this process may run on: the kernels' thread count unless told otherwise."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def set_num_threads(n):
    """Number of threads the compiled kernels use (like ``torch.set_num_threads``)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if _cpu is not None:
        _cpu.set_num_threads(int(n))


def get_num_threads():
    return _cpu.get_num_threads() if _cpu is not None else 1


def openmp_enabled():
    return _cpu is not None and _cpu.openmp_enabled()


def _threads_from_env():
    """MINIGRAD_NUM_THREADS, else OMP_NUM_THREADS (which PyTorch honours too), else the usable cores."""
    for name in ("MINIGRAD_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            if value.isdigit() and int(value) > 0:
                return int(value)
            warnings.warn(f"{name}={value!r} is not a positive integer; ignored", RuntimeWarning, stacklevel=2)
    return default_threads()


set_num_threads(_threads_from_env())


# ---------------------------------------------------------------- the doors

def _float_door(name, specs):
    """The door of a kernel declared with Float arrays: ``f(x)``, or ``f(grad_out, x)`` with grad_out
    like x (``registry.unary``). Written out for those two forms, it costs what a hand-written door
    did (a loop over the specs cost ~0.5 µs more per call, measured on Zen 4)."""
    names = [s.name for s in specs]
    if len(specs) == 1:
        (n0,) = names

        def door(x):
            return _impl[name](check_float(n0, x))
    elif len(specs) == 2 and specs[1].like is None and specs[0].like == names[1]:
        n0, n1 = names

        def door(grad_out, x):
            x = check_float(n1, x)
            return _impl[name](check_same(n0, grad_out, n1, x), x)
    else:
        raise TypeError(f"{name}: Float arrays declare f(x) or f(grad_out like x, x); validate other "
                        f"forms with a function in _ops/checks.py, got {specs}")
    door.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in names])
    door.__doc__ = getattr(reference, name).__doc__
    return door


def _door(kernel):
    """``_ops.<name>``: validate, then call the selected implementation (``_impl[name]``)."""
    name = kernel.name
    if kernel.args:
        door = _float_door(name, kernel.args)
    elif kernel.inplace:
        check, twin = kernel.check, getattr(reference, name)

        def door(*args, **kwargs):
            args = check(*args, **kwargs)
            # The compiled update walks flat C-contiguous arrays; strided ones go through the twin.
            # (A loop, not any() over a generator: ~0.25 µs less per parameter and step on Zen 4.)
            for a in args:
                if isinstance(a, np.ndarray) and not a.flags.c_contiguous:
                    return twin(*args)
            return _impl[name](*args)
        functools.update_wrapper(door, check)
    else:
        check = kernel.check

        def door(*args, **kwargs):
            return _impl[name](*check(*args, **kwargs))
        functools.update_wrapper(door, check)
    door.__name__ = door.__qualname__ = name
    # and its code object: tracebacks and cProfile then name the kernel, not "door"
    door.__code__ = door.__code__.replace(co_name=name, co_qualname=name)
    return door


for _kernel in KERNELS.values():  # _ops.relu_forward, _ops.gemm, ...: one door per declared kernel
    globals()[_kernel.name] = _door(_kernel)
del _kernel

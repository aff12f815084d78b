"""Search-space primitives and the reproducible draw of trial ``i``'s configuration and seed.

A search space is a dict ``{name: domain or constant}``. Every draw depends only on ``(seed, i, name)``:
each parameter of each trial has its own ``numpy.random.SeedSequence(seed, spawn_key=(i, crc32(name)))``
stream, so trial 17 gets the same configuration whether it runs first or last, on one worker or on a
cluster, and adding a parameter to the space does not change the values drawn for the others.
"""
import math
import numbers
import zlib

import numpy as np

__all__ = ["Domain", "loguniform", "uniform", "choice", "randint", "sample_config", "trial_seed",
           "describe_space"]


class Domain:
    """A distribution a parameter is drawn from: subclasses define ``sample(rng)`` and ``__repr__``."""

    log = False  # plot this parameter on a log axis

    def sample(self, rng):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


def _check_range(name, lo, hi, positive=False):
    if not (isinstance(lo, numbers.Real) and isinstance(hi, numbers.Real)) or not lo < hi:
        raise ValueError(f"{name}(lo, hi) needs real numbers with lo < hi, got ({lo!r}, {hi!r})")
    if positive and lo <= 0:
        raise ValueError(f"{name}(lo, hi) needs lo > 0 (a log scale), got lo={lo!r}")


class _Interval(Domain):
    """A range ``lo``, ``hi`` of numbers; a subclass says how a value is drawn from it."""

    def __init__(self, lo, hi):
        _check_range(type(self).__name__, lo, hi, positive=self.log)
        self.lo, self.hi = float(lo), float(hi)

    def __repr__(self):
        return f"{type(self).__name__}({self.lo!r}, {self.hi!r})"


class loguniform(_Interval):  # noqa: N801  named like a function, as it is used: loguniform(1e-6, 1e-2)
    """``lo * (hi/lo)**u`` with ``u ~ U(0, 1)``: uniform in log scale, the book's ``10 ** uniform(-6, -2)``."""

    log = True  # and so lo > 0

    def sample(self, rng):
        return float(math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))))


class uniform(_Interval):  # noqa: N801
    """A float uniform in ``[lo, hi)``."""

    def sample(self, rng):
        return float(rng.uniform(self.lo, self.hi))


class randint(_Interval):  # noqa: N801
    """An int uniform in ``[lo, hi)`` (``hi`` excluded, as ``numpy``'s ``integers`` and ``torch.randint``)."""

    def __init__(self, lo, hi):
        if not (isinstance(lo, numbers.Integral) and isinstance(hi, numbers.Integral)) or not lo < hi:
            raise ValueError(f"randint(lo, hi) needs ints with lo < hi, got ({lo!r}, {hi!r})")
        self.lo, self.hi = int(lo), int(hi)

    def sample(self, rng):
        return int(rng.integers(self.lo, self.hi))


class choice(Domain):  # noqa: N801
    """One of ``options``, each with the same probability."""

    def __init__(self, options):
        self.options = list(options)
        if not self.options:
            raise ValueError("choice(options) needs at least one option")

    def sample(self, rng):
        value = self.options[int(rng.integers(len(self.options)))]
        return value.item() if isinstance(value, np.generic) else value

    def __repr__(self):
        return f"choice({self.options!r})"


def _check_space(space):
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict {{name: domain or constant}}, got {space!r}")
    for name in space:
        if not isinstance(name, str):
            raise TypeError(f"space keys must be str parameter names, got {name!r}")


def sample_config(space, seed, i):
    """Configuration of trial ``i`` of the search seeded with ``seed``: a dict with the same keys as
    ``space``, domains replaced by draws and constants kept."""
    _check_space(space)
    config = {}
    for name, domain in space.items():
        if isinstance(domain, Domain):
            stream = np.random.SeedSequence(int(seed), spawn_key=(int(i), zlib.crc32(name.encode())))
            config[name] = domain.sample(np.random.default_rng(stream))
        else:
            config[name] = domain
    return config


def trial_seed(seed, i):
    """The seed trial ``i`` runs with (``minigrad.manual_seed`` is called with it before ``train_fn``)."""
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(i),)).generate_state(1, np.uint32)[0])


def describe_space(space):
    """``{name: repr}``: what the results file records so a resumed search can check it is the same one."""
    _check_space(space)
    return {name: repr(domain) for name, domain in space.items()}

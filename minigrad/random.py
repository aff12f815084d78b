"""minigrad's one random generator: init, dropout and data shuffling all draw from it.

``minigrad.manual_seed(s)`` makes a whole run repeatable, like ``torch.manual_seed``.
"""
import contextlib

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the global generator; returns it."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator():
    """The global ``numpy.random.Generator`` (re-read after ``manual_seed``; do not cache it)."""
    return _generator


@contextlib.contextmanager
def fork_rng():
    """Restore the global generator on leaving the block, whatever it seeded or drew inside
    (``torch.random.fork_rng``): a trial of ``minigrad.tune`` seeds its own without moving the caller's."""
    global _generator
    saved = _generator
    try:
        yield
    finally:
        _generator = saved

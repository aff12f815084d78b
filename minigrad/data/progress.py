"""Progress bars for long loops: ``tqdm`` when it is installed, else a small built-in bar.

``progress(iterable, desc=..., total=..., unit=..., disable=quiet)`` returns an iterable object with
tqdm's ``set_postfix(**values)``, ``update(n)`` and ``close()``; both versions write to stderr.
"""
import sys
import time

try:  # the optional dependency (extra "examples")
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None

__all__ = ["progress", "SimpleBar"]


class SimpleBar:
    """A one-line text progress bar on stderr, redrawn at most every ``mininterval`` seconds."""

    def __init__(self, iterable=None, total=None, desc="", unit="it", disable=False, leave=True,
                 unit_scale=False, mininterval=0.2, file=None):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total = total
        self.desc = desc or ""
        self.unit = unit
        self.unit_scale = unit_scale
        self.disable = disable
        self.leave = leave
        self.mininterval = mininterval
        self.file = file if file is not None else sys.stderr
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last = 0.0
        self._width = 0
        self._closed = False

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self):
        return self.total

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_postfix(self, ordered_dict=None, refresh=True, **values):
        values = {**(ordered_dict or {}), **values}
        self.postfix = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in values.items())
        if refresh:
            self._draw(force=False)

    def update(self, n=1):
        self.n += n
        self._draw(force=self.total is not None and self.n >= self.total)

    def _fmt(self, x):
        if not self.unit_scale:
            return f"{x:.2f}" if isinstance(x, float) else str(x)
        for prefix in ("", "k", "M", "G"):
            if abs(x) < 1000:
                return f"{x:.1f}{prefix}"
            x /= 1000
        return f"{x:.1f}T"

    def _line(self):
        elapsed = time.perf_counter() - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(self.n / self.total, 1.0)
            filled = int(20 * frac)
            bar = f"{100 * frac:3.0f}%|{'#' * filled}{' ' * (20 - filled)}| {self._fmt(self.n)}/{self._fmt(self.total)}"
        else:
            bar = self._fmt(self.n)
        head = f"{self.desc}: " if self.desc else ""
        tail = f", {self.postfix}" if self.postfix else ""
        return f"{head}{bar} [{elapsed:.0f}s, {self._fmt(float(rate))}{self.unit}/s{tail}]"

    def _draw(self, force):
        if self.disable or self._closed:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.mininterval:
            return
        self._last = now
        line = self._line()
        self.file.write("\r" + line + " " * max(self._width - len(line), 0))
        self.file.flush()
        self._width = len(line)

    def close(self):
        if self.disable or self._closed:
            return
        self._draw(force=True)
        self.file.write("\n" if self.leave else "\r" + " " * self._width + "\r")
        self.file.flush()
        self._closed = True


def progress(iterable=None, desc="", total=None, unit="it", disable=False, leave=True, unit_scale=False):
    """A progress bar over ``iterable`` (tqdm if installed, else :class:`SimpleBar`).

    ``disable=True`` (e.g. a ``quiet`` option) keeps the object but draws nothing.
    """
    if _tqdm is not None:
        return _tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable, leave=leave,
                     unit_scale=unit_scale, dynamic_ncols=True)
    return SimpleBar(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave,
                     unit_scale=unit_scale)

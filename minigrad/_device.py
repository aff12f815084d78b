"""``minigrad.device``: where a tensor lives. minigrad computes on the CPU only; PyTorch's device
names are accepted so that code that builds a device (``torch.device("cuda" if ... else "cpu")``)
ports, and moving a tensor anywhere but the CPU raises a clear error.
"""
from types import SimpleNamespace

import numpy as np

__all__ = ["device", "CPU", "as_device", "to_args", "cuda", "accelerator"]

_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hpu", "mtia", "privateuseone")


class device:
    """A device: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``.

    Differs from PyTorch: only ``cpu`` can hold tensors (moving to another device raises RuntimeError).
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: {type!r}")
        elif ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            type, _, number = type.partition(":")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{number}'")
            index = int(number)
        if type not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")
_Device = device  # to_args' parameter ``device`` hides the class


def as_device(d):
    """``d`` (a device or a string) as a device, which must be the CPU."""
    d = d if isinstance(d, device) else device(d)
    if d.type != "cpu":
        raise RuntimeError(f"minigrad runs on the CPU only: device '{d}' is not available")
    return d


def to_args(args, dtype=None, device=None):
    """The dtype asked for by ``.to(*args, dtype=, device=)`` (None: keep), after checking that the
    device, if any, is the CPU. Positional forms: a dtype, a device (or its string), a tensor (its
    dtype), or device then dtype."""
    for arg in args:
        if isinstance(arg, (str, _Device)):
            device = arg
        elif isinstance(arg, (np.dtype, type)):
            dtype = arg
        else:  # a tensor (tensor.py imports this module, so it is recognised by its dtype)
            dtype = getattr(arg, "dtype", arg)
    if device is not None:
        as_device(device)
    return dtype


# ``torch.cuda.is_available()`` and ``torch.accelerator.is_available()`` answer False here.
cuda = SimpleNamespace(is_available=lambda: False, device_count=lambda: 0)
accelerator = SimpleNamespace(is_available=lambda: False, current_accelerator=lambda: None, device_count=lambda: 0)

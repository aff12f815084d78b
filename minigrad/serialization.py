"""``minigrad.save`` / ``minigrad.load``: checkpoints in the safetensors format, never pickled.

File layout: a standard safetensors file, so ``safetensors.torch.load_file`` reads it. Every array of
the saved object is one safetensors entry; its key is the path to it in the object, dict keys joined
by "/" (a flat model state_dict keeps its own keys, e.g. ``0.weight``; ``{'model': ..., 'optimizer':
...}`` gives ``model/0.weight``, ``optimizer/state/0/exp_avg``). Everything else — the nesting, the
key types, numbers, strings (hyper-parameters, step counts) — is stored as JSON in the header's
``__metadata__`` under the key "minigrad", with a CRC-32 of every array's bytes, so a damaged file
is detected on load even where the safetensors header still looks valid.

Writes are atomic: the file is written beside its destination under a temporary name, flushed to
disk (fsync) and renamed over the destination (os.replace), so a crash or an error mid-write leaves
any previous checkpoint intact. A process killed mid-write cannot delete its temporary file; so every
temporary is named after its destination (``.<name>.<random>.tmp``) and locked (``flock``) by its
writer while it exists, and each save first removes the unlocked ones beside its destination: those
of writers that died. A live writer's temporary (another thread or process) is left alone.

safetensors is an optional dependency (``pip install safetensors``); minigrad itself needs numpy only.
"""
import json
import os
import tempfile
import zlib

try:
    import fcntl
except ImportError:  # Windows: no flock, so stale temporaries are not detected
    fcntl = None

import numpy as np

from ._device import as_device
from .tensor import Tensor

__all__ = ["save", "load"]

_META_KEY = "minigrad"
_FORMAT_VERSION = 1
_SEP = "/"


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as err:
        raise ImportError(
            "minigrad.save/minigrad.load store checkpoints in the safetensors format and need the "
            "'safetensors' package: pip install safetensors (or minigrad[save])"
        ) from err
    return safetensors


# ---------------------------------------------------------------- object tree <-> JSON + arrays
def _encode(obj, path, arrays):
    """JSON description of ``obj``; its arrays go into ``arrays`` under their path."""
    if isinstance(obj, (Tensor, np.ndarray)):
        kind = "tensor" if isinstance(obj, Tensor) else "array"
        key = path or kind
        if key in arrays:
            raise ValueError(f"minigrad.save: two entries map to the same key '{key}'")
        array = np.asarray(obj.data if isinstance(obj, Tensor) else obj, order="C")  # keeps 0-d shape
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        arrays[key] = array
        return {kind: key}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"minigrad.save: dict keys must be str or int, got {type(k).__name__} at '{path}'")
            items.append([k, _encode(v, f"{path}{_SEP}{k}" if path else str(k), arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_encode(v, f"{path}{_SEP}{i}" if path else str(i), arrays) for i, v in enumerate(obj)]}
    raise TypeError(
        f"minigrad.save: cannot store an object of type {type(obj).__name__} at '{path or '<root>'}': "
        "only Tensors, ndarrays, numbers, strings, None and dicts/lists/tuples of them (nothing is pickled)"
    )


def _decode(node, arrays, path):
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"{path}: corrupted minigrad metadata")
    (kind, value), = node.items()
    if kind in ("tensor", "array"):
        if not isinstance(value, str) or value not in arrays:
            raise ValueError(f"{path}: corrupted minigrad metadata (no array named {value!r})")
        return Tensor._wrap(arrays[value]) if kind == "tensor" else arrays[value]
    if kind == "value":
        return value
    if kind == "dict":
        return {k: _decode(v, arrays, path) for k, v in value}
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, path) for v in value]
        return tuple(items) if kind == "tuple" else items
    raise ValueError(f"{path}: corrupted minigrad metadata (unknown entry kind {kind!r})")


def _crc32(array):
    return zlib.crc32(array.reshape(-1).view(np.uint8)) if array.size else 0


# ---------------------------------------------------------------- public API
def save(obj, path):
    """Write ``obj`` to ``path`` as a safetensors file, atomically.

    ``obj``: a state_dict (flat dict of Tensors / ndarrays), or a dict nesting such dicts with plain
    values, e.g. ``{'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3}``.
    Tensors load back as Tensors, ndarrays as ndarrays, tuples as tuples, int dict keys as ints.

    Differs from PyTorch: the file is safetensors (a flat state_dict loads in PyTorch with
    ``safetensors.torch.load_file``), not PyTorch's pickle-based format; arbitrary objects are refused.
    PyTorch's ``f`` (a path or file object) is ``path`` here, a path only; ``pickle_module`` and
    ``pickle_protocol`` do not exist (nothing is pickled).

    Examples
    --------
    >>> minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "ckpt.safetensors")
    >>> ckpt = minigrad.load("ckpt.safetensors"); model.load_state_dict(ckpt["model"])
    """
    st = _safetensors()
    arrays = {}
    tree = _encode(obj, "", arrays)  # before touching the disk: a bad object writes nothing
    header = {"version": _FORMAT_VERSION, "tree": tree, "crc32": {k: _crc32(a) for k, a in arrays.items()}}
    metadata = {_META_KEY: json.dumps(header)}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    _remove_stale_temporaries(directory, prefix)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until fd is closed, or the process dies
        st.numpy.save_file(arrays, tmp, metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove_stale_temporaries(directory, prefix):
    """Delete the temporaries of earlier saves to the same destination whose writer is gone (its
    lock was released when it died); nothing else in ``directory`` is touched."""
    if fcntl is None:
        return
    for name in os.listdir(directory):
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        stale = os.path.join(directory, name)
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:  # already renamed or removed by its writer
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it
            os.close(fd)
            continue
        try:
            os.unlink(stale)
        except OSError:
            pass
        finally:
            os.close(fd)


def load(path, map_location=None, *, weights_only=True):
    """Read a file written by ``save`` (the same nested object) or any safetensors file, e.g. a
    PyTorch state_dict saved with ``safetensors.torch.save_file`` (a flat dict of Tensors).

    A truncated or corrupted file raises ValueError naming the path; nothing is ever unpickled.
    ``map_location`` may name the CPU; ``weights_only`` is accepted for PyTorch's call form.

    Differs from PyTorch: the file format is safetensors, so loading is always weights-only
    (``weights_only`` defaults to True; PyTorch writes None, which means True since 2.6). PyTorch's
    ``f`` is ``path`` here, a path only; ``pickle_module``, ``pickle_load_args`` and ``mmap`` do not
    exist.
    """
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        as_device(map_location)
    st = _safetensors()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such checkpoint file: '{path}'")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Expected a checkpoint file, got the directory '{path}'")
    try:
        with st.safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            arrays = {k: np.array(f.get_tensor(k), copy=True) for k in f.keys()}
    except st.SafetensorError as err:
        raise ValueError(f"{path}: not a valid safetensors file (truncated or corrupted?): {err}") from err
    if _META_KEY not in metadata:
        return {k: Tensor._wrap(a) for k, a in arrays.items()}
    try:
        header = json.loads(metadata[_META_KEY])
        checksums, tree = header["crc32"], header["tree"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: corrupted minigrad metadata: {err}") from err
    if set(checksums) != set(arrays):
        raise ValueError(f"{path}: corrupted checkpoint: the stored arrays do not match its metadata")
    for key, array in arrays.items():
        if _crc32(array) != checksums[key]:
            raise ValueError(f"{path}: corrupted checkpoint: checksum mismatch for '{key}'")
    return _decode(tree, arrays, path)

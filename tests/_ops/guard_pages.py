"""Arrays next to an unreadable page, for tests that a kernel reads only inside its inputs."""
import ctypes
import mmap

import numpy as np


def guarded(a, at_end):
    """A contiguous copy of ``a`` that starts right after an unreadable (PROT_NONE) page, or ends
    right before one: a kernel reading even one element outside ``a`` (a masked-off SIMD lane loaded
    anyway, a border tap not skipped) faults instead of passing on whatever lies there."""
    libc = ctypes.CDLL(None, use_errno=True)
    page = mmap.PAGESIZE
    pages = -(-a.nbytes // page) + 2
    buf = mmap.mmap(-1, pages * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    for guard in (base, base + (pages - 1) * page):
        assert libc.mprotect(ctypes.c_void_p(guard), page, 0) == 0  # PROT_NONE
    offset = (pages - 1) * page - a.nbytes if at_end else page
    out = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
    out[...] = a
    return out  # the array holds the mapping: it is unmapped when the array is freed

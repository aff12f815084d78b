"""minigrad: a readable autograd engine with PyTorch's API and compiled Cython kernels.

    import minigrad
    from minigrad import nn, optim
    import minigrad.nn.functional as F
"""
import builtins
import sys

import numpy as np

from . import _ops, autograd, functional  # noqa: F401
from . import data, nn, optim, viz  # noqa: F401  viz.draw_graph: the recorded graph as Graphviz DOT
from . import utils
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import *  # noqa: F401,F403
from .functional import (  # noqa: F401  the math ops PyTorch also exposes at top level
    abs, all, allclose, amax, amin, any, argmax, argmin, argsort, cat, ceil, chunk, clamp, clone, cos, cumsum,
    div, eq, equal, exp, flatten, flip, floor, gather, ge, gt, index_select, isclose, le, log, log_softmax,
    logsumexp, lt, masked_fill, matmul, max, maximum, mean, min, minimum, mul, narrow, ne, neg, nonzero, norm,
    permute, pow, prod, relu, reshape, roll, round, scatter, sigmoid, sign, sin, softmax, sort, split, sqrt, squeeze, stack,
    std, sum, tanh, topk, transpose, unflatten, unsqueeze, var, where,
)
from ._device import accelerator, cuda, device
from .profiler import explain, profile  # noqa: F401  per-op timing table; backward walk-through
from .random import manual_seed
from .serialization import load, save
from .tensor import Tensor, add, sub, t
from . import autograd_functional as _autograd_functional  # noqa: E402

# ``minigrad.autograd.functional`` (``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``vhp``, ``hvp``), where
# PyTorch has it, also for ``from minigrad.autograd.functional import hessian``; it lives in its own
# module because it sits above the ops, while the engine in autograd.py sits below them.
autograd.functional = _autograd_functional
sys.modules[__name__ + ".autograd.functional"] = _autograd_functional

clip = clamp

# ``torch.utils.data.DataLoader`` works as in PyTorch: minigrad.utils.data is minigrad.data.
utils.data = data
sys.modules[__name__ + ".utils.data"] = data

__version__ = "0.1.0"

# dtypes are numpy's; their PyTorch names (``minigrad.float``, ``minigrad.long``, …) shadow the
# builtins inside this module only, as ``torch.float`` does.
dtype = np.dtype
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
bool_ = np.dtype(np.bool_)
float = float32  # noqa: A001  torch.float
double = float64
long = int64
int = int32  # noqa: A001  torch.int
bool = bool_  # noqa: A001  torch.bool

set_num_threads = _ops.set_num_threads
get_num_threads = _ops.get_num_threads


def config():
    """Build and run-time configuration as a dict (what ``show_config`` prints)."""
    try:
        from ._ops._build_info import BUILD_INFO
    except ImportError:
        BUILD_INFO = {}
    info = {
        "minigrad": __version__,
        "numpy": np.__version__,
        "kernels": _ops.get_backend(),
        "openmp": _ops.openmp_enabled(),
        "threads": _ops.get_num_threads(),
        "cpu_features": _ops.cpu_features(),
        "isa": _ops.isa_level,  # MINIGRAD_ISA or set_isa; each family's path below
    }
    info.update(_ops.kernel_paths())
    info["build"] = BUILD_INFO
    return info


def show_config():
    """Print version, kernel backend, OpenMP, threads, the ISA path of every kernel family and compiler flags."""
    info = config()
    build = info.pop("build")
    width = builtins.max(len(k) for k in info) + 1
    for key, value in info.items():
        print(f"{key:<{width}} {value}")
    if build:
        print(f"{'compiler':<{width}} {build.get('compiler')}  flags: {' '.join(build.get('base_flags', []))}")
        for suffix, flags in build.get("isa_flags", {}).items():
            print(f"{'  *' + suffix:<{width}} {' '.join(flags) or '(baseline flags only)'}")
        print(f"{'debug build':<{width}} {build.get('debug')}")
    else:
        print("build info: not available (kernels not built)")

"""Every differentiable op, one file per section; ``import minigrad.functional as F``.

elementwise.py   arithmetic, unary math, activations, where/masked_fill, comparisons
reduction.py     sum/mean/var/std/max/min/logsumexp, softmax/log_softmax
shape.py         reshape/permute/squeeze/expand/cat/stack/split/pad/indexing
linalg.py        matmul, linear (on the compiled GEMM)
loss.py          cross_entropy, nll_loss, mse/l1/smooth_l1, binary_cross_entropy(_with_logits)
conv.py          conv1d/conv2d (im2col + GEMM), max/avg/adaptive_avg pooling
logical.py       isclose/allclose/equal, all/any, nonzero, argsort (results without gradient)
composite.py     ops built from the others: mish, prelu, huber_loss, kl_div, gather, sort, topk, roll, …

Tensor's operators and methods (``a + b``, ``x.sum()``) call these ops; this package sits above
``minigrad.tensor``, so it hands itself to Tensor once it has loaded (the last line).
"""
import sys

from ..tensor import use_functional
from .composite import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .logical import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403

use_functional(sys.modules[__name__])

"""numpy twins of every compiled kernel: the readable spec and the test oracle.

Same names and signatures as the compiled kernels; ``MINIGRAD_KERNELS=numpy`` runs the whole
package on these. Each function states the math it computes.
"""
import numpy as np

__all__ = ["relu_forward", "relu_backward"]


# ---------------------------------------------------------------- elementwise

def relu_forward(x):
    """y = max(x, 0), NaN propagating."""
    return np.where(x <= 0, np.zeros((), x.dtype), x)


def relu_backward(grad_out, x):
    """grad_x = grad_out · 1[x > 0]."""
    return np.where(x > 0, grad_out, np.zeros((), x.dtype))

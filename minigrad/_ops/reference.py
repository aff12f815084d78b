"""numpy twins of every compiled kernel: the readable spec and the test oracle.

Same names and signatures as the compiled kernels; ``MINIGRAD_KERNELS=numpy`` runs the whole
package on these. Each function states the math it computes.
"""
import numpy as np

__all__ = ["relu_forward", "relu_backward", "gemm", "matmul"]


# ---------------------------------------------------------------- elementwise

def relu_forward(x):
    """y = max(x, 0), NaN propagating."""
    return np.where(x <= 0, np.zeros((), x.dtype), x)


def relu_backward(grad_out, x):
    """grad_x = grad_out · 1[x > 0]."""
    return np.where(x > 0, grad_out, np.zeros((), x.dtype))


# ---------------------------------------------------------------- GEMM

def gemm(a, b, alpha=1.0, beta=0.0, out=None):
    """C = α·A·B + β·C for 2-D A (M, K), B (K, N); transposed operands are passed as views (A.T)."""
    c = alpha * (a @ b)
    if out is None:
        return c.astype(a.dtype, copy=False)
    out *= beta
    out += c
    return out


def matmul(a, b):
    """Batched A @ B over the leading dims (numpy broadcasting), both at least 2-D."""
    return np.matmul(a, b)

"""The convolution algorithm of "Deep Learning from Scratch" (Saito, ch. 7), reproduced in numpy as a
benchmark baseline. It is not part of the minigrad package and nothing in the package uses it.

The conv section (:mod:`benchmarks.conv`) times it next to minigrad, so the report can say how much
faster minigrad's conv is than the book's numpy conv. minigrad's own ``numpy-ref`` path is not that:
its im2col uses stride tricks and stays in float32. This module keeps every step of the book's
method, including the costs it pays:

- im2col: a Python loop over the kernel offsets (ky, kx) copies the strided slice of the zero-padded
  input that each offset sees into a (N, C, KH, KW, OH, OW) buffer made by ``np.zeros``, i.e. float64
  whatever the input dtype. **The float32 → float64 upcast is kept on purpose**: it is part of what
  the book's conv costs (twice the bytes, float64 GEMMs). The buffer is then transposed to
  (N, OH, OW, C, KH, KW) and reshaped (a copy) to the (N·OH·OW, C·KH·KW) column matrix.
- forward: ``col @ W_col + b`` with W_col = W reshaped to (Cout, C·KH·KW) and transposed (a view);
  the (N·OH·OW, Cout) result is reshaped to (N, OH, OW, Cout) and transposed to NCHW (a view, not
  made contiguous).
- backward: the upstream gradient is transposed to NHWC and reshaped (a copy) to (N·OH·OW, Cout);
  db = its column sums; dW = colᵀ @ dout, transposed and reshaped back to (Cout, C, KH, KW);
  dcol = dout @ W_colᵀ; dx = col2im(dcol): the reverse loop over the kernel offsets adds each
  offset's slice into a zero float64 (N, C, H + 2·pad + stride − 1, W + 2·pad + stride − 1) buffer,
  which is then cropped to (N, C, H, W) (a view).

dtypes follow numpy's promotion, as in the book: y, dW and dx come out float64 for float32 input;
dcol = dout @ W_colᵀ is a float32 product when both dout and W are float32. db keeps dout's dtype.
"""
import numpy as np


def out_size(size, k, stride, pad):
    """Output length of a convolution along one axis."""
    return (size + 2 * pad - k) // stride + 1


def im2col(x, kh, kw, stride=1, pad=0):
    """(N, C, H, W) → the (N·OH·OW, C·KH·KW) column matrix, float64 (``np.zeros``' default dtype)."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, kh, stride, pad), out_size(w, kw, stride, pad)
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    windows = np.zeros((n, c, kh, kw, oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            # the input pixel each output position sees through kernel tap (ky, kx)
            windows[:, :, ky, kx] = padded[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)


def col2im(dcol, x_shape, kh, kw, stride=1, pad=0):
    """The adjoint of :func:`im2col`: (N·OH·OW, C·KH·KW) → (N, C, H, W), overlapping windows summed
    into a float64 buffer padded by ``stride - 1`` extra rows and columns, then cropped."""
    n, c, h, w = x_shape
    oh, ow = out_size(h, kh, stride, pad), out_size(w, kw, stride, pad)
    per_tap = dcol.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    acc = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1))
    for ky in range(kh):
        for kx in range(kw):
            acc[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride] += per_tap[:, :, ky, kx]
    return acc[:, :, pad:pad + h, pad:pad + w]


class BookConv2d:
    """The book's Convolution layer: ``forward`` keeps the column matrix for ``backward``, which
    returns dx and stores ``dW`` and ``db``."""

    def __init__(self, weight, bias, stride=1, pad=0):
        self.weight, self.bias = weight, bias
        self.stride, self.pad = stride, pad
        self.x_shape = self.col = self.w_col = None
        self.dW = self.db = None

    def forward(self, x):
        c_out, _, kh, kw = self.weight.shape
        n, _, h, w = x.shape
        oh, ow = out_size(h, kh, self.stride, self.pad), out_size(w, kw, self.stride, self.pad)
        self.x_shape = x.shape
        self.col = im2col(x, kh, kw, self.stride, self.pad)
        self.w_col = self.weight.reshape(c_out, -1).T
        y = self.col @ self.w_col + self.bias
        return y.reshape(n, oh, ow, c_out).transpose(0, 3, 1, 2)

    def backward(self, grad_y):
        c_out, c_in, kh, kw = self.weight.shape
        dout = grad_y.transpose(0, 2, 3, 1).reshape(-1, c_out)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(c_out, c_in, kh, kw)
        dcol = dout @ self.w_col.T
        return col2im(dcol, self.x_shape, kh, kw, self.stride, self.pad)


def conv_step(x, weight, bias, stride, pad, grad_y):
    """One forward + backward of the book's conv on fixed inputs: (y, dx, dW, db)."""
    layer = BookConv2d(weight, bias, stride, pad)
    y = layer.forward(x)
    dx = layer.backward(grad_y)
    return y, dx, layer.dW, layer.db

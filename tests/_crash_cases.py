"""Malformed calls for ``tests/test_crash_suite.py``, run in a child process.

Each case is (group, name, call, expected exception types, regex its message must match — the
argument at fault). ``python _crash_cases.py GROUP START`` runs the group's cases from index START
and prints one JSON line per finished case, flushed, so the parent sees exactly which case was
running if the interpreter dies (a segfault in compiled code). Cases build their own inputs, so
a case never depends on another.
"""
import json
import os
import struct
import sys
import tempfile

import numpy as np

import minigrad
import minigrad.functional as F
from minigrad import _ops, nn, optim
from minigrad._ops.registry import KERNELS

CASES = []


def case(group, name, exc, match, call):
    CASES.append((group, name, call, exc, match))


f32 = lambda *s: np.ones(s, np.float32)  # noqa: E731
f64 = lambda *s: np.ones(s, np.float64)  # noqa: E731
i64 = lambda *s: np.ones(s, np.int64)  # noqa: E731
T = lambda a, **kw: minigrad.tensor(a, **kw)  # noqa: E731


def readonly(a):
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------- the door: _ops
# Each case's name starts with the kernel it calls (test_crash_suite checks every kernel has some).
ops = "ops"


def _float_array_cases(kernel):
    """The generated door of a kernel declared with Float arrays: every argument rejects a list, an
    int64 and a float16 array; a ``like`` argument another shape or dtype; and the count is checked."""
    names = [spec.name for spec in kernel.args]
    door = getattr(_ops, kernel.name)

    def call(**replace):
        return lambda: door(*[replace.get(n, f32(3)) for n in names])
    for spec in kernel.args:
        n = spec.name
        case(ops, f"{kernel.name}: {n} a list", TypeError, rf"\b{n}\b", call(**{n: [1.0, -1.0, 2.0]}))
        case(ops, f"{kernel.name}: {n} int64", TypeError, rf"\b{n}\b.*float32 or float64", call(**{n: i64(3)}))
        case(ops, f"{kernel.name}: {n} float16", TypeError, rf"\b{n}\b", call(**{n: np.ones(3, np.float16)}))
        if spec.like:
            case(ops, f"{kernel.name}: {n} shape", ValueError, rf"\b{n}\b.*shape", call(**{n: f32(4)}))
            case(ops, f"{kernel.name}: {n} dtype", TypeError, rf"\b{n}\b.*float32", call(**{n: f64(3)}))
    case(ops, f"{kernel.name}: too few arrays", TypeError, rf"{kernel.name}\(\) missing 1",
         lambda: door(*[f32(3)] * (len(names) - 1)))


for _kernel in KERNELS.values():
    if _kernel.args:
        _float_array_cases(_kernel)
case(ops, "gemm: a int", TypeError, r"\ba\b", lambda: _ops.gemm(i64(2, 2), f32(2, 2)))
case(ops, "gemm: mixed dtypes", TypeError, r"\bb\b.*float32", lambda: _ops.gemm(f32(2, 2), f64(2, 2)))
case(ops, "gemm: a not an array", TypeError, r"\ba\b", lambda: _ops.gemm([[1.0]], f32(1, 1)))
case(ops, "gemm: 1-D a", ValueError, r"\(M, K\)", lambda: _ops.gemm(f32(3), f32(3, 2)))
case(ops, "gemm: 3-D a", ValueError, r"\(M, K\)", lambda: _ops.gemm(f32(1, 2, 3), f32(3, 2)))
case(ops, "gemm: inner dims", ValueError, r"cannot be multiplied", lambda: _ops.gemm(f32(2, 3), f32(4, 2)))
case(ops, "gemm: out shape", ValueError, r"\bout\b.*\(2, 2\)", lambda: _ops.gemm(f32(2, 3), f32(3, 2), out=f32(2, 3)))
case(ops, "gemm: out dtype", ValueError, r"\bout\b.*float32", lambda: _ops.gemm(f32(2, 3), f32(3, 2), out=f64(2, 2)))
case(ops, "gemm: out strided", ValueError, r"\bout\b.*contiguous", lambda: _ops.gemm(f32(2, 3), f32(3, 2), out=f32(2, 4)[:, ::2]))
case(ops, "gemm: out read-only", ValueError, r"\bout\b.*writeable", lambda: _ops.gemm(f32(2, 3), f32(3, 2), out=readonly(f32(2, 2))))
case(ops, "gemm: out is a list", ValueError, r"\bout\b", lambda: _ops.gemm(f32(2, 3), f32(3, 2), out=[[0, 0], [0, 0]]))
case(ops, "gemm: out aliases a", ValueError, r"\bout\b.*overlap", lambda: (lambda a: _ops.gemm(a, f32(3, 3), out=a))(f32(3, 3)))
case(ops, "gemm: bias shape", ValueError, r"\bbias\b.*\(2,\)", lambda: _ops.gemm(f32(2, 3), f32(3, 2), bias=f32(3)))
case(ops, "gemm: bias dtype", TypeError, r"\bbias\b.*float32", lambda: _ops.gemm(f32(2, 3), f32(3, 2), bias=f64(2)))
case(ops, "gemm: out aliases b", ValueError, r"\bout\b.*overlap", lambda: (lambda b: _ops.gemm(f32(3, 3), b.T, out=b))(f32(3, 3)))
case(ops, "matmul: 1-D", ValueError, r"\(\.\.\., M, K\)", lambda: _ops.matmul(f32(3), f32(3, 2)))
case(ops, "matmul: batch dims", ValueError, r"batch dims", lambda: _ops.matmul(f32(2, 2, 3), f32(3, 3, 2)))
case(ops, "matmul: mixed dtypes", TypeError, r"\bb\b", lambda: _ops.matmul(f32(2, 2, 3), f64(2, 3, 2)))
case(ops, "matmul: inner dims", ValueError, r"cannot be multiplied", lambda: _ops.matmul(f32(2, 2, 3), f32(2, 4, 2)))
case(ops, "im2col: 3-D x", ValueError, r"\bx\b.*4-D", lambda: _ops.im2col(f32(1, 4, 4), 3))
case(ops, "im2col: int x", TypeError, r"\bx\b", lambda: _ops.im2col(i64(1, 1, 4, 4), 3))
case(ops, "im2col: kernel_size 0", ValueError, r"kernel_size.*>= 1", lambda: _ops.im2col(f32(1, 1, 4, 4), 0))
case(ops, "im2col: kernel_size -3", ValueError, r"kernel_size", lambda: _ops.im2col(f32(1, 1, 4, 4), -3))
case(ops, "im2col: kernel_size float", TypeError, r"kernel_size", lambda: _ops.im2col(f32(1, 1, 4, 4), 2.5))
case(ops, "im2col: kernel_size 3 ints", TypeError, r"kernel_size", lambda: _ops.im2col(f32(1, 1, 4, 4), (1, 2, 3)))
case(ops, "im2col: kernel_size bool", TypeError, r"kernel_size", lambda: _ops.im2col(f32(1, 1, 4, 4), True))
case(ops, "im2col: stride 0", ValueError, r"stride.*>= 1", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, stride=0))
case(ops, "im2col: stride -1", ValueError, r"stride", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, stride=(1, -1)))
case(ops, "im2col: dilation 0", ValueError, r"dilation", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, dilation=0))
case(ops, "im2col: padding -1", ValueError, r"padding", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, padding=-1))
case(ops, "im2col: padding 5 ints", TypeError, r"padding", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, padding=(1, 1, 1, 1, 1)))
case(ops, "im2col: kernel larger than input", ValueError, r"^im2col: .*\(4 x 4\) is smaller than the dilated kernel \(5 x 5\).*\bx\b.*kernel_size", lambda: _ops.im2col(f32(1, 1, 4, 4), 5))
case(ops, "im2col: dilated kernel larger", ValueError, r"dilation", lambda: _ops.im2col(f32(1, 1, 4, 4), 3, dilation=2))
case(ops, "im2col: zero-size spatial", ValueError, r"output size", lambda: _ops.im2col(f32(1, 1, 0, 4), 1))
case(ops, "im2col: out shape", ValueError, r"\bout\b", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, out=f32(4, 8)))
case(ops, "im2col: out dtype", ValueError, r"\bout\b", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, out=f64(4, 9)))
case(ops, "im2col: out read-only", ValueError, r"\bout\b", lambda: _ops.im2col(f32(1, 1, 4, 4), 2, out=readonly(f32(4, 9))))
case(ops, "col2im: cols shape", ValueError, r"cols.*shape", lambda: _ops.col2im(f32(4, 8), (1, 1, 4, 4), 2))
case(ops, "col2im: input_shape 3 ints", TypeError, r"input_shape", lambda: _ops.col2im(f32(4, 9), (1, 4, 4), 2))
case(ops, "col2im: input_shape negative", ValueError, r"input_shape", lambda: _ops.col2im(f32(4, 9), (1, 1, -4, 4), 2))
case(ops, "col2im: int cols", TypeError, r"cols", lambda: _ops.col2im(i64(4, 9), (1, 1, 4, 4), 2))
case(ops, "col2im: kernel larger than input", ValueError, r"^col2im: .*smaller than the dilated kernel.*input_shape", lambda: _ops.col2im(f32(25, 0), (1, 1, 4, 4), 5))
case(ops, "col2im: out shape", ValueError, r"\bout\b", lambda: _ops.col2im(f32(4, 9), (1, 1, 4, 4), 2, out=f32(1, 1, 4, 5)))
_conv, _convw = _ops.conv2d_forward, _ops.conv2d_backward_weight
case(ops, "conv2d_forward: 3-D x", ValueError, r"\bx\b.*4-D", lambda: _conv(f32(1, 4, 4), f32(1, 1, 3, 3)))
case(ops, "conv2d_forward: int x", TypeError, r"\bx\b", lambda: _conv(i64(1, 1, 4, 4), f32(1, 1, 3, 3)))
case(ops, "conv2d_forward: weight a list", TypeError, r"\bweight\b", lambda: _conv(f32(1, 1, 4, 4), [[[[1.0]]]]))
case(ops, "conv2d_forward: weight 3-D", ValueError, r"\bweight\b.*4-D", lambda: _conv(f32(1, 1, 4, 4), f32(1, 3, 3)))
case(ops, "conv2d_forward: weight dtype", TypeError, r"\bweight\b.*float32", lambda: _conv(f32(1, 1, 4, 4), f64(1, 1, 3, 3)))
case(ops, "conv2d_forward: weight kernel 0", ValueError, r"\bweight\b.*KH, KW >= 1", lambda: _conv(f32(1, 1, 4, 4), f32(1, 1, 0, 3)))
case(ops, "conv2d_forward: weight channels", ValueError, r"\bweight\b.*input channels", lambda: _conv(f32(1, 2, 4, 4), f32(1, 3, 3, 3)))
case(ops, "conv2d_forward: groups 0", ValueError, r"\bgroups\b", lambda: _conv(f32(1, 2, 4, 4), f32(2, 1, 3, 3), groups=0))
case(ops, "conv2d_forward: groups not dividing", ValueError, r"\bgroups\b", lambda: _conv(f32(1, 4, 4, 4), f32(3, 2, 3, 3), groups=2))
case(ops, "conv2d_forward: groups float", TypeError, r"\bgroups\b", lambda: _conv(f32(1, 2, 4, 4), f32(2, 1, 3, 3), groups=2.0))
case(ops, "conv2d_forward: stride 0", ValueError, r"\bstride\b", lambda: _conv(f32(1, 1, 4, 4), f32(1, 1, 3, 3), stride=0))
case(ops, "conv2d_forward: padding -1", ValueError, r"\bpadding\b", lambda: _conv(f32(1, 1, 4, 4), f32(1, 1, 3, 3), padding=-1))
case(ops, "conv2d_forward: dilation 3 ints", TypeError, r"\bdilation\b", lambda: _conv(f32(1, 1, 4, 4), f32(1, 1, 3, 3), dilation=(1, 1, 1)))
case(ops, "conv2d_forward: plane of 2**31 pixels", ValueError, r"\bx\b.*2\*\*31", lambda: _conv(np.broadcast_to(np.float32(1), (1, 1, 2**16, 2**15)), f32(1, 1, 1, 1)))
case(ops, "conv2d_forward: kernel larger than input", ValueError, r"^conv2d_forward: .*smaller than the dilated kernel.*weight's kernel", lambda: _conv(f32(1, 1, 4, 4), f32(1, 1, 5, 5)))
case(ops, "conv2d_forward: dilated kernel larger than padded input", ValueError, r"^conv2d_forward: .*\(6 x 6\) is smaller than the dilated kernel \(7 x 7\)", lambda: _conv(f32(1, 1, 4, 4), f32(1, 1, 4, 4), padding=1, dilation=2))
case(ops, "conv2d_backward_weight: kernel larger than input", ValueError, r"^conv2d_backward_weight: .*smaller than the dilated kernel.*weight_shape's kernel", lambda: _convw(f32(1, 1, 1, 1), f32(1, 1, 4, 4), (1, 1, 5, 5)))
case(ops, "conv2d_backward_weight: grad_out shape", ValueError, r"grad_out.*shape", lambda: _convw(f32(1, 1, 3, 3), f32(1, 1, 4, 4), (1, 1, 3, 3)))
case(ops, "conv2d_backward_weight: grad_out dtype", TypeError, r"grad_out.*float32", lambda: _convw(f64(1, 1, 2, 2), f32(1, 1, 4, 4), (1, 1, 3, 3)))
case(ops, "conv2d_backward_weight: grad_out int", TypeError, r"grad_out", lambda: _convw(i64(1, 1, 2, 2), f32(1, 1, 4, 4), (1, 1, 3, 3)))
case(ops, "conv2d_backward_weight: 3-D x", ValueError, r"\bx\b.*4-D", lambda: _convw(f32(1, 1, 2, 2), f32(1, 4, 4), (1, 1, 3, 3)))
case(ops, "conv2d_backward_weight: weight_shape 3 ints", TypeError, r"weight_shape", lambda: _convw(f32(1, 1, 2, 2), f32(1, 1, 4, 4), (1, 3, 3)))
case(ops, "conv2d_backward_weight: weight_shape negative", ValueError, r"weight_shape", lambda: _convw(f32(1, 1, 2, 2), f32(1, 1, 4, 4), (1, -1, 3, 3)))
case(ops, "conv2d_backward_weight: weight_shape kernel 0", ValueError, r"weight_shape", lambda: _convw(f32(1, 1, 2, 2), f32(1, 1, 4, 4), (1, 1, 0, 3)))
case(ops, "conv2d_backward_weight: weight_shape channels", ValueError, r"weight_shape", lambda: _convw(f32(1, 1, 2, 2), f32(1, 2, 4, 4), (1, 1, 3, 3)))
case(ops, "conv2d_backward_weight: groups -1", ValueError, r"\bgroups\b", lambda: _convw(f32(1, 2, 2, 2), f32(1, 2, 4, 4), (2, 1, 3, 3), groups=-1))
case(ops, "conv2d_forward: bias dtype", TypeError, r"\bbias\b.*float32", lambda: _conv(f32(1, 1, 4, 4), f32(2, 1, 3, 3), bias=f64(2)))
case(ops, "conv2d_forward: bias shape", ValueError, r"\bbias\b.*\(2,\)", lambda: _conv(f32(1, 1, 4, 4), f32(2, 1, 3, 3), bias=f32(3)))
case(ops, "conv2d_forward: bias a list", TypeError, r"\bbias\b", lambda: _conv(f32(1, 1, 4, 4), f32(2, 1, 3, 3), bias=[0.0, 0.0]))
_wino = _ops.conv2d_winograd
case(ops, "conv2d_winograd: 5 x 5 weight", ValueError, r"\bweight\b.*3 x 3", lambda: _wino(f32(1, 1, 6, 6), f32(1, 1, 5, 5)))
case(ops, "conv2d_winograd: 3-D x", ValueError, r"\bx\b.*4-D", lambda: _wino(f32(1, 4, 4), f32(1, 1, 3, 3)))
case(ops, "conv2d_winograd: weight dtype", TypeError, r"\bweight\b.*float32", lambda: _wino(f32(1, 1, 4, 4), f64(1, 1, 3, 3)))
case(ops, "conv2d_winograd: weight channels", ValueError, r"\bweight\b.*input channels", lambda: _wino(f32(1, 2, 4, 4), f32(1, 3, 3, 3)))
case(ops, "conv2d_winograd: padding -1", ValueError, r"\bpadding\b", lambda: _wino(f32(1, 1, 4, 4), f32(1, 1, 3, 3), -1))
case(ops, "conv2d_winograd: bias shape", ValueError, r"\bbias\b.*\(2,\)", lambda: _wino(f32(1, 1, 4, 4), f32(2, 1, 3, 3), 0, f32(3)))
case(ops, "conv2d_winograd: input smaller than the kernel", ValueError, r"conv2d_winograd: .*smaller than the dilated kernel", lambda: _wino(f32(1, 1, 2, 2), f32(1, 1, 3, 3)))
_winow = _ops.conv2d_winograd_backward_weight
case(ops, "conv2d_winograd_backward_weight: 3-D x", ValueError, r"\bx\b.*4-D", lambda: _winow(f32(1, 1, 2, 2), f32(1, 4, 4)))
case(ops, "conv2d_winograd_backward_weight: grad_out shape", ValueError, r"grad_out.*shape", lambda: _winow(f32(1, 1, 3, 3), f32(1, 1, 4, 4)))
case(ops, "conv2d_winograd_backward_weight: grad_out 2-D", ValueError, r"grad_out.*shape", lambda: _winow(f32(2, 2), f32(1, 1, 4, 4)))
case(ops, "conv2d_winograd_backward_weight: grad_out dtype", TypeError, r"grad_out.*float32", lambda: _winow(f64(1, 1, 2, 2), f32(1, 1, 4, 4)))
case(ops, "conv2d_winograd_backward_weight: padding -1", ValueError, r"\bpadding\b", lambda: _winow(f32(1, 1, 2, 2), f32(1, 1, 4, 4), -1))
case(ops, "conv2d_winograd_backward_weight: grad_bias int", TypeError, r"\bgrad_bias\b", lambda: _winow(f32(1, 1, 2, 2), f32(1, 1, 4, 4), 0, 1))
case(ops, "conv2d_winograd_backward_weight: input smaller than the kernel", ValueError, r"conv2d_winograd_backward_weight: .*smaller than the dilated kernel", lambda: _winow(f32(1, 1, 1, 1), f32(1, 1, 2, 2)))
_convx = _ops.conv2d_backward_input
case(ops, "conv2d_backward_input: grad_out shape", ValueError, r"grad_out.*shape", lambda: _convx(f32(1, 1, 3, 3), f32(1, 1, 3, 3), (1, 1, 4, 4)))
case(ops, "conv2d_backward_input: grad_out dtype", TypeError, r"grad_out.*float32", lambda: _convx(f64(1, 1, 2, 2), f32(1, 1, 3, 3), (1, 1, 4, 4)))
case(ops, "conv2d_backward_input: weight 3-D", ValueError, r"\bweight\b.*4-D", lambda: _convx(f32(1, 1, 2, 2), f32(1, 3, 3), (1, 1, 4, 4)))
case(ops, "conv2d_backward_input: weight channels", ValueError, r"\bweight\b.*input channels", lambda: _convx(f32(1, 1, 2, 2), f32(1, 1, 3, 3), (1, 2, 4, 4)))
case(ops, "conv2d_backward_input: input_shape 3 ints", TypeError, r"input_shape", lambda: _convx(f32(1, 1, 2, 2), f32(1, 1, 3, 3), (1, 4, 4)))
case(ops, "conv2d_backward_input: input_shape negative", ValueError, r"input_shape", lambda: _convx(f32(1, 1, 2, 2), f32(1, 1, 3, 3), (1, 1, -4, 4)))
case(ops, "conv2d_backward_input: plane of 2**31 pixels", ValueError, r"input_shape.*2\*\*31", lambda: _convx(f32(1, 1, 1, 1), f32(1, 1, 1, 1), (1, 1, 2**16, 2**15)))
case(ops, "conv2d_backward_input: groups 0", ValueError, r"\bgroups\b", lambda: _convx(f32(1, 2, 2, 2), f32(2, 1, 3, 3), (1, 2, 4, 4), groups=0))
case(ops, "conv2d_backward_input: stride 0", ValueError, r"\bstride\b", lambda: _convx(f32(1, 1, 2, 2), f32(1, 1, 3, 3), (1, 1, 4, 4), stride=0))
case(ops, "conv2d_backward_input: kernel larger than input", ValueError, r"^conv2d_backward_input: .*smaller than the dilated kernel.*weight's kernel", lambda: _convx(f32(1, 1, 1, 1), f32(1, 1, 5, 5), (1, 1, 4, 4)))
case(ops, "conv2d_backward_weight: grad_bias 1", TypeError, r"grad_bias", lambda: _convw(f32(1, 1, 2, 2), f32(1, 1, 4, 4), (1, 1, 3, 3), grad_bias=1))
case(ops, "max_pool2d_forward: padding > k/2", ValueError, r"padding should be at most half", lambda: _ops.max_pool2d_forward(f32(1, 1, 8, 8), 2, padding=2))
case(ops, "max_pool2d_forward: kernel_size 0", ValueError, r"kernel_size", lambda: _ops.max_pool2d_forward(f32(1, 1, 8, 8), 0))
case(ops, "max_pool2d_forward: stride 0", ValueError, r"stride", lambda: _ops.max_pool2d_forward(f32(1, 1, 8, 8), 2, stride=0))
case(ops, "max_pool2d_forward: stride -2", ValueError, r"stride", lambda: _ops.max_pool2d_forward(f32(1, 1, 8, 8), 2, stride=-2))
case(ops, "max_pool2d_forward: dilation 0", ValueError, r"dilation", lambda: _ops.max_pool2d_forward(f32(1, 1, 8, 8), 2, dilation=0))
case(ops, "max_pool2d_forward: input too small", ValueError, r"too small for kernel_size", lambda: _ops.max_pool2d_forward(f32(1, 1, 2, 2), 3))
case(ops, "max_pool2d_forward: 2-D x", ValueError, r"\bx\b", lambda: _ops.max_pool2d_forward(f32(8, 8), 2))
case(ops, "max_pool2d_forward: int x", TypeError, r"\bx\b", lambda: _ops.max_pool2d_forward(i64(1, 1, 8, 8), 2))
case(ops, "max_pool2d_backward: indices out of range", ValueError, r"indices", lambda: _ops.max_pool2d_backward(f32(1, 1, 2, 2), np.full((1, 1, 2, 2), 99), (1, 1, 4, 4)))
case(ops, "max_pool2d_backward: negative indices", ValueError, r"indices", lambda: _ops.max_pool2d_backward(f32(1, 1, 2, 2), np.full((1, 1, 2, 2), -1), (1, 1, 4, 4)))
case(ops, "max_pool2d_backward: indices int32", TypeError, r"indices.*int64", lambda: _ops.max_pool2d_backward(f32(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.int32), (1, 1, 4, 4)))
case(ops, "max_pool2d_backward: indices shape", TypeError, r"indices", lambda: _ops.max_pool2d_backward(f32(1, 1, 2, 2), np.zeros((1, 1, 2, 3), np.int64), (1, 1, 4, 4)))
case(ops, "max_pool2d_backward: grad_out channels", ValueError, r"grad_out", lambda: _ops.max_pool2d_backward(f32(1, 2, 2, 2), np.zeros((1, 2, 2, 2), np.int64), (1, 1, 4, 4)))
case(ops, "max_pool2d_backward: input_shape", TypeError, r"input_shape", lambda: _ops.max_pool2d_backward(f32(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.int64), (1, 4, 4)))
case(ops, "avg_pool2d_forward: padding > k/2", ValueError, r"padding", lambda: _ops.avg_pool2d_forward(f32(1, 1, 8, 8), 3, padding=2))
case(ops, "avg_pool2d_forward: divisor_override 0", ValueError, r"divisor_override", lambda: _ops.avg_pool2d_forward(f32(1, 1, 8, 8), 2, divisor_override=0))
case(ops, "avg_pool2d_forward: divisor_override float", TypeError, r"divisor_override", lambda: _ops.avg_pool2d_forward(f32(1, 1, 8, 8), 2, divisor_override=1.5))
case(ops, "avg_pool2d_forward: kernel_size -1", ValueError, r"kernel_size", lambda: _ops.avg_pool2d_forward(f32(1, 1, 8, 8), -1))
case(ops, "avg_pool2d_backward: grad_out shape", ValueError, r"grad_out", lambda: _ops.avg_pool2d_backward(f32(1, 1, 3, 3), (1, 1, 8, 8), 2))
case(ops, "avg_pool2d_backward: mixed input_shape", TypeError, r"input_shape", lambda: _ops.avg_pool2d_backward(f32(1, 1, 4, 4), (1, 1, 8.0, 8), 2))
case(ops, "batch_norm_forward_train: 4-D x", ValueError, r"\bx\b", lambda: _ops.batch_norm_forward_train(f32(2, 3, 4, 4), None, None, 1e-5))
case(ops, "batch_norm_forward_train: empty x", ValueError, r"\bx\b.*at least one value", lambda: _ops.batch_norm_forward_train(f32(0, 3), None, None, 1e-5))
case(ops, "batch_norm_forward_train: weight shape", ValueError, r"weight.*\(3,\)", lambda: _ops.batch_norm_forward_train(f32(4, 3), f32(4), None, 1e-5))
case(ops, "batch_norm_forward_train: weight dtype", TypeError, r"weight.*float32", lambda: _ops.batch_norm_forward_train(f32(4, 3), f64(3), None, 1e-5))
case(ops, "batch_norm_forward_train: bias shape", ValueError, r"bias", lambda: _ops.batch_norm_forward_train(f32(4, 3), None, f32(3, 1), 1e-5))
case(ops, "batch_norm_forward_train: eps < 0", ValueError, r"eps", lambda: _ops.batch_norm_forward_train(f32(4, 3), None, None, -1.0))
case(ops, "batch_norm_forward_train: eps nan", ValueError, r"eps", lambda: _ops.batch_norm_forward_train(f32(4, 3), None, None, float("nan")))
case(ops, "batch_norm_forward_train: eps str", ValueError, r"eps", lambda: _ops.batch_norm_forward_train(f32(4, 3), None, None, "1e-5"))
case(ops, "batch_norm_forward_eval: weight shape", ValueError, r"weight", lambda: _ops.batch_norm_forward_eval(f32(4, 3), f32(2), None, f32(3), f32(3), 1e-5))
case(ops, "batch_norm_forward_eval: running_mean None", TypeError, r"running_mean", lambda: _ops.batch_norm_forward_eval(f32(4, 3), None, None, None, f32(3), 1e-5))
case(ops, "batch_norm_forward_eval: running_var dtype", TypeError, r"running_var", lambda: _ops.batch_norm_forward_eval(f32(4, 3), None, None, f32(3), f64(3), 1e-5))
case(ops, "batch_norm_backward: grad_out shape", ValueError, r"grad_out", lambda: _ops.batch_norm_backward(f32(4, 2), f32(4, 3), f32(3), f32(3), None))
case(ops, "batch_norm_backward: mean shape", ValueError, r"mean", lambda: _ops.batch_norm_backward(f32(4, 3), f32(4, 3), f32(4), f32(3), None))
case(ops, "batch_norm_backward: inv_std dtype", TypeError, r"inv_std", lambda: _ops.batch_norm_backward(f32(4, 3), f32(4, 3), f32(3), f64(3), None))
case(ops, "sgd_step: grad shape", ValueError, r"grad.*shape", lambda: _ops.sgd_step(f32(3), f32(4), None, 0.1))
case(ops, "sgd_step: grad dtype", TypeError, r"grad", lambda: _ops.sgd_step(f32(3), f64(3), None, 0.1))
case(ops, "sgd_step: param read-only", ValueError, r"param.*writeable", lambda: _ops.sgd_step(readonly(f32(3)), f32(3), None, 0.1))
case(ops, "sgd_step: param int", TypeError, r"param", lambda: _ops.sgd_step(i64(3), i64(3), None, 0.1))
case(ops, "sgd_step: momentum_buffer missing", ValueError, r"momentum_buffer", lambda: _ops.sgd_step(f32(3), f32(3), None, 0.1, momentum=0.9))
case(ops, "sgd_step: momentum_buffer shape", ValueError, r"momentum_buffer", lambda: _ops.sgd_step(f32(3), f32(3), f32(2), 0.1, momentum=0.9))
case(ops, "adam_step: step 0", ValueError, r"step", lambda: _ops.adam_step(f32(3), f32(3), f32(3), f32(3), None, 1e-3, 0.9, 0.999, 1e-8, 0, 0))
case(ops, "adam_step: exp_avg shape", ValueError, r"exp_avg", lambda: _ops.adam_step(f32(3), f32(3), f32(2), f32(3), None, 1e-3, 0.9, 0.999, 1e-8, 0, 1))
case(ops, "adam_step: exp_avg_sq dtype", TypeError, r"exp_avg_sq", lambda: _ops.adam_step(f32(3), f32(3), f32(3), f64(3), None, 1e-3, 0.9, 0.999, 1e-8, 0, 1))
case(ops, "adam_step: amsgrad without state", ValueError, r"max_exp_avg_sq", lambda: _ops.adam_step(f32(3), f32(3), f32(3), f32(3), None, 1e-3, 0.9, 0.999, 1e-8, 0, 1, amsgrad=True))
case(ops, "adam_step: beta1 = 1", ValueError, r"beta1", lambda: _ops.adam_step(f32(3), f32(3), f32(3), f32(3), None, 1e-3, 1.0, 0.999, 1e-8, 0, 1))
case(ops, "adam_step: param list", TypeError, r"param", lambda: _ops.adam_step([1.0], f32(1), f32(1), f32(1), None, 1e-3, 0.9, 0.999, 1e-8, 0, 1))

# ---------------------------------------------------------------- functional ops on Tensors
fn = "functional"
x4 = lambda *s: T(np.ones(s, np.float32))  # noqa: E731
case(fn, "linear: shapes", RuntimeError, r"mat1 and mat2 shapes", lambda: F.linear(x4(2, 3), x4(4, 5)))
case(fn, "linear: mixed dtypes", RuntimeError, r"same dtype", lambda: F.linear(x4(2, 3), T(f64(4, 3))))
case(fn, "linear: 1-D weight", RuntimeError, r"weight", lambda: F.linear(x4(2, 3), x4(3)))
case(fn, "linear: bias shape", RuntimeError, r"bias", lambda: F.linear(x4(2, 3), x4(4, 3), x4(3)))
case(fn, "linear: bias dtype", RuntimeError, r"bias", lambda: F.linear(x4(2, 3), x4(4, 3), T(f64(4))))
case(fn, "linear: int input", RuntimeError, r"input", lambda: F.linear(T(i64(2, 3)), T(i64(4, 3))))
case(fn, "linear: 0-d input", RuntimeError, r"mat1 and mat2", lambda: F.linear(T(np.float32(1)), x4(4, 3)))
case(fn, "matmul: shapes", RuntimeError, r"cannot be multiplied", lambda: F.matmul(x4(2, 3), x4(2, 3)))
case(fn, "matmul: 0-d", RuntimeError, r"at least 1D", lambda: F.matmul(x4(3), T(np.float32(2))))
case(fn, "matmul: mixed dtypes", RuntimeError, r"same dtype", lambda: F.matmul(x4(2, 3), T(f64(3, 2))))
case(fn, "matmul: batch dims", RuntimeError, r"must match the size", lambda: F.matmul(x4(2, 2, 3), x4(3, 3, 2)))
case(fn, "conv2d: 3-D weight", RuntimeError, r"weight", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 3, 3)))
case(fn, "conv2d: 2-D input", RuntimeError, r"input", lambda: F.conv2d(x4(5, 5), x4(1, 1, 3, 3)))
case(fn, "conv2d: groups 0", RuntimeError, r"groups", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), groups=0))
case(fn, "conv2d: groups not dividing", RuntimeError, r"groups", lambda: F.conv2d(x4(1, 4, 5, 5), x4(3, 2, 3, 3), groups=2))
case(fn, "conv2d: stride 0", RuntimeError, r"stride", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), stride=0))
case(fn, "conv2d: stride -1", RuntimeError, r"stride", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), stride=(1, -1)))
case(fn, "conv2d: stride float", TypeError, r"stride", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), stride=1.5))
case(fn, "conv2d: dilation 0", RuntimeError, r"dilation", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), dilation=0))
case(fn, "conv2d: padding -1", RuntimeError, r"padding", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding=-1))
case(fn, "conv2d: padding 'full'", ValueError, r"padding", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), padding="full"))
case(fn, "conv2d: 'same' with stride 2", RuntimeError, r"padding='same'", lambda: F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), stride=2, padding="same"))
case(fn, "conv2d: channels", RuntimeError, r"channels", lambda: F.conv2d(x4(1, 2, 5, 5), x4(1, 1, 3, 3)))
case(fn, "conv2d: bias shape", RuntimeError, r"bias", lambda: F.conv2d(x4(1, 1, 5, 5), x4(2, 1, 3, 3), x4(3)))
case(fn, "conv2d: mixed dtypes", RuntimeError, r"dtype", lambda: F.conv2d(x4(1, 1, 5, 5), T(f64(1, 1, 3, 3))))
case(fn, "conv2d: int input", RuntimeError, r"dtype", lambda: F.conv2d(T(i64(1, 1, 5, 5)), T(i64(1, 1, 3, 3))))
case(fn, "conv2d: kernel larger than input", RuntimeError, r"Kernel size can't be greater", lambda: F.conv2d(x4(1, 1, 2, 2), x4(1, 1, 3, 3)))
case(fn, "conv2d: zero-size spatial", RuntimeError, r"Kernel size", lambda: F.conv2d(x4(1, 1, 0, 5), x4(1, 1, 1, 1)))
case(fn, "conv1d: 4-D weight", RuntimeError, r"weight", lambda: F.conv1d(x4(1, 1, 5), x4(1, 1, 3, 3)))
case(fn, "conv1d: 4-D input", RuntimeError, r"input", lambda: F.conv1d(x4(1, 1, 5, 5), x4(1, 1, 3)))
case(fn, "conv1d: stride 0", RuntimeError, r"stride", lambda: F.conv1d(x4(1, 1, 5), x4(1, 1, 3), stride=0))
case(fn, "conv1d: padding -2", RuntimeError, r"padding", lambda: F.conv1d(x4(1, 1, 5), x4(1, 1, 3), padding=-2))
case(fn, "conv1d: kernel larger than input", RuntimeError, r"Kernel size", lambda: F.conv1d(x4(1, 1, 2), x4(1, 1, 3)))
case(fn, "conv1d: stride pair", TypeError, r"stride", lambda: F.conv1d(x4(1, 1, 5), x4(1, 1, 3), stride=(1, 1)))
case(fn, "max_pool2d: 2-D input", RuntimeError, r"input", lambda: F.max_pool2d(x4(4, 4), 2))
case(fn, "max_pool2d: int input", RuntimeError, r"input", lambda: F.max_pool2d(T(i64(1, 1, 4, 4)), 2))
case(fn, "max_pool2d: kernel_size 0", ValueError, r"kernel_size", lambda: F.max_pool2d(x4(1, 1, 4, 4), 0))
case(fn, "max_pool2d: padding > k/2", ValueError, r"padding should be at most half", lambda: F.max_pool2d(x4(1, 1, 4, 4), 2, padding=2))
case(fn, "max_pool2d: stride 0", ValueError, r"stride", lambda: F.max_pool2d(x4(1, 1, 4, 4), 2, stride=0))
case(fn, "max_pool2d: dilation -1", ValueError, r"dilation", lambda: F.max_pool2d(x4(1, 1, 4, 4), 2, dilation=-1))
case(fn, "max_pool2d: kernel larger than input", ValueError, r"too small", lambda: F.max_pool2d(x4(1, 1, 2, 2), 3))
case(fn, "max_pool2d: zero-size spatial", ValueError, r"too small", lambda: F.max_pool2d(x4(1, 1, 0, 4), 1))
case(fn, "avg_pool2d: padding > k/2", ValueError, r"padding", lambda: F.avg_pool2d(x4(1, 1, 4, 4), 2, padding=2))
case(fn, "avg_pool2d: kernel_size -2", ValueError, r"kernel_size", lambda: F.avg_pool2d(x4(1, 1, 4, 4), -2))
case(fn, "avg_pool2d: divisor_override 0", ValueError, r"divisor_override", lambda: F.avg_pool2d(x4(1, 1, 4, 4), 2, divisor_override=0))
case(fn, "adaptive_avg_pool2d: output_size 0", RuntimeError, r"output_size", lambda: F.adaptive_avg_pool2d(x4(1, 1, 4, 4), 0))
case(fn, "adaptive_avg_pool2d: 2-D input", RuntimeError, r"input", lambda: F.adaptive_avg_pool2d(x4(4, 4), 2))
case(fn, "batch_norm: 1-D input", ValueError, r"input", lambda: F.batch_norm(x4(4), None, None, training=True))
case(fn, "batch_norm: not a Tensor", TypeError, r"input", lambda: F.batch_norm(f32(4, 3), None, None, training=True))
case(fn, "batch_norm: running_mean shape", ValueError, r"running_mean", lambda: F.batch_norm(x4(4, 3), x4(2), x4(3), training=True))
case(fn, "batch_norm: running_var array", TypeError, r"running_var", lambda: F.batch_norm(x4(4, 3), x4(3), f32(3)))
case(fn, "batch_norm: eval without stats", ValueError, r"running_mean", lambda: F.batch_norm(x4(4, 3), None, None, training=False))
case(fn, "batch_norm: one value per channel", ValueError, r"more than 1 value per channel", lambda: F.batch_norm(x4(1, 3), None, None, training=True))
case(fn, "batch_norm: weight shape", ValueError, r"weight", lambda: F.batch_norm(x4(4, 3), None, None, x4(2), training=True))
case(fn, "batch_norm: eps < 0", ValueError, r"eps", lambda: F.batch_norm(x4(4, 3), None, None, training=True, eps=-1))
case(fn, "batch_norm: int input", TypeError, r"input|\bx\b", lambda: F.batch_norm(T(i64(4, 3)), None, None, training=True))
case(fn, "batch_norm: empty batch", ValueError, r"value per channel|at least one value", lambda: F.batch_norm(x4(0, 3), None, None, training=True))
case(fn, "dropout: p < 0", ValueError, r"probability", lambda: F.dropout(x4(3), p=-0.1))
case(fn, "dropout: p > 1", ValueError, r"probability", lambda: F.dropout(x4(3), p=1.5))
case(fn, "dropout: p nan", ValueError, r"probability", lambda: F.dropout(x4(3), p=float("nan")))
case(fn, "dropout: p str", TypeError, r"\bp\b", lambda: F.dropout(x4(3), p="0.5"))
case(fn, "dropout: int input", TypeError, r"input", lambda: F.dropout(T(i64(3)), p=0.5))
case(fn, "dropout: array input", TypeError, r"input", lambda: F.dropout(f32(3), p=0.5))
case(fn, "dropout2d: 2-D input", ValueError, r"input", lambda: F.dropout2d(x4(3, 3), p=0.5))
case(fn, "relu: int tensor", TypeError, r"\bx\b", lambda: F.relu(T(i64(3))))
case(fn, "cross_entropy: target out of range", IndexError, r"Target 5 is out of bounds", lambda: F.cross_entropy(x4(2, 3), T(np.array([0, 5]))))
case(fn, "cross_entropy: negative target", IndexError, r"Target -2", lambda: F.cross_entropy(x4(2, 3), T(np.array([0, -2]))))
case(fn, "cross_entropy: batch mismatch", ValueError, r"batch_size", lambda: F.cross_entropy(x4(2, 3), T(np.array([0, 1, 2]))))
case(fn, "cross_entropy: prob target shape", ValueError, r"target", lambda: F.cross_entropy(x4(2, 3), x4(2, 4)))
case(fn, "cross_entropy: weight shape", ValueError, r"weight", lambda: F.cross_entropy(x4(2, 3), T(np.array([0, 1])), weight=x4(4)))
case(fn, "cross_entropy: reduction", ValueError, r"reduction", lambda: F.cross_entropy(x4(2, 3), T(np.array([0, 1])), reduction="avg"))
case(fn, "cross_entropy: label_smoothing 2", ValueError, r"label_smoothing", lambda: F.cross_entropy(x4(2, 3), T(np.array([0, 1])), label_smoothing=2.0))
case(fn, "cross_entropy: int input", TypeError, r"input|floating", lambda: F.cross_entropy(T(i64(2, 3)), T(np.array([0, 1]))))
case(fn, "cross_entropy: 2-D target", ValueError, r"target", lambda: F.cross_entropy(x4(2, 3), T(np.zeros((2, 2), np.int64))))
case(fn, "nll_loss: target out of range", IndexError, r"Target 3", lambda: F.nll_loss(x4(2, 3), T(np.array([3, 0]))))

# ---------------------------------------------------------------- modules
mod = "nn"
case(mod, "Linear: wrong in_features", RuntimeError, r"mat1 and mat2", lambda: nn.Linear(4, 3)(x4(2, 5)))
case(mod, "Linear: negative size", (ValueError, RuntimeError), r"negative|out_features|in_features", lambda: nn.Linear(4, -3))
case(mod, "Conv2d: groups 0", ValueError, r"groups", lambda: nn.Conv2d(2, 4, 3, groups=0))
case(mod, "Conv2d: in_channels % groups", ValueError, r"in_channels", lambda: nn.Conv2d(3, 4, 3, groups=2))
case(mod, "Conv2d: padding string", ValueError, r"padding", lambda: nn.Conv2d(1, 1, 3, padding="full"))
case(mod, "Conv2d: padding_mode", NotImplementedError, r"padding_mode", lambda: nn.Conv2d(1, 1, 3, padding_mode="reflect"))
case(mod, "Conv2d: wrong channels", RuntimeError, r"channels", lambda: nn.Conv2d(3, 4, 3)(x4(1, 2, 5, 5)))
case(mod, "Conv2d: stride 0 at call", RuntimeError, r"stride", lambda: nn.Conv2d(1, 1, 3, stride=0)(x4(1, 1, 5, 5)))
case(mod, "Conv2d: float64 input to float32 layer", RuntimeError, r"dtype", lambda: nn.Conv2d(1, 1, 3)(T(f64(1, 1, 5, 5))))
case(mod, "Conv1d: 2-D kernel tuple", RuntimeError, r"weight", lambda: nn.Conv1d(1, 1, (3, 3))(x4(1, 1, 5)))
case(mod, "MaxPool2d: padding > k/2", ValueError, r"padding", lambda: nn.MaxPool2d(2, padding=2)(x4(1, 1, 4, 4)))
case(mod, "AvgPool2d: kernel 0", ValueError, r"kernel_size", lambda: nn.AvgPool2d(0)(x4(1, 1, 4, 4)))
case(mod, "BatchNorm2d: 3-D input", ValueError, r"4D input|input", lambda: nn.BatchNorm2d(3)(x4(3, 4, 4)))
case(mod, "BatchNorm1d: wrong channels", ValueError, r"running_mean|channels|shape", lambda: nn.BatchNorm1d(3)(x4(4, 5)))
case(mod, "BatchNorm1d: batch of 1", ValueError, r"more than 1 value per channel", lambda: nn.BatchNorm1d(3)(x4(1, 3)))
case(mod, "Dropout: p 1.5", ValueError, r"probability", lambda: nn.Dropout(1.5))
case(mod, "CrossEntropyLoss: reduction", ValueError, r"reduction", lambda: nn.CrossEntropyLoss(reduction="avg")(x4(2, 3), T(np.array([0, 1]))))

# ---------------------------------------------------------------- optimizers
opt = "optim"


def _param(*shape):
    return nn.Parameter(minigrad.tensor(np.ones(shape, np.float32)))


def _step_with(grad_data, cls=optim.SGD, frozen=False, **kw):
    p = nn.Parameter(minigrad.tensor(np.ones(3, np.float32)))
    p.data.flags.writeable = not frozen
    o = cls([p], lr=0.1, **kw)
    p.grad = minigrad.tensor(grad_data)
    o.step()


case(opt, "SGD: lr < 0", ValueError, r"learning rate", lambda: optim.SGD([_param(3)], lr=-1))
case(opt, "SGD: nesterov without momentum", ValueError, r"[Nn]esterov", lambda: optim.SGD([_param(3)], lr=0.1, nesterov=True))
case(opt, "SGD: empty parameter list", ValueError, r"empty parameter list", lambda: optim.SGD([], lr=0.1))
case(opt, "SGD: array as parameter", TypeError, r"Tensors", lambda: optim.SGD([f32(3)], lr=0.1))
case(opt, "Adam: beta1 = 1", ValueError, r"beta", lambda: optim.Adam([_param(3)], betas=(1.0, 0.9)))
case(opt, "Adam: eps < 0", ValueError, r"epsilon", lambda: optim.Adam([_param(3)], eps=-1e-8))
case(opt, "SGD step: grad shape", (ValueError, RuntimeError), r"grad", lambda: _step_with(np.ones(4, np.float32)))
case(opt, "SGD step: grad dtype", (TypeError, RuntimeError), r"grad|dtype", lambda: _step_with(np.ones(3, np.float64), momentum=0.9))
case(opt, "Adam step: grad shape", (ValueError, RuntimeError), r"grad", lambda: _step_with(np.ones((3, 1), np.float32), optim.Adam))
case(opt, "Adam step: read-only param", ValueError, r"param.*writeable", lambda: _step_with(np.ones(3, np.float32), optim.Adam, frozen=True))

# ---------------------------------------------------------------- corrupted checkpoints
load = "load"
_tmp = tempfile.mkdtemp(prefix="minigrad-crash-")


def _good_checkpoint():
    path = os.path.join(_tmp, "good.safetensors")
    if not os.path.exists(path):
        model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
        minigrad.save({"model": model.state_dict(), "step": 7}, path)
    with open(path, "rb") as f:
        return f.read()


def _load_bytes(data):
    path = os.path.join(_tmp, "bad.safetensors")
    with open(path, "wb") as f:
        f.write(data)
    return minigrad.load(path)


def _with_header(header, body=b""):
    """A safetensors file with the given JSON header (8-byte little-endian length + JSON + data)."""
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


def _rewrite_meta(edit):
    """The good checkpoint with its minigrad metadata (JSON inside the header) edited by ``edit``."""
    data = _good_checkpoint()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["minigrad"])
    edit(meta)
    header["__metadata__"]["minigrad"] = json.dumps(meta)
    return _with_header(header, data[8 + n:])


_BAD = r"bad\.safetensors"
for cut in (0, 3, 8, 20, 100, -50, -1):
    case(load, f"truncated at {cut}", ValueError, _BAD, lambda cut=cut: _load_bytes(_good_checkpoint()[:cut]))
case(load, "flipped data byte (CRC)", ValueError, r"checksum mismatch", lambda: _load_bytes(_good_checkpoint()[:-3] + bytes([_good_checkpoint()[-3] ^ 0xFF]) + _good_checkpoint()[-2:]))
case(load, "header length 2**60", ValueError, _BAD, lambda: _load_bytes(struct.pack("<Q", 2**60) + b"{}"))
case(load, "header not JSON", ValueError, _BAD, lambda: _load_bytes(struct.pack("<Q", 10) + b"not json!!"))
case(load, "offsets beyond the file", ValueError, _BAD, lambda: _load_bytes(_with_header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]}}, b"\0" * 16)))
case(load, "shape does not match offsets", ValueError, _BAD, lambda: _load_bytes(_with_header({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 16]}}, b"\0" * 16)))
case(load, "negative shape", ValueError, _BAD, lambda: _load_bytes(_with_header({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, b"\0" * 16)))
case(load, "unknown dtype", ValueError, _BAD, lambda: _load_bytes(_with_header({"w": {"dtype": "Q99", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16)))
case(load, "metadata not JSON", ValueError, r"corrupted minigrad metadata", lambda: _load_bytes(_with_header({"__metadata__": {"minigrad": "{oops"}})))
case(load, "metadata without crc32", ValueError, r"corrupted minigrad metadata", lambda: _load_bytes(_rewrite_meta(lambda m: m.pop("crc32"))))
case(load, "crc32 entry missing", ValueError, r"do not match its metadata", lambda: _load_bytes(_rewrite_meta(lambda m: m["crc32"].popitem())))
case(load, "tree points at a missing array", ValueError, r"corrupted", lambda: _load_bytes(_rewrite_meta(lambda m: m.update(tree={"tensor": "nope"}))))
case(load, "tree with an unknown kind", ValueError, r"corrupted minigrad metadata", lambda: _load_bytes(_rewrite_meta(lambda m: m.update(tree={"pickle": "x"}))))
case(load, "tree is a list", ValueError, r"corrupted minigrad metadata", lambda: _load_bytes(_rewrite_meta(lambda m: m.update(tree=[1, 2]))))
case(load, "a directory", (ValueError, IsADirectoryError), r"minigrad-crash-", lambda: minigrad.load(_tmp))
case(load, "missing file", FileNotFoundError, r"missing\.safetensors", lambda: minigrad.load(os.path.join(_tmp, "missing.safetensors")))


# ---------------------------------------------------------------- child process
def groups():
    return sorted({c[0] for c in CASES})


def run(group, start):
    """Run ``group``'s cases from index ``start``; one JSON line per case on stdout."""
    cases = [c for c in CASES if c[0] == group]
    print(json.dumps({"header": True, "total": len(cases), "minigrad": minigrad.__file__,
                      "backend": _ops.get_backend()}), flush=True)
    for i in range(start, len(cases)):
        _, name, call, exc, match = cases[i]
        result = {"index": i, "name": name}
        try:
            call()
        except BaseException as e:  # noqa: B036 - a panic from a Rust extension is a BaseException
            result.update(raised=type(e).__name__, message=str(e)[:500],
                          expected=isinstance(e, exc), matched=bool(__import__("re").search(match, str(e))))
        else:
            result.update(raised=None, expected=False, matched=False)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))

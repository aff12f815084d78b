"""The conv ladder (benchmarks/conv_ladder.py): its explicit im2col + GEMM step computes the same
convolution as the book's conv and as minigrad's implicit GEMM, on the configurations of the book
conv's test. No timing is asserted (shared machines)."""
import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

import minigrad  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from benchmarks import book_conv, conv_ladder  # noqa: E402
from tests.benchmarks.test_book_conv import CONFIGS, inputs  # noqa: E402


@pytest.mark.parametrize("cfg", CONFIGS)
def test_im2col_step_matches_the_book_and_the_implicit_gemm(cfg):
    x, weight, bias, grad_y, stride, pad = inputs(cfg, np.float64)
    got = conv_ladder.im2col_step(x, weight, bias, stride, pad, grad_y)
    want = book_conv.conv_step(x, weight, bias, stride, pad, grad_y)
    xt, wt, bt = (minigrad.tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    y.backward(minigrad.tensor(grad_y))
    implicit = (y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy())
    for name, a, b, c in zip(("y", "dx", "dW", "db"), got, want, implicit):
        np.testing.assert_allclose(np.reshape(a, np.shape(b)), b, rtol=1e-10, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(c, b, rtol=1e-10, atol=1e-10, err_msg=name)

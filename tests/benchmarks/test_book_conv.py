"""The book's conv baseline (benchmarks/book_conv.py) is a correct convolution, checked against
PyTorch 2.13 in float64, keeps the book's float32 → float64 upcast, and is timed in the conv section
next to minigrad. No timing is asserted (shared machines)."""
import os
import sys

import numpy as np
import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:  # the `benchmarks` package lives at the repo root, next to `minigrad`
    sys.path.insert(0, REPO)

from benchmarks import book_conv, conv, harness  # noqa: E402

# (N, Cin, H, W, Cout, KH, KW, stride, pad): odd and non-square inputs, batch 1, Cin 1 and 3,
# stride 1/2/3 (including sizes where stride does not divide H + 2·pad − KH), pad 0/1/2, 1×1 and
# non-square kernels, a kernel as large as the padded input.
CONFIGS = [
    (2, 3, 7, 9, 4, 3, 3, 1, 1),
    (1, 1, 8, 8, 2, 5, 5, 1, 0),
    (3, 3, 11, 6, 5, 3, 2, 2, 0),
    (2, 1, 10, 13, 3, 3, 3, 2, 1),
    (1, 3, 5, 7, 2, 3, 3, 2, 2),
    (2, 3, 9, 10, 3, 4, 4, 3, 2),
    (1, 1, 6, 5, 1, 1, 1, 1, 0),
    (2, 1, 3, 3, 2, 5, 5, 1, 1),
]


def inputs(cfg, dtype, seed=0):
    n, c, h, w, c_out, kh, kw, stride, pad = cfg
    rng = np.random.default_rng(seed)
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((c_out, c, kh, kw)).astype(dtype)
    bias = rng.standard_normal(c_out).astype(dtype)
    grad_y = rng.standard_normal((n, c_out, oh, ow)).astype(dtype)
    return x, weight, bias, grad_y, stride, pad


def _torch_step(x, weight, bias, grad_y, stride, pad):
    """y, dx, dW, db from torch in float64 (inputs converted exactly)."""
    xt, wt, bt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, weight, bias))
    y = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
    y.backward(torch.tensor(grad_y, dtype=torch.float64))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "N{}C{}_{}x{}_F{}_k{}x{}_s{}_p{}".format(*c))
def test_matches_torch_in_float64(cfg):
    x, weight, bias, grad_y, stride, pad = inputs(cfg, np.float64)
    got = book_conv.conv_step(x, weight, bias, stride, pad, grad_y)
    want = _torch_step(x, weight, bias, grad_y, stride, pad)
    for name, g, w in zip(("y", "dx", "dW", "db"), got, want):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=name)


def test_float32_input_is_upcast_like_the_book():
    cfg = CONFIGS[0]
    x, weight, bias, grad_y, stride, pad = inputs(cfg, np.float32)
    kh, kw = weight.shape[2:]
    col = book_conv.im2col(x, kh, kw, stride, pad)
    assert col.dtype == np.float64
    assert col.shape == (x.shape[0] * 7 * 9, 3 * kh * kw)  # (N·OH·OW, C·KH·KW); pad 1 keeps 7×9
    layer = book_conv.BookConv2d(weight, bias, stride, pad)
    y = layer.forward(x)
    assert layer.col.dtype == np.float64 and y.dtype == np.float64
    dx = layer.backward(grad_y)
    assert dx.dtype == np.float64 and layer.dW.dtype == np.float64
    # the float64 column matrix holds the float32 values exactly: y and dW are float64 products of
    # the same numbers torch multiplies in float64; dx goes through a float32 dout @ W_colᵀ.
    y_t, dx_t, dw_t, db_t = _torch_step(x, weight, bias, grad_y, stride, pad)
    np.testing.assert_allclose(y, y_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.dW, dw_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_t, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.db, db_t, rtol=1e-5, atol=1e-5)


def test_col2im_is_the_adjoint_of_im2col():
    # ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every config, overlapping windows and skipped pixels alike
    rng = np.random.default_rng(1)
    for n, c, h, w, _, kh, kw, stride, pad in CONFIGS:
        x = rng.standard_normal((n, c, h, w))
        col = book_conv.im2col(x, kh, kw, stride, pad)
        other = rng.standard_normal(col.shape)
        back = book_conv.col2im(other, x.shape, kh, kw, stride, pad)
        assert back.shape == x.shape
        np.testing.assert_allclose(np.vdot(col, other), np.vdot(x, back), rtol=1e-12)


def test_conv_section_times_the_book_next_to_minigrad(monkeypatch):
    # Tiny cases and blocks: this checks the plumbing (candidate, column, report), not the figures.
    monkeypatch.setattr(conv, "CONV_CASES", [("t", 2, 3, 9, 9, 4, 3, 2, 1)])
    monkeypatch.setattr(conv, "POOL_SHAPE", (2, 3, 6, 6))
    for key, value in {"reps": 2, "warmup": 0, "gap": 0.0, "target": 0.001}.items():
        monkeypatch.setitem(harness.DEFAULTS, key, value)
    rows = [harness.add_derived(r) for r in conv.run(quick=True)]
    conv_row, pool_row = rows
    assert set(conv_row["candidates"]) == {"minigrad", "numpy-ref", "torch", conv.BOOK}
    assert all(len(c["times"]) == 2 for c in conv_row["candidates"].values())
    assert conv.BOOK in conv_row["ratios"]  # book (numpy) / torch, paired
    assert conv_row["extra"]["book / minigrad"].endswith("×")
    assert harness.paired_ratio(conv_row, conv.BOOK, "minigrad")["median"] > 0  # (the column rounds to 2 digits)
    assert conv.BOOK not in pool_row["candidates"] and "book / minigrad" not in pool_row["extra"]
    table = harness.report._section_table(rows)
    header = table.splitlines()[0]
    assert f"| {conv.BOOK} |" in header and f"| {conv.BOOK} / torch |" in header
    assert "| book / minigrad |" in header

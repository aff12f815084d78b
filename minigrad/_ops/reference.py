"""numpy twins of every compiled kernel: the readable spec and the test oracle.

Same names and signatures as the compiled kernels; ``MINIGRAD_KERNELS=numpy`` runs the whole
package on these. Each function states the math it computes.
"""
import math

import numpy as np

__all__ = ["relu_forward", "relu_backward", "gelu_forward", "gelu_backward", "sigmoid_forward",
           "sigmoid_backward", "tanh_forward", "tanh_backward", "gemm", "matmul",
           "im2col", "col2im", "conv2d_forward", "conv2d_backward_weight", "conv2d_backward_input",
           "conv2d_winograd", "conv2d_winograd_backward_weight",
           "max_pool2d_forward", "max_pool2d_backward",
           "avg_pool2d_forward", "avg_pool2d_backward",
           "batch_norm_forward_train", "batch_norm_forward_eval", "batch_norm_backward",
           "sgd_step", "adam_step"]


# ---------------------------------------------------------------- elementwise

def relu_forward(x):
    """y = max(x, 0), NaN propagating."""
    return np.where(x <= 0, np.zeros((), x.dtype), x)


def relu_backward(grad_out, x):
    """grad_x = 0 where x ≤ 0, else grad_out (so a NaN input passes its gradient, like PyTorch)."""
    return np.where(x <= 0, np.zeros((), x.dtype), grad_out)


# numpy has no erf; Python's math.erf (the C library's) element by element is exact and slow, which
# suits the spec. Computed in float64, in the compiled kernel's order of operations, and rounded once
# to the input dtype.
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _normal_cdf(x64):
    """Φ(x) = (1 + erf(x/√2))/2 in float64."""
    return 0.5 * (1.0 + _erf(x64 * math.sqrt(0.5)))


@np.errstate(invalid="ignore")  # ±inf·0 = NaN as IEEE says, silently, like the compiled kernel
def gelu_forward(x):
    """y = x·Φ(x) (GELU, ``approximate='none'``)."""
    x64 = x.astype(np.float64)
    return (x64 * _normal_cdf(x64)).astype(x.dtype)


@np.errstate(invalid="ignore")
def gelu_backward(grad_out, x):
    """grad_x = grad_out·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π)."""
    x64 = x.astype(np.float64)
    x_pdf = x64 * (1 / math.sqrt(2 * math.pi)) * np.exp(-0.5 * x64 * x64)
    return (grad_out.astype(np.float64) * (_normal_cdf(x64) + x_pdf)).astype(x.dtype)


# Sigmoid and tanh: in float64, rounded once to the dtype (for float32 within an ulp of the exact
# value; the kernels compute in the input dtype, within the registry's ulps= of these). Their
# backward takes the forward's output y, as the autograd Functions save it.

def sigmoid_forward(x):
    """y = 1/(1 + e⁻ˣ), as e/(1 + e) with e = e⁻|ˣ| for x < 0, so exp never overflows."""
    x64 = x.astype(np.float64)
    e = np.exp(-np.abs(x64))
    return np.where(x64 >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sigmoid_backward(grad_out, y):
    """grad_x = grad_out·y·(1 − y)."""
    y64 = y.astype(np.float64)
    return (grad_out.astype(np.float64) * y64 * (1 - y64)).astype(y.dtype)


def tanh_forward(x):
    """y = tanh x."""
    return np.tanh(x.astype(np.float64)).astype(x.dtype)


def tanh_backward(grad_out, y):
    """grad_x = grad_out·(1 − y²), with 1 − y² as (1 − y)(1 + y): exact differences as |y| → 1,
    where 1 − y·y would lose the digits that a float64 y carries."""
    y64 = y.astype(np.float64)
    return (grad_out.astype(np.float64) * (1 - y64) * (1 + y64)).astype(y.dtype)


# ---------------------------------------------------------------- GEMM

def gemm(a, b, alpha=1.0, beta=0.0, out=None, bias=None):
    """C = α·A·B + β·C (+ bias[j] in column j of every row) for 2-D A (M, K), B (K, N), bias (N,);
    transposed operands are passed as views (A.T)."""
    c = alpha * (a @ b)
    if out is None:
        out = c.astype(a.dtype, copy=False)
    elif beta == 0:
        out[...] = c  # BLAS semantics: with β = 0, C is not read (it may hold NaN garbage)
    else:
        out *= beta
        out += c
    if bias is not None:
        out += bias
    return out


def matmul(a, b, out=None):
    """Batched A @ B over the leading dims (numpy broadcasting), both at least 2-D; into out if given."""
    return np.matmul(a, b, out=out)


# ---------------------------------------------------------------- im2col / col2im

def _padded_extent(size, pad, out_size, kernel, stride, dilation):
    """Length of the zero-padded axis that holds every window tap."""
    return max(size + pad, (out_size - 1) * stride + (kernel - 1) * dilation + 1)


def _tap(i, j, stride, dilation, output_size):
    """The strided slices of the padded input read by kernel tap (i, j)."""
    (SH, SW), (DH, DW), (OH, OW) = stride, dilation, output_size
    return (slice(i * DH, i * DH + (OH - 1) * SH + 1, SH), slice(j * DW, j * DW + (OW - 1) * SW + 1, SW))


def im2col(x, kernel_size, stride, padding, dilation, output_size, out):
    """cols[(c, i, j), (n, oh, ow)] = x[n, c, oh·SH + i·DH − PT, ow·SW + j·DW − PL], 0 in the padding.

    ``padding`` is (top, left), ``output_size`` (OH, OW); the bottom/right padding is implied.
    """
    N, C, H, W = x.shape
    (KH, KW), (PT, PL), (OH, OW) = kernel_size, padding, output_size
    xp = np.zeros((N, C, _padded_extent(H, PT, OH, KH, stride[0], dilation[0]),
                   _padded_extent(W, PL, OW, KW, stride[1], dilation[1])), dtype=x.dtype)
    xp[:, :, PT:PT + H, PL:PL + W] = x
    if out is None:
        out = np.empty((C * KH * KW, N * OH * OW), dtype=x.dtype)
    c6 = out.reshape(C, KH, KW, N, OH, OW)
    for i in range(KH):
        for j in range(KW):
            c6[:, i, j] = xp[(slice(None), slice(None)) + _tap(i, j, stride, dilation, output_size)].transpose(1, 0, 2, 3)
    return out


def col2im(cols, input_shape, kernel_size, stride, padding, dilation, output_size, out):
    """The adjoint of im2col: x[n, c, h, w] = Σ of the cols entries that im2col copied from there."""
    N, C, H, W = input_shape
    (KH, KW), (PT, PL), (OH, OW) = kernel_size, padding, output_size
    xp = np.zeros((N, C, _padded_extent(H, PT, OH, KH, stride[0], dilation[0]),
                   _padded_extent(W, PL, OW, KW, stride[1], dilation[1])), dtype=cols.dtype)
    c6 = cols.reshape(C, KH, KW, N, OH, OW)
    for i in range(KH):
        for j in range(KW):
            xp[(slice(None), slice(None)) + _tap(i, j, stride, dilation, output_size)] += c6[:, i, j].transpose(1, 0, 2, 3)
    if out is None:
        out = np.empty(input_shape, dtype=cols.dtype)
    out[...] = xp[:, :, PT:PT + H, PL:PL + W]
    return out


def _group_cols(x, kernel_size, stride, padding, dilation, output_size, groups):
    """im2col of x as (groups, C/groups·KH·KW, N·OH·OW): group g's rows of the column matrix."""
    cols = im2col(x, kernel_size, stride, padding, dilation, output_size, None)
    return cols.reshape(groups, cols.shape[0] // groups, cols.shape[1])


def _group_grad_out(grad_out, groups):
    """grad_out (N, Cout, OH, OW) as (groups, Cout/groups, N·OH·OW): G_g, group g's rows of G."""
    N, Cout, OH, OW = grad_out.shape
    return grad_out.reshape(N, groups, Cout // groups, OH * OW).transpose(1, 2, 0, 3).reshape(
        groups, Cout // groups, N * OH * OW)


def conv2d_forward(x, weight, stride, padding, dilation, output_size, groups, bias=None):
    """y[n, (g, o)] = W_g[o] · cols_g[:, n] (+ b[(g, o)]) per group g: im2col, then one product
    per group."""
    N, Cout = x.shape[0], weight.shape[0]
    cols = _group_cols(x, weight.shape[2:], stride, padding, dilation, output_size, groups)
    y = np.matmul(weight.reshape(groups, Cout // groups, cols.shape[1]), cols)  # (groups, Cout/groups, N·OH·OW)
    y = np.ascontiguousarray(y.reshape(Cout, N, *output_size).transpose(1, 0, 2, 3))
    if bias is not None:
        y += bias[:, None, None]
    return y


def conv2d_backward_weight(grad_out, x, weight_shape, stride, padding, dilation, output_size, groups,
                           grad_bias=False):
    """∂W_g = G_g · cols_gᵀ per group, G_g the group's rows of grad_out as (Cout/groups, N·OH·OW);
    with grad_bias also ∂b = Σ G over samples and pixels."""
    cols = _group_cols(x, weight_shape[2:], stride, padding, dilation, output_size, groups)
    g = _group_grad_out(grad_out, groups)
    gw = np.ascontiguousarray(np.matmul(g, cols.transpose(0, 2, 1)).reshape(weight_shape))
    return (gw, grad_out.sum(axis=(0, 2, 3))) if grad_bias else gw


def conv2d_backward_input(grad_out, weight, input_shape, stride, padding, dilation, output_size, groups):
    """∂x = col2im(W_gᵀ · G_g) per group g, G_g the group's rows of grad_out as (Cout/groups, N·OH·OW)."""
    ckk_g = weight.shape[1] * weight.shape[2] * weight.shape[3]
    g = _group_grad_out(grad_out, groups)
    w = weight.reshape(groups, weight.shape[0] // groups, ckk_g)
    cols = np.matmul(w.transpose(0, 2, 1), g).reshape(groups * ckk_g, g.shape[2])  # groups' rows in turn
    return col2im(cols, input_shape, weight.shape[2:], stride, padding, dilation, output_size, None)


# Winograd F(2×2, 3×3) (Lavin & Gray, 2016): a 2 x 2 output tile of a 3 x 3 stride-1 convolution
# from its 4 x 4 input tile d (tiles step by 2) and the filter g as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, 16
# multiplications instead of 36. Entries 0, ±1, ±½: the transforms add, they do not amplify much
# (error bound: docs/kernels.md, "Winograd F(2×2, 3×3)").
WINOGRAD_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
WINOGRAD_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])


def conv2d_winograd(x, weight, padding, output_size, bias=None):
    """conv2d_forward of x (N, C, H, W) with a 3 x 3 weight (Cout, C, 3, 3) at stride 1, dilation 1,
    one group, by Winograd F(2×2, 3×3): U = G g Gᵀ per (o, c); V = Bᵀ d B per input tile d (4 x 4,
    stride 2, zero outside x) and channel; M_ξ = U_ξ · V_ξ (Cout x C by C x tiles) for each of the
    16 positions ξ of a 4 x 4 tile; y tile = Aᵀ M A (2 x 2, cut at the edge), + b. Redone by
    conv2d_forward when an output is inf or NaN (in Winograd one reaches the whole tile)."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = _winograd(x, weight, padding, output_size, bias)
    if not np.isfinite(y).all():
        return conv2d_forward(x, weight, (1, 1), padding, (1, 1), output_size, 1, bias)
    return y


def _winograd(x, weight, padding, output_size, bias):
    (N, C), Cout, (OH, OW) = x.shape[:2], weight.shape[0], output_size
    g, at = WINOGRAD_G.astype(x.dtype), WINOGRAD_AT.astype(x.dtype)
    u = _winograd_transform(g, weight.transpose(2, 3, 1, 0))            # U_ξᵀ: (4, 4, C, Cout)
    v = _winograd_input(x, padding, output_size)                        # V_ξᵀ: (4, 4, TH, TW, N, C)
    TH, TW = v.shape[2:4]
    m = np.matmul(v.reshape(4, 4, TH * TW * N, C), u)                   # M_ξᵀ = V_ξᵀ · U_ξᵀ
    y = _winograd_transform(at, m.reshape(4, 4, TH, TW, N, Cout))       # (2, 2, TH, TW, N, Cout)
    y = y.transpose(4, 5, 2, 0, 3, 1).reshape(N, Cout, 2 * TH, 2 * TW)[:, :, :OH, :OW]
    y = np.ascontiguousarray(y)
    if bias is not None:
        y += bias[:, None, None]
    return y


def _winograd_input(x, padding, output_size):
    """V = Bᵀ d B (4, 4, TH, TW, N, C) of every 4 x 4 input tile d of x (N, C, H, W): tile (th, tw)
    starts at row 2·th − top, column 2·tw − left (``padding``), zero outside x; TH x TW tiles cover
    the output (OH, OW) in 2 x 2 blocks. Pixels first, (N, C) last: every slice of d is a view
    whose rows of N·C values are contiguous."""
    (N, C, H, W), (pt, pl), (OH, OW) = x.shape, padding, output_size
    TH, TW = -(-OH // 2), -(-OW // 2)
    xp = np.zeros((2 * TH + 2, 2 * TW + 2, N, C), x.dtype)  # every tile's window, zero-padded
    h, w = min(H, 2 * TH + 2 - pt), min(W, 2 * TW + 2 - pl)
    xp[pt:pt + h, pl:pl + w] = x[:, :, :h, :w].transpose(2, 3, 0, 1)
    d = [[xp[i:i + 2 * TH:2, j:j + 2 * TW:2] for j in range(4)] for i in range(4)]  # d[i][j]: views
    return _winograd_transform(WINOGRAD_BT.astype(x.dtype), d)


def _winograd_transform(m, t):
    """m t mᵀ of every tile t[i][j] (a tile's rows and columns index the first two axes, or two
    levels of lists): each entry a sum of whole slices of t scaled by m's entries (0, ±1, ±½), not
    a 4 x 4 product per tile. m has t's dtype."""
    rest = t[0][0].shape
    out = np.empty((len(m), len(m)) + rest, t[0][0].dtype)
    for i in range(len(m)):
        row = [sum(m[i, j] * t[j][k] for j in range(m.shape[1]) if m[i, j]) for k in range(m.shape[1])]
        for k in range(len(m)):  # out[i, k] = Σ_j (m t)[i, j] m[k, j]
            out[i, k] = sum(m[k, j] * row[j] for j in range(m.shape[1]) if m[k, j])
    return out


def conv2d_winograd_backward_weight(grad_out, x, padding, output_size, grad_bias=False):
    """conv2d_backward_weight of grad_out G (N, Cout, OH, OW) and x (N, C, H, W) for a 3 x 3
    weight at stride 1, dilation 1, one group, by Winograd F(2×2, 3×3), the adjoint of
    conv2d_winograd with respect to U: Ĝ = A ∂y Aᵀ per 2 x 2 tile of G (4 x 4; zero where the
    tile is cut at the edge), ∂U_ξ = Σ_tiles Ĝ_ξ · V_ξ (Cout x tiles by tiles x C) for each of
    the 16 positions ξ, ∂W = Gᵀ ∂U G per (o, c). With grad_bias also ∂b = Σ G over N, OH, OW.
    Redone by conv2d_backward_weight when ∂W or ∂b is inf or NaN."""
    Cout, C = grad_out.shape[1], x.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        gw = _winograd_backward_weight(grad_out, x, padding, output_size)
        gb = grad_out.sum(axis=(0, 2, 3)) if grad_bias else None
    if not (np.isfinite(gw).all() and (gb is None or np.isfinite(gb).all())):
        return conv2d_backward_weight(grad_out, x, (Cout, C, 3, 3), (1, 1), padding, (1, 1), output_size, 1,
                                      grad_bias)
    return (gw, gb) if grad_bias else gw


def _winograd_backward_weight(grad_out, x, padding, output_size):
    (N, Cout, OH, OW), C = grad_out.shape, x.shape[1]
    g, at = WINOGRAD_G.astype(x.dtype), WINOGRAD_AT.astype(x.dtype)
    v = _winograd_input(x, padding, output_size)                        # V_ξᵀ: (4, 4, TH, TW, N, C)
    TH, TW = v.shape[2:4]
    gp = np.zeros((2 * TH, 2 * TW, N, Cout), grad_out.dtype)           # the cut tiles' missing outputs: 0
    gp[:OH, :OW] = grad_out.transpose(2, 3, 0, 1)
    dy = [[gp[i::2, j::2] for j in range(2)] for i in range(2)]        # ∂y[i][j] of every tile: views
    gh = _winograd_transform(at.T, dy)                                  # A ∂y Aᵀ: (4, 4, TH, TW, N, Cout)
    du = np.matmul(gh.reshape(4, 4, -1, Cout).transpose(0, 1, 3, 2), v.reshape(4, 4, -1, C))  # ∂U_ξ
    return np.ascontiguousarray(_winograd_transform(g.T, du).transpose(2, 3, 0, 1))  # Gᵀ ∂U G


# ---------------------------------------------------------------- pooling

def _conv_windows(size, out_size, kernel, stride, pad, dilation):
    """Input index (out_size, kernel) of each window tap, and whether it lies inside [0, size)."""
    idx = (np.arange(out_size) * stride - pad)[:, None] + np.arange(kernel) * dilation
    return np.clip(idx, 0, max(size - 1, 0)), (idx >= 0) & (idx < size)


def _gather_windows(x, kernel_size, stride, padding, dilation, output_size):
    """x's windows (N, C, OH, OW, KH, KW), their validity (OH, OW, KH, KW) and flat positions ih·W + iw."""
    H, W = x.shape[2:]
    ih, vh = _conv_windows(H, output_size[0], kernel_size[0], stride[0], padding[0], dilation[0])
    iw, vw = _conv_windows(W, output_size[1], kernel_size[1], stride[1], padding[1], dilation[1])
    win = x[:, :, ih[:, None, :, None], iw[None, :, None, :]]
    valid = vh[:, None, :, None] & vw[None, :, None, :]
    pos = ih[:, None, :, None] * W + iw[None, :, None, :]
    return win, valid, pos


def max_pool2d_forward(x, kernel_size, stride, padding, dilation, output_size, return_indices=True):
    """y = max over each window (padding absent), indices = flat ih·W + iw of the first maximum
    (None unless ``return_indices``); a NaN wins (the last NaN of the window), like PyTorch."""
    win, valid, pos = _gather_windows(x, kernel_size, stride, padding, dilation, output_size)
    shape = win.shape[:4] + (kernel_size[0] * kernel_size[1],)  # not -1: ambiguous for an empty batch
    win = np.where(valid, win, -np.inf).reshape(shape)
    y = win.max(axis=-1)  # NaN propagates
    if not return_indices:
        return y.astype(x.dtype), None
    valid, pos = valid.reshape(shape[2:]), np.broadcast_to(pos.reshape(shape[2:]), win.shape)
    nan = np.isnan(win)
    first_max = np.argmax((win == y[..., None]) & valid, axis=-1)
    last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    k = np.where(nan.any(axis=-1), last_nan, first_max)
    idx = np.take_along_axis(pos, k[..., None], axis=-1)[..., 0].astype(np.int64)
    return y.astype(x.dtype), idx


def max_pool2d_backward(grad_out, indices, input_shape):
    """grad_x[n, c].flat[indices[n, c, o]] += grad_out[n, c, o]."""
    N, C, H, W = input_shape
    if indices.size and (indices.min() < 0 or indices.max() >= H * W):
        raise ValueError(f"indices: every value must lie in [0, H·W) = [0, {H * W})")
    grad_x = np.zeros((N * C, H * W), dtype=grad_out.dtype)
    rows = np.arange(N * C)[:, None]
    per_row = indices.shape[2] * indices.shape[3]  # not -1: ambiguous for an empty batch
    np.add.at(grad_x, (rows, indices.reshape(N * C, per_row)), grad_out.reshape(N * C, per_row))
    return grad_x.reshape(input_shape)


def _avg_divisor(input_hw, kernel_size, stride, padding, output_size, count_include_pad, divisor_override):
    """PyTorch's divisor per output position (OH, OW): the window clipped to the padded input
    (count_include_pad) or to the input, or divisor_override."""
    if divisor_override:
        return np.full(output_size, divisor_override)
    sizes = []
    for size, out, k, s, p in zip(input_hw, output_size, kernel_size, stride, padding):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        sizes.append(end - start)
    return sizes[0][:, None] * sizes[1][None, :]


def avg_pool2d_forward(x, kernel_size, stride, padding, output_size, count_include_pad, divisor_override):
    """y = Σ window / divisor (see _avg_divisor); 0 for a window entirely in the padding."""
    win, valid, _ = _gather_windows(x, kernel_size, stride, padding, (1, 1), output_size)
    s = np.where(valid, win, np.zeros((), x.dtype)).sum(axis=(-2, -1))
    div = _avg_divisor(x.shape[2:], kernel_size, stride, padding, output_size, count_include_pad,
                       divisor_override)
    return np.where(div > 0, s / np.maximum(div, 1).astype(x.dtype), 0).astype(x.dtype, copy=False)


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride, padding, count_include_pad,
                        divisor_override):
    """grad_x = each grad_out / divisor added to every element of its window."""
    N, C, H, W = input_shape
    output_size = grad_out.shape[2:]
    div = _avg_divisor((H, W), kernel_size, stride, padding, output_size, count_include_pad,
                       divisor_override)
    g = np.where(div > 0, grad_out / np.maximum(div, 1).astype(grad_out.dtype), 0).astype(grad_out.dtype, copy=False)
    cols_shape = (N, C) + tuple(output_size) + tuple(kernel_size)
    cols = np.broadcast_to(g[..., None, None], cols_shape)
    cols = np.ascontiguousarray(cols.transpose(1, 4, 5, 0, 2, 3)).reshape(C * kernel_size[0] * kernel_size[1], -1)
    return col2im(cols, input_shape, kernel_size, stride, padding, (1, 1), output_size, None)


# ---------------------------------------------------------------- batch normalization
# x is (N, C) or (N, C, L); channel c's m = N·L values are x[:, c] or x[:, c, :].

def _bn_axes(x):
    return (0, 2) if x.ndim == 3 else (0,)


def _per_channel(v, x):
    """A (C,) vector shaped to broadcast against x."""
    return v.reshape((1, -1, 1) if x.ndim == 3 else (1, -1))


def batch_norm_forward_train(x, weight, bias, eps):
    """μ_B = mean, σ²_B = biased variance (two-pass, float64), x̂ = (x − μ_B)/sqrt(σ²_B + eps),
    y = γ·x̂ + β (γ = 1, β = 0 when weight/bias are None). Returns (y, μ_B, σ²_B, 1/sqrt(σ²_B + eps))."""
    axes = _bn_axes(x)
    x64 = x.astype(np.float64)
    mean = x64.mean(axes)
    xc = x64 - _per_channel(mean, x)
    var = (xc * xc).mean(axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    y = xc * _per_channel(inv_std, x)
    if weight is not None:
        y *= _per_channel(weight.astype(np.float64), x)
    if bias is not None:
        y += _per_channel(bias.astype(np.float64), x)
    return tuple(a.astype(x.dtype) for a in (y, mean, var, inv_std))


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, eps):
    """y = x·scale[c] + shift[c] with scale = γ/sqrt(running_var + eps), shift = β − running_mean·scale
    (in float64, then rounded to x's dtype); weight, bias None: γ = 1, β = 0."""
    inv_std = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
    scale = inv_std if weight is None else weight * inv_std
    shift = -running_mean * scale if bias is None else bias - running_mean * scale
    y = x * _per_channel(scale.astype(x.dtype), x) + _per_channel(shift.astype(x.dtype), x)
    return y.astype(x.dtype, copy=False)


def batch_norm_backward(grad_out, x, mean, inv_std, weight):
    """grad_β = Σ g, grad_γ = Σ g·x̂, grad_x = γ·inv_std/m·(m·g − Σg − x̂·Σg·x̂), in float64."""
    axes = _bn_axes(x)
    m = x.size // x.shape[1]
    g = grad_out.astype(np.float64)
    inv_std64 = inv_std.astype(np.float64)
    x_hat = (x - _per_channel(mean.astype(np.float64), x)) * _per_channel(inv_std64, x)
    sum_g = g.sum(axes)
    sum_g_xhat = (g * x_hat).sum(axes)
    k = inv_std64 if weight is None else weight.astype(np.float64) * inv_std64
    grad_x = _per_channel(k / m, x) * (m * g - _per_channel(sum_g, x) - x_hat * _per_channel(sum_g_xhat, x))
    return grad_x.astype(x.dtype), sum_g_xhat.astype(x.dtype), sum_g.astype(x.dtype)


# ---------------------------------------------------------------- optimizer updates (in place)

def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """PyTorch's SGD, in place: g = ±grad + λ·θ; with momentum μ: b = g on the ``first`` step, else
    b = μ·b + (1 − dampening)·g, then g = g + μ·b (nesterov) or b; finally θ −= lr·g.
    ``momentum_buffer`` is b (None when μ = 0)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    if momentum != 0:
        if first:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
              step_size, bias_correction2_sqrt, amsgrad, maximize, decoupled):
    """PyTorch's Adam/AdamW, in place: g = ±grad; θ ·= 1 − lr·λ (decoupled) or g += λ·θ (coupled);
    m = lerp(m, g, 1 − β1); v = β2·v + (1 − β2)·g²; v̂ = max(v̂, v) if amsgrad;
    θ −= step_size · m / (√v / bias_correction2_sqrt + eps), step_size = lr/(1 − β1ᵗ)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    w = 1 - beta1
    if w < 0.5:  # torch.lerp's two forms, for the same rounding
        exp_avg += w * (g - exp_avg)
    else:
        exp_avg[...] = g - (g - exp_avg) * (1 - w)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    v = exp_avg_sq
    if amsgrad:
        v = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    param -= step_size * (exp_avg / (np.sqrt(v) / bias_correction2_sqrt + eps))

"""minigrad.functional.shape: reshape, views, transpose, squeeze, expand, cat/stack/split, pad, indexing.

The Case table (tests/functional/_cases.py) gives each case a gradcheck in float64 and a forward +
gradient comparison with PyTorch in float32; the tests below it cover what the table does not show."""
import numpy as np
import pytest

import minigrad

from _cases import MASK, Case, N, random_shape_test, table_tests

torch = pytest.importorskip("torch")

CASES = [
    # ---- shape
    Case("reshape", lambda lib, a: a.reshape(4, -1), (N(2, 3, 4),)),
    Case("view", lambda lib, a: a.view(6, 4) * 2, (N(2, 3, 4),)),
    Case("flatten", lambda lib, a: a.flatten(1), (N(2, 3, 4),)),
    Case("transpose", lambda lib, a: a.transpose(0, 2), (N(2, 3, 4),)),
    Case("T", lambda lib, a: a.T, (N(3, 4),)),
    Case("permute", lambda lib, a: a.permute(2, 0, 1), (N(2, 3, 4),)),
    Case("squeeze_all", lambda lib, a: a.squeeze(), (N(1, 3, 1, 2),)),
    Case("squeeze_dim", lambda lib, a: a.squeeze(2), (N(1, 3, 1, 2),)),
    Case("unsqueeze", lambda lib, a: a.unsqueeze(-1), (N(3, 2),)),
    Case("expand", lambda lib, a: a.expand(2, 3, 4), (N(3, 1),)),
    Case("expand_keep", lambda lib, a: a.expand(-1, 4), (N(3, 1),)),
    Case("cat", lambda lib, a, b: lib.cat([a, b, a], 1), (N(2, 3), N(2, 1))),
    Case("stack", lambda lib, a, b: lib.stack([a, b], -1), (N(2, 3), N(2, 3))),
    Case("split_size", lambda lib, a: a.split(2, 1), (N(3, 5),)),
    Case("split_sections", lambda lib, a: a.split([1, 3], 0), (N(4, 2),)),
    Case("chunk", lambda lib, a: a.chunk(3, 1), (N(2, 7),)),
    Case("pad", lambda lib, a: lib.pad(a, (1, 2)), (N(2, 3),)),
    Case("pad_2d_value", lambda lib, a: lib.pad(a, (0, 1, 2, 1), value=0.5), (N(2, 3, 4),)),
    # ---- indexing
    Case("index_int", lambda lib, a: a[1], (N(3, 4),)),
    Case("index_slice", lambda lib, a: a[:, 1:3], (N(3, 4),)),
    Case("index_step_none", lambda lib, a: a[::2, None, -1], (N(5, 4),)),
    Case("index_repeated", lambda lib, a: a[lib.tensor([0, 2, 0, 0])], (N(3, 4),)),
    Case("index_2d_repeated", lambda lib, a: a[lib.tensor([1, 1, 0]), lib.tensor([3, 3, 3])], (N(3, 4),)),
    Case("index_list_columns", lambda lib, a: a[:, [1, 1, 0]], (N(3, 4),)),
    Case("index_bool_mask", lambda lib, a: a[lib.tensor(MASK)], (N(3, 4),)),
    Case("index_bool_rows", lambda lib, a: a[lib.tensor([True, False, True])], (N(3, 4),)),
]

OPS = {
    "reshape", "view", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "expand", "cat",
    "stack", "split", "chunk", "pad", "index",
}

(test_gradcheck_float64, test_gradgradcheck_float64, test_matches_torch_float32,
 test_every_op_has_a_case) = table_tests(CASES, OPS)


UNARY = {  # op on a random shape; ``dim`` is a random valid dim of that shape
    "transpose": lambda x, dim: x.transpose(dim, 0),
    "unsqueeze_squeeze": lambda x, dim: x.unsqueeze(dim).squeeze(),
    "cat": lambda x, dim: minigrad.cat([x, x * 2], dim),
}

test_ops_on_random_shapes = random_shape_test(UNARY)


# ---------------------------------------------------------------- details the table does not show

def test_indexing_accumulates_repeated_indices():
    x = minigrad.zeros(4, dtype=np.float64, requires_grad=True)
    x[minigrad.tensor([1, 1, 1, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 3, 0, 1])


@pytest.mark.parametrize("dims", [(0, 0), (0, -1), (-1, -1)])
def test_transpose_of_0d_like_torch(dims):
    x, t = minigrad.tensor(1.5, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    y, ty = x.transpose(*dims), t.transpose(*dims)
    assert y.shape == () and float(y.data) == ty.item()
    y.backward()
    assert float(x.grad.data) == 1.0
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.transpose(0, 1)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("int64", "float32"), ("float64", "int32"),
                                    ("int32", "int64")])
def test_cat_promotes_dtypes_like_torch(dtypes):
    arrays = [np.arange(3).astype(dt) for dt in dtypes]
    out = minigrad.cat([minigrad.tensor(a) for a in arrays])
    expected = torch.cat([torch.from_numpy(a) for a in arrays])
    assert out.dtype == expected.numpy().dtype
    np.testing.assert_array_equal(out.data, expected.numpy())


def test_cat_of_mixed_floats_returns_each_gradient_in_its_dtype():
    a = minigrad.tensor(np.ones(2, np.float32), requires_grad=True)
    b = minigrad.tensor(np.ones(3, np.float64), requires_grad=True)
    (minigrad.cat([a, b]) * minigrad.tensor(np.arange(5.0))).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.data, [0, 1])
    np.testing.assert_array_equal(b.grad.data, [2, 3, 4])

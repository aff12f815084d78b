"""minigrad.functional.linalg: matmul in every rank combination, linear.

The Case table (tests/functional/_cases.py) gives each case a gradcheck in float64 and a forward +
gradient comparison with PyTorch in float32; the table is all this section needs."""
from _cases import Case, N, table_tests

CASES = [
    # ---- linear algebra
    Case("matmul_1d_1d", lambda lib, a, b: a @ b, (N(4,), N(4))),
    Case("matmul_2d_1d", lambda lib, a, b: a @ b, (N(3, 4), N(4))),
    Case("matmul_1d_2d", lambda lib, a, b: a @ b, (N(4,), N(4, 3))),
    Case("matmul_2d", lambda lib, a, b: lib.matmul(a, b), (N(3, 4), N(4, 5))),
    Case("matmul_batched", lambda lib, a, b: a @ b, (N(2, 3, 4), N(2, 4, 5))),
    Case("matmul_bcast", lambda lib, a, b: a @ b, (N(2, 1, 3, 4), N(3, 4, 2))),
    Case("matmul_bcast_2d", lambda lib, a, b: a @ b, (N(2, 3, 4), N(4, 2))),
    Case("linear", lambda lib, x, w, b: lib.linear(x, w, b), (N(5, 3), N(4, 3), N(4))),
    Case("linear_nobias_3d", lambda lib, x, w: lib.linear(x, w), (N(2, 3, 3), N(4, 3))),
    Case("linear_1d", lambda lib, x, w, b: lib.linear(x, w, b), (N(3,), N(2, 3), N(2))),
]

OPS = {
    "matmul", "linear",
}

(test_gradcheck_float64, test_gradgradcheck_float64, test_matches_torch_float32,
 test_every_op_has_a_case) = table_tests(CASES, OPS)

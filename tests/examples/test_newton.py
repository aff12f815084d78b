"""examples/newton.py --quick: Newton's method on second derivatives from double backprop converges in a
few steps where gradient descent needs far more, and the derivatives it uses are right."""
import json

import numpy as np

import minigrad

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_newton_quick(load_example, tmp_path):
    newton = load_example("newton")
    summary = newton.main(["--quick", "--quiet", "--out", str(tmp_path)])
    assert (tmp_path / "newton.png").read_bytes()[:8] == PNG_MAGIC
    saved = json.loads((tmp_path / "newton.json").read_text())
    for name in ("quartic", "rosenbrock"):
        n, gd = saved[name]["newton"], saved[name]["gd"]
        assert n == summary[name]["newton"]
        assert n["converged"] and n["steps"] <= 8, name
        assert gd["steps"] > 10 * n["steps"], name
    assert saved["quartic"]["gd"]["converged"] and not saved["rosenbrock"]["gd"]["converged"]


def test_newton_derivatives(load_example):
    newton = load_example("newton")
    x = minigrad.tensor(2.0, dtype=np.float64, requires_grad=True)
    assert newton.first_and_second_derivative(newton.quartic, x) == (24.0, 44.0)  # 4x³ − 4x, 12x² − 4

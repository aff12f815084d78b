"""benchmarks/gelu_fit.py: the fit reproduces the coefficients the float32 GELU kernel carries
(minigrad/_ops/vecmath.pxi), and they approximate Mills' ratio to far below a float32 ulp."""
import re
from pathlib import Path

import numpy as np

from benchmarks import gelu_fit

VECMATH = Path(__file__).resolve().parents[2] / "minigrad" / "_ops" / "vecmath.pxi"


def kernel_coefficients():
    """(P, R) as vecmath.pxi's mg_gelu_parts_f32 writes them: Horner chains, highest degree first."""
    body = VECMATH.read_text().split("mg_gelu_parts_f32(float x", 1)[1].split("return p / r;", 1)[0]
    chains = {}
    for name in "pr":
        lines = re.findall(rf"^\s*{name} = .*;$", body, flags=re.M)
        numbers = [float(v) for line in lines for v in re.findall(r"(\d+\.\d+(?:e-?\d+)?)f", line)]
        chains[name] = np.array(numbers[::-1], dtype=np.float32)  # lowest degree first
    return chains["p"], chains["r"]


def test_fit_reproduces_the_kernel_coefficients():
    p, r = gelu_fit.fit(n=1000, iterations=40)
    p_kernel, r_kernel = kernel_coefficients()
    assert p_kernel.size == gelu_fit.DEG_P + 1 and r_kernel.size == gelu_fit.DEG_R + 1
    assert p_kernel[0] == 0.5 and r_kernel[0] == 1  # Φ(0) = 1/2 exactly
    assert (p_kernel > 0).all() and (r_kernel > 0).all()  # Horner adds terms of one sign
    # another LAPACK may round a coefficient the other way: the fit, not its last bit, is the claim
    np.testing.assert_allclose(p, p_kernel, rtol=2e-6)
    np.testing.assert_allclose(r, r_kernel, rtol=2e-6)


def test_kernel_rational_is_far_below_a_float32_ulp():
    p, r = kernel_coefficients()
    a = np.linspace(0, gelu_fit.A, 401)
    approx = np.polyval(p.astype(np.float64)[::-1], a) / np.polyval(r.astype(np.float64)[::-1], a)
    rel = np.abs(approx / gelu_fit.target(a) - 1)
    assert rel.max() < 2e-8, rel.max()  # float32's ulp is 6e-8 to 1.2e-7 relative

"""The coefficients of the float32 GELU's normal CDF in ``minigrad/_ops/vecmath.pxi``, reproducibly.

    python -m benchmarks.gelu_fit

Φ(−a) = e^(−a²/2)·F(a) for a ≥ 0, where F(a) = Φ(−a)·e^(a²/2) is Mills' ratio over √(2π): smooth,
F(0) = 1/2, F(a) ~ 1/(a√(2π)) as a → ∞. F is fitted on [0, A] (A: past it GELU's result and
gradient are below half the smallest float32 subnormal) by a rational P(a)/R(a), P of degree 4 with
P(0) = 1/2 exactly, R of degree 5 with R(0) = 1, minimizing the largest relative error (Lawson's
iteratively reweighted linearized least squares on Chebyshev points, values from mpmath at 80 bits).
Every coefficient comes out positive, so Horner's rule on a ≥ 0 adds terms of one sign and stays
accurate in float32. Prints the coefficients rounded to float32 and the relative error of the float32
evaluation (in units of 2⁻²⁴).
"""
import mpmath
import numpy as np

A = 14.8  # the cap on |x| in vecmath.pxi's mg_gelu_parts_f32 (e^(−A²/2) is past float32's subnormals)
DEG_P, DEG_R = 4, 5


def target(a):
    """F(a) = Φ(−a)·e^(a²/2) at the float64 points a, from mpmath."""
    with mpmath.workprec(80):
        return np.array([float(mpmath.erfc(mpmath.mpf(v) / mpmath.sqrt(2)) / 2 * mpmath.exp(mpmath.mpf(v) ** 2 / 2))
                         for v in a.tolist()])


def fit(n=3000, iterations=40):
    """(p, r): the coefficients of P and R, lowest degree first (p[0] = 1/2, r[0] = 1), as float32."""
    a = A / 2 * (1 - np.cos(np.pi * (np.arange(n) + 0.5) / n))
    f = target(a)
    powers = np.vander(a, max(DEG_P, DEG_R) + 1, increasing=True)
    # P(a) − f·R(a) = 0 linear in the unknowns p[1:], r[1:]: (p1..p4)·a^k − f·(r1..r5)·a^k = f − 1/2
    lhs = np.hstack([powers[:, 1:DEG_P + 1], -f[:, None] * powers[:, 1:DEG_R + 1]])
    rhs = f - 0.5
    weight, r_values = np.ones(n) / n, np.ones(n)
    for _ in range(iterations):
        scale = np.sqrt(weight) / (f * r_values)  # relative error of P/R, linearized at the last R
        c = np.linalg.lstsq(lhs * scale[:, None], rhs * scale, rcond=None)[0]
        p, r = np.concatenate([[0.5], c[:DEG_P]]), np.concatenate([[1.0], c[DEG_P:]])
        r_values = np.polyval(r[::-1], a)
        err = np.abs(np.polyval(p[::-1], a) / r_values / f - 1)
        weight = weight * err  # Lawson: weight where the error is largest, towards equal ripples
        weight /= weight.sum()
    return p.astype(np.float32), r.astype(np.float32)


def horner32(c, a):
    """Σ c[k]·aᵏ by Horner's rule in float32."""
    s = np.full_like(a, c[-1])
    for ck in c[-2::-1]:
        s = s * a + ck
    return s


def main():
    p, r = fit()
    a = np.linspace(0, A, 20001, dtype=np.float32)
    err = np.abs((horner32(p, a) / horner32(r, a)).astype(np.float64) / target(a.astype(np.float64)) - 1)
    for name, c in (("P", p), ("R", r)):
        print(name, ", ".join(f"{float(v)!r}f" for v in c))
    print(f"largest relative error of P/R in float32 on [0, {A}]: {err.max() / 2 ** -24:.2f} × 2^-24")


if __name__ == "__main__":
    main()

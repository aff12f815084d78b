"""Elementwise kernels: ReLU, exact GELU, sigmoid and tanh, forward and backward.

Layout: any shape, C-contiguous; treated as one flat array of n elements. Loop: one pass, parallel
over element blocks with ``prange``, with a team sized by the bytes the call moves (``cpu.threads_for``);
a team of one runs the pass outside any OpenMP region (entering one costs ~1 µs), except float64
GELU's (see elementwise_kernels.pxi).
Dtypes: float32 and float64 through the fused type ``floating``.

ISA: the loops live in ``elementwise_kernels.pxi``, compiled here for baseline x86-64 (SSE2) and in
``elementwise_avx2.pyx`` and ``elementwise_avx512.pyx`` with those flags (8 and 16 float32 lanes
instead of 4); ``_ops/__init__.py`` imports the build the CPU runs.

GELU in float64 evaluates Φ through the C library's ``erf`` (within an ulp; numpy has no erf), a
scalar call per element, and rounds once. GELU in float32, in this build as in the AVX2 and AVX-512
ones, takes ``vecmath.pxi``'s float32 Φ = e^(−a²/2)·F(a) (F a rational fitted by
``benchmarks/gelu_fit.py``), vectorized: within ``GELU_FLOAT32_ULPS`` of exact
(tests/_ops/conftest.py: 10 ulps forward, 6 backward).

Sigmoid and tanh evaluate in the input dtype with the vectorizable exp of ``vecmath.pxi``: at most
2.5 ulp from the exact value in float32 and float64 (measured against long double; the tests allow
3). Their backward takes the forward's output y, which is what the autograd Function saves
(σ' = y·(1 − y), tanh' = 1 − y²), in double, rounded once.

Accuracy contract with the numpy twins, not bit patterns: GELU's twin computes the same float64
formula, but its ``np.exp`` is numpy's, which numpy picks at run time by CPU. On AVX-512 CPUs (Zen
4/5, Xeon) numpy runs its own SIMD exp, up to 1 ulp away from the C library's ``exp`` used here
(measured on Zen 4: 9,742 of 200,000 arguments differ, never by more than 1 ulp; with numpy's
AVX-512 paths disabled by ``NPY_DISABLE_CPU_FEATURES`` none do); on AVX2 CPUs numpy calls the C
library and the two agreed bit for bit. So the tests bound the difference by a few float64 ulps of
the formula's terms plus one rounding to the dtype (``tests/_ops/conftest.py``), never demand
equality. The twins of sigmoid and tanh are the float64 value rounded once (within 1 ulp of exact
in float32); the registry's ``ulps=`` bounds the kernels' distance from them.
"""
include "elementwise_kernels.pxi"

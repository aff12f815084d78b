"""Batch normalization kernels: training forward, eval forward, backward.

Layout: the input is a C-contiguous array viewed as (N, C, L): L = H·W for (N, C, H, W) input, L = 1
for (N, C). Channel c's m = N·L values are the N runs ``x[n, c, :]``, each contiguous, at stride C·L.
Nothing is transposed or copied.

Work items: the (N, C, L) volume is cut into items = (channel group) × (range of n).
- L > 1 ("rows" path): a group is one channel; the inner loop runs along a contiguous run of L values.
- L = 1 ("columns" path, 2-D input): a group is up to COLW adjacent channels; the inner loop runs
  along a row across the group's channels, one accumulator per channel.
Groups are split over n as well (S > 1 splits) only when there are too few groups to keep the threads
busy (C = 1..4, or C not divisible among threads); the per-split partial statistics are then merged
after the parallel loop. With S = 1 an item owns whole channels, so it computes their statistics and
immediately writes y (or grad_x) while the channel's data is still in cache: x is read once from
DRAM in the forward, and (x, grad_out) once in the backward.

Numerics (seed notation): μ_B = mean, σ²_B = biased variance (1/m), x̂ = (x − μ_B)/sqrt(σ²_B + eps),
y = γ·x̂ + β. Along a contiguous run (L > 1) sums are accumulated in the input dtype over segments
of SEG values split across LANES lane sums (16 terms each); the columns path adds groups of four rows
in the input dtype; everything above that (segments, runs, groups, blocks, channels) is summed in
float64. The variance is two-pass per
cache-sized block of rows (block mean, then Σ(x − block mean)², the second pass reading from L1/L2)
and blocks are merged with Chan's pairwise formula, so large-mean data (1e4 + randn) loses nothing to
E[x²] − E[x]² cancellation. Sums use several independent accumulators so that the compiler can
vectorize them without reassociating floating-point additions.

Parallel axis: items, with ``prange`` (dynamic schedule), on a team sized by the bytes of x
(``cpu.threads_for``: 1 thread below FIRST_BYTES). Dtypes: float32 and float64 through ``floating``.

ISA: the loops live in ``batchnorm_kernels.pxi``, compiled here for baseline x86-64 (SSE2) and in
``batchnorm_avx2.pyx`` with AVX2+FMA (8 floats per instruction instead of 4, and 4 float→double
conversions instead of 2 in the columns path); ``_ops/__init__.py`` imports the build the CPU runs
(``registry.py`` declares the family's builds).
"""
include "batchnorm_kernels.pxi"

# Vectorizable e^x − 1, logistic sigmoid and tanh for float32 and float64, and GELU for float32 (its
# normal CDF and density, at the end), as inline C functions of
# one element that GCC's loop vectorizer turns into SIMD code in a prange loop (4/8/16 float32 lanes
# with the generic/AVX2/AVX-512 flags of the file that includes this one). The C library's expf,
# exp and tanh are scalar calls that stop the vectorizer: the float32 sigmoid + its backward on 2¹⁷
# values took 1.76 ms that way, against 0.11 ms for torch (Zen 4, 1 thread).
#
# e^t for t ≤ 0, in the input dtype (Cody–Waite reduction, as in fdlibm):
#   t = n·ln2 + r, n = round(t/ln2), |r| ≤ ln2/2; ln2 split in a high part with trailing zero bits
#   (n·ln2_hi is exact) and a low part. n comes from the "shifter" trick: adding 1.5·2^(p−1) (p: the
#   dtype's precision) rounds t/ln2 to an integer in the low mantissa bits, read back through the bits,
#   so no float→int conversion is needed (AVX2 has none for int64).
#   e^r − 1 = r + r²·(1/2 + r/6 + … ), the Taylor series to degree 7 (float32) or 13 (float64): the
#   truncation, r⁸/8! or r¹⁴/14!, is below 0.15 (float32) and 0.05 (float64) ulp for |r| ≤ ln2/2.
#   2^n is built in the exponent bits; e^t = ((1 + p)·2^(n+64))·2^−64, so that results down to the
#   subnormals need no branch (2^n itself would not be a normal number there), and
#   e^t − 1 = 2^n·p + (2^n − 1), exact near 0 (n = 0: just p).
# sigmoid(x) = (x ≥ 0 ? 1 : e)/(1 + e), e = e^−|x| ≤ 1: never overflows, exact signs.
# tanh|x| = −m/(2 + m), m = e^(−2|x|) − 1: no cancellation near 0 (unlike (1 − e)/(1 + e)); the sign
# is copied from x, so tanh(−0) = −0.
# Past a cut-off the result is its limit and the reduction would leave its range: sigmoid caps |x|
# where e^−|x| rounds to 0 (the result is then 0 or 1), tanh selects ±1 once 1 − tanh|x| is under
# half an ulp of 1. NaN fails every comparison and flows through the arithmetic: NaN in, NaN out.
#
# Accuracy, measured against long double (x87, 64-bit mantissa) on 2.4·10⁶ points per dtype (normal
# draws ×6, |x| < 1e-3, grids to ±110 and ±760, subnormals and 1e-44 … 1 geometric, both signs), with
# each of the three builds: at most 2.35 ulp (sigmoid) and 2.5 ulp (tanh) in float32 and float64.
# tests/_ops/test_elementwise.py holds them to 3 ulp, and checks ±0, ±inf, NaN and subnormals.
#
# Selects are written with bit masks (mg_select_*): with a ternary GCC sinks the work of the side it
# does not take into a branch, which it then refuses to if-convert (FP ops may trap: -ftrapping-math,
# the default), and the loop stays scalar. Known gap: without AVX2, GCC does not vectorize the
# float64 functions (64-bit mask lanes: no SSE2 instruction), so the generic build's float64 is
# scalar code, still without a libm call.

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>

    static inline float mg_f32_of(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
    static inline uint32_t mg_bits_f32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
    static inline double mg_f64_of(uint64_t b) { double f; memcpy(&f, &b, 8); return f; }
    static inline uint64_t mg_bits_f64(double f) { uint64_t b; memcpy(&b, &f, 8); return b; }

    /* c ? a : b without a branch (see vecmath.pxi) */
    static inline float mg_select_f32(int c, float a, float b) {
        uint32_t m = -(uint32_t)(c != 0);
        return mg_f32_of((mg_bits_f32(a) & m) | (mg_bits_f32(b) & ~m));
    }
    static inline double mg_select_f64(int c, double a, double b) {
        uint64_t m = -(uint64_t)(c != 0);
        return mg_f64_of((mg_bits_f64(a) & m) | (mg_bits_f64(b) & ~m));
    }

    /* 2^n for a normal exponent n */
    static inline float mg_pow2_f32(int32_t n) { return mg_f32_of((uint32_t)(n + 127) << 23); }
    static inline double mg_pow2_f64(int32_t n) { return mg_f64_of((uint64_t)(uint32_t)(n + 1023) << 52); }

    #define MG_SHIFT_F32 0x1.8p23f
    #define MG_SHIFT_F64 0x1.8p52

    /* t - s = n ln2 + r: sets n, returns e^r - 1 (s: a small low part of the argument, 0 but in GELU;
       r - 0 folds away) */
    static inline float mg_expm1_reduced_f32(float t, float s, int32_t *n) {
        float k = t * 1.44269504088896341f + MG_SHIFT_F32;
        float nf = k - MG_SHIFT_F32;
        float r = t - nf * 0.693145751953125f;         /* ln2_hi: 15 bits, n*ln2_hi exact */
        float q;
        *n = (int32_t)(mg_bits_f32(k) - mg_bits_f32(MG_SHIFT_F32));
        r = r - nf * 1.42860682030941723212e-6f - s;   /* ln2_lo */
        q = 1.0f / 720 + r * (1.0f / 5040);
        q = 1.0f / 120 + r * q;
        q = 1.0f / 24 + r * q;
        q = 1.0f / 6 + r * q;
        q = 0.5f + r * q;
        return r + (r * r) * q;
    }
    static inline double mg_expm1_reduced_f64(double t, int32_t *n) {
        double k = t * 1.44269504088896338700 + MG_SHIFT_F64;
        double nf = k - MG_SHIFT_F64;
        double r = t - nf * 6.93147180369123816490e-01;  /* ln2_hi: 32 bits */
        double q;
        *n = (int32_t)(mg_bits_f64(k) - mg_bits_f64(MG_SHIFT_F64));
        r = r - nf * 1.90821492927058770002e-10;         /* ln2_lo */
        q = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);   /* 1/12!, 1/13! */
        q = 1.0 / 39916800.0 + r * q;
        q = 1.0 / 3628800.0 + r * q;
        q = 1.0 / 362880.0 + r * q;
        q = 1.0 / 40320.0 + r * q;
        q = 1.0 / 5040.0 + r * q;
        q = 1.0 / 720.0 + r * q;
        q = 1.0 / 120.0 + r * q;
        q = 1.0 / 24.0 + r * q;
        q = 1.0 / 6.0 + r * q;
        q = 0.5 + r * q;
        return r + (r * r) * q;
    }

    /* e^t for t <= 0, down to the subnormals: through a normal scale factor 2^(n+64) and an exact
       2^-64 (for t >= -110 in float32, -750 in float64, where e^t has rounded to 0) */
    static inline float mg_exp_neg_f32(float t) {
        int32_t n;
        float p = mg_expm1_reduced_f32(t, 0.0f, &n);
        return (1.0f + p) * mg_pow2_f32(n + 64) * 0x1p-64f;
    }
    static inline double mg_exp_neg_f64(double t) {
        int32_t n;
        double p = mg_expm1_reduced_f64(t, &n);
        return (1.0 + p) * mg_pow2_f64(n + 64) * 0x1p-64;
    }

    /* sigmoid: past |x| = 110 (float32) or 750 (float64) e^-|x| rounds to 0, so |x| is capped there */
    static inline float mg_sigmoid_f32(float x) {
        float a = fabsf(x);
        float e = mg_exp_neg_f32(-mg_select_f32(a > 110.0f, 110.0f, a));
        return mg_select_f32(x >= 0, 1.0f, e) / (1.0f + e);
    }
    static inline double mg_sigmoid_f64(double x) {
        double a = fabs(x);
        double e = mg_exp_neg_f64(-mg_select_f64(a > 750.0, 750.0, a));
        return mg_select_f64(x >= 0, 1.0, e) / (1.0 + e);
    }

    /* tanh: 1 - tanh|x| < 2^-25 (float32) / 2^-54 (float64) from |x| > 9.01 / 19.1 on */
    static inline float mg_tanh_f32(float x) {
        float a = fabsf(x), p, s, m;
        int32_t n;
        p = mg_expm1_reduced_f32(-2.0f * a, 0.0f, &n);
        s = mg_pow2_f32(n);
        m = s * p + (s - 1.0f);
        return copysignf(mg_select_f32(a > 9.5f, 1.0f, -m / (2.0f + m)), x);
    }
    static inline double mg_tanh_f64(double x) {
        double a = fabs(x), p, s, m;
        int32_t n;
        p = mg_expm1_reduced_f64(-2.0 * a, &n);
        s = mg_pow2_f64(n);
        m = s * p + (s - 1.0);
        return copysign(mg_select_f64(a > 19.5, 1.0, -m / (2.0 + m)), x);
    }

    /* GELU's normal CDF Phi and density phi in float32 (docs/kernels.md, section 5). For a = |x|:
       Phi(-a) = E F(a), E = e^(-a^2/2), with F(a) = Phi(-a) e^(a^2/2) (Mills' ratio over sqrt(2 pi))
       a rational P(a)/R(a) of degrees 4 and 5, fitted by benchmarks/gelu_fit.py on [0, 14.8] (past it
       every result is below half the smallest subnormal, so a is capped there); all coefficients are
       positive, so Horner's rule in float32 sums terms of one sign, and P(0) = 1/2 exactly, so
       Phi(0) = 1/2 exactly. Phi(x) = 1 - E F for x >= 0: no erf, no 1 + erf that cancels as x -> -inf.
       a^2 = h + l exactly (an FMA, or Dekker's split where there is none: x in two 12-bit halves whose
       products are exact), and l/2 joins the exp's reduced argument: a rounded a^2 would cost up to
       50 ulp of E at a = 14. E comes from the sigmoid's exp (mg_expm1_reduced_f32), scaled by 2^64 so
       that it is a normal number down to GELU's cap: a subnormal E rounded before its product with
       x F (up to 14 x 0.4) would cost up to 3 ulp; the callers multiply by 2^-64 last.
       Sets *e = 2^64 E and returns F.
       Accuracy against math.erfc in float64 on 2.25e6 points per build: GELU within 6.1 ulp (7.7 in
       the generic build: no FMA, two roundings a Horner step), its derivative within 3.2 ulp (4.2) of
       the larger of Phi and |x phi|; tests/_ops/conftest.py:GELU_FLOAT32_ULPS holds them to 10 and 6. */
    static inline float mg_gelu_parts_f32(float x, float *e) {
        float a = fabsf(x), h, l, p, r;
        int32_t n, capped = a > 14.8f;
        a = mg_select_f32(capped, 14.8f, a);             /* also keeps inf out of the FMA */
        h = a * a;
    #if defined(__FMA__)
        l = fmaf(a, a, -h);
    #else
        {
            float c = 4097.0f * a, hi = c - (c - a), lo = a - hi;
            l = ((hi * hi - h) + 2.0f * hi * lo) + lo * lo;
        }
    #endif
        p = 0.004107899963855743f * a + 0.04059256613254547f;
        p = p * a + 0.18313804268836975f;
        p = p * a + 0.43820056319236755f;
        p = p * a + 0.5f;
        r = 0.010296860709786415f * a + 0.10175684839487076f;
        r = r * a + 0.46920713782310486f;
        r = r * a + 1.2021589279174805f;
        r = r * a + 1.6742860078811646f;
        r = r * a + 1.0f;
        /* E = 0 past the cap (2^64 E(14.8) is not), so that x E F = 0, or NaN at x = -inf, as IEEE says */
        *e = mg_select_f32(capped, 0.0f, (1.0f + mg_expm1_reduced_f32(-0.5f * h, 0.5f * l, &n)) * mg_pow2_f32(n + 64));
        return p / r;
    }
    /* GELU y = x Phi(x): x E F for x < 0 (scaled back last: a subnormal result is rounded once),
       x (1 - E F) else (so that +inf stays inf and -0 stays -0) */
    static inline float mg_gelu_f32(float x) {
        float e, f = mg_gelu_parts_f32(x, &e), q;
        q = e * f;
        return mg_select_f32(x < 0, x * q * 0x1p-64f, x * (1.0f - q * 0x1p-64f));
    }
    /* its derivative Phi(x) + x phi(x), phi(x) = E/sqrt(2 pi): E (F + x k) for x < 0 (where it
       crosses 0 near x = -0.75, with the cancellation that any formula has), 1 + E (x k - F) else */
    static inline float mg_gelu_grad_f32(float x) {
        const float k = 0.3989422804014327f;            /* 1/sqrt(2 pi) */
        float e, f = mg_gelu_parts_f32(x, &e);
        return mg_select_f32(x < 0, e * (f + x * k) * 0x1p-64f, 1.0f + e * 0x1p-64f * (x * k - f));
    }

    """
    float mg_gelu_f32(float x) noexcept nogil
    float mg_gelu_grad_f32(float x) noexcept nogil
    float mg_sigmoid_f32(float x) noexcept nogil
    double mg_sigmoid_f64(double x) noexcept nogil
    float mg_tanh_f32(float x) noexcept nogil
    double mg_tanh_f64(double x) noexcept nogil

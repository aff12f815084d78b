# Vectorizable e^x − 1, logistic sigmoid and tanh for float32 and float64, as inline C functions of
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

    /* t = n ln2 + r: sets n, returns e^r - 1 */
    static inline float mg_expm1_reduced_f32(float t, int32_t *n) {
        float k = t * 1.44269504088896341f + MG_SHIFT_F32;
        float nf = k - MG_SHIFT_F32;
        float r = t - nf * 0.693145751953125f;         /* ln2_hi: 15 bits, n*ln2_hi exact */
        float q;
        *n = (int32_t)(mg_bits_f32(k) - mg_bits_f32(MG_SHIFT_F32));
        r = r - nf * 1.42860682030941723212e-6f;       /* ln2_lo */
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
        float p = mg_expm1_reduced_f32(t, &n);
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
        p = mg_expm1_reduced_f32(-2.0f * a, &n);
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

    /* erfc(z) for 1 <= z <= 10.6 (past 10.6, Phi(-z sqrt 2) < 2^-150): t e^(-z^2 + P(t)),
       t = 1/(1 + z/2) (the form of Numerical Recipes' erfcc), P a degree-16 least-squares Chebyshev
       fit of log(erfc(z) e^(z^2) / t) to mpmath values: 1.3e-12 relative */
    static inline double mg_erfc_f64(double z) {
        double t = 1.0 / (1.0 + 0.5 * z), q;
        q = 0.09218138440259895 * t - 0.717608393420858;
        q = q * t + 2.280412056390338;
        q = q * t - 3.358029109552636;
        q = q * t + 0.5447966739720095;
        q = q * t + 6.744112557357775;
        q = q * t - 12.985791550232062;
        q = q * t + 12.833685240621254;
        q = q * t - 8.154018564667957;
        q = q * t + 3.8907742376954677;
        q = q * t - 1.413524322709299;
        q = q * t + 0.19044447045199128;
        q = q * t - 0.14767919829763332;
        q = q * t + 0.09143384907437979;
        q = q * t + 0.3742858171721111;
        q = q * t + 1.000037887782991;
        q = q * t - 1.2655130360393312;
        return t * mg_exp_neg_f64(q - z * z);
    }
    /* erf(z) for |z| <= 1: its Taylor series z P(z^2) to z^35 (the next term is below 5e-18) */
    static inline double mg_erf_small_f64(double z) {
        double s = z * z, q;
        q = -9.063970842808673e-17 * s + 1.6342614095367152e-15;
        q = q * s - 2.7835162072109212e-14;
        q = q * s + 4.4632242632864775e-13;
        q = q * s - 6.7113668551641105e-12;
        q = q * s + 9.422759064650411e-11;
        q = q * s - 1.2290555301717926e-09;
        q = q * s + 1.4807192815879218e-08;
        q = q * s - 1.6365844691234924e-07;
        q = q * s + 1.6462114365889246e-06;
        q = q * s - 1.492565035840625e-05;
        q = q * s + 0.00012055332981789664;
        q = q * s - 0.0008548327023450852;
        q = q * s + 0.005223977625442188;
        q = q * s - 0.026866170645131252;
        q = q * s + 0.11283791670955126;
        q = q * s - 0.37612638903183754;
        q = q * s + 1.1283791670955126;
        return z * q;
    }
    /* Phi(x) = (1 + erf(x/sqrt 2))/2, the standard normal CDF: the series near 0, where GELU's
       gradient Phi + x phi crosses 0 and needs Phi to float64 precision; erfc on both tails, so Phi
       keeps its relative precision as x -> -inf; 0 or 1 past |x| = 10.6 sqrt 2 */
    static inline double mg_normal_cdf_f64(double x) {
        double z = fabs(x) * 0.70710678118654752440, tail, near;
        tail = 0.5 * mg_erfc_f64(mg_select_f64(z > 10.6, 10.6, mg_select_f64(z < 1.0, 1.0, z)));
        tail = mg_select_f64(x < 0, tail, 1.0 - tail);
        near = 0.5 + 0.5 * mg_erf_small_f64(mg_select_f64(z < 1.0, x * 0.70710678118654752440, 0.0));
        return mg_select_f64(z > 10.6, mg_select_f64(x > 0, 1.0, 0.0), mg_select_f64(z < 1.0, near, tail));
    }
    /* the standard normal density phi(x) = e^(-x^2/2)/sqrt(2 pi); 0 past |x| = 15 */
    static inline double mg_normal_pdf_f64(double x) {
        double h = 0.5 * x * x;
        return mg_select_f64(h > 112.5, 0.0, 0.39894228040143267794 * mg_exp_neg_f64(-mg_select_f64(h > 112.5, 112.5, h)));
    }

    /* 1 in the builds where GCC vectorizes the float64 functions (see the note on SSE2 above) */
    #if defined(__AVX2__)
    #define MG_F64_VECTORIZES 1
    #else
    #define MG_F64_VECTORIZES 0
    #endif
    """
    const int MG_F64_VECTORIZES
    double mg_normal_cdf_f64(double x) noexcept nogil
    double mg_normal_pdf_f64(double x) noexcept nogil
    float mg_sigmoid_f32(float x) noexcept nogil
    double mg_sigmoid_f64(double x) noexcept nogil
    float mg_tanh_f32(float x) noexcept nogil
    double mg_tanh_f64(double x) noexcept nogil

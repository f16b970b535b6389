/* ---- elementwise math: tanh and sigmoid ------------------------------------ */

/* An LSTM spends most of its time in its gates' tanh and sigmoid once the matrix products are
   fast: glibc's tanhf (through expm1f) took half of one at batch 64.  These two are branch-free,
   so an optimising compiler vectorizes the activation loops over them (-O3 -march=native: about
   0.4 ns an element against 15 for tanhf), and they stay within 2.5 ulp of the exact values
   (tests/test_c_fastmath.py sweeps the floats).  Every build computes the same formula. */

/* 2^n for an integral n in [-126, 127]. */
KWNN__INLINE float kwnn__pow2i(float n)
{
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^z = s (1 + p) for z in [-87, 88]: z = n ln 2 + r with |r| <= ln 2 / 2, s = 2^n, p = e^r - 1
   (degree-8 Taylor polynomial: its remainder is below 2^-32 on that interval). */
KWNN__INLINE float kwnn__exp_parts(float z, float *s)
{
    float v = z * 1.44269504088896341f, n, r, p; /* n: v to the nearest integer */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    n = (v + 12582912.0f) - 12582912.0f; /* adding 1.5 * 2^23 rounds a float to an integer: vectorizes */
#else
    n = (float)(int32_t)(v + copysignf(0.5f, v)); /* x87's excess precision would defeat that */
#endif
    r = (z - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f; /* ln 2 in two parts */
    p = 1.0f / 120.0f + r * (1.0f / 720.0f + r * (1.0f / 5040.0f + r * (1.0f / 40320.0f)));
    p = r + r * r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f + r * p)));
    *s = kwnn__pow2i(n);
    return p;
}

/* tanh(x) = (e^2a - 1) / (e^2a + 1), a = |x|, with the sign of x; e^2a - 1 is exact near 0. */
KWNN__INLINE float kwnn__tanh(float x)
{
    float a = fabsf(x), s, p, t, y;
    a = a < 9.0f ? a : 9.0f; /* tanh is 1 in float beyond 9; NaN goes to 9 here, back below */
    p = kwnn__exp_parts(2.0f * a, &s);
    t = s * p + (s - 1.0f);
    y = copysignf(t / (t + 2.0f), x);
    return x != x ? x : y;
}

/* sigmoid(x) = 1 / (1 + e^-x). */
KWNN__INLINE float kwnn__sigmoid(float x)
{
    float z = -x, s, p, y;
    int tiny = z > 88.0f; /* below 1e-38: 0, as Keras on XLA gives (it flushes subnormals) */
    z = tiny ? 88.0f : (z >= -87.0f ? z : -87.0f); /* NaN goes to -87 here, back below */
    p = kwnn__exp_parts(z, &s);
    y = tiny ? 0.0f : 1.0f / (1.0f + (s * p + s));
    return x != x ? x : y;
}

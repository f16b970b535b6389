/* ---- matrix multiply ------------------------------------------------------ */

/* C (M x N) = A (M x K) B (K x N) + bias, every matrix row-major with its own
   row stride (lda, ldb, ldc), for Dense, EinsumDense, the recurrent kernels,
   attention's projections and the convolutions (im2col in the work area).

   Every output is the sum over k in order (acc = 0; acc += a b, k = 0, 1,
   ...), then + bias, whatever the path: the blocked kernel, the edges, the
   one-row path and a split over threads compute each output the same way, so
   results do not depend on the batch, the tiling or the thread count.  With
   KWNN__SIMD_FMA the products are fused (fmaf in the scalar edges, so that
   every path still agrees).

   Blocking (GotoBLAS-like, without packing A): C is cut in panels of 16
   columns; a slice of KC rows of a panel of B is copied once into a
   contiguous 16 KB buffer (on the stack, zero-padded), which stays in L1
   while a block of MC rows of A (in L2) runs through it, MR rows at a time,
   the MR x 16 tile of C summed in registers.  One row (batch 1): the kernel
   rows are streamed as they are, 64 outputs summed in registers. */

#ifndef KWNN_GEMM_KC
#define KWNN_GEMM_KC 256 /* rows of a packed slice of B: 16 KB */
#endif
#define KWNN__NR 16
#define KWNN__MC 192 /* rows of A per block: a multiple of every MR */
#define KWNN__GEMV_NB 64
#define KWNN__TASKS 8 /* tasks per product handed to parallel_for (a few per thread) */
#ifndef KWNN_PARALLEL_MIN
#define KWNN_PARALLEL_MIN 65536 /* multiply-adds below which a product is not worth handing out */
#endif

#ifdef KWNN__SIMD_FMA
#define KWNN__MR 6
#define KWNN__MADD(acc, a, b) fmaf((a), (b), (acc))
#else
#define KWNN__MR 4
#define KWNN__MADD(acc, a, b) ((acc) + (a) * (b))
#endif

typedef void (*kwnn__task_fn)(void *ctx, size_t i);

typedef struct kwnn__ex { /* what a runner may use besides its input and output */
    const kwnn_options *opt; /* parallel_for */
    float *work;             /* the layers' work area (kwnn_layer.work floats per sample) */
} kwnn__ex;

typedef struct kwnn__mm {
    const float *A, *B, *bias;
    float *C;
    size_t lda, ldb, ldc, M, N, K;
    size_t m_tasks, m_rows, n_panels; /* the task grid: rows per task (a multiple of MR), panels per task */
} kwnn__mm;

/* buf (kc x 16) = B's rows [0, kc), columns [0, nr), zeros beyond nr. */
static void kwnn__pack_b(float *KWNN__RESTRICT buf, const float *KWNN__RESTRICT B, size_t ldb, size_t kc, size_t nr)
{
    size_t k, j;
    for (k = 0; k < kc; k++) {
        const float *b = B + k * ldb;
        float *d = buf + k * KWNN__NR;
        if (nr == KWNN__NR) {
            for (j = 0; j < KWNN__NR; j++) d[j] = b[j];
        } else {
            for (j = 0; j < nr; j++) d[j] = b[j];
            for (; j < KWNN__NR; j++) d[j] = 0.0f;
        }
    }
}

/* Any tile (mr <= MR rows, nr <= 16 columns): the reference the fast kernels agree with. */
static void kwnn__tile_any(size_t mr, size_t nr, size_t kc, const float *A, size_t lda, const float *Bp,
                           float *C, size_t ldc, int first, const float *bias)
{
    float acc[KWNN__MR][KWNN__NR];
    size_t i, j, k;
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j++) acc[i][j] = first ? 0.0f : C[i * ldc + j];
    for (k = 0; k < kc; k++)
        for (i = 0; i < mr; i++) {
            float a = A[i * lda + k];
            for (j = 0; j < nr; j++) acc[i][j] = KWNN__MADD(acc[i][j], a, Bp[k * KWNN__NR + j]);
        }
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j++) C[i * ldc + j] = bias != NULL ? acc[i][j] + bias[j] : acc[i][j];
}

#if defined(KWNN__SIMD_FMA) && defined(KWNN__AVX2)
/* 6 x 16 with AVX2 + FMA: 12 accumulators, two loads of B and six broadcasts of A per k. */
static void kwnn__tile_full(size_t kc, const float *A, size_t lda, const float *Bp, float *C, size_t ldc, int first,
                            const float *bias)
{
    __m256 c[6][2];
    size_t i, k;
    for (i = 0; i < 6; i++) {
        c[i][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(C + i * ldc);
        c[i][1] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(C + i * ldc + 8);
    }
    for (k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(Bp + k * KWNN__NR), b1 = _mm256_loadu_ps(Bp + k * KWNN__NR + 8), a;
        for (i = 0; i < 6; i++) {
            a = _mm256_broadcast_ss(A + i * lda + k);
            c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
        }
    }
    for (i = 0; i < 6; i++) {
        if (bias != NULL) {
            c[i][0] = _mm256_add_ps(c[i][0], _mm256_loadu_ps(bias));
            c[i][1] = _mm256_add_ps(c[i][1], _mm256_loadu_ps(bias + 8));
        }
        _mm256_storeu_ps(C + i * ldc, c[i][0]);
        _mm256_storeu_ps(C + i * ldc + 8, c[i][1]);
    }
}
#elif defined(KWNN__SIMD_FMA) && defined(KWNN__NEON)
/* 6 x 16 with NEON (AArch64): 24 accumulators, four loads of B, six broadcasts of A per k. */
static void kwnn__tile_full(size_t kc, const float *A, size_t lda, const float *Bp, float *C, size_t ldc, int first,
                            const float *bias)
{
    float32x4_t c[6][4];
    size_t i, j, k;
    for (i = 0; i < 6; i++)
        for (j = 0; j < 4; j++) c[i][j] = first ? vdupq_n_f32(0.0f) : vld1q_f32(C + i * ldc + 4 * j);
    for (k = 0; k < kc; k++) {
        float32x4_t b[4];
        for (j = 0; j < 4; j++) b[j] = vld1q_f32(Bp + k * KWNN__NR + 4 * j);
        for (i = 0; i < 6; i++) {
            float32x4_t a = vdupq_n_f32(A[i * lda + k]);
            for (j = 0; j < 4; j++) c[i][j] = vfmaq_f32(c[i][j], a, b[j]);
        }
    }
    for (i = 0; i < 6; i++)
        for (j = 0; j < 4; j++) {
            if (bias != NULL) c[i][j] = vaddq_f32(c[i][j], vld1q_f32(bias + 4 * j));
            vst1q_f32(C + i * ldc + 4 * j, c[i][j]);
        }
}
#else
/* Portable 4 x 16: fixed trip counts and restrict, which gcc and clang vectorize at -O2 / -O3. */
static void kwnn__tile_full(size_t kc, const float *KWNN__RESTRICT A, size_t lda, const float *KWNN__RESTRICT Bp,
                            float *KWNN__RESTRICT C, size_t ldc, int first, const float *KWNN__RESTRICT bias)
{
    float c0[KWNN__NR], c1[KWNN__NR], c2[KWNN__NR], c3[KWNN__NR];
    const float *a0 = A, *a1 = A + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    size_t j, k;
    for (j = 0; j < KWNN__NR; j++) {
        c0[j] = first ? 0.0f : C[j];
        c1[j] = first ? 0.0f : C[ldc + j];
        c2[j] = first ? 0.0f : C[2 * ldc + j];
        c3[j] = first ? 0.0f : C[3 * ldc + j];
    }
    for (k = 0; k + 2 <= kc; k += 2) { /* two k per pass: half the traffic where c0..c3 live in memory (-O2) */
        const float *b = Bp + k * KWNN__NR, *d = b + KWNN__NR;
        float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        float y0 = a0[k + 1], y1 = a1[k + 1], y2 = a2[k + 1], y3 = a3[k + 1];
        for (j = 0; j < KWNN__NR; j++) {
            c0[j] = KWNN__MADD(KWNN__MADD(c0[j], x0, b[j]), y0, d[j]);
            c1[j] = KWNN__MADD(KWNN__MADD(c1[j], x1, b[j]), y1, d[j]);
            c2[j] = KWNN__MADD(KWNN__MADD(c2[j], x2, b[j]), y2, d[j]);
            c3[j] = KWNN__MADD(KWNN__MADD(c3[j], x3, b[j]), y3, d[j]);
        }
    }
    for (; k < kc; k++) {
        const float *b = Bp + k * KWNN__NR;
        float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        for (j = 0; j < KWNN__NR; j++) {
            c0[j] = KWNN__MADD(c0[j], x0, b[j]);
            c1[j] = KWNN__MADD(c1[j], x1, b[j]);
            c2[j] = KWNN__MADD(c2[j], x2, b[j]);
            c3[j] = KWNN__MADD(c3[j], x3, b[j]);
        }
    }
    for (j = 0; j < KWNN__NR; j++) {
        float b = bias != NULL ? bias[j] : 0.0f;
        C[j] = bias != NULL ? c0[j] + b : c0[j];
        C[ldc + j] = bias != NULL ? c1[j] + b : c1[j];
        C[2 * ldc + j] = bias != NULL ? c2[j] + b : c2[j];
        C[3 * ldc + j] = bias != NULL ? c3[j] + b : c3[j];
    }
}
#endif

/* Rows [r0, r1) and columns [c0, c1) of C (c0 a multiple of 16). */
static void kwnn__mm_block(const kwnn__mm *m, size_t r0, size_t r1, size_t c0, size_t c1)
{
#if defined(__GNUC__) || defined(__clang__)
    float buf[KWNN_GEMM_KC * KWNN__NR] __attribute__((aligned(64)));
#else
    float buf[KWNN_GEMM_KC * KWNN__NR];
#endif
    size_t i0, j0, k0, i;
    for (i0 = r0; i0 < r1; i0 += KWNN__MC) {
        size_t i1 = r1 - i0 < KWNN__MC ? r1 : i0 + KWNN__MC;
        for (j0 = c0; j0 < c1; j0 += KWNN__NR) {
            size_t nr = c1 - j0 < KWNN__NR ? c1 - j0 : KWNN__NR;
            for (k0 = 0; k0 < m->K; k0 += KWNN_GEMM_KC) {
                size_t kc = m->K - k0 < KWNN_GEMM_KC ? m->K - k0 : KWNN_GEMM_KC;
                const float *bias = k0 + kc == m->K && m->bias != NULL ? m->bias + j0 : NULL;
                kwnn__pack_b(buf, m->B + k0 * m->ldb + j0, m->ldb, kc, nr);
                for (i = i0; i < i1; i += KWNN__MR) {
                    const float *a = m->A + i * m->lda + k0;
                    float *c = m->C + i * m->ldc + j0;
                    if (i1 - i >= KWNN__MR && nr == KWNN__NR)
                        kwnn__tile_full(kc, a, m->lda, buf, c, m->ldc, k0 == 0, bias);
                    else
                        kwnn__tile_any(i1 - i < KWNN__MR ? i1 - i : KWNN__MR, nr, kc, a, m->lda, buf, c, m->ldc,
                                       k0 == 0, bias);
                }
            }
        }
    }
}

/* One row: y (N) = x (K) B + bias, 64 outputs at a time over every k. */
static void kwnn__gemv(const float *KWNN__RESTRICT x, const float *KWNN__RESTRICT B, size_t ldb,
                       const float *KWNN__RESTRICT bias, float *KWNN__RESTRICT y, size_t c0, size_t c1, size_t K)
{
    float acc[KWNN__GEMV_NB];
    size_t j0, j, k;
    for (j0 = c0; j0 < c1; j0 += KWNN__GEMV_NB) {
        size_t nb = c1 - j0 < KWNN__GEMV_NB ? c1 - j0 : KWNN__GEMV_NB;
        const float *b = B + j0;
        if (nb == KWNN__GEMV_NB) {
#if defined(KWNN__SIMD_FMA) && defined(KWNN__AVX2)
            __m256 s[8];
            for (j = 0; j < 8; j++) s[j] = _mm256_setzero_ps();
            for (k = 0; k < K; k++) {
                __m256 a = _mm256_broadcast_ss(x + k);
                for (j = 0; j < 8; j++) s[j] = _mm256_fmadd_ps(a, _mm256_loadu_ps(b + k * ldb + 8 * j), s[j]);
            }
            for (j = 0; j < 8; j++) _mm256_storeu_ps(acc + 8 * j, s[j]);
#else
            for (j = 0; j < KWNN__GEMV_NB; j++) acc[j] = 0.0f;
            for (k = 0; k + 4 <= K; k += 4) { /* four rows per pass over acc, still summed in k order */
                const float *b0 = b + k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
                float a0 = x[k], a1 = x[k + 1], a2 = x[k + 2], a3 = x[k + 3];
                for (j = 0; j < KWNN__GEMV_NB; j++)
                    acc[j] = KWNN__MADD(KWNN__MADD(KWNN__MADD(KWNN__MADD(acc[j], a0, b0[j]), a1, b1[j]), a2, b2[j]),
                                        a3, b3[j]);
            }
            for (; k < K; k++) {
                const float *bk = b + k * ldb;
                float a = x[k];
                for (j = 0; j < KWNN__GEMV_NB; j++) acc[j] = KWNN__MADD(acc[j], a, bk[j]);
            }
#endif
        } else {
            for (j = 0; j < nb; j++) acc[j] = 0.0f;
            for (k = 0; k < K; k++)
                for (j = 0; j < nb; j++) acc[j] = KWNN__MADD(acc[j], x[k], b[k * ldb + j]);
        }
        for (j = 0; j < nb; j++) y[j0 + j] = bias != NULL ? acc[j] + bias[j0 + j] : acc[j];
    }
}

static void kwnn__mm_task(void *ctx, size_t t)
{
    const kwnn__mm *m = (const kwnn__mm *)ctx;
    size_t mi = t % m->m_tasks, ni = t / m->m_tasks;
    size_t r0 = mi * m->m_rows, r1 = r0 + m->m_rows > m->M ? m->M : r0 + m->m_rows;
    size_t c0 = ni * m->n_panels * KWNN__NR, w = m->n_panels * KWNN__NR, c1 = m->N - c0 < w ? m->N : c0 + w;
    size_t r;
    if (m->M < KWNN__MR) {
        for (r = r0; r < r1; r++) kwnn__gemv(m->A + r * m->lda, m->B, m->ldb, m->bias, m->C + r * m->ldc, c0, c1, m->K);
        return;
    }
    kwnn__mm_block(m, r0, r1, c0, c1);
}

/* Runs task(ctx, i) for i in [0, n): through the caller's parallel_for if set, else in order. */
static void kwnn__parallel(const kwnn_options *opt, kwnn__task_fn task, void *ctx, size_t n)
{
    size_t i;
    if (n > 1 && opt != NULL && opt->parallel_for != NULL) {
        opt->parallel_for(task, ctx, n, opt->parallel_data);
        return;
    }
    for (i = 0; i < n; i++) task(ctx, i);
}

/* C = A B + bias (bias NULL: none).  opt: the caller's parallel_for, or NULL. */
static void kwnn__gemm(const kwnn_options *opt, size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, const float *bias, float *C, size_t ldc)
{
    size_t panels = (N + KWNN__NR - 1) / KWNN__NR, r, j, n_tasks = 1;
    kwnn__mm m = {A, B, bias, C, lda, ldb, ldc, M, N, K, 1, M, 0};
    m.n_panels = panels;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (r = 0; r < M; r++)
            for (j = 0; j < N; j++) C[r * ldc + j] = bias != NULL ? bias[j] : 0.0f;
        return;
    }
    if (opt != NULL && opt->parallel_for != NULL && (double)M * (double)N * (double)K >= (double)KWNN_PARALLEL_MIN) {
        /* about KWNN__TASKS tasks: groups of panels, times groups of rows (whole tiles) */
        n_tasks = panels < KWNN__TASKS ? panels : KWNN__TASKS;
        m.n_panels = (panels + n_tasks - 1) / n_tasks;
        n_tasks = (panels + m.n_panels - 1) / m.n_panels;
        if (M >= KWNN__MR) {
            size_t want = (KWNN__TASKS + n_tasks - 1) / n_tasks, rows = (M + want - 1) / want;
            m.m_rows = (rows + KWNN__MR - 1) / KWNN__MR * KWNN__MR;
            m.m_tasks = (M + m.m_rows - 1) / m.m_rows;
        }
    }
    kwnn__parallel(opt, kwnn__mm_task, &m, m.m_tasks * n_tasks);
}

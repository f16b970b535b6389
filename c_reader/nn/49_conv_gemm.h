/* ---- convolutions through the matrix multiply ------------------------------ */

/* The fast paths of the channels_last forward convolutions (42_conv_family.h
   keeps the direct loops for the rest: channels_first, transposed, kernels
   larger than their input):
   - 1 x 1, stride 1, one group: the input is already the matrix (positions x
     channels): y = x W + b, no copy;
   - any other window (groups, strides, dilation, padding): im2col, a block of
     KWNN__CONV_ROWS output positions at a time, each a row of taps x channels
     (zeros off the input) in the layers' work area, times the kernel, which
     is already (taps x channels) x filters row-major;
   - depthwise: per position, the taps on the input, each a vector over the
     channels;
   - separable: the depthwise sums of a block of positions in the work area,
     then times the pointwise kernel.
   Each output is still its taps in kernel order, then the bias. */

/* Output positions per im2col block, per sample: about 64 K floats (in L2),
   between 48 and 192 rows whatever the width (each block packs the kernel again). */
#define KWNN__CONV_BLOCK 65536
/* Multiply-adds per sample below which a convolution keeps the direct loops
   rather than ask for an im2col block (which adds to the scratch). */
#ifndef KWNN_CONV_IM2COL_MIN
#define KWNN_CONV_IM2COL_MIN 1048576
#endif
#define KWNN__CONV_ROWS_MIN 48
#define KWNN__CONV_ROWS_MAX 192

static int kwnn__conv_forward(const kwnn_layer *L)
{
    switch (L->kind) {
    case KWNN_LAYER_CONV1D: case KWNN_LAYER_CONV2D: case KWNN_LAYER_CONV3D: case KWNN_LAYER_DEPTHWISE1D:
    case KWNN_LAYER_DEPTHWISE2D: return L->w != NULL;
    default: return 0;
    }
}

/* A channels_last forward convolution whose window fits its input on every
   axis (im2col then costs no more than kwnn__conv_cost counts). */
static int kwnn__conv_fast(const kwnn_layer *L, const kwnn__cgeo *g)
{
    uint32_t a;
    if (L->channels_first || kwnn__conv_transposed(L->kind)) return 0;
    for (a = 0; a < 3; a++)
        if (L->win[a] > g->in[a]) return 0;
    return 1;
}

static int kwnn__conv_pointwise(const kwnn_layer *L)
{
    uint32_t a;
    for (a = 0; a < 3; a++)
        if (L->win[a] != 1 || L->step[a] != 1 || L->lo[a] != 0) return 0;
    return L->groups == 1 && L->w2 == NULL;
}

/* Floats per sample of work the fast paths need (0: none, or not taken). */
static size_t kwnn__conv_work(const kwnn_layer *L)
{
    kwnn__cgeo g;
    size_t pos, rows, taps, width, work;
    if (!kwnn__conv_forward(L)) return 0;
    kwnn__conv_geo(L, &g);
    if (!kwnn__conv_fast(L, &g) || kwnn__conv_pointwise(L)) return 0;
    pos = L->out_count / g.F;
    taps = L->win[0] * L->win[1] * L->win[2]; /* each <= its input size: no overflow */
    if (L->w2 != NULL) width = g.C * L->mult;          /* separable: the depthwise sums */
    else if (L->groups == g.C && L->groups > 1) return 0; /* depthwise: direct */
    else if (!kwnn__mul(taps, g.C / L->groups, &width)) return 0;
    if ((double)pos * (double)width * (double)(L->w2 != NULL ? g.F : g.F / L->groups) < (double)KWNN_CONV_IM2COL_MIN) return 0;
    rows = KWNN__CONV_BLOCK / width;
    rows = rows < KWNN__CONV_ROWS_MIN ? KWNN__CONV_ROWS_MIN : rows > KWNN__CONV_ROWS_MAX ? KWNN__CONV_ROWS_MAX : rows;
    rows = pos < rows ? pos : rows;
    return kwnn__mul(rows, width, &work) && work <= KWNN__SIZE_MAX / 64 ? work : 0;
}

/* The taps of output position p (flat) on each axis, and its input corner. */
static void kwnn__conv_window(const kwnn_layer *L, const kwnn__cgeo *g, size_t p, size_t *lo, size_t *hi,
                              size_t *start)
{
    size_t o[3];
    uint32_t a;
    o[2] = p % g->out[2];
    o[1] = (p / g->out[2]) % g->out[1];
    o[0] = p / g->out[2] / g->out[1];
    for (a = 0; a < 3; a++) {
        kwnn__taps(o[a] * L->step[a], L->lo[a], g->in[a], L->win[a], L->dilation[a], &lo[a], &hi[a]);
        start[a] = o[a] * L->step[a]; /* the input index of tap j: start + j d - pad (for j in range) */
    }
}

/* Row of im2col for position p of one sample: taps in kernel order, Cg channels from c0 each. */
static void kwnn__im2col_row(const kwnn_layer *L, const kwnn__cgeo *g, const float *xb, size_t p, size_t c0,
                             size_t Cg, int count, float *KWNN__RESTRICT row)
{
    size_t lo[3], hi[3], st[3], j0, j1, j2;
    kwnn__conv_window(L, g, p, lo, hi, st);
    for (j0 = 0; j0 < L->win[0]; j0++)
        for (j1 = 0; j1 < L->win[1]; j1++)
            for (j2 = 0; j2 < L->win[2]; j2++, row += Cg) {
                size_t i0, i1, i2;
                if (j0 < lo[0] || j0 >= hi[0] || j1 < lo[1] || j1 >= hi[1] || j2 < lo[2] || j2 >= hi[2]) {
                    memset(row, 0, Cg * sizeof *row);
                    continue;
                }
                if (count) KWNN_PROBE(taps, 1);
                i0 = st[0] + j0 * L->dilation[0] - L->lo[0];
                i1 = st[1] + j1 * L->dilation[1] - L->lo[1];
                i2 = st[2] + j2 * L->dilation[2] - L->lo[2];
                memcpy(row, xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * g->C + c0, Cg * sizeof *row);
            }
}

/* Depthwise sums of position p (channels_last): z[c M + m] = sum over taps x[c] w[c M + m]. */
static void kwnn__dw_point(const kwnn_layer *L, const kwnn__cgeo *g, const float *xb, size_t p, size_t M, int count,
                           float *KWNN__RESTRICT z)
{
    size_t lo[3], hi[3], st[3], j0, j1, j2, CM = g->C * M;
    kwnn__conv_window(L, g, p, lo, hi, st);
    memset(z, 0, CM * sizeof *z);
    for (j0 = lo[0]; j0 < hi[0]; j0++)
        for (j1 = lo[1]; j1 < hi[1]; j1++)
            for (j2 = lo[2]; j2 < hi[2]; j2++) {
                size_t i0 = st[0] + j0 * L->dilation[0] - L->lo[0], i1 = st[1] + j1 * L->dilation[1] - L->lo[1];
                size_t i2 = st[2] + j2 * L->dilation[2] - L->lo[2];
                if (count) KWNN_PROBE(taps, 1);
                kwnn__dw_tap(z, xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * g->C,
                             L->w + ((j0 * L->win[1] + j1) * L->win[2] + j2) * CM, g->C, M);
            }
}

typedef struct kwnn__dw_job { /* depthwise: positions [i rows, (i + 1) rows) of the batch per task */
    const kwnn_layer *L;
    const kwnn__cgeo *g;
    const float *x;
    float *y;
    size_t P, n, rows;
} kwnn__dw_job;

static void kwnn__dw_task(void *ctx, size_t i)
{
    const kwnn__dw_job *j = (const kwnn__dw_job *)ctx;
    size_t r, f, r1 = (i + 1) * j->rows < j->n ? (i + 1) * j->rows : j->n, F = j->g->F;
    for (r = i * j->rows; r < r1; r++) {
        float *yo = j->y + r * F;
        kwnn__dw_point(j->L, j->g, j->x + (r / j->P) * j->L->in_count, r % j->P, F / j->g->C, 1, yo);
        if (j->L->b != NULL)
            for (f = 0; f < F; f++) yo[f] += j->L->b[f];
    }
}

/* The channels_last forward convolutions; 0 when L takes the direct loops. */
static int kwnn__conv_gemm_run(const kwnn_layer *L, const float *x, float *y, size_t batch, const kwnn__ex *ex)
{
    kwnn__cgeo g;
    size_t P, rows, r0, r, n, gi, G = L->groups, Cg, Fg, width;
    if (!kwnn__conv_forward(L)) return 0;
    kwnn__conv_geo(L, &g);
    if (!kwnn__conv_fast(L, &g)) return 0;
    P = L->out_count / g.F;
    n = P * batch;
    if (kwnn__conv_pointwise(L)) {
        KWNN_PROBE(taps, n);
        kwnn__gemm(ex->opt, n, g.F, g.C, x, g.C, L->w, g.F, L->b, y, g.F);
        return 1;
    }
    if (L->w2 == NULL && G == g.C && G > 1) { /* depthwise: 8 tasks when worth handing out */
        kwnn__dw_job job;
        int split = (double)L->out_count * (double)batch * (double)(L->win[0] * L->win[1] * L->win[2]) >=
                    (double)KWNN_PARALLEL_MIN;
        job.L = L;
        job.g = &g;
        job.x = x;
        job.y = y;
        job.P = P;
        job.n = n;
        job.rows = split ? (n + KWNN__TASKS - 1) / KWNN__TASKS : n;
        kwnn__parallel(ex->opt, kwnn__dw_task, &job, (n + job.rows - 1) / job.rows);
        return 1;
    }
    if (L->work == 0 || ex->work == NULL) return 0;
    Cg = g.C / G;
    Fg = g.F / G;
    width = L->w2 != NULL ? g.C * L->mult : L->win[0] * L->win[1] * L->win[2] * Cg;
    rows = L->work / width * batch; /* positions per block, over the batch */
    for (r0 = 0; r0 < n; r0 += rows) {
        size_t m = n - r0 < rows ? n - r0 : rows;
        if (L->w2 != NULL) { /* separable: depthwise sums, then the pointwise product */
            for (r = 0; r < m; r++)
                kwnn__dw_point(L, &g, x + ((r0 + r) / P) * L->in_count, (r0 + r) % P, L->mult, 1,
                               ex->work + r * width);
            kwnn__gemm(ex->opt, m, g.F, width, ex->work, width, L->w2, g.F, L->b, y + r0 * g.F, g.F);
            continue;
        }
        for (gi = 0; gi < G; gi++) {
            for (r = 0; r < m; r++)
                kwnn__im2col_row(L, &g, x + ((r0 + r) / P) * L->in_count, (r0 + r) % P, gi * Cg, Cg, gi == 0,
                                 ex->work + r * width);
            kwnn__gemm(ex->opt, m, Fg, width, ex->work, width, L->w + gi * Fg, g.F, L->b ? L->b + gi * Fg : NULL,
                       y + r0 * g.F + gi * Fg, g.F);
        }
    }
    return 1;
}

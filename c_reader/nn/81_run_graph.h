/* ---- running the graph --------------------------------------------------- */

typedef struct kwnn__rt {
    const kwnn_net *net;
    const float *const *inputs;
    float *const *outputs;
    float *arena;
    float *work; /* the layers' work area (45_recurrent.h) */
    size_t batch;
    const kwnn_layer *call_layers; /* kwnn_run_shapes: the layer of each run position, for its shapes */
} kwnn__rt;

/* Where node id's value lives (batch samples, row-major). */
static const float *kwnn__src(const kwnn__rt *rt, uint32_t id)
{
    const kwnn__node *r = &rt->net->nodes_[rt->net->nodes_[id].root];
    if (r->where == KWNN__AT_INPUT) return rt->inputs[r->slot];
    if (r->where == KWNN__AT_OUTPUT) return rt->outputs[r->slot];
    return rt->arena + r->offset * rt->batch;
}

static float *kwnn__dst(const kwnn__rt *rt, uint32_t id)
{
    const kwnn__node *r = &rt->net->nodes_[rt->net->nodes_[id].root];
    if (r->where == KWNN__AT_OUTPUT) return rt->outputs[r->slot];
    return rt->arena + r->offset * rt->batch; /* a computing node is never an input */
}

static float kwnn__merge_op(int op, float a, float b)
{
    switch (op) {
    case KWNN_MERGE_SUBTRACT: return a - b;
    case KWNN_MERGE_MULTIPLY: return a * b;
    case KWNN_MERGE_MAXIMUM: return a > b ? a : b;
    case KWNN_MERGE_MINIMUM: return a < b ? a : b;
    default: return a + b; /* add, average */
    }
}

/* Index in input `in` (broadcast to out's shape) of out's element k. */
static size_t kwnn__bcast(const kwnn__node *out, const kwnn__node *in, size_t k)
{
    size_t idx = 0, stride = 1;
    uint32_t d = out->nd, lead = out->nd - in->nd;
    while (d-- > 0) {
        size_t dim = out->shape[d], pos = k % dim;
        k /= dim;
        if (d >= lead) {
            size_t idim = in->shape[d - lead];
            if (idim != 1) idx += pos * stride;
            stride *= idim;
        }
    }
    return idx;
}

static void kwnn__merge_run(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L)
{
    const kwnn_net *net = rt->net;
    float *y = kwnn__dst(rt, (uint32_t)(x - net->nodes_));
    size_t n = x->count, b, k;
    uint32_t i;
    for (i = 0; i < x->n_in; i++) {
        uint32_t id = net->edges_[x->first_in + i];
        const kwnn__node *in = &net->nodes_[id];
        const float *v = kwnn__src(rt, id);
        for (b = 0; b < rt->batch; b++) {
            float *yb = y + b * n;
            const float *vb = v + b * in->count;
            if (in->count == n) {
                if (i == 0) memcpy(yb, vb, n * sizeof *yb);
                else if (L->op == KWNN_MERGE_SCALED_ADD) /* shapes equal: checked at load */
                    for (k = 0; k < n; k++) yb[k] += vb[k] * L->epsilon;
                else
                    for (k = 0; k < n; k++) yb[k] = kwnn__merge_op(L->op, yb[k], vb[k]);
            } else {
                for (k = 0; k < n; k++) {
                    float s = vb[kwnn__bcast(x, in, k)];
                    yb[k] = i == 0 ? s : kwnn__merge_op(L->op, yb[k], s);
                }
            }
        }
    }
    if (L->op == KWNN_MERGE_AVERAGE)
        for (k = 0; k < n * rt->batch; k++) y[k] /= (float)x->n_in;
}

static void kwnn__concat_run(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L)
{
    const kwnn_net *net = rt->net;
    float *y = kwnn__dst(rt, (uint32_t)(x - net->nodes_));
    size_t outer = 1, b, o, inner, d;
    uint32_t i;
    for (d = 0; d < L->units + (L->td > 0); d++) outer *= x->shape[d]; /* td: the node has the steps first */
    for (b = 0; b < rt->batch; b++)
        for (o = 0; o < outer; o++)
            for (i = 0; i < x->n_in; i++) {
                uint32_t id = net->edges_[x->first_in + i];
                const kwnn__node *in = &net->nodes_[id];
                inner = in->count / outer;
                memcpy(y, kwnn__src(rt, id) + b * in->count + o * inner, inner * sizeof *y);
                y += inner;
            }
}

/* 1 / max(|x|, 1e-7) over the fiber x[p, :, q] of a (pre, K, post) view. */
static float kwnn__inv_norm(const float *x, size_t K, size_t post)
{
    float s = 0.0f, nrm;
    size_t k;
    for (k = 0; k < K; k++) s += x[k * post] * x[k * post];
    nrm = sqrtf(s);
    return nrm > 1e-7f ? nrm : 1e-7f;
}

static void kwnn__dot_run(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L)
{
    const kwnn_net *net = rt->net;
    uint32_t ia = net->edges_[x->first_in], ib = net->edges_[x->first_in + 1], d;
    const kwnn__node *A = &net->nodes_[ia], *B = &net->nodes_[ib];
    const float *a = kwnn__src(rt, ia), *bv = kwnn__src(rt, ib);
    float *y = kwnn__dst(rt, (uint32_t)(x - net->nodes_));
    size_t K = A->shape[L->kh], pre1 = 1, post1 = 1, pre2 = 1, post2 = 1, b, p1, q1, p2, q2, k;
    for (d = 0; d < A->nd; d++) {
        if (d < L->kh) pre1 *= A->shape[d];
        if (d > L->kh) post1 *= A->shape[d];
    }
    for (d = 0; d < B->nd; d++) {
        if (d < L->kw) pre2 *= B->shape[d];
        if (d > L->kw) post2 *= B->shape[d];
    }
    for (b = 0; b < rt->batch; b++) {
        const float *ab = a + b * A->count, *bb = bv + b * B->count;
        float *yb = y + b * x->count;
        for (p1 = 0; p1 < pre1; p1++)
            for (q1 = 0; q1 < post1; q1++) {
                const float *fa = ab + p1 * K * post1 + q1;
                float na = L->same ? kwnn__inv_norm(fa, K, post1) : 1.0f;
                for (p2 = 0; p2 < pre2; p2++)
                    for (q2 = 0; q2 < post2; q2++) {
                        const float *fb = bb + p2 * K * post2 + q2;
                        float nb = L->same ? kwnn__inv_norm(fb, K, post2) : 1.0f, s = 0.0f;
                        if (L->same)
                            for (k = 0; k < K; k++) s += (fa[k * post1] / na) * (fb[k * post2] / nb);
                        else
                            for (k = 0; k < K; k++) s += fa[k * post1] * fb[k * post2];
                        *yb++ = s;
                    }
            }
    }
}

/* An attention call's implicit masks (61_implicit_masks.h): the inputs after its own; NULL: none. */
static const kwnn__amask *kwnn__im_masks(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L, kwnn__amask *am)
{
    const uint32_t *e = rt->net->edges_ + x->first_in + x->n_in - kwnn__imask_count(x);
    size_t T = L->kind == KWNN_LAYER_MHA ? L->in_count / L->in_shape[L->in_ndim - 1] : L->in_shape[0];
    if (x->imask == 0) return NULL;
    am->q = am->v = NULL;
    am->qs = am->vs = 0;
    if (x->imask & 1u) {
        am->q = kwnn__src(rt, *e);
        am->qs = rt->net->nodes_[*e++].count / T;
    }
    if (x->imask & 2u) {
        am->v = kwnn__src(rt, *e);
        am->vs = rt->net->nodes_[*e].count / L->sh;
    }
    return am;
}

/* The computing node at run position p; a run error (an input value a layer cannot take) stops the run. */
static kwnn_result kwnn__run_node(const kwnn__rt *rt, uint32_t p)
{
    uint32_t id = rt->net->order_[p];
    const kwnn__node *x = &rt->net->nodes_[id];
    const kwnn_layer *L = rt->call_layers != NULL ? &rt->call_layers[p] : &rt->net->layers[x->layer];
    const float *in[5] = {NULL, NULL, NULL, NULL, NULL};
    uint32_t i;
    size_t nb;
    const float *mask;
    kwnn__amask am;
    kwnn_layer stepped;
    kwnn_result res;
    if (x->kind == KWNN__N_PART) { /* a copy out of a recurrent call's outputs */
        const kwnn__node *from = &rt->net->nodes_[rt->net->edges_[x->first_in]];
        const float *src = kwnn__src(rt, rt->net->edges_[x->first_in]);
        float *dst = kwnn__dst(rt, id);
        size_t shape[KWNN_MAX_DIMS], offset, b;
        uint32_t nd;
        kwnn__rnn_part(L, x->part, shape, &nd, &offset);
        for (b = 0; b < rt->batch; b++) memcpy(dst + b * x->count, src + b * from->count + offset, x->count * sizeof *dst);
        return KWNN_OK;
    }
    for (i = 0; i < x->n_in && i < 5; i++) in[i] = kwnn__src(rt, rt->net->edges_[x->first_in + i]);
    mask = x->masked || (x->imask & 4u) ? kwnn__src(rt, rt->net->edges_[x->first_in + x->n_in - 1]) : NULL;
    if (x->imask & 4u) { /* an implicit mask (61_implicit_masks.h): its source's features per step */
        stepped = *L;
        stepped.mult = rt->net->nodes_[rt->net->edges_[x->first_in + x->n_in - 1]].count / L->in_shape[0];
        L = &stepped;
    }
    nb = L->td > 0 ? rt->batch * L->td : rt->batch; /* TimeDistributed: the steps are the wrapped layer's batch */
    if (kwnn__recurrent_run(L, in, mask != NULL ? x->n_in - 1 : x->n_in, mask, kwnn__dst(rt, id), rt->work, nb, &res))
        return res;
    if (mask != NULL && L->kind == KWNN_LAYER_GLOBAL_AVGPOOL) {
        kwnn__masked_mean(L, in[0], mask, kwnn__dst(rt, id), rt->batch);
        return KWNN_OK;
    }
    switch (L->kind) {
    case KWNN_LAYER_MERGE: kwnn__merge_run(rt, x, L); break;
    case KWNN_LAYER_CONCAT: kwnn__concat_run(rt, x, L); break;
    case KWNN_LAYER_DOT: kwnn__dot_run(rt, x, L); break;
    case KWNN_LAYER_MHA: case KWNN_LAYER_ATTENTION: case KWNN_LAYER_OP: /* 46_attention.h, 47_ops.h */
        if (L->kind == KWNN_LAYER_OP) kwnn__op_run(L, in, kwnn__dst(rt, id), nb);
        else kwnn__attention_call(L, in, x->n_in - kwnn__imask_count(x), kwnn__dst(rt, id), rt->work,
                                  kwnn__im_masks(rt, x, L, &am), nb);
        break;
    default: {
        kwnn__ex ex;
        ex.opt = &rt->net->opt_;
        ex.work = rt->work;
        kwnn__run_layer(L, in[0], kwnn__dst(rt, id), nb, &ex);
        break;
    }
    }
    return KWNN_OK;
}

static void *kwnn__align64(void *p)
{
    size_t mis = (size_t)((uintptr_t)p % 64);
    return (unsigned char *)p + (mis ? 64 - mis : 0);
}

/* Every node in run order, then the outputs not written in place (rt->arena set). */
static kwnn_result kwnn__run_all(kwnn__rt *rt)
{
    const kwnn_net *net = rt->net;
    uint32_t i;
    rt->work = rt->arena != NULL ? rt->arena + net->work_ * rt->batch : NULL;
    for (i = 0; i < net->order_count_; i++) {
        kwnn_result res = kwnn__run_node(rt, i);
        if (res != KWNN_OK) return res;
    }
    for (i = 0; i < net->num_outputs; i++) {
        const kwnn__node *o = &net->nodes_[net->outputs_[i]], *r = &net->nodes_[o->root];
        if (r->where == KWNN__AT_OUTPUT && r->slot == i) continue;
        memcpy(rt->outputs[i], kwnn__src(rt, net->outputs_[i]), o->count * rt->batch * sizeof(float));
    }
    return KWNN_OK;
}

KWNN_API kwnn_result kwnn_run_multi(const kwnn_net *net, const float *const *inputs, const size_t *in_counts,
                                    float *const *outputs, const size_t *out_counts, void *scratch,
                                    size_t scratch_size, int batch)
{
    kwnn__rt rt;
    size_t need, want;
    uint32_t i;
    if (net == NULL || net->layers == NULL || batch < 1 || inputs == NULL || in_counts == NULL ||
        outputs == NULL || out_counts == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    if (net->variable) return KWNN_ERR_SHAPE; /* a None axis: its length comes with kwnn_run_shapes */
    for (i = 0; i < net->num_inputs; i++) {
        if (inputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
        if ((want = kwnn__bytes(net->nodes_[net->inputs_[i]].count, batch)) == KWNN__SIZE_MAX)
            return KWNN_ERR_OVERFLOW;
        if (in_counts[i] != want / sizeof(float)) return KWNN_ERR_SIZE;
    }
    for (i = 0; i < net->num_outputs; i++) {
        if (outputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
        if ((want = kwnn__bytes(net->nodes_[net->outputs_[i]].count, batch)) == KWNN__SIZE_MAX)
            return KWNN_ERR_OVERFLOW;
        if (out_counts[i] != want / sizeof(float)) return KWNN_ERR_SIZE;
    }
    need = kwnn_scratch_size(net, batch);
    if (need == KWNN__SIZE_MAX) return KWNN_ERR_OVERFLOW;
    if (scratch_size < need || (need > 0 && scratch == NULL)) return KWNN_ERR_SCRATCH;
    rt.net = net;
    rt.inputs = inputs;
    rt.outputs = outputs;
    rt.batch = (size_t)batch;
    rt.arena = NULL;
    rt.call_layers = NULL;
    if (need > 0) rt.arena = (float *)kwnn__align64(scratch);
    return kwnn__run_all(&rt);
}

KWNN_API kwnn_result kwnn_run(const kwnn_net *net, const float *input, size_t in_count, float *output,
                              size_t out_count, void *scratch, size_t scratch_size, int batch)
{
    if (net == NULL || net->layers == NULL || batch < 1 || input == NULL || output == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    if (net->num_inputs != 1 || net->num_outputs != 1) return KWNN_ERR_ARITY;
    return kwnn_run_multi(net, &input, &in_count, &output, &out_count, scratch, scratch_size, batch);
}


/* ---- implicit masks: the masks Keras 3 passes at run time without recording them ---- */

/* Keras 3 records a mask in the graph only where a layer's call took it as its one keyword
   (48_masking.h).  Attention, AdditiveAttention and MultiHeadAttention take theirs at run time
   from their inputs' tensors (_keras_mask), which each layer sets from its inputs' masks as its
   compute_mask says.  This pass follows those masks over the graph, in run order, as Keras 3.x
   (checked against 3.15) does:
   - a mask_zero Embedding makes one (its ids != 0), so does Masking (any(x != 0) of its output;
     mask_value 0 only); a layer called with a recorded mask passes that one on as its class
     says (an RNN with return_sequences, a Bidirectional of one);
   - Dense, Dropout & co, the activation layers, the normalization layers, Rescaling and
     Normalization pass their input's mask on (supports_masking);
   - Add, Subtract, Multiply, Average: the OR of their inputs' masks, none when one has none;
     Concatenate on the last axis: the same (an input without a mask counts as all ones);
   - Attention, AdditiveAttention and MultiHeadAttention give their query's mask;
   - every other layer, a Keras 3 operation node and GlobalAveragePooling1D give none;
   - MultiHeadAttention removes the masks of its query, value and key tensors while it runs:
     a reader of one of those tensors that Keras runs later sees none.  Keras runs the graph by
     depth (the longest path to an output, the deepest first), so a reader deeper than the
     attention layer sees the mask, a shallower one does not; one of equal depth is refused,
     and so is every such reader in a graph with a shared layer or a nested model (Keras's
     depths there are not the longest paths of the unrolled graph).
   Keras 1 / 2 files (tf.keras 2.x) record no mask at all; there (kwnn__im_layer2, as tf.keras
   2.21 does; Keras 1 and standalone Keras 2 assumed alike) the recurrent layers, Bidirectional
   and GlobalAveragePooling1D take theirs here too, merges AND the masks they get, fewer layers
   pass a mask on (Rescaling, Normalization, Identity drop it) and MultiHeadAttention removes
   nothing.
   Where a mask reaches a layer that honours it (Attention & co), the pass adds the mask's
   source as one more input (the edges kept spare at pass 1): any(source[t, :] != 0) is step t's
   mask.  A mask it cannot represent (the OR of two different masks, Masking with another
   mask_value, Concatenate over the time axis, Maximum / Minimum, whose values a mask changes)
   is refused at the first layer whose result it would change. */

#define KWNN__IM_NONE 0xFFFFFFFFu  /* no mask */
#define KWNN__IM_OR 0xFFFFFFFEu    /* the OR of different masks */
#define KWNN__IM_VALUE 0xFFFFFFFDu /* Masking with a mask_value other than 0 */
#define KWNN__IM_AXIS 0xFFFFFFFCu  /* a concatenation along the masked axis */
#define KWNN__IM_ORDER 0xFFFFFFFBu /* removed by a MultiHeadAttention Keras may run before or after */
#define KWNN__IM_BAD(m) ((m) >= KWNN__IM_ORDER && (m) != KWNN__IM_NONE)

/* Layers whose call takes a mask: given one Keras does not record, they are refused. */
static const char *const kwnn__im_users[] = {"SimpleRNN", "LSTM", "GRU", "Bidirectional", "GlobalAveragePooling1D",
                                             "GlobalAvgPool1D", "Softmax", "TimeDistributed", NULL};

static const char *kwnn__im_why(uint32_t m)
{
    switch (m) {
    case KWNN__IM_OR: return "the combination of two different masks";
    case KWNN__IM_VALUE: return "the mask of a Masking layer whose mask_value is not 0";
    case KWNN__IM_AXIS: return "the mask of a concatenation along the time axis";
    default: return "a mask that MultiHeadAttention removes from its inputs, for a layer Keras may run before "
                    "or after it (the two are at one depth of the graph, or a shared layer or a nested model "
                    "leaves Keras's order unclear)";
    }
}

static kwnn_result kwnn__im_refuse(kwnn__ctx *c, const kwb_layer *L, uint32_t m)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported implicit mask: ");
    kwnn__m(c->net, kwnn__im_why(m));
    kwnn__m(c->net, " reaches it (Keras passes it at run time; the config does not record it)");
    return KWNN_ERR_UNSUPPORTED;
}

/* The mask reader y sees on its input x: x's, unless a MultiHeadAttention that Keras runs before
   y removed it (depth, clear, many: see kwnn__implicit_masks). */
static uint32_t kwnn__im_seen(const kwnn__ctx *c, const uint32_t *msrc, const uint32_t *depth, const uint32_t *clear,
                              const uint32_t *many, uint32_t x, uint32_t y, int uncertain)
{
    const kwnn__node *n = &c->net->nodes_[y];
    int mha = n->kind == KWNN__N_LAYER && c->net->layers[n->layer].kind == KWNN_LAYER_MHA;
    if (msrc[x] == KWNN__IM_NONE || clear[x] == KWNN__IM_NONE) return msrc[x];
    if (mha && depth[y] == clear[x] && many[x] == 1) return msrc[x]; /* the attention layer itself */
    if (uncertain) return KWNN__IM_ORDER;
    if (depth[y] > clear[x]) return msrc[x];
    if (depth[y] < clear[x]) return KWNN__IM_NONE;
    return KWNN__IM_ORDER;
}

/* The OR of two masks (a: so far, KWNN__IM_NONE for all ones when `ones`). */
static uint32_t kwnn__im_or(uint32_t a, uint32_t b)
{
    if (KWNN__IM_BAD(a)) return a;
    if (KWNN__IM_BAD(b)) return b;
    return a == b ? a : KWNN__IM_OR;
}

/* Is mask m of a shape one value per step of node x (its first axis), for layer L? */
static kwnn_result kwnn__im_fits(kwnn__ctx *c, const kwb_layer *L, uint32_t m, uint32_t x)
{
    const kwnn__node *s = &c->net->nodes_[m], *v = &c->net->nodes_[x];
    if (v->nd == 2 && s->nd >= 1 && s->shape[0] == v->shape[0]) return KWNN_OK;
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its input ");
    kwnn__m_shape(c->net, v->shape, v->nd);
    kwnn__m(c->net, " takes a mask of one value per step, and the mask reaching it comes from ");
    kwnn__m_shape(c->net, s->shape, s->nd);
    return KWNN_ERR_SHAPE;
}

/* Attention & co: their query's and value's masks as inputs after theirs; their result's mask. */
static kwnn_result kwnn__im_attention(kwnn__ctx *c, const kwb_layer *L, uint32_t id, const uint32_t *seen,
                                      uint32_t *out)
{
    kwnn__node *x = &c->net->nodes_[id];
    uint32_t *e = c->net->edges_ + x->first_in, n = x->n_in, q = seen[0], v = seen[1];
    kwnn_result r;
    if (c->net->layers[x->layer].kind == KWNN_LAYER_MHA && n > 2 && seen[2] != KWNN__IM_NONE)
        v = v == KWNN__IM_NONE ? seen[2] : kwnn__im_or(v, seen[2]); /* the key's mask ANDs with the value's */
    if (KWNN__IM_BAD(q)) return kwnn__im_refuse(c, L, q);
    if (KWNN__IM_BAD(v)) return kwnn__im_refuse(c, L, v);
    if (q != KWNN__IM_NONE) {
        if ((r = kwnn__im_fits(c, L, q, e[0])) != KWNN_OK) return r;
        e[n++] = q;
        x->imask |= 1u;
    }
    if (v != KWNN__IM_NONE) {
        if ((r = kwnn__im_fits(c, L, v, e[1])) != KWNN_OK) return r;
        e[n++] = v;
        x->imask |= 2u;
    }
    x->n_in = n;
    *out = q;
    return KWNN_OK;
}

/* Keras 1 / 2: a recurrent layer or GlobalAveragePooling1D takes its input's mask as one more
   input (the edge kept spare); the mask of its result. */
static kwnn_result kwnn__im_stepped(kwnn__ctx *c, const kwb_layer *L, uint32_t id, uint32_t m, uint32_t *out)
{
    kwnn__node *x = &c->net->nodes_[id];
    const kwnn_layer *K = &c->net->layers[x->layer];
    int rnn = K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU;
    kwnn_result r;
    *out = KWNN__IM_NONE;
    if (m == KWNN__IM_NONE) return KWNN_OK;
    if (KWNN__IM_BAD(m)) return kwnn__im_refuse(c, L, m);
    if (K->channels_first || K->td > 0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask with data_format channels_first");
    if ((r = kwnn__im_fits(c, L, m, c->net->edges_[x->first_in])) != KWNN_OK) return r;
    c->net->edges_[x->first_in + x->n_in++] = m;
    x->imask |= 4u;
    if (rnn && (K->op & KWNN__RNN_SEQUENCES)) *out = m;
    return KWNN_OK;
}

/* Keras 1 / 2 (tf.keras 2.x): the mask of call `id`'s result.  Nothing is recorded: the recurrent
   layers, Bidirectional and GlobalAveragePooling1D take it here; a merge gives the AND of the
   masks its inputs have (none when none has one); no MultiHeadAttention removes masks. */
static kwnn_result kwnn__im_layer2(kwnn__ctx *c, const kwb_layer *L, uint32_t id, const uint32_t *seen, uint32_t n,
                                   uint32_t *out)
{
    const kwnn__node *x = &c->net->nodes_[id];
    const kwnn_layer *K = &c->net->layers[x->layer];
    uint32_t i, m = n > 0 ? seen[0] : KWNN__IM_NONE;
    *out = KWNN__IM_NONE;
    if (x->masked) return KWNN_OK; /* a mask the config records (a tensor keyword) */
    if (K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU) {
        if (K->td > 0 && m != KWNN__IM_NONE)
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask reaching a wrapped recurrent layer");
        return kwnn__im_stepped(c, L, id, m, out);
    }
    if (K->kind == KWNN_LAYER_GLOBAL_AVGPOOL && K->spatial == 1) return kwnn__im_stepped(c, L, id, m, out);
    if (kwnn__is_class(L, kwnn__im_passers2)) {
        *out = m;
        return KWNN_OK;
    }
    if (K->kind == KWNN_LAYER_MERGE || K->kind == KWNN_LAYER_CONCAT) {
        int last = K->kind == KWNN_LAYER_MERGE || K->units + 1 == K->out_ndim;
        m = KWNN__IM_NONE;
        for (i = 0; i < n; i++)
            if (seen[i] != KWNN__IM_NONE) m = m == KWNN__IM_NONE ? seen[i] : kwnn__im_or(m, seen[i]);
        *out = m != KWNN__IM_NONE && !last ? KWNN__IM_AXIS : m;
    }
    return KWNN_OK; /* every other layer drops the mask (or, in Keras 2.0-2.2, refuses it when built) */
}

/* The mask of call `id`'s result (layer L), from the masks its inputs carry (seen). */
static kwnn_result kwnn__im_layer(kwnn__ctx *c, const kwb_layer *L, uint32_t id, const uint32_t *seen, uint32_t n,
                                  uint32_t *out)
{
    kwnn__node *x = &c->net->nodes_[id];
    const kwnn_layer *K = &c->net->layers[x->layer];
    kwnn__json cfg, v;
    uint32_t i, m;
    int on = 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    *out = KWNN__IM_NONE;
    if (x->masked) { /* a recorded mask: the RNN's goes on with its sequences */
        if ((K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU) &&
            (K->op & KWNN__RNN_SEQUENCES))
            *out = c->net->edges_[x->first_in + x->n_in - 1];
        return KWNN_OK;
    }
    if (x->call.p != NULL) return KWNN_OK; /* an operation node: Keras sets no mask on its result */
    if (strcmp(L->class_name, "Embedding") == 0) {
        if (kwnn__get(cfg, "mask_zero", &v) && kwnn__bool(v, &on) && on) *out = c->net->edges_[x->first_in];
        return KWNN_OK;
    }
    if (strcmp(L->class_name, "Masking") == 0) {
        *out = K->op_args != NULL && K->op_args->lo == 0.0f ? id : KWNN__IM_VALUE;
        return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__unrecorded_mask_classes)) return kwnn__im_attention(c, L, id, seen, out);
    if (c->keras2_file) return kwnn__im_layer2(c, L, id, seen, n, out);
    m = n > 0 ? seen[0] : KWNN__IM_NONE;
    if (n > 1 && (K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU)) {
        /* with initial_state (several tensors) Keras passes no mask= (only NAME_mask=); its
           result still carries its input's mask when it returns sequences */
        *out = (K->op & KWNN__RNN_SEQUENCES) ? m : KWNN__IM_NONE;
        return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__im_users)) {
        if (m != KWNN__IM_NONE && (K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM ||
                                   K->kind == KWNN_LAYER_GRU || K->kind == KWNN_LAYER_GLOBAL_AVGPOOL))
            return kwnn__im_stepped(c, L, id, m, out); /* called with training= & co: the mask all the same */
        if (m != KWNN__IM_NONE)
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                              "unsupported mask given at run time: Keras passes it a mask (mask_zero or Masking "
                              "upstream) that its call in the config does not record (a call with other keyword "
                              "arguments, e.g. training=); call it with its input alone");
        if (strcmp(L->class_name, "Softmax") != 0) return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__im_passers)) {
        *out = m;
        return KWNN_OK;
    }
    if (K->kind == KWNN_LAYER_MERGE && K->op != KWNN_MERGE_SCALED_ADD) { /* (a custom layer: no mask) */
        int minmax = K->op == KWNN_MERGE_MAXIMUM || K->op == KWNN_MERGE_MINIMUM;
        for (i = 0; i < n; i++) {
            if (seen[i] != KWNN__IM_NONE && minmax)
                return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                                  "unsupported masked input (Keras 3 fills the masked steps of Maximum and "
                                  "Minimum from the other inputs)");
            if (seen[i] == KWNN__IM_NONE) return KWNN_OK;
            m = kwnn__im_or(m, seen[i]);
        }
        *out = m;
        return KWNN_OK;
    }
    if (K->kind == KWNN_LAYER_CONCAT) {
        int any = 0, last = K->units + 1 == K->out_ndim; /* the per-sample axis: the features */
        for (i = 0; i < n; i++) any |= seen[i] != KWNN__IM_NONE;
        if (!any) return KWNN_OK;
        if (!last) {
            *out = KWNN__IM_AXIS;
            return KWNN_OK;
        }
        for (i = 0; i < n; i++) {
            if (seen[i] == KWNN__IM_NONE) return KWNN_OK; /* all ones: as no mask */
            m = kwnn__im_or(m, seen[i]);
        }
        *out = m;
    }
    return KWNN_OK; /* every other layer drops the mask */
}

/* The pass (after the shapes, before the plan): see the top of this part. */
static kwnn_result kwnn__implicit_masks(kwnn__ctx *c, uint32_t n_order)
{
    kwnn_net *net = c->net;
    uint32_t N = c->nodes_used, p, i, j, id;
    uint32_t *depth = c->stack, *clear = c->stack + N, *many = c->live, *msrc = c->stack2, seen[8];
    int uncertain = 0; /* a shared layer or a nested model: Keras's run order is not followed here */
    kwnn_result r;
    if (!c->mask_producer || N == 0 || c->stack_cap < 2 * (size_t)N) return KWNN_OK;
    for (i = 0; i < N; i++) {
        depth[i] = 0;
        clear[i] = msrc[i] = KWNN__IM_NONE;
        many[i] = 0;
        uncertain |= net->nodes_[i].kind == KWNN__N_ALIAS ||
                     (net->nodes_[i].kind == KWNN__N_LAYER && net->layers[net->nodes_[i].layer].calls > 1);
    }
    /* Keras's depth: the longest path to an output (a PART or an alias is no call of its own) */
    for (p = n_order; p-- > 0;) {
        const kwnn__node *x = &net->nodes_[net->order_[p]];
        uint32_t w = x->kind == KWNN__N_PART || x->kind == KWNN__N_ALIAS ? 0 : 1;
        for (i = 0; i < x->n_in; i++) {
            uint32_t y = net->edges_[x->first_in + i];
            if (depth[y] < depth[net->order_[p]] + w) depth[y] = depth[net->order_[p]] + w;
        }
    }
    /* the deepest MultiHeadAttention reading each tensor (it removes the tensor's mask) */
    for (p = 0; p < n_order; p++) {
        const kwnn__node *x = &net->nodes_[id = net->order_[p]];
        if (c->keras2_file || x->kind != KWNN__N_LAYER || net->layers[x->layer].kind != KWNN_LAYER_MHA) continue;
        for (i = 0; i < x->n_in; i++) {
            uint32_t y = net->edges_[x->first_in + i], dup = 0;
            for (j = 0; j < i; j++) dup |= net->edges_[x->first_in + j] == y;
            if (dup) continue;
            if (clear[y] == KWNN__IM_NONE || depth[id] > clear[y]) {
                clear[y] = depth[id];
                many[y] = 1;
            } else if (depth[id] == clear[y]) {
                many[y]++;
            }
        }
    }
    for (p = 0; p < n_order; p++) {
        kwnn__node *x = &net->nodes_[id = net->order_[p]];
        kwb_layer L;
        uint32_t n = x->n_in < 8 ? x->n_in : 8;
        if (x->kind == KWNN__N_ALIAS) {
            msrc[id] = kwnn__im_seen(c, msrc, depth, clear, many, net->edges_[x->first_in], id, uncertain);
            continue;
        }
        if (x->kind == KWNN__N_PART) { /* a recurrent call's outputs: its sequences carry its mask */
            const kwnn_layer *K = &net->layers[x->layer];
            uint32_t mains = (K->op & KWNN__RNN_SPLIT) ? 2 : 1;
            msrc[id] = x->part < mains ? msrc[net->edges_[x->first_in]] : KWNN__IM_NONE;
            continue;
        }
        if (x->kind != KWNN__N_LAYER || kwb_get_layer(c->f, x->layer, &L) != KWB_OK) continue;
        for (i = 0; i < n; i++)
            seen[i] = kwnn__im_seen(c, msrc, depth, clear, many, net->edges_[x->first_in + i], id, uncertain);
        if ((r = kwnn__im_layer(c, &L, id, seen, n, &msrc[id])) != KWNN_OK) return r;
    }
    return KWNN_OK;
}

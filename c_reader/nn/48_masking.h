/* ---- masking: Embedding(mask_zero=True), Masking, and the layers that honour a mask ---- */

/* Keras 3 writes a functional model's masks into its graph: Embedding(mask_zero=True) as a
   NotEqual(ids, 0) operation node, Masking as Any(NotEqual(x, mask_value), axis=-1), each passed
   to the next layers that take one as the call's keyword argument mask=.  The graph makes it the
   call's last input (a 0 / 1 value per time step, 47_ops.h computes it); the layers below honour
   it as Keras does, every other layer called with a mask is refused.  A Sequential records no
   mask, so there a mask reaching such a layer is refused too (kwnn__chain_mask). */

/* Does this call's kwargs hold a mask tensor? */
static int kwnn__call_masked(kwnn__json kw)
{
    kwnn__json v, first;
    size_t n = 0;
    if (kw.p == NULL || !kwnn__get(kw, "mask", &v)) return 0;
    kwnn__refs(v, 0, &n, &first);
    return n > 0;
}

/* The classes that honour a mask: RNN layers skip masked steps, global average pooling leaves them out. */
static const char *const kwnn__mask_classes[] = {"SimpleRNN", "LSTM", "GRU", "Bidirectional",
                                                 "GlobalAveragePooling1D", "GlobalAvgPool1D", NULL};

/* Is this model-config entry a mask_zero Embedding or a Masking layer? */
static int kwnn__mask_producer(kwnn__json entry)
{
    kwnn__json cls, cfg, v;
    int on = 0;
    if (!kwnn__get(entry, "class_name", &cls)) return 0;
    if (kwnn__jstr_is(cls, "Masking")) return 1;
    return kwnn__jstr_is(cls, "Embedding") && kwnn__get(entry, "config", &cfg) && kwnn__get(cfg, "mask_zero", &v) &&
           kwnn__bool(v, &on) && on;
}

/* Layers that Keras 3 gives a mask at run time without recording it in the config (a list of
   inputs; MultiHeadAttention reads its inputs' masks itself). */
static const char *const kwnn__unrecorded_mask_classes[] = {"Attention", "AdditiveAttention", "MultiHeadAttention",
                                                            NULL};

/* Edges a call of this model-config entry keeps spare for its implicit masks
   (61_implicit_masks.h): two for the attention layers (the query's, the value's), one for the
   layers that honour a mask (a Keras 1 / 2 file's RNN gets its mask so). */
static uint32_t kwnn__mask_spare(kwnn__json entry)
{
    kwnn__json cls;
    size_t i;
    if (!kwnn__get(entry, "class_name", &cls)) return 0;
    for (i = 0; kwnn__unrecorded_mask_classes[i] != NULL; i++)
        if (kwnn__jstr_is(cls, kwnn__unrecorded_mask_classes[i])) return 2;
    for (i = 0; kwnn__mask_classes[i] != NULL; i++)
        if (kwnn__jstr_is(cls, kwnn__mask_classes[i])) return 1;
    return 0;
}

/* How many implicit masks follow node x's inputs (bits 1, 2: an attention layer's query and
   value masks; 4: the step mask of a recurrent or pooling layer). */
static uint32_t kwnn__imask_count(const kwnn__node *x)
{
    return (x->imask & 1u) + ((x->imask >> 1) & 1u) + ((x->imask >> 2) & 1u);
}

/* Is this model-config entry of a class that honours a mask (it may take one more input)? */
static int kwnn__mask_entry(kwnn__json entry)
{
    kwnn__json cls;
    size_t i;
    if (!kwnn__get(entry, "class_name", &cls)) return 0;
    for (i = 0; kwnn__mask_classes[i] != NULL; i++)
        if (kwnn__jstr_is(cls, kwnn__mask_classes[i])) return 1;
    return 0;
}

/* A layer called with mask=: its class must honour it and the mask be one value per time step.
   (The masks Keras passes without recording them: 61_implicit_masks.h.) */
static kwnn_result kwnn__mask_input(kwnn__ctx *c, const kwb_layer *L)
{
    const struct kwnn__node *x, *m;
    kwnn__json cfg, v;
    if (!c->masked) return KWNN_OK;
    if (!kwnn__is_class(L, kwnn__mask_classes))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "is called with a mask (mask_zero or Masking upstream) that it cannot honour");
    if (c->n_ins != 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "takes one input and one mask");
    x = kwnn__in_node(c, 0);
    m = kwnn__in_node(c, 1);
    if (x->nd != 2 || m->nd != 1 || m->shape[0] != x->shape[0]) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its mask has shape ");
        kwnn__m_shape(c->net, m->shape, m->nd);
        kwnn__m(c->net, ", its input ");
        kwnn__m_shape(c->net, x->shape, x->nd);
        kwnn__m(c->net, " (a mask is one value per time step)");
        return KWNN_ERR_SHAPE;
    }
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if (kwnn__get(cfg, "data_format", &v) && kwnn__jstr_is(v, "channels_first"))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask with data_format channels_first");
    c->n_ins = 1; /* the loader sees its input; the runner takes the mask as the last input */
    return KWNN_OK;
}

/* GlobalAveragePooling1D with a mask: sum over the unmasked steps / their count (0 / 0 when all
   are masked, as Keras). */
static void kwnn__masked_mean(const kwnn_layer *L, const float *x, const float *mask, float *y, size_t batch)
{
    size_t T = L->in_shape[0], C = L->in_shape[1], b, t, k;
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * T * C;
        float *yb = y + b * C, n = 0.0f;
        for (k = 0; k < C; k++) yb[k] = 0.0f;
        for (t = 0; t < T; t++) {
            if (kwnn__mask_off(L, mask, b * T + t)) continue;
            n += 1.0f;
            for (k = 0; k < C; k++) yb[k] += xb[t * C + k];
        }
        for (k = 0; k < C; k++) yb[k] /= n;
    }
}

/* Masking: mask_value (0); a step whose features all equal it becomes zeros (y = where(any(x !=
   v, axis=-1), x, 0)).  Its mask reaches the next layers through the graph's own nodes. */
static kwnn_result kwnn__load_masking(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    struct kwnn__op *o = NULL;
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    double v;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "mask_value", NULL, 0.0, &v)) != KWNN_OK ||
        (r = kwnn__op_struct(c, L, &o)) != KWNN_OK || o == NULL)
        return r != KWNN_OK ? r : kwnn__oom(c);
    if (x->nd == 0) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input with features");
    o->code = KWNN__O_MASKING;
    o->lo = (float)v;
    o->nd = x->nd;
    memcpy(o->shape, x->shape, sizeof o->shape);
    o->count = x->count;
    o->rshape[0] = x->shape[x->nd - 1];
    o->n_args = 1;
    o->arg[0].count = x->count;
    out->kind = KWNN_LAYER_OP;
    out->op_args = o;
    return KWNN_OK;
}

/* Layers whose mask goes on unchanged (supports_masking and the default compute_mask), as measured
   on Keras 3 and on tf.keras 2.21; the implicit masks (61_implicit_masks.h) and, for Keras 1 / 2
   files, the Sequential chain below use them. */
static const char *const kwnn__im_passers[] = {
    "Dense", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Identity", "ActivityRegularization", "Activation", "ReLU", "LeakyReLU",
    "ELU", "PReLU", "Softmax", "LayerNormalization", "UnitNormalization", "GroupNormalization",
    "BatchNormalization", "Rescaling", "Normalization", NULL};

/* Keras 2 (tf.keras 2.x; Keras 1 and 2.x assumed alike). */
static const char *const kwnn__im_passers2[] = {
    "Dense", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "ELU",
    "PReLU", "ThresholdedReLU", "LayerNormalization", "BatchNormalization", "UnitNormalization",
    "TimeDistributed", NULL};

/* Does this layer keep passing the mask on unchanged (supports_masking, values per step)? */
static const char *const kwnn__mask_passers[] = {
    "Dense", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Identity",
    "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "LayerNormalization",
    "UnitNormalization", NULL};

/* Does a recurrent layer (or a Bidirectional's) return sequences (then its mask goes on)? */
static int kwnn__returns_sequences(const kwb_layer *L)
{
    kwnn__json cfg, v, inner;
    int on = 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if (kwnn__get(cfg, "layer", &v) && kwnn__get(v, "config", &inner)) cfg = inner; /* Bidirectional */
    return kwnn__get(cfg, "return_sequences", &v) && kwnn__bool(v, &on) && on;
}

/* A Sequential (a chain) records no mask: Keras 3 passes it itself.  Followed here for a
   mask_zero Embedding, whose mask is its ids != 0, so the ids themselves serve as the mask input
   (0: masked): through the layers that pass a mask on unchanged, to the RNN layers and
   GlobalAveragePooling1D that honour it (an RNN's goes on with return_sequences).  *state: 0 no
   mask, 1 the mask is node *src, 2 a mask not followed here (after Masking or another layer):
   a layer that would honour it is refused.  in: the node feeding L; *attach: L takes *src as its
   mask. */
static kwnn_result kwnn__chain_mask(kwnn__ctx *c, const kwb_layer *L, uint32_t in, int *state, uint32_t *src,
                                    int *attach)
{
    static const char *const users[] = {"Attention", "AdditiveAttention", "MultiHeadAttention", "Softmax",
                                        "TimeDistributed", "BatchNormalization", "GroupNormalization", NULL};
    kwnn__json cfg, v;
    int on = 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    *attach = 0;
    if (strcmp(L->class_name, "Embedding") == 0 && kwnn__get(cfg, "mask_zero", &v) && kwnn__bool(v, &on) && on) {
        *state = 1;
        *src = in;
        return KWNN_OK;
    }
    if (strcmp(L->class_name, "Masking") == 0) {
        *state = 2;
        return KWNN_OK;
    }
    if (*state == 0) return KWNN_OK;
    if ((*state == 2 && kwnn__is_class(L, kwnn__mask_classes)) || kwnn__is_class(L, users))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "would take the mask of a mask_zero Embedding or a Masking layer before it in a "
                          "Sequential model, through layers whose effect on it is not followed here (save the "
                          "model as a functional one: its config then records the mask)");
    if (kwnn__is_class(L, kwnn__mask_classes)) {
        *attach = 1;
        if (!kwnn__returns_sequences(L)) *state = 0;
    } else if (!kwnn__is_class(L, kwnn__mask_passers) ||
               (c->keras2_file && !kwnn__is_class(L, kwnn__im_passers2))) { /* tf.keras's Identity drops it */
        *state = 2;
    }
    return KWNN_OK;
}

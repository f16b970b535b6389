/* ---- Embedding and recurrent layers (SimpleRNN, LSTM, GRU) --------------- */

/* The runners below use the dense kernels and activations of 80_run_layers.h. */
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n);
static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows,
                            size_t K, size_t N, const float *KWNN__RESTRICT W,
                            const float *KWNN__RESTRICT bias);
static void kwnn__act(const kwnn_activation *a, const float *x, float *y, size_t n, size_t last);

/* kwnn_layer.op of the recurrent kinds */
#define KWNN__RNN_SEQUENCES 1   /* return_sequences */
#define KWNN__RNN_BACKWARDS 2   /* go_backwards */
#define KWNN__RNN_RESET_AFTER 4 /* GRU reset_after */
#define KWNN__RNN_BIDI 8        /* Bidirectional: the backward layer's weights in bw, bw2, bb */
#define KWNN__RNN_MERGE 16      /* Bidirectional merge mode, times this: 0 concat, 1 sum, 2 mul, 3 ave */
#define KWNN__RNN_ZERO_MASKED 64 /* zero_output_for_mask (Bidirectional: return_sequences) */
#define KWNN__RNN_SPLIT 128     /* Bidirectional merge_mode None: two outputs, forward then backward */
#define KWNN__RNN_NAME 256      /* bytes of a weight name built from a prefix */

/* Embedding: input_dim, output_dim; weight embeddings (input_dim, output_dim).  The ids are
   floats (an int32 input arrives converted); each one is checked when the net runs. */
static kwnn_result kwnn__load_embedding(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                        int arg)
{
    static const char *const names[] = {"embeddings"};
    static const char *const in_keys[] = {"input_dim", NULL}, *const out_keys[] = {"output_dim", NULL};
    size_t dims[2];
    int mask_zero;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__cfg_sizes(c, L, cfg, in_keys, 1, 0, dims)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, out_keys, 1, 0, dims + 1)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "mask_zero", NULL, 0, &mask_zero)) != KWNN_OK)
        return r;
    if (dims[0] == 0 || dims[1] == 0)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config needs input_dim and output_dim");
    (void)mask_zero; /* the mask is the graph's NotEqual node, passed as mask= (48_masking.h) */
    if (c->nd + 1 > KWNN_MAX_DIMS) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "input rank too large");
    if ((r = kwnn__only(c, L, names, 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "embeddings", dims, 2, 0, &out->w)) != KWNN_OK)
        return r;
    out->kind = KWNN_LAYER_EMBEDDING;
    out->kh = dims[0];
    out->units = dims[1];
    c->shape[c->nd++] = dims[1];
    return KWNN_OK;
}

static size_t kwnn__rnn_gates(kwnn_kind k)
{
    return k == KWNN_LAYER_LSTM ? 4 : k == KWNN_LAYER_GRU ? 3 : 1;
}

/* A boolean option the C code does not run: refused by name when true. */
static kwnn_result kwnn__refuse_true(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                                     const char *why)
{
    int on;
    kwnn_result r = kwnn__cfg_bool(c, L, cfg, key, NULL, 0, &on);
    if (r != KWNN_OK || !on) return r;
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " true (");
    kwnn__m(c->net, why);
    kwnn__m(c->net, ")");
    return KWNN_ERR_UNSUPPORTED;
}

/* The name of weight `leaf` after `prefix` into name (KWNN__RNN_NAME bytes): the importer keeps a
   name's last component alone where that is unique (a Bidirectional's one "bias" when the other
   direction has none), so that one when the whole name is absent.  0: too long. */
static int kwnn__rnn_name(kwnn__ctx *c, const kwb_layer *L, const char *prefix, const char *leaf, char *name)
{
    size_t n = strlen(prefix), m = strlen(leaf);
    kwb_tensor t;
    if (n + m >= KWNN__RNN_NAME) return 0;
    memcpy(name, prefix, n);
    memcpy(name + n, leaf, m + 1);
    if (n > 0 && !kwnn__find(c, L, name, &t) && kwnn__find(c, L, leaf, &t)) memcpy(name, leaf, m + 1);
    return 1;
}

/* Weights kernel (F, G U), recurrent_kernel (U, G U), bias (G U; GRU reset_after (2, 3 U)), their
   names after `prefix` (a Bidirectional's "forward_lstm/lstm_cell/"). */
static kwnn_result kwnn__rnn_weights(kwnn__ctx *c, const kwb_layer *L, const char *prefix, size_t F, size_t U,
                                     size_t GU, int use_bias, int reset_after, const float **k, const float **rk,
                                     const float **b)
{
    static const char *const names[] = {"kernel", "recurrent_kernel", "bias"};
    char name[KWNN__RNN_NAME];
    size_t shape[2];
    int i;
    kwnn_result r;
    const float **dst[3];
    dst[0] = k;
    dst[1] = rk;
    dst[2] = b;
    *b = NULL;
    for (i = 0; i < (use_bias ? 3 : 2); i++) {
        if (!kwnn__rnn_name(c, L, prefix, names[i], name))
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "weight name too long");
        shape[0] = i == 0 ? F : i == 1 ? U : 2;
        shape[1] = GU;
        if (i < 2) r = kwnn__weight(c, L, name, shape, 2, 0, dst[i]);
        else r = kwnn__weight(c, L, name, reset_after ? shape : shape + 1, reset_after ? 2 : 1, 0, dst[i]);
        if (r != KWNN_OK) return r;
    }
    return KWNN_OK;
}

#define KWNN__RNN_CUDNN 256 /* loader arg: Keras 2's CuDNNLSTM / CuDNNGRU */

/* Floats the legacy layouts need converted at load (pass 1): a CuDNN layer's or Keras 1's
   per-gate weights, repacked into the fused kernel, recurrent kernel and bias. */
static size_t kwnn__rnn_legacy_floats(const kwb_file *f, const kwb_layer *L)
{
    kwb_tensor t;
    size_t total = 64;
    uint32_t k;
    int legacy = strncmp(L->class_name, "CuDNN", 5) == 0;
    for (k = 0; k < L->tensor_count; k++)
        if (kwb_get_tensor(f, L->first_tensor + k, &t) == KWB_OK && strcmp(t.weight, "W_i") == 0) legacy = 1;
    for (k = 0; k < L->tensor_count; k++)
        if (kwb_get_tensor(f, L->first_tensor + k, &t) == KWB_OK && strcmp(t.weight, "W_z") == 0) legacy = 1;
    if (!legacy || strncmp(L->class_name, "Bidirectional", 13) == 0) return 0;
    for (k = 0; k < L->tensor_count; k++)
        if (kwb_get_tensor(f, L->first_tensor + k, &t) == KWB_OK && t.count <= (uint64_t)(KWNN__SIZE_MAX / 8))
            total += (size_t)t.count;
    return total;
}

/* Keras 1's per-gate weights (W_i, U_i, b_i, ... for an LSTM's gates i, f, c, o; W_z, ... for a
   GRU's z, r, h) packed into Keras 2's fused kernel (F, G U), recurrent kernel (U, G U), bias (G U). */
static kwnn_result kwnn__rnn_keras1(kwnn__ctx *c, const kwb_layer *L, size_t F, size_t U, size_t G, int use_bias,
                                    const float **k, const float **rk, const float **b)
{
    static const char *const lstm[] = {"i", "f", "c", "o"}, *const gru[] = {"z", "r", "h"};
    static const char *const kinds = "WUb";
    const char *const *gates = G == 4 ? lstm : gru;
    float *dst[3];
    size_t rows[3], g, i, j, GU = G * U;
    kwnn_result r;
    int m;
    char names[12][4];
    const char *list[12];
    rows[0] = F;
    rows[1] = U;
    rows[2] = 1;
    dst[2] = NULL;
    for (m = 0; m < (use_bias ? 3 : 2); m++) /* the sizes are the weights' (checked below): no overflow */
        if ((r = kwnn__param(c, rows[m] * GU, &dst[m])) != KWNN_OK) return r;
    for (g = 0; g < G; g++)
        for (m = 0; m < 3; m++) {
            const float *src;
            size_t shape[2];
            names[g * 3 + (size_t)m][0] = kinds[m];
            names[g * 3 + (size_t)m][1] = '_';
            names[g * 3 + (size_t)m][2] = gates[g][0];
            names[g * 3 + (size_t)m][3] = '\0';
            list[g * 3 + (size_t)m] = (m == 2 && !use_bias) ? NULL : names[g * 3 + (size_t)m];
            if (m == 2 && !use_bias) continue;
            shape[0] = m == 2 ? U : rows[m];
            shape[1] = U;
            if ((r = kwnn__weight(c, L, names[g * 3 + (size_t)m], shape, m == 2 ? 1 : 2, 0, &src)) != KWNN_OK) return r;
            if (c->fill)
                for (i = 0; i < rows[m]; i++)
                    for (j = 0; j < U; j++) dst[m][i * GU + g * U + j] = src[i * U + j];
        }
    if ((r = kwnn__only(c, L, list, (int)(3 * G))) != KWNN_OK) return r;
    *k = dst[0];
    *rk = dst[1];
    *b = use_bias ? dst[2] : NULL;
    return KWNN_OK;
}

/* Keras 2's CuDNNLSTM / CuDNNGRU weights as the plain layer's, by Keras's own conversion
   (tf_keras saving/hdf5_format.py _convert_rnn_weights): each gate's input block k (F, U) becomes
   k.T reshaped to (F, U) in Fortran order, each recurrent block is transposed; the LSTM's bias
   (8 U: input then recurrent) is their sum, the GRU's (6 U) is reset_after's (2, 3 U). */
static kwnn_result kwnn__rnn_cudnn(kwnn__ctx *c, const kwb_layer *L, size_t F, size_t U, size_t G, const float **k,
                                   const float **rk, const float **b)
{
    static const char *const names[] = {"kernel", "recurrent_kernel", "bias"};
    const float *src[3];
    float *dst[3];
    size_t shape[2], GU = G * U, g, i, j;
    kwnn_result r;
    shape[0] = F;
    shape[1] = GU;
    if ((r = kwnn__only(c, L, names, 3)) != KWNN_OK || (r = kwnn__weight(c, L, "kernel", shape, 2, 0, &src[0])) != KWNN_OK)
        return r;
    shape[0] = U;
    if ((r = kwnn__weight(c, L, "recurrent_kernel", shape, 2, 0, &src[1])) != KWNN_OK) return r;
    shape[0] = 2 * GU;
    if ((r = kwnn__weight(c, L, "bias", shape, 1, 0, &src[2])) != KWNN_OK) return r;
    if ((r = kwnn__param(c, F * GU, &dst[0])) != KWNN_OK || (r = kwnn__param(c, U * GU, &dst[1])) != KWNN_OK ||
        (G == 4 && (r = kwnn__param(c, GU, &dst[2])) != KWNN_OK))
        return r;
    if (c->fill) {
        for (g = 0; g < G; g++)
            for (i = 0; i < F; i++)
                for (j = 0; j < U; j++) { /* out[i][j] = k.T in F order at p = i + j F: k[p / U][p % U] */
                    size_t p = i + j * F;
                    dst[0][i * GU + g * U + j] = src[0][(p / U) * GU + g * U + p % U];
                }
        for (g = 0; g < G; g++)
            for (i = 0; i < U; i++)
                for (j = 0; j < U; j++) dst[1][i * GU + g * U + j] = src[1][j * GU + g * U + i];
        for (i = 0; G == 4 && i < GU; i++) dst[2][i] = src[2][i] + src[2][GU + i];
    }
    *k = dst[0];
    *rk = dst[1];
    *b = G == 4 ? dst[2] : src[2];
    return KWNN_OK;
}

/* SimpleRNN (arg 1), LSTM (4 gates: i, f, c, o), GRU (3: z, r, h) from its config.  Input (T, F).
   prefix: NULL for the layer itself (its weights checked), else a Bidirectional's forward prefix. */
static kwnn_result kwnn__rnn_setup(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg,
                                   const char *prefix)
{
    static const char *const unit_keys[] = {"units", "output_dim", NULL};
    static const char *const names[] = {"kernel", "recurrent_kernel", "bias"};
    int cudnn = (arg & KWNN__RNN_CUDNN) != 0, keras1;
    kwnn_kind kind = (arg & 255) == 4 ? KWNN_LAYER_LSTM : (arg & 255) == 3 ? KWNN_LAYER_GRU : KWNN_LAYER_SIMPLE_RNN;
    size_t U, T, F, G = kwnn__rnn_gates(kind), GU, per_step, work;
    int use_bias, seq, back, states, reset_after = 0, zero_masked;
    kwnn__json v;
    kwb_tensor t;
    kwnn_result r;
    /* Keras 1: per-gate W_i, U_i, b_i, ...; a SimpleRNN's W, U, b (packed as kernel, U, bias) */
    keras1 = kwnn__find(c, L, "W_i", &t) || kwnn__find(c, L, "W_z", &t) || kwnn__find(c, L, "U", &t);
    if (keras1 && (prefix != NULL || (kind == KWNN_LAYER_SIMPLE_RNN) != kwnn__find(c, L, "U", &t)))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported Keras 1 weights in a Bidirectional, or not the layer's own (W_i, U_i, ...)");
    if ((r = kwnn__cfg_sizes(c, L, cfg, unit_keys, 1, 0, &U)) != KWNN_OK) return r;
    if (U == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'units'");
    if ((r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &use_bias)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "return_sequences", NULL, 0, &seq)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "go_backwards", NULL, 0, &back)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "zero_output_for_mask", NULL, 0, &zero_masked)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "return_state", NULL, 0, &states)) != KWNN_OK ||
        (r = kwnn__refuse_true(c, L, cfg, "stateful", "state kept between runs")) != KWNN_OK ||
        (r = kwnn__refuse_true(c, L, cfg, "time_major", "time before batch")) != KWNN_OK)
        return r;
    /* GRU: Keras 3 and tf.keras 2 write reset_after (default true); Keras 1 has none (false) */
    if (kind == KWNN_LAYER_GRU &&
        (r = kwnn__cfg_bool(c, L, cfg, "reset_after", NULL, c->legacy ? 0 : 1, &reset_after)) != KWNN_OK)
        return r;
    if (cudnn) { /* cuDNN's fixed form: tanh, sigmoid; its GRU resets after */
        reset_after = kind == KWNN_LAYER_GRU;
        use_bias = 1;
    }
    kwnn__act_init(&out->act, KWNN_ACT_TANH, 0.0f);
    kwnn__act_init(&out->rec_act, c->legacy && !cudnn ? KWNN_ACT_HARD_SIGMOID_K2 : KWNN_ACT_SIGMOID, 0.0f);
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK) return r;
    if (kind != KWNN_LAYER_SIMPLE_RNN && kwnn__get(cfg, "recurrent_activation", &v) &&
        (r = kwnn__activation(c, L, v, &out->rec_act)) != KWNN_OK)
        return r;
    if (kind != KWNN_LAYER_SIMPLE_RNN && kwnn__get(cfg, "inner_activation", &v) && /* Keras 1 */
        (r = kwnn__activation(c, L, v, &out->rec_act)) != KWNN_OK)
        return r;
    if (c->nd != 2) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of shape (time steps, features), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    T = c->shape[0];
    F = c->shape[1];
    if (U > KWNN__DIM_LIMIT / 4 || !kwnn__mul(G, U, &GU))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "too many units");
    if (cudnn) {
        r = kwnn__rnn_cudnn(c, L, F, U, G, &out->w, &out->w2, &out->b);
    } else if (keras1 && kind != KWNN_LAYER_SIMPLE_RNN) {
        r = kwnn__rnn_keras1(c, L, F, U, G, use_bias, &out->w, &out->w2, &out->b);
    } else if (keras1) { /* Keras 1 SimpleRNN: U is the recurrent kernel (W, b packed as kernel, bias) */
        static const char *const k1[] = {"kernel", "U", "bias"};
        size_t shape[2];
        shape[0] = F;
        shape[1] = U;
        if ((r = kwnn__only(c, L, k1, use_bias ? 3 : 2)) == KWNN_OK) r = kwnn__weight(c, L, "kernel", shape, 2, 0, &out->w);
        shape[0] = U;
        if (r == KWNN_OK) r = kwnn__weight(c, L, "U", shape, 2, 0, &out->w2);
        out->b = NULL;
        if (r == KWNN_OK && use_bias) r = kwnn__weight(c, L, "bias", shape + 1, 1, 0, &out->b);
    } else {
        if (prefix == NULL && (r = kwnn__only(c, L, names, use_bias ? 3 : 2)) != KWNN_OK) return r;
        r = kwnn__rnn_weights(c, L, prefix ? prefix : "", F, U, GU, use_bias, reset_after, &out->w, &out->w2, &out->b);
    }
    if (r != KWNN_OK) return r;
    /* work per sample: x @ kernel for every step (T G U), h @ recurrent_kernel (G U), h, c, two temps */
    if (!kwnn__mul(T, GU, &per_step) || !kwnn__add(per_step, GU, &work) || !kwnn__add(work, 4 * U, &work))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->kind = kind;
    out->units = U;
    out->op = (seq ? KWNN__RNN_SEQUENCES : 0) | (back ? KWNN__RNN_BACKWARDS : 0) |
              (reset_after ? KWNN__RNN_RESET_AFTER : 0) | (zero_masked ? KWNN__RNN_ZERO_MASKED : 0);
    out->work = work;
    out->groups = states ? (kind == KWNN_LAYER_LSTM ? 2 : 1) : 0;
    if (seq) {
        c->shape[1] = U;
    } else {
        c->shape[0] = U;
        c->nd = 1;
    }
    return KWNN_OK;
}

/* The states of one direction: LSTM h and c, GRU and SimpleRNN h. */
static uint32_t kwnn__rnn_dir_states(kwnn_kind k) { return k == KWNN_LAYER_LSTM ? 2u : 1u; }

/* The state tensors a call of a recurrent layer takes (initial_state) or gives (return_state):
   the forward direction's, then a Bidirectional's backward layer's (its own kind). */
static uint32_t kwnn__rnn_state_count(const kwnn_layer *L)
{
    return kwnn__rnn_dir_states(L->kind) + ((L->op & KWNN__RNN_BIDI) ? kwnn__rnn_dir_states(L->back_kind) : 0u);
}

/* The units of state i (kwnn__rnn_state_count's order). */
static size_t kwnn__rnn_state_units(const kwnn_layer *L, uint32_t i)
{
    return i < kwnn__rnn_dir_states(L->kind) ? L->units : L->back_units;
}

/* Floats of all the states (units are at most KWNN__DIM_LIMIT / 4: no overflow). */
static size_t kwnn__rnn_state_floats(const kwnn_layer *L)
{
    size_t n = 0;
    uint32_t i;
    for (i = 0; i < kwnn__rnn_state_count(L); i++) n += kwnn__rnn_state_units(L, i);
    return n;
}

/* The inputs after the first: none, or every initial state, each of shape (units,). */
static kwnn_result kwnn__rnn_initial(kwnn__ctx *c, const kwb_layer *L, const kwnn_layer *out)
{
    uint32_t need = kwnn__rnn_state_count(out), i;
    if (c->n_ins != 1 && c->n_ins != 1 + need) return kwnn__arity(c, L, 1, 1 + need);
    if (c->n_ins > 1 && (out->op & KWNN__RNN_BIDI) && kwnn__rnn_dir_states(out->kind) != kwnn__rnn_dir_states(out->back_kind))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported initial_state for directions of different state counts (Keras splits "
                          "the states in halves)");
    for (i = 1; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        size_t units = kwnn__rnn_state_units(out, i - 1);
        if (x->nd != 1 || x->shape[0] != units) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its initial state ");
            kwnn__m_u(c->net, i - 1);
            kwnn__m(c->net, " has shape ");
            kwnn__m_shape(c->net, x->shape, x->nd);
            kwnn__m(c->net, ", expected (");
            kwnn__m_u(c->net, units);
            kwnn__m(c->net, ",)");
            return KWNN_ERR_SHAPE;
        }
    }
    return KWNN_OK;
}

/* With return_state (groups: states per direction) the call's value is, per sample, its output
   (kw floats) then the states (units each): one flat axis the PART nodes copy out of. */
static kwnn_result kwnn__rnn_outputs(kwnn__ctx *c, const kwb_layer *L, kwnn_layer *out)
{
    size_t output, total;
    if ((out->kind != KWNN_LAYER_SIMPLE_RNN && out->kind != KWNN_LAYER_LSTM && out->kind != KWNN_LAYER_GRU) ||
        (out->groups == 0 && !(out->op & KWNN__RNN_SPLIT)))
        return KWNN_OK;
    /* merge_mode None: c->shape's last axis is the two directions' units end to end */
    if (!kwnn__prod(c->shape, c->nd, &output) ||
        !kwnn__add(out->groups ? kwnn__rnn_state_floats(out) : 0, output, &total))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its outputs do not fit in a size_t");
    out->kw = output;
    c->shape[0] = total;
    c->nd = 1;
    return KWNN_OK;
}

/* Output `part` of a recurrent call with return_state: its shape and its offset in the call's value. */
static void kwnn__rnn_part(const kwnn_layer *L, uint32_t part, size_t *shape, uint32_t *nd, size_t *offset)
{
    int bidi = (L->op & KWNN__RNN_BIDI) != 0, split = (L->op & KWNN__RNN_SPLIT) != 0;
    size_t U = L->units, Ub = bidi ? L->back_units : 0, Um = U, steps = (L->op & KWNN__RNN_SEQUENCES) ? L->in_shape[0] : 1;
    uint32_t mains = split ? 2 : 1, i; /* merge_mode None: forward, backward */
    memset(shape, 0, KWNN_MAX_DIMS * sizeof *shape);
    if (bidi && !split && ((L->op / KWNN__RNN_MERGE) & 3) == 0) Um = U + Ub; /* concat */
    if (split && part == 1) Um = Ub;
    *offset = part == 1 && split ? steps * U : 0;
    *nd = 1;
    shape[0] = Um;
    if (part >= mains) {
        *offset = L->kw;
        for (i = 0; i < part - mains; i++) *offset += kwnn__rnn_state_units(L, i);
        shape[0] = kwnn__rnn_state_units(L, part - mains);
    } else if (L->op & KWNN__RNN_SEQUENCES) {
        shape[0] = L->in_shape[0];
        shape[1] = Um;
        *nd = 2;
    }
}

static kwnn_result kwnn__load_rnn(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    kwnn_result r = kwnn__rnn_setup(c, L, cfg, out, arg, NULL);
    if (r == KWNN_OK) r = kwnn__rnn_initial(c, L, out);
    if (r == KWNN_OK) r = kwnn__rnn_outputs(c, L, out);
    return r;
}

/* The wrapped layer of Bidirectional / TimeDistributed: its class and config. */
static kwnn_result kwnn__wrapped(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn__json *cls,
                                 kwnn__json *inner)
{
    kwnn__json v;
    if (!kwnn__get(cfg, "layer", &v) || !kwnn__is(v, '{') || !kwnn__get(v, "class_name", cls) ||
        !kwnn__is(*cls, '"') || !kwnn__get(v, "config", inner) || !kwnn__is(*inner, '{'))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no wrapped 'layer' with a class_name and config");
    return KWNN_OK;
}

/* The prefix (up to "kernel") of the two directions' kernels: the forward one's first path component
   is the wrapped layer's name; the other is the backward layer's. */
static kwnn_result kwnn__bidi_prefixes(kwnn__ctx *c, const kwb_layer *L, kwnn__json inner, char *fw, char *bw)
{
    kwnn__json name;
    uint32_t i, found = 0;
    int have_name = kwnn__get(inner, "name", &name) && kwnn__is(name, '"');
    fw[0] = bw[0] = '\0';
    for (i = 0; i < L->tensor_count; i++) {
        kwb_tensor t;
        size_t n, first;
        const char *slash;
        if (kwb_get_tensor(c->f, L->first_tensor + i, &t) != KWB_OK) continue;
        n = strlen(t.weight);
        if (n < 7 || strcmp(t.weight + n - 7, "/kernel") != 0) continue;
        if (n - 6 >= KWNN__RNN_NAME) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "weight name too long");
        slash = strchr(t.weight, '/');
        first = (size_t)(slash - t.weight);
        found++;
        /* tf.keras names them forward_<name>/..., backward_<name>/...; Keras 3 <name>/... and the other */
        if (fw[0] == '\0' && strncmp(t.weight, "backward_", 9) != 0 &&
            (!have_name || kwnn__jstr_eq(name, t.weight, first) || strncmp(t.weight, "forward_", 8) == 0)) {
            memcpy(fw, t.weight, n - 6);
            fw[n - 6] = '\0';
        } else {
            memcpy(bw, t.weight, n - 6);
            bw[n - 6] = '\0';
        }
    }
    if (found != 2 || fw[0] == '\0' || bw[0] == '\0')
        return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L,
                          "needs two weights '<layer>/.../kernel', the forward and the backward layer's");
    return KWNN_OK;
}

/* The loader arg of a recurrent class (0: not one). */
static int kwnn__rnn_class_arg(kwnn__json cls)
{
    return kwnn__jstr_is(cls, "LSTM") ? 4 : kwnn__jstr_is(cls, "GRU") ? 3 : kwnn__jstr_is(cls, "SimpleRNN") ? 1 : 0;
}

/* A Bidirectional's backward_layer (v), a recurrent layer of its own class, units, options and
   activations, loaded for input (T, F) with the weights under prefix bw into *back.  Keras
   requires the same return_sequences and return_state as the forward layer's, and the other
   go_backwards. */
static kwnn_result kwnn__backward_layer(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, const char *bw, size_t T,
                                        size_t F, const kwnn_layer *out, kwnn_layer *back)
{
    kwnn__json bcls, bcfg;
    uint32_t nd = c->nd;
    size_t shape[KWNN_MAX_DIMS];
    int kind_arg;
    kwnn_result r;
    if (!kwnn__is(v, '{') || !kwnn__get(v, "class_name", &bcls) || !kwnn__is(bcls, '"') ||
        !kwnn__get(v, "config", &bcfg) || !kwnn__is(bcfg, '{'))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "backward_layer has no class_name and config");
    if ((kind_arg = kwnn__rnn_class_arg(bcls)) == 0) return kwnn__unsupported_value(c, L, "backward_layer class", bcls);
    memcpy(shape, c->shape, sizeof shape);
    c->nd = 2;
    c->shape[0] = T;
    c->shape[1] = F;
    memset(back, 0, sizeof *back);
    r = kwnn__rnn_setup(c, L, bcfg, back, kind_arg, bw);
    c->nd = nd;
    memcpy(c->shape, shape, sizeof shape);
    if (r != KWNN_OK) return r;
    if (((back->op ^ out->op) & KWNN__RNN_SEQUENCES) || (back->groups > 0) != (out->groups > 0))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L,
                          "backward_layer and the forward layer differ in return_sequences or return_state "
                          "(Keras requires them equal)");
    if (!((back->op ^ out->op) & KWNN__RNN_BACKWARDS))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L,
                          "backward_layer has the forward layer's go_backwards (Keras requires the other)");
    return KWNN_OK;
}

/* Bidirectional(SimpleRNN | LSTM | GRU): the backward layer (backward_layer, of any of these
   classes and options; else the forward layer's copy) runs with the other go_backwards; merge_mode
   concat (the two widths end to end), sum, mul, ave (equal units), None (two outputs). */
static kwnn_result kwnn__load_bidirectional(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                           int arg)
{
    static const char *const modes[] = {"concat", "sum", "mul", "ave"};
    kwnn__json cls, inner, v;
    char fw[KWNN__RNN_NAME], bw[KWNN__RNN_NAME], names[6][KWNN__RNN_NAME];
    const char *list[6];
    kwnn_layer back;
    int kind_arg, mode = 0;
    size_t i, work, extra, U, Ub, T = c->shape[0], F = c->nd == 2 ? c->shape[1] : 0;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__wrapped(c, L, cfg, &cls, &inner)) != KWNN_OK) return r;
    if ((kind_arg = kwnn__rnn_class_arg(cls)) == 0) return kwnn__unsupported_value(c, L, "wrapped layer class", cls);
    if (kwnn__get(cfg, "merge_mode", &v) && !kwnn__null(v) && kwnn__is(v, '"')) {
        for (mode = 0; mode < 4; mode++)
            if (kwnn__jstr_is(v, modes[mode])) break;
        if (mode == 4) return kwnn__unsupported_value(c, L, "merge_mode", v);
    } else if (kwnn__get(cfg, "merge_mode", &v)) { /* None: the two directions' outputs, not merged */
        mode = -1;
    }
    if ((r = kwnn__bidi_prefixes(c, L, inner, fw, bw)) != KWNN_OK) return r;
    if ((r = kwnn__rnn_setup(c, L, inner, out, kind_arg, fw)) != KWNN_OK) return r;
    U = out->units;
    if (kwnn__get(cfg, "backward_layer", &v) && !kwnn__null(v)) { /* Keras 3 always writes it */
        if ((r = kwnn__backward_layer(c, L, v, bw, T, F, out, &back)) != KWNN_OK) return r;
    } else { /* the forward layer's copy with the other go_backwards */
        back = *out;
        back.op ^= KWNN__RNN_BACKWARDS;
        if ((r = kwnn__rnn_weights(c, L, bw, F, U, kwnn__rnn_gates(out->kind) * U, out->b != NULL,
                                   (out->op & KWNN__RNN_RESET_AFTER) != 0, &back.w, &back.w2, &back.b)) != KWNN_OK)
            return r;
    }
    Ub = back.units;
    for (i = 0; i < 6; i++) {
        static const char *const leaf[] = {"kernel", "recurrent_kernel", "bias"};
        if (!kwnn__rnn_name(c, L, i < 3 ? fw : bw, leaf[i % 3], names[i]))
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "weight name too long");
        list[i] = (i % 3 == 2 && (i < 3 ? out->b : back.b) == NULL) ? NULL : names[i];
    }
    if ((r = kwnn__only(c, L, list, 6)) != KWNN_OK) return r;
    if (mode > 0 && Ub != U) {
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported merge_mode ");
        kwnn__m(c->net, modes[mode]);
        kwnn__m(c->net, " of directions of different units (the forward's ");
        kwnn__m_u(c->net, U);
        kwnn__m(c->net, ", the backward's ");
        kwnn__m_u(c->net, Ub);
        kwnn__m(c->net, ")");
        return KWNN_ERR_UNSUPPORTED;
    }
    /* each direction's output (T or 1 steps of its units per sample) before the merge; then the
       larger of the two directions' work areas (they run one after the other) */
    if (!kwnn__add(U, Ub, &extra) || !kwnn__mul((out->op & KWNN__RNN_SEQUENCES) ? T : 1, extra, &extra) ||
        !kwnn__add(out->work > back.work ? out->work : back.work, extra, &work))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->work = work;
    /* Keras's Bidirectional sets both layers' zero_output_for_mask to return_sequences */
    out->op &= ~KWNN__RNN_ZERO_MASKED;
    back.op &= ~KWNN__RNN_ZERO_MASKED;
    if (out->op & KWNN__RNN_SEQUENCES) {
        out->op |= KWNN__RNN_ZERO_MASKED;
        back.op |= KWNN__RNN_ZERO_MASKED;
    }
    out->op |= KWNN__RNN_BIDI | (mode < 0 ? KWNN__RNN_SPLIT : mode * KWNN__RNN_MERGE);
    out->back_kind = back.kind;
    out->back_units = Ub;
    out->back_op = back.op;
    out->back_act = back.act;
    out->back_rec_act = back.rec_act;
    out->bw = back.w;
    out->bw2 = back.w2;
    out->bb = back.b;
    if (mode <= 0) c->shape[c->nd - 1] = U + Ub; /* concat; None: both outputs end to end */
    if ((r = kwnn__rnn_initial(c, L, out)) != KWNN_OK) return r;
    return kwnn__rnn_outputs(c, L, out);
}

/* The wrapped model of a TimeDistributed's config tdcfg (its layers are the wrapper's children in
   the layer table, 60_graph.h runs them with the steps as the batch): its config, Sequential? */
static int kwnn__td_model_cfg(kwnn__json tdcfg, kwnn__json *mcfg, int *seq)
{
    kwnn__json v, cls;
    if (!kwnn__get(tdcfg, "layer", &v) || !kwnn__is(v, '{') || !kwnn__get(v, "class_name", &cls) ||
        !kwnn__get(v, "config", mcfg))
        return 0;
    *seq = kwnn__jstr_is(cls, "Sequential");
    return *seq || kwnn__jstr_is(cls, "Functional") || kwnn__jstr_is(cls, "Model");
}

/* Is row L a TimeDistributed around a model?  Its model's config and kind as kwnn__td_model_cfg. */
static int kwnn__td_model(const kwb_layer *L, kwnn__json *mcfg, int *seq)
{
    kwnn__json cfg;
    if (strcmp(L->class_name, "TimeDistributed") != 0 || L->config_length == 0) return 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    return kwnn__td_model_cfg(cfg, mcfg, seq);
}

/* Load layer L as class `cls` with config cfg (50_registry.h). */
static kwnn_result kwnn__layer_as(kwnn__ctx *c, const kwb_layer *L, const char *cls, kwnn__json cfg, kwnn_layer *out);

/* TimeDistributed(layer): the wrapped layer loaded for one step's shape (the input without its
   first axis) runs on the batch's steps as its batch (td: the steps); its weights are the
   wrapper's.  A wrapped model is a graph of its own (60_graph.h; reaching here, it was packed
   without its layers); a wrapper or a layer of several inputs is refused. */
static kwnn_result kwnn__load_time_distributed(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                               int arg)
{
    static const char *const refused[] = {"Sequential", "Functional", "Model", "TimeDistributed", "Bidirectional",
                                          NULL};
    kwnn__json cls, inner;
    char name[64];
    size_t T, n, work;
    uint32_t i;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__wrapped(c, L, cfg, &cls, &inner)) != KWNN_OK) return r;
    if (c->nd < 2) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input with a time axis");
    n = (size_t)(cls.e - cls.p) - 2;
    if (n >= sizeof name || memchr(cls.p + 1, '\\', n) != NULL)
        return kwnn__unsupported_value(c, L, "wrapped layer class", cls);
    memcpy(name, cls.p + 1, n);
    name[n] = '\0';
    for (i = 0; refused[i] != NULL; i++)
        if (strcmp(name, refused[i]) == 0) return kwnn__unsupported_value(c, L, "wrapped layer class", cls);
    T = c->shape[0];
    for (i = 0; i + 1 < c->nd; i++) c->shape[i] = c->shape[i + 1];
    c->nd--;
    if ((r = kwnn__layer_as(c, L, name, inner, out)) != KWNN_OK) return r;
    if (c->nd + 1 > KWNN_MAX_DIMS) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "output rank too large");
    if (out->groups > 0 && (out->kind == KWNN_LAYER_LSTM || out->kind == KWNN_LAYER_GRU ||
                            out->kind == KWNN_LAYER_SIMPLE_RNN))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported return_state in a TimeDistributed");
    if (!kwnn__mul(out->work, T, &work))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->work = work;
    out->td = T;
    for (i = c->nd; i > 0; i--) c->shape[i] = c->shape[i - 1];
    c->shape[0] = T;
    c->nd++;
    return KWNN_OK;
}

/* Operations per sample of one direction: per step, x @ kernel, h @ recurrent_kernel, the gates'
   elementwise work. */
static uint64_t kwnn__rnn_dir_cost(kwnn_kind kind, uint64_t T, uint64_t F, uint64_t U)
{
    uint64_t GU = kwnn__sat_mul(kwnn__rnn_gates(kind), U), step;
    step = kwnn__sat_add(kwnn__sat_mul(F, GU), kwnn__sat_mul(U, GU));
    step = kwnn__sat_add(step, kwnn__sat_add(kwnn__sat_mul(GU, 2), kwnn__sat_mul(U, 4)));
    return kwnn__sat_mul(T, step);
}

/* Operations per sample (a Bidirectional: both directions, and the merge). */
static uint64_t kwnn__recurrent_cost(const kwnn_layer *L)
{
    uint64_t T, F, fw;
    if (L->kind == KWNN_LAYER_EMBEDDING) return (uint64_t)L->out_count;
    T = (uint64_t)L->in_shape[0];
    F = (uint64_t)L->in_shape[1];
    fw = kwnn__rnn_dir_cost(L->kind, T, F, (uint64_t)L->units);
    if (!(L->op & KWNN__RNN_BIDI)) return fw;
    return kwnn__sat_add(kwnn__sat_add(fw, kwnn__rnn_dir_cost(L->back_kind, T, F, (uint64_t)L->back_units)),
                         (uint64_t)L->out_count);
}

static kwnn_result kwnn__embedding_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t n = L->in_count * batch, D = L->units, i;
    for (i = 0; i < n; i++) {
        float v = x[i];
        size_t id;
        /* NaN fails every comparison; the bound keeps the cast defined */
        if (!(v >= 0.0f && v < 1.0e9f) || v != floorf(v)) return KWNN_ERR_INPUT_VALUE;
        id = (size_t)v;
        if (id >= L->kh) return KWNN_ERR_INPUT_VALUE;
        memcpy(y + i * D, L->w + id * D, D * sizeof *y);
    }
    return KWNN_OK;
}

/* y (rows, N) = x (rows, K) @ W, W's rows ldw floats apart: sums in k order. */
static void kwnn__rnn_mm(const float *x, size_t rows, size_t K, const float *W, size_t ldw, size_t N, float *y)
{
    kwnn__gemm(NULL, rows, N, K, x, K, W, ldw, NULL, y, N); /* 13_gemm.h */
}

/* One step of one sample: xz = x_t @ kernel (G U), rz = h @ recurrent_kernel (G U; GRU without
   reset_after: 2 U), h and c updated in place; t1, t2: U floats each. */
static void kwnn__rnn_step(const kwnn_layer *L, float *xz, float *rz, float *h, float *cs, float *t1, float *t2)
{
    size_t U = L->units, G = kwnn__rnn_gates(L->kind), j;
    const float *b = L->b;
    if (L->kind == KWNN_LAYER_SIMPLE_RNN) { /* act((x @ K + b) + h @ R) */
        for (j = 0; j < U; j++) rz[j] = (b != NULL ? xz[j] + b[j] : xz[j]) + rz[j];
        kwnn__act(&L->act, rz, h, U, U);
    } else if (L->kind == KWNN_LAYER_LSTM) { /* z = (x @ K + h @ R) + b; gates i, f, c, o */
        for (j = 0; j < G * U; j++) rz[j] = b != NULL ? (xz[j] + rz[j]) + b[j] : xz[j] + rz[j];
        kwnn__act(&L->rec_act, rz, rz, U, U);
        kwnn__act(&L->rec_act, rz + U, rz + U, U, U);
        kwnn__act(&L->act, rz + 2 * U, rz + 2 * U, U, U);
        kwnn__act(&L->rec_act, rz + 3 * U, rz + 3 * U, U, U);
        for (j = 0; j < U; j++) cs[j] = rz[U + j] * cs[j] + rz[j] * rz[2 * U + j];
        kwnn__act(&L->act, cs, t1, U, U);
        for (j = 0; j < U; j++) h[j] = rz[3 * U + j] * t1[j];
    } else { /* GRU: gates z, r, candidate h; h = z h + (1 - z) hh */
        int after = (L->op & KWNN__RNN_RESET_AFTER) != 0;
        if (b != NULL)
            for (j = 0; j < G * U; j++) xz[j] += b[j]; /* the input bias */
        if (after && b != NULL)
            for (j = 0; j < G * U; j++) rz[j] += b[G * U + j]; /* the recurrent bias */
        for (j = 0; j < 2 * U; j++) rz[j] = xz[j] + rz[j];
        kwnn__act(&L->rec_act, rz, rz, U, U);
        kwnn__act(&L->rec_act, rz + U, rz + U, U, U);
        if (after) {
            for (j = 0; j < U; j++) t2[j] = xz[2 * U + j] + rz[U + j] * rz[2 * U + j];
        } else { /* (r h) @ R[:, 2U:] */
            for (j = 0; j < U; j++) t1[j] = rz[U + j] * h[j];
            kwnn__rnn_mm(t1, 1, U, L->w2 + 2 * U, G * U, U, t2);
            for (j = 0; j < U; j++) t2[j] = xz[2 * U + j] + t2[j];
        }
        kwnn__act(&L->act, t2, t2, U, U);
        for (j = 0; j < U; j++) h[j] = rz[j] * h[j] + (1.0f - rz[j]) * t2[j];
    }
}

/* Is step i (sample b, time t: b * T + t) masked?  mask: L->mult values per step (0: one), all
   0 when masked (an implicit mask's source features, 61_implicit_masks.h). */
static int kwnn__mask_off(const kwnn_layer *L, const float *mask, size_t i)
{
    size_t n = L->mult > 0 ? L->mult : 1, k;
    for (k = 0; k < n; k++)
        if (mask[i * n + k] != 0.0f) return 0;
    return 1;
}

/* The recurrent kinds: state starts at zero, or from init (h, then c for LSTM: batch x units
   each); work holds L->work floats per sample; sample b's output at y + b * ystride.  mask (T per
   sample, 0: masked; NULL: none): at a masked step the state carries over and the output is the
   state (zero_output_for_mask: 0), as Keras 3's rnn does. */
static void kwnn__rnn_run(const kwnn_layer *L, const float *x, const float *mask, float *y, size_t ystride,
                          const float *const *init, float *work, size_t batch)
{
    size_t T = L->in_shape[0], F = L->in_shape[1], U = L->units, GU = kwnn__rnn_gates(L->kind) * U;
    size_t N = (L->kind == KWNN_LAYER_GRU && !(L->op & KWNN__RNN_RESET_AFTER)) ? 2 * U : GU, s, b;
    float *xz = work, *rz = xz + batch * T * GU, *h = rz + batch * GU, *cs = h + batch * U;
    float *t1 = cs + batch * U, *t2 = t1 + batch * U;
    int seq = (L->op & KWNN__RNN_SEQUENCES) != 0;
    kwnn__dense_run(x, xz, batch * T, F, GU, L->w, NULL);
    memset(h, 0, 2 * batch * U * sizeof *h);
    if (init != NULL) {
        memcpy(h, init[0], batch * U * sizeof *h);
        if (L->kind == KWNN_LAYER_LSTM) memcpy(cs, init[1], batch * U * sizeof *cs);
    }
    for (s = 0; s < T; s++) {
        size_t t = (L->op & KWNN__RNN_BACKWARDS) ? T - 1 - s : s;
        kwnn__rnn_mm(h, batch, U, L->w2, GU, N, rz);
        for (b = 0; b < batch; b++) {
            int skip = mask != NULL && kwnn__mask_off(L, mask, b * T + t);
            if (!skip)
                kwnn__rnn_step(L, xz + (b * T + t) * GU, rz + b * N, h + b * U, cs + b * U, t1 + b * U,
                               t2 + b * U);
            if (seq && skip && (L->op & KWNN__RNN_ZERO_MASKED)) memset(y + b * ystride + s * U, 0, U * sizeof *y);
            else if (seq) memcpy(y + b * ystride + s * U, h + b * U, U * sizeof *y);
        }
    }
    for (b = 0; b < batch && !seq; b++) {
        memcpy(y + b * ystride, h + b * U, U * sizeof *y);
        if (mask != NULL && (L->op & KWNN__RNN_ZERO_MASKED) && /* Keras: the last output, zero if masked */
            kwnn__mask_off(L, mask, b * T + ((L->op & KWNN__RNN_BACKWARDS) ? 0 : T - 1)))
            memset(y + b * ystride, 0, U * sizeof *y);
    }
}

/* The final states of the kwnn__rnn_run that used `work` into out + b * stride: h, then c (LSTM). */
static void kwnn__rnn_states(const kwnn_layer *L, const float *work, size_t batch, float *out, size_t stride)
{
    size_t U = L->units, GU = kwnn__rnn_gates(L->kind) * U, b;
    const float *h = work + batch * L->in_shape[0] * GU + batch * GU, *cs = h + batch * U;
    for (b = 0; b < batch; b++) {
        memcpy(out + b * stride, h + b * U, U * sizeof *out);
        if (L->kind == KWNN_LAYER_LSTM) memcpy(out + b * stride + U, cs + b * U, U * sizeof *out);
    }
}

/* Bidirectional: forward into yf, the backward layer (its own kind, units, options; the other
   go_backwards) into yb, then merged; with return_sequences the backward outputs are put back in
   time order first, as Keras does.  Initial states: the forward's, then the backward's. */
static void kwnn__bidi_run(const kwnn_layer *L, const float *const *ins, uint32_t n_in, const float *mask, float *y,
                           float *work, size_t batch)
{
    kwnn_layer B = *L;
    size_t U = L->units, Ub = L->back_units, T = L->in_shape[0], seq = (L->op & KWNN__RNN_SEQUENCES) != 0;
    size_t steps = seq ? T : 1, pf = steps * U, pb = steps * Ub, b, s, j, n, oc = L->out_count;
    int mode = (L->op / KWNN__RNN_MERGE) & 3;
    float *yf = work, *yb = yf + batch * pf, *rest = yb + batch * pb;
    B.kind = L->back_kind;
    B.units = Ub;
    B.op = L->back_op;
    B.act = L->back_act;
    B.rec_act = L->back_rec_act;
    B.w = L->bw;
    B.w2 = L->bw2;
    B.b = L->bb;
    kwnn__rnn_run(L, ins[0], mask, yf, pf, n_in > 1 ? ins + 1 : NULL, rest, batch);
    if (L->groups > 0) kwnn__rnn_states(L, rest, batch, y + L->kw, oc);
    kwnn__rnn_run(&B, ins[0], mask, yb, pb, n_in > 1 ? ins + 1 + kwnn__rnn_dir_states(L->kind) : NULL, rest, batch);
    if (L->groups > 0) kwnn__rnn_states(&B, rest, batch, y + L->kw + kwnn__rnn_dir_states(L->kind) * U, oc);
    for (b = 0; b < batch; b++)
        for (s = 0, n = b * oc; s < steps; s++) {
            const float *f = yf + b * pf + s * U, *r = yb + b * pb + (seq ? T - 1 - s : 0) * Ub;
            if (L->op & KWNN__RNN_SPLIT) { /* forward's steps, then the backward's (in time order) */
                memcpy(y + b * oc + s * U, f, U * sizeof *y);
                memcpy(y + b * oc + pf + s * Ub, r, Ub * sizeof *y);
                continue;
            }
            if (mode == 0) { /* concat: the two widths end to end */
                memcpy(y + n, f, U * sizeof *y);
                memcpy(y + n + U, r, Ub * sizeof *y);
                n += U + Ub;
                continue;
            }
            for (j = 0; j < U; j++) { /* equal units (the loader checked) */
                if (mode == 1) y[n + j] = f[j] + r[j];
                else if (mode == 2) y[n + j] = f[j] * r[j];
                else y[n + j] = (f[j] + r[j]) / 2.0f;
            }
            n += U;
        }
}

/* Runs the kinds of this part (inputs ins[0 .. n_in): the input, then initial states; mask: see
   kwnn__rnn_run); 0 when L is not one of them. */
static int kwnn__recurrent_run(const kwnn_layer *L, const float *const *ins, uint32_t n_in, const float *mask,
                               float *y, float *work, size_t batch, kwnn_result *res)
{
    *res = KWNN_OK;
    switch (L->kind) {
    case KWNN_LAYER_EMBEDDING: *res = kwnn__embedding_run(L, ins[0], y, batch); return 1;
    case KWNN_LAYER_SIMPLE_RNN: case KWNN_LAYER_LSTM: case KWNN_LAYER_GRU:
        if (L->op & KWNN__RNN_BIDI) {
            kwnn__bidi_run(L, ins, n_in, mask, y, work, batch);
        } else {
            kwnn__rnn_run(L, ins[0], mask, y, L->out_count, n_in > 1 ? ins + 1 : NULL, work, batch);
            if (L->groups > 0) kwnn__rnn_states(L, work, batch, y + L->kw, L->out_count);
        }
        return 1;
    default: return 0;
    }
}

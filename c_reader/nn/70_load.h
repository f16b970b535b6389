/* ---- loading ------------------------------------------------------------- */

/* Pass 1: floats the parameter area needs: every weight kwb_tensor_f32
   cannot hand out (or flipped Theano kernels), and the BatchNormalization
   folds (two per channel).  From the tensors alone: the loaders check. */
static kwnn_result kwnn__measure_params(kwnn__ctx *c)
{
    uint32_t i, k;
    size_t total = 0;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        kwb_tensor t;
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (!kwnn__norm_measure(c, &L, &total)) return kwnn__oom(c); /* 44_norm_apps.h */
        if (!kwnn__add(total, kwnn__rnn_legacy_floats(c->f, &L), &total)) return kwnn__oom(c); /* 45_recurrent.h */
        if (strcmp(L.class_name, "Masking") == 0 && !kwnn__add(total, KWNN__O_FLOATS + 16, &total)) /* 48_masking.h */
            return kwnn__oom(c);
        for (k = 0; k < L.tensor_count; k++) {
            size_t n;
            if (kwb_get_tensor(c->f, L.first_tensor + k, &t) != KWB_OK) continue;
            if (t.count > (uint64_t)(KWNN__SIZE_MAX / 8)) return kwnn__oom(c);
            n = (size_t)t.count;
            if (strcmp(L.class_name, "BatchNormalization") == 0 && strcmp(t.weight, "moving_mean") == 0 &&
                !kwnn__add(total, kwnn__round16(2 * n), &total))
                return kwnn__oom(c);
            if (kwb_tensor_f32(&t) == NULL && !kwnn__add(total, kwnn__round16(n), &total)) return kwnn__oom(c);
            n = kwnn__conv_repack_floats(&L, &t, c->theano_kernels); /* 42_conv_family.h */
            if (n > 0 && !kwnn__add(total, kwnn__round16(n), &total)) return kwnn__oom(c);
        }
    }
    if (!kwnn__add(total, c->op_floats, &total) || total > KWNN__SIZE_MAX / 4 - 64) return kwnn__oom(c);
    c->params_cap = total;
    return KWNN_OK;
}

static void kwnn__m_u64(kwnn_net *net, uint64_t v)
{
    char buf[24];
    size_t n = 0;
    do {
        buf[sizeof buf - 1 - n] = (char)('0' + (int)(v % 10));
        v /= 10;
        n++;
    } while (v != 0 && n < 23);
    kwnn__m_raw(net, buf + sizeof buf - n, n);
}

static kwnn_result kwnn__too_costly(kwnn__ctx *c)
{
    kwnn__fail(c->net, KWNN_ERR_COST, NULL, "the network costs ");
    if (c->cost == UINT64_MAX) kwnn__m(c->net, "more than 2^64 - 1");
    else kwnn__m_u64(c->net, c->cost);
    kwnn__m(c->net, " operations per sample, above the cap of ");
    kwnn__m_u64(c->net, c->net->opt_.max_cost);
    return KWNN_ERR_COST;
}

/* Pass 2, in the allocation: the rows, the graph, its order, shapes, plan. */
static kwnn_result kwnn__build(kwnn__ctx *c)
{
    kwnn_net *net = c->net;
    uint32_t i, n_order = 0;
    kwnn_result r;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        kwnn_layer *out = &net->layers[i];
        kwnn__json mcfg;
        int mseq;
        memset(out, 0, sizeof *out);
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (L.parent != KWB_NONE) {
            kwb_layer P;
            kwnn__json m;
            int seq;
            if (kwb_get_layer(c->f, L.parent, &P) != KWB_OK ||
                (!kwnn__is_class(&P, kwnn__model_classes) && !kwnn__td_model(&P, &m, &seq)))
                return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                                  "is nested in a layer that is not a model (a wrapper)");
        }
        out->name = L.name;
        out->class_name = L.class_name;
        out->index = i;
        out->kind = kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_model(&L, &mcfg, &mseq) ? KWNN_LAYER_MODEL
                    : kwnn__is_input(&L)                    ? KWNN_LAYER_INPUT
                                                            : KWNN_LAYER_UNUSED;
        c->loaded[i] = KWB_NONE;
        c->calls[i] = c->outs[i] = 0;
        c->base[i] = KWB_NONE;
    }
    net->layer_count = c->n;
    if ((r = kwnn__link(c)) != KWNN_OK || (r = kwnn__hash_build(c)) != KWNN_OK) return r;
    net->num_inputs = c->count_inputs;
    net->num_outputs = c->count_outputs;
    if ((r = kwnn__inst(c, KWB_NONE, c->top_cfg, NULL, c->count_inputs, net->outputs_, c->count_outputs, 0)) !=
        KWNN_OK)
        return r;
    net->node_count_ = c->nodes_used;
    if ((r = kwnn__sort(c, &n_order)) != KWNN_OK || (r = kwnn__shapes(c, n_order)) != KWNN_OK ||
        (r = kwnn__implicit_masks(c, n_order)) != KWNN_OK) /* 61_implicit_masks.h */
        return r;
    if (net->opt_.max_cost != 0 && c->cost > net->opt_.max_cost) return kwnn__too_costly(c);
    net->cost_ = c->cost;
    memcpy(net->sorted_, net->order_, (size_t)n_order * sizeof *net->sorted_); /* the plan keeps only computing nodes */
    net->sorted_count_ = n_order;
    for (i = 0; i < net->num_inputs; i++)
        if (net->nodes_[net->inputs_[i]].var != 0) net->variable = 1;
    if ((r = kwnn__plan(c, n_order)) != KWNN_OK) return r;
    { /* the layers' work area (recurrent state), after the plan's values: the largest one */
        size_t work = 0;
        for (i = 0; i < net->layer_count; i++)
            if (net->layers[i].work > work) work = net->layers[i].work;
        net->work_ = net->arena_;
        if (work > 0 && (!kwnn__add(net->arena_, kwnn__round16(work), &net->arena_) ||
                         work > KWNN__SIZE_MAX / 64 || net->arena_ > KWNN__SIZE_MAX / 64))
            return kwnn__oom(c);
    }
    {
        const kwnn__node *in = &net->nodes_[net->inputs_[0]], *out = &net->nodes_[net->outputs_[0]];
        net->input_ndim = in->nd;
        memcpy(net->input_shape, in->shape, sizeof net->input_shape);
        net->input_count = in->count;
        net->output_ndim = out->nd;
        memcpy(net->output_shape, out->shape, sizeof net->output_shape);
        net->output_count = out->count;
    }
    return KWNN_OK;
}

/* Metadata facts: generation (hard_sigmoid), Theano kernels, the model config. */
static kwnn_result kwnn__metadata(kwnn__ctx *c, int hs_option)
{
    size_t len = 0;
    const char *text = kwb_metadata(c->f, &len);
    kwnn__json meta, v, inner;
    c->legacy = 0;
    c->theano_kernels = 0;
    if (text == NULL) len = 0;
    meta.p = text;
    meta.e = text + len;
    if (len > 0 && kwnn__is(meta, '{')) {
        if (kwnn__get(meta, "generation", &v) && kwnn__is(v, '"')) {
            c->legacy = kwnn__jstr_is(v, "keras1") || kwnn__jstr_is(v, "keras2");
        } else if (kwnn__get(meta, "keras_version", &v) && v.e - v.p >= 3) {
            c->legacy = (v.p[1] == '1' || v.p[1] == '2') && v.p[2] == '.';
        }
        if (kwnn__get(meta, "conv_kernels", &v) && v.e - v.p > 7 && memcmp(v.p, "\"theano", 7) == 0)
            c->theano_kernels = 1;
        if (kwnn__get(meta, "model_config", &v) && kwnn__is(v, '{') && kwnn__get(v, "class_name", &inner) &&
            (kwnn__jstr_is(inner, "Functional") || kwnn__jstr_is(inner, "Model"))) {
            kwnn__json mcfg;
            if (!kwnn__get(v, "config", &mcfg) || !kwnn__is(mcfg, '{'))
                return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "the metadata's model_config has no config");
            c->top_cfg = mcfg;
        }
    }
    c->keras2_file = c->legacy;
    if (hs_option == KWNN_HARD_SIGMOID_KERAS3) c->legacy = 0;
    if (hs_option == KWNN_HARD_SIGMOID_KERAS2) c->legacy = 1;
    c->net->hard_sigmoid = c->legacy ? KWNN_HARD_SIGMOID_KERAS2 : KWNN_HARD_SIGMOID_KERAS3;
    return KWNN_OK;
}

/* Room for `count` items of `size` bytes at *off (64-byte aligned); 0 on overflow. */
static int kwnn__carve(size_t *off, size_t count, size_t size, size_t *at)
{
    size_t bytes;
    *at = *off;
    return kwnn__mul(count, size, &bytes) && kwnn__add(bytes, 63, &bytes) &&
           kwnn__add(*off, bytes & ~(size_t)63, off);
}

/* One load with `nominal` as the length of the inputs' None axes; *variable: there was one. */
static kwnn_result kwnn__load_at(kwnn_net *net, const kwb_file *f, const kwnn_options *opt, size_t nominal,
                                 int *variable)
{
    kwnn__ctx c;
    size_t off = 0, hash = 1, n1, at[16];
    kwnn_result r;
    void *mem;
    unsigned char *base;
    int ok;
    if (net == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    memset(net, 0, sizeof *net);
    if (opt != NULL) net->opt_ = *opt;
    if (f == NULL || f->data == NULL ||
        (net->opt_.alloc_fn == NULL) != (net->opt_.free_fn == NULL) || net->opt_.hard_sigmoid < 0 ||
        net->opt_.hard_sigmoid > KWNN_HARD_SIGMOID_KERAS2) {
        kwnn__fail(net, KWNN_ERR_INVALID_ARGUMENT, NULL,
                   f == NULL || f->data == NULL ? "no open file" : "invalid options");
        memset(&net->opt_, 0, sizeof net->opt_);
        return KWNN_ERR_INVALID_ARGUMENT;
    }
    if (kwb_layer_count(f) == 0)
        return kwnn__fail(net, KWNN_ERR_NO_LAYERS, NULL,
                          "the file has no layer table (tensors only, as kwbin.save_file writes): "
                          "there is no network to run");
    memset(&c, 0, sizeof c);
    c.net = net;
    c.f = f;
    c.nominal = nominal;
    c.n = kwb_layer_count(f);
    if (c.n > (uint32_t)1 << 28) return kwnn__oom(&c);
    /* pass 1: sizes from the configs and tensors alone */
    if ((r = kwnn__metadata(&c, net->opt_.hard_sigmoid)) != KWNN_OK ||
        (r = kwnn__count_graph(&c)) != KWNN_OK || (r = kwnn__measure_params(&c)) != KWNN_OK)
        return r;
    c.node_cap = (uint32_t)c.count_nodes;
    c.edge_cap = (uint32_t)c.count_edges;
    c.stack_cap = c.node_cap + c.edge_cap + 2;
    while (hash < 2 * (size_t)c.n) hash *= 2;
    c.hash_mask = (uint32_t)(hash - 1);
    n1 = (size_t)c.n + 1;
    /* one block: what the net keeps, then what kwnn_load uses only while loading */
    ok = kwnn__carve(&off, c.n, sizeof(kwnn_layer), &at[0]) &&
         kwnn__carve(&off, c.node_cap, sizeof(kwnn__node), &at[1]) &&
         kwnn__carve(&off, c.edge_cap, sizeof(uint32_t), &at[2]) &&
         kwnn__carve(&off, c.node_cap, sizeof(uint32_t), &at[3]) &&
         kwnn__carve(&off, c.count_inputs, sizeof(uint32_t), &at[4]) &&
         kwnn__carve(&off, c.count_outputs, sizeof(uint32_t), &at[5]) &&
         kwnn__carve(&off, c.params_cap, sizeof(float), &at[6]) &&
         kwnn__carve(&off, n1 * 2 + c.n, sizeof(uint32_t), &at[7]) &&      /* links */
         kwnn__carve(&off, (size_t)c.n * 4, sizeof(uint32_t), &at[8]) &&   /* base, calls, outs, loaded */
         kwnn__carve(&off, hash, sizeof(uint32_t), &at[9]) &&
         kwnn__carve(&off, c.stack_cap, sizeof(uint32_t), &at[10]) &&
         kwnn__carve(&off, c.node_cap, sizeof(uint32_t), &at[11]) &&       /* stack2 */
         kwnn__carve(&off, c.node_cap + 1, sizeof(uint32_t), &at[12]) &&   /* live */
         kwnn__carve(&off, c.node_cap, sizeof(uint32_t), &at[13]) &&       /* sorted_ */
         kwnn__add(off, 64, &off);
    if (!ok) return kwnn__oom(&c);
    mem = net->opt_.alloc_fn ? net->opt_.alloc_fn(off, net->opt_.user_data) : KWNN_MALLOC(off);
    if (mem == NULL) return kwnn__fail(net, KWNN_ERR_OUT_OF_MEMORY, NULL, "out of memory");
    net->mem_ = mem;
    base = (unsigned char *)mem;
    base += (size_t)((uintptr_t)base % 64) ? 64 - (size_t)((uintptr_t)base % 64) : 0;
    net->layers = (kwnn_layer *)(void *)(base + at[0]);
    net->nodes_ = (kwnn__node *)(void *)(base + at[1]);
    net->edges_ = (uint32_t *)(void *)(base + at[2]);
    net->order_ = (uint32_t *)(void *)(base + at[3]);
    net->inputs_ = (uint32_t *)(void *)(base + at[4]);
    net->outputs_ = (uint32_t *)(void *)(base + at[5]);
    c.params = (float *)(void *)(base + at[6]);
    c.first_child = (uint32_t *)(void *)(base + at[7]);
    c.last_child = c.first_child + n1;
    c.next_sibling = c.last_child + n1;
    c.base = (uint32_t *)(void *)(base + at[8]);
    c.calls = c.base + c.n;
    c.outs = c.calls + c.n;
    c.loaded = c.outs + c.n;
    c.hash = (uint32_t *)(void *)(base + at[9]);
    c.stack = (uint32_t *)(void *)(base + at[10]);
    c.stack2 = (uint32_t *)(void *)(base + at[11]);
    c.live = (uint32_t *)(void *)(base + at[12]);
    net->sorted_ = (uint32_t *)(void *)(base + at[13]);
    net->file_ = f;
    net->legacy_ = c.legacy;
    net->theano_ = c.theano_kernels;
    c.fill = 1;
    r = kwnn__build(&c);
    *variable = c.saw_variable;
    if (r != KWNN_OK) {
        char message[KWNN_MESSAGE_SIZE];
        memcpy(message, net->message, sizeof message);
        kwnn_free(net);
        memcpy(net->message, message, sizeof message);
        net->error = r;
        return r;
    }
    net->error = KWNN_OK;
    return KWNN_OK;
}

/* A None axis loads at a nominal length.  A net that cannot take 32 steps (a
   window longer than that, strided layers that would shrink it to nothing) is
   loaded again at twice the length, up to KWNN__NOMINAL_MAX; when no length
   works, the message is the one for 32 (another error, e.g. max_cost at a
   longer length, is said as it is). */
KWNN_API kwnn_result kwnn_load(kwnn_net *net, const kwb_file *f, const kwnn_options *opt)
{
    char first[KWNN_MESSAGE_SIZE];
    size_t nominal = KWNN__NOMINAL;
    int variable = 0;
    kwnn_result r = kwnn__load_at(net, f, opt, nominal, &variable);
    if (r != KWNN_ERR_SHAPE || !variable) return r;
    memcpy(first, net->message, sizeof first);
    while (r == KWNN_ERR_SHAPE && variable && nominal < KWNN__NOMINAL_MAX) {
        nominal *= 2;
        r = kwnn__load_at(net, f, opt, nominal, &variable);
    }
    if (r == KWNN_ERR_SHAPE) memcpy(net->message, first, sizeof first);
    return r;
}

KWNN_API void kwnn_free(kwnn_net *net)
{
    if (net == NULL) return;
    if (net->mem_ != NULL) {
        if (net->opt_.free_fn) net->opt_.free_fn(net->mem_, net->opt_.user_data);
        else KWNN_FREE(net->mem_);
    }
    memset(net, 0, sizeof *net);
}

/* floats * batch * 4 bytes, checked */
static size_t kwnn__bytes(size_t floats, int batch)
{
    size_t n;
    if (batch < 1 || !kwnn__mul(floats, (size_t)batch, &n) || !kwnn__mul(n, sizeof(float), &n))
        return KWNN__SIZE_MAX;
    return n;
}

KWNN_API size_t kwnn_scratch_size(const kwnn_net *net, int batch)
{
    size_t n;
    if (net == NULL || net->layers == NULL || batch < 1) return KWNN__SIZE_MAX;
    if (net->arena_ == 0) return 0;
    n = kwnn__bytes(net->arena_, batch);
    if (n == KWNN__SIZE_MAX || !kwnn__add(n, 64, &n)) return KWNN__SIZE_MAX;
    return n;
}

KWNN_API size_t kwnn_peak_size(const kwnn_net *net, int batch)
{
    if (net == NULL || net->layers == NULL || batch < 1) return KWNN__SIZE_MAX;
    return kwnn__bytes(net->peak_, batch);
}

KWNN_API const size_t *kwnn_input_shape(const kwnn_net *net, uint32_t i, uint32_t *ndim)
{
    if (net == NULL || net->layers == NULL || i >= net->num_inputs) return NULL;
    if (ndim != NULL) *ndim = net->nodes_[net->inputs_[i]].nd;
    return net->nodes_[net->inputs_[i]].shape;
}

KWNN_API const size_t *kwnn_output_shape(const kwnn_net *net, uint32_t i, uint32_t *ndim)
{
    if (net == NULL || net->layers == NULL || i >= net->num_outputs) return NULL;
    if (ndim != NULL) *ndim = net->nodes_[net->outputs_[i]].nd;
    return net->nodes_[net->outputs_[i]].shape;
}

KWNN_API size_t kwnn_input_size(const kwnn_net *net, uint32_t i)
{
    if (net == NULL || net->layers == NULL || i >= net->num_inputs) return 0;
    return net->nodes_[net->inputs_[i]].count;
}

KWNN_API size_t kwnn_output_size(const kwnn_net *net, uint32_t i)
{
    if (net == NULL || net->layers == NULL || i >= net->num_outputs) return 0;
    return net->nodes_[net->outputs_[i]].count;
}


/* ---- variable dimensions: input shapes given at run time ----------------- */

/* kwnn_run_shapes re-infers every shape for the inputs it is given: it runs
   each layer's loader again (c->fill 0: nothing is converted or written but
   the layer's fields), keeping the weights the load placed, and plans the
   arena again by the load's own first fit.  What that needs lives at the
   start of the caller's scratch:
     the graph's nodes with this run's shapes and offsets (node_count_),
     the layer of each run position with this run's fields (order_count_),
     the plan's live list (node_count_ + 1),
   each rounded to 64 bytes; then the arena. */
typedef struct kwnn__shaped {
    kwnn_net view;      /* *net, its nodes_ the copy below (messages go to view.message) */
    kwnn__node *nodes;
    kwnn_layer *layers; /* by run position */
    uint32_t *live;
    struct kwnn__op *ops; /* by run position: the operation nodes' arguments for these shapes (47_ops.h) */
} kwnn__shaped;

/* Bytes of the nodes, layers and live list; 0 on overflow. */
static size_t kwnn__shaped_head(const kwnn_net *net)
{
    size_t at = 0, part[4];
    if (!kwnn__carve(&at, net->node_count_, sizeof(kwnn__node), &part[0]) ||
        !kwnn__carve(&at, net->order_count_, sizeof(kwnn_layer), &part[1]) ||
        !kwnn__carve(&at, (size_t)net->node_count_ + 1, sizeof(uint32_t), &part[2]) ||
        !kwnn__carve(&at, net->order_count_, sizeof(struct kwnn__op), &part[3]))
        return 0;
    return at;
}

static void kwnn__shaped_at(kwnn__shaped *S, const kwnn_net *net, unsigned char *base)
{
    size_t at = 0, part[4];
    kwnn__carve(&at, net->node_count_, sizeof(kwnn__node), &part[0]);
    kwnn__carve(&at, net->order_count_, sizeof(kwnn_layer), &part[1]);
    kwnn__carve(&at, (size_t)net->node_count_ + 1, sizeof(uint32_t), &part[2]);
    kwnn__carve(&at, net->order_count_, sizeof(struct kwnn__op), &part[3]);
    S->ops = (struct kwnn__op *)(void *)(base + part[3]);
    S->nodes = (kwnn__node *)(void *)(base + part[0]);
    S->layers = (kwnn_layer *)(void *)(base + part[1]);
    S->live = (uint32_t *)(void *)(base + part[2]);
}

/* Input i takes shape s: the model's fixed axes must match, its None axes take s's (at least 1). */
static kwnn_result kwnn__given_shape(kwnn__ctx *c, uint32_t i, const kwnn_shape *s)
{
    kwnn__node *x = &c->net->nodes_[c->net->inputs_[i]];
    uint32_t d;
    int ok = s->ndim == x->nd;
    for (d = 0; ok && d < x->nd; d++)
        ok = (x->var >> d & 1u) ? s->dims[d] >= 1 && s->dims[d] <= KWNN__DIM_LIMIT : s->dims[d] == x->shape[d];
    if (!ok) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, NULL, "input ");
        kwnn__m_u64(c->net, i);
        kwnn__m(c->net, " of shape ");
        kwnn__m_shape(c->net, s->dims, s->ndim <= KWNN_MAX_DIMS ? s->ndim : KWNN_MAX_DIMS);
        kwnn__m(c->net, " does not fit the model's (");
        for (d = 0; d < x->nd; d++) {
            if (d) kwnn__m(c->net, ", ");
            if (x->var >> d & 1u) kwnn__m(c->net, "None");
            else kwnn__m_u(c->net, x->shape[d]);
        }
        kwnn__m(c->net, x->nd == 1 ? ",)" : ")");
        if (x->var) kwnn__m(c->net, " (a None axis takes a length of at least 1)");
        return KWNN_ERR_SHAPE;
    }
    kwnn__set_node_shape(x, s->dims, s->ndim);
    if (x->count == KWNN__SIZE_MAX)
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, NULL, "an input shape has more elements than a size_t counts");
    return KWNN_OK;
}

/* Every node's shape for these inputs (each layer checks its input as at load), then the plan;
   *floats: the arena (work area included) per sample. */
static kwnn_result kwnn__infer(kwnn__shaped *S, const kwnn_net *net, const kwnn_shape *in_shapes, size_t *floats)
{
    kwnn__ctx c;
    kwnn_net *v = &S->view;
    kwnn__node *nodes = S->nodes;
    size_t work = 0;
    uint32_t i, p;
    kwnn_result r;
    *v = *net;
    v->nodes_ = nodes;
    v->message[0] = '\0';
    memcpy(nodes, net->nodes_, (size_t)net->node_count_ * sizeof *nodes);
    memset(&c, 0, sizeof c);
    c.net = v;
    c.f = net->file_;
    c.n = net->layer_count;
    c.legacy = net->legacy_;
    c.theano_kernels = net->theano_;
    c.params_cap = KWNN__SIZE_MAX;
    c.live = S->live;
    for (i = 0; i < net->num_inputs; i++)
        if ((r = kwnn__given_shape(&c, i, &in_shapes[i])) != KWNN_OK) return r;
    for (p = 0; p < net->sorted_count_; p++) {
        kwnn__node *x = &nodes[net->sorted_[p]];
        kwb_layer L;
        if (x->kind == KWNN__N_INPUT) continue;
        if (x->layer != KWB_NONE && kwb_get_layer(c.f, x->layer, &L) != KWB_OK) return KWNN_ERR_INVALID_ARGUMENT;
        if (x->kind == KWNN__N_ALIAS) {
            const kwnn__node *in = &nodes[net->edges_[x->first_in]];
            if (x->layer != KWB_NONE) { /* a nested InputLayer: must agree with what feeds it */
                c.have_shape = 1;
                c.nd = in->nd;
                memcpy(c.shape, in->shape, sizeof c.shape);
                kwnn__steps_drop(&c, x); /* inside a TimeDistributed model: one step's */
                if ((r = kwnn__input_shape(&c, &L, 0)) != KWNN_OK) return r;
            }
            kwnn__set_node_shape(x, in->shape, in->nd);
        } else if (x->kind == KWNN__N_PART) { /* the layer of the call it copies from */
            S->layers[x->aux] = S->layers[nodes[net->edges_[x->first_in]].aux];
            if ((r = kwnn__part_shape(v, &S->layers[x->aux], x)) != KWNN_OK) return r;
        } else {
            const kwnn_layer *base = &net->layers[x->layer];
            kwnn_layer tmp, *out = kwnn__free_layer(net, x) ? &tmp : &S->layers[x->aux];
            struct kwnn__op op_tmp;
            c.op_store = out == &tmp ? &op_tmp : &S->ops[x->aux]; /* an operation's arguments (47_ops.h) */
            c.op_base = base->op_args;
            out->name = base->name;
            out->class_name = base->class_name;
            if ((r = kwnn__load_call(&c, &L, x, out)) != KWNN_OK) return r;
            out->w = base->w; /* the weights the load placed (converted, folded, repacked) */
            out->b = base->b;
            out->w2 = base->w2;
            out->bw = base->bw;
            out->bw2 = base->bw2;
            out->bb = base->bb;
            memcpy(out->more, base->more, sizeof out->more);
            out->calls = base->calls;
            kwnn__call_value(x, out);
            if (out != &tmp && out->work > work) work = out->work;
        }
    }
    for (i = 0; i < net->node_count_; i++) nodes[i].state = 0;
    v->arena_ = v->peak_ = 0;
    if ((r = kwnn__place_all(&c)) != KWNN_OK) return r;
    v->work_ = v->arena_;
    if (work > 0 && (!kwnn__add(v->arena_, kwnn__round16(work), &v->arena_) || v->arena_ > KWNN__SIZE_MAX / 64))
        return kwnn__fail(v, KWNN_ERR_OVERFLOW, NULL, "the work area for these shapes does not fit in a size_t");
    *floats = v->arena_;
    return KWNN_OK;
}

/* Scratch bytes for head + the arena, batch samples; 64 of alignment slack. */
static kwnn_result kwnn__shaped_total(kwnn_net *v, size_t head, size_t floats, int batch, size_t *total)
{
    size_t n = kwnn__bytes(floats, batch);
    if (n == KWNN__SIZE_MAX || !kwnn__add(n, head, &n) || !kwnn__add(n, 64, &n))
        return kwnn__fail(v, KWNN_ERR_OVERFLOW, NULL, "the scratch for these shapes does not fit in a size_t");
    *total = n;
    return KWNN_OK;
}

static void kwnn__out_shapes(const kwnn__shaped *S, const kwnn_net *net, kwnn_shape *out_shapes)
{
    uint32_t j;
    for (j = 0; out_shapes != NULL && j < net->num_outputs; j++) {
        const kwnn__node *o = &S->nodes[net->outputs_[j]];
        out_shapes[j].ndim = o->nd;
        memcpy(out_shapes[j].dims, o->shape, sizeof out_shapes[j].dims);
    }
}

static kwnn_result kwnn__shaped_result(const kwnn__shaped *S, kwnn_result r, char *message)
{
    if (message != NULL) {
        if (r == KWNN_OK) message[0] = '\0';
        else memcpy(message, S->view.message, KWNN_MESSAGE_SIZE);
    }
    return r;
}

static int kwnn__shapes_args(const kwnn_net *net, const kwnn_shape *in_shapes, int batch)
{
    return net != NULL && net->layers != NULL && net->file_ != NULL && in_shapes != NULL && batch >= 1;
}

KWNN_API kwnn_result kwnn_scratch_size_shapes(const kwnn_net *net, const kwnn_shape *in_shapes, int batch,
                                              size_t *size, kwnn_shape *out_shapes, char *message)
{
    kwnn__shaped S;
    size_t head, floats = 0;
    void *mem;
    kwnn_result r;
    if (message != NULL) message[0] = '\0';
    if (size == NULL || !kwnn__shapes_args(net, in_shapes, batch)) return KWNN_ERR_INVALID_ARGUMENT;
    *size = 0;
    if ((head = kwnn__shaped_head(net)) == 0 || head > KWNN__SIZE_MAX - 64) return KWNN_ERR_OVERFLOW;
    /* the one temporary allocation: the graph's nodes for these shapes (kwnn_run_shapes uses the scratch) */
    mem = net->opt_.alloc_fn ? net->opt_.alloc_fn(head + 64, net->opt_.user_data) : KWNN_MALLOC(head + 64);
    if (mem == NULL) return KWNN_ERR_OUT_OF_MEMORY;
    kwnn__shaped_at(&S, net, (unsigned char *)kwnn__align64(mem));
    r = kwnn__infer(&S, net, in_shapes, &floats);
    if (r == KWNN_OK) r = kwnn__shaped_total(&S.view, head, floats, batch, size);
    if (r == KWNN_OK) kwnn__out_shapes(&S, net, out_shapes);
    r = kwnn__shaped_result(&S, r, message);
    if (net->opt_.free_fn) net->opt_.free_fn(mem, net->opt_.user_data);
    else KWNN_FREE(mem);
    return r;
}

KWNN_API kwnn_result kwnn_run_shapes(const kwnn_net *net, const float *const *inputs, const kwnn_shape *in_shapes,
                                     float *const *outputs, const size_t *out_capacity, kwnn_shape *out_shapes,
                                     void *scratch, size_t scratch_size, int batch, size_t *need, char *message)
{
    kwnn__shaped S;
    kwnn__rt rt;
    unsigned char *base;
    size_t head, floats = 0, total = 0;
    uint32_t i;
    kwnn_result r;
    if (message != NULL) message[0] = '\0';
    if (need != NULL) *need = 0;
    if (!kwnn__shapes_args(net, in_shapes, batch) || inputs == NULL || outputs == NULL || out_capacity == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < net->num_inputs; i++)
        if (inputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < net->num_outputs; i++)
        if (outputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    if ((head = kwnn__shaped_head(net)) == 0 || head > KWNN__SIZE_MAX - 64) return KWNN_ERR_OVERFLOW;
    if (scratch == NULL || scratch_size < head + 64) { /* not even the graph fits: its size, a lower bound */
        if (need != NULL) *need = head + 64;
        if (message != NULL)
            memcpy(message, "the scratch does not hold the graph (kwnn_scratch_size_shapes gives the size)",
                   sizeof "the scratch does not hold the graph (kwnn_scratch_size_shapes gives the size)");
        return KWNN_ERR_SCRATCH;
    }
    base = (unsigned char *)kwnn__align64(scratch);
    kwnn__shaped_at(&S, net, base);
    r = kwnn__infer(&S, net, in_shapes, &floats);
    if (r == KWNN_OK) r = kwnn__shaped_total(&S.view, head, floats, batch, &total);
    if (r != KWNN_OK) return kwnn__shaped_result(&S, r, message);
    kwnn__out_shapes(&S, net, out_shapes);
    if (need != NULL) *need = total;
    if (scratch_size < total) {
        kwnn__fail(&S.view, KWNN_ERR_SCRATCH, NULL, "the scratch holds ");
        kwnn__m_u64(&S.view, scratch_size);
        kwnn__m(&S.view, " bytes, these shapes need ");
        kwnn__m_u64(&S.view, total);
        return kwnn__shaped_result(&S, KWNN_ERR_SCRATCH, message);
    }
    for (i = 0; i < net->num_outputs; i++) {
        size_t want = kwnn__bytes(S.nodes[net->outputs_[i]].count, batch);
        if (want == KWNN__SIZE_MAX || out_capacity[i] < want / sizeof(float)) {
            kwnn__fail(&S.view, KWNN_ERR_SIZE, NULL, "output ");
            kwnn__m_u64(&S.view, i);
            kwnn__m(&S.view, " needs ");
            kwnn__m_u64(&S.view, want == KWNN__SIZE_MAX ? UINT64_MAX : (uint64_t)(want / sizeof(float)));
            kwnn__m(&S.view, " floats, its array holds ");
            kwnn__m_u64(&S.view, out_capacity[i]);
            return kwnn__shaped_result(&S, KWNN_ERR_SIZE, message);
        }
    }
    rt.net = &S.view;
    rt.inputs = inputs;
    rt.outputs = outputs;
    rt.batch = (size_t)batch;
    rt.arena = (float *)(void *)(base + head);
    rt.call_layers = S.layers;
    r = kwnn__run_all(&rt);
    if (r == KWNN_ERR_INPUT_VALUE)
        kwnn__fail(&S.view, r, NULL, "an input value a layer cannot take (an Embedding id that is not an integer "
                                     "in [0, input_dim))");
    return kwnn__shaped_result(&S, r, message);
}

/* ---- the graph: counting, building, sorting, shapes, buffer plan --------- */

/* A graph is the model config unrolled: one node per call of a layer (a
   shared layer has one per call, a nested model's layers one per call of
   the model), one per model input, one alias per nested model's input and
   output.  Pass 1 counts the nodes from the configs alone; pass 2 builds
   them in the one allocation, sorts them (inputs before readers), infers
   every shape, loads each layer at its first call, and plans the buffers. */

#define KWNN__MAX_NODES ((uint64_t)1 << 24) /* nodes (and edges) a graph may unroll to */
#define KWNN__MAX_DEPTH 32                   /* models nested in models */

static const kwnn__node *kwnn__in_node(kwnn__ctx *c, uint32_t i) { return &c->net->nodes_[c->ins[i]]; }

/* Is the JSON string a model class?  *seq: it is a Sequential. */
static int kwnn__model_json(kwnn__json cls, int *seq)
{
    *seq = kwnn__jstr_is(cls, "Sequential");
    return *seq || kwnn__jstr_is(cls, "Functional") || kwnn__jstr_is(cls, "Model");
}

/* The list of a model config's layers (Keras 1 writes a Sequential's as the config itself). */
static int kwnn__model_layers(kwnn__json mcfg, kwnn__json *layers)
{
    if (kwnn__is(mcfg, '[')) {
        *layers = mcfg;
        return 1;
    }
    return kwnn__get(mcfg, "layers", layers) && kwnn__is(*layers, '[');
}

/* The arguments of one call (an entry of inbound_nodes): Keras 3 writes
   {"args": [...], "kwargs": {...}}, Keras 1 and 2 the list of references. */
static kwnn__json kwnn__call_args(kwnn__json call)
{
    kwnn__json args;
    if (kwnn__is(call, '{')) {
        if (kwnn__get(call, "args", &args)) return args;
        args.p = args.e = NULL;
        return args;
    }
    return call;
}

static size_t kwnn__nrefs(kwnn__json v)
{
    size_t n = 0;
    kwnn__json first;
    if (v.p != NULL) kwnn__refs(v, 0, &n, &first);
    return n;
}

/* Keyword arguments that may be tensors: MultiHeadAttention's (Keras 3
   records mha(q, v, key=k) with k under "kwargs"; tf.keras records every
   argument after the first as a keyword, mha(q, v) as [["q", 0, 0,
   {"value": ["v", 0, 0]}]]); they follow the positional arguments, in this
   order. */
static const char *const kwnn__tensor_kwargs[] = {"query", "value", "key", "initial_state",
                                                   "mask"}; /* mask: 48_masking.h, last */
#define KWNN__TENSOR_KWARGS (sizeof kwnn__tensor_kwargs / sizeof kwnn__tensor_kwargs[0])

/* The keyword arguments of one call: Keras 3's "kwargs"; Keras 2's the
   fourth element of its first reference, [name, node, tensor, {...}]. */
static int kwnn__call_kwargs(kwnn__json call, kwnn__json *kw)
{
    kwnn__iter it, it2;
    kwnn__json ref, el;
    int i;
    if (kwnn__is(call, '{')) return kwnn__get(call, "kwargs", kw) && kwnn__is(*kw, '{');
    if (!kwnn__begin(call, '[', &it) || !kwnn__next(&it, NULL, &ref) || !kwnn__begin(ref, '[', &it2)) return 0;
    for (i = 0; i < 4 && kwnn__next(&it2, NULL, &el); i++) {}
    if (i < 4 || !kwnn__is(el, '{')) return 0;
    *kw = el;
    return 1;
}

/* The tensors one call takes: its arguments, then those keyword arguments. */
static size_t kwnn__call_nrefs(kwnn__json call)
{
    kwnn__json kw, v;
    size_t n = kwnn__nrefs(kwnn__call_args(call)), i;
    if (kwnn__call_kwargs(call, &kw))
        for (i = 0; i < KWNN__TENSOR_KWARGS; i++)
            if (kwnn__get(kw, kwnn__tensor_kwargs[i], &v)) n += kwnn__nrefs(v);
    return n;
}

typedef struct kwnn__size {
    uint64_t nodes, edges; /* one call's */
    uint32_t outs;         /* outputs of the model */
} kwnn__size;

static kwnn_result kwnn__too_big(kwnn__ctx *c, const kwb_layer *owner)
{
    return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner,
                      "the model graph unrolls to more than 2^24 layer calls (nested models called many times)");
}

/* The states a recurrent class gives per direction (0: not one). */
static uint32_t kwnn__rnn_class_states(kwnn__json cls)
{
    return kwnn__jstr_is(cls, "LSTM") ? 2 : kwnn__jstr_is(cls, "GRU") || kwnn__jstr_is(cls, "SimpleRNN") ? 1 : 0;
}

/* Outputs of one call of a layer entry (a model config's): a recurrent layer (or a Bidirectional
   of one) with return_state gives its states after its output (LSTM: h, c; GRU, SimpleRNN: h;
   a Bidirectional: the forward's, then the backward's). */
static uint32_t kwnn__entry_outputs(kwnn__json entry)
{
    kwnn__json cls, cfg, v, bcls;
    uint32_t back = 0, states, mains = 1;
    int on = 0;
    if (!kwnn__get(entry, "class_name", &cls) || !kwnn__get(entry, "config", &cfg)) return 1;
    if (kwnn__jstr_is(cls, "Bidirectional")) {
        if (kwnn__get(cfg, "merge_mode", &v) && kwnn__null(v)) mains = 2; /* merge_mode None: two outputs */
        bcls.p = NULL;
        if (kwnn__get(cfg, "backward_layer", &v) && kwnn__is(v, '{')) kwnn__get(v, "class_name", &bcls);
        if (!kwnn__get(cfg, "layer", &v) || !kwnn__get(v, "class_name", &cls) || !kwnn__get(v, "config", &cfg))
            return 1;
        back = kwnn__rnn_class_states(bcls.p != NULL ? bcls : cls); /* the backward layer's own class */
    }
    states = kwnn__rnn_class_states(cls);
    if (states == 0) return 1;
    if (!kwnn__get(cfg, "return_state", &v) || !kwnn__bool(v, &on) || !on) return mains;
    return mains + states + back;
}

/* Pass 1: nodes and edges one call of a model unrolls to, from its config
   (nested configs included); linear in the config's size. */
static kwnn_result kwnn__count_model(kwnn__ctx *c, int seq, kwnn__json mcfg, const kwb_layer *owner, int depth,
                                     kwnn__size *sz)
{
    kwnn__json layers, entry, cls, nodes, io, ecfg;
    kwnn__iter it, calls;
    kwnn_result r;
    if (depth > KWNN__MAX_DEPTH)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner, "models are nested more than 32 deep");
    if (!kwnn__model_layers(mcfg, &layers) || !kwnn__begin(layers, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a model config has no list of layers");
    sz->nodes = sz->edges = seq ? 1 : 0; /* a Sequential may have an InputLayer its config omits */
    while (kwnn__next(&it, NULL, &entry)) {
        uint64_t m = 1, refs = (seq && kwnn__mask_entry(entry)) ? 2u : 1u; /* a chain's mask: 48_masking.h */
        int nested_seq, has_cls, td_model;
        KWNN_PROBE(load_steps, 1);
        if (kwnn__op_entry(entry) && (r = kwnn__op_measure(c, entry, owner)) != KWNN_OK) return r; /* 47_ops.h */
        c->mask_producer |= kwnn__mask_producer(entry); /* 48_masking.h */
        if (!seq) {
            m = refs = 0;
            if (kwnn__get(entry, "inbound_nodes", &nodes) && kwnn__begin(nodes, '[', &calls)) {
                kwnn__json call;
                m = kwnn__count(nodes);
                while (kwnn__next(&calls, NULL, &call)) { /* every reference, or more (Keras 2 kwargs) */
                    size_t all = kwnn__nrefs(call), used = kwnn__tf_op_entry(entry) ? kwnn__tf_nrefs(call, 0)
                                                                                     : kwnn__call_nrefs(call);
                    refs += (all > used ? all : used) + kwnn__mask_spare(entry); /* 48_masking.h */
                }
            }
        }
        has_cls = kwnn__get(entry, "class_name", &cls);
        td_model = has_cls && kwnn__jstr_is(cls, "TimeDistributed") && kwnn__get(entry, "config", &ecfg) &&
                   kwnn__td_model_cfg(ecfg, &ecfg, &nested_seq);
        if (td_model || (has_cls && kwnn__model_json(cls, &nested_seq))) { /* a model, or one in a TimeDistributed */
            kwnn__size in;
            if (!td_model && !kwnn__get(entry, "config", &ecfg))
                return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a nested model has no config");
            if ((r = kwnn__count_model(c, nested_seq, ecfg, owner, depth + 1, &in)) != KWNN_OK) return r;
            sz->nodes = kwnn__sat_add(sz->nodes, kwnn__sat_mul(m, in.nodes + in.outs));
            sz->edges = kwnn__sat_add(sz->edges, kwnn__sat_add(refs, kwnn__sat_mul(m, in.edges + in.outs)));
        } else if (kwnn__get(entry, "class_name", &cls) && kwnn__jstr_is(cls, "InputLayer")) {
            sz->nodes++;
            sz->edges++;
        } else {
            uint64_t parts = kwnn__entry_outputs(entry); /* several: a PART node per output */
            if (parts > 1) parts = kwnn__sat_mul(m, parts);
            else parts = 0;
            sz->nodes = kwnn__sat_add(sz->nodes, kwnn__sat_add(m, parts));
            sz->edges = kwnn__sat_add(sz->edges, kwnn__sat_add(refs, parts));
        }
        if (sz->nodes > KWNN__MAX_NODES || sz->edges > KWNN__MAX_NODES) return kwnn__too_big(c, owner);
    }
    sz->outs = 1;
    if (!seq) {
        size_t outs = kwnn__get(mcfg, "output_layers", &io) ? kwnn__nrefs(io) : 1; /* none: the last layer */
        if (outs == 0 || outs > KWNN__MAX_NODES)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a functional model config lists no output_layers");
        sz->outs = (uint32_t)outs;
    }
    return KWNN_OK;
}

/* Pass 1: the whole graph's size (the metadata's Functional config, or the
   table's top-level layers as a chain). */
static kwnn_result kwnn__count_graph(kwnn__ctx *c)
{
    kwnn__size sz;
    kwnn__json io;
    kwnn_result r;
    uint32_t i;
    if (c->top_cfg.p != NULL) {
        size_t ins = 0;
        if ((r = kwnn__count_model(c, 0, c->top_cfg, NULL, 0, &sz)) != KWNN_OK) return r;
        if (kwnn__get(c->top_cfg, "input_layers", &io)) {
            ins = kwnn__nrefs(io);
        } else { /* none listed: every InputLayer, in order */
            kwnn__json layers, entry, cls;
            kwnn__iter it;
            kwnn__model_layers(c->top_cfg, &layers);
            kwnn__begin(layers, '[', &it);
            while (kwnn__next(&it, NULL, &entry))
                if (kwnn__get(entry, "class_name", &cls) && kwnn__jstr_is(cls, "InputLayer")) ins++;
        }
        if (ins == 0 || ins > KWNN__MAX_NODES)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "the model config lists no input_layers");
        c->count_inputs = (uint32_t)ins;
        c->count_outputs = sz.outs;
        c->count_nodes = sz.nodes;
        c->count_edges = sz.edges;
        return KWNN_OK;
    }
    c->count_nodes = 1; /* the input */
    c->count_edges = 0;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        kwnn__json cfg;
        int td_seq;
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (L.parent != KWB_NONE) continue;
        KWNN_PROBE(load_steps, 1);
        cfg.p = L.config;
        cfg.e = L.config + L.config_length;
        if (kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_model(&L, &cfg, &td_seq)) {
            kwnn__size in;
            int seq = strcmp(L.class_name, "Sequential") == 0 || (kwnn__td_model(&L, &cfg, &td_seq) && td_seq);
            if (L.config_length == 0)
                return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, &L, "has no config (pack the file with --arch)");
            if ((r = kwnn__count_model(c, seq, cfg, &L, 1, &in)) != KWNN_OK) return r;
            c->count_nodes = kwnn__sat_add(c->count_nodes, in.nodes + in.outs);
            c->count_edges = kwnn__sat_add(c->count_edges, in.edges + in.outs + 1);
        } else {
            c->count_nodes++;
            c->count_edges += kwnn__is_class(&L, kwnn__mask_classes) ? 2 : 1; /* a chain's mask: 48_masking.h */
        }
        if (c->count_nodes > KWNN__MAX_NODES || c->count_edges > KWNN__MAX_NODES) return kwnn__too_big(c, NULL);
    }
    c->count_inputs = c->count_outputs = 1;
    return KWNN_OK;
}

/* ---- building: names, references, calls ---- */

/* The name of row L inside its model: after "parent/", as the importer writes it. */
static const char *kwnn__local(kwnn__ctx *c, const kwb_layer *L, size_t *len)
{
    kwb_layer P;
    if (L->parent != KWB_NONE && kwb_get_layer(c->f, L->parent, &P) == KWB_OK &&
        L->name_length > P.name_length + 1 && memcmp(L->name, P.name, P.name_length) == 0 &&
        L->name[P.name_length] == '/') {
        *len = (size_t)(L->name_length - P.name_length - 1);
        return L->name + P.name_length + 1;
    }
    *len = L->name_length;
    return L->name;
}

static uint32_t kwnn__fnv(uint32_t h, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t kwnn__hash_start(uint32_t scope)
{
    unsigned char b[4];
    b[0] = (unsigned char)scope;
    b[1] = (unsigned char)(scope >> 8);
    b[2] = (unsigned char)(scope >> 16);
    b[3] = (unsigned char)(scope >> 24);
    return kwnn__fnv(2166136261u, b, 4);
}

/* The hash of a JSON string's decoded bytes, in a scope. */
static uint32_t kwnn__hash_json(uint32_t scope, kwnn__json v)
{
    const char *p = v.p + 1, *e = v.e - 1;
    uint32_t h = kwnn__hash_start(scope);
    while (p < e) {
        unsigned char buf[4];
        size_t k = kwnn__jchar(&p, e, buf);
        if (k == 0) break;
        h = kwnn__fnv(h, buf, k);
    }
    return h;
}

/* Every row under (its parent, its local name): references resolve in O(1). */
static kwnn_result kwnn__hash_build(kwnn__ctx *c)
{
    uint32_t i, j;
    for (i = 0; i <= c->hash_mask; i++) c->hash[i] = 0;
    for (i = 0; i < c->n; i++) {
        kwb_layer L, M;
        size_t len, mlen;
        const char *local;
        uint32_t scope, h;
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        scope = L.parent == KWB_NONE ? c->n : L.parent;
        local = kwnn__local(c, &L, &len);
        h = kwnn__fnv(kwnn__hash_start(scope), (const unsigned char *)local, len) & c->hash_mask;
        while ((j = c->hash[h]) != 0) {
            if (kwb_get_layer(c->f, j - 1, &M) == KWB_OK && M.parent == L.parent) {
                const char *ml = kwnn__local(c, &M, &mlen);
                if (mlen == len && memcmp(ml, local, len) == 0)
                    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L,
                                      "has the same name as another layer of its model (references are ambiguous)");
            }
            h = (h + 1) & c->hash_mask;
        }
        c->hash[h] = i + 1;
    }
    return KWNN_OK;
}

/* The row named `name` (a JSON string) in `scope`, or KWB_NONE. */
static uint32_t kwnn__lookup(kwnn__ctx *c, uint32_t scope, kwnn__json name)
{
    uint32_t h = kwnn__hash_json(scope, name) & c->hash_mask, j;
    if (!kwnn__is(name, '"')) return KWB_NONE;
    while ((j = c->hash[h]) != 0) {
        kwb_layer M;
        size_t mlen;
        if (kwb_get_layer(c->f, j - 1, &M) == KWB_OK && (M.parent == KWB_NONE ? c->n : M.parent) == scope) {
            const char *ml = kwnn__local(c, &M, &mlen);
            if (kwnn__jstr_eq(name, ml, mlen)) return j - 1;
        }
        h = (h + 1) & c->hash_mask;
    }
    return KWB_NONE;
}

static kwnn_result kwnn__disagree(kwnn__ctx *c)
{
    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL,
                      "the model configs and the layer table disagree (more calls or layers than the configs list)");
}

static kwnn_result kwnn__new_node(kwnn__ctx *c, uint32_t kind, uint32_t layer, uint32_t n_in, uint32_t *id)
{
    kwnn__node *x;
    uint32_t i;
    if (c->nodes_used >= c->node_cap || n_in > c->edge_cap - c->edges_used) return kwnn__disagree(c);
    *id = c->nodes_used++;
    x = &c->net->nodes_[*id];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->layer = layer;
    x->n_in = n_in;
    x->first_in = c->edges_used;
    x->root = *id;
    for (i = 0; i < n_in; i++) c->net->edges_[c->edges_used + i] = KWB_NONE;
    c->edges_used += n_in;
    return KWNN_OK;
}

/* "layer 'WHO': takes its input from 'NAME' WHAT" */
static kwnn_result kwnn__ref_fail(kwnn__ctx *c, kwnn__json who, kwnn__json name, const char *what)
{
    kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "layer '");
    kwnn__m_jstr(c->net, who);
    kwnn__m(c->net, "': its input '");
    kwnn__m_jstr(c->net, name);
    kwnn__m(c->net, "' ");
    kwnn__m(c->net, what);
    return KWNN_ERR_BAD_CONFIG;
}

/* The node a reference [name, node_index, tensor_index] names in `scope`:
   node_index counts the calls of that layer as its model config lists them
   (every generation renumbers them so), tensor_index a nested model's outputs. */
static kwnn_result kwnn__resolve(kwnn__ctx *c, uint32_t scope, kwnn__json ref, kwnn__json who, uint32_t *id)
{
    kwnn__iter it;
    kwnn__json name, v;
    long ni = 0, ti = 0;
    uint32_t t;
    kwb_layer L;
    kwnn__begin(ref, '[', &it);
    kwnn__next(&it, NULL, &name);
    if (!kwnn__next(&it, NULL, &v) || !kwnn__int(v, &ni) || ni < 0 ||
        (kwnn__next(&it, NULL, &v) && (!kwnn__int(v, &ti) || ti < 0)))
        return kwnn__ref_fail(c, who, name, "has a bad node or tensor index");
    t = kwnn__lookup(c, scope, name);
    if (t == KWB_NONE || kwb_get_layer(c->f, t, &L) != KWB_OK)
        return kwnn__ref_fail(c, who, name, "is not a layer of its model (a dangling reference)");
    if ((unsigned long)ni >= c->calls[t] || (unsigned long)ti >= c->outs[t]) {
        kwnn__ref_fail(c, who, name, "is node ");
        kwnn__m_u(c->net, (size_t)ni);
        kwnn__m(c->net, ", tensor ");
        kwnn__m_u(c->net, (size_t)ti);
        kwnn__m(c->net, ", but that layer has ");
        kwnn__m_u(c->net, c->calls[t]);
        kwnn__m(c->net, " call(s) of ");
        kwnn__m_u(c->net, c->outs[t]);
        kwnn__m(c->net, " output(s) (a dangling reference)");
        return KWNN_ERR_BAD_CONFIG;
    }
    *id = c->base[t] + (uint32_t)ni * c->outs[t] + (uint32_t)ti;
    return KWNN_OK;
}

typedef struct kwnn__walk {
    kwnn__ctx *c;
    uint32_t scope;
    kwnn__json who;
    uint32_t *dst;
    uint32_t n, cap;
    kwnn_result r;
    int deep; /* a tf.keras operation call: also the references in each one's kwargs (47_ops.h) */
} kwnn__walk;

/* Resolve every reference in v, in order (the structure kwnn__refs counts). */
static void kwnn__walk_refs(kwnn__walk *w, kwnn__json v, int depth)
{
    kwnn__iter it;
    kwnn__json el, k;
    if (depth > 70 || w->r != KWNN_OK || v.p == NULL) return;
    if (kwnn__begin(v, '[', &it)) {
        kwnn__json e0, e1;
        kwnn__iter it2 = it;
        if (kwnn__next(&it2, NULL, &e0) && kwnn__is(e0, '"') && kwnn__next(&it2, NULL, &e1) &&
            e1.p < e1.e && (*e1.p == '-' || (*e1.p >= '0' && *e1.p <= '9'))) {
            if (w->deep && kwnn__jstr_is(e0, "_CONSTANT_VALUE")) { /* a constant first argument */
                kwnn__walk_refs(w, kwnn__tf_kwargs(v), depth + 1);
                return;
            }
            if (w->n >= w->cap) {
                w->r = kwnn__disagree(w->c);
                return;
            }
            w->r = kwnn__resolve(w->c, w->scope, v, w->who, &w->dst[w->n]);
            w->n++;
            if (w->deep) kwnn__walk_refs(w, kwnn__tf_kwargs(v), depth + 1);
            return;
        }
        while (kwnn__next(&it, NULL, &el)) kwnn__walk_refs(w, el, depth + 1);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) kwnn__walk_refs(w, el, depth + 1);
    }
}

/* The inputs of one call into dst (exactly `want` of them). */
static kwnn_result kwnn__call_inputs(kwnn__ctx *c, uint32_t scope, kwnn__json who, kwnn__json call,
                                     uint32_t *dst, uint32_t want)
{
    kwnn__walk w;
    kwnn__json kw, v;
    size_t i;
    int has_kw = kwnn__call_kwargs(call, &kw);
    w.deep = c->deep_refs;
    if (w.deep) has_kw = 0; /* every reference, its kwargs' included */
    /* Keras 3: any other tensor keyword is refused (Keras 2's were always ignored) */
    if (has_kw && kwnn__is(call, '{') &&
        kwnn__nrefs(kw) != kwnn__call_nrefs(call) - kwnn__nrefs(kwnn__call_args(call))) {
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, NULL, "layer '");
        kwnn__m_jstr(c->net, who);
        kwnn__m(c->net, "': takes a tensor as a keyword argument");
        return KWNN_ERR_UNSUPPORTED;
    }
    w.c = c;
    w.scope = scope;
    w.who = who;
    w.dst = dst;
    w.n = 0;
    w.cap = want;
    w.r = KWNN_OK;
    kwnn__walk_refs(&w, kwnn__call_args(call), 0);
    for (i = 0; has_kw && i < KWNN__TENSOR_KWARGS; i++)
        if (kwnn__get(kw, kwnn__tensor_kwargs[i], &v)) kwnn__walk_refs(&w, v, 0);
    if (w.r == KWNN_OK && w.n != want) return kwnn__disagree(c);
    return w.r;
}

static kwnn_result kwnn__inst(kwnn__ctx *c, uint32_t owner, kwnn__json mcfg, const uint32_t *args, uint32_t n_args,
                              uint32_t *outs, uint32_t n_outs, int depth);

static int kwnn__is_input(const kwb_layer *L) { return strcmp(L->class_name, "InputLayer") == 0; }

/* Row L a TimeDistributed around a model, by its entry in a functional config: the model's config. */
static int kwnn__td_entry(const kwb_layer *L, kwnn__json entry, kwnn__json *mcfg, int *seq)
{
    kwnn__json cfg;
    return strcmp(L->class_name, "TimeDistributed") == 0 && kwnn__get(entry, "config", &cfg) &&
           kwnn__td_model_cfg(cfg, mcfg, seq);
}

/* After a call of row t that made nodes [first, nodes_used): if t is a TimeDistributed around a
   model, they run with the steps as their batch (kwnn__load_call).  One level only. */
static kwnn_result kwnn__td_mark(kwnn__ctx *c, uint32_t t, uint32_t first)
{
    kwb_layer L;
    kwnn__json m;
    int seq;
    uint32_t i;
    if (kwb_get_layer(c->f, t, &L) != KWB_OK || !kwnn__td_model(&L, &m, &seq)) return KWNN_OK;
    for (i = first; i < c->nodes_used; i++) {
        if (c->net->nodes_[i].steps)
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, &L,
                              "unsupported TimeDistributed model inside a TimeDistributed model");
        c->net->nodes_[i].steps = 1;
    }
    return KWNN_OK;
}

/* A TimeDistributed around model mcfg (row L): one input and one output, packed with its layers. */
static kwnn_result kwnn__td_model_check(kwnn__ctx *c, const kwb_layer *L, uint32_t t, kwnn__json mcfg, int seq)
{
    kwnn__json io;
    if (!seq && ((kwnn__get(mcfg, "input_layers", &io) && kwnn__nrefs(io) != 1) ||
                 (kwnn__get(mcfg, "output_layers", &io) && kwnn__nrefs(io) != 1)))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported wrapped model of several inputs or outputs (TimeDistributed takes one)");
    if (c->first_child[t] == KWB_NONE)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L,
                          "wraps a model whose layers the file does not list (pack it again with this kwbin)");
    return KWNN_OK;
}

/* A call of nested model t (its config mcfg) inside `scope`: its inputs
   resolved onto the stack, its outputs into the alias nodes [first, first + o). */
static kwnn_result kwnn__call_model(kwnn__ctx *c, uint32_t scope, uint32_t t, kwnn__json who, kwnn__json call,
                                    kwnn__json mcfg, uint32_t first, int depth)
{
    uint32_t a = (uint32_t)kwnn__call_nrefs(call), o = c->outs[t], j, *args, first_node;
    kwb_layer T;
    kwnn__json m;
    int seq;
    kwnn_result r;
    if (a > c->stack_cap - c->stack_used || o > c->stack_cap - c->stack_used - a) return kwnn__disagree(c);
    args = c->stack + c->stack_used;
    c->stack_used += a + o;
    if ((r = kwnn__call_inputs(c, scope, who, call, args, a)) != KWNN_OK) return r;
    if (a != 1 && kwb_get_layer(c->f, t, &T) == KWB_OK && kwnn__td_model(&T, &m, &seq))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, &T,
                          "unsupported mask (mask_zero or Masking upstream) or several inputs into a wrapped model");
    first_node = c->nodes_used;
    if ((r = kwnn__inst(c, t, mcfg, args, a, args + a, o, depth + 1)) != KWNN_OK ||
        (r = kwnn__td_mark(c, t, first_node)) != KWNN_OK)
        return r;
    for (j = 0; j < o; j++) c->net->edges_[c->net->nodes_[first + j].first_in] = args[a + j];
    c->stack_used -= a + o;
    return KWNN_OK;
}

/* One call of a Functional model: its config's layers are the table's
   children of `owner`, in order (checked); every call gets its node. */
static kwnn_result kwnn__inst_functional(kwnn__ctx *c, uint32_t owner, kwnn__json mcfg, const uint32_t *args,
                                         uint32_t n_args, uint32_t *outs, uint32_t n_outs, int depth)
{
    uint32_t scope = owner == KWB_NONE ? c->n : owner, child, t, k, id, m, i, last = KWB_NONE;
    const kwb_layer *ownerp = NULL;
    kwb_layer O, L;
    kwnn__json layers, entry, name, nodes, call, io, ecfg, cls;
    kwnn__iter it, calls;
    kwnn__walk w;
    kwnn_result r;
    int td_seq;
    if (owner != KWB_NONE && kwb_get_layer(c->f, owner, &O) == KWB_OK) ownerp = &O;
    if (!kwnn__model_layers(mcfg, &layers) || !kwnn__begin(layers, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the functional model config has no list of layers");
    /* 1: each entry is the next child row; nodes for its calls */
    child = c->first_child[scope];
    while (kwnn__next(&it, NULL, &entry)) {
        const char *local;
        size_t len;
        KWNN_PROBE(load_steps, 1);
        if (!kwnn__entry_name(entry, &name))
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "a layer of the model config has no name");
        if (child == KWB_NONE || kwb_get_layer(c->f, child, &L) != KWB_OK) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the model config names a layer '");
            kwnn__m_jstr(c->net, name);
            kwnn__m(c->net, "' that the layer table does not have");
            return KWNN_ERR_BAD_CONFIG;
        }
        local = kwnn__local(c, &L, &len);
        if (!kwnn__jstr_eq(name, local, len)) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the model config lists layer '");
            kwnn__m_jstr(c->net, name);
            kwnn__m(c->net, "' where the layer table has '");
            kwnn__m_raw(c->net, local, len);
            kwnn__m(c->net, "' (the two must list the same layers in the same order)");
            return KWNN_ERR_BAD_CONFIG;
        }
        t = last = child;
        m = 0;
        if (kwnn__get(entry, "inbound_nodes", &nodes) && kwnn__is(nodes, '[')) m = (uint32_t)kwnn__count(nodes);
        c->base[t] = c->nodes_used;
        c->calls[t] = m;
        c->outs[t] = 1;
        if (kwnn__is_input(&L)) {
            c->calls[t] = 1;
            if ((r = kwnn__new_node(c, KWNN__N_UNBOUND, t, 0, &id)) != KWNN_OK) return r;
        } else if (kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_entry(&L, entry, &ecfg, &td_seq)) {
            uint64_t total;
            if (!kwnn__is_class(&L, kwnn__model_classes) && (r = kwnn__td_model_check(c, &L, t, ecfg, td_seq)) != KWNN_OK)
                return r;
            if (strcmp(L.class_name, "Sequential") != 0 && kwnn__get(entry, "config", &ecfg) &&
                kwnn__get(ecfg, "output_layers", &io)) {
                if (kwnn__nrefs(io) == 0 || kwnn__nrefs(io) > KWNN__MAX_NODES)
                    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L, "its model config lists no output_layers");
                c->outs[t] = (uint32_t)kwnn__nrefs(io);
            }
            total = (uint64_t)m * c->outs[t];
            if (total > c->node_cap) return kwnn__disagree(c);
            for (k = 0; k < (uint32_t)total; k++)
                if ((r = kwnn__new_node(c, KWNN__N_ALIAS, KWB_NONE, 1, &id)) != KWNN_OK) return r;
        } else if (m > 0) {
            kwnn__iter it2;
            uint32_t parts = kwnn__entry_outputs(entry);
            if (parts > 1) { /* references name the PART nodes, which read the calls' nodes after them */
                if ((uint64_t)m * parts > c->node_cap) return kwnn__disagree(c);
                c->outs[t] = parts;
                for (k = 0; k < m * parts; k++) {
                    if ((r = kwnn__new_node(c, KWNN__N_PART, t, 1, &id)) != KWNN_OK) return r;
                    c->net->nodes_[id].part = k % parts;
                    c->net->edges_[c->net->nodes_[id].first_in] = c->base[t] + m * parts + k / parts;
                }
            }
            kwnn__begin(nodes, '[', &it2);
            while (kwnn__next(&it2, NULL, &call)) {
                if ((r = kwnn__new_node(c, KWNN__N_LAYER, t,
                                        (uint32_t)(kwnn__tf_op_entry(entry) ? kwnn__tf_nrefs(call, 0)
                                                                            : kwnn__call_nrefs(call)) +
                                            kwnn__mask_spare(entry),
                                        &id)) !=
                    KWNN_OK)
                    return r;
                c->net->nodes_[id].n_in -= kwnn__mask_spare(entry); /* room for its masks (48_masking.h) */
            }
        }
        child = c->next_sibling[child];
    }
    if (child != KWB_NONE)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp,
                          "the model config and the layer table list different layers");
    /* 2: the model's inputs are its InputLayers (input_layers; none listed:
       all, in order), fed by the call's arguments */
    name.p = "\"input_layers\"";
    name.e = name.p + 14;
    if (n_args > c->stack_cap - c->stack_used) return kwnn__disagree(c);
    w.c = c;
    w.scope = scope;
    w.who = name;
    w.dst = c->stack + c->stack_used;
    w.n = 0;
    w.cap = n_args;
    w.r = KWNN_OK;
    if (kwnn__get(mcfg, "input_layers", &io)) {
        kwnn__walk_refs(&w, io, 0);
    } else {
        for (child = c->first_child[scope]; child != KWB_NONE && w.n < n_args; child = c->next_sibling[child])
            if (kwb_get_layer(c->f, child, &L) == KWB_OK && kwnn__is_input(&L)) w.dst[w.n++] = c->base[child];
    }
    if (w.r != KWNN_OK) return w.r;
    if (w.n != n_args) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, ownerp, "the model is called on ");
        kwnn__m_u(c->net, n_args);
        kwnn__m(c->net, " input(s), but its config has ");
        kwnn__m_u(c->net, w.n);
        return KWNN_ERR_SHAPE;
    }
    for (i = 0; i < n_args; i++) {
        kwnn__node *x = &c->net->nodes_[w.dst[i]];
        if (x->kind != KWNN__N_UNBOUND)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp,
                              "an entry of input_layers is not an InputLayer, or is listed twice");
        if (owner == KWB_NONE) {
            x->kind = KWNN__N_INPUT;
            x->aux = i;
            c->net->inputs_[i] = w.dst[i];
        } else {
            x->kind = KWNN__N_ALIAS;
            x->n_in = 1;
            if (c->edges_used >= c->edge_cap) return kwnn__disagree(c);
            x->first_in = c->edges_used++;
            c->net->edges_[x->first_in] = args[i];
        }
    }
    /* 3: the inputs of every call */
    kwnn__begin(layers, '[', &it);
    child = c->first_child[scope];
    while (kwnn__next(&it, NULL, &entry)) {
        t = child;
        child = c->next_sibling[child];
        if (kwb_get_layer(c->f, t, &L) != KWB_OK) return kwnn__disagree(c);
        kwnn__entry_name(entry, &name);
        if (kwnn__is_input(&L) || !kwnn__get(entry, "inbound_nodes", &nodes) || !kwnn__begin(nodes, '[', &calls))
            continue;
        k = 0;
        while (kwnn__next(&calls, NULL, &call)) {
            if (kwnn__td_entry(&L, entry, &ecfg, &td_seq)) { /* its model's layers are the row's children */
                if ((r = kwnn__call_model(c, scope, t, name, call, ecfg, c->base[t] + k * c->outs[t], depth)) !=
                    KWNN_OK)
                    return r;
            } else if (kwnn__is_class(&L, kwnn__model_classes)) {
                int seq;
                if (!kwnn__get(entry, "config", &ecfg)) ecfg = layers; /* a Sequential: its table rows */
                if (!kwnn__get(entry, "class_name", &cls) || !kwnn__model_json(cls, &seq))
                    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L, "its config entry is not a model's");
                if ((r = kwnn__call_model(c, scope, t, name, call, ecfg, c->base[t] + k * c->outs[t], depth)) !=
                    KWNN_OK)
                    return r;
            } else { /* the call's node: after its PART nodes, if any */
                kwnn__node *x = &c->net->nodes_[c->base[t] + (c->outs[t] > 1 ? c->calls[t] * c->outs[t] : 0) + k];
                c->deep_refs = kwnn__tf_op_entry(entry); /* 47_ops.h */
                r = kwnn__call_inputs(c, scope, name, call, c->net->edges_ + x->first_in, x->n_in);
                c->deep_refs = 0;
                if (r != KWNN_OK) return r;
                kwnn__call_kwargs(call, &x->kwargs);
                if (kwnn__op_entry(entry)) x->call = call;
                x->masked = kwnn__call_masked(x->kwargs); /* 48_masking.h */
            }
            k++;
        }
    }
    /* 4: the outputs (none listed: the last layer's first call) */
    if (!kwnn__get(mcfg, "output_layers", &io)) {
        if (last == KWB_NONE || c->calls[last] == 0 || n_outs != 1)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the model config lists no output_layers");
        outs[0] = c->base[last];
        return KWNN_OK;
    }
    name.p = "\"output_layers\"";
    name.e = name.p + 15;
    w.dst = outs;
    w.n = 0;
    w.cap = n_outs;
    w.who = name;
    kwnn__walk_refs(&w, io, 0);
    if (w.r == KWNN_OK && w.n != n_outs) return kwnn__disagree(c);
    return w.r;
}

/* One call of a Sequential (or the table's top level without a Functional
   config): its rows in order, each fed by the one before. */
static kwnn_result kwnn__inst_chain(kwnn__ctx *c, uint32_t owner, const uint32_t *args, uint32_t n_args,
                                    uint32_t *outs, uint32_t n_outs, int depth)
{
    uint32_t scope = owner == KWB_NONE ? c->n : owner, child = c->first_child[scope], v, id;
    kwb_layer L;
    kwnn_result r;
    int masks = 0, attach, td_seq; /* a chain's mask (48_masking.h) */
    kwnn__json tcfg;
    uint32_t mask_src = KWB_NONE;
    if (owner == KWB_NONE) { /* the network's input: an InputLayer, or the first layer's config says */
        int first_is_input = child != KWB_NONE && kwb_get_layer(c->f, child, &L) == KWB_OK && kwnn__is_input(&L);
        if ((r = kwnn__new_node(c, KWNN__N_INPUT, first_is_input ? child : KWB_NONE, 0, &v)) != KWNN_OK) return r;
        c->net->inputs_[0] = v;
        if (first_is_input) child = c->next_sibling[child];
    } else {
        if (n_args != 1) {
            kwb_get_layer(c->f, owner, &L);
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, &L, "a Sequential model is called on several inputs");
        }
        v = args[0];
    }
    for (; child != KWB_NONE; child = c->next_sibling[child]) {
        KWNN_PROBE(load_steps, 1);
        if (kwb_get_layer(c->f, child, &L) != KWB_OK) return kwnn__disagree(c);
        if ((r = kwnn__chain_mask(c, &L, v, &masks, &mask_src, &attach)) != KWNN_OK) return r;
        if (kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_model(&L, &tcfg, &td_seq)) {
            kwnn__json cfg;
            uint32_t first_node = c->nodes_used;
            if (c->stack_cap - c->stack_used < 2) return kwnn__disagree(c);
            cfg.p = L.config;
            cfg.e = L.config + L.config_length;
            if (kwnn__td_model(&L, &tcfg, &td_seq)) {
                if ((r = kwnn__td_model_check(c, &L, child, tcfg, td_seq)) != KWNN_OK) return r;
                cfg = tcfg;
            }
            c->stack[c->stack_used] = v;
            c->stack_used += 2;
            if (L.config_length == 0)
                return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, &L, "has no config (pack the file with --arch)");
            c->outs[child] = 1;
            if ((r = kwnn__inst(c, child, cfg, c->stack + c->stack_used - 2, 1, c->stack + c->stack_used - 1, 1,
                                depth + 1)) != KWNN_OK ||
                (r = kwnn__td_mark(c, child, first_node)) != KWNN_OK)
                return r;
            v = c->stack[c->stack_used - 1];
            c->stack_used -= 2;
            continue;
        }
        if ((r = kwnn__new_node(c, kwnn__is_input(&L) ? KWNN__N_ALIAS : KWNN__N_LAYER, child, attach ? 2 : 1, &id)) !=
            KWNN_OK)
            return r;
        c->net->edges_[c->net->nodes_[id].first_in] = v;
        if (attach) { /* the mask: the ids of the mask_zero Embedding */
            c->net->edges_[c->net->nodes_[id].first_in + 1] = mask_src;
            c->net->nodes_[id].masked = 1;
        }
        v = id;
    }
    if (n_outs != 1) {
        kwb_get_layer(c->f, owner, &L);
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, &L, "a Sequential model has one output");
    }
    outs[0] = v;
    return KWNN_OK;
}

/* One call of model `owner` (KWB_NONE: the network). */
static kwnn_result kwnn__inst(kwnn__ctx *c, uint32_t owner, kwnn__json mcfg, const uint32_t *args, uint32_t n_args,
                              uint32_t *outs, uint32_t n_outs, int depth)
{
    kwb_layer O;
    kwnn__json m;
    int seq;
    if (depth > KWNN__MAX_DEPTH) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, NULL, "models are nested more than 32 deep");
    if (owner == KWB_NONE)
        return mcfg.p != NULL ? kwnn__inst_functional(c, owner, mcfg, args, n_args, outs, n_outs, depth)
                              : kwnn__inst_chain(c, owner, args, n_args, outs, n_outs, depth);
    if (kwb_get_layer(c->f, owner, &O) != KWB_OK) return kwnn__disagree(c);
    if (strcmp(O.class_name, "Sequential") == 0 || (kwnn__td_model(&O, &m, &seq) && seq))
        return kwnn__inst_chain(c, owner, args, n_args, outs, n_outs, depth);
    return kwnn__inst_functional(c, owner, mcfg, args, n_args, outs, n_outs, depth);
}

/* ---- sorting: every node after its inputs (depth first from the outputs) ---- */

static kwnn_result kwnn__cycle(kwnn__ctx *c, const kwnn__node *x)
{
    kwb_layer L;
    if (x->layer != KWB_NONE && kwb_get_layer(c->f, x->layer, &L) == KWB_OK)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L, "its input depends on its own output (the graph has a cycle)");
    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "the model graph has a cycle");
}

static kwnn_result kwnn__sort(kwnn__ctx *c, uint32_t *n_order)
{
    kwnn_net *net = c->net;
    kwnn__node *nodes = net->nodes_;
    uint32_t r, sp = 0, n = 0, roots = net->num_inputs + net->num_outputs;
    for (r = 0; r < roots; r++) {
        uint32_t root = r < net->num_inputs ? net->inputs_[r] : net->outputs_[r - net->num_inputs];
        if (root >= c->nodes_used) return kwnn__disagree(c);
        if (nodes[root].state != 0) continue;
        nodes[root].state = 1;
        c->stack[sp] = root;
        c->stack2[sp++] = 0;
        while (sp > 0) {
            uint32_t x = c->stack[sp - 1];
            KWNN_PROBE(load_steps, 1);
            if (c->stack2[sp - 1] < nodes[x].n_in) {
                uint32_t y = net->edges_[nodes[x].first_in + c->stack2[sp - 1]++];
                if (y >= c->nodes_used) return kwnn__disagree(c);
                if (nodes[y].state == 1) return kwnn__cycle(c, &nodes[y]);
                if (nodes[y].state == 0) {
                    if (sp >= c->stack_cap) return kwnn__disagree(c);
                    nodes[y].state = 1;
                    c->stack[sp] = y;
                    c->stack2[sp++] = 0;
                }
            } else {
                nodes[x].state = 2;
                net->order_[n++] = x;
                sp--;
            }
        }
    }
    *n_order = n;
    return KWNN_OK;
}

/* ---- shapes: every node's, in order; each layer loaded at its first call ---- */

static int kwnn__same_shape(const kwnn__node *a, const kwnn__node *b)
{
    uint32_t d;
    if (a->nd != b->nd) return 0;
    for (d = 0; d < a->nd; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

static void kwnn__set_node_shape(kwnn__node *x, const size_t *shape, uint32_t nd)
{
    memcpy(x->shape, shape, sizeof x->shape);
    x->nd = nd;
    x->known = 1;
    if (!kwnn__prod(shape, nd, &x->count)) x->count = KWNN__SIZE_MAX; /* the loaders checked it */
}

/* PART node x: output x->part of the recurrent call it reads, L that call's layer. */
static kwnn_result kwnn__part_shape(kwnn_net *net, const kwnn_layer *L, kwnn__node *x)
{
    size_t shape[KWNN_MAX_DIMS], offset;
    uint32_t nd;
    uint32_t parts = (L->groups ? kwnn__rnn_state_count(L) : 0) + ((L->op & KWNN__RNN_SPLIT) ? 2 : 1);
    if (net->nodes_[net->edges_[x->first_in]].kind != KWNN__N_LAYER ||
        (L->kind != KWNN_LAYER_SIMPLE_RNN && L->kind != KWNN_LAYER_LSTM && L->kind != KWNN_LAYER_GRU) ||
        parts < 2 || x->part >= parts)
        return kwnn__fail(net, KWNN_ERR_BAD_CONFIG, NULL,
                          "the model config takes several outputs of a layer that gives one (only a recurrent "
                          "layer with return_state gives several)");
    kwnn__rnn_part(L, x->part, shape, &nd, &offset);
    kwnn__set_node_shape(x, shape, nd);
    return KWNN_OK;
}

/* An InputLayer's shape into c->shape (have_shape: check it equals c->shape instead). */
static kwnn_result kwnn__input_shape(kwnn__ctx *c, const kwb_layer *L, int required)
{
    static const char *const keys[] = {"batch_shape", "batch_input_shape", NULL};
    const char *which;
    kwnn__json cfg, v;
    kwnn_result r;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__key(cfg, keys, &which, &v)) {
        if (!required) return KWNN_OK;
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L,
                          "config has no batch_shape (the input shape cannot be derived)");
    }
    return kwnn__set_shape_from(c, L, v, 1, which);
}

/* A call inside a TimeDistributed model (x->steps): its inputs' first axis, the wrapper's T time
   steps, taken off (off 1) while the layer loads for one step, then put back (off 0). */
static void kwnn__steps_axis(kwnn__ctx *c, const kwnn__node *x, size_t T, int off)
{
    const uint32_t *ins = c->net->edges_ + x->first_in;
    uint32_t i, j, d;
    for (i = 0; i < x->n_in; i++) {
        kwnn__node *in = &c->net->nodes_[ins[i]];
        for (j = 0; j < i && ins[j] != ins[i]; j++) {}
        if (j < i) continue; /* the same input twice: once */
        if (off) {
            for (d = 0; d + 1 < in->nd; d++) in->shape[d] = in->shape[d + 1];
            in->shape[--in->nd] = 0;
            in->count /= T;
        } else {
            for (d = in->nd; d > 0; d--) in->shape[d] = in->shape[d - 1];
            in->shape[0] = T;
            in->nd++;
            in->count *= T;
        }
    }
}

/* kwnn__layer for a call inside a TimeDistributed model: the layer loaded for one step's shapes, run
   on the steps as its batch (out->td, as TimeDistributed(layer)); c->shape with the steps again. */
static kwnn_result kwnn__steps_layer(kwnn__ctx *c, const kwb_layer *L, const kwnn__node *x, kwnn_layer *out)
{
    size_t T = c->shape[0], work;
    uint32_t i;
    kwnn_result r;
    for (i = 0; i < x->n_in; i++) {
        const kwnn__node *in = &c->net->nodes_[c->net->edges_[x->first_in + i]];
        if (in->nd < 2 || in->shape[0] != T || T == 0)
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "inside a TimeDistributed model needs inputs of its time steps");
    }
    if (x->masked || x->imask)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask inside a TimeDistributed model");
    memmove(c->shape, c->shape + 1, (KWNN_MAX_DIMS - 1) * sizeof *c->shape);
    c->nd--;
    kwnn__steps_axis(c, x, T, 1);
    r = kwnn__layer(c, L, out);
    kwnn__steps_axis(c, x, T, 0);
    if (r != KWNN_OK) return r;
    if (out->td > 0 || out->kind == KWNN_LAYER_DOT ||
        ((out->groups > 0 || (out->op & KWNN__RNN_SPLIT)) &&
         (out->kind == KWNN_LAYER_SIMPLE_RNN || out->kind == KWNN_LAYER_LSTM || out->kind == KWNN_LAYER_GRU)))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported inside a TimeDistributed model (a TimeDistributed, Dot, or several outputs)");
    if (c->nd + 1 > KWNN_MAX_DIMS) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "output rank too large");
    if (!kwnn__mul(out->work, T, &work)) return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->work = work;
    out->td = T;
    memmove(c->shape + 1, c->shape, (KWNN_MAX_DIMS - 1) * sizeof *c->shape);
    c->shape[0] = T;
    c->nd++;
    return KWNN_OK;
}

/* A nested InputLayer's check inside a TimeDistributed model: against one step's shape. */
static void kwnn__steps_drop(kwnn__ctx *c, const kwnn__node *x)
{
    if (!x->steps || c->nd < 2) return;
    memmove(c->shape, c->shape + 1, (KWNN_MAX_DIMS - 1) * sizeof *c->shape);
    c->shape[KWNN_MAX_DIMS - 1] = 0;
    c->nd--;
}

/* Layer L (a row of the table) for call x, from the shapes of x's inputs in c->net->nodes_: its
   kind, parameters and output shape into *out.  kwnn_load runs it at a layer's first call;
   kwnn_run_shapes again at every call, for the shapes of that run (c->fill 0: nothing written
   but *out and c->net->message). */
static kwnn_result kwnn__load_call(kwnn__ctx *c, const kwb_layer *L, const kwnn__node *x, kwnn_layer *out)
{
    const uint32_t *ins = c->net->edges_ + x->first_in;
    const char *name = out->name, *cls = out->class_name;
    kwnn_result r;
    memset(out, 0, sizeof *out);
    out->name = name;
    out->class_name = cls;
    out->index = x->layer;
    c->nd = c->net->nodes_[ins[0]].nd;
    memcpy(c->shape, c->net->nodes_[ins[0]].shape, sizeof c->shape);
    c->have_shape = 1;
    c->ins = ins;
    c->n_ins = x->n_in - kwnn__imask_count(x); /* without its implicit masks (61_implicit_masks.h) */
    c->kwargs = x->kwargs;
    c->op_call = x->call;
    c->masked = x->masked;
    out->in_ndim = c->nd;
    memcpy(out->in_shape, c->shape, sizeof c->shape);
    if ((r = x->steps ? kwnn__steps_layer(c, L, x, out) : kwnn__layer(c, L, out)) != KWNN_OK) return r;
    out->out_ndim = c->nd;
    memcpy(out->out_shape, c->shape, sizeof c->shape);
    if (out->td > 0) { /* TimeDistributed: the layer's shapes are one step's */
        uint32_t d;
        for (d = 0; d + 1 < KWNN_MAX_DIMS; d++) {
            out->in_shape[d] = out->in_shape[d + 1];
            out->out_shape[d] = out->out_shape[d + 1];
        }
        out->in_ndim--;
        out->out_ndim--;
    }
    if (!kwnn__prod(out->in_shape, out->in_ndim, &out->in_count))
        return kwnn__shape_overflow(c, L, "its input shape", out->in_shape, out->in_ndim);
    if (!kwnn__prod(out->out_shape, out->out_ndim, &out->out_count))
        return kwnn__shape_overflow(c, L, "its output shape", out->out_shape, out->out_ndim);
    if (out->in_count == 0 || out->out_count == 0)
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "has an empty input or output");
    if (out->kind == KWNN_LAYER_MERGE) out->units = x->n_in;
    out->cost = kwnn__layer_cost(out);
    if (out->td > 0) out->cost = kwnn__sat_mul(out->cost, out->td);
    if (out->work == 0) out->work = kwnn__conv_work(out); /* 49_conv_gemm.h */
    return KWNN_OK;
}

/* The value of call x of layer `out` (a TimeDistributed one: its steps first). */
static void kwnn__call_value(kwnn__node *x, const kwnn_layer *out)
{
    size_t shape[KWNN_MAX_DIMS];
    uint32_t nd = out->out_ndim;
    memcpy(shape, out->out_shape, sizeof shape);
    if (out->td > 0) { /* the loader checked the rank */
        memmove(shape + 1, out->out_shape, (KWNN_MAX_DIMS - 1) * sizeof *shape);
        shape[0] = out->td;
        nd++;
    }
    kwnn__set_node_shape(x, shape, nd);
}

/* A call of a layer: load the layer (first call) or check the shapes agree. */
static kwnn_result kwnn__layer_node(kwnn__ctx *c, uint32_t id)
{
    kwnn_net *net = c->net;
    kwnn__node *x = &net->nodes_[id];
    const uint32_t *ins = net->edges_ + x->first_in;
    kwnn_layer *out = &net->layers[x->layer];
    kwb_layer L;
    kwnn_result r;
    uint32_t i;
    if (kwb_get_layer(c->f, x->layer, &L) != KWB_OK) return kwnn__disagree(c);
    if (x->n_in == 0) return kwnn__fail(net, KWNN_ERR_BAD_CONFIG, &L, "is called without an input");
    if (L.config_length == 0)
        return kwnn__fail(net, KWNN_ERR_NO_CONFIG, &L,
                          "has no config (the file holds weights without the model's architecture; "
                          "pack it with --arch)");
    if (!net->nodes_[ins[0]].known) { /* the network's input, from this first layer's config */
        kwnn__json cfg;
        cfg.p = L.config;
        cfg.e = L.config + L.config_length;
        c->have_shape = 0;
        c->var_mask = 0;
        if ((r = kwnn__implicit_input(c, &L, cfg)) != KWNN_OK) return r;
        kwnn__set_node_shape(&net->nodes_[ins[0]], c->shape, c->nd);
        net->nodes_[ins[0]].var = c->var_mask;
    }
    if (c->loaded[x->layer] == KWB_NONE) {
        if ((r = kwnn__load_call(c, &L, x, out)) != KWNN_OK) return r;
        if ((out->groups > 0 || (out->op & KWNN__RNN_SPLIT)) && c->outs[x->layer] < 2 && (out->kind == KWNN_LAYER_SIMPLE_RNN ||
                                                         out->kind == KWNN_LAYER_LSTM || out->kind == KWNN_LAYER_GRU))
            return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                              "unsupported return_state or merge_mode None outside a functional model's graph (several outputs)");
        c->loaded[x->layer] = id;
    } else {
        const kwnn__node *first = &net->nodes_[c->loaded[x->layer]];
        int same = first->n_in == x->n_in;
        for (i = 0; same && i < x->n_in; i++)
            same = kwnn__same_shape(&net->nodes_[net->edges_[first->first_in + i]], &net->nodes_[ins[i]]);
        if (!same)
            return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                              "is called on inputs of different shapes (a shared layer must see one shape)");
        if (kwnn__attention_call_differs(out, x->kwargs)) /* 46_attention.h */
            return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L, "is called with and without use_causal_mask");
    }
    out->calls++;
    kwnn__call_value(x, out);
    c->cost = kwnn__sat_add(c->cost, out->cost);
    return KWNN_OK;
}

static kwnn_result kwnn__shapes(kwnn__ctx *c, uint32_t n_order)
{
    kwnn_net *net = c->net;
    uint32_t p;
    kwnn_result r;
    for (p = 0; p < n_order; p++) {
        uint32_t id = net->order_[p];
        kwnn__node *x = &net->nodes_[id];
        kwb_layer L;
        KWNN_PROBE(load_steps, 1);
        if (x->layer != KWB_NONE && kwb_get_layer(c->f, x->layer, &L) != KWB_OK) return kwnn__disagree(c);
        switch (x->kind) {
        case KWNN__N_INPUT:
            if (x->layer == KWB_NONE) break; /* from the first layer's config (kwnn__layer_node) */
            c->have_shape = 0;
            c->var_mask = 0;
            if ((r = kwnn__input_shape(c, &L, 1)) != KWNN_OK) return r;
            kwnn__set_node_shape(x, c->shape, c->nd);
            x->var = c->var_mask;
            break;
        case KWNN__N_UNBOUND:
            return kwnn__fail(net, KWNN_ERR_BAD_CONFIG, &L, "is not one of its model's inputs (input_layers)");
        case KWNN__N_PART:
            if ((r = kwnn__part_shape(net, &net->layers[x->layer], x)) != KWNN_OK) return r;
            break;
        case KWNN__N_ALIAS: {
            kwnn__node *in = &net->nodes_[net->edges_[x->first_in]];
            if (!in->known) { /* the network's input, from a nested model's InputLayer */
                if (x->layer == KWB_NONE) return kwnn__fail(net, KWNN_ERR_SHAPE, NULL, "cannot tell the network's input shape");
                c->have_shape = 0;
                c->var_mask = 0;
                if ((r = kwnn__input_shape(c, &L, 1)) != KWNN_OK) return r;
                kwnn__set_node_shape(in, c->shape, c->nd);
                in->var = c->var_mask;
            } else if (x->layer != KWB_NONE) { /* a nested InputLayer must agree with what feeds it */
                c->have_shape = 1;
                c->nd = in->nd;
                memcpy(c->shape, in->shape, sizeof c->shape);
                kwnn__steps_drop(c, x);
                if ((r = kwnn__input_shape(c, &L, 0)) != KWNN_OK) return r;
            }
            kwnn__set_node_shape(x, in->shape, in->nd);
            if (x->layer != KWB_NONE) net->layers[x->layer].kind = KWNN_LAYER_INPUT;
            break;
        }
        default:
            if ((r = kwnn__layer_node(c, id)) != KWNN_OK) return r;
            break;
        }
        if (x->known && !kwnn__prod(x->shape, x->nd, &x->count)) return kwnn__oom(c);
    }
    for (p = 0; p < net->num_inputs; p++)
        if (!net->nodes_[net->inputs_[p]].known)
            return kwnn__fail(net, KWNN_ERR_SHAPE, NULL, "cannot tell the network's input shape");
    return KWNN_OK;
}

/* ---- the buffer plan: one arena, each value placed by first fit while it lives ---- */

static size_t kwnn__round16(size_t n) { return (n + 15) & ~(size_t)15; }

static int kwnn__free_layer(const kwnn_net *net, const kwnn__node *x)
{
    if (x->kind == KWNN__N_PART) return 0; /* a copy */
    return x->kind != KWNN__N_LAYER || !kwnn__computes(net->layers[x->layer].kind);
}

/* Place root `id` at the lowest offset no live block overlaps. */
static kwnn_result kwnn__place(kwnn__ctx *c, uint32_t id)
{
    kwnn__node *nodes = c->net->nodes_;
    size_t size = kwnn__round16(nodes[id].count), at = 0, end;
    uint32_t i, j;
    for (i = 0; i < c->live_count; i++) {
        const kwnn__node *b = &nodes[c->live[i]];
        if (b->offset >= at && b->offset - at >= size) break;
        at = b->offset + kwnn__round16(b->count);
    }
    for (j = c->live_count; j > i; j--) c->live[j] = c->live[j - 1];
    c->live[i] = id;
    c->live_count++;
    nodes[id].offset = at;
    nodes[id].state = 3; /* live */
    if (!kwnn__add(at, size, &end) || end > KWNN__SIZE_MAX / 64) return kwnn__oom(c);
    if (end > c->net->arena_) c->net->arena_ = end;
    return KWNN_OK;
}

static void kwnn__release(kwnn__ctx *c, uint32_t id)
{
    uint32_t i;
    for (i = 0; i < c->live_count; i++)
        if (c->live[i] == id) break;
    if (i == c->live_count) return;
    for (; i + 1 < c->live_count; i++) c->live[i] = c->live[i + 1];
    c->live_count--;
    c->net->nodes_[id].state = 2;
}

static int kwnn__elementwise(kwnn_kind k)
{
    return k == KWNN_LAYER_BATCHNORM || k == KWNN_LAYER_ACTIVATION || k == KWNN_LAYER_AFFINE ||
           k == KWNN_LAYER_PRELU || k == KWNN_LAYER_LAYERNORM;
}

/* Every computing node of the run order placed by first fit while it lives (an elementwise
   layer takes over its input's block when it is that block's last reader); the arena's size and
   the peak into c->net.  Run again by kwnn_run_shapes on the nodes of one run's shapes. */
static kwnn_result kwnn__place_all(kwnn__ctx *c)
{
    kwnn_net *net = c->net;
    kwnn__node *nodes = net->nodes_;
    uint32_t p, i, s = net->order_count_;
    size_t live = 0;
    kwnn_result r;
    c->live_count = 0;
    for (p = 0; p < s; p++) {
        uint32_t id = net->order_[p];
        kwnn__node *x = &nodes[id];
        if (x->where == KWNN__AT_ARENA) {
            const kwnn__node *in = &nodes[nodes[net->edges_[x->first_in]].root];
            uint32_t from = nodes[net->edges_[x->first_in]].root;
            if (kwnn__elementwise(net->layers[x->layer].kind) && in->where == KWNN__AT_ARENA && in->last_use == p &&
                in->count == x->count && in->state == 3) {
                for (i = 0; i < c->live_count; i++) /* in place: the block passes to x */
                    if (c->live[i] == from) c->live[i] = id;
                x->offset = in->offset;
                x->state = 3;
                nodes[from].state = 0;
            } else {
                if ((r = kwnn__place(c, id)) != KWNN_OK) return r;
                live += x->count;
            }
            if (live > net->peak_) net->peak_ = live;
        }
        for (i = 0; i < x->n_in; i++) {
            uint32_t root = nodes[net->edges_[x->first_in + i]].root;
            if (nodes[root].state == 3 && nodes[root].last_use == p) {
                kwnn__release(c, root);
                live -= nodes[root].count;
            }
        }
        if (x->state == 3 && x->last_use == p) {
            kwnn__release(c, id);
            live -= x->count;
        }
    }
    return KWNN_OK;
}


/* Roots (free layers and aliases share their input's storage), the run
   order (computing nodes only), last readers, outputs written in place
   when nothing else reads them, then the arena by first fit. */
static kwnn_result kwnn__plan(kwnn__ctx *c, uint32_t n_order)
{
    kwnn_net *net = c->net;
    kwnn__node *nodes = net->nodes_;
    uint32_t p, s = 0, i, j;
    for (p = 0; p < n_order; p++) {
        uint32_t id = net->order_[p];
        kwnn__node *x = &nodes[id];
        x->where = KWNN__AT_ARENA;
        if (x->kind == KWNN__N_INPUT) {
            x->where = KWNN__AT_INPUT;
            x->slot = x->aux;
        } else if (kwnn__free_layer(net, x)) {
            x->root = nodes[net->edges_[x->first_in]].root;
        } else {
            x->aux = x->last_use = s; /* its position; the last reader's, once known */
            net->order_[s++] = id;
        }
    }
    net->order_count_ = s;
    for (p = 0; p < s; p++) {
        const kwnn__node *x = &nodes[net->order_[p]];
        for (i = 0; i < x->n_in; i++) nodes[nodes[net->edges_[x->first_in + i]].root].last_use = p;
    }
    for (j = 0; j < net->num_outputs; j++) { /* written in place when no layer reads it */
        kwnn__node *o = &nodes[net->outputs_[j]], *root = &nodes[o->root];
        if (root->kind == KWNN__N_INPUT) continue; /* copied at the end */
        if (root == o && root->where == KWNN__AT_ARENA && root->last_use == root->aux) {
            root->where = KWNN__AT_OUTPUT;
            root->slot = j;
        } else if (root->where == KWNN__AT_ARENA) {
            root->last_use = s; /* read by the final copy */
        }
    }
    for (i = 0; i < net->node_count_; i++)
        if (nodes[i].state == 2) nodes[i].state = 0;
    return kwnn__place_all(c);
}

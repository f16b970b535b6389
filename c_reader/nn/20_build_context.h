/* ---- building ----------------------------------------------------------- */

/* One value of the graph: a model input, a call of a layer (its output), or
   an alias (a nested model's InputLayer fed from outside, a nested model's
   output).  Node ids index kwnn_net.nodes_. */
/* PART: output `part` of a layer call with several (a recurrent layer's return_state), a copy
   out of that call's value (per sample: its outputs end to end; 45_recurrent.h) */
enum { KWNN__N_INPUT = 0, KWNN__N_ALIAS, KWNN__N_LAYER, KWNN__N_UNBOUND, KWNN__N_PART };
enum { KWNN__AT_ARENA = 0, KWNN__AT_INPUT, KWNN__AT_OUTPUT };

typedef struct kwnn__node {
    uint32_t kind;             /* KWNN__N_* */
    uint32_t layer;            /* table row (the InputLayer of an input or alias), or KWB_NONE */
    uint32_t n_in, first_in;   /* inputs: net->edges_[first_in .. first_in + n_in) */
    uint32_t aux;              /* INPUT: which model input */
    uint32_t root;             /* the node whose storage holds this value */
    uint32_t where, slot;      /* root: KWNN__AT_*, and which input / output */
    uint32_t last_use;         /* root: run position of its last reader */
    uint32_t state;            /* the sort: 0 new, 1 on the stack, 2 done */
    int known;                 /* shape inferred */
    uint32_t nd;
    size_t shape[KWNN_MAX_DIMS]; /* per sample */
    size_t count;              /* floats per sample */
    size_t offset;             /* root in the arena: floats per sample, a multiple of 16 */
    kwnn__json kwargs;         /* LAYER: the call's keyword arguments (Keras 3), or p == NULL */
    kwnn__json call;           /* LAYER of an operation node (47_ops.h): its call, else p == NULL */
    int masked;                /* LAYER: called with mask= (its last input; 48_masking.h) */
    uint32_t imask;            /* LAYER: implicit masks after its inputs (bit 1 query's, 2 value's; 61_implicit_masks.h) */
    uint32_t var;              /* INPUT: the axes that were None (bit i: axis i), given at run time */
    uint32_t part;             /* PART: which output of its layer call */
    int steps;                 /* inside a TimeDistributed model: the first axis is the wrapper's time steps */
} kwnn__node;

typedef struct kwnn__ctx {
    kwnn_net *net;
    const kwb_file *f;
    int fill;                 /* the parameter area exists: write layers and parameters */
    float *params;            /* fill: the parameter area */
    size_t params_used;       /* floats, each block rounded to 16 (64 bytes) */
    size_t params_cap;        /* floats in the area (pass 1's bound) */
    int legacy;               /* Keras 1 / 2 file (hard_sigmoid) */
    int theano_kernels;       /* conv kernels stored flipped */
    int have_shape;
    uint32_t var_mask;        /* the input shape just read: its None axes (bit i) */
    size_t nominal;           /* the length a None axis of an input gets at load (0: KWNN__NOMINAL) */
    int saw_variable;         /* an input had a None axis */
    uint32_t nd;              /* the current per-sample shape (a layer's first input) */
    size_t shape[KWNN_MAX_DIMS];
    const uint32_t *ins;      /* the node's inputs (node ids), for layers with several */
    uint32_t n_ins;
    kwnn__json kwargs;        /* the node's call kwargs (use_causal_mask), p == NULL: none */
    kwnn__json op_call;       /* an operation node's call (47_ops.h), p == NULL: a layer */
    size_t op_floats;         /* pass 1: parameter floats the operation nodes need */
    int masked;               /* the node's last input is its mask (48_masking.h) */
    int mask_producer;        /* pass 1: a model config has a mask_zero Embedding or a Masking layer */
    int keras2_file;          /* the metadata says Keras 1 or 2 (whatever the hard_sigmoid option) */
    int deep_refs;            /* resolving a tf.keras operation call (47_ops.h) */
    struct kwnn__op *op_store;       /* fill 0 (82_run_shapes.h): where an operation is built */
    const struct kwnn__op *op_base;  /* fill 0: the load's (its constants) */
    uint64_t cost;            /* operations per sample so far (saturating) */
    uint32_t n;               /* layers in the table */
    kwnn__json top_cfg;       /* the metadata's Functional config, if any (p == NULL: none) */
    uint64_t count_nodes, count_edges; /* pass 1: what the graph unrolls to */
    uint32_t count_inputs, count_outputs;
    /* used during kwnn_load only (in the one allocation) */
    uint32_t *first_child;    /* n + 1 entries, [n] for the top level */
    uint32_t *last_child;     /* n + 1 entries */
    uint32_t *next_sibling;   /* n entries */
    uint32_t *base, *calls, *outs; /* per table row: its first node, its calls, its outputs per call */
    uint32_t *loaded;         /* per table row: the node it was loaded at, or KWB_NONE */
    uint32_t *hash, hash_mask; /* (parent, local name) -> row + 1 */
    uint32_t *stack, stack_cap, stack_used; /* arguments of nested calls; the sort's stack */
    uint32_t *stack2;         /* the sort's edge cursors */
    uint32_t *live, live_count; /* the buffer plan's live blocks, by offset */
    uint32_t node_cap, edge_cap, nodes_used, edges_used;
} kwnn__ctx;

static kwnn_result kwnn__oom(kwnn__ctx *c)
{
    return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, NULL, "the network's parameters do not fit in memory");
}

/* "layer ...: its output shape (a, b) has more elements than a size_t counts" */
static kwnn_result kwnn__shape_overflow(kwnn__ctx *c, const kwb_layer *L, const char *what,
                                        const size_t *dims, uint32_t nd)
{
    kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, what);
    kwnn__m(c->net, " ");
    kwnn__m_shape(c->net, dims, nd);
    kwnn__m(c->net, " has more elements than a size_t counts");
    return KWNN_ERR_OVERFLOW;
}

/* Room for `count` floats in the parameter area (NULL in pass 1). */
static kwnn_result kwnn__param(kwnn__ctx *c, size_t count, float **out)
{
    size_t rounded;
    if (!kwnn__add(count, 15, &rounded)) return kwnn__oom(c);
    rounded &= ~(size_t)15;
    *out = c->fill ? c->params + c->params_used : NULL;
    if (!kwnn__add(c->params_used, rounded, &c->params_used) || c->params_used > c->params_cap)
        return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, NULL,
                          "the weights need more converted floats than their tensors hold");
    return KWNN_OK;
}

/* The tensor of layer L named `weight`; 0 if it has none. */
static int kwnn__find(kwnn__ctx *c, const kwb_layer *L, const char *weight, kwb_tensor *t)
{
    uint32_t i;
    for (i = 0; i < L->tensor_count; i++)
        if (kwb_get_tensor(c->f, L->first_tensor + i, t) == KWB_OK && strcmp(t->weight, weight) == 0)
            return 1;
    return 0;
}

/* Refuse weights the layer does not use (a LoRA pair, a quantisation scale...). */
static kwnn_result kwnn__only(kwnn__ctx *c, const kwb_layer *L, const char *const *names, int n)
{
    uint32_t i;
    kwb_tensor t;
    for (i = 0; i < L->tensor_count; i++) {
        int k, ok = 0;
        if (kwb_get_tensor(c->f, L->first_tensor + i, &t) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "cannot read its tensors");
        for (k = 0; k < n; k++)
            if (names[k] != NULL && strcmp(t.weight, names[k]) == 0) ok = 1;
        if (!ok) {
            kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "unexpected weight '");
            kwnn__m(c->net, t.weight);
            kwnn__m(c->net, "' (not used by this layer as configured)");
            return KWNN_ERR_BAD_WEIGHTS;
        }
    }
    return KWNN_OK;
}

/* Weight `name` of L with exactly the given shape, as float32 (in place or converted). */
static kwnn_result kwnn__weight(kwnn__ctx *c, const kwb_layer *L, const char *name,
                                const size_t *shape, uint32_t nd, int flip_hw, const float **out)
{
    kwb_tensor t;
    uint32_t i;
    int ok;
    const float *direct;
    float *dst;
    kwnn_result r;
    *out = NULL;
    if (!kwnn__find(c, L, name, &t)) {
        kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "has no weight '");
        kwnn__m(c->net, name);
        kwnn__m(c->net, "' (its config needs one)");
        return KWNN_ERR_BAD_WEIGHTS;
    }
    if (t.dtype != KWB_FLOAT32 && t.dtype != KWB_FLOAT16 && t.dtype != KWB_BFLOAT16 &&
        t.dtype != KWB_FLOAT64) {
        kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "weight '");
        kwnn__m(c->net, name);
        kwnn__m(c->net, "' has dtype ");
        kwnn__m(c->net, kwb_dtype_name(t.dtype) ? kwb_dtype_name(t.dtype) : "?");
        kwnn__m(c->net, " (only float32, float16, bfloat16 and float64 are supported)");
        return KWNN_ERR_BAD_WEIGHTS;
    }
    ok = t.ndim == nd;
    for (i = 0; ok && i < nd; i++) ok = t.shape[i] == (uint64_t)shape[i];
    if (!ok) {
        size_t got[KWB_MAX_NDIM];
        for (i = 0; i < t.ndim && i < KWB_MAX_NDIM; i++)
            got[i] = t.shape[i] > (uint64_t)KWNN__SIZE_MAX ? KWNN__SIZE_MAX : (size_t)t.shape[i];
        kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "weight '");
        kwnn__m(c->net, name);
        kwnn__m(c->net, "' has shape ");
        kwnn__m_shape(c->net, got, t.ndim);
        kwnn__m(c->net, ", expected ");
        kwnn__m_shape(c->net, shape, nd);
        return KWNN_ERR_BAD_WEIGHTS;
    }
    direct = kwb_tensor_f32(&t);
    if (direct != NULL && !flip_hw) {
        *out = direct;
        return KWNN_OK;
    }
    r = kwnn__param(c, (size_t)t.count, &dst);
    if (r != KWNN_OK) return r;
    if (c->fill) {
        if (kwb_copy_f32(&t, dst, (size_t)t.count) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "cannot convert its weights to float32");
        if (flip_hw) { /* (kh, kw, cin, cout): reverse both spatial axes, in place */
            size_t kh = shape[0], kw = shape[1], inner = shape[2] * shape[3], a, b2, k;
            for (a = 0; a < kh; a++)
                for (b2 = 0; b2 < kw; b2++) {
                    size_t p = a * kw + b2, q = (kh - 1 - a) * kw + (kw - 1 - b2);
                    if (p >= q) continue;
                    for (k = 0; k < inner; k++) {
                        float tmp = dst[p * inner + k];
                        dst[p * inner + k] = dst[q * inner + k];
                        dst[q * inner + k] = tmp;
                    }
                }
        }
        *out = dst;
    }
    return KWNN_OK;
}


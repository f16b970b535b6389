/* ---- operation nodes: Keras 3 keras.ops calls in a functional graph ----- */

/* `x * 0.5`, keras.ops.mean(x, axis=1), x[:, -1] in a functional model are
   written by Keras 3 as nodes of module "keras.src.ops.*" (classes Multiply,
   Mean, GetItem, ...), with their tensors and constants in the call's "args"
   and their options in the config.  Each call is its own node (Keras makes a
   new operation per call), so an operation has one call.  Shapes count the
   batch as axis 0 in Keras; here every shape is per sample, so an operation
   that would touch the batch axis (reduce it, move it, slice it) is refused.

   Most operations are one strided, broadcasting loop: y[i] = f(a[i], b[i],
   c[i]) where each operand is a tensor input or a constant, read at an
   offset plus a step per output axis (0 where it broadcasts; a slice's or a
   transpose's steps where it is one).  Reductions and matmul add a sum over
   reduced axes with their own steps.  Pure shape changes (reshape,
   expand_dims, squeeze, cast to float) are free layers, concatenate and
   stack the Concatenate runner, the activations the Activation runner. */

enum {
    KWNN__O_COPY = 0, /* unary */
    KWNN__O_NEG,
    KWNN__O_ABS,
    KWNN__O_SQUARE,
    KWNN__O_SQRT,
    KWNN__O_EXP,
    KWNN__O_LOG,
    KWNN__O_CLIP,  /* lo, hi */
    KWNN__O_TRUNC, /* cast to an integer type */
    KWNN__O_BOOL,  /* cast to bool */
    KWNN__O_NOT,
    KWNN__O_SIGN,
    KWNN__O_FLOOR,
    KWNN__O_CEIL,
    KWNN__O_RECIPROCAL,
    KWNN__O_RSQRT,
    KWNN__O_LOG1P,
    KWNN__O_EXPM1,
    KWNN__O_ADD,   /* binary */
    KWNN__O_SUB,
    KWNN__O_MUL,
    KWNN__O_DIV,
    KWNN__O_POW,
    KWNN__O_MIN,
    KWNN__O_MAX,
    KWNN__O_EQ,
    KWNN__O_NE,
    KWNN__O_GT,
    KWNN__O_GE,
    KWNN__O_LT,
    KWNN__O_LE,
    KWNN__O_AND,
    KWNN__O_OR,
    KWNN__O_WHERE, /* ternary */
    KWNN__O_SUM,   /* reductions over the reduced axes */
    KWNN__O_MEAN,
    KWNN__O_RMAX,
    KWNN__O_RMIN,
    KWNN__O_MATMUL, /* sum over k of a * b */
    KWNN__O_SOFTMAX, /* over one axis: (pre, K, post) in rshape */
    KWNN__O_LOG_SOFTMAX,
    KWNN__O_STD,     /* sqrt(mean((x - mean)^2)), two passes */
    KWNN__O_VAR,
    KWNN__O_ANY,     /* reductions of x != 0 */
    KWNN__O_ALL,
    KWNN__O_MASKING, /* the Masking layer (48_masking.h): rows of rshape[0] equal to lo become 0 */
    /* shape changes and runners of other kinds (the loader's families) */
    KWNN__O_RESHAPE,
    KWNN__O_EXPAND,
    KWNN__O_SQUEEZE,
    KWNN__O_TRANSPOSE,
    KWNN__O_GETITEM,
    KWNN__O_CONCAT,
    KWNN__O_STACK,
    KWNN__O_CAST,
    KWNN__O_IDENTITY
};

typedef struct kwnn__operand {
    int32_t in;                     /* which tensor input, or -1: the constant k */
    const float *k;                 /* constant (per-sample layout after broadcasting) */
    size_t count;                   /* floats per sample of the tensor input */
    ptrdiff_t off;                  /* where output element 0 reads */
    ptrdiff_t step[KWNN_MAX_DIMS];  /* per output axis (0: broadcast) */
    ptrdiff_t rstep[KWNN_MAX_DIMS]; /* per reduced axis */
} kwnn__operand;

struct kwnn__op {
    int code;                        /* KWNN__O_* */
    uint32_t n_args;                 /* operands used */
    uint32_t nd, rnd;                /* output rank; reduced axes */
    size_t shape[KWNN_MAX_DIMS];     /* output shape (per sample) */
    size_t rshape[KWNN_MAX_DIMS];    /* reduced axes' sizes */
    size_t count, rcount;            /* their products */
    float lo, hi;                    /* clip bounds; max/min initial value (has_init) */
    int has_init;
    int transpose_b;                 /* loading: tf matmul's transpose_b */
    kwnn__operand arg[3];
};

/* Floats of the parameter area one struct kwnn__op takes. */
#define KWNN__O_FLOATS ((sizeof(struct kwnn__op) + sizeof(float) - 1) / sizeof(float))

typedef struct kwnn__op_name {
    const char *name; /* Keras 3 class */
    int code;
    int arity;        /* tensors and constants it takes (0: the family decides) */
} kwnn__op_name;

static const kwnn__op_name kwnn__op_names[] = {
    {"Add", KWNN__O_ADD, 2},           {"Subtract", KWNN__O_SUB, 2},
    {"Multiply", KWNN__O_MUL, 2},      {"Divide", KWNN__O_DIV, 2},
    {"TrueDivide", KWNN__O_DIV, 2},    {"Power", KWNN__O_POW, 2},
    {"Minimum", KWNN__O_MIN, 2},       {"Maximum", KWNN__O_MAX, 2},
    {"Equal", KWNN__O_EQ, 2},          {"NotEqual", KWNN__O_NE, 2},
    {"Greater", KWNN__O_GT, 2},        {"GreaterEqual", KWNN__O_GE, 2},
    {"Less", KWNN__O_LT, 2},           {"LessEqual", KWNN__O_LE, 2},
    {"LogicalAnd", KWNN__O_AND, 2},    {"LogicalOr", KWNN__O_OR, 2},
    {"Where", KWNN__O_WHERE, 3},       {"Negative", KWNN__O_NEG, 1},
    {"Absolute", KWNN__O_ABS, 1},      {"Abs", KWNN__O_ABS, 1},
    {"Square", KWNN__O_SQUARE, 1},     {"Sqrt", KWNN__O_SQRT, 1},
    {"Exp", KWNN__O_EXP, 1},           {"Log", KWNN__O_LOG, 1},
    {"Clip", KWNN__O_CLIP, 1},         {"LogicalNot", KWNN__O_NOT, 1},
    {"Sign", KWNN__O_SIGN, 1},         {"Floor", KWNN__O_FLOOR, 1},
    {"Ceil", KWNN__O_CEIL, 1},         {"Reciprocal", KWNN__O_RECIPROCAL, 1},
    {"Rsqrt", KWNN__O_RSQRT, 1},       {"Log1p", KWNN__O_LOG1P, 1},
    {"Expm1", KWNN__O_EXPM1, 1},       {"Sum", KWNN__O_SUM, 1},
    {"Mean", KWNN__O_MEAN, 1},         {"Max", KWNN__O_RMAX, 1},
    {"Amax", KWNN__O_RMAX, 1},         {"Min", KWNN__O_RMIN, 1},
    {"Amin", KWNN__O_RMIN, 1},         {"Matmul", KWNN__O_MATMUL, 2},
    {"Any", KWNN__O_ANY, 1},           {"All", KWNN__O_ALL, 1},
    {"Std", KWNN__O_STD, 1},           {"Var", KWNN__O_VAR, 1},
    {"Softmax", KWNN__O_SOFTMAX, 1},   {"LogSoftmax", KWNN__O_LOG_SOFTMAX, 1},
    {"Reshape", KWNN__O_RESHAPE, 1},   {"ExpandDims", KWNN__O_EXPAND, 1},
    {"Squeeze", KWNN__O_SQUEEZE, 1},   {"Transpose", KWNN__O_TRANSPOSE, 1},
    {"GetItem", KWNN__O_GETITEM, 2},   {"Concatenate", KWNN__O_CONCAT, 1},
    {"Stack", KWNN__O_STACK, 1},       {"Cast", KWNN__O_CAST, 1},
    {"StopGradient", KWNN__O_IDENTITY, 1}, {"ConvertToTensor", KWNN__O_CAST, 1}};

#define KWNN__N_OP_NAMES (sizeof kwnn__op_names / sizeof kwnn__op_names[0])

/* Is this model-config entry a tf.keras operation node (TFOpLambda, SlicingOpLambda)? */
static int kwnn__tf_op_entry(kwnn__json entry)
{
    kwnn__json cls;
    return kwnn__get(entry, "class_name", &cls) &&
           (kwnn__jstr_is(cls, "TFOpLambda") || kwnn__jstr_is(cls, "SlicingOpLambda"));
}

/* Is this model-config entry an operation node: Keras 3's (module "keras.src.ops...") or tf.keras's?
   Keras 3's .h5 files record no module: there an operation is an entry whose config has no
   "trainable", which every layer's has (Layer.get_config) but InputLayer's (Keras 3 writes
   "x * 0.5" as class Multiply, as the merge layer is named: taking it for one gave a wrong answer). */
static int kwnn__op_entry(kwnn__json entry)
{
    static const char prefix[] = "\"keras.src.ops";
    kwnn__json module, cls, cfg, v, node;
    kwnn__iter it;
    size_t n = sizeof prefix - 1;
    if (kwnn__tf_op_entry(entry)) return 1;
    if (kwnn__get(entry, "module", &module))
        return (size_t)(module.e - module.p) > n && memcmp(module.p, prefix, n) == 0 &&
               (module.p[n] == '"' || module.p[n] == '.');
    /* ... and a call in Keras 3's form ({"args": ...}), not Keras 2's ([[name, node, tensor, {}]]) */
    return kwnn__get(entry, "class_name", &cls) && !kwnn__jstr_is(cls, "InputLayer") &&
           kwnn__get(entry, "config", &cfg) && kwnn__is(cfg, '{') && !kwnn__get(cfg, "trainable", &v) &&
           kwnn__get(entry, "inbound_nodes", &v) && kwnn__begin(v, '[', &it) && kwnn__next(&it, NULL, &node) &&
           kwnn__is(node, '{');
}

/* The kwargs of a tf.keras reference [name, node, tensor, {kwargs}] (p == NULL: none). */
static kwnn__json kwnn__tf_kwargs(kwnn__json ref)
{
    kwnn__iter it;
    kwnn__json el;
    int i;
    el.p = el.e = NULL;
    if (!kwnn__begin(ref, '[', &it)) return el;
    for (i = 0; i < 4 && kwnn__next(&it, NULL, &el); i++) {}
    if (i < 4 || !kwnn__is(el, '{')) el.p = el.e = NULL;
    return el;
}

static int kwnn__is_ref(kwnn__json v)
{
    kwnn__iter it;
    kwnn__json e0, e1;
    return kwnn__begin(v, '[', &it) && kwnn__next(&it, NULL, &e0) && kwnn__is(e0, '"') && kwnn__next(&it, NULL, &e1) &&
           e1.p < e1.e && (*e1.p == '-' || (*e1.p >= '0' && *e1.p <= '9'));
}

/* ["_CONSTANT_VALUE", -1, value, {kwargs}]: tf.keras's constant first argument. */
static int kwnn__tf_const_ref(kwnn__json ref)
{
    kwnn__iter it;
    kwnn__json e0;
    return kwnn__begin(ref, '[', &it) && kwnn__next(&it, NULL, &e0) && kwnn__jstr_is(e0, "_CONSTANT_VALUE");
}

/* The tensors a tf.keras operation call takes: each reference, then those in its kwargs
   ("_CONSTANT_VALUE", a constant first argument, is none).  Only references before `before`
   (NULL: all): the input index of a reference. */
static size_t kwnn__tf_nrefs_before(kwnn__json v, int depth, const char *before)
{
    kwnn__iter it;
    kwnn__json el, k;
    size_t n = 0;
    if (depth > 70 || v.p == NULL || (before != NULL && v.p >= before)) return 0;
    if (kwnn__is_ref(v)) {
        kwnn__begin(v, '[', &it);
        kwnn__next(&it, NULL, &el);
        return (kwnn__jstr_is(el, "_CONSTANT_VALUE") ? 0 : 1) + kwnn__tf_nrefs_before(kwnn__tf_kwargs(v), depth + 1, before);
    }
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) n += kwnn__tf_nrefs_before(el, depth + 1, before);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) n += kwnn__tf_nrefs_before(el, depth + 1, before);
    }
    return n;
}

static size_t kwnn__tf_nrefs(kwnn__json call, int depth) { return kwnn__tf_nrefs_before(call, depth, NULL); }

/* Numbers (and booleans) in v: an upper bound of the constants a call holds. */
static size_t kwnn__op_numbers(kwnn__json v, int depth)
{
    kwnn__iter it;
    kwnn__json el, k;
    size_t n = 0;
    if (depth > 70) return 0;
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) n += kwnn__op_numbers(el, depth + 1);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) n += kwnn__op_numbers(el, depth + 1);
    } else if (v.p < v.e && *v.p != '"' && *v.p != 'n') {
        n = 1;
    }
    return n;
}

static kwnn_result kwnn__op_fail(kwnn__ctx *c, const kwb_layer *L, kwnn_result code, const char *what)
{
    kwnn__fail(c->net, code, NULL, "operation '");
    kwnn__m(c->net, L->name);
    kwnn__m(c->net, "' (");
    kwnn__m(c->net, L->class_name);
    kwnn__m(c->net, "): ");
    kwnn__m(c->net, what);
    return code;
}

/* Pass 1: an operation entry's floats in the parameter area (its struct and
   its constants, each block rounded to 16); one call only. */
static kwnn_result kwnn__op_measure(kwnn__ctx *c, kwnn__json entry, const kwb_layer *owner)
{
    kwnn__json nodes, name;
    size_t n;
    if (kwnn__get(entry, "inbound_nodes", &nodes) && kwnn__count(nodes) > 1) {
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner, "the operation '");
        if (kwnn__entry_name(entry, &name)) kwnn__m_jstr(c->net, name);
        kwnn__m(c->net, "' is called more than once");
        return KWNN_ERR_UNSUPPORTED;
    }
    n = kwnn__get(entry, "inbound_nodes", &nodes) ? kwnn__op_numbers(nodes, 0) : 0;
    if (n > KWNN__SIZE_MAX / 8) return kwnn__oom(c);
    n += KWNN__O_FLOATS + 4 * 16;
    if (!kwnn__add(c->op_floats, n, &c->op_floats)) return kwnn__oom(c);
    return KWNN_OK;
}

/* ---- loading ---- */

/* The shape of a constant (a number, a nested list of numbers, or Keras's
   {"class_name": "__numpy__" | "__tensor__", "config": {"value": ...}}). */
static int kwnn__const_value(kwnn__json v, kwnn__json *value)
{
    kwnn__json cls, cfg;
    if (kwnn__is(v, '{')) {
        if (!kwnn__get(v, "class_name", &cls) ||
            !(kwnn__jstr_is(cls, "__numpy__") || kwnn__jstr_is(cls, "__tensor__")) ||
            !kwnn__get(v, "config", &cfg) || !kwnn__get(cfg, "value", value))
            return 0;
        return 1;
    }
    *value = v;
    return 1;
}

static int kwnn__const_scalar(kwnn__json v, float *out)
{
    double d;
    int b;
    if (kwnn__bool(v, &b)) {
        *out = b ? 1.0f : 0.0f;
        return 1;
    }
    if (!kwnn__num(v, &d)) return 0;
    *out = (float)d;
    return 1;
}

static int kwnn__const_shape(kwnn__json v, size_t *shape, uint32_t *nd)
{
    kwnn__iter it;
    kwnn__json el;
    float f;
    *nd = 0;
    while (kwnn__is(v, '[')) {
        if (*nd >= KWNN_MAX_DIMS) return 0;
        shape[(*nd)++] = kwnn__count(v);
        if (!kwnn__begin(v, '[', &it) || !kwnn__next(&it, NULL, &el)) return 0; /* empty */
        v = el;
    }
    return kwnn__const_scalar(v, &f);
}

/* Flatten a rectangular nested list into dst (NULL: check only). */
static int kwnn__const_fill(kwnn__json v, const size_t *shape, uint32_t nd, uint32_t d, float *dst, size_t *pos)
{
    kwnn__iter it;
    kwnn__json el;
    size_t n = 0;
    if (d == nd) {
        float f;
        if (!kwnn__const_scalar(v, &f)) return 0;
        if (dst != NULL) dst[*pos] = f;
        (*pos)++;
        return 1;
    }
    if (!kwnn__begin(v, '[', &it)) return 0;
    while (kwnn__next(&it, NULL, &el)) {
        if (++n > shape[d] || !kwnn__const_fill(el, shape, nd, d + 1, dst, pos)) return 0;
    }
    return n == shape[d];
}

/* One argument of the call: a tensor (in >= 0), or a constant. */
typedef struct kwnn__oparg {
    int32_t in;
    uint32_t nd;                     /* full rank (a tensor's: with the batch) */
    size_t shape[KWNN_MAX_DIMS + 1]; /* full shape, shape[0] = batch for a tensor */
    kwnn__json value;                /* a constant's */
} kwnn__oparg;

static int kwnn__is_tensor(kwnn__json v)
{
    kwnn__json cls;
    return kwnn__is(v, '{') && kwnn__get(v, "class_name", &cls) && kwnn__jstr_is(cls, "__keras_tensor__");
}

/* Tensor input `in` of the call as an argument. */
static kwnn_result kwnn__op_tensor(kwnn__ctx *c, const kwb_layer *L, size_t in, kwnn__oparg *a)
{
    const struct kwnn__node *x;
    memset(a, 0, sizeof *a);
    if (in >= c->n_ins) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its tensors and inputs disagree");
    x = kwnn__in_node(c, (uint32_t)in);
    a->in = (int32_t)in;
    a->nd = x->nd + 1;
    a->shape[0] = 1;
    memcpy(a->shape + 1, x->shape, sizeof x->shape);
    return KWNN_OK;
}

static kwnn_result kwnn__op_const(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, kwnn__oparg *a);

static kwnn_result kwnn__op_arg(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, uint32_t *next_in, kwnn__oparg *a)
{
    if (kwnn__is_tensor(v)) return kwnn__op_tensor(c, L, (*next_in)++, a);
    return kwnn__op_const(c, L, v, a);
}

/* A constant argument: a number, a nested list, Keras's __numpy__ / __tensor__. */
static kwnn_result kwnn__op_const(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, kwnn__oparg *a)
{
    memset(a, 0, sizeof *a);
    a->in = -1;
    if (!kwnn__const_value(v, &a->value) || !kwnn__const_shape(a->value, a->shape, &a->nd)) {
        kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported argument ");
        kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
        kwnn__m(c->net, " (a tensor or a number or a list of numbers is expected)");
        return KWNN_ERR_UNSUPPORTED;
    }
    {
        size_t pos = 0;
        if (!kwnn__const_fill(a->value, a->shape, a->nd, 0, NULL, &pos))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a constant list is not rectangular");
    }
    return KWNN_OK;
}

/* Contiguous per-sample strides of a shape. */
static void kwnn__strides(const size_t *shape, uint32_t nd, ptrdiff_t *st)
{
    ptrdiff_t s = 1;
    uint32_t d = nd;
    while (d-- > 0) {
        st[d] = s;
        s *= (ptrdiff_t)shape[d];
    }
}

/* The operation's struct: in the parameter area at load; when the shapes are
   given at run time (82_run_shapes.h: fill 0), in the caller's scratch. */
static kwnn_result kwnn__op_struct(kwnn__ctx *c, const kwb_layer *L, struct kwnn__op **o)
{
    float *p;
    kwnn_result r;
    if (!c->fill) {
        if (c->op_store == NULL) return kwnn__op_fail(c, L, KWNN_ERR_INVALID_ARGUMENT, "no room for its arguments");
        *o = c->op_store;
    } else {
        if ((r = kwnn__param(c, KWNN__O_FLOATS, &p)) != KWNN_OK) return r;
        *o = (struct kwnn__op *)(void *)p;
    }
    memset(*o, 0, sizeof **o);
    return KWNN_OK;
}

/* Operand i's constant: written at load; the load's when the shapes change (fill 0). */
static kwnn_result kwnn__op_constant(kwnn__ctx *c, const kwb_layer *L, const kwnn__oparg *a, uint32_t i, size_t count,
                                     const float **k)
{
    float *dst;
    size_t pos = 0;
    kwnn_result r;
    if (!c->fill) {
        if (c->op_base == NULL) return kwnn__op_fail(c, L, KWNN_ERR_INVALID_ARGUMENT, "its constants are gone");
        *k = c->op_base->arg[i].k;
        return KWNN_OK;
    }
    if ((r = kwnn__param(c, count, &dst)) != KWNN_OK) return r;
    if (!kwnn__const_fill(a->value, a->shape, a->nd, 0, dst, &pos))
        return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its constants changed between passes");
    *k = dst;
    return KWNN_OK;
}

/* The broadcast of the arguments (Keras/NumPy: right-aligned, 1 stretches),
   per sample: the tensors' batch axes must meet each other. */
static kwnn_result kwnn__op_broadcast(kwnn__ctx *c, const kwb_layer *L, kwnn__oparg *a, uint32_t n, struct kwnn__op *o)
{
    uint32_t full = 0, i, d;
    size_t shape[KWNN_MAX_DIMS + 1];
    for (i = 0; i < n; i++)
        if (a[i].in >= 0 && a[i].nd > full) full = a[i].nd;
    for (i = 0; i < n; i++) {
        if (a[i].in >= 0 && a[i].nd != full)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED,
                                 "its tensors differ in rank (a batch axis would meet another axis)");
        if (a[i].in < 0 && a[i].nd > full)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a constant has more axes than its tensors");
        if (a[i].in < 0 && a[i].nd == full && a[i].shape[0] != 1)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED,
                                 "a constant's first axis meets the batch axis and is not 1");
    }
    for (d = 0; d < full; d++) shape[d] = 1;
    for (i = 0; i < n; i++)
        for (d = 0; d < a[i].nd; d++) {
            size_t *o_dim = &shape[full - a[i].nd + d], dim = a[i].shape[d];
            if (full - a[i].nd + d == 0) continue; /* the batch */
            if (*o_dim == 1) *o_dim = dim;
            else if (dim != 1 && dim != *o_dim)
                return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "its arguments' shapes do not broadcast together");
        }
    if (full == 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "it takes no tensor");
    o->nd = full - 1;
    for (d = 0; d < o->nd; d++) o->shape[d] = shape[d + 1];
    for (i = 0; i < n; i++) {
        kwnn__operand *p = &o->arg[i];
        ptrdiff_t st[KWNN_MAX_DIMS + 1];
        uint32_t lead = full - a[i].nd;
        kwnn__strides(a[i].shape, a[i].nd, st);
        p->in = a[i].in;
        for (d = 1; d < full; d++)
            p->step[d - 1] = d < lead || a[i].shape[d - lead] == 1 ? 0 : st[d - lead];
        if (a[i].in >= 0) {
            p->count = kwnn__in_node(c, (uint32_t)a[i].in)->count;
        } else {
            size_t cnt = 1;
            kwnn_result r;
            for (d = 0; d < a[i].nd; d++) cnt *= a[i].shape[d];
            if ((r = kwnn__op_constant(c, L, &a[i], i, cnt, &p->k)) != KWNN_OK) return r;
        }
    }
    o->n_args = n;
    return KWNN_OK;
}

/* A Keras axis (counted with the batch, negative from the end) of a rank-`full` tensor as a
   per-sample axis; 0 when it is the batch or out of range. */
static int kwnn__op_axis(kwnn__json v, uint32_t full, uint32_t *out)
{
    long ax;
    if (!kwnn__int(v, &ax)) return 0;
    if (ax < 0) ax += (long)full;
    if (ax < 1 || ax >= (long)full) return 0;
    *out = (uint32_t)ax - 1;
    return 1;
}

static kwnn_result kwnn__op_bad_axis(kwnn__ctx *c, const kwb_layer *L, const char *key, kwnn__json v)
{
    kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 40 ? 40 : (size_t)(v.e - v.p));
    kwnn__m(c->net, " (the batch axis, or outside the input)");
    return KWNN_ERR_UNSUPPORTED;
}

/* The `axis` config of a reduction (an int or a list) as a bit set of per-sample axes. */
static kwnn_result kwnn__op_axes(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t nd, uint32_t *bits)
{
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t ax;
    *bits = 0;
    if (!kwnn__get(cfg, "axis", &v) || kwnn__null(v))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "axis None reduces over the batch axis too");
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) {
            if (!kwnn__op_axis(el, nd + 1, &ax) || (*bits >> ax & 1u)) return kwnn__op_bad_axis(c, L, "axis", v);
            *bits |= 1u << ax;
        }
        if (*bits == 0) return kwnn__op_bad_axis(c, L, "axis", v);
        return KWNN_OK;
    }
    if (!kwnn__op_axis(v, nd + 1, &ax)) return kwnn__op_bad_axis(c, L, "axis", v);
    *bits = 1u << ax;
    return KWNN_OK;
}

/* Reductions: output = the input's shape without (keepdims: with 1 on) the axes. */
static kwnn_result kwnn__op_reduce(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, struct kwnn__op *o)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    ptrdiff_t st[KWNN_MAX_DIMS];
    uint32_t bits, d;
    int keep = 0;
    kwnn_result r;
    kwnn__json v;
    if ((r = kwnn__op_axes(c, L, cfg, x->nd, &bits)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "keepdims", NULL, 0, &keep)) != KWNN_OK)
        return r;
    if (kwnn__get(cfg, "initial", &v) && !kwnn__null(v)) {
        double init;
        if (!kwnn__num(v, &init)) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "initial is not a number");
        o->lo = (float)init;
        o->has_init = 1;
    }
    kwnn__strides(x->shape, x->nd, st);
    o->arg[0].in = 0;
    o->arg[0].count = x->count;
    o->n_args = 1;
    o->rcount = 1;
    for (d = 0; d < x->nd; d++) {
        if (bits >> d & 1u) {
            o->rshape[o->rnd] = x->shape[d];
            o->arg[0].rstep[o->rnd++] = st[d];
            o->rcount *= x->shape[d];
            if (keep) o->arg[0].step[o->nd] = 0, o->shape[o->nd++] = 1;
        } else {
            o->arg[0].step[o->nd] = st[d];
            o->shape[o->nd++] = x->shape[d];
        }
    }
    return KWNN_OK;
}

/* matmul: tensor @ tensor of one rank >= 2 (per sample; the leading axes
   broadcast), or tensor @ constant vector (k,) or matrix (k, m). */
static kwnn_result kwnn__op_matmul(kwnn__ctx *c, const kwb_layer *L, kwnn__oparg *a, struct kwnn__op *o)
{
    uint32_t d, lead;
    ptrdiff_t sa[KWNN_MAX_DIMS + 1], sb[KWNN_MAX_DIMS + 1];
    size_t k;
    if (a[0].in < 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a constant first argument");
    kwnn__strides(a[0].shape + 1, a[0].nd - 1, sa);
    if (a[0].nd < 2) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a first argument without features");
    k = a[0].shape[a[0].nd - 1];
    o->arg[0].in = a[0].in;
    o->arg[0].count = kwnn__in_node(c, (uint32_t)a[0].in)->count;
    o->n_args = 2;
    o->rnd = 1;
    o->rshape[0] = o->rcount = k;
    o->arg[0].rstep[0] = 1;
    if (a[1].in < 0) { /* x (..., k) @ W (k,) or (k, m) */
        size_t m = a[1].nd == 2 ? a[1].shape[1] : 1;
        kwnn_result r;
        if (a[1].nd < 1 || a[1].nd > 2 || a[1].shape[0] != k)
            return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "the constant is not a (k,) vector or (k, m) matrix");
        o->nd = a[0].nd - 2;
        for (d = 0; d < o->nd; d++) {
            o->shape[d] = a[0].shape[d + 1];
            o->arg[0].step[d] = sa[d];
        }
        if (a[1].nd == 2) {
            o->shape[o->nd] = m;
            o->arg[1].step[o->nd++] = 1;
        }
        if (o->nd + 1 > KWNN_MAX_DIMS + 1) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its constants changed between passes");
        if ((r = kwnn__op_constant(c, L, &a[1], 1, k * m, &o->arg[1].k)) != KWNN_OK) return r;
        o->arg[1].in = -1;
        o->arg[1].rstep[0] = (ptrdiff_t)m;
        return KWNN_OK;
    }
    if (a[0].nd != a[1].nd || a[0].nd < 3)
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED,
                             "two tensors of different ranks or without matrix axes (per sample)");
    kwnn__strides(a[1].shape + 1, a[1].nd - 1, sb);
    if (o->transpose_b) { /* tf.matmul(transpose_b=True): b is (..., m, k) */
        size_t t = a[1].shape[a[1].nd - 1];
        ptrdiff_t ts = sb[a[1].nd - 2];
        a[1].shape[a[1].nd - 1] = a[1].shape[a[1].nd - 2];
        a[1].shape[a[1].nd - 2] = t;
        sb[a[1].nd - 2] = sb[a[1].nd - 3];
        sb[a[1].nd - 3] = ts;
    }
    if (a[1].shape[a[1].nd - 2] != k)
        return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "the inner dimensions differ");
    lead = a[0].nd - 3; /* per-sample axes before the matrices */
    for (d = 0; d < lead; d++) {
        size_t da = a[0].shape[d + 1], db = a[1].shape[d + 1];
        if (da != db && da != 1 && db != 1)
            return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "the leading axes do not broadcast together");
        o->shape[d] = da > db ? da : db;
        o->arg[0].step[d] = da == 1 ? 0 : sa[d];
        o->arg[1].step[d] = db == 1 ? 0 : sb[d];
    }
    o->shape[lead] = a[0].shape[a[0].nd - 2];
    o->arg[0].step[lead] = (ptrdiff_t)k;
    o->shape[lead + 1] = a[1].shape[a[1].nd - 1];
    o->arg[1].step[lead + 1] = sb[a[1].nd - 2];
    o->nd = lead + 2;
    o->arg[1].in = a[1].in;
    o->arg[1].count = kwnn__in_node(c, (uint32_t)a[1].in)->count;
    o->arg[1].rstep[0] = sb[a[1].nd - 3];
    return KWNN_OK;
}

/* One bound of a slice as Python's slice.indices clamps it (null: dflt). */
static int kwnn__slice_bound(kwnn__json cfg, const char *key, long n, long step, long dflt, long *out)
{
    kwnn__json v;
    long b;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) {
        *out = dflt;
        return 1;
    }
    if (!kwnn__int(v, &b)) return 0;
    if (b < 0) b += n;
    if (b < 0) b = step > 0 ? 0 : -1;
    if (b >= n) b = step > 0 ? n : n - 1;
    *out = b;
    return 1;
}

/* Python's slice.indices(n): *start, *step and the length of the range. */
static int kwnn__slice(kwnn__json sl, size_t n, long *start, long *step, size_t *len)
{
    kwnn__json cfg, v;
    long b, e, s = 1, ln = (long)n;
    if (!kwnn__get(sl, "config", &cfg)) cfg = sl; /* tf.keras: {"start", "stop", "step"} */
    if (kwnn__get(cfg, "step", &v) && !kwnn__null(v) && (!kwnn__int(v, &s) || s == 0)) return 0;
    if (!kwnn__slice_bound(cfg, "start", ln, s, s > 0 ? 0 : ln - 1, &b) ||
        !kwnn__slice_bound(cfg, "stop", ln, s, s > 0 ? ln : -1, &e))
        return 0;
    *start = b;
    *step = s;
    if (s > 0) *len = e > b ? (size_t)((e - b + s - 1) / s) : 0;
    else *len = b > e ? (size_t)((b - e - s - 1) / -s) : 0;
    return 1;
}

static int kwnn__key_is(kwnn__json v, const char *cls_name)
{
    kwnn__json cls;
    if (strcmp(cls_name, "__slice__") == 0 && kwnn__is(v, '{') && !kwnn__get(v, "class_name", &cls))
        return kwnn__get(v, "start", &cls); /* tf.keras writes a slice as its config alone */
    return kwnn__is(v, '{') && kwnn__get(v, "class_name", &cls) && kwnn__jstr_is(cls, cls_name);
}

static kwnn_result kwnn__op_bad_key(kwnn__ctx *c, const kwb_layer *L, kwnn__json key, const char *why)
{
    kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported index ");
    kwnn__m_raw(c->net, key.p, (size_t)(key.e - key.p) > 60 ? 60 : (size_t)(key.e - key.p));
    kwnn__m(c->net, ": ");
    kwnn__m(c->net, why);
    return KWNN_ERR_UNSUPPORTED;
}

/* x[key]: integers (negative from the end), slices with constant start,
   stop and step, one Ellipsis, None (a new axis of 1).  The batch axis must
   be kept whole. */
static kwnn_result kwnn__op_getitem(kwnn__ctx *c, const kwb_layer *L, kwnn__json key, struct kwnn__op *o)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json items[KWNN_MAX_DIMS + 2], el;
    kwnn__iter it;
    ptrdiff_t st[KWNN_MAX_DIMS];
    uint32_t n = 0, i, axis = 0, consuming = 0, full = x->nd + 1, ell = 0;
    int batch_done = 0;
    kwnn__operand *p = &o->arg[0];
    if (kwnn__begin(key, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) {
            if (n >= KWNN_MAX_DIMS + 2) return kwnn__op_bad_key(c, L, key, "too many indices");
            items[n++] = el;
        }
    } else {
        items[n++] = key;
    }
    for (i = 0; i < n; i++) {
        if (kwnn__key_is(items[i], "__ellipsis__")) ell++;
        else if (!kwnn__null(items[i])) consuming++;
    }
    if (ell > 1 || consuming > full) return kwnn__op_bad_key(c, L, key, "more indices than axes");
    kwnn__strides(x->shape, x->nd, st);
    p->in = 0;
    p->count = x->count;
    o->n_args = 1;
    for (i = 0; i <= n; i++) {
        kwnn__json k;
        if (i == n) { /* an implicit Ellipsis at the end */
            if (ell) break;
            k.p = "{\"class_name\": \"__ellipsis__\"}";
            k.e = k.p + strlen(k.p);
        } else {
            k = items[i];
        }
        if (kwnn__key_is(k, "__ellipsis__")) {
            uint32_t keep = full - consuming, j;
            for (j = 0; j < keep; j++, axis++) {
                if (axis == 0) {
                    batch_done = 1;
                    continue;
                }
                if (o->nd >= KWNN_MAX_DIMS) return kwnn__op_bad_key(c, L, key, "more than 8 axes");
                o->shape[o->nd] = x->shape[axis - 1];
                p->step[o->nd++] = st[axis - 1];
            }
            consuming = full; /* consumed */
            continue;
        }
        if (kwnn__null(k)) {
            if (!batch_done) return kwnn__op_bad_key(c, L, key, "a new axis before the batch axis");
            if (o->nd >= KWNN_MAX_DIMS) return kwnn__op_bad_key(c, L, key, "more than 8 axes");
            o->shape[o->nd] = 1;
            p->step[o->nd++] = 0;
            continue;
        }
        if (axis >= full) return kwnn__op_bad_key(c, L, key, "more indices than axes");
        if (axis == 0) { /* the batch: only ':' */
            kwnn__json cfg, v;
            const char *const parts[] = {"start", "stop", "step"};
            int j;
            if (!kwnn__key_is(k, "__slice__")) return kwnn__op_bad_key(c, L, key, "it indexes the batch axis");
            if (!kwnn__get(k, "config", &cfg)) cfg = k;
            for (j = 0; j < 3; j++)
                if (kwnn__get(cfg, parts[j], &v) && !kwnn__null(v))
                    return kwnn__op_bad_key(c, L, key, "it slices the batch axis");
            batch_done = 1;
            axis++;
            continue;
        }
        if (kwnn__key_is(k, "__slice__")) {
            long start, step;
            size_t len;
            if (!kwnn__slice(k, x->shape[axis - 1], &start, &step, &len))
                return kwnn__op_bad_key(c, L, key, "a slice with a step of 0 or a bound that is not an integer");
            if (len == 0) return kwnn__op_bad_key(c, L, key, "an empty slice");
            if (o->nd >= KWNN_MAX_DIMS) return kwnn__op_bad_key(c, L, key, "more than 8 axes");
            p->off += (ptrdiff_t)start * st[axis - 1];
            o->shape[o->nd] = len;
            p->step[o->nd++] = (ptrdiff_t)step * st[axis - 1];
            axis++;
            continue;
        }
        {
            long idx;
            long dim = (long)x->shape[axis - 1];
            if (!kwnn__int(k, &idx)) return kwnn__op_bad_key(c, L, key, "an index that is not an integer or a slice");
            if (idx < 0) idx += dim;
            if (idx < 0 || idx >= dim) return kwnn__op_bad_key(c, L, key, "an index out of range");
            p->off += (ptrdiff_t)idx * st[axis - 1];
            axis++;
        }
    }
    return KWNN_OK;
}

/* reshape: newshape counted with the batch, which must stay first (-1 or None). */
static kwnn_result kwnn__op_reshape(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t n = 0, free_at = KWNN_MAX_DIMS;
    size_t known = 1;
    long d;
    if (!(kwnn__get(cfg, "newshape", &v) || kwnn__get(cfg, "shape", &v)) || !kwnn__begin(v, '[', &it)) /* tf: shape */
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "newshape is not a list");
    if (!kwnn__next(&it, NULL, &el) || !(kwnn__null(el) || (kwnn__int(el, &d) && d == -1)))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "newshape does not keep the batch first (-1)");
    while (kwnn__next(&it, NULL, &el)) {
        if (n >= KWNN_MAX_DIMS || !kwnn__int(el, &d) || d < -1 || d == 0 || (d == -1 && free_at != KWNN_MAX_DIMS))
            return kwnn__bad_key(c, L, "newshape", v, "the batch (-1), then positive sizes and at most one -1");
        if (d == -1) {
            free_at = n;
            c->shape[n++] = 1;
        } else {
            c->shape[n++] = (size_t)d;
            if (!kwnn__mul(known, (size_t)d, &known)) return kwnn__oom(c);
        }
    }
    if (free_at != KWNN_MAX_DIMS) {
        if (x->count % known != 0) return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "newshape does not fit the input");
        c->shape[free_at] = x->count / known;
        known = x->count;
    }
    if (known != x->count) return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "newshape does not fit the input");
    c->nd = n;
    out->kind = KWNN_LAYER_RESHAPE;
    return KWNN_OK;
}

/* expand_dims / squeeze: axes of the output / input, never the batch. */
static kwnn_result kwnn__op_dims(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int expand)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t bits = 0, ax, full, d, n = 0, k = 0;
    if (!kwnn__get(cfg, "axis", &v) || kwnn__null(v))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "axis None (it would reach the batch axis)");
    full = x->nd + 1;
    if (expand) full += kwnn__is(v, '[') ? (uint32_t)kwnn__count(v) : 1;
    if (full > KWNN_MAX_DIMS + 1) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more than 8 axes");
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) {
            if (!kwnn__op_axis(el, full, &ax) || (bits >> ax & 1u)) return kwnn__op_bad_axis(c, L, "axis", v);
            bits |= 1u << ax;
        }
    } else {
        if (!kwnn__op_axis(v, full, &ax)) return kwnn__op_bad_axis(c, L, "axis", v);
        bits = 1u << ax;
    }
    for (d = 0; d < full - 1; d++) {
        if (expand) {
            c->shape[d] = bits >> d & 1u ? 1 : x->shape[k++];
            n++;
        } else if (bits >> d & 1u) {
            if (x->shape[d] != 1) return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "squeezes an axis whose size is not 1");
        } else {
            c->shape[n++] = x->shape[d];
        }
    }
    c->nd = n;
    out->kind = KWNN_LAYER_RESHAPE;
    return KWNN_OK;
}

/* transpose: axes must keep the batch first. */
static kwnn_result kwnn__op_transpose(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, struct kwnn__op *o)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json v, el;
    kwnn__iter it;
    ptrdiff_t st[KWNN_MAX_DIMS];
    uint32_t n = 0, ax, seen = 0;
    long first;
    if (!(kwnn__get(cfg, "axes", &v) || kwnn__get(cfg, "perm", &v)) || !kwnn__begin(v, '[', &it)) /* tf: perm */
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "axes None (it moves the batch axis)");
    if (kwnn__count(v) != x->nd + 1 || !kwnn__next(&it, NULL, &el) || !kwnn__int(el, &first) ||
        (first != 0 && first != -(long)(x->nd + 1)))
        return kwnn__op_bad_axis(c, L, "axes", v);
    kwnn__strides(x->shape, x->nd, st);
    while (kwnn__next(&it, NULL, &el)) {
        if (!kwnn__op_axis(el, x->nd + 1, &ax) || (seen >> ax & 1u)) return kwnn__op_bad_axis(c, L, "axes", v);
        seen |= 1u << ax;
        o->shape[n] = x->shape[ax];
        o->arg[0].step[n++] = st[ax];
    }
    o->nd = n;
    o->n_args = 1;
    o->arg[0].in = 0;
    o->arg[0].count = x->count;
    return KWNN_OK;
}

/* concatenate / stack: args[0] is the list of tensors (constants refused). */
static kwnn_result kwnn__op_join(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn__json list, kwnn_layer *out,
                                 int stack)
{
    kwnn__iter it;
    kwnn__json el, v;
    uint32_t i, ax;
    const struct kwnn__node *x0 = kwnn__in_node(c, 0);
    if (!kwnn__begin(list, '[', &it)) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "its argument is not a list");
    while (kwnn__next(&it, NULL, &el))
        if (!kwnn__is_tensor(el) && !(kwnn__is_ref(el) && !kwnn__tf_const_ref(el)))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "joins a constant");
    if (!kwnn__get(cfg, "axis", &v) || kwnn__null(v)) return kwnn__op_bad_axis(c, L, "axis", cfg);
    if (!stack) return kwnn__concat(c, L, cfg, out, 0); /* 41_merge.h: axis counted with the batch */
    if (x0->nd + 1 > KWNN_MAX_DIMS) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more than 8 axes");
    if (!kwnn__op_axis(v, x0->nd + 2, &ax)) return kwnn__op_bad_axis(c, L, "axis", v);
    for (i = 1; i < c->n_ins; i++)
        if (kwnn__in_node(c, i)->nd != x0->nd ||
            memcmp(kwnn__in_node(c, i)->shape, x0->shape, x0->nd * sizeof(size_t)) != 0)
            return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "stacks tensors of different shapes");
    for (i = 0; i < x0->nd; i++) c->shape[i < ax ? i : i + 1] = x0->shape[i];
    c->shape[ax] = c->n_ins;
    c->nd = x0->nd + 1;
    out->kind = KWNN_LAYER_CONCAT;
    out->units = ax;
    return KWNN_OK;
}

/* An activation given as an operation (keras.ops.relu, gelu, ...): its class in
   snake case is the activation's name; the config holds its arguments. */
static kwnn_result kwnn__op_activation(kwnn__ctx *c, const kwb_layer *L, const char *s, kwnn__json cfg,
                                       int gelu_approximate, kwnn_layer *out, int *found)
{
    char name[40];
    size_t n = 1, i;
    kwnn__json v;
    *found = 0;
    name[0] = '"';
    for (i = 0; s[i] != '\0' && n < sizeof name - 3; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z') {
            if (i > 0) name[n++] = '_';
            ch = (char)(ch - 'A' + 'a');
        }
        name[n++] = ch;
    }
    if (s[i] != '\0') return KWNN_OK;
    name[n++] = '"';
    name[n] = '\0';
    v.p = name;
    v.e = name + n;
    for (i = 0; i < KWNN__N_ACTS; i++)
        if (kwnn__jstr_is(v, kwnn__acts[i].name)) break;
    if (i == KWNN__N_ACTS) return KWNN_OK;
    *found = 1;
    {
        /* the arguments kwnn__activation reads, under the keys keras.ops uses */
        kwnn_result r;
        kwnn__act_init(&out->act, kwnn__acts[i].kind, kwnn__acts[i].a);
        if (out->act.kind == KWNN_ACT_HARD_SIGMOID && c->legacy) out->act.kind = KWNN_ACT_HARD_SIGMOID_K2;
        if (out->act.kind == KWNN_ACT_GELU) { /* keras.ops.gelu: approximate defaults to true, tf's false */
            int b;
            if ((r = kwnn__cfg_bool(c, L, cfg, "approximate", NULL, gelu_approximate, &b)) != KWNN_OK) return r;
            if (b) out->act.kind = KWNN_ACT_GELU_TANH;
        } else {
            kwnn_activation a;
            a = out->act;
            switch (a.kind) {
            case KWNN_ACT_LEAKY_RELU: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", 0.2, &x)) != KWNN_OK) return r;
                a.a = (float)x;
                break;
            }
            case KWNN_ACT_ELU: case KWNN_ACT_CELU: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "alpha", NULL, 1.0, &x)) != KWNN_OK) return r;
                if (a.kind == KWNN_ACT_CELU && (float)x == 0.0f)
                    return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "celu with alpha 0");
                a.a = (float)x;
                break;
            }
            case KWNN_ACT_SOFT_SHRINK: case KWNN_ACT_HARD_SHRINK: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, 0.5, &x)) != KWNN_OK) return r;
                a.a = (float)x;
                break;
            }
            case KWNN_ACT_SQUAREPLUS: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "b", NULL, 4.0, &x)) != KWNN_OK) return r;
                a.a = (float)x;
                break;
            }
            default: break;
            }
            out->act = a;
        }
    }
    out->kind = KWNN_LAYER_ACTIVATION;
    memcpy(c->shape, kwnn__in_node(c, 0)->shape, sizeof c->shape);
    c->nd = kwnn__in_node(c, 0)->nd;
    return KWNN_OK;
}

static kwnn__json kwnn__call_args(kwnn__json call);            /* 60_graph.h */
static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);         /* 51_cost.h */
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);
static int kwnn__call_kwargs(kwnn__json call, kwnn__json *kw); /* 60_graph.h */

/* Clip bounds, softmax axis, cast dtype: the small families. */
static kwnn_result kwnn__op_clip(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, struct kwnn__op *o)
{
    static const char *const keys[] = {"x_min", "x_max", "clip_value_min", "clip_value_max"}; /* Keras 3, tf */
    float *dst[2];
    int i;
    dst[0] = &o->lo;
    dst[1] = &o->hi;
    o->lo = -HUGE_VALF;
    o->hi = HUGE_VALF;
    for (i = 0; i < 4; i++) {
        kwnn__json v;
        double d;
        if (!kwnn__get(cfg, keys[i], &v) || kwnn__null(v)) continue;
        if (!kwnn__num(v, &d)) return kwnn__bad_key(c, L, keys[i], v, "a number");
        *dst[i % 2] = (float)d;
    }
    return KWNN_OK;
}

static kwnn_result kwnn__op_cast(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, struct kwnn__op *o)
{
    static const char *const ints[] = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"};
    kwnn__json v;
    size_t i;
    int on = 0;
    if (strcmp(L->class_name, "ConvertToTensor") == 0) { /* convert_to_tensor(x, dtype, sparse, ragged) */
        if ((kwnn__get(cfg, "sparse", &v) && !kwnn__null(v) && (!kwnn__bool(v, &on) || on)) ||
            (kwnn__get(cfg, "ragged", &v) && !kwnn__null(v) && (!kwnn__bool(v, &on) || on)))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported sparse or ragged tensor");
        if (!kwnn__get(cfg, "dtype", &v) || kwnn__null(v)) { /* Keras 3 passes a mask through one: as it is */
            out->kind = KWNN_LAYER_IDENTITY;
            return KWNN_OK;
        }
    }
    if (!kwnn__get(cfg, "dtype", &v) || !kwnn__is(v, '"')) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "no dtype");
    if (kwnn__jstr_is(v, "float32") || kwnn__jstr_is(v, "float64")) {
        out->kind = KWNN_LAYER_IDENTITY;
        return KWNN_OK;
    }
    if (kwnn__jstr_is(v, "bool")) {
        o->code = KWNN__O_BOOL;
        return KWNN_OK;
    }
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (kwnn__jstr_is(v, ints[i])) {
            o->code = KWNN__O_TRUNC; /* float to integer: toward zero (values out of range differ) */
            return KWNN_OK;
        }
    return kwnn__unsupported_value(c, L, "cast dtype", v);
}

/* One argument per slot, tensors resolved to the call's inputs in order. */
static kwnn_result kwnn__op_args(kwnn__ctx *c, const kwb_layer *L, kwnn__json args, kwnn__oparg *a, uint32_t want)
{
    kwnn__iter it;
    kwnn__json el;
    uint32_t n = 0, next_in = 0, tensors = 0;
    kwnn_result r;
    if (!kwnn__begin(args, '[', &it)) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its arguments are not a list");
    while (kwnn__next(&it, NULL, &el)) {
        if (n >= want) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more arguments than it takes");
        if ((r = kwnn__op_arg(c, L, el, &next_in, &a[n])) != KWNN_OK) return r;
        if (a[n++].in >= 0) tensors++;
    }
    if (n != want) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "fewer arguments than it takes");
    if (tensors == 0 || next_in != c->n_ins)
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "its tensors are not among its arguments");
    return KWNN_OK;
}

/* tf.keras's functions (TFOpLambda's config "function") as the Keras 3 operations they are. */
static const char *const kwnn__tf_functions[][2] = {
    {"math.multiply", "Multiply"}, {"__operators__.add", "Add"}, {"math.add", "Add"},
    {"math.subtract", "Subtract"}, {"math.truediv", "TrueDivide"}, {"math.divide", "Divide"},
    {"math.pow", "Power"}, {"math.minimum", "Minimum"}, {"math.maximum", "Maximum"},
    {"math.equal", "Equal"}, {"math.not_equal", "NotEqual"}, {"math.greater", "Greater"},
    {"math.greater_equal", "GreaterEqual"}, {"math.less", "Less"}, {"math.less_equal", "LessEqual"},
    {"math.logical_and", "LogicalAnd"}, {"math.logical_or", "LogicalOr"}, {"math.logical_not", "LogicalNot"},
    {"where", "Where"}, {"math.negative", "Negative"}, {"math.abs", "Absolute"}, {"math.square", "Square"},
    {"math.sqrt", "Sqrt"}, {"math.exp", "Exp"}, {"math.log", "Log"}, {"clip_by_value", "Clip"},
    {"math.sign", "Sign"}, {"math.floor", "Floor"}, {"math.ceil", "Ceil"}, {"math.reciprocal", "Reciprocal"},
    {"math.rsqrt", "Rsqrt"}, {"math.log1p", "Log1p"}, {"math.expm1", "Expm1"}, {"math.reduce_sum", "Sum"},
    {"math.reduce_mean", "Mean"}, {"math.reduce_max", "Max"}, {"math.reduce_min", "Min"},
    {"math.reduce_any", "Any"}, {"math.reduce_all", "All"}, {"math.reduce_std", "Std"},
    {"math.reduce_variance", "Var"}, {"linalg.matmul", "Matmul"}, {"matmul", "Matmul"},
    {"nn.softmax", "Softmax"}, {"math.softmax", "Softmax"}, {"nn.log_softmax", "LogSoftmax"},
    {"reshape", "Reshape"}, {"expand_dims", "ExpandDims"}, {"compat.v1.squeeze", "Squeeze"},
    {"squeeze", "Squeeze"}, {"compat.v1.transpose", "Transpose"}, {"transpose", "Transpose"},
    {"concat", "Concatenate"}, {"stack", "Stack"}, {"__operators__.getitem", "GetItem"}, {"cast", "Cast"},
    {"identity", "StopGradient"}, {"stop_gradient", "StopGradient"}, {"nn.relu", "Relu"}, {"nn.relu6", "Relu6"},
    {"math.sigmoid", "Sigmoid"}, {"nn.sigmoid", "Sigmoid"}, {"math.tanh", "Tanh"}, {"nn.tanh", "Tanh"},
    {"nn.gelu", "Gelu"}, {"nn.silu", "Silu"}, {"nn.swish", "Silu"}, {"nn.elu", "Elu"}, {"nn.selu", "Selu"},
    {"nn.softplus", "Softplus"}, {"math.softplus", "Softplus"}, {"nn.softsign", "Softsign"},
    {"math.softsign", "Softsign"}, {"nn.leaky_relu", "LeakyRelu"}};

/* One argument of a tf.keras call: a reference (its input index: the references before it), the
   value of a "_CONSTANT_VALUE" one, or a constant in the kwargs. */
static kwnn_result kwnn__tf_arg(kwnn__ctx *c, const kwb_layer *L, kwnn__json call, kwnn__json v, kwnn__oparg *a)
{
    kwnn__iter it;
    kwnn__json el;
    if (v.p == NULL) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "an argument is missing");
    if (!kwnn__is_ref(v)) return kwnn__op_const(c, L, v, a);
    if (!kwnn__tf_const_ref(v)) return kwnn__op_tensor(c, L, kwnn__tf_nrefs_before(call, 0, v.p), a);
    kwnn__begin(v, '[', &it);
    kwnn__next(&it, NULL, &el);
    kwnn__next(&it, NULL, &el);
    kwnn__next(&it, NULL, &el);
    return kwnn__op_const(c, L, el, a);
}

/* The arguments of a tf.keras call: the first reference, then kwargs y (where: x, y; matmul: b). */
static kwnn_result kwnn__tf_args(kwnn__ctx *c, const kwb_layer *L, kwnn__json call, kwnn__json first, kwnn__json kw,
                                 int code, kwnn__oparg *a, uint32_t want)
{
    static const char *const keys[3][2] = {{"y", NULL}, {"x", "y"}, {"b", NULL}};
    kwnn__json v;
    uint32_t i, tensors = 0;
    kwnn_result r;
    int row = code == KWNN__O_WHERE ? 1 : code == KWNN__O_MATMUL ? 2 : 0;
    for (i = 0; i < want; i++) {
        if (i == 0) v = first;
        else if (!kwnn__get(kw, keys[row][i - 1], &v)) v.p = v.e = NULL;
        if ((r = kwnn__tf_arg(c, L, call, v, &a[i])) != KWNN_OK) return r;
        if (a[i].in >= 0) tensors++;
    }
    if (tensors == 0 || tensors != c->n_ins)
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "its tensors are not among its arguments");
    return KWNN_OK;
}

/* Load an operation node (c->op_call: its call, c->ins: its tensors): Keras 3's, or tf.keras's
   TFOpLambda / SlicingOpLambda (its function mapped onto the same operations, its options and
   other arguments in the kwargs of its first reference). */
static kwnn_result kwnn__load_op(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char empty[] = "{}";
    kwnn__json call = c->op_call, args, kw, k, el, tkw;
    kwnn__iter it = {NULL, NULL}; /* the Keras 3 arguments after the first */
    kwnn__oparg a[3];
    const kwnn__op_name *nm = NULL;
    struct kwnn__op *o = NULL;
    kwnn_result r;
    size_t i;
    uint32_t first = 0;
    int tf = strcmp(L->class_name, "TFOpLambda") == 0 || strcmp(L->class_name, "SlicingOpLambda") == 0, one;
    const char *cls = L->class_name;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    args = kwnn__call_args(call);
    if (tf) {
        kwnn__json fn;
        if (!kwnn__get(cfg, "function", &fn)) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "no function");
        for (i = 0, cls = NULL; i < sizeof kwnn__tf_functions / sizeof kwnn__tf_functions[0]; i++)
            if (kwnn__jstr_is(fn, kwnn__tf_functions[i][0])) cls = kwnn__tf_functions[i][1];
        if (cls == NULL) {
            kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported function ");
            kwnn__m_jstr(c->net, fn);
            return KWNN_ERR_UNSUPPORTED;
        }
        el = call; /* the first reference: the call itself, or the first of a list */
        if (!kwnn__is_ref(el) && !(kwnn__begin(call, '[', &it) && kwnn__next(&it, NULL, &el) && kwnn__is_ref(el)))
            return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its call is not a list of references");
        tkw = kwnn__tf_kwargs(el);
        if (tkw.p == NULL) {
            tkw.p = empty;
            tkw.e = empty + 2;
        }
        cfg = tkw; /* axis, keepdims, shape, perm, dtype, ... */
        one = c->n_ins == 1 && kwnn__is_ref(call) && !kwnn__tf_const_ref(call);
        for (i = 0; i < 3; i++) { /* options tf computes and this code does not */
            static const char *const no[] = {"transpose_a", "adjoint_a", "adjoint_b"};
            int on = 0;
            if (kwnn__get(tkw, no[i], &k) && kwnn__bool(k, &on) && on) {
                kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported ");
                kwnn__m(c->net, no[i]);
                kwnn__m(c->net, " true");
                return KWNN_ERR_UNSUPPORTED;
            }
        }
    } else {
        if (kwnn__call_kwargs(call, &kw) && kwnn__begin(kw, '{', &it) && kwnn__next(&it, &k, &el)) {
            kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported keyword argument ");
            kwnn__m_jstr(c->net, k);
            return KWNN_ERR_UNSUPPORTED;
        }
        if (!kwnn__begin(args, '[', &it) || !kwnn__next(&it, NULL, &el) || c->n_ins == 0)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "it takes no tensor");
        tkw = cfg;
        one = c->n_ins == 1 && kwnn__is_tensor(el);
    }
    if (c->n_ins == 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "it takes no tensor");
    for (i = 0; i < KWNN__N_OP_NAMES; i++)
        if (strcmp(cls, kwnn__op_names[i].name) == 0) nm = &kwnn__op_names[i];
    if (nm == NULL) {
        int found;
        if ((r = kwnn__op_activation(c, L, cls, cfg, !tf, out, &found)) != KWNN_OK) return r;
        if (found && one) return KWNN_OK;
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported operation");
    }
    if (nm->code >= KWNN__O_RESHAPE && nm->code != KWNN__O_CONCAT && nm->code != KWNN__O_STACK &&
        nm->code != KWNN__O_GETITEM && (!one || (!tf && kwnn__next(&it, NULL, &k))))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "takes one tensor and nothing else");
    switch (nm->code) {
    case KWNN__O_RESHAPE: return kwnn__op_reshape(c, L, cfg, out);
    case KWNN__O_EXPAND: return kwnn__op_dims(c, L, cfg, out, 1);
    case KWNN__O_SQUEEZE: return kwnn__op_dims(c, L, cfg, out, 0);
    case KWNN__O_IDENTITY: out->kind = KWNN_LAYER_IDENTITY; return KWNN_OK;
    case KWNN__O_CONCAT: case KWNN__O_STACK:
        if (!tf && kwnn__next(&it, NULL, &k))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more arguments than it takes");
        return kwnn__op_join(c, L, cfg, tf ? call : el, out, nm->code == KWNN__O_STACK);
    default: break;
    }
    if ((r = kwnn__op_struct(c, L, &o)) != KWNN_OK) return r;
    o->code = nm->code;
    out->kind = KWNN_LAYER_OP;
    out->op_args = o;
    switch (nm->code) {
    case KWNN__O_CAST:
        if ((r = kwnn__op_cast(c, L, cfg, out, o)) != KWNN_OK || out->kind != KWNN_LAYER_OP) return r;
        first = 1;
        break;
    case KWNN__O_TRANSPOSE: r = kwnn__op_transpose(c, L, cfg, o); break;
    case KWNN__O_SUM: case KWNN__O_MEAN: case KWNN__O_RMAX: case KWNN__O_RMIN: case KWNN__O_ANY: case KWNN__O_ALL:
    case KWNN__O_STD: case KWNN__O_VAR:
        r = kwnn__op_reduce(c, L, cfg, o);
        break;
    case KWNN__O_GETITEM:
        if (tf ? (!one || !kwnn__get(tkw, "slice_spec", &k))
               : (!one || !kwnn__next(&it, NULL, &k) || kwnn__next(&it, NULL, &el)))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "takes a tensor and a constant index");
        r = kwnn__op_getitem(c, L, k, o);
        o->code = KWNN__O_COPY;
        break;
    case KWNN__O_SOFTMAX: case KWNN__O_LOG_SOFTMAX: {
        const struct kwnn__node *x = kwnn__in_node(c, 0);
        kwnn__json v;
        uint32_t ax = x->nd > 0 ? x->nd - 1 : 0, d;
        if (kwnn__get(cfg, "axis", &v) && !kwnn__null(v) && !kwnn__op_axis(v, x->nd + 1, &ax))
            return kwnn__op_bad_axis(c, L, "axis", v);
        if (x->nd == 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a softmax over the batch axis");
        if (ax == x->nd - 1) { /* the Activation runner's softmax (the last axis) */
            kwnn__act_init(&out->act, nm->code == KWNN__O_SOFTMAX ? KWNN_ACT_SOFTMAX : KWNN_ACT_LOG_SOFTMAX, 0.0f);
            out->kind = KWNN_LAYER_ACTIVATION;
            out->op_args = NULL;
            memcpy(c->shape, x->shape, sizeof c->shape);
            c->nd = x->nd;
            return KWNN_OK;
        }
        o->rshape[0] = o->rshape[1] = o->rshape[2] = 1; /* pre, K, post */
        for (d = 0; d < x->nd; d++) o->rshape[d < ax ? 0 : d == ax ? 1 : 2] *= x->shape[d];
        first = 1;
        break;
    }
    case KWNN__O_MATMUL:
        if (tf && (r = kwnn__cfg_bool(c, L, tkw, "transpose_b", NULL, 0, &o->transpose_b)) != KWNN_OK) return r;
        r = tf ? kwnn__tf_args(c, L, call, el, tkw, nm->code, a, 2) : kwnn__op_args(c, L, args, a, 2);
        if (r != KWNN_OK) return r;
        r = kwnn__op_matmul(c, L, a, o);
        break;
    default: /* elementwise */
        if (nm->code == KWNN__O_CLIP && (r = kwnn__op_clip(c, L, cfg, o)) != KWNN_OK) return r;
        r = tf ? kwnn__tf_args(c, L, call, el, tkw, nm->code, a, (uint32_t)nm->arity)
               : kwnn__op_args(c, L, args, a, (uint32_t)nm->arity);
        if (r != KWNN_OK) return r;
        r = kwnn__op_broadcast(c, L, a, (uint32_t)nm->arity, o);
        break;
    }
    if (r != KWNN_OK) return r;
    if (first) { /* unary on the input as it is */
        const struct kwnn__node *x = kwnn__in_node(c, 0);
        o->nd = x->nd;
        memcpy(o->shape, x->shape, sizeof o->shape);
        kwnn__strides(x->shape, x->nd, o->arg[0].step);
        o->arg[0].in = 0;
        o->arg[0].count = x->count;
        o->n_args = 1;
    }
    if (!kwnn__prod(o->shape, o->nd, &o->count) || !kwnn__prod(o->rshape, o->rnd, &o->rcount))
        return kwnn__shape_overflow(c, L, "its output", o->shape, o->nd);
    memcpy(c->shape, o->shape, sizeof c->shape);
    c->nd = o->nd;
    return KWNN_OK;
}

/* ---- running ---- */

static float kwnn__op_f(const struct kwnn__op *o, float a, float b, float w)
{
    switch (o->code) {
    case KWNN__O_COPY: return a;
    case KWNN__O_NEG: return -a;
    case KWNN__O_ABS: return fabsf(a);
    case KWNN__O_SQUARE: return a * a;
    case KWNN__O_SQRT: return sqrtf(a);
    case KWNN__O_EXP: return expf(a);
    case KWNN__O_LOG: return logf(a);
    case KWNN__O_CLIP: return fminf(fmaxf(a, o->lo), o->hi);
    case KWNN__O_TRUNC: return truncf(a);
    case KWNN__O_BOOL: return a != 0.0f ? 1.0f : 0.0f;
    case KWNN__O_NOT: return a == 0.0f ? 1.0f : 0.0f;
    case KWNN__O_SIGN: return a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : a);
    case KWNN__O_FLOOR: return floorf(a);
    case KWNN__O_CEIL: return ceilf(a);
    case KWNN__O_RECIPROCAL: return 1.0f / a;
    case KWNN__O_RSQRT: return 1.0f / sqrtf(a);
    case KWNN__O_LOG1P: return log1pf(a);
    case KWNN__O_EXPM1: return expm1f(a);
    case KWNN__O_ADD: return a + b;
    case KWNN__O_SUB: return a - b;
    case KWNN__O_MUL: return a * b;
    case KWNN__O_DIV: return a / b;
    case KWNN__O_POW: return powf(a, b);
    case KWNN__O_MIN: return (a != a || a < b) ? a : b; /* NaN propagates, as jnp.minimum */
    case KWNN__O_MAX: return (a != a || a > b) ? a : b;
    case KWNN__O_EQ: return a == b ? 1.0f : 0.0f;
    case KWNN__O_NE: return a != b ? 1.0f : 0.0f;
    case KWNN__O_GT: return a > b ? 1.0f : 0.0f;
    case KWNN__O_GE: return a >= b ? 1.0f : 0.0f;
    case KWNN__O_LT: return a < b ? 1.0f : 0.0f;
    case KWNN__O_LE: return a <= b ? 1.0f : 0.0f;
    case KWNN__O_AND: return a != 0.0f && b != 0.0f ? 1.0f : 0.0f;
    case KWNN__O_OR: return a != 0.0f || b != 0.0f ? 1.0f : 0.0f;
    case KWNN__O_WHERE: return a != 0.0f ? b : w;
    default: return a;
    }
}

/* The next index of `shape` (row-major), each operand's offset moved by its steps. */
static void kwnn__op_next(size_t *idx, const size_t *shape, uint32_t nd, ptrdiff_t *off, const kwnn__operand *arg,
                          uint32_t na, int reduced)
{
    uint32_t d = nd, k;
    while (d-- > 0) {
        for (k = 0; k < na; k++) off[k] += reduced ? arg[k].rstep[d] : arg[k].step[d];
        if (++idx[d] < shape[d]) return;
        for (k = 0; k < na; k++) off[k] -= (reduced ? arg[k].rstep[d] : arg[k].step[d]) * (ptrdiff_t)shape[d];
        idx[d] = 0;
    }
}

/* Softmax over the middle axis of a (pre, K, post) view; y may not alias x. */
static void kwnn__op_softmax(const struct kwnn__op *o, const float *x, float *y)
{
    size_t pre = o->rshape[0], K = o->rshape[1], post = o->rshape[2], p, q, k;
    for (p = 0; p < pre; p++)
        for (q = 0; q < post; q++) {
            const float *xs = x + p * K * post + q;
            float *ys = y + p * K * post + q, mx = xs[0], sum = 0.0f;
            for (k = 1; k < K; k++) mx = fmaxf(mx, xs[k * post]);
            for (k = 0; k < K; k++) sum += expf(xs[k * post] - mx);
            if (o->code == KWNN__O_SOFTMAX)
                for (k = 0; k < K; k++) ys[k * post] = expf(xs[k * post] - mx) / sum;
            else
                for (k = 0; k < K; k++) ys[k * post] = (xs[k * post] - mx) - logf(sum);
        }
}

static void kwnn__op_run(const kwnn_layer *L, const float *const *in, float *y, size_t batch)
{
    const struct kwnn__op *o = L->op_args;
    size_t b, i, r, idx[KWNN_MAX_DIMS], ridx[KWNN_MAX_DIMS];
    uint32_t k, na = o->n_args;
    for (b = 0; b < batch; b++) {
        const float *src[3];
        float *yb = y + b * o->count;
        ptrdiff_t off[3], roff[3];
        for (k = 0; k < na; k++) {
            src[k] = o->arg[k].in >= 0 ? in[o->arg[k].in] + b * o->arg[k].count : o->arg[k].k;
            off[k] = o->arg[k].off;
        }
        if (o->code == KWNN__O_SOFTMAX || o->code == KWNN__O_LOG_SOFTMAX) {
            kwnn__op_softmax(o, src[0], yb);
            continue;
        }
        if (o->code == KWNN__O_MASKING) { /* per row of the last axis: kept if any value differs */
            size_t last = o->rshape[0], j;
            for (i = 0; i < o->count; i += last) {
                int keep = 0;
                for (j = 0; j < last; j++) keep |= src[0][i + j] != o->lo;
                for (j = 0; j < last; j++) yb[i + j] = keep ? src[0][i + j] : 0.0f;
            }
            continue;
        }
        memset(idx, 0, sizeof idx);
        for (i = 0; i < o->count; i++) {
            if (o->rnd == 0) {
                float v[3] = {0.0f, 0.0f, 0.0f};
                for (k = 0; k < na; k++) v[k] = src[k][off[k]];
                yb[i] = kwnn__op_f(o, v[0], v[1], v[2]);
            } else { /* a sum (or max, min) over the reduced axes, in their order */
                float acc = o->code == KWNN__O_RMAX || o->code == KWNN__O_RMIN ? src[0][off[0]]
                            : o->code == KWNN__O_ALL                             ? 1.0f
                                                                                 : 0.0f;
                memset(ridx, 0, sizeof ridx);
                for (k = 0; k < na; k++) roff[k] = off[k];
                for (r = 0; r < o->rcount; r++) {
                    float x = src[0][roff[0]];
                    switch (o->code) {
                    case KWNN__O_MATMUL: acc += x * src[1][roff[1]]; break;
                    case KWNN__O_RMAX: acc = (x != x || x > acc) ? x : acc; break;
                    case KWNN__O_RMIN: acc = (x != x || x < acc) ? x : acc; break;
                    case KWNN__O_ANY: acc = (acc != 0.0f || x != 0.0f) ? 1.0f : 0.0f; break;
                    case KWNN__O_ALL: acc = (acc != 0.0f && x != 0.0f) ? 1.0f : 0.0f; break;
                    default: acc += x; break;
                    }
                    kwnn__op_next(ridx, o->rshape, o->rnd, roff, o->arg, na, 1);
                }
                if (o->has_init) acc = o->code == KWNN__O_RMAX ? fmaxf(acc, o->lo) : fminf(acc, o->lo);
                if (o->code == KWNN__O_STD || o->code == KWNN__O_VAR) { /* again: the squared deviations */
                    float mean = acc / (float)o->rcount;
                    memset(ridx, 0, sizeof ridx);
                    roff[0] = off[0];
                    for (acc = 0.0f, r = 0; r < o->rcount; r++) {
                        float dv = src[0][roff[0]] - mean;
                        acc += dv * dv;
                        kwnn__op_next(ridx, o->rshape, o->rnd, roff, o->arg, 1, 1);
                    }
                    acc /= (float)o->rcount;
                    yb[i] = o->code == KWNN__O_STD ? sqrtf(acc) : acc;
                } else {
                    yb[i] = o->code == KWNN__O_MEAN ? acc / (float)o->rcount : acc;
                }
            }
            kwnn__op_next(idx, o->shape, o->nd, off, o->arg, na, 0);
        }
    }
}

/* Operations per sample: every output once per operand, or once per reduced element. */
static uint64_t kwnn__op_cost(const kwnn_layer *L)
{
    const struct kwnn__op *o = L->op_args;
    uint64_t out = (uint64_t)L->out_count;
    if (o == NULL) return out;
    if (o->code == KWNN__O_SOFTMAX || o->code == KWNN__O_LOG_SOFTMAX) return kwnn__sat_mul(out, 4);
    if (o->rnd > 0) return kwnn__sat_add(kwnn__sat_mul(out, kwnn__sat_mul(o->rcount, o->n_args)), out);
    return kwnn__sat_mul(out, o->n_args > 0 ? o->n_args : 1);
}

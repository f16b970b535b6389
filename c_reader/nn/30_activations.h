/* ---- activations -------------------------------------------------------- */

typedef struct kwnn__act_name {
    const char *name;
    kwnn_act_kind kind;
    float a;
} kwnn__act_name;

static const kwnn__act_name kwnn__acts[] = {
    {"linear", KWNN_ACT_LINEAR, 0.0f},         {"relu", KWNN_ACT_RELU, 0.0f},
    {"relu6", KWNN_ACT_RELU6, 0.0f},           {"leaky_relu", KWNN_ACT_LEAKY_RELU, 0.2f},
    {"elu", KWNN_ACT_ELU, 1.0f},               {"selu", KWNN_ACT_SELU, 0.0f},
    {"celu", KWNN_ACT_CELU, 1.0f},             {"gelu", KWNN_ACT_GELU, 0.0f},
    {"sigmoid", KWNN_ACT_SIGMOID, 0.0f},       {"hard_sigmoid", KWNN_ACT_HARD_SIGMOID, 0.0f},
    {"log_sigmoid", KWNN_ACT_LOG_SIGMOID, 0.0f}, {"sparse_sigmoid", KWNN_ACT_SPARSE_SIGMOID, 0.0f},
    {"tanh", KWNN_ACT_TANH, 0.0f},             {"hard_tanh", KWNN_ACT_HARD_TANH, 0.0f},
    {"tanh_shrink", KWNN_ACT_TANH_SHRINK, 0.0f}, {"softmax", KWNN_ACT_SOFTMAX, 0.0f},
    {"log_softmax", KWNN_ACT_LOG_SOFTMAX, 0.0f}, {"softplus", KWNN_ACT_SOFTPLUS, 0.0f},
    {"softsign", KWNN_ACT_SOFTSIGN, 0.0f},     {"silu", KWNN_ACT_SILU, 0.0f},
    {"swish", KWNN_ACT_SILU, 0.0f},            {"hard_silu", KWNN_ACT_HARD_SILU, 0.0f},
    {"hard_swish", KWNN_ACT_HARD_SILU, 0.0f},  {"mish", KWNN_ACT_MISH, 0.0f},
    {"exponential", KWNN_ACT_EXPONENTIAL, 0.0f}, {"squareplus", KWNN_ACT_SQUAREPLUS, 4.0f},
    {"sparse_plus", KWNN_ACT_SPARSE_PLUS, 0.0f}, {"soft_shrink", KWNN_ACT_SOFT_SHRINK, 0.5f},
    {"hard_shrink", KWNN_ACT_HARD_SHRINK, 0.5f}};

#define KWNN__N_ACTS (sizeof kwnn__acts / sizeof kwnn__acts[0])

static void kwnn__act_init(kwnn_activation *a, kwnn_act_kind kind, float p)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->a = p;
}

static kwnn_result kwnn__act_layer(kwnn__ctx *c, const kwb_layer *L, kwnn__json cls, kwnn__json cfg,
                                   int *found, kwnn_activation *act);

/* An activation: null, a name, or an object (see the manual). */
static kwnn_result kwnn__activation(kwnn__ctx *c, const kwb_layer *L, kwnn__json v,
                                    kwnn_activation *act)
{
    size_t i;
    kwnn__json cls, cfg, name;
    int found = 0;
    kwnn_result r;
    kwnn__act_init(act, KWNN_ACT_LINEAR, 0.0f);
    if (kwnn__null(v)) return KWNN_OK;
    if (kwnn__is(v, '{')) {
        if (!kwnn__get(v, "class_name", &cls) || !kwnn__is(cls, '"'))
            return kwnn__bad_key(c, L, "activation", v, "a name or an object with a class_name");
        if (!kwnn__get(v, "config", &cfg)) cfg.p = cfg.e = v.e;
        if (kwnn__is(cfg, '"')) /* {"class_name": "function", "config": "gelu"} */
            return kwnn__activation(c, L, cfg, act);
        r = kwnn__act_layer(c, L, cls, cfg, &found, act); /* a layer used as an activation */
        if (r != KWNN_OK || found) return r;
        name = cls; /* {"class_name": "gelu", "config": {"approximate": true}} */
    } else if (kwnn__is(v, '"')) {
        name = v;
        cfg.p = cfg.e = v.e;
    } else {
        return kwnn__bad_key(c, L, "activation", v, "a name");
    }
    for (i = 0; i < KWNN__N_ACTS; i++)
        if (kwnn__jstr_is(name, kwnn__acts[i].name)) break;
    if (i == KWNN__N_ACTS) return kwnn__unsupported_value(c, L, "activation", name);
    kwnn__act_init(act, kwnn__acts[i].kind, kwnn__acts[i].a);
    if (act->kind == KWNN_ACT_HARD_SIGMOID && c->legacy) act->kind = KWNN_ACT_HARD_SIGMOID_K2;
    if (cfg.p < cfg.e) { /* arguments */
        double x;
        int b;
        if (!kwnn__is(cfg, '{')) return kwnn__bad_key(c, L, "activation config", cfg, "an object");
        switch (act->kind) {
        case KWNN_ACT_GELU:
            if ((r = kwnn__cfg_bool(c, L, cfg, "approximate", NULL, 0, &b)) != KWNN_OK) return r;
            if (b) act->kind = KWNN_ACT_GELU_TANH;
            break;
        case KWNN_ACT_RELU: {
            kwnn__json mv;
            double slope, thr;
            if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", 0.0, &slope)) != KWNN_OK ||
                (r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, 0.0, &thr)) != KWNN_OK)
                return r;
            act->a = (float)slope;
            act->c = (float)thr;
            if (kwnn__get(cfg, "max_value", &mv) && !kwnn__null(mv)) {
                if ((r = kwnn__cfg_num(c, L, cfg, "max_value", NULL, 0.0, &x)) != KWNN_OK) return r;
                act->b = (float)x;
                act->has_max = 1;
            }
            break;
        }
        case KWNN_ACT_LEAKY_RELU:
            if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", act->a, &x)) != KWNN_OK) return r;
            act->a = (float)x;
            break;
        case KWNN_ACT_ELU: case KWNN_ACT_CELU:
            if ((r = kwnn__cfg_num(c, L, cfg, "alpha", NULL, act->a, &x)) != KWNN_OK) return r;
            /* celu divides by alpha (Keras 3: max(x, 0) + alpha expm1(min(x, 0) / alpha)): an
               alpha that is 0 once rounded to float32 would give NaN, so refuse it */
            if (act->kind == KWNN_ACT_CELU && (float)x == 0.0f) {
                kwnn__bad_key(c, L, "alpha", cfg, "a non-zero alpha for celu");
                kwnn__m(c->net, " (it is 0 in float32)");
                return KWNN_ERR_BAD_CONFIG;
            }
            act->a = (float)x;
            break;
        case KWNN_ACT_SQUAREPLUS:
            if ((r = kwnn__cfg_num(c, L, cfg, "b", NULL, act->a, &x)) != KWNN_OK) return r;
            act->a = (float)x;
            break;
        case KWNN_ACT_SOFT_SHRINK: case KWNN_ACT_HARD_SHRINK:
            if ((r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, act->a, &x)) != KWNN_OK) return r;
            act->a = (float)x;
            break;
        default: break;
        }
    }
    return KWNN_OK;
}

/* The layer classes that are activations: ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU,
   Activation.  *found = 0 for any other class. */
static kwnn_result kwnn__act_layer(kwnn__ctx *c, const kwb_layer *L, kwnn__json cls, kwnn__json cfg,
                                   int *found, kwnn_activation *act)
{
    kwnn_result r;
    double x;
    kwnn__json v;
    *found = 1;
    kwnn__act_init(act, KWNN_ACT_LINEAR, 0.0f);
    if (cfg.p >= cfg.e) {
        static const char empty[] = "{}";
        cfg.p = empty;
        cfg.e = empty + 2;
    }
    if (!kwnn__is(cfg, '{')) return kwnn__bad_key(c, L, "config", cfg, "an object");
    if (kwnn__jstr_is(cls, "ReLU")) {
        double slope, thr;
        if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", NULL, 0.0, &slope)) != KWNN_OK ||
            (r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, 0.0, &thr)) != KWNN_OK)
            return r;
        kwnn__act_init(act, KWNN_ACT_RELU, (float)slope);
        act->c = (float)thr;
        if (kwnn__get(cfg, "max_value", &v) && !kwnn__null(v)) {
            if ((r = kwnn__cfg_num(c, L, cfg, "max_value", NULL, 0.0, &x)) != KWNN_OK) return r;
            act->b = (float)x;
            act->has_max = 1;
        }
    } else if (kwnn__jstr_is(cls, "LeakyReLU")) {
        if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", 0.3, &x)) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_LEAKY_RELU, (float)x);
    } else if (kwnn__jstr_is(cls, "ELU")) {
        if ((r = kwnn__cfg_num(c, L, cfg, "alpha", NULL, 1.0, &x)) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_ELU, (float)x);
    } else if (kwnn__jstr_is(cls, "ThresholdedReLU")) {
        if ((r = kwnn__cfg_num(c, L, cfg, "theta", NULL, 1.0, &x)) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_RELU, 0.0f);
        act->c = (float)x;
        if (act->c == 0.0f) act->kind = KWNN_ACT_RELU;
    } else if (kwnn__jstr_is(cls, "Softmax")) {
        if ((r = kwnn__last_axis(c, L, cfg, "axis")) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_SOFTMAX, 0.0f);
    } else if (kwnn__jstr_is(cls, "Activation")) {
        if (!kwnn__get(cfg, "activation", &v))
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "Activation config without 'activation'");
        return kwnn__activation(c, L, v, act);
    } else {
        *found = 0;
    }
    return KWNN_OK;
}


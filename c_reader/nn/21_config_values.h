/* ---- config values ------------------------------------------------------ */

static kwnn_result kwnn__bad_key(kwnn__ctx *c, const kwb_layer *L, const char *key, kwnn__json v,
                                 const char *want)
{
    kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key '");
    kwnn__m(c->net, key);
    kwnn__m(c->net, "' is ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 40 ? 40 : (size_t)(v.e - v.p));
    kwnn__m(c->net, ", expected ");
    kwnn__m(c->net, want);
    return KWNN_ERR_BAD_CONFIG;
}

static kwnn_result kwnn__unsupported_value(kwnn__ctx *c, const kwb_layer *L, const char *key,
                                           kwnn__json v)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
    return KWNN_ERR_UNSUPPORTED;
}

/* The first key of `keys` (NULL-terminated) present and not null. */
static int kwnn__key(kwnn__json cfg, const char *const *keys, const char **which, kwnn__json *v)
{
    for (; *keys != NULL; keys++)
        if (kwnn__get(cfg, *keys, v) && !kwnn__null(*v)) {
            *which = *keys;
            return 1;
        }
    return 0;
}

static kwnn_result kwnn__cfg_bool(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg,
                                  const char *k1, const char *k2, int dflt, int *out)
{
    const char *keys[3];
    const char *which;
    kwnn__json v;
    keys[0] = k1;
    keys[1] = k2;
    keys[2] = NULL;
    *out = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (!kwnn__bool(v, out)) return kwnn__bad_key(c, L, which, v, "true or false");
    return KWNN_OK;
}

static kwnn_result kwnn__cfg_num(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg,
                                 const char *k1, const char *k2, double dflt, double *out)
{
    const char *keys[3];
    const char *which;
    kwnn__json v;
    keys[0] = k1;
    keys[1] = k2;
    keys[2] = NULL;
    *out = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (!kwnn__num(v, out) || !(fabs(*out) <= 3.4e38)) return kwnn__bad_key(c, L, which, v, "a number");
    return KWNN_OK;
}

/* A positive size: an int, or a list of `n` ints (Keras writes kernel_size [3, 3]). */
static kwnn_result kwnn__cfg_sizes(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg,
                                   const char *const *keys, size_t n, size_t dflt, size_t *out)
{
    const char *which;
    kwnn__json v, el;
    kwnn__iter it;
    size_t i;
    long x;
    for (i = 0; i < n; i++) out[i] = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (kwnn__int(v, &x)) {
        if (x < 1 || (size_t)x > KWNN__DIM_LIMIT) return kwnn__bad_key(c, L, which, v, "a positive size");
        for (i = 0; i < n; i++) out[i] = (size_t)x;
        return KWNN_OK;
    }
    if (!kwnn__begin(v, '[', &it) || kwnn__count(v) != n) return kwnn__bad_key(c, L, which, v, "a list of sizes");
    for (i = 0; i < n && kwnn__next(&it, NULL, &el); i++) {
        if (!kwnn__int(el, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT)
            return kwnn__bad_key(c, L, which, v, "a list of positive sizes");
        out[i] = (size_t)x;
    }
    return KWNN_OK;
}

/* padding | border_mode: 0 valid, 1 same. */
static kwnn_result kwnn__padding(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int *same)
{
    static const char *const keys[] = {"padding", "border_mode", NULL};
    const char *which;
    kwnn__json v;
    *same = 0;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (kwnn__jstr_is(v, "valid")) return KWNN_OK;
    if (kwnn__jstr_is(v, "same")) {
        *same = 1;
        return KWNN_OK;
    }
    return kwnn__unsupported_value(c, L, which, v);
}

/* An axis of the full shape (batch included): -1, rank - 1, or [that]. */
static kwnn_result kwnn__last_axis(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key)
{
    kwnn__json v, el;
    kwnn__iter it;
    long axis;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__is(v, '[')) {
        if (kwnn__count(v) != 1 || !kwnn__begin(v, '[', &it) || !kwnn__next(&it, NULL, &el))
            return kwnn__unsupported_value(c, L, key, v);
    } else {
        el = v;
    }
    if (!kwnn__int(el, &axis)) return kwnn__bad_key(c, L, key, v, "an integer axis");
    if (axis == -1 || (axis > 0 && (size_t)axis == (size_t)c->nd)) return KWNN_OK;
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "only the last axis is supported, not ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 20 ? 20 : (size_t)(v.e - v.p));
    return KWNN_ERR_UNSUPPORTED;
}


/* ---- model configs: names and references -------------------------------- */

/* References to layers in an inbound_nodes / input_layers / output_layers
   structure: arrays whose first element is a string and the second a number
   (["dense", 0, 0] in every generation, Keras 3's keras_history included). */
static void kwnn__refs(kwnn__json v, int depth, size_t *count, kwnn__json *first)
{
    kwnn__iter it;
    kwnn__json el, k;
    if (depth > 70) return;
    if (kwnn__begin(v, '[', &it)) {
        kwnn__json e0, e1;
        kwnn__iter it2 = it;
        if (kwnn__next(&it2, NULL, &e0) && kwnn__is(e0, '"') && kwnn__next(&it2, NULL, &e1) &&
            e1.p < e1.e && (*e1.p == '-' || (*e1.p >= '0' && *e1.p <= '9'))) {
            if (*count == 0) *first = e0;
            (*count)++;
            return;
        }
        while (kwnn__next(&it, NULL, &el)) kwnn__refs(el, depth + 1, count, first);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) kwnn__refs(el, depth + 1, count, first);
    }
}

/* Append the decoded JSON string v (at most 80 bytes of it). */
static void kwnn__m_jstr(kwnn_net *net, kwnn__json v)
{
    const char *p = v.p + 1, *e = v.e - 1;
    size_t used = 0;
    if (!kwnn__is(v, '"') || v.e - v.p < 2) return;
    while (p < e && used < 80) {
        unsigned char buf[4];
        size_t k = kwnn__jchar(&p, e, buf);
        if (k == 0) return;
        kwnn__m_raw(net, (const char *)buf, k);
        used += k;
    }
}

/* The name of an entry of a model config's "layers" (Keras 1-3 keep it at the
   top or in its config). */
static int kwnn__entry_name(kwnn__json entry, kwnn__json *name)
{
    kwnn__json inner;
    if (kwnn__get(entry, "name", name) && kwnn__is(*name, '"')) return 1;
    return kwnn__get(entry, "config", &inner) && kwnn__get(inner, "name", name) && kwnn__is(*name, '"');
}

/* Pass 2: each layer's first child and next sibling (parents come first). */
static kwnn_result kwnn__link(kwnn__ctx *c)
{
    uint32_t i;
    for (i = 0; i <= c->n; i++) c->first_child[i] = c->last_child[i] = KWB_NONE;
    for (i = 0; i < c->n; i++) c->next_sibling[i] = KWB_NONE;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        uint32_t p;
        KWNN_PROBE(load_steps, 1);
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        p = L.parent == KWB_NONE ? c->n : L.parent;
        if (c->first_child[p] == KWB_NONE) c->first_child[p] = i;
        else c->next_sibling[c->last_child[p]] = i;
        c->last_child[p] = i;
    }
    return KWNN_OK;
}


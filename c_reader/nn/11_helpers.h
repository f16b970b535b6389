/* ---- small helpers ------------------------------------------------------ */

static int kwnn__mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > KWNN__SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static int kwnn__add(size_t a, size_t b, size_t *out)
{
    if (b > KWNN__SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

static int kwnn__prod(const size_t *dims, uint32_t n, size_t *out)
{
    size_t p = 1;
    uint32_t i;
    for (i = 0; i < n; i++)
        if (!kwnn__mul(p, dims[i], &p)) return 0;
    *out = p;
    return 1;
}

/* ---- the message buffer ------------------------------------------------- */

static void kwnn__m_raw(kwnn_net *net, const char *s, size_t n)
{
    size_t len = strlen(net->message), i;
    for (i = 0; i < n && s[i] != '\0' && len + 1 < KWNN_MESSAGE_SIZE; i++) {
        unsigned char ch = (unsigned char)s[i];
        net->message[len++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    net->message[len] = '\0';
}

static void kwnn__m(kwnn_net *net, const char *s) { kwnn__m_raw(net, s, strlen(s)); }

static void kwnn__m_u(kwnn_net *net, size_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[sizeof buf - 1 - (size_t)n] = (char)('0' + (int)(v % 10));
        v /= 10;
        n++;
    } while (v != 0 && n < 23);
    kwnn__m_raw(net, buf + sizeof buf - (size_t)n, (size_t)n);
}

static void kwnn__m_shape(kwnn_net *net, const size_t *dims, uint32_t n)
{
    uint32_t i;
    kwnn__m(net, "(");
    for (i = 0; i < n; i++) {
        if (i) kwnn__m(net, ", ");
        kwnn__m_u(net, dims[i]);
    }
    kwnn__m(net, n == 1 ? ",)" : ")");
}

/* Start a message: "layer 'NAME' (CLASS): " when a layer is given. */
static kwnn_result kwnn__fail(kwnn_net *net, kwnn_result code, const kwb_layer *L, const char *what)
{
    net->error = code;
    net->message[0] = '\0';
    if (L != NULL) {
        kwnn__m(net, "layer '");
        kwnn__m(net, L->name);
        kwnn__m(net, "' (");
        kwnn__m(net, L->class_name[0] ? L->class_name : "no class");
        kwnn__m(net, "): ");
    }
    kwnn__m(net, what);
    return code;
}


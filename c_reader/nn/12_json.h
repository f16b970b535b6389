/* ---- a JSON reader: spans over text kwbin.h has already validated -------- */

typedef struct kwnn__json {
    const char *p, *e; /* one value: [p, e), no surrounding whitespace */
} kwnn__json;

typedef struct kwnn__iter {
    const char *p, *e;
} kwnn__iter;

static int kwnn__isws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static const char *kwnn__ws(const char *p, const char *e)
{
    while (p < e && kwnn__isws(*p)) p++;
    return p;
}

/* Just past the string starting at p (a '"'), or NULL. */
static const char *kwnn__str_end(const char *p, const char *e)
{
    p++;
    while (p < e) {
        if (*p == '\\') {
            if (e - p < 2) return NULL;
            p += 2;
        } else if (*p == '"') {
            return p + 1;
        } else {
            p++;
        }
    }
    return NULL;
}

static int kwnn__isscalar(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '-' || ch == '+' || ch == '.';
}

/* Just past the value starting at p, or NULL.  Iterative: no recursion. */
static const char *kwnn__skip(const char *p, const char *e)
{
    size_t depth = 0;
    p = kwnn__ws(p, e);
    for (;;) {
        char ch;
        if (p >= e) return NULL;
        ch = *p;
        if (ch == '"') {
            p = kwnn__str_end(p, e);
            if (p == NULL) return NULL;
        } else if (ch == '{' || ch == '[') {
            depth++;
            p++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0) return NULL;
            depth--;
            p++;
        } else if (ch == ',' || ch == ':' || kwnn__isws(ch)) {
            if (depth == 0) return NULL;
            p++;
            continue;
        } else if (kwnn__isscalar(ch)) {
            while (p < e && kwnn__isscalar(*p)) p++;
        } else {
            return NULL;
        }
        if (depth == 0) return p;
    }
}

static int kwnn__is(kwnn__json v, char open) { return v.p < v.e && *v.p == open; }

static int kwnn__begin(kwnn__json v, char open, kwnn__iter *it)
{
    if (!kwnn__is(v, open)) return 0;
    it->p = v.p + 1;
    it->e = v.e;
    return 1;
}

/* Next member of an object (key != NULL) or element of an array. */
static int kwnn__next(kwnn__iter *it, kwnn__json *key, kwnn__json *val)
{
    const char *p = kwnn__ws(it->p, it->e), *q;
    if (p < it->e && *p == ',') p = kwnn__ws(p + 1, it->e);
    if (p >= it->e || *p == '}' || *p == ']') return 0;
    if (key != NULL) {
        if (*p != '"') return 0;
        q = kwnn__str_end(p, it->e);
        if (q == NULL) return 0;
        key->p = p;
        key->e = q;
        p = kwnn__ws(q, it->e);
        if (p >= it->e || *p != ':') return 0;
        p = kwnn__ws(p + 1, it->e);
    }
    q = kwnn__skip(p, it->e);
    if (q == NULL) return 0;
    val->p = p;
    val->e = q;
    it->p = q;
    return 1;
}

static int kwnn__hex4(const char *p, const char *e, unsigned long *out)
{
    unsigned long v = 0;
    int i;
    if (e - p < 4) return 0;
    for (i = 0; i < 4; i++) {
        char ch = p[i];
        unsigned long d;
        if (ch >= '0' && ch <= '9') d = (unsigned long)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') d = (unsigned long)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') d = (unsigned long)(ch - 'A' + 10);
        else return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* One character of a string body at *pp (< e), as UTF-8 bytes; 0 on error. */
static size_t kwnn__jchar(const char **pp, const char *e, unsigned char out[4])
{
    const char *p = *pp;
    unsigned long cp, lo;
    if (*p != '\\') {
        out[0] = (unsigned char)*p;
        *pp = p + 1;
        return 1;
    }
    if (e - p < 2) return 0;
    switch (p[1]) {
    case '"': case '\\': case '/': out[0] = (unsigned char)p[1]; break;
    case 'b': out[0] = 8; break;
    case 'f': out[0] = 12; break;
    case 'n': out[0] = 10; break;
    case 'r': out[0] = 13; break;
    case 't': out[0] = 9; break;
    case 'u':
        if (!kwnn__hex4(p + 2, e, &cp)) return 0;
        p += 6;
        if (cp >= 0xD800 && cp < 0xDC00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
            kwnn__hex4(p + 2, e, &lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        *pp = p;
        if (cp < 0x80) {
            out[0] = (unsigned char)cp;
            return 1;
        }
        if (cp < 0x800) {
            out[0] = (unsigned char)(0xC0 | (cp >> 6));
            out[1] = (unsigned char)(0x80 | (cp & 0x3F));
            return 2;
        }
        if (cp < 0x10000) {
            out[0] = (unsigned char)(0xE0 | (cp >> 12));
            out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            out[2] = (unsigned char)(0x80 | (cp & 0x3F));
            return 3;
        }
        out[0] = (unsigned char)(0xF0 | (cp >> 18));
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        return 4;
    default: return 0;
    }
    *pp = p + 2;
    return 1;
}

/* Is the JSON string v (quotes included) equal to the n bytes at s? */
static int kwnn__jstr_eq(kwnn__json v, const char *s, size_t n)
{
    const char *p, *e;
    size_t i = 0;
    if (v.e - v.p < 2 || *v.p != '"') return 0;
    p = v.p + 1;
    e = v.e - 1;
    while (p < e) {
        unsigned char buf[4];
        size_t k = kwnn__jchar(&p, e, buf);
        if (k == 0 || k > n - i || memcmp(s + i, buf, k) != 0) return 0;
        i += k;
    }
    return i == n;
}

static int kwnn__jstr_is(kwnn__json v, const char *s) { return kwnn__jstr_eq(v, s, strlen(s)); }

static int kwnn__get(kwnn__json obj, const char *key, kwnn__json *out)
{
    kwnn__iter it;
    kwnn__json k, v;
    if (!kwnn__begin(obj, '{', &it)) return 0;
    while (kwnn__next(&it, &k, &v))
        if (kwnn__jstr_is(k, key)) {
            *out = v;
            return 1;
        }
    return 0;
}

static int kwnn__null(kwnn__json v) { return v.e - v.p == 4 && memcmp(v.p, "null", 4) == 0; }

static int kwnn__bool(kwnn__json v, int *out)
{
    if (v.e - v.p == 4 && memcmp(v.p, "true", 4) == 0) *out = 1;
    else if (v.e - v.p == 5 && memcmp(v.p, "false", 5) == 0) *out = 0;
    else return 0;
    return 1;
}

/* A JSON number, without strtod (locale-free); within an ulp or two of the
   correctly rounded double, which is exact once rounded to float. */
static int kwnn__num(kwnn__json v, double *out)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = v.p, *e = v.e;
    unsigned long long mant = 0;
    int digits = 0, neg = 0;
    long exp10 = 0;
    double d;
    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9') return 0;
    while (p < e && *p >= '0' && *p <= '9') {
        if (digits < 19) {
            mant = mant * 10u + (unsigned)(*p - '0');
            if (mant != 0) digits++;
        } else {
            exp10++;
        }
        p++;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9') return 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10u + (unsigned)(*p - '0');
                if (mant != 0) digits++;
                exp10--;
            }
            p++;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        long ex = 0;
        int eneg = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= e || *p < '0' || *p > '9') return 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (ex < 100000) ex = ex * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -ex : ex;
    }
    if (p != e) return 0;
    d = (double)mant;
    if (d != 0.0) {
        while (exp10 > 22 && d < 1e300) {
            d *= 1e22;
            exp10 -= 22;
        }
        while (exp10 < -22 && d > 1e-300) {
            d /= 1e22;
            exp10 += 22;
        }
        if (exp10 > 22) d = HUGE_VAL;
        else if (exp10 < -22) d = 0.0;
        else if (exp10 >= 0) d *= p10[exp10];
        else d /= p10[-exp10];
    }
    *out = neg ? -d : d;
    return 1;
}

static int kwnn__int(kwnn__json v, long *out)
{
    double d;
    if (!kwnn__num(v, &d) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0) return 0;
    *out = (long)d;
    return 1;
}

/* The n-th element of an array (0-based), and the count. */
static size_t kwnn__count(kwnn__json arr)
{
    kwnn__iter it;
    kwnn__json v;
    size_t n = 0;
    if (!kwnn__begin(arr, '[', &it)) return 0;
    while (kwnn__next(&it, NULL, &v)) n++;
    return n;
}


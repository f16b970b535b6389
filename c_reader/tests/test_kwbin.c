/* Tests of c_reader/kwbin.h through its public API.

   build/test_kwbin                    run the unit tests (exit 0 when all pass)
   build/test_kwbin --verdicts         read file paths from stdin and print one
                                       verdict per line: "ok", "open:<error>" or
                                       "verify:<error>" (kwb_open_memory,
                                       kwb_open_memory_ex and kwb_open_path must
                                       agree, else "mismatch:..."; valid files
                                       are also read through every lookup)
   build/test_kwbin --json             for each line of hex on stdin, print
                                       "<is UTF-8><is a JSON object>" (0/1)
   build/test_kwbin --write-samples D  write files built here (unknown minor
                                       version, 10,000 tensors, ...) into D, for
                                       the Python reader to cross-check
   build/test_kwbin --bench-verify [MB] time kwb_verify over an in-memory file
   build/test_kwbin --open MODE FILE [N] open FILE N times with kwb_open_memory
                                       (MODE memory), _ex (memory_ex), _ex with
                                       kwb_options.work (work) or
                                       kwb_open_path (path): verdict, median s,
                                       work units of the memory-less checks

   Files are made by a small writer below (tb_build), independent of the
   reader: its own bitwise CRC-32 and layout code. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Count the default allocator's calls, to show kwb_open_memory makes none. */
static long g_default_allocs, g_default_frees;
static void *counting_malloc(size_t n)
{
    g_default_allocs++;
    return malloc(n);
}
static void counting_free(void *p)
{
    g_default_frees++;
    free(p);
}
#define KWBIN_MALLOC(size) counting_malloc(size)
#define KWBIN_FREE(ptr) counting_free(ptr)
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"

/* ---- a tiny test framework ---------------------------------------------- */

static int g_checks, g_failures;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        g_checks++;                                                                            \
        if (!(cond)) {                                                                         \
            g_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_RESULT(expr, want)                                                               \
    do {                                                                                       \
        kwb_result got_ = (expr);                                                              \
        g_checks++;                                                                            \
        if (got_ != (want)) {                                                                  \
            g_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s gave %s, expected %s\n", __FILE__, __LINE__, #expr,     \
                    kwb_result_string(got_), kwb_result_string(want));                         \
        }                                                                                      \
    } while (0)

static uint32_t f32_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- reference CRC-32 (bitwise, spec section 9) ------------------------- */

static uint32_t ref_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

/* ---- tb_build: a minimal independent writer ----------------------------- */

typedef struct tb_layer {
    const char *name, *class_name, *config;
    uint32_t parent;
} tb_layer;

typedef struct tb_tensor {
    const char *name;
    uint32_t layer;
    const char *weight, *source;
    kwb_dtype dtype;
    uint32_t ndim;
    uint64_t shape[8];
    const void *data; /* little-endian bytes; NULL: a byte pattern */
} tb_tensor;

typedef struct tb_spec {
    const tb_layer *layers;
    uint32_t layer_count;
    const tb_tensor *tensors;
    uint32_t tensor_count;
    const char *metadata;
    uint32_t alignment;
    /* A newer minor version: bigger header and records, an unknown section. */
    int minor;
} tb_spec;

static void put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}
static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}
static uint64_t up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static uint64_t tb_nbytes(const tb_tensor *t)
{
    uint64_t n = kwb_dtype_size(t->dtype);
    uint32_t d;
    for (d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* A canonical string table, as the spec requires: each distinct string once,
   in the order of its first reference (a small hash set of offsets). */
typedef struct tb_strings {
    unsigned char *data;
    size_t used, cap;
    uint32_t *slots; /* offset + 1, 0 = empty */
    size_t mask;
} tb_strings;

static uint32_t tb_intern(tb_strings *t, const char *s)
{
    size_t n = strlen(s), j;
    uint32_t h = 2166136261u;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) h = (h ^ *p++) * 16777619u;
    for (j = h & t->mask; t->slots[j]; j = (j + 1) & t->mask)
        if (strcmp((const char *)t->data + t->slots[j] - 1, s) == 0) return t->slots[j] - 1;
    while (t->used + n + 1 > t->cap) {
        t->cap = t->cap * 2 + 64;
        t->data = (unsigned char *)realloc(t->data, t->cap);
        if (!t->data) exit(2);
    }
    memcpy(t->data + t->used, s, n + 1);
    t->slots[j] = (uint32_t)t->used + 1;
    t->used += n + 1;
    return t->slots[j] - 1;
}

static unsigned char *tb_build(const tb_spec *s, size_t *size_out)
{
    const uint32_t header_size = s->minor ? 136 : 128, lrec = s->minor ? 48 : 40;
    const uint32_t trec = s->minor ? 128 : 120, extra = s->minor ? 24 : 0;
    uint64_t strings_size, layers_off, tensors_off, meta_off, payload_off, pos, meta_size;
    unsigned char *b, *strings;
    size_t total, slots = 2;
    uint32_t i, j, *refs = (uint32_t *)xmalloc(3 * ((size_t)s->layer_count + s->tensor_count) * 4);
    tb_strings tab = {NULL, 0, 0, NULL, 0};

    while (slots < 6 * ((size_t)s->layer_count + s->tensor_count)) slots <<= 1;
    tab.slots = (uint32_t *)calloc(slots, sizeof *tab.slots);
    if (!tab.slots) exit(2);
    tab.mask = slots - 1;
    for (i = 0; i < s->layer_count; i++) {
        refs[3 * i] = tb_intern(&tab, s->layers[i].name);
        refs[3 * i + 1] = tb_intern(&tab, s->layers[i].class_name);
        refs[3 * i + 2] = tb_intern(&tab, s->layers[i].config);
    }
    for (i = 0; i < s->tensor_count; i++) {
        uint32_t *r = refs + 3 * ((size_t)s->layer_count + i);
        r[0] = tb_intern(&tab, s->tensors[i].name);
        r[1] = tb_intern(&tab, s->tensors[i].weight);
        r[2] = tb_intern(&tab, s->tensors[i].source);
    }
    strings_size = tab.used;
    meta_size = strlen(s->metadata);
    layers_off = up(header_size + strings_size, 8);
    tensors_off = up(layers_off + (uint64_t)lrec * s->layer_count, 8);
    meta_off = up(tensors_off + (uint64_t)trec * s->tensor_count, 8);
    payload_off = up(meta_off + meta_size + extra, s->alignment);
    pos = payload_off;
    for (i = 0; i < s->tensor_count; i++) pos = up(pos + tb_nbytes(&s->tensors[i]), s->alignment);
    total = (size_t)pos;
    b = (unsigned char *)calloc(total, 1);
    if (!b) exit(2);
    strings = b + header_size;
    if (tab.used) memcpy(strings, tab.data, tab.used);
    free(tab.data);
    free(tab.slots);

    memcpy(b, "\x89KWB\r\n\x1a\n", 8);
    put32(b + 8, 0x01020304u);
    put16(b + 12, 1);
    put16(b + 14, (uint32_t)s->minor);
    put32(b + 16, header_size);
    put32(b + 20, s->minor ? 0x00010000u : 0); /* an optional flag a 1.0 reader ignores */
    put32(b + 24, s->alignment);
    put16(b + 28, lrec);
    put16(b + 30, trec);
    put64(b + 32, header_size);
    put64(b + 40, strings_size);
    put64(b + 48, layers_off);
    put64(b + 56, (uint64_t)lrec * s->layer_count);
    put64(b + 64, tensors_off);
    put64(b + 72, (uint64_t)trec * s->tensor_count);
    put64(b + 80, meta_off);
    put64(b + 88, meta_size);
    put64(b + 96, payload_off);
    put64(b + 104, pos - payload_off);
    if (s->minor) {
        memset(b + 112, 0x5A, 12);  /* reserved bytes given a meaning later */
        memset(b + 128, 0xA5, 8);   /* a header field this reader does not know */
        memset(b + meta_off + meta_size, 0x77, extra); /* an unknown section */
    }

    for (i = 0; i < s->layer_count; i++) {
        const tb_layer *l = &s->layers[i];
        unsigned char *r = b + layers_off + (uint64_t)lrec * i;
        uint32_t first = 0, count = 0;
        for (j = 0; j < s->tensor_count; j++)
            if (s->tensors[j].layer == i && count++ == 0) first = j;
        put32(r, refs[3 * i]);
        put32(r + 4, (uint32_t)strlen(l->name));
        put32(r + 8, refs[3 * i + 1]);
        put32(r + 12, (uint32_t)strlen(l->class_name));
        put32(r + 16, refs[3 * i + 2]);
        put32(r + 20, (uint32_t)strlen(l->config));
        put32(r + 24, l->parent);
        put32(r + 28, first);
        put32(r + 32, count);
        if (s->minor) memset(r + 36, 0x33, lrec - 36);
    }
    pos = payload_off;
    for (i = 0; i < s->tensor_count; i++) {
        const tb_tensor *t = &s->tensors[i];
        unsigned char *r = b + tensors_off + (uint64_t)trec * i;
        uint64_t nbytes = tb_nbytes(t), k;
        uint32_t d;
        const uint32_t *refs_t = refs + 3 * ((size_t)s->layer_count + i);
        put32(r, refs_t[0]);
        put32(r + 4, (uint32_t)strlen(t->name));
        put32(r + 8, refs_t[1]);
        put32(r + 12, (uint32_t)strlen(t->weight));
        put32(r + 16, refs_t[2]);
        put32(r + 20, (uint32_t)strlen(t->source));
        put32(r + 24, t->layer);
        r[28] = (unsigned char)t->dtype;
        r[29] = (unsigned char)t->ndim;
        put64(r + 40, pos);
        put64(r + 48, nbytes);
        for (d = 0; d < t->ndim; d++) put64(r + 56 + 8 * d, t->shape[d]);
        if (t->data) memcpy(b + pos, t->data, (size_t)nbytes);
        else
            for (k = 0; k < nbytes; k++) b[pos + k] = (unsigned char)((k * 131 + i * 7) >> 2);
        put32(r + 32, ref_crc32(0, b + pos, (size_t)nbytes));
        if (s->minor) {
            put16(r + 30, 0x1234);
            put32(r + 36, 0x55555555u);
            memset(r + 120, 0x44, trec - 120);
        }
        pos = up(pos + nbytes, s->alignment);
    }
    memcpy(b + meta_off, s->metadata, (size_t)meta_size);
    put32(b + 124, ref_crc32(ref_crc32(0, b, 124), b + 128, (size_t)payload_off - 128));
    free(refs);
    *size_out = total;
    return b;
}

/* Recomputes the header CRC after a test edited the tables. */
static void tb_fix_crc(unsigned char *b)
{
    uint64_t payload = 0;
    int k;
    for (k = 7; k >= 0; k--) payload = payload << 8 | b[96 + k];
    put32(b + 124, ref_crc32(ref_crc32(0, b, 124), b + 128, (size_t)payload - 128));
}

/* ---- the sample model used by several tests ----------------------------- */

static const unsigned char k_f16[] = {
    /* 0, -0, min subnormal, max subnormal, min normal, 1, -2, 65504, inf, -inf, qNaN, sNaN, 1/3 */
    0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0xFF, 0x03, 0x00, 0x04, 0x00, 0x3C, 0x00, 0xC0,
    0xFF, 0x7B, 0x00, 0x7C, 0x00, 0xFC, 0x00, 0x7E, 0x01, 0x7C, 0x55, 0x35};
static const uint32_t k_f16_bits[] = {0x00000000u, 0x80000000u, 0x33800000u, 0x387FC000u,
                                      0x38800000u, 0x3F800000u, 0xC0000000u, 0x477FE000u,
                                      0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F802000u,
                                      0x3EAAA000u};
/* bfloat16: 1, -3, inf, a subnormal, a NaN with payload */
static const unsigned char k_bf16[] = {0x80, 0x3F, 0x40, 0xC0, 0x80, 0x7F, 0x01, 0x00, 0xC1, 0xFF};
static const uint32_t k_bf16_bits[] = {0x3F800000u, 0xC0400000u, 0x7F800000u, 0x00010000u,
                                       0xFFC10000u};
/* float64: 1.5, -0.25, 0.1, 1e-50, 1e300, -inf, FLT_MAX exactly, NaN */
static const unsigned char k_f64[] = {
    0, 0, 0, 0, 0, 0, 0xF8, 0x3F,                   /* 1.5 */
    0, 0, 0, 0, 0, 0, 0xD0, 0xBF,                   /* -0.25 */
    0x9A, 0x99, 0x99, 0x99, 0x99, 0x99, 0xB9, 0x3F, /* 0.1 */
    0x9A, 0x97, 0x20, 0x8A, 0x02, 0x52, 0x60, 0x35, /* 1e-50 */
    0x9C, 0x75, 0x88, 0x3C, 0xE4, 0x37, 0x7E, 0x7E, /* 1e300 */
    0, 0, 0, 0, 0, 0, 0xF0, 0xFF,                   /* -inf */
    0, 0, 0, 0xE0, 0xFF, 0xFF, 0xEF, 0x47,          /* FLT_MAX */
    0, 0, 0, 0, 0, 0, 0xF8, 0x7F,                   /* NaN */
};
static const uint32_t k_f64_bits[] = {0x3FC00000u, 0xBE800000u, 0x3DCCCCCDu, 0x00000000u,
                                      0x7F800000u, 0xFF800000u, 0x7F7FFFFFu, 0x7FC00000u};
static const unsigned char k_f32[] = {0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0, 0, 0, 0x40, 0x40};

static const tb_layer k_layers[] = {
    {"input", "InputLayer", "", KWB_NONE},
    {"d\xc3\xa9nse", "Dense", "{\"units\": 3, \"nested\": [[{}]]}", KWB_NONE},
    {"block", "Functional", "{}", KWB_NONE},
    {"block/\xe6\x97\xa5\xe6\x9c\xac", "Conv2D", "", 2},
};
static const tb_tensor k_tensors[] = {
    {"d\xc3\xa9nse/kernel", 1, "kernel", "/model_weights/dense/kernel:0", KWB_FLOAT32, 1, {3}, k_f32},
    {"d\xc3\xa9nse/bias", 1, "bias", "", KWB_FLOAT16, 1, {13}, k_f16},
    {"block/\xe6\x97\xa5\xe6\x9c\xac/w", 3, "w", "", KWB_BFLOAT16, 2, {5, 1}, k_bf16},
    {"block/\xe6\x97\xa5\xe6\x9c\xac/b", 3, "b", "", KWB_FLOAT64, 3, {2, 2, 2}, k_f64},
    {"step", KWB_NONE, "", "", KWB_INT64, 0, {0}, NULL},
    {"empty", KWB_NONE, "", "", KWB_FLOAT32, 2, {0, 7}, NULL},
    {"flags", KWB_NONE, "", "", KWB_BOOL, 1, {3}, "\1\0\1"},
};

static unsigned char *sample(size_t *size, int minor)
{
    tb_spec s;
    memset(&s, 0, sizeof s);
    s.layers = k_layers;
    s.layer_count = 4;
    s.tensors = k_tensors;
    s.tensor_count = 7;
    s.metadata = "{\"producer\": \"test_kwbin\", \"user\": {\"caf\xc3\xa9\": [1, 2.5e3, null]}}";
    s.alignment = 64;
    s.minor = minor;
    return tb_build(&s, size);
}

/* A file of n small float32 tensors, tensor i named "t<i>" in layer i/4. */
/* `last_name`, `weight5`: if not NULL, tensor n-1's name and tensor 5's
   weight name (to make duplicates with a canonical string table). */
static unsigned char *many_named(uint32_t n, size_t *size, const char *last_name, const char *weight5)
{
    tb_layer *layers = (tb_layer *)xmalloc(sizeof(tb_layer) * (n / 4 + 1));
    tb_tensor *tensors = (tb_tensor *)xmalloc(sizeof(tb_tensor) * n);
    char *names = (char *)xmalloc((size_t)n * 24 + (n / 4 + 1) * 16);
    char *p = names;
    static const char *const weights[4] = {"kernel", "bias", "gamma", "beta"};
    unsigned char *b;
    tb_spec s;
    uint32_t i;
    for (i = 0; i < n / 4 + 1; i++) {
        sprintf(p, "layer%lu", (unsigned long)i);
        layers[i].name = p;
        layers[i].class_name = "Dense";
        layers[i].config = "";
        layers[i].parent = KWB_NONE;
        p += strlen(p) + 1;
    }
    for (i = 0; i < n; i++) {
        memset(&tensors[i], 0, sizeof tensors[i]);
        sprintf(p, "t%lu", (unsigned long)i);
        tensors[i].name = p;
        tensors[i].layer = i / 4;
        tensors[i].weight = weights[i % 4];
        tensors[i].source = "";
        tensors[i].dtype = KWB_FLOAT32;
        tensors[i].ndim = 1;
        tensors[i].shape[0] = 1;
        p += strlen(p) + 1;
    }
    if (last_name) tensors[n - 1].name = last_name;
    if (weight5) tensors[5].weight = weight5;
    memset(&s, 0, sizeof s);
    s.layers = layers;
    s.layer_count = n / 4 + 1;
    s.tensors = tensors;
    s.tensor_count = n;
    s.metadata = "{}";
    s.alignment = 16;
    b = tb_build(&s, size);
    free(layers);
    free(tensors);
    free(names);
    return b;
}

static unsigned char *many(uint32_t n, size_t *size) { return many_named(n, size, NULL, NULL); }

/* The string reference field at byte `field` of tensor record i. */
static unsigned char *tensor_field(unsigned char *b, uint32_t i, size_t field)
{
    uint64_t off = 0;
    int k;
    for (k = 7; k >= 0; k--) off = off << 8 | b[64 + k];
    return b + off + (size_t)i * 120 + field;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_result_strings(void)
{
    static const char *const want[] = {
        "ok",           "not_kwbin",       "truncated",      "byte_order",    "version",
        "bad_header",   "bad_alignment",   "bad_section",    "trailing_bytes", "header_checksum",
        "bad_string",   "bad_metadata",    "bad_layer",      "bad_tensor",    "size_overflow",
        "tensor_overlap", "tensor_gap",    "bad_payload",    "duplicate_name", "bad_padding",
        "tensor_checksum", "io",           "out_of_memory",  "invalid_argument", "not_found",
        "unsupported_dtype", "needs_memory"};
    int i;
    CHECK(KWB_OK == 0);
    CHECK(KWB_ERR_UNSUPPORTED_DTYPE == 25 && KWB_ERR_NEEDS_MEMORY == 26); /* values never change */
    for (i = 0; i <= (int)KWB_ERR_NEEDS_MEMORY; i++)
        CHECK(strcmp(kwb_result_string((kwb_result)i), want[i]) == 0);
    CHECK(strcmp(kwb_result_string((kwb_result)27), "unknown") == 0);
    CHECK(strcmp(kwb_dtype_name(KWB_BFLOAT16), "bfloat16") == 0);
    CHECK(strcmp(kwb_dtype_name(KWB_BOOL), "bool") == 0);
    CHECK(kwb_dtype_name((kwb_dtype)0) == NULL && kwb_dtype_name((kwb_dtype)14) == NULL);
    CHECK(kwb_dtype_size(KWB_FLOAT64) == 8 && kwb_dtype_size(KWB_UINT16) == 2);
    CHECK(kwb_dtype_size((kwb_dtype)14) == 0);
}

static void test_crc(void)
{
    size_t n = (1u << 20) + 13, i, len;
    unsigned char *buf = (unsigned char *)xmalloc(n);
    uint32_t seed = 12345;
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
    CHECK(kwb_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(kwb_crc32(0, NULL, 0) == 0);
    for (len = 0; len < 300; len++) /* every tail length, odd starts */
        CHECK(kwb_crc32(0, buf + 3, len) == ref_crc32(0, buf + 3, len));
    for (len = 16380; len < 16400; len++) /* around the four-lane threshold */
        CHECK(kwb_crc32(0, buf + 1, len) == ref_crc32(0, buf + 1, len));
    CHECK(kwb_crc32(0, buf, n) == ref_crc32(0, buf, n));
    CHECK(kwb_crc32(kwb_crc32(0, buf, 100001), buf + 100001, n - 100001) == ref_crc32(0, buf, n));
    free(buf);
}

/* Spec section 13, byte for byte. */
static const unsigned char k_spec_example[384] = {
    0x89, 0x4b, 0x57, 0x42, 0x0d, 0x0a, 0x1a, 0x0a, 0x04, 0x03, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x28, 0x00, 0x78, 0x00,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x70, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8f, 0xad, 0xc5, 0x88,
    0x64, 0x00, 0x44, 0x65, 0x6e, 0x73, 0x65, 0x00, 0x7b, 0x22, 0x75, 0x6e, 0x69, 0x74, 0x73, 0x22,
    0x3a, 0x32, 0x7d, 0x00, 0x64, 0x2f, 0x62, 0x00, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x56, 0x26, 0x87, 0xc3, 0x00, 0x00, 0x00, 0x00,
    0x70, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x7b, 0x22, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63, 0x65, 0x72, 0x22, 0x3a, 0x22, 0x65, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x22, 0x2c, 0x22, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63, 0x65, 0x72, 0x5f,
    0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x22, 0x3a, 0x22, 0x31, 0x22, 0x7d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_spec_example(void)
{
    kwb_file f;
    kwb_layer l;
    kwb_tensor t;
    float values[2];
    size_t meta_length;
    const char *meta;
    CHECK_RESULT(kwb_open_memory(&f, k_spec_example, sizeof k_spec_example), KWB_OK);
    CHECK(f.version_major == 1 && f.version_minor == 0 && f.alignment == 16);
    CHECK(kwb_layer_count(&f) == 1 && kwb_tensor_count(&f) == 1);
    CHECK_RESULT(kwb_get_layer(&f, 0, &l), KWB_OK);
    CHECK(strcmp(l.name, "d") == 0 && strcmp(l.class_name, "Dense") == 0);
    CHECK(strcmp(l.config, "{\"units\":2}") == 0 && l.config_length == 11);
    CHECK(l.parent == KWB_NONE && l.first_tensor == 0 && l.tensor_count == 1);
    CHECK_RESULT(kwb_find_weight(&f, "d", "b", &t), KWB_OK);
    CHECK(strcmp(t.name, "d/b") == 0 && t.layer == 0 && t.dtype == KWB_FLOAT32 && t.ndim == 1);
    CHECK(t.shape[0] == 2 && t.count == 2 && t.nbytes == 8 && t.offset == 0x170);
    CHECK(t.crc32 == 0xc3872656u && strcmp(t.source, "") == 0);
    CHECK_RESULT(kwb_copy_f32(&t, values, 2), KWB_OK);
    CHECK(values[0] == 1.0f && values[1] == -2.0f);
    meta = kwb_metadata(&f, &meta_length);
    CHECK(meta_length == 45 && memcmp(meta, "{\"producer\":\"example\"", 21) == 0);
    CHECK_RESULT(kwb_verify(&f), KWB_OK);
    kwb_close(&f);
}

static void check_lookups(const kwb_file *f)
{
    kwb_tensor t;
    kwb_layer l;
    CHECK_RESULT(kwb_find_tensor(f, "d\xc3\xa9nse/kernel", &t), KWB_OK);
    CHECK(t.index == 0 && t.layer == 1 && strcmp(t.weight, "kernel") == 0);
    CHECK(strcmp(t.source, "/model_weights/dense/kernel:0") == 0 && t.source_length == 29);
    CHECK_RESULT(kwb_find_weight(f, "block/\xe6\x97\xa5\xe6\x9c\xac", "b", &t), KWB_OK);
    CHECK(t.index == 3 && t.dtype == KWB_FLOAT64 && t.ndim == 3 && t.count == 8);
    CHECK_RESULT(kwb_find_weight(f, "d\xc3\xa9nse", "bias", &t), KWB_OK);
    CHECK(t.index == 1 && t.nbytes == 26);
    CHECK_RESULT(kwb_find_tensor(f, "step", &t), KWB_OK);
    CHECK(t.layer == KWB_NONE && t.ndim == 0 && t.count == 1 && t.nbytes == 8 && t.weight[0] == 0);
    CHECK_RESULT(kwb_find_tensor(f, "empty", &t), KWB_OK);
    CHECK(t.count == 0 && t.nbytes == 0 && t.shape[1] == 7);
    CHECK_RESULT(kwb_find_layer(f, "block/\xe6\x97\xa5\xe6\x9c\xac", &l), KWB_OK);
    CHECK(l.index == 3 && l.parent == 2 && l.first_tensor == 2 && l.tensor_count == 2);
    CHECK(strcmp(l.class_name, "Conv2D") == 0 && l.config_length == 0 && l.config[0] == 0);
    CHECK_RESULT(kwb_find_layer(f, "input", &l), KWB_OK);
    CHECK(l.tensor_count == 0);
    /* misses: unknown names, a weight of another layer, prefixes, the empty name */
    CHECK_RESULT(kwb_find_tensor(f, "dense/kernel", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_tensor(f, "d\xc3\xa9nse/kerne", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_tensor(f, "", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_weight(f, "d\xc3\xa9nse", "w", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_weight(f, "nope", "w", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_weight(f, "step", "", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_layer(f, "block/", &l), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_find_tensor(f, NULL, &t), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_get_tensor(f, 7, &t), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_get_layer(f, 4, &l), KWB_ERR_INVALID_ARGUMENT);
}

static void test_lookups(void)
{
    size_t size, need;
    unsigned char *b = sample(&size, 0);
    uint32_t *mem;
    kwb_file f;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
    check_lookups(&f); /* by scanning */
    need = kwb_index_size(&f);
    CHECK(need == 4 * (4 + 3 * 7 + 7 + 1)); /* layers + 3 tensors + room to sort + 1 */
    mem = (uint32_t *)xmalloc(need + 4);
    CHECK_RESULT(kwb_build_index(&f, mem, need - 4), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_build_index(&f, (char *)mem + 2, need), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_build_index(&f, mem, need), KWB_OK);
    check_lookups(&f); /* through the caller's index */
    kwb_close(&f);
    free(mem);
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, NULL), KWB_OK);
    CHECK(f.index_ != NULL);
    check_lookups(&f); /* through the allocated index */
    kwb_close(&f);
    free(b);
}

static void test_conversions(void)
{
    size_t size, i;
    unsigned char *b = sample(&size, 0);
    kwb_file f;
    kwb_tensor t;
    float out[16];
    const float *direct;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);

    CHECK_RESULT(kwb_get_tensor(&f, 0, &t), KWB_OK);
    direct = kwb_tensor_f32(&t);
    if (kwb__little_endian_host()) { /* b is malloc'd: aligned */
        CHECK(direct != NULL && (const void *)direct == t.data);
        CHECK(direct && direct[0] == 1.0f && direct[1] == -2.0f && direct[2] == 3.0f);
    } else { /* the bytes are little-endian: no zero-copy view */
        CHECK(direct == NULL);
    }
    CHECK_RESULT(kwb_copy_f32(&t, out, 3), KWB_OK);
    CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 3.0f);
    CHECK_RESULT(kwb_copy_f32(&t, out, 2), KWB_ERR_INVALID_ARGUMENT); /* too small */

    CHECK_RESULT(kwb_get_tensor(&f, 1, &t), KWB_OK);
    CHECK(kwb_tensor_f32(&t) == NULL);
    CHECK_RESULT(kwb_copy_f32(&t, out, 16), KWB_OK);
    for (i = 0; i < 13; i++) CHECK(f32_bits(out[i]) == k_f16_bits[i]);

    CHECK_RESULT(kwb_get_tensor(&f, 2, &t), KWB_OK);
    CHECK_RESULT(kwb_copy_f32(&t, out, 5), KWB_OK);
    for (i = 0; i < 5; i++) CHECK(f32_bits(out[i]) == k_bf16_bits[i]);

    CHECK_RESULT(kwb_get_tensor(&f, 3, &t), KWB_OK);
    CHECK_RESULT(kwb_copy_f32(&t, out, 8), KWB_OK);
    for (i = 0; i < 8; i++) CHECK(f32_bits(out[i]) == k_f64_bits[i]);

    CHECK_RESULT(kwb_get_tensor(&f, 4, &t), KWB_OK); /* int64 */
    CHECK(kwb_tensor_f32(&t) == NULL);
    CHECK_RESULT(kwb_copy_f32(&t, out, 16), KWB_ERR_UNSUPPORTED_DTYPE);
    CHECK_RESULT(kwb_get_tensor(&f, 5, &t), KWB_OK); /* empty float32 */
    CHECK_RESULT(kwb_copy_f32(&t, NULL, 0), KWB_OK);
    CHECK_RESULT(kwb_get_tensor(&f, 6, &t), KWB_OK); /* bool */
    CHECK(memcmp(t.data, "\1\0\1", 3) == 0);
    CHECK_RESULT(kwb_copy_f32(&t, out, 16), KWB_ERR_UNSUPPORTED_DTYPE);
    kwb_close(&f);

    /* kwb_tensor_f32 refuses a misaligned pointer; kwb_copy_f32 still works */
    {
        unsigned char *shifted = (unsigned char *)xmalloc(size + 1);
        memcpy(shifted + 1, b, size);
        CHECK_RESULT(kwb_open_memory(&f, shifted + 1, size), KWB_OK);
        CHECK_RESULT(kwb_get_tensor(&f, 0, &t), KWB_OK);
        CHECK(kwb_tensor_f32(&t) == NULL);
        CHECK_RESULT(kwb_copy_f32(&t, out, 3), KWB_OK);
        CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 3.0f);
        kwb_close(&f);
        free(shifted);
    }
    free(b);
}

static void test_verify(void)
{
    size_t size;
    unsigned char *b = sample(&size, 0);
    kwb_file f;
    kwb_tensor t0, t1;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
    CHECK_RESULT(kwb_verify(&f), KWB_OK);
    memset(&t0, 0, sizeof t0);
    memset(&t1, 0, sizeof t1);
    CHECK_RESULT(kwb_get_tensor(&f, 0, &t0), KWB_OK);
    CHECK_RESULT(kwb_get_tensor(&f, 1, &t1), KWB_OK);
    b[t1.offset + 3] ^= 0x40; /* tensor 1's data */
    CHECK_RESULT(kwb_verify(&f), KWB_ERR_TENSOR_CHECKSUM);
    CHECK_RESULT(kwb_verify_tensor(&f, 0), KWB_OK);
    b[t0.offset + t0.nbytes] = 1; /* tensor 0's padding: found first */
    CHECK_RESULT(kwb_verify(&f), KWB_ERR_BAD_PADDING);
    b[t0.offset + t0.nbytes] = 0;
    b[t1.offset + 3] ^= 0x40;
    b[size - 1] = 9; /* the last tensor's padding, at the very end of the file */
    CHECK_RESULT(kwb_verify(&f), KWB_ERR_BAD_PADDING);
    b[size - 1] = 0;
    CHECK_RESULT(kwb_verify(&f), KWB_OK);
    CHECK_RESULT(kwb_verify_tensor(&f, 7), KWB_ERR_INVALID_ARGUMENT);
    kwb_close(&f);
    free(b);
}

/* User allocator hooks that count through user_data. */
typedef struct counter {
    long allocs, frees;
} counter;
static void *user_alloc(size_t n, void *user)
{
    ((counter *)user)->allocs++;
    return malloc(n);
}
static void user_free(void *p, void *user)
{
    ((counter *)user)->frees++;
    free(p);
}
static void *failing_alloc(size_t n, void *user)
{
    (void)n;
    ((counter *)user)->allocs++;
    return NULL;
}

static void test_allocations(const char *tmpdir)
{
    size_t size;
    unsigned char *b = sample(&size, 0);
    uint32_t *mem;
    float out[16];
    kwb_file f;
    kwb_tensor t;
    kwb_options opt;
    counter c = {0, 0};
    char path[4096];
    FILE *fp;

    /* kwb_open_memory and everything after it: zero allocations */
    g_default_allocs = g_default_frees = 0;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
    CHECK_RESULT(kwb_find_weight(&f, "d\xc3\xa9nse", "bias", &t), KWB_OK);
    CHECK_RESULT(kwb_copy_f32(&t, out, 16), KWB_OK);
    CHECK_RESULT(kwb_verify(&f), KWB_OK);
    mem = (uint32_t *)xmalloc(kwb_index_size(&f));
    CHECK_RESULT(kwb_build_index(&f, mem, kwb_index_size(&f)), KWB_OK);
    CHECK_RESULT(kwb_find_tensor(&f, "flags", &t), KWB_OK);
    kwb_close(&f);
    free(mem);
    CHECK_RESULT(kwb_open_memory(&f, b, 100), KWB_ERR_TRUNCATED); /* failures too */
    CHECK(g_default_allocs == 0 && g_default_frees == 0);

    /* ... also for 10,000 tensors (the blocked duplicate check) */
    {
        size_t n;
        unsigned char *big = many(10000, &n);
        CHECK_RESULT(kwb_open_memory(&f, big, n), KWB_OK);
        kwb_close(&f);
        free(big);
        CHECK(g_default_allocs == 0);
    }

    /* kwb_open_memory_ex allocates through the hooks only, and frees it all */
    memset(&opt, 0, sizeof opt);
    opt.alloc_fn = user_alloc;
    opt.free_fn = user_free;
    opt.user_data = &c;
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_OK);
    /* scratch memory (all freed by the open), the lookup index (kept) */
    CHECK(c.allocs >= 2 && c.frees == c.allocs - 1);
    CHECK_RESULT(kwb_find_tensor(&f, "empty", &t), KWB_OK);
    kwb_close(&f);
    CHECK(c.allocs == c.frees && g_default_allocs == 0);

    opt.no_index = 1;
    c.allocs = c.frees = 0;
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_OK);
    CHECK(f.index_ == NULL && c.allocs >= 1 && c.frees == c.allocs);
    kwb_close(&f);

    /* A failing allocator: the open still succeeds, without the extras. */
    opt.no_index = 0;
    opt.alloc_fn = failing_alloc;
    c.allocs = c.frees = 0;
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_OK);
    CHECK(f.index_ == NULL && c.allocs >= 2 && c.frees == 0);
    CHECK_RESULT(kwb_find_weight(&f, "d\xc3\xa9nse", "kernel", &t), KWB_OK);
    kwb_close(&f);

    /* Half a pair of hooks is a mistake. */
    opt.free_fn = NULL;
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_ERR_INVALID_ARGUMENT);

    /* kwb_open_path: mapped, then read through the hooks */
    sprintf(path, "%s/sample.kwb", tmpdir);
    fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        fwrite(b, 1, size, fp);
        fclose(fp);
        opt.alloc_fn = user_alloc;
        opt.free_fn = user_free;
        c.allocs = c.frees = 0;
        CHECK_RESULT(kwb_open_path(&f, path, &opt), KWB_OK);
        check_lookups(&f);
        CHECK_RESULT(kwb_verify(&f), KWB_OK);
        kwb_close(&f);
        CHECK(c.allocs >= 2 && c.frees == c.allocs);
        opt.no_mmap = 1;
        c.allocs = c.frees = 0;
        CHECK_RESULT(kwb_open_path(&f, path, &opt), KWB_OK);
        CHECK(f.data == f.owned_data_);
        check_lookups(&f);
        kwb_close(&f);
        CHECK(c.allocs >= 3 && c.frees == c.allocs);
        /* a damaged file: the mapping/buffer is released by the failed open */
        b[130] ^= 1;
        fp = fopen(path, "wb");
        if (fp) {
            fwrite(b, 1, size, fp);
            fclose(fp);
        }
        b[130] ^= 1;
        c.allocs = c.frees = 0;
        CHECK_RESULT(kwb_open_path(&f, path, &opt), KWB_ERR_HEADER_CHECKSUM);
        CHECK(c.allocs == 1 && c.frees == 1);
        opt.no_mmap = 0;
        CHECK_RESULT(kwb_open_path(&f, path, &opt), KWB_ERR_HEADER_CHECKSUM);
        remove(path);
    }
    CHECK(g_default_allocs == 0);
    free(b);
}

/* The index sorts names by content (no hashing): names that are prefixes of
   one another, bytes above 0x7F, weight strings shared by many layers, and
   misses between them, through every way of looking up. */
static void test_index_order(void)
{
    enum { LAYERS = 512 };
    static const char *const weights[4] = {"k", "kernel", "kernel2", "\xc3\xa9"};
    tb_layer *layers = (tb_layer *)xmalloc(sizeof(tb_layer) * LAYERS);
    tb_tensor *tensors = (tb_tensor *)xmalloc(sizeof(tb_tensor) * 2 * LAYERS);
    char *names = (char *)xmalloc(LAYERS * 48), *p = names; /* 9 + 2 * 11 bytes a layer */
    static const char *const misses[] = {"", "c", "aaaaaaaaa", "abc", "t", "tc", "\xc3", "\xc3\xa9\xc3\xa9"};
    uint32_t i, n = 0, pass;
    unsigned char *b;
    size_t size;
    tb_spec s;
    /* every string over {a, b} of length 1 to 8 (each prefix also a name), then two more */
    for (i = 2; n < LAYERS - 2; i++, n++) {
        uint32_t bits = i, len = 0;
        while (bits >> (len + 1)) len++;
        for (bits = 0; bits < len; bits++) p[bits] = (char)((i >> (len - 1 - bits)) & 1 ? 'b' : 'a');
        p[len] = 0;
        layers[n].name = p;
        p += len + 1;
    }
    layers[n++].name = "\xc3\xa9";
    layers[n++].name = "z";
    for (i = 0; i < LAYERS; i++) {
        layers[i].class_name = "Dense";
        layers[i].config = "";
        layers[i].parent = KWB_NONE;
    }
    for (i = 0; i < 2 * LAYERS; i++) {
        memset(&tensors[i], 0, sizeof tensors[i]);
        sprintf(p, "t%s", layers[i / 2].name);
        if (i % 2) strcat(p, "/");
        tensors[i].name = p;
        p += strlen(p) + 1;
        tensors[i].layer = i / 2;
        tensors[i].weight = weights[(i / 2 + i % 2) % 4];
        tensors[i].source = "";
        tensors[i].dtype = KWB_FLOAT32;
        tensors[i].ndim = 1;
    }
    memset(&s, 0, sizeof s);
    s.layers = layers;
    s.layer_count = LAYERS;
    s.tensors = tensors;
    s.tensor_count = 2 * LAYERS;
    s.metadata = "{}";
    s.alignment = 16;
    b = tb_build(&s, &size);
    for (pass = 0; pass < 3; pass++) {
        kwb_file f;
        kwb_layer l;
        kwb_tensor t;
        uint32_t *mem = NULL;
        int ok = 1;
        size_t m;
        if (pass == 2) {
            CHECK_RESULT(kwb_open_memory_ex(&f, b, size, NULL), KWB_OK);
            CHECK(f.index_ != NULL);
        } else {
            CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
        }
        if (pass == 1) {
            mem = (uint32_t *)xmalloc(kwb_index_size(&f));
            CHECK_RESULT(kwb_build_index(&f, mem, kwb_index_size(&f)), KWB_OK);
        }
        for (i = 0; i < LAYERS; i++) {
            ok &= kwb_find_layer(&f, layers[i].name, &l) == KWB_OK && l.index == i;
            ok &= kwb_find_weight(&f, layers[i].name, weights[(i + 2) % 4], &t) == KWB_ERR_NOT_FOUND;
        }
        for (i = 0; i < 2 * LAYERS; i++) {
            ok &= kwb_find_tensor(&f, tensors[i].name, &t) == KWB_OK && t.index == i;
            ok &= kwb_find_weight(&f, layers[i / 2].name, tensors[i].weight, &t) == KWB_OK && t.index == i;
        }
        for (m = 0; m < sizeof misses / sizeof *misses; m++) {
            ok &= kwb_find_layer(&f, misses[m], &l) == KWB_ERR_NOT_FOUND;
            ok &= kwb_find_tensor(&f, misses[m], &t) == KWB_ERR_NOT_FOUND;
            ok &= kwb_find_weight(&f, "a", misses[m], &t) == KWB_ERR_NOT_FOUND;
        }
        ok &= kwb_find_weight(&f, "a", "ker", &t) == KWB_ERR_NOT_FOUND;
        ok &= kwb_find_weight(&f, "b", "kernel2", &t) == KWB_OK && t.index == 3;
        CHECK(ok);
        kwb_close(&f);
        free(mem);
    }
    free(b);
    free(names);
    free(tensors);
    free(layers);
}

static void test_many_tensors(void)
{
    size_t n, need;
    unsigned char *b = many(10000, &n);
    uint32_t *mem;
    kwb_file f;
    kwb_tensor t;
    uint32_t i;
    char name[32];
    int pass;
    for (pass = 0; pass < 3; pass++) {
        int ok = 1;
        mem = NULL;
        if (pass == 2) {
            CHECK_RESULT(kwb_open_memory_ex(&f, b, n, NULL), KWB_OK);
        } else {
            CHECK_RESULT(kwb_open_memory(&f, b, n), KWB_OK);
        }
        if (pass == 1) {
            need = kwb_index_size(&f);
            mem = (uint32_t *)xmalloc(need);
            CHECK_RESULT(kwb_build_index(&f, mem, need), KWB_OK);
        }
        for (i = 0; i < 10000; i += pass ? 1 : 97) { /* scanning is slow: sample it */
            static const char *const weights[4] = {"kernel", "bias", "gamma", "beta"};
            char layer[32];
            sprintf(name, "t%lu", (unsigned long)i);
            sprintf(layer, "layer%lu", (unsigned long)(i / 4));
            ok &= kwb_find_tensor(&f, name, &t) == KWB_OK && t.index == i;
            ok &= kwb_find_weight(&f, layer, weights[i % 4], &t) == KWB_OK && t.index == i;
        }
        CHECK(ok);
        CHECK_RESULT(kwb_find_tensor(&f, "t10000", &t), KWB_ERR_NOT_FOUND);
        CHECK_RESULT(kwb_find_weight(&f, "layer2500", "kernel", &t), KWB_ERR_NOT_FOUND);
        kwb_close(&f);
        free(mem);
    }

    /* Duplicates far apart, in both duplicate checks. */
    free(b);
    b = many_named(10000, &n, "t0", NULL); /* tensor 9999 is also named "t0" */
    CHECK_RESULT(kwb_open_memory(&f, b, n), KWB_ERR_DUPLICATE_NAME);
    CHECK_RESULT(kwb_open_memory_ex(&f, b, n, NULL), KWB_ERR_DUPLICATE_NAME);
    free(b);
    b = many_named(10000, &n, NULL, "kernel"); /* tensor 5 (layer 1) has a second "kernel" */
    CHECK_RESULT(kwb_open_memory(&f, b, n), KWB_ERR_DUPLICATE_NAME);
    CHECK_RESULT(kwb_open_memory_ex(&f, b, n, NULL), KWB_ERR_DUPLICATE_NAME);
    {   /* pointing tensor 9999's name at tensor 0's leaves "t9999" unreferenced */
        unsigned char *r0 = tensor_field(b, 0, 0), *r9 = tensor_field(b, 9999, 0);
        memcpy(r9, r0, 8);
        tb_fix_crc(b);
        CHECK_RESULT(kwb_open_memory(&f, b, n), KWB_ERR_BAD_STRING);
        CHECK_RESULT(kwb_open_memory_ex(&f, b, n, NULL), KWB_ERR_BAD_STRING);
    }
    free(b);
}

static void test_unknown_minor(void)
{
    size_t size;
    unsigned char *b = sample(&size, 1);
    kwb_file f;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
    CHECK(f.version_minor == 1);
    check_lookups(&f);
    CHECK_RESULT(kwb_verify(&f), KWB_OK);
    kwb_close(&f);
    b[14] = 0; /* claim 1.0: now the unknown bytes break the 1.0 rules */
    tb_fix_crc(b);
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_ERR_BAD_HEADER);
    free(b);
}

/* Metadata {"a":[[...]]} nested exactly `depth` deep: 64 is the limit. */
static void test_json_depth(void)
{
    static const tb_tensor one[1] = {{"x", KWB_NONE, "", "", KWB_UINT8, 0, {0}, "\7"}};
    int depth;
    for (depth = 62; depth <= 66; depth++) {
        char meta[200];
        tb_spec s;
        size_t size;
        unsigned char *b;
        kwb_file f;
        int k, n = sprintf(meta, "{\"a\":");
        for (k = 1; k < depth; k++) meta[n++] = '[';
        for (k = 1; k < depth; k++) meta[n++] = ']';
        meta[n++] = '}';
        meta[n] = 0;
        memset(&s, 0, sizeof s);
        s.tensors = one;
        s.tensor_count = 1;
        s.metadata = meta;
        s.alignment = 16;
        b = tb_build(&s, &size);
        CHECK_RESULT(kwb_open_memory(&f, b, size), depth <= 64 ? KWB_OK : KWB_ERR_BAD_METADATA);
        kwb_close(&f);
        free(b);
    }
}

static void test_api_errors(const char *tmpdir)
{
    kwb_file f;
    kwb_tensor t;
    char path[4096];
    FILE *fp;
    memset(&f, 0, sizeof f);
    kwb_close(&f); /* harmless on a zeroed file */
    kwb_close(NULL);
    CHECK_RESULT(kwb_open_memory(NULL, "x", 1), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_open_memory(&f, NULL, 5), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_open_memory(&f, NULL, 0), KWB_ERR_TRUNCATED);
    CHECK_RESULT(kwb_open_memory(&f, "\x89KW", 3), KWB_ERR_TRUNCATED);
    CHECK_RESULT(kwb_open_memory(&f, "\x89KX", 3), KWB_ERR_NOT_KWBIN);
    CHECK_RESULT(kwb_open_memory(&f, "PK\3\4", 4), KWB_ERR_NOT_KWBIN);
    kwb_close(&f); /* harmless after a failed open */
    CHECK(kwb_layer_count(&f) == 0 && kwb_tensor_count(&f) == 0 && kwb_index_size(&f) == 0);
    CHECK_RESULT(kwb_verify(&f), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_get_tensor(&f, 0, &t), KWB_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(kwb_find_tensor(&f, "x", &t), KWB_ERR_NOT_FOUND);
    CHECK_RESULT(kwb_open_path(&f, NULL, NULL), KWB_ERR_INVALID_ARGUMENT);
    sprintf(path, "%s/does-not-exist.kwb", tmpdir);
    CHECK_RESULT(kwb_open_path(&f, path, NULL), KWB_ERR_IO);
    CHECK_RESULT(kwb_open_path(&f, tmpdir, NULL), KWB_ERR_IO);
#if defined(__unix__) || defined(__APPLE__)
    CHECK_RESULT(kwb_open_path(&f, "/dev/null", NULL), KWB_ERR_NOT_KWBIN);
#endif
    sprintf(path, "%s/empty.kwb", tmpdir);
    fp = fopen(path, "wb");
    if (fp) {
        fclose(fp);
        CHECK_RESULT(kwb_open_path(&f, path, NULL), KWB_ERR_TRUNCATED);
        remove(path);
    }
}

/* Does f->message contain `part`?  Prints it when not. */
static int says(const kwb_file *f, const char *part)
{
    if (strstr(f->message, part)) return 1;
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", f->message, part);
    return 0;
}

/* Every failed open says what it found where, and keeps it after failing. */
static void test_messages(const char *tmpdir)
{
    size_t size;
    unsigned char *b = sample(&size, 0);
    kwb_file f;
    char path[4096];
    kwb_tensor t;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
    CHECK(f.message[0] == '\0');
    kwb_close(&f);

    /* I/O: a missing file and a directory are told apart */
    sprintf(path, "%s/does-not-exist.kwb", tmpdir);
    CHECK_RESULT(kwb_open_path(&f, path, NULL), KWB_ERR_IO);
    CHECK(says(&f, path) && says(&f, "No such file"));
    CHECK(f.data == NULL && f.size == 0); /* everything else released */
    CHECK_RESULT(kwb_open_path(&f, tmpdir, NULL), KWB_ERR_IO);
    CHECK(says(&f, "is a directory") && !strstr(f.message, "No such file"));

    /* not_kwbin: the bytes found, and what they look like */
    CHECK_RESULT(kwb_open_memory(&f, "PK\3\4\24\0\0\0rest", 12), KWB_ERR_NOT_KWBIN);
    CHECK(says(&f, "offset 0: found 50 4b 03 04 14 00 00 00") && says(&f, "89 4b 57 42 0d 0a 1a 0a") &&
          says(&f, "ZIP"));
    CHECK_RESULT(kwb_open_memory(&f, "\x89HDF\r\n\x1a\n", 8), KWB_ERR_NOT_KWBIN);
    CHECK(says(&f, "HDF5"));
#if defined(__unix__) || defined(__APPLE__)
    CHECK_RESULT(kwb_open_path(&f, "/dev/null", NULL), KWB_ERR_NOT_KWBIN);
    CHECK(says(&f, "not a regular file"));
#endif
    CHECK_RESULT(kwb_open_memory(&f, b, 100), KWB_ERR_TRUNCATED);
    CHECK(says(&f, "100 bytes"));

    /* header CRC: both values */
    b[200] ^= 1;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_ERR_HEADER_CHECKSUM);
    CHECK(says(&f, "CRC-32") && says(&f, "0x"));
    b[200] ^= 1;

    /* table errors: the record, its index and the field */
    {
        unsigned char *r2 = tensor_field(b, 2, 24); /* tensor 2's layer */
        uint32_t saved = (uint32_t)r2[0];
        r2[0] = 9;
        tb_fix_crc(b);
        CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_ERR_BAD_TENSOR);
        CHECK(says(&f, "tensor 2 'block/\xe6\x97\xa5\xe6\x9c\xac/w': layer 9 does not exist (4 layers)"));
        r2[0] = (unsigned char)saved;
        r2 = tensor_field(b, 1, 8); /* tensor 1's weight reference: one byte off */
        r2[0]++;
        tb_fix_crc(b);
        CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_ERR_BAD_STRING);
        CHECK(says(&f, "tensor 1 weight (offset"));
        CHECK_RESULT(kwb_open_memory_ex(&f, b, size, NULL), KWB_ERR_BAD_STRING);
        CHECK(says(&f, "tensor 1 weight (offset"));
        r2[0]--;
        tb_fix_crc(b);
    }

    /* the message outlives the failed open; kwb_close clears it */
    CHECK_RESULT(kwb_open_memory(&f, b, 3), KWB_ERR_TRUNCATED);
    CHECK(f.message[0] != '\0');
    CHECK_RESULT(kwb_find_tensor(&f, "x", &t), KWB_ERR_NOT_FOUND);
    kwb_close(&f);
    CHECK(f.message[0] == '\0');
    free(b);
}

/* kwb_options.verify: the open checks every CRC-32 and names the tensor. */
static void test_verify_on_open(const char *tmpdir)
{
    size_t size;
    unsigned char *b = sample(&size, 0);
    kwb_file f;
    kwb_tensor t1;
    kwb_options opt;
    char path[4096];
    FILE *fp;
    memset(&opt, 0, sizeof opt);
    opt.verify = 1;
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK);
    CHECK_RESULT(kwb_get_tensor(&f, 1, &t1), KWB_OK);
    kwb_close(&f);
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_OK);
    kwb_close(&f);
    b[t1.offset + 3] ^= 0x40; /* tensor 1's data */
    CHECK_RESULT(kwb_open_memory(&f, b, size), KWB_OK); /* not checked without the option */
    kwb_close(&f);
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_ERR_TENSOR_CHECKSUM);
    CHECK(says(&f, "tensor 1 'd\xc3\xa9nse/bias'") && says(&f, "the record says 0x"));
    CHECK(f.data == NULL);
    b[t1.offset + 3] ^= 0x40;
    b[t1.offset + t1.nbytes] = 1; /* its padding */
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_ERR_BAD_PADDING);
    CHECK(says(&f, "tensor 1 'd\xc3\xa9nse/bias'") && says(&f, "padding"));
    b[t1.offset + t1.nbytes] = 0;
    b[t1.offset + 3] ^= 0x40;
    sprintf(path, "%s/verify.kwb", tmpdir);
    fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        fwrite(b, 1, size, fp);
        fclose(fp);
        CHECK_RESULT(kwb_open_path(&f, path, &opt), KWB_ERR_TENSOR_CHECKSUM);
        CHECK(says(&f, "tensor 1 'd\xc3\xa9nse/bias'"));
        opt.verify = 0;
        CHECK_RESULT(kwb_open_path(&f, path, &opt), KWB_OK);
        kwb_close(&f);
        remove(path);
    }
    free(b);
}

/* kwb_options.work: the scratch memory comes from the caller, nothing is
   allocated, and the verdicts are those of the allocating open. */
static void test_work_memory(void)
{
    size_t size, need, n;
    unsigned char *b = sample(&size, 0), *big = many(10000, &n), *work;
    kwb_file f;
    kwb_tensor t;
    kwb_options opt;
    counter c = {0, 0};
    need = kwb_open_work_size(big, n);
    CHECK(need > 0 && need <= KWB_WORK_SIZE_MAX(n));
    CHECK(kwb_open_work_size(b, size) <= KWB_WORK_SIZE_MAX(size));
    CHECK(kwb_open_work_size(b, 100) == 0 && kwb_open_work_size(NULL, 0) == 0);
    work = (unsigned char *)xmalloc(need + 1);
    memset(&opt, 0, sizeof opt);
    opt.alloc_fn = failing_alloc; /* counts any call */
    opt.free_fn = user_free;
    opt.user_data = &c;
    opt.work = work + 1; /* any alignment */
    opt.work_size = need;
    opt.no_index = 1;
    g_default_allocs = 0;
    CHECK_RESULT(kwb_open_memory_ex(&f, big, n, &opt), KWB_OK);
    CHECK(f.index_ == NULL);
    CHECK_RESULT(kwb_find_tensor(&f, "t9999", &t), KWB_OK);
    kwb_close(&f);
    CHECK_RESULT(kwb_open_memory_ex(&f, b, size, &opt), KWB_OK);
    kwb_close(&f);
    CHECK(c.allocs == 0 && g_default_allocs == 0);
    /* all of it is used: with one byte less some check goes without */
    opt.work_size = 16;
    CHECK_RESULT(kwb_open_memory_ex(&f, big, n, &opt), KWB_OK);
    kwb_close(&f);
    CHECK(c.allocs == 0);
    free(big);
    big = many_named(10000, &n, "t0", NULL); /* a duplicate far away */
    opt.work_size = need;
    CHECK_RESULT(kwb_open_memory_ex(&f, big, n, &opt), KWB_ERR_DUPLICATE_NAME);
    CHECK(says(&f, "tensors 0 and 9999 are both named 't0'"));
    CHECK_RESULT(kwb_open_memory(&f, big, n), KWB_ERR_DUPLICATE_NAME);
    CHECK(says(&f, "tensors 0 and 9999 are both named 't0'"));
    CHECK(c.allocs == 0);
    free(work);
    free(big);
    free(b);
}

/* ---- modes for the Python tests ------------------------------------------ */

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *b;
    long n;
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    b = (unsigned char *)xmalloc((size_t)n); /* exactly n bytes: sanitizers see overreads */
    if (n && fread(b, 1, (size_t)n, fp) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    *size = (size_t)n;
    return b;
}

/* Reads everything an opened file offers, cross-checking the lookups. */
static int consistent(const kwb_file *f)
{
    uint32_t i;
    int ok = 1;
    for (i = 0; i < kwb_layer_count(f); i++) {
        kwb_layer l, m;
        if (kwb_get_layer(f, i, &l) != KWB_OK) return 0;
        ok &= kwb_find_layer(f, l.name, &m) == KWB_OK && m.index == i;
        ok &= strlen(l.name) == l.name_length && strlen(l.config) == l.config_length;
    }
    for (i = 0; i < kwb_tensor_count(f); i++) {
        kwb_tensor t, u;
        if (kwb_get_tensor(f, i, &t) != KWB_OK) return 0;
        ok &= kwb_find_tensor(f, t.name, &u) == KWB_OK && u.index == i;
        if (t.layer != KWB_NONE) {
            kwb_layer l;
            if (kwb_get_layer(f, t.layer, &l) != KWB_OK) return 0;
            ok &= kwb_find_weight(f, l.name, t.weight, &u) == KWB_OK && u.index == i;
        }
        if (t.dtype <= KWB_FLOAT64) {
            float *out = (float *)xmalloc((size_t)t.count * sizeof(float));
            ok &= kwb_copy_f32(&t, out, (size_t)t.count) == KWB_OK;
            free(out);
        }
    }
    return ok;
}

/* A verdict as one number: 0 ok, r at open, 100 + r at verify. */
static int open_and_verify(kwb_file *f, kwb_result r, int *ok)
{
    int verdict = (int)r;
    if (r == KWB_OK && (r = kwb_verify(f)) != KWB_OK) verdict = 100 + (int)r;
    if (verdict == 0) *ok &= consistent(f);
    kwb_close(f);
    return verdict;
}

static const char *verdict_stage(int v) { return v == 0 ? "" : v < 100 ? "open:" : "verify:"; }
static const char *verdict_code(int v) { return kwb_result_string((kwb_result)(v % 100)); }

static int verdicts(void)
{
    char path[4096];
    while (fgets(path, sizeof path, stdin)) {
        size_t size = 0, len = strlen(path);
        unsigned char *b;
        kwb_file f;
        int a, c, p, ok = 1;
        if (len && path[len - 1] == '\n') path[--len] = 0;
        if (!len) continue;
        b = read_all(path, &size);
        if (!b) {
            printf("unreadable\n");
            continue;
        }
        a = open_and_verify(&f, kwb_open_memory(&f, b, size), &ok);
        c = open_and_verify(&f, kwb_open_memory_ex(&f, b, size, NULL), &ok);
        p = open_and_verify(&f, kwb_open_path(&f, path, NULL), &ok);
        if (a != c || a != p)
            printf("mismatch:%s%s:%s%s:%s%s\n", verdict_stage(a), verdict_code(a), verdict_stage(c),
                   verdict_code(c), verdict_stage(p), verdict_code(p));
        else if (!ok)
            printf("inconsistent\n");
        else
            printf("%s%s\n", verdict_stage(a), verdict_code(a));
        free(b);
    }
    return 0;
}

/* For each line of hex on stdin, "<utf8><json>": whether the bytes are
   UTF-8 (spec step 11) and whether they are also a JSON object (step 12),
   through the header's private checkers. */
static int json_verdicts(void)
{
    static char line[1 << 20];
    static unsigned char text[1 << 19];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = 0, i;
        int utf8;
        for (i = 0; line[i] && line[i + 1] && line[i] != '\n'; i += 2) {
            unsigned hi, lo;
            if (sscanf(line + i, "%1x%1x", &hi, &lo) != 2) break;
            text[n++] = (unsigned char)(hi << 4 | lo);
        }
        utf8 = kwb__utf8_valid(text, n);
        printf("%d%d\n", utf8, utf8 && kwb__json_object(text, n));
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const unsigned char *b, size_t n)
{
    char path[4096];
    FILE *fp;
    sprintf(path, "%s/%s", dir, name);
    fp = fopen(path, "wb");
    if (!fp || fwrite(b, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

static int write_samples(const char *dir)
{
    size_t n;
    unsigned char *b;
    int failed = 0;
    b = sample(&n, 0);
    failed |= write_file(dir, "c_sample.kwb", b, n);
    free(b);
    b = sample(&n, 1);
    failed |= write_file(dir, "c_sample_minor1.kwb", b, n);
    free(b);
    b = many(10000, &n);
    failed |= write_file(dir, "c_many.kwb", b, n);
    free(b);
    failed |= write_file(dir, "c_spec_example.kwb", k_spec_example, sizeof k_spec_example);
    return failed;
}

/* CPU seconds: verify is single-threaded and compute-bound. */
static double now(void) { return (double)clock() / CLOCKS_PER_SEC; }

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kwb_verify over a file of `mb` MiB (64 tensors), median of 7 runs. */
static int bench_verify(unsigned mb)
{
    tb_tensor tensors[64];
    char names[64][8];
    double times[7];
    size_t n;
    unsigned char *b;
    kwb_file f;
    tb_spec s;
    int i;
    for (i = 0; i < 64; i++) {
        memset(&tensors[i], 0, sizeof tensors[i]);
        sprintf(names[i], "w%d", i);
        tensors[i].name = names[i];
        tensors[i].layer = KWB_NONE;
        tensors[i].weight = tensors[i].source = "";
        tensors[i].dtype = KWB_UINT8;
        tensors[i].ndim = 1;
        tensors[i].shape[0] = (uint64_t)mb * 16384; /* mb MiB / 64 */
    }
    memset(&s, 0, sizeof s);
    s.tensors = tensors;
    s.tensor_count = 64;
    s.metadata = "{}";
    s.alignment = 64;
    b = tb_build(&s, &n);
    if (kwb_open_memory(&f, b, n) != KWB_OK) return 1;
    for (i = 0; i < 7; i++) {
        double t0 = now();
        kwb_result r = kwb_verify(&f);
        times[i] = now() - t0;
        if (r != KWB_OK) return 1;
    }
    qsort(times, 7, sizeof times[0], compare_double);
    printf("kwb_verify: %.1f MB in %.1f ms (median of 7): %.2f GB/s\n", (double)n / 1e6,
           times[3] * 1e3, (double)n / times[3] / 1e9);
    kwb_close(&f);
    free(b);
    return 0;
}

/* After an open: the lookup index (kwb_build_index if the open made none),
   then every layer, tensor and weight looked up by name, while the names
   looked up total at most 4 bytes per file byte (a lookup reads its name:
   a file whose every weight is a 1 MB name would make the caller's work,
   not the reader's, quadratic).  0 if all found. */
static int lookup_all(kwb_file *f)
{
    uint32_t *mem = NULL, i;
    uint64_t budget = 4 * (uint64_t)f->size;
    int ok = 1;
    if (!f->index_) {
        mem = (uint32_t *)xmalloc(kwb_index_size(f));
        ok = kwb_build_index(f, mem, kwb_index_size(f)) == KWB_OK;
    }
    for (i = 0; i < kwb_layer_count(f); i++) {
        kwb_layer l, found;
        ok &= kwb_get_layer(f, i, &l) == KWB_OK;
        if (l.name_length > budget) continue;
        budget -= l.name_length;
        ok &= kwb_find_layer(f, l.name, &found) == KWB_OK && found.index == i;
    }
    for (i = 0; i < kwb_tensor_count(f); i++) {
        kwb_tensor t, found;
        kwb_layer l;
        ok &= kwb_get_tensor(f, i, &t) == KWB_OK;
        if (t.name_length <= budget) {
            budget -= t.name_length;
            ok &= kwb_find_tensor(f, t.name, &found) == KWB_OK && found.index == i;
        }
        if (t.layer == KWB_NONE || kwb_get_layer(f, t.layer, &l) != KWB_OK ||
            (uint64_t)l.name_length + t.weight_length > budget)
            continue;
        budget -= (uint64_t)l.name_length + t.weight_length;
        ok &= kwb_find_weight(f, l.name, t.weight, &found) == KWB_OK && found.index == i;
    }
    kwb_close(f);
    free(mem);
    return ok ? 0 : 1;
}

/* --open MODE FILE [REPEAT]: open FILE REPEAT times (default 1) with
   kwb_open_memory, kwb_open_memory_ex, kwb_open_memory_ex with
   kwb_options.work of kwb_open_work_size bytes (MODE work; these three on the
   file read into memory once) or kwb_open_path; print the verdict, the
   median time of one open in seconds of processor time and the work units
   the last open spent in its memory-less checks (fails if memory or work
   allocated anything).  After the last open, if it succeeded, the lookup
   index and every name looked up (lookup_all: outside the time, inside the
   instruction count).  Used to count the work of an open (under valgrind)
   and by bench/bench_worst_open.py. */
static int open_one(const char *mode, const char *path, int repeat)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    double *times = (double *)xmalloc(sizeof(double) * (size_t)(repeat > 0 ? repeat : 1));
    kwb_result r = KWB_OK;
    uint64_t work = 0;
    kwb_options opt;
    int i, j;
    if (!fp || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    buf = (unsigned char *)xmalloc((size_t)size);
    if (fread(buf, 1, (size_t)size, fp) != (size_t)size) return 2;
    fclose(fp);
    /* work: the caller's scratch memory, nothing allocated during the open */
    memset(&opt, 0, sizeof opt);
    opt.work_size = kwb_open_work_size(buf, (size_t)size);
    opt.work = xmalloc(opt.work_size + 1);
    opt.no_index = 1;
    g_default_allocs = 0;
    for (i = 0; i < repeat; i++) {
        kwb_file f;
        clock_t t0 = clock(), t1;
        if (strcmp(mode, "memory") == 0) r = kwb_open_memory(&f, buf, (size_t)size);
        else if (strcmp(mode, "memory_ex") == 0) r = kwb_open_memory_ex(&f, buf, (size_t)size, NULL);
        else if (strcmp(mode, "work") == 0) r = kwb_open_memory_ex(&f, buf, (size_t)size, &opt);
        else r = kwb_open_path(&f, path, NULL);
        t1 = clock();
        work = f.work_done_;
        if (r == KWB_OK && i == repeat - 1 && lookup_all(&f) != 0) {
            fprintf(stderr, "%s: a lookup failed\n", path);
            return 1;
        }
        if (r == KWB_OK) kwb_close(&f);
        times[i] = (double)(t1 - t0) / CLOCKS_PER_SEC; /* processor time */
        for (j = i; j > 0 && times[j - 1] > times[j]; j--) { /* insertion sort */
            double t = times[j];
            times[j] = times[j - 1];
            times[j - 1] = t;
        }
    }
    /* the verdict, the time, and the units of the memory-less checks' budget spent */
    if (strcmp(mode, "path") != 0 && strcmp(mode, "memory_ex") != 0 && g_default_allocs) {
        fprintf(stderr, "%s: %ld allocations\n", mode, g_default_allocs);
        return 1;
    }
    printf("%s %.9f %llu\n", r == KWB_OK ? "ok" : kwb_result_string(r), times[repeat / 2],
           (unsigned long long)work);
    free(opt.work);
    free(times);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (argc >= 2 && strcmp(argv[1], "--verdicts") == 0) return verdicts();
    if (argc >= 2 && strcmp(argv[1], "--json") == 0) return json_verdicts();
    if (argc == 3 && strcmp(argv[1], "--write-samples") == 0) return write_samples(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "--bench-verify") == 0)
        return bench_verify(argc >= 3 ? (unsigned)atoi(argv[2]) : 200);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "--open") == 0)
        return open_one(argv[2], argv[3], argc == 5 && atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
    if (argc != 1) {
        fprintf(stderr, "usage: test_kwbin [--verdicts | --json | --write-samples DIR | --bench-verify [MB]"
                        " | --open memory|memory_ex|work|path FILE [REPEAT]]\n");
        return 2;
    }
    test_result_strings();
    test_crc();
    test_spec_example();
    test_lookups();
    test_conversions();
    test_verify();
    test_allocations(tmpdir);
    test_many_tensors();
    test_index_order();
    test_unknown_minor();
    test_json_depth();
    test_api_errors(tmpdir);
    test_messages(tmpdir);
    test_verify_on_open(tmpdir);
    test_work_memory();
    printf("test_kwbin: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures != 0;
}

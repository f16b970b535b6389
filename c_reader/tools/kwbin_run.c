/* kwbin-run [--verify|--no-verify] [--max-cost OPS] [--threads N] MODEL.kwb INPUT.npy OUTPUT.npy
   kwbin-run [--verify|--no-verify] [--max-cost OPS] [--threads N] MODEL.kwb IN1.npy [IN2.npy ...] -o OUT1.npy [-o OUT2.npy ...]
   Run a Keras network from its kwbin file alone (c_reader/kwbin_nn.h) on a
   batch.  The second form is for models with several inputs or outputs: the
   inputs and the outputs in the order of the model config's input_layers and
   output_layers (as many of each as the model has); every input has the
   same batch size.

   --max-cost OPS  refuse a network that costs more than OPS operations
                   (multiply-adds, compares, ...) per sample, as kwnn_load
                   counts them from the shapes (kwnn_cost_per_sample);
                   default 10^11 (about a minute per sample); 0: no cap.
   --threads N     run on N threads (1 to 64; default 1): a POSIX-threads
                   parallel_for (kwnn_pool.h) in kwnn_options; the outputs
                   are the same bits whatever N.

   INPUT.npy: float32 little-endian, C order ('<f4', fortran_order False),
   shape (batch, *input shape); .npy format versions 1.0, 2.0 and 3.0.  The
   header dict is parsed strictly: exactly the keys descr, fortran_order and
   shape, a tuple of non-negative integers; the data must be exactly
   batch x input floats, no more, no less.  OUTPUT.npy: float32, shape
   (batch, *output shape), version 1.0.  A model whose input shape has a
   None axis (time steps; the height and width of a fully convolutional
   net) takes its length from the .npy file (kwnn_run_shapes); a length
   the model cannot take is bad input (4), named in the message.

   The model file is opened with every check of the spec and, by default
   (--verify), every tensor's CRC-32 (--no-verify skips those; a damaged
   tensor is named), then the network is built.

   Errors: one line on stderr, "kwbin-run: error: FILE: what", and exit
       1  the model cannot be run: invalid or damaged kwbin file, no layer
          table, a layer without config, an unsupported layer or option,
          a cost per sample above --max-cost
       2  bad command line
       3  a file cannot be read or written
       4  bad input: not a .npy file, a malformed header, a dtype other than
          '<f4', Fortran order, a shape that is not (batch, *input shape),
          truncated or trailing data
   Never a crash: every size is checked before it is used. */
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include "kwnn_pool.h" /* beside this file */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_MODEL 1
#define EXIT_USAGE 2
#define EXIT_IO 3
#define EXIT_INPUT 4

#define DEFAULT_MAX_COST 100000000000ULL /* operations per sample */
#define USAGE \
    "usage: kwbin-run [--verify|--no-verify] [--max-cost OPS] [--threads N] MODEL.kwb INPUT.npy OUTPUT.npy | MODEL.kwb IN1.npy ... -o OUT1.npy ...\n"

/* Part of the error line: control characters (a newline in a file name or
   in a .npy key) become '?', so the message stays one line. */
static void put_clean(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, stderr);
    }
}

static int fail(int code, const char *file, const char *what, const char *detail)
{
    fputs("kwbin-run: error: ", stderr);
    if (file != NULL) {
        put_clean(file);
        fputs(": ", stderr);
    }
    put_clean(what);
    if (detail != NULL) {
        fputs(": ", stderr);
        put_clean(detail);
    }
    fputc('\n', stderr);
    return code;
}

/* ---- reading a whole file ------------------------------------------------ */

static int read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    *data = NULL;
    *size = 0;
    if (fp == NULL) return 0;
    for (;;) {
        size_t got;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *nbuf;
            if (ncap < cap) break;
            nbuf = (unsigned char *)realloc(buf, ncap);
            if (nbuf == NULL) break;
            buf = nbuf;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) break;
            fclose(fp);
            *data = buf;
            *size = len;
            return 1;
        }
    }
    fclose(fp);
    free(buf);
    return 0;
}

/* ---- .npy ---------------------------------------------------------------- */

#define NPY_MAX_DIMS 32

typedef struct npy {
    size_t ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;              /* elements */
    const unsigned char *data; /* count * 4 bytes, little-endian float32 */
} npy;

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A Python string literal in ' or " quotes, without escapes: [*s, *s + *n). */
static int py_string(const char **pp, const char *e, const char **s, size_t *n)
{
    const char *p = *pp, *q;
    char quote;
    if (p >= e || (*p != '\'' && *p != '"')) return 0;
    quote = *p++;
    for (q = p; q < e && *q != quote; q++)
        if (*q == '\\' || *q == '\n') return 0;
    if (q >= e) return 0;
    *s = p;
    *n = (size_t)(q - p);
    *pp = q + 1;
    return 1;
}

static int lit(const char **pp, const char *e, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(e - *pp) < n || memcmp(*pp, word, n) != 0) return 0;
    *pp += n;
    return 1;
}

static int py_int(const char **pp, const char *e, size_t *out)
{
    const char *p = *pp;
    size_t v = 0;
    if (p >= e || *p < '0' || *p > '9') return 0;
    while (p < e && *p >= '0' && *p <= '9') {
        size_t d = (size_t)(*p - '0');
        if (v > ((size_t)-1 - d) / 10) return 0;
        v = v * 10 + d;
        p++;
    }
    *pp = p;
    *out = v;
    return 1;
}

/* Parse the .npy bytes; on error *why says what is wrong. */
static int parse_npy(const unsigned char *buf, size_t size, npy *out, char *why, size_t why_size)
{
    size_t hlen, start, i, nbytes;
    unsigned major;
    const char *p, *e, *key, *val;
    size_t klen, vlen;
    int have_descr = 0, have_order = 0, have_shape = 0;
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
#define NPY_FAIL(msg) do { snprintf(why, why_size, "%s", msg); return 0; } while (0)
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(buf, magic, 6) != 0) NPY_FAIL("not a .npy file (bad magic)");
    major = buf[6];
    if ((major != 1 && major != 2 && major != 3) || buf[7] != 0) {
        snprintf(why, why_size, ".npy format version %u.%u is not supported (1.0, 2.0, 3.0)", major,
                 (unsigned)buf[7]);
        return 0;
    }
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        start = 10;
    } else {
        if (size < 12) NPY_FAIL("truncated .npy header");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        start = 12;
    }
    if (hlen > size - start) NPY_FAIL("truncated .npy header");
    p = (const char *)buf + start;
    e = p + hlen;
    for (i = 0; i < hlen; i++) { /* ASCII only (v3 allows UTF-8, but no key or value needs it) */
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x80 || (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r'))
            NPY_FAIL("malformed .npy header (non-ASCII or control bytes)");
    }
    p = skip_ws(p, e);
    if (p >= e || *p != '{') NPY_FAIL("malformed .npy header (not a dict)");
    p++;
    for (;;) {
        p = skip_ws(p, e);
        if (p < e && *p == '}') break;
        if (!py_string(&p, e, &key, &klen)) NPY_FAIL("malformed .npy header (expected a key)");
        p = skip_ws(p, e);
        if (p >= e || *p != ':') NPY_FAIL("malformed .npy header (expected ':')");
        p = skip_ws(p + 1, e);
        if (klen == 5 && memcmp(key, "descr", 5) == 0) {
            if (have_descr++) NPY_FAIL("malformed .npy header (descr twice)");
            if (!py_string(&p, e, &val, &vlen)) NPY_FAIL("malformed .npy header (descr is not a string)");
            if (vlen != 3 || memcmp(val, "<f4", 3) != 0) {
                snprintf(why, why_size, "dtype '%.*s' is not supported: kwbin-run reads float32 ('<f4')",
                         (int)(vlen > 40 ? 40 : vlen), val);
                return 0;
            }
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (have_order++) NPY_FAIL("malformed .npy header (fortran_order twice)");
            if (lit(&p, e, "True")) NPY_FAIL("fortran_order True is not supported: C order only");
            if (!lit(&p, e, "False")) NPY_FAIL("malformed .npy header (fortran_order is not a bool)");
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0) {
            if (have_shape++) NPY_FAIL("malformed .npy header (shape twice)");
            if (p >= e || *p != '(') NPY_FAIL("malformed .npy header (shape is not a tuple)");
            p = skip_ws(p + 1, e);
            {
                int comma = 0; /* after the last number: (8,) is a tuple, (8) is not */
                while (p < e && *p != ')') {
                    size_t d;
                    if (!py_int(&p, e, &d)) NPY_FAIL("malformed .npy header (bad shape)");
                    if (out->ndim == NPY_MAX_DIMS) NPY_FAIL("too many dimensions");
                    out->shape[out->ndim++] = d;
                    p = skip_ws(p, e);
                    comma = p < e && *p == ',';
                    if (comma) p = skip_ws(p + 1, e);
                    else if (p < e && *p != ')') NPY_FAIL("malformed .npy header (bad shape)");
                }
                if (p >= e || (out->ndim == 1 && !comma))
                    NPY_FAIL("malformed .npy header (shape is not a tuple)");
            }
            p++;
        } else {
            snprintf(why, why_size, "malformed .npy header (unknown key '%.*s')", (int)(klen > 40 ? 40 : klen),
                     key);
            return 0;
        }
        p = skip_ws(p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        p = skip_ws(p, e);
        if (p < e && *p == '}') break;
        NPY_FAIL("malformed .npy header (expected ',' or '}')");
    }
    p = skip_ws(p + 1, e);
    if (p != e) NPY_FAIL("malformed .npy header (bytes after the dict)");
    if (!have_descr || !have_order || !have_shape)
        NPY_FAIL("malformed .npy header (descr, fortran_order and shape are required)");
    out->count = 1;
    for (i = 0; i < out->ndim; i++) {
        if (out->shape[i] != 0 && out->count > (size_t)-1 / out->shape[i]) NPY_FAIL("shape too large");
        out->count *= out->shape[i];
    }
    if (out->count > (size_t)-1 / 4) NPY_FAIL("shape too large");
    nbytes = out->count * 4;
    if (size - start - hlen < nbytes) {
        snprintf(why, why_size, "truncated .npy data: %zu bytes for shape with %zu floats (%zu bytes)",
                 size - start - hlen, out->count, nbytes);
        return 0;
    }
    if (size - start - hlen > nbytes) NPY_FAIL("trailing bytes after the .npy data");
    out->data = buf + start + hlen;
    return 1;
#undef NPY_FAIL
}

/* A decimal count (no sign, no spaces), at most UINT64_MAX. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0') return 0;
    for (; *s != '\0'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static float le_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void put_le_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

static void append(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s != '\0' && *len + 1 < cap) buf[(*len)++] = *s++;
    buf[*len] = '\0';
}

static void append_size(char *buf, size_t cap, size_t *len, size_t v)
{
    char digits[24];
    size_t n = sizeof digits - 1;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0 && n > 0);
    append(buf, cap, len, digits + n);
}

/* A .npy version 1.0 file (the header of at most 9 dimensions is short). */
static int write_npy(const char *path, const size_t *shape, size_t ndim, const float *data, size_t count)
{
    char dict[1024];
    unsigned char head[12];
    size_t len = 0, i, pad, start;
    FILE *fp;
    unsigned char chunk[4096];
    int ok;
    append(dict, sizeof dict, &len, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (i = 0; i < ndim; i++) {
        append_size(dict, sizeof dict, &len, shape[i]);
        append(dict, sizeof dict, &len, ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    }
    append(dict, sizeof dict, &len, "), }");
    if (len + 64 + 1 >= sizeof dict) return 0;
    start = 10;
    pad = (64 - (start + len + 1) % 64) % 64;
    memset(dict + len, ' ', pad);
    len += pad;
    dict[len++] = '\n';
    memcpy(head, "\x93NUMPY", 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (unsigned char)len;
    head[9] = (unsigned char)(len >> 8);
    fp = fopen(path, "wb");
    if (fp == NULL) return 0;
    ok = fwrite(head, 1, start, fp) == start && fwrite(dict, 1, len, fp) == len;
    for (i = 0; ok && i < count; i += sizeof chunk / 4) {
        size_t k, n = count - i < sizeof chunk / 4 ? count - i : sizeof chunk / 4;
        for (k = 0; k < n; k++) put_le_f32(chunk + 4 * k, data[i + k]);
        ok = fwrite(chunk, 4, n, fp) == n;
    }
    if (fclose(fp) != 0) ok = 0;
    return ok;
}

static void shape_text(char *buf, size_t size, const size_t *shape, size_t ndim)
{
    size_t i, len = (size_t)snprintf(buf, size, "(");
    for (i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%zu%s", shape[i],
                                ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    if (len < size) snprintf(buf + len, size - len, ")");
}

/* One input file: read, parsed, checked against input i of the net, converted. */
typedef struct input_file {
    const char *path;
    unsigned char *raw;
    npy arr;
    float *x;
} input_file;

static int load_input(input_file *in, const kwnn_net *net, uint32_t i)
{
    char why[512], a[160], b[160];
    size_t raw_size = 0, k;
    uint32_t nd = 0;
    const size_t *shape = kwnn_input_shape(net, i, &nd);
    int ok;
    if (!read_file(in->path, &in->raw, &raw_size)) return fail(EXIT_IO, in->path, "cannot read the file", NULL);
    if (!parse_npy(in->raw, raw_size, &in->arr, why, sizeof why)) return fail(EXIT_INPUT, in->path, why, NULL);
    ok = in->arr.ndim == (size_t)nd + 1;
    for (k = 0; ok && k < nd && !net->variable; k++) ok = in->arr.shape[k + 1] == shape[k]; /* variable: run checks */
    if (!ok) {
        shape_text(a, sizeof a, in->arr.shape, in->arr.ndim);
        shape_text(b, sizeof b, shape, nd);
        snprintf(why, sizeof why, "input of shape %s does not fit the network: expected (batch, *%s)", a, b);
        return fail(EXIT_INPUT, in->path, why, NULL);
    }
    if (in->arr.shape[0] > 0x7fffffff) return fail(EXIT_INPUT, in->path, "batch too large", NULL);
    if (in->arr.count > 0) {
        in->x = (float *)malloc(in->arr.count * sizeof *in->x);
        if (in->x == NULL) return fail(EXIT_IO, in->path, "out of memory for this batch", NULL);
        for (k = 0; k < in->arr.count; k++) in->x[k] = le_f32(in->arr.data + 4 * k);
    }
    return 0;
}

/* An output array of batch x per floats (none for batch 0). */
static int alloc_output(size_t batch, size_t per, float **y, size_t *count, const char *path)
{
    if (per != 0 && batch > ((size_t)-1 / 4) / per) return fail(EXIT_INPUT, path, "batch too large", NULL);
    *count = batch * per;
    if (batch > 0 && (*y = (float *)malloc(*count * sizeof(float))) == NULL)
        return fail(EXIT_IO, path, "out of memory for this batch", NULL);
    return 0;
}

/* A net with a None axis: the shapes come from the .npy files (kwnn_run_shapes); the outputs'
   shapes from the run.  Fills ys (allocated here) and out_shapes. */
static int run_variable(const kwnn_net *net, input_file *ins, size_t batch, const float **xs, float **ys,
                        size_t *out_counts, kwnn_shape *out_shapes)
{
    uint32_t i, n_in = net->num_inputs, n_out = net->num_outputs, k;
    kwnn_shape *in_shapes = (kwnn_shape *)calloc(n_in, sizeof *in_shapes);
    char message[KWNN_MESSAGE_SIZE];
    size_t scratch_size = 0;
    void *scratch = NULL;
    int code = 0;
    kwnn_result nr;
    if (in_shapes == NULL) return fail(EXIT_IO, NULL, "out of memory", NULL);
    for (i = 0; i < n_in; i++) {
        in_shapes[i].ndim = (uint32_t)(ins[i].arr.ndim - 1);
        for (k = 0; k < in_shapes[i].ndim; k++) in_shapes[i].dims[k] = ins[i].arr.shape[k + 1];
    }
    /* batch 0: the shapes of one sample give the outputs' shapes */
    nr = kwnn_scratch_size_shapes(net, in_shapes, batch > 0 ? (int)batch : 1, &scratch_size, out_shapes, message);
    if (nr != KWNN_OK) {
        code = fail(nr == KWNN_ERR_OUT_OF_MEMORY ? EXIT_IO : EXIT_INPUT, ins[0].path, kwnn_result_string(nr), message);
        goto done;
    }
    for (i = 0; i < n_out; i++) {
        size_t per = 1;
        for (k = 0; k < out_shapes[i].ndim; k++) per *= out_shapes[i].dims[k]; /* checked by the library */
        if ((code = alloc_output(batch, per, &ys[i], &out_counts[i], ins[0].path)) != 0) goto done;
    }
    if (batch > 0) {
        if ((scratch = malloc(scratch_size)) == NULL) {
            code = fail(EXIT_IO, ins[0].path, "out of memory for this batch", NULL);
            goto done;
        }
        nr = kwnn_run_shapes(net, xs, in_shapes, ys, out_counts, out_shapes, scratch, scratch_size, (int)batch, NULL,
                             message);
        if (nr != KWNN_OK) code = fail(EXIT_INPUT, ins[0].path, kwnn_result_string(nr), message);
    }
done:
    free(scratch);
    free(in_shapes);
    return code;
}

/* Run the net on the loaded inputs (same batch) and write every output. */
static int run_and_write(const kwnn_net *net, input_file *ins, char **out_paths)
{
    uint32_t i, n_in = net->num_inputs, n_out = net->num_outputs;
    size_t batch = ins[0].arr.shape[0], scratch_size, shape[KWNN_MAX_DIMS + 1], k;
    const float **xs = (const float **)calloc(n_in, sizeof *xs);
    float **ys = (float **)calloc(n_out, sizeof *ys);
    size_t *in_counts = (size_t *)calloc(n_in, sizeof *in_counts), *out_counts = (size_t *)calloc(n_out, sizeof *out_counts);
    void *scratch = NULL;
    int code = 0;
    kwnn_result nr;
    kwnn_shape *out_shapes = (kwnn_shape *)calloc(n_out, sizeof *out_shapes);
    if (xs == NULL || ys == NULL || in_counts == NULL || out_counts == NULL || out_shapes == NULL) {
        code = fail(EXIT_IO, NULL, "out of memory", NULL);
        goto done;
    }
    for (i = 0; i < n_in; i++) {
        if (ins[i].arr.shape[0] != batch) {
            code = fail(EXIT_INPUT, ins[i].path, "batch size differs from the first input's", NULL);
            goto done;
        }
        xs[i] = ins[i].x;
        in_counts[i] = ins[i].arr.count;
    }
    if (net->variable) {
        if ((code = run_variable(net, ins, batch, xs, ys, out_counts, out_shapes)) != 0) goto done;
    }
    for (i = 0; i < n_out && !net->variable; i++) {
        if ((code = alloc_output(batch, kwnn_output_size(net, i), &ys[i], &out_counts[i], ins[0].path)) != 0)
            goto done;
    }
    if (batch > 0 && !net->variable) {
        scratch_size = kwnn_scratch_size(net, (int)batch);
        if (scratch_size == (size_t)-1 || (scratch_size > 0 && (scratch = malloc(scratch_size)) == NULL)) {
            code = fail(EXIT_IO, ins[0].path, "out of memory for this batch", NULL);
            goto done;
        }
        nr = kwnn_run_multi(net, xs, in_counts, ys, out_counts, scratch, scratch_size, (int)batch);
        if (nr != KWNN_OK) {
            code = fail(EXIT_INPUT, ins[0].path, kwnn_result_string(nr), "the network refused the input");
            goto done;
        }
    }
    for (i = 0; i < n_out && code == 0; i++) {
        uint32_t nd = 0;
        const size_t *s = net->variable ? out_shapes[i].dims : kwnn_output_shape(net, i, &nd);
        if (net->variable) nd = out_shapes[i].ndim;
        shape[0] = batch;
        for (k = 0; k < nd; k++) shape[k + 1] = s[k];
        if (!write_npy(out_paths[i], shape, (size_t)nd + 1, ys[i], out_counts[i]))
            code = fail(EXIT_IO, out_paths[i], "cannot write the file", NULL);
    }
done:
    free(scratch);
    for (i = 0; ys != NULL && i < n_out; i++) free(ys[i]);
    free(ys);
    free(xs);
    free(in_counts);
    free(out_counts);
    free(out_shapes);
    return code;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL;
    char **in_paths, **out_paths;
    int verify = 1, argi = 1, code = 0, n_in = 0, n_out = 0, dash_o = 0, i, pooled = 0;
    uint64_t threads = 1;
    kwnn_pool pool;
    kwnn_options opt;
    kwb_file f;
    kwb_options kopt;
    kwb_result kr;
    kwnn_net net;
    kwnn_result nr;
    char why[512];
    input_file *ins = NULL;

    memset(&opt, 0, sizeof opt);
    opt.max_cost = DEFAULT_MAX_COST;
    for (; argi < argc && strncmp(argv[argi], "--", 2) == 0; argi++) {
        if (strcmp(argv[argi], "--no-verify") == 0) {
            verify = 0;
        } else if (strcmp(argv[argi], "--verify") == 0) {
            verify = 1; /* the default, accepted for scripts that say it */
        } else if (strcmp(argv[argi], "--max-cost") == 0 && argi + 1 < argc) {
            if (!parse_u64(argv[++argi], &opt.max_cost))
                return fail(EXIT_USAGE, NULL, "--max-cost wants a number of operations per sample, not",
                            argv[argi]);
        } else if (strcmp(argv[argi], "--threads") == 0 && argi + 1 < argc) {
            if (!parse_u64(argv[++argi], &threads) || threads < 1 || threads > KWNN_POOL_MAX)
                return fail(EXIT_USAGE, NULL, "--threads wants a number of threads from 1 to 64, not", argv[argi]);
        } else {
            fputs(USAGE, stderr);
            return EXIT_USAGE;
        }
    }
    /* the rest: MODEL, inputs, and -o OUTPUT (or the old form MODEL INPUT OUTPUT) */
    in_paths = (char **)calloc((size_t)argc, sizeof *in_paths);
    out_paths = (char **)calloc((size_t)argc, sizeof *out_paths);
    if (in_paths == NULL || out_paths == NULL) return fail(EXIT_IO, NULL, "out of memory", NULL);
    for (; argi < argc; argi++) {
        if (strcmp(argv[argi], "-o") == 0 && argi + 1 < argc && argv[argi + 1][0] != '\0') {
            out_paths[n_out++] = argv[++argi];
            dash_o = 1;
        } else if (argv[argi][0] == '-' || argv[argi][0] == '\0') {
            n_in = -1;
            break;
        } else if (model_path == NULL) {
            model_path = argv[argi];
        } else {
            in_paths[n_in++] = argv[argi];
        }
    }
    if (!dash_o && n_in == 2) { /* MODEL INPUT OUTPUT */
        out_paths[n_out++] = in_paths[--n_in];
    }
    if (model_path == NULL || n_in < 1 || n_out < 1) {
        free(in_paths);
        free(out_paths);
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }

    memset(&kopt, 0, sizeof kopt);
    kopt.verify = verify; /* every CRC-32 during the open: a damaged tensor is named */
    kr = kwb_open_path(&f, model_path, &kopt);
    if (kr != KWB_OK) {
        code = fail(kr == KWB_ERR_IO || kr == KWB_ERR_OUT_OF_MEMORY ? EXIT_IO : EXIT_MODEL, model_path,
                    kwb_result_string(kr), f.message[0] ? f.message : NULL);
        goto out;
    }
    if (threads > 1) {
        if (kwnn_pool_start(&pool, (int)threads) != 0) {
            code = fail(EXIT_IO, NULL, "cannot start the threads", NULL);
            kwb_close(&f);
            goto out;
        }
        pooled = 1;
        opt.parallel_for = kwnn_pool_for;
        opt.parallel_data = &pool;
    }
    nr = kwnn_load(&net, &f, &opt);
    if (nr != KWNN_OK) {
        if (nr == KWNN_ERR_COST) snprintf(why, sizeof why, "%s (--max-cost OPS changes the cap)", net.message);
        else snprintf(why, sizeof why, "%s", net.message);
        code = fail(nr == KWNN_ERR_OUT_OF_MEMORY ? EXIT_IO : EXIT_MODEL, model_path, kwnn_result_string(nr), why);
        kwb_close(&f);
        goto out;
    }
    if ((uint32_t)n_in != net.num_inputs || (uint32_t)n_out != net.num_outputs) {
        snprintf(why, sizeof why, "the model has %u input(s) and %u output(s); given %d and %d (inputs, then -o OUTPUT for each output)",
                 (unsigned)net.num_inputs, (unsigned)net.num_outputs, n_in, n_out);
        code = fail(EXIT_USAGE, model_path, why, NULL);
        goto done;
    }
    ins = (input_file *)calloc((size_t)n_in, sizeof *ins);
    if (ins == NULL) {
        code = fail(EXIT_IO, NULL, "out of memory", NULL);
        goto done;
    }
    for (i = 0; i < n_in && code == 0; i++) {
        ins[i].path = in_paths[i];
        code = load_input(&ins[i], &net, (uint32_t)i);
    }
    if (code == 0) code = run_and_write(&net, ins, out_paths);

done:
    for (i = 0; ins != NULL && i < n_in; i++) {
        free(ins[i].x);
        free(ins[i].raw);
    }
    free(ins);
    kwnn_free(&net);
    kwb_close(&f);
out:
    if (pooled) kwnn_pool_stop(&pool);
    free(in_paths);
    free(out_paths);
    return code;
}

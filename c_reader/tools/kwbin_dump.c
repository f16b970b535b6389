/* kwbin-dump FILE: check a kwbin file (open + verify) and print its listing.

   The listing is the document of spec/FORMAT.md section 14.1, byte for byte
   what the Python reader prints (`kwbin info --json`, src/kwbin/listing.py)
   and what spec/vectors/valid/ *.json hold: format_version, alignment,
   metadata, layers, tensors; one member per line, arrays of scalars on one
   line; strings re-escaped; numbers of the metadata and configs copied as
   their tokens; a repeated key once, at its first position, with its last
   value.  "crc32" is computed here over the tensor's bytes (and equals the
   stored one, since verify passed).  On error: "kwbin-dump: FILE: <error
   name>" on stderr, exit 1. */
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

/* ---- strings ------------------------------------------------------------ */

/* A JSON string of UTF-8 bytes: '"', '\\' and U+0000-U+001F escaped (the
   short forms where JSON has one, else \u00xx), every other byte as is. */
static void put_string(const unsigned char *s, size_t n)
{
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        const char *shortcut = NULL;
        switch (c) {
        case '"': shortcut = "\\\""; break;
        case '\\': shortcut = "\\\\"; break;
        case '\b': shortcut = "\\b"; break;
        case '\f': shortcut = "\\f"; break;
        case '\n': shortcut = "\\n"; break;
        case '\r': shortcut = "\\r"; break;
        case '\t': shortcut = "\\t"; break;
        default: break;
        }
        if (shortcut) fputs(shortcut, stdout);
        else if (c < 0x20) printf("\\u%04x", (unsigned)c);
        else putchar(c);
    }
    putchar('"');
}

static void put_name(const char *s, size_t n) { put_string((const unsigned char *)s, n); }

static unsigned hex4(const unsigned char *s)
{
    unsigned value = 0;
    int k;
    for (k = 0; k < 4; k++) {
        unsigned char h = s[k];
        value = value * 16u + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    return value;
}

/* Decode the JSON string whose opening quote is at s[i] (the text was
   checked at open: escapes are well formed, surrogates paired) into out,
   which has room for the string's length; returns the decoded length and
   sets *end past the closing quote. */
static size_t decode_string(const unsigned char *s, size_t i, unsigned char *out, size_t *end)
{
    size_t o = 0;
    for (i++; s[i] != '"'; i++) {
        unsigned long cp;
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        i++;
        switch (s[i]) {
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u': break;
        default: out[o++] = s[i]; continue; /* '"', '\\', '/' */
        }
        cp = hex4(s + i + 1);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* then "\uDC00".."\uDFFF" */
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(s + i + 3) - 0xDC00);
            i += 6;
        }
        if (cp < 0x80) {
            out[o++] = (unsigned char)cp;
        } else if (cp < 0x800) {
            out[o++] = (unsigned char)(0xC0 | (cp >> 6));
            out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (unsigned char)(0xE0 | (cp >> 12));
            out[o++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (unsigned char)(0xF0 | (cp >> 18));
            out[o++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    *end = i + 1;
    return o;
}

/* ---- JSON values, re-written in the listing's layout --------------------- */

static size_t skip_ws(const unsigned char *s, size_t i)
{
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') i++;
    return i;
}

/* The index just past the value starting at s[i] (checked text). */
static size_t skip_value(const unsigned char *s, size_t i)
{
    size_t depth = 0;
    do {
        unsigned char c = s[i];
        if (c == '"') {
            for (i++; s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
        } else if (c == '{' || c == '[') {
            depth++;
            i++;
        } else if (c == '}' || c == ']') {
            depth--;
            i++;
        } else if (depth == 0) { /* a number or literal at the top */
            while (s[i] && !memchr(" \t\n\r,]}", s[i], 7)) i++;
        } else {
            i++;
        }
    } while (depth > 0);
    return i;
}

static void put_indent(unsigned indent)
{
    while (indent--) putchar(' ');
}

typedef struct {
    size_t key;   /* offset of the decoded key in the key buffer */
    size_t key_n; /* its length */
    size_t value; /* index of the value in the text */
    size_t order; /* position among the members */
} member;

static const unsigned char *sort_keys; /* qsort has no context argument */

static int by_key_then_order(const void *pa, const void *pb)
{
    const member *a = (const member *)pa, *b = (const member *)pb;
    size_t n = a->key_n < b->key_n ? a->key_n : b->key_n;
    int c = memcmp(sort_keys + a->key, sort_keys + b->key, n);
    if (c) return c;
    if (a->key_n != b->key_n) return a->key_n < b->key_n ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int put_value(const unsigned char *s, size_t i, unsigned indent);

/* Count the elements (arrays) or members (objects) of the container at s[i]
   and note whether an element is itself a container. */
static size_t count_items(const unsigned char *s, size_t i, int *nested)
{
    size_t count = 0;
    int object = s[i] == '{';
    i = skip_ws(s, i + 1);
    *nested = 0;
    while (s[i] != '}' && s[i] != ']') {
        if (object) i = skip_ws(s, skip_ws(s, skip_value(s, i)) + 1); /* key and ':' */
        if (s[i] == '{' || s[i] == '[') *nested = 1;
        i = skip_ws(s, skip_value(s, i));
        if (s[i] == ',') i = skip_ws(s, i + 1);
        count++;
    }
    return count;
}

static int put_array(const unsigned char *s, size_t i, unsigned indent)
{
    int nested;
    size_t count = count_items(s, i, &nested), k;
    if (!count) {
        fputs("[]", stdout);
        return 1;
    }
    putchar('[');
    i = skip_ws(s, i + 1);
    for (k = 0; k < count; k++) {
        if (nested) {
            fputs(k ? ",\n" : "\n", stdout);
            put_indent(indent + 2);
        } else if (k) {
            fputs(", ", stdout);
        }
        if (!put_value(s, i, indent + 2)) return 0;
        i = skip_ws(s, skip_value(s, i));
        if (s[i] == ',') i = skip_ws(s, i + 1);
    }
    if (nested) {
        putchar('\n');
        put_indent(indent);
    }
    putchar(']');
    return 1;
}

/* Members with their keys decoded; a repeated key is shown once, at its
   first position, with the value of its last occurrence (spec 14.1). */
static int put_object(const unsigned char *s, size_t i, unsigned indent)
{
    int nested, ok = 1;
    size_t count = count_items(s, i, &nested), k, shown = 0, start = i;
    member *members, *sorted;
    size_t *value_of; /* by order: the value index to show, or 0 if not shown */
    unsigned char *keys;
    if (!count) {
        fputs("{}", stdout);
        return 1;
    }
    members = (member *)malloc(count * sizeof *members);
    sorted = (member *)malloc(count * sizeof *sorted);
    value_of = (size_t *)calloc(count, sizeof *value_of);
    keys = (unsigned char *)malloc(skip_value(s, start) - start); /* decoded keys are shorter */
    if (!members || !sorted || !value_of || !keys) {
        ok = 0;
        goto done;
    }
    i = skip_ws(s, i + 1);
    for (k = 0; k < count; k++) {
        size_t used = k ? members[k - 1].key + members[k - 1].key_n : 0, after;
        members[k].key = used;
        members[k].key_n = decode_string(s, i, keys + used, &after);
        members[k].order = k;
        i = skip_ws(s, skip_ws(s, after) + 1);
        members[k].value = i;
        i = skip_ws(s, skip_value(s, i));
        if (s[i] == ',') i = skip_ws(s, i + 1);
    }
    memcpy(sorted, members, count * sizeof *members);
    sort_keys = keys;
    qsort(sorted, count, sizeof *sorted, by_key_then_order);
    for (k = 0; k < count; k++) { /* each run of equal keys: first order, last value */
        size_t last = k;
        while (last + 1 < count && sorted[last + 1].key_n == sorted[k].key_n &&
               memcmp(keys + sorted[last + 1].key, keys + sorted[k].key, sorted[k].key_n) == 0)
            last++;
        value_of[sorted[k].order] = sorted[last].value;
        k = last;
    }
    fputs("{\n", stdout);
    for (k = 0; k < count && ok; k++) {
        if (!value_of[k]) continue;
        if (shown++) fputs(",\n", stdout);
        put_indent(indent + 2);
        put_string(keys + members[k].key, members[k].key_n);
        fputs(": ", stdout);
        ok = put_value(s, value_of[k], indent + 2);
    }
    putchar('\n');
    put_indent(indent);
    putchar('}');
done:
    free(members);
    free(sorted);
    free(value_of);
    free(keys);
    return ok;
}

/* The value at s[i] (after whitespace); 0 if memory ran out. */
static int put_value(const unsigned char *s, size_t i, unsigned indent)
{
    size_t end;
    i = skip_ws(s, i);
    if (s[i] == '{') return put_object(s, i, indent);
    if (s[i] == '[') return put_array(s, i, indent);
    if (s[i] == '"') {
        unsigned char *text = (unsigned char *)malloc(skip_value(s, i) - i);
        if (!text) return 0;
        put_string(text, decode_string(s, i, text, &end));
        free(text);
        return 1;
    }
    end = skip_value(s, i); /* a number (its token, as written) or a literal */
    fwrite(s + i, 1, end - i, stdout);
    return 1;
}

/* A checked JSON text of n bytes as a value of the listing: copied with a
   terminating NUL, so the scanners above can stop on it. */
static int put_json(const char *text, size_t n, unsigned indent)
{
    unsigned char *copy = (unsigned char *)malloc(n + 1);
    int ok;
    if (!copy) return 0;
    memcpy(copy, text, n);
    copy[n] = 0;
    ok = put_value(copy, 0, indent);
    free(copy);
    return ok;
}

/* ---- the document ------------------------------------------------------- */

/* A layer's name by index, or null. */
static void put_layer_name(const kwb_file *f, uint32_t index)
{
    kwb_layer l;
    if (index == KWB_NONE || kwb_get_layer(f, index, &l) != KWB_OK) fputs("null", stdout);
    else put_name(l.name, l.name_length);
}

static int put_layer(const kwb_file *f, uint32_t i)
{
    kwb_layer l;
    kwb_tensor t;
    uint32_t k;
    kwb_get_layer(f, i, &l);
    fputs("{\n      \"name\": ", stdout);
    put_name(l.name, l.name_length);
    fputs(",\n      \"class_name\": ", stdout);
    put_name(l.class_name, l.class_name_length);
    fputs(",\n      \"parent\": ", stdout);
    put_layer_name(f, l.parent);
    fputs(",\n      \"config\": ", stdout);
    if (!l.config_length) fputs("null", stdout);
    else if (!put_json(l.config, l.config_length, 6)) return 0;
    fputs(",\n      \"tensors\": [", stdout);
    for (k = 0; k < l.tensor_count; k++) {
        kwb_get_tensor(f, l.first_tensor + k, &t);
        if (k) fputs(", ", stdout);
        put_name(t.name, t.name_length);
    }
    fputs("]\n    }", stdout);
    return 1;
}

static void put_tensor(const kwb_file *f, uint32_t i)
{
    kwb_tensor t;
    uint32_t d;
    kwb_get_tensor(f, i, &t);
    fputs("{\n      \"name\": ", stdout);
    put_name(t.name, t.name_length);
    fputs(",\n      \"layer\": ", stdout);
    put_layer_name(f, t.layer);
    fputs(",\n      \"weight\": ", stdout);
    put_name(t.weight, t.weight_length);
    printf(",\n      \"dtype\": \"%s\",\n      \"shape\": [", kwb_dtype_name(t.dtype));
    for (d = 0; d < t.ndim; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)t.shape[d]);
    printf("],\n      \"offset\": %llu,\n      \"nbytes\": %llu,\n      \"crc32\": %lu,\n      \"source\": ",
           (unsigned long long)t.offset, (unsigned long long)t.nbytes,
           (unsigned long)kwb_crc32(0, t.data, (size_t)t.nbytes));
    put_name(t.source, t.source_length);
    fputs("\n    }", stdout);
}

static int dump(const kwb_file *f)
{
    size_t meta_length;
    const char *meta = kwb_metadata(f, &meta_length);
    uint32_t i, layers = kwb_layer_count(f), tensors = kwb_tensor_count(f);
    printf("{\n  \"format_version\": \"%lu.%lu\",\n  \"alignment\": %lu,\n  \"metadata\": ",
           (unsigned long)f->version_major, (unsigned long)f->version_minor,
           (unsigned long)f->alignment);
    if (!put_json(meta, meta_length, 2)) return 0;
    fputs(",\n  \"layers\": [", stdout);
    for (i = 0; i < layers; i++) {
        fputs(i ? ",\n    " : "\n    ", stdout);
        if (!put_layer(f, i)) return 0;
    }
    fputs(layers ? "\n  ],\n  \"tensors\": [" : "],\n  \"tensors\": [", stdout);
    for (i = 0; i < tensors; i++) {
        fputs(i ? ",\n    " : "\n    ", stdout);
        put_tensor(f, i);
    }
    fputs(tensors ? "\n  ]\n}\n" : "]\n}\n", stdout);
    return 1;
}

int main(int argc, char **argv)
{
    kwb_file f;
    kwb_options opt;
    kwb_result r;
    int failed;
    if (argc != 2) {
        fprintf(stderr, "usage: kwbin-dump FILE\n");
        return 2;
    }
    memset(&opt, 0, sizeof opt);
    opt.verify = 1; /* every CRC-32 too: a bad one names its tensor */
    r = kwb_open_path(&f, argv[1], &opt);
    if (r != KWB_OK) {
        fprintf(stderr, "kwbin-dump: %s: %s: %s\n", argv[1], kwb_result_string(r), f.message);
        return 1;
    }
    if (!dump(&f)) {
        kwb_close(&f);
        fprintf(stderr, "kwbin-dump: %s: out of memory\n", argv[1]);
        return 1;
    }
    kwb_close(&f);
    failed = fflush(stdout) != 0 || ferror(stdout);
    if (failed) fprintf(stderr, "kwbin-dump: cannot write the listing\n");
    return failed;
}

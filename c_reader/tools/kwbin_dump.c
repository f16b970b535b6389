/* kwbin-dump FILE: check a kwbin file (open + verify) and print it as JSON.

   The document has exactly the shape of the Python listing
   (src/kwbin/listing.py, `kwbin info --json`), so the two readers can be
   compared: format_version, alignment, metadata, layers, tensors.  Metadata
   and configs are printed as the file's own JSON text; "crc32" is computed
   here over the tensor's bytes (and equals the stored one, since verify
   passed).  On error: "kwbin-dump: FILE: <error name>" on stderr, exit 1. */
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"

#include <stdio.h>

/* A JSON string: the bytes are valid UTF-8 (checked at open), so only the
   quote, the backslash and control characters need escaping. */
static void put_string(const char *s, size_t n)
{
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* A layer's name by index, or null. */
static void put_layer_name(const kwb_file *f, uint32_t index)
{
    kwb_layer l;
    if (index == KWB_NONE || kwb_get_layer(f, index, &l) != KWB_OK) fputs("null", stdout);
    else put_string(l.name, l.name_length);
}

static void put_layer(const kwb_file *f, uint32_t i)
{
    kwb_layer l;
    kwb_tensor t;
    uint32_t k;
    kwb_get_layer(f, i, &l);
    fputs("{\"name\": ", stdout);
    put_string(l.name, l.name_length);
    fputs(", \"class_name\": ", stdout);
    put_string(l.class_name, l.class_name_length);
    fputs(", \"parent\": ", stdout);
    put_layer_name(f, l.parent);
    fputs(", \"config\": ", stdout);
    if (l.config_length) fwrite(l.config, 1, l.config_length, stdout);
    else fputs("null", stdout);
    fputs(", \"tensors\": [", stdout);
    for (k = 0; k < l.tensor_count; k++) {
        kwb_get_tensor(f, l.first_tensor + k, &t);
        if (k) fputs(", ", stdout);
        put_string(t.name, t.name_length);
    }
    fputs("]}", stdout);
}

static void put_tensor(const kwb_file *f, uint32_t i)
{
    kwb_tensor t;
    uint32_t d;
    kwb_get_tensor(f, i, &t);
    fputs("{\"name\": ", stdout);
    put_string(t.name, t.name_length);
    fputs(", \"layer\": ", stdout);
    put_layer_name(f, t.layer);
    fputs(", \"weight\": ", stdout);
    put_string(t.weight, t.weight_length);
    printf(", \"dtype\": \"%s\", \"shape\": [", kwb_dtype_name(t.dtype));
    for (d = 0; d < t.ndim; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)t.shape[d]);
    printf("], \"offset\": %llu, \"nbytes\": %llu, \"crc32\": %lu, \"source\": ",
           (unsigned long long)t.offset, (unsigned long long)t.nbytes,
           (unsigned long)kwb_crc32(0, t.data, (size_t)t.nbytes));
    put_string(t.source, t.source_length);
    putchar('}');
}

static void dump(const kwb_file *f)
{
    size_t meta_length;
    const char *meta = kwb_metadata(f, &meta_length);
    uint32_t i;
    printf("{\"format_version\": \"%lu.%lu\", \"alignment\": %lu, \"metadata\": ",
           (unsigned long)f->version_major, (unsigned long)f->version_minor,
           (unsigned long)f->alignment);
    fwrite(meta, 1, meta_length, stdout);
    fputs(",\n \"layers\": [", stdout);
    for (i = 0; i < kwb_layer_count(f); i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        put_layer(f, i);
    }
    fputs("],\n \"tensors\": [", stdout);
    for (i = 0; i < kwb_tensor_count(f); i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        put_tensor(f, i);
    }
    fputs("]}\n", stdout);
}

int main(int argc, char **argv)
{
    kwb_file f;
    kwb_result r;
    int failed;
    if (argc != 2) {
        fprintf(stderr, "usage: kwbin-dump FILE\n");
        return 2;
    }
    r = kwb_open_path(&f, argv[1], NULL);
    if (r == KWB_OK && (r = kwb_verify(&f)) != KWB_OK) kwb_close(&f);
    if (r != KWB_OK) {
        fprintf(stderr, "kwbin-dump: %s: %s\n", argv[1], kwb_result_string(r));
        return 1;
    }
    dump(&f);
    kwb_close(&f);
    failed = fflush(stdout) != 0 || ferror(stdout);
    if (failed) fprintf(stderr, "kwbin-dump: cannot write the listing\n");
    return failed;
}

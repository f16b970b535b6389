/* read_hdf5.c - libhdf5's C API on a Keras HDF5 file (the legacy tf.keras /
   Keras 1-2 layout: model_weights/<layer>/<layer>/<weight>:0, or the same
   groups at the root of a weights-only file).  H5Fopen (default property
   lists: the sec2 driver), then for every weight H5Dopen + H5Dread into its
   own malloc'd buffer (kept, as a loader keeps its weights) and the same
   reduction as every other program.

       read_hdf5 [--visit] FILE.h5                   timed run
       read_hdf5 [--visit] --dump OUT FILE.h5        check mode

   How the weights are found:
     default   as Keras' own loader does (load_weights_from_hdf5_group): the
               `layer_names` attribute of the weights group, then each
               layer group's `weight_names` attribute, in that order.
               Fixed-length and variable-length string attributes are read.
     --visit   no Keras knowledge: H5Ovisit over the weights group (name
               order, H5O_INFO_BASIC) collects every dataset, then each is
               opened and read.

   Window: H5Fopen .. the last byte touched.  The library's one-time
   initialisation (H5open) happens before the window and is reported as
   init_s; freeing the buffers and H5Fclose are timed apart (close_s). */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>

#include "bench_common.h"

typedef struct names {
    size_t count, cap;
    char **item;
} names;

static void names_add(names *l, const char *s, size_t len)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->item = (char **)realloc(l->item, l->cap * sizeof *l->item);
        if (!l->item) exit(3);
    }
    char *c = (char *)malloc(len + 1);
    if (!c) exit(3);
    memcpy(c, s, len);
    c[len] = 0;
    l->item[l->count++] = c;
}

static void names_free(names *l)
{
    for (size_t i = 0; i < l->count; i++) free(l->item[i]);
    free(l->item);
    l->count = l->cap = 0;
    l->item = NULL;
}

/* One string-array attribute, fixed or variable length, appended to out. */
static int read_string_attr(hid_t obj, const char *attr_name, names *out)
{
    hid_t attr = H5Aopen(obj, attr_name, H5P_DEFAULT);
    if (attr < 0) return -1;
    hid_t ftype = H5Aget_type(attr), space = H5Aget_space(attr);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    int ok = 0;
    if (n > 0 && H5Tis_variable_str(ftype) > 0) {
        char **buf = (char **)calloc((size_t)n, sizeof *buf);
        H5Tset_size(mtype, H5T_VARIABLE);
        if (buf && H5Aread(attr, mtype, buf) >= 0) {
            for (hssize_t i = 0; i < n; i++) names_add(out, buf[i], strlen(buf[i]));
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf);
            ok = 1;
        }
        free(buf);
    } else if (n > 0) {
        size_t width = H5Tget_size(ftype);
        char *buf = (char *)malloc((size_t)n * width + 1);
        H5Tset_size(mtype, width);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD);
        if (buf && H5Aread(attr, mtype, buf) >= 0) {
            for (hssize_t i = 0; i < n; i++) {
                const char *s = buf + (size_t)i * width;
                size_t len = 0;
                while (len < width && s[len]) len++;
                names_add(out, s, len);
            }
            ok = 1;
        }
        free(buf);
    } else {
        ok = 1; /* an empty list (a layer without weights) */
    }
    H5Tclose(mtype);
    H5Sclose(space);
    H5Tclose(ftype);
    H5Aclose(attr);
    return ok ? 0 : -1;
}

/* Keras splits long lists into name0, name1, ... (attributes are limited to
   64 KiB in the object header); read either form. */
static int read_keras_list(hid_t obj, const char *name, names *out)
{
    if (H5Aexists(obj, name) > 0) return read_string_attr(obj, name, out);
    char chunk[256];
    int found = 0;
    for (int k = 0;; k++) {
        snprintf(chunk, sizeof chunk, "%s%d", name, k);
        if (H5Aexists(obj, chunk) <= 0) break;
        if (read_string_attr(obj, chunk, out) != 0) return -1;
        found = 1;
    }
    return found ? 0 : -1;
}

typedef struct reader {
    uint64_t sum, bytes, tensors;
    void **buffers;
    size_t nbuf, capbuf;
    FILE *dump;
    const char *prefix; /* group path of the weights, for the dump's names */
} reader;

static int read_dataset(reader *rd, hid_t loc, const char *path, const char *full_name)
{
    hid_t ds = H5Dopen2(loc, path, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t ftype = H5Dget_type(ds), space = H5Dget_space(ds);
    hid_t mtype = H5Tget_native_type(ftype, H5T_DIR_DEFAULT);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    size_t nbytes = (size_t)n * H5Tget_size(mtype);
    void *buf = malloc(nbytes ? nbytes : 1);
    int rc = -1;
    if (buf && n >= 0 && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
        rd->sum += bench_reduce(buf, nbytes);
        rd->bytes += nbytes;
        rd->tensors++;
        if (rd->dump) bench_dump(rd->dump, full_name, buf, nbytes);
        if (rd->nbuf == rd->capbuf) {
            rd->capbuf = rd->capbuf ? 2 * rd->capbuf : 256;
            rd->buffers = (void **)realloc(rd->buffers, rd->capbuf * sizeof *rd->buffers);
            if (!rd->buffers) exit(3);
        }
        rd->buffers[rd->nbuf++] = buf;
        rc = 0;
    } else {
        free(buf);
    }
    H5Tclose(mtype);
    H5Sclose(space);
    H5Tclose(ftype);
    H5Dclose(ds);
    return rc;
}

static int read_keras(reader *rd, hid_t weights)
{
    names layers = {0, 0, NULL}, wnames = {0, 0, NULL};
    char full[4096];
    if (read_keras_list(weights, "layer_names", &layers) != 0) {
        fprintf(stderr, "no layer_names attribute\n");
        return -1;
    }
    for (size_t i = 0; i < layers.count; i++) {
        hid_t g = H5Gopen2(weights, layers.item[i], H5P_DEFAULT);
        if (g < 0 || read_keras_list(g, "weight_names", &wnames) != 0) {
            fprintf(stderr, "layer %s: no group or no weight_names\n", layers.item[i]);
            return -1;
        }
        for (size_t j = 0; j < wnames.count; j++) {
            snprintf(full, sizeof full, "%s%s/%s", rd->prefix, layers.item[i], wnames.item[j]);
            if (read_dataset(rd, g, wnames.item[j], full) != 0) {
                fprintf(stderr, "cannot read %s\n", full);
                return -1;
            }
        }
        names_free(&wnames);
        H5Gclose(g);
    }
    names_free(&layers);
    return 0;
}

#if H5_VERSION_GE(1, 12, 0)
static herr_t visit_cb(hid_t obj, const char *name, const H5O_info2_t *info, void *data)
#else
static herr_t visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
#endif
{
    (void)obj;
    if (info->type == H5O_TYPE_DATASET) names_add((names *)data, name, strlen(name));
    return 0;
}

static int read_visit(reader *rd, hid_t weights)
{
    names ds = {0, 0, NULL};
    char full[4096];
#if H5_VERSION_GE(1, 12, 0)
    herr_t e = H5Ovisit3(weights, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &ds, H5O_INFO_BASIC);
#else
    herr_t e = H5Ovisit2(weights, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &ds, H5O_INFO_BASIC);
#endif
    if (e < 0) return -1;
    for (size_t i = 0; i < ds.count; i++) {
        snprintf(full, sizeof full, "%s%s", rd->prefix, ds.item[i]);
        if (read_dataset(rd, weights, ds.item[i], full) != 0) {
            fprintf(stderr, "cannot read %s\n", full);
            return -1;
        }
    }
    names_free(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    const char *usage = "read_hdf5 [--visit] [--dump OUT] FILE.h5";
    const char *dump_path = NULL, *path = NULL;
    int visit = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--visit") == 0) visit = 1;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump_path = argv[++i];
        else if (!path) path = argv[i];
        else bench_usage(usage);
    }
    if (!path) bench_usage(usage);

    double ti = bench_now();
    if (H5open() < 0) return 1;
    double t0 = bench_now();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        fprintf(stderr, "%s: H5Fopen failed\n", path);
        return 1;
    }
    reader rd = {0, 0, 0, NULL, 0, 0, NULL, ""};
    hid_t weights = file;
    if (H5Lexists(file, "model_weights", H5P_DEFAULT) > 0) {
        weights = H5Gopen2(file, "model_weights", H5P_DEFAULT);
        rd.prefix = "model_weights/";
    }
    double t1 = bench_now();
    if (dump_path) rd.dump = bench_dump_open(dump_path);
    if ((visit ? read_visit(&rd, weights) : read_keras(&rd, weights)) != 0) return 1;
    double t2 = bench_now();
    bench_mem mem = bench_memory();
    if (rd.dump) bench_dump_close(rd.dump);
    for (size_t i = 0; i < rd.nbuf; i++) free(rd.buffers[i]);
    free(rd.buffers);
    if (weights != file) H5Gclose(weights);
    H5Fclose(file);
    double t3 = bench_now();
    char extra[64];
    snprintf(extra, sizeof extra, "\"init_s\": %.9f", t0 - ti);
    bench_print(visit ? "hdf5_visit" : "hdf5", t2 - t0, t1 - t0, t3 - t2, rd.sum, rd.bytes, rd.tensors, mem,
                extra);
    return 0;
}

/* Timing harness of bench/bench_applications.py: kwnn_run on a packed
   keras.applications model, and the memory it needs.

       bench_applications MODEL.kwb INPUT.f32 BATCH ITERS [OUTPUT.f32 [THREADS]]

   INPUT.f32: BATCH x input floats (native byte order).  Opens the file
   (mapped), builds the net once through a counting allocator, runs 1 warm-up
   batch, then times ITERS runs one by one (CLOCK_MONOTONIC) and prints one
   JSON line: median / min run time; the net's one allocation (load_alloc,
   bytes: layers, graph, repacked parameters); the file size and the bytes of
   its tensors (used in place from the mapping); kwnn_scratch_size for BATCH.
   OUTPUT.f32, if given, receives the outputs for the accuracy check
   ("-": none).  THREADS > 1: kwnn_options.parallel_for is a pool of that many
   threads (c_reader/tools/kwnn_pool.h).  Also printed: kwnn_peak_size, the
   largest sum of live activations, which the scratch is compared with. */
#define _POSIX_C_SOURCE 199309L
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include "tools/kwnn_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* kwnn_load's allocator: malloc, and the bytes asked for. */
static void *counting_alloc(size_t size, void *user)
{
    *(size_t *)user += size;
    return malloc(size);
}

static void plain_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static int read_floats(const char *path, float *x, size_t n)
{
    FILE *fp = fopen(path, "rb");
    int ok = fp != NULL && fread(x, sizeof *x, n, fp) == n && fgetc(fp) == EOF;
    if (fp != NULL) fclose(fp);
    return ok;
}

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    kwnn_options opt = {0};
    kwb_tensor t;
    size_t load_alloc = 0, n_in, n_out, need;
    uint64_t tensor_bytes = 0;
    uint32_t i;
    long batch_l, iters_l;
    int batch, iters, k;
    float *x, *y;
    void *scratch;
    double t0, load_s, first_s, *times;
    long threads = argc > 6 ? strtol(argv[6], NULL, 10) : 1;
    kwnn_pool pool;

    if (argc < 5) {
        fprintf(stderr, "usage: bench_applications MODEL.kwb INPUT.f32 BATCH ITERS [OUTPUT.f32 [THREADS]]\n");
        return 2;
    }
    batch_l = strtol(argv[3], NULL, 10);
    iters_l = strtol(argv[4], NULL, 10);
    if (batch_l < 1 || batch_l > 4096 || iters_l < 1 || iters_l > 100000) {
        fprintf(stderr, "bench_applications: bad BATCH or ITERS\n");
        return 2;
    }
    batch = (int)batch_l;
    iters = (int)iters_l;

    t0 = now();
    if (kwb_open_path(&f, argv[1], NULL) != KWB_OK) {
        fprintf(stderr, "bench_applications: cannot open %s\n", argv[1]);
        return 1;
    }
    opt.alloc_fn = counting_alloc;
    opt.free_fn = plain_free;
    opt.user_data = &load_alloc;
    if (threads > 1) {
        if (threads > KWNN_POOL_MAX || kwnn_pool_start(&pool, (int)threads) != 0) {
            fprintf(stderr, "bench_applications: cannot start %ld threads\n", threads);
            return 1;
        }
        opt.parallel_for = kwnn_pool_for;
        opt.parallel_data = &pool;
    }
    if (kwnn_load(&net, &f, &opt) != KWNN_OK) {
        fprintf(stderr, "bench_applications: %s\n", net.message);
        return 1;
    }
    load_s = now() - t0;
    for (i = 0; i < kwb_tensor_count(&f); i++)
        if (kwb_get_tensor(&f, i, &t) == KWB_OK) tensor_bytes += t.nbytes;

    n_in = net.input_count * (size_t)batch;
    n_out = net.output_count * (size_t)batch;
    need = kwnn_scratch_size(&net, batch);
    x = (float *)malloc(n_in * sizeof *x);
    y = (float *)malloc(n_out * sizeof *y);
    scratch = malloc(need ? need : 1);
    times = (double *)malloc((size_t)iters * sizeof *times);
    if (x == NULL || y == NULL || scratch == NULL || times == NULL) {
        fprintf(stderr, "bench_applications: out of memory\n");
        return 1;
    }
    if (!read_floats(argv[2], x, n_in)) {
        fprintf(stderr, "bench_applications: %s is not %zu floats\n", argv[2], n_in);
        return 1;
    }

    t0 = now();
    if (kwnn_run(&net, x, n_in, y, n_out, scratch, need, batch) != KWNN_OK) {
        fprintf(stderr, "bench_applications: run failed\n");
        return 1;
    }
    first_s = now() - t0;
    for (k = 0; k < iters; k++) {
        double t1 = now();
        kwnn_run(&net, x, n_in, y, n_out, scratch, need, batch);
        times[k] = now() - t1;
    }
    qsort(times, (size_t)iters, sizeof *times, cmp_double);
    printf("{\"batch\": %d, \"iters\": %d, \"median_s\": %.9g, \"min_s\": %.9g, \"first_s\": %.9g, "
           "\"load_s\": %.9g, \"load_alloc\": %zu, \"file_bytes\": %zu, \"tensor_bytes\": %llu, "
           "\"scratch\": %zu, \"peak\": %zu, \"cost\": %llu, \"threads\": %ld}\n",
           batch, iters, times[iters / 2], times[0], first_s, load_s, load_alloc, f.size,
           (unsigned long long)tensor_bytes, need, kwnn_peak_size(&net, batch),
           (unsigned long long)kwnn_cost_per_sample(&net), threads);
    if (argc > 5 && strcmp(argv[5], "-") != 0) {
        FILE *out = fopen(argv[5], "wb");
        if (out == NULL || fwrite(y, sizeof *y, n_out, out) != n_out || fclose(out) != 0) {
            fprintf(stderr, "bench_applications: cannot write %s\n", argv[5]);
            return 1;
        }
    }
    free(times);
    free(scratch);
    free(x);
    free(y);
    kwnn_free(&net);
    if (threads > 1) kwnn_pool_stop(&pool);
    kwb_close(&f);
    return 0;
}

/* Timing harness of bench/bench_inference.py: latency of kwnn_run.

       bench_inference MODEL.kwb BATCH ITERS [OUTPUT.bin]

   Opens the file and builds the net once (timed: load_s), fills the input
   with x[i] = 1.5 sin(0.37 i) (the Python side computes the same), runs
   max(3, ITERS / 10) warm-up batches, then times ITERS runs one by one with
   CLOCK_MONOTONIC and prints one JSON line: median, min, p90 per run.
   OUTPUT.bin, if given, receives the output floats (native byte order) for
   the accuracy check.  Built with the project's flags (-std=c99 -O2 ...). */
#define _POSIX_C_SOURCE 199309L
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    long batch_l, iters_l;
    int batch, iters, warm, i;
    size_t n_in, n_out, need, k;
    float *x, *y;
    void *scratch;
    double t0, load_s, *times, checksum = 0.0;

    if (argc < 4) {
        fprintf(stderr, "usage: bench_inference MODEL.kwb BATCH ITERS [OUTPUT.bin]\n");
        return 2;
    }
    batch_l = strtol(argv[2], NULL, 10);
    iters_l = strtol(argv[3], NULL, 10);
    if (batch_l < 1 || batch_l > 1000000 || iters_l < 1 || iters_l > 10000000) {
        fprintf(stderr, "bench_inference: bad BATCH or ITERS\n");
        return 2;
    }
    batch = (int)batch_l;
    iters = (int)iters_l;

    t0 = now();
    if (kwb_open_path(&f, argv[1], NULL) != KWB_OK) {
        fprintf(stderr, "bench_inference: cannot open %s\n", argv[1]);
        return 1;
    }
    if (kwnn_load(&net, &f, NULL) != KWNN_OK) {
        fprintf(stderr, "bench_inference: %s\n", net.message);
        return 1;
    }
    load_s = now() - t0;

    n_in = net.input_count * (size_t)batch;
    n_out = net.output_count * (size_t)batch;
    need = kwnn_scratch_size(&net, batch);
    x = (float *)malloc(n_in * sizeof *x);
    y = (float *)malloc(n_out * sizeof *y);
    scratch = malloc(need ? need : 1);
    times = (double *)malloc((size_t)iters * sizeof *times);
    if (x == NULL || y == NULL || scratch == NULL || times == NULL) {
        fprintf(stderr, "bench_inference: out of memory\n");
        return 1;
    }
    for (k = 0; k < n_in; k++) x[k] = (float)(1.5 * sin(0.37 * (double)k));

    warm = iters / 10 > 3 ? iters / 10 : 3;
    for (i = 0; i < warm; i++) kwnn_run(&net, x, n_in, y, n_out, scratch, need, batch);
    for (i = 0; i < iters; i++) {
        double t = now();
        if (kwnn_run(&net, x, n_in, y, n_out, scratch, need, batch) != KWNN_OK) {
            fprintf(stderr, "bench_inference: run failed\n");
            return 1;
        }
        times[i] = now() - t;
    }
    for (k = 0; k < n_out; k++) checksum += (double)y[k];
    qsort(times, (size_t)iters, sizeof *times, cmp_double);
    printf("{\"batch\": %d, \"iters\": %d, \"median_s\": %.9g, \"min_s\": %.9g, \"p90_s\": %.9g, "
           "\"load_s\": %.9g, \"checksum\": %.9g}\n",
           batch, iters, times[iters / 2], times[0], times[(iters * 9) / 10], load_s, checksum);
    if (argc > 4) {
        FILE *out = fopen(argv[4], "wb");
        if (out == NULL || fwrite(y, sizeof *y, n_out, out) != n_out || fclose(out) != 0) {
            fprintf(stderr, "bench_inference: cannot write %s\n", argv[4]);
            return 1;
        }
    }
    free(times);
    free(scratch);
    free(x);
    free(y);
    kwnn_free(&net);
    kwb_close(&f);
    return 0;
}

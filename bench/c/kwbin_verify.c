/* kwbin_verify.c - kwb_verify throughput: the CRC-32 of every tensor and the
   zero padding after it (spec steps 18-19), on a file opened with
   kwb_open_path (mmap).

       kwbin_verify FILE.kwb               one JSON line

   verify_s is the first kwb_verify after the open: the pages of the fresh
   mapping are faulted in as the CRC reads them (what a program that checks
   a file once pays).  verify2_s is a second pass over the now-mapped pages
   (the CRC alone).  open_s (kwb_open_path) is outside both. */
#define _POSIX_C_SOURCE 200809L
#define KWBIN_IMPLEMENTATION
#define KWBIN_STATIC
#include "kwbin.h"

#include "bench_common.h"

int main(int argc, char **argv)
{
    if (argc != 2) bench_usage("kwbin_verify FILE.kwb");
    kwb_file f;
    kwb_tensor t;
    double t0 = bench_now();
    kwb_result r = kwb_open_path(&f, argv[1], NULL);
    double t1 = bench_now();
    if (r != KWB_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], kwb_result_string(r));
        return 1;
    }
    r = kwb_verify(&f);
    double t2 = bench_now();
    kwb_result r2 = kwb_verify(&f);
    double t3 = bench_now();
    if (r != KWB_OK || r2 != KWB_OK) {
        fprintf(stderr, "%s: kwb_verify: %s\n", argv[1], kwb_result_string(r != KWB_OK ? r : r2));
        return 1;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < f.tensor_count; i++) {
        if (kwb_get_tensor(&f, i, &t) != KWB_OK) return 1;
        bytes += t.nbytes;
    }
    bench_mem mem = bench_memory();
    size_t file_bytes = f.size;
    uint32_t n = f.tensor_count;
    kwb_close(&f);
    char extra[160];
    snprintf(extra, sizeof extra, "\"verify_s\": %.9f, \"verify2_s\": %.9f, \"file_bytes\": %llu", t2 - t1,
             t3 - t2, (unsigned long long)file_bytes);
    bench_print("kwbin_verify", t2 - t1, t1 - t0, 0.0, 0, bytes, n, mem, extra);
    return 0;
}

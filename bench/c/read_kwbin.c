/* read_kwbin.c - kwbin.h: open a .kwb (kwb_open_path: mmap + the format checks
   of spec steps 1-17 + the lookup index), then for every tensor in file order
   kwb_get_tensor and touch every byte (bench_common.h's reduction).

       read_kwbin FILE.kwb                 timed run, one JSON line
       read_kwbin --crc FILE.kwb           the same with kwb_verify (every
                                           tensor's CRC-32) inside the window
       read_kwbin [--crc] --dump OUT FILE.kwb
                                           check mode: every tensor to OUT,
                                           named by its source (HDF5 path)

   The window is kwb_open_path .. the last byte touched; kwb_close is timed
   apart (close_s). */
#define _POSIX_C_SOURCE 200809L
#define KWBIN_IMPLEMENTATION
#define KWBIN_STATIC
#include "kwbin.h"

#include "bench_common.h"

int main(int argc, char **argv)
{
    const char *usage = "read_kwbin [--crc] [--dump OUT] FILE.kwb";
    const char *dump_path = NULL, *path = NULL;
    int crc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--crc") == 0) crc = 1;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump_path = argv[++i];
        else if (!path) path = argv[i];
        else bench_usage(usage);
    }
    if (!path) bench_usage(usage);

    kwb_file f;
    kwb_tensor t;
    uint64_t sum = 0, bytes = 0;
    double verify_s = 0;
    double t0 = bench_now();
    kwb_result r = kwb_open_path(&f, path, NULL);
    double t1 = bench_now();
    if (r != KWB_OK) {
        fprintf(stderr, "%s: %s\n", path, kwb_result_string(r));
        return 1;
    }
    if (crc) {
        r = kwb_verify(&f);
        verify_s = bench_now() - t1;
        if (r != KWB_OK) {
            fprintf(stderr, "%s: %s\n", path, kwb_result_string(r));
            return 1;
        }
    }
    FILE *dump = dump_path ? bench_dump_open(dump_path) : NULL;
    uint32_t n = f.tensor_count;
    for (uint32_t i = 0; i < n; i++) {
        if ((r = kwb_get_tensor(&f, i, &t)) != KWB_OK) {
            fprintf(stderr, "tensor %u: %s\n", i, kwb_result_string(r));
            return 1;
        }
        sum += bench_reduce(t.data, (size_t)t.nbytes);
        bytes += t.nbytes;
        if (dump) bench_dump(dump, t.source_length ? t.source : t.name, t.data, t.nbytes);
    }
    double t2 = bench_now();
    bench_mem mem = bench_memory();
    if (dump) {
        if ((r = kwb_verify(&f)) != KWB_OK) {
            fprintf(stderr, "%s: kwb_verify: %s\n", path, kwb_result_string(r));
            return 1;
        }
        bench_dump_close(dump);
    }
    kwb_close(&f);
    double t3 = bench_now();
    char extra[96];
    snprintf(extra, sizeof extra, "\"verify_s\": %.9f", verify_s);
    bench_print(crc ? "kwbin_crc" : "kwbin", t2 - t0, t1 - t0, t3 - t2, sum, bytes, n, mem, extra);
    return 0;
}

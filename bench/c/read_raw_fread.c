/* read_raw_fread.c - the bare payload read with stdio: fopen, one fread of
   the whole file into a malloc'd buffer, then the same reduction with the
   same per-tensor boundaries.

       read_raw_fread RAW.bin RAW.idx                timed run
       read_raw_fread --dump OUT RAW.bin RAW.idx     check mode

   Window: fopen .. the last byte touched; free + fclose timed apart. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>

#include "raw_index.h"

int main(int argc, char **argv)
{
    const char *dump_path = NULL;
    if (argc == 5 && strcmp(argv[1], "--dump") == 0) dump_path = argv[2];
    else if (argc != 3) bench_usage("read_raw_fread [--dump OUT] RAW.bin RAW.idx");
    const char *path = argv[argc - 2];
    raw_index ix = raw_index_load(argv[argc - 1]);

    uint64_t sum = 0, bytes = 0;
    double t0 = bench_now();
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = (unsigned char *)malloc(size ? size : 1);
    if (!buf) return 3;
    double t1 = bench_now();
    if (fread(buf, 1, size, f) != size) {
        fprintf(stderr, "%s: short read\n", path);
        return 1;
    }
    FILE *dump = dump_path ? bench_dump_open(dump_path) : NULL;
    for (size_t i = 0; i < ix.count; i++) {
        if (ix.offset[i] + ix.nbytes[i] > size) {
            fprintf(stderr, "index beyond the file\n");
            return 1;
        }
        sum += bench_reduce(buf + ix.offset[i], (size_t)ix.nbytes[i]);
        bytes += ix.nbytes[i];
        if (dump) bench_dump(dump, ix.name[i], buf + ix.offset[i], ix.nbytes[i]);
    }
    double t2 = bench_now();
    bench_mem mem = bench_memory();
    if (dump) bench_dump_close(dump);
    free(buf);
    fclose(f);
    double t3 = bench_now();
    bench_print("raw_fread", t2 - t0, t1 - t0, t3 - t2, sum, bytes, ix.count, mem, NULL);
    return 0;
}

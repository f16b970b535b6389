/* bench_common.h - what every C benchmark program of bench/bench_c.py shares:
   the clock, the reduction that touches every byte, the check-mode dump and
   the one JSON line each program prints.  Identical code in every program,
   so differences between them are differences in how they get the bytes.

   The reduction is a wrapping 64-bit sum of every little-endian 32-bit word
   (the float32 bit patterns; a trailing partial word adds its bytes).  It is
   an integer sum, so it is exact and independent of the order in which a
   program visits the tensors (libhdf5 via H5Ovisit goes in name order), and
   the runner compares it with the value computed from the sources.  Four
   independent accumulators let the loop run at about two loads per cycle,
   well above the page-fault bandwidth that bounds every reader here. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
#define BENCH_FN static __attribute__((unused))
#else
#define BENCH_FN static
#endif

BENCH_FN double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

BENCH_FN uint64_t bench_reduce(const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint32_t w[4];
        memcpy(w, p + i, 16); /* little-endian host assumed (x86-64) */
        s0 += w[0];
        s1 += w[1];
        s2 += w[2];
        s3 += w[3];
    }
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        s0 += w;
    }
    for (; i < n; i++) s0 += p[i];
    return s0 + s1 + s2 + s3;
}

/* Check mode: every tensor as it was read, for the bit-for-bit pre-pass.
   Record: u32 name length, the name, u64 byte count, the bytes (host order). */
BENCH_FN FILE *bench_dump_open(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return f;
}

BENCH_FN void bench_dump(FILE *f, const char *name, const void *data, uint64_t nbytes)
{
    uint32_t len = (uint32_t)strlen(name);
    if (fwrite(&len, 4, 1, f) != 1 || fwrite(name, 1, len, f) != len || fwrite(&nbytes, 8, 1, f) != 1 ||
        (nbytes && fwrite(data, 1, (size_t)nbytes, f) != (size_t)nbytes)) {
        fprintf(stderr, "short write in the dump\n");
        exit(2);
    }
}

BENCH_FN void bench_dump_close(FILE *f)
{
    if (fclose(f) != 0) {
        fprintf(stderr, "cannot close the dump\n");
        exit(2);
    }
}

/* Peak and current memory of this process (its own address space: exec resets
   VmHWM), in bytes; -1 where /proc is missing. */
typedef struct bench_mem {
    long long hwm, rss, anon, file;
} bench_mem;

BENCH_FN bench_mem bench_memory(void)
{
    bench_mem m = {-1, -1, -1, -1};
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return m;
    while (fgets(line, sizeof line, f)) {
        long long kb;
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) m.hwm = kb * 1024;
        else if (sscanf(line, "VmRSS: %lld kB", &kb) == 1) m.rss = kb * 1024;
        else if (sscanf(line, "RssAnon: %lld kB", &kb) == 1) m.anon = kb * 1024;
        else if (sscanf(line, "RssFile: %lld kB", &kb) == 1) m.file = kb * 1024;
    }
    fclose(f);
    return m;
}

/* The one JSON line of a timed run.  seconds: open .. last byte touched.
   The checksum is printed as a hex string (JSON numbers lose 64-bit ints). */
BENCH_FN void bench_print(const char *tool, double seconds, double open_s, double close_s, uint64_t checksum,
                        uint64_t bytes, uint64_t tensors, bench_mem mem, const char *extra_json)
{
    printf("{\"tool\": \"%s\", \"seconds\": %.9f, \"open_s\": %.9f, \"close_s\": %.9f, "
           "\"checksum\": \"%016llx\", \"bytes\": %llu, \"tensors\": %llu, "
           "\"peak_rss\": %lld, \"rss\": %lld, \"anonymous\": %lld, \"file_backed\": %lld%s%s}\n",
           tool, seconds, open_s, close_s, (unsigned long long)checksum, (unsigned long long)bytes,
           (unsigned long long)tensors, mem.hwm, mem.rss, mem.anon, mem.file, extra_json ? ", " : "",
           extra_json ? extra_json : "");
}

BENCH_FN void bench_usage(const char *usage)
{
    fprintf(stderr, "usage: %s\n", usage);
    exit(2);
}

#endif

/* read_raw_mmap.c - the floor: mmap the bare concatenated payload (no format,
   no checks) exactly as kwbin.h maps a file (PROT_READ, MAP_PRIVATE, no
   madvise) and touch every byte, tensor by tensor, with the same boundaries.

       read_raw_mmap RAW.bin RAW.idx                 timed run
       read_raw_mmap --dump OUT RAW.bin RAW.idx      check mode

   Window: open() .. the last byte touched; munmap + close timed apart. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raw_index.h"

int main(int argc, char **argv)
{
    const char *dump_path = NULL;
    if (argc == 5 && strcmp(argv[1], "--dump") == 0) dump_path = argv[2];
    else if (argc != 3) bench_usage("read_raw_mmap [--dump OUT] RAW.bin RAW.idx");
    const char *path = argv[argc - 2];
    raw_index ix = raw_index_load(argv[argc - 1]);

    uint64_t sum = 0, bytes = 0;
    double t0 = bench_now();
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const unsigned char *map = (const unsigned char *)mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == (const unsigned char *)MAP_FAILED) {
        fprintf(stderr, "%s: mmap: %s\n", path, strerror(errno));
        return 1;
    }
    double t1 = bench_now();
    FILE *dump = dump_path ? bench_dump_open(dump_path) : NULL;
    for (size_t i = 0; i < ix.count; i++) {
        if (ix.offset[i] + ix.nbytes[i] > size) {
            fprintf(stderr, "index beyond the file\n");
            return 1;
        }
        sum += bench_reduce(map + ix.offset[i], (size_t)ix.nbytes[i]);
        bytes += ix.nbytes[i];
        if (dump) bench_dump(dump, ix.name[i], map + ix.offset[i], ix.nbytes[i]);
    }
    double t2 = bench_now();
    bench_mem mem = bench_memory();
    if (dump) bench_dump_close(dump);
    munmap((void *)map, size);
    close(fd);
    double t3 = bench_now();
    bench_print("raw_mmap", t2 - t0, t1 - t0, t3 - t2, sum, bytes, ix.count, mem, NULL);
    return 0;
}

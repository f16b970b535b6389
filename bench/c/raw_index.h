/* raw_index.h - the tensor boundaries of the format-less raw payload file.
   RAW.idx has one line per tensor, "<nbytes> <name>", in payload order; the
   tensors lie back to back from offset 0.  A raw reader has no header, so
   the table is given to it for free: it is read BEFORE the clock starts. */
#ifndef RAW_INDEX_H
#define RAW_INDEX_H

#include "bench_common.h"

typedef struct raw_index {
    size_t count;
    uint64_t *offset, *nbytes;
    char **name;
} raw_index;

BENCH_FN raw_index raw_index_load(const char *path)
{
    raw_index ix = {0, NULL, NULL, NULL};
    size_t cap = 0;
    uint64_t off = 0;
    char line[4096];
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long long nb;
        int used = 0;
        if (sscanf(line, "%llu %n", &nb, &used) != 1) continue;
        if (ix.count == cap) {
            cap = cap ? 2 * cap : 1024;
            ix.offset = (uint64_t *)realloc(ix.offset, cap * sizeof *ix.offset);
            ix.nbytes = (uint64_t *)realloc(ix.nbytes, cap * sizeof *ix.nbytes);
            ix.name = (char **)realloc(ix.name, cap * sizeof *ix.name);
            if (!ix.offset || !ix.nbytes || !ix.name) exit(3);
        }
        line[strcspn(line, "\n")] = 0;
        ix.offset[ix.count] = off;
        ix.nbytes[ix.count] = nb;
        size_t len = strlen(line + used);
        ix.name[ix.count] = (char *)malloc(len + 1);
        if (!ix.name[ix.count]) exit(3);
        memcpy(ix.name[ix.count], line + used, len + 1);
        off += nb;
        ix.count++;
    }
    fclose(f);
    return ix;
}

#endif

/* libFuzzer target for c_reader/kwbin.h.

   Build and run (see the Makefile's fuzz targets):
       clang -g -O1 -fsanitize=fuzzer,address,undefined -Ic_reader \
             fuzz/c/fuzz_kwbin.c -o build/fuzz_kwbin
       build/fuzz_kwbin -dict=fuzz/c/kwbin.dict fuzz/c/corpus spec/vectors/valid

   Every input is opened twice (from memory with zero allocations, and with
   the allocating index), then listed, looked up (every layer, tensor and
   weight; the memory-less open by scanning and then through
   kwb_build_index), converted and verified.
   The custom mutator recomputes the header CRC-32 after half the mutations,
   so mutated tables reach the checks behind the checksum. */
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"

#include <stdlib.h>
#include <string.h>

#include "header_crc.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);


size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    if (seed & 1) fix_header_crc(data, size);
    return size;
}

static void exercise(const kwb_file *f)
{
    float buffer[256];
    for (uint32_t i = 0; i < kwb_layer_count(f); i++) {
        kwb_layer layer;
        if (kwb_get_layer(f, i, &layer) != KWB_OK) abort();
        kwb_layer found;
        if (kwb_find_layer(f, layer.name, &found) != KWB_OK) abort();
    }
    for (uint32_t i = 0; i < kwb_tensor_count(f); i++) {
        kwb_tensor t, found;
        if (kwb_get_tensor(f, i, &t) != KWB_OK) abort();
        if (kwb_find_tensor(f, t.name, &found) != KWB_OK || found.index != i) abort();
        if (t.layer != KWB_NONE) {
            kwb_layer owner;
            if (kwb_get_layer(f, t.layer, &owner) != KWB_OK ||
                kwb_find_weight(f, owner.name, t.weight, &found) != KWB_OK || found.index != i)
                abort();
        }
        if (t.count <= 256) (void)kwb_copy_f32(&t, buffer, 256);
        (void)kwb_tensor_f32(&t);
    }
    (void)kwb_verify(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kwb_file plain, indexed;
    kwb_result a = kwb_open_memory(&plain, data, size);
    kwb_result b = kwb_open_memory_ex(&indexed, data, size, NULL);
    /* Both ways of opening give the same verdict, unless the allocation-free
       one declined for lack of memory (a resource limit, not a verdict). */
    if (a != b && a != KWB_ERR_NEEDS_MEMORY) abort();
    if (a == KWB_OK) {
        void *index = malloc(kwb_index_size(&plain));
        exercise(&plain); /* by scanning */
        if (!index || kwb_build_index(&plain, index, kwb_index_size(&plain)) != KWB_OK) abort();
        exercise(&plain); /* through the caller's index (sorted names) */
        kwb_close(&plain);
        free(index);
    }
    if (b == KWB_OK) exercise(&indexed);
    kwb_close(&plain); /* (harmless after a failed open) */
    kwb_close(&indexed);
    (void)kwb_result_string(a);
    return 0;
}

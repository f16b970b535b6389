/* embedded: the network compiled into the program, as firmware would have it:
   no file I/O, no heap; every byte kwbin.h and kwbin_nn.h need comes from one
   static arena through their allocator hooks.

       kwbin pack examples/seed_k3.keras -o seed_k3.kwb
       kwbin c-array seed_k3.kwb -o model_data.h --name model
       cc -std=c99 -O2 -Ic_reader -I. -o embedded c_reader/examples/embedded.c -lm
       ./embedded

   model_data.h (from `kwbin c-array`) holds the file as an aligned const
   array; kwb_open_memory reads it in place.  The input is the first sample of
   examples/seed_k3.input.npy, written below; the outputs are printed one per
   line (compare with the first row of examples/seed_k3.output.npy). */

/* No file access: kwb_open_path and <stdio.h> are left out of kwbin.h. */
#define KWBIN_NO_STDIO
/* No heap: the default allocators fail, so any allocation that did not go
   through the arena below would show up as an error. */
#define KWBIN_MALLOC(size) ((void)(size), (void *)0)
#define KWBIN_FREE(ptr) ((void)(ptr))
#define KWNN_MALLOC(size) ((void)(size), (void *)0)
#define KWNN_FREE(ptr) ((void)(ptr))
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include "model_data.h"

#include <stdio.h> /* only to print the results */

/* A bump allocator over a static arena: enough for this model's layer table,
   folded batch normalizations, lookup index and one sample's scratch. */
#define ARENA_SIZE (64u * 1024u)
#define ARENA_ALIGN 64u

typedef struct arena {
    size_t used;
    union { double d; void *p; unsigned char bytes[ARENA_SIZE]; } mem;
} arena;

static arena the_arena;

static void *arena_alloc(size_t size, void *user_data)
{
    arena *a = (arena *)user_data;
    size_t start = (a->used + (ARENA_ALIGN - 1u)) & ~(size_t)(ARENA_ALIGN - 1u);
    if (start > ARENA_SIZE || size > ARENA_SIZE - start) return NULL;
    a->used = start + size;
    return a->mem.bytes + start;
}

static void arena_free(void *ptr, void *user_data)
{
    (void)ptr; /* everything is released at once, when the program ends */
    (void)user_data;
}

/* The first sample of examples/seed_k3.input.npy (39 features). */
static const float input[] = {
    -2.8260088f, 0.09379092f, -0.9175601f, -2.5726986f, -0.44272038f, 0.43861294f, -1.1017326f,
    1.2905992f, -1.1666712f, -1.7283074f, -3.0771856f, -1.9900984f, 3.0855753f, 0.9036588f,
    -0.9808334f, 0.8566339f, 0.8621575f, 2.6321874f, -0.42457193f, 0.81555045f, 1.2016038f,
    -3.6975925f, -1.8314584f, 0.5896973f, 1.7698137f, -1.6038634f, 3.523122f, 0.018256687f,
    1.397301f, -6.997058f, 1.5692996f, -0.60641086f, -0.6618699f, 2.1692836f, 0.045396812f,
    -1.3406631f, -1.5290014f, 0.95038474f, 0.2871134f,
};

#define MAX_OUTPUTS 1024

int main(void)
{
    static float output[MAX_OUTPUTS];
    kwb_file f;
    kwnn_net net;
    kwnn_options opt = {0};
    void *index, *scratch;
    size_t index_size, need, i;
    kwb_result r;

    r = kwb_open_memory(&f, model, model_size); /* zero allocations: the array is used in place */
    if (r == KWB_OK) r = kwb_verify(&f);
    if (r != KWB_OK) {
        fprintf(stderr, "model: %s\n", kwb_result_string(r));
        return 1;
    }
    index_size = kwb_index_size(&f); /* optional: name lookups by hash instead of scans */
    index = arena_alloc(index_size, &the_arena);
    if (index == NULL || kwb_build_index(&f, index, index_size) != KWB_OK) {
        fprintf(stderr, "arena too small for the index (%lu bytes)\n", (unsigned long)index_size);
        return 1;
    }
    opt.alloc_fn = arena_alloc;
    opt.free_fn = arena_free;
    opt.user_data = &the_arena;
    if (kwnn_load(&net, &f, &opt) != KWNN_OK) {
        fprintf(stderr, "model: %s: %s\n", kwnn_result_string(net.error), net.message);
        return 1;
    }
    if (net.input_count != sizeof input / sizeof input[0] || net.output_count > MAX_OUTPUTS) {
        fprintf(stderr, "this example is for seed_k3: %lu inputs, at most %u outputs\n",
               (unsigned long)(sizeof input / sizeof input[0]), MAX_OUTPUTS);
        return 1;
    }
    need = kwnn_scratch_size(&net, 1);
    scratch = arena_alloc(need, &the_arena);
    if (need > 0 && scratch == NULL) {
        fprintf(stderr, "arena too small for the scratch (%lu bytes)\n", (unsigned long)need);
        return 1;
    }
    if (kwnn_run(&net, input, net.input_count, output, net.output_count, scratch, need, 1) != KWNN_OK) {
        fprintf(stderr, "kwnn_run failed\n");
        return 1;
    }
    printf("# %lu-byte model, arena %lu of %u bytes used\n", (unsigned long)model_size,
           (unsigned long)the_arena.used, ARENA_SIZE);
    for (i = 0; i < net.output_count; i++) printf("%.9g\n", (double)output[i]);
    kwnn_free(&net);
    kwb_close(&f);
    return 0;
}

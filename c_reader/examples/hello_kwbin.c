/* hello_kwbin: open a kwbin file, list its layers, print one kernel.

       cc -std=c99 -O2 -Ic_reader -o hello_kwbin c_reader/examples/hello_kwbin.c
       ./hello_kwbin model.kwb [LAYER]

   Uses kwbin.h only: the weights are read in place from the mapped file. */
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    kwb_file f;
    kwb_layer layer;
    kwb_tensor kernel;
    kwb_result r;
    uint32_t i;

    if (argc < 2) {
        fprintf(stderr, "usage: hello_kwbin MODEL.kwb [LAYER]\n");
        return 2;
    }
    r = kwb_open_path(&f, argv[1], NULL);
    if (r != KWB_OK) {
        fprintf(stderr, "%s: %s: %s\n", argv[1], kwb_result_string(r), f.message);  /* what, where */
        return 1;
    }
    for (i = 0; i < kwb_layer_count(&f); i++) {  /* every layer, in model order */
        kwb_get_layer(&f, i, &layer);
        printf("%-24s %-20s %u tensor(s)\n", layer.name, layer.class_name, layer.tensor_count);
    }
    for (i = 0; i < kwb_layer_count(&f); i++) {  /* the named layer, else the first with a kernel */
        kwb_get_layer(&f, i, &layer);
        if (argc > 2 ? strcmp(layer.name, argv[2]) == 0 : layer.tensor_count > 0) break;
    }
    if (i == kwb_layer_count(&f) || kwb_find_weight(&f, layer.name, "kernel", &kernel) != KWB_OK) {
        fprintf(stderr, "no such layer with a kernel\n");
        kwb_close(&f);
        return 1;
    }
    printf("%s: %s, shape (", kernel.name, kwb_dtype_name(kernel.dtype));
    for (i = 0; i < kernel.ndim; i++)
        printf("%s%llu", i ? ", " : "", (unsigned long long)kernel.shape[i]);
    printf(")\n");
    {
        const float *w = kwb_tensor_f32(&kernel);  /* zero-copy; NULL if not float32 */
        uint64_t k;
        if (w != NULL) {
            printf("first values:");
            for (k = 0; k < kernel.count && k < 5; k++) printf(" %g", (double)w[k]);
            printf("\n");
        }
    }
    kwb_close(&f);
    return 0;
}

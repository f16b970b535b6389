/* infer: open a kwbin file, verify it, build the network, run one input, print the outputs.

       cc -std=c99 -O2 -Ic_reader -o infer c_reader/examples/infer.c -lm
       ./infer model.kwb input.txt        (or: ./infer model.kwb < input.txt)

   The input is text: the network's input_count numbers (one sample, in the
   Keras shape without the batch axis, row-major), separated by spaces or
   newlines.  The outputs are printed one per line.  Uses kwbin.h and
   kwbin_nn.h; link with -lm. */
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"

#include <stdio.h>
#include <stdlib.h>

/* Reads exactly `count` numbers from `in`; 0 on success. */
static int read_numbers(FILE *in, float *x, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++) {
        if (fscanf(in, "%f", &x[i]) != 1) {
            fprintf(stderr, "input: expected %lu numbers, read %lu\n", (unsigned long)count, (unsigned long)i);
            return 1;
        }
    }
    return 0;
}

static int run(const kwnn_net *net, FILE *in)
{
    size_t need = kwnn_scratch_size(net, 1);
    float *x = (float *)malloc(net->input_count * sizeof(float));
    float *y = (float *)malloc(net->output_count * sizeof(float));
    void *scratch = need ? malloc(need) : NULL;
    int status = 1;
    size_t i;

    if (x == NULL || y == NULL || (need && scratch == NULL)) {
        fprintf(stderr, "out of memory\n");
    } else if (read_numbers(in, x, net->input_count) == 0) {
        kwnn_result r = kwnn_run(net, x, net->input_count, y, net->output_count, scratch, need, 1);
        if (r != KWNN_OK) {
            fprintf(stderr, "kwnn_run: %s\n", kwnn_result_string(r));
        } else {
            for (i = 0; i < net->output_count; i++) printf("%.9g\n", (double)y[i]);
            status = 0;
        }
    }
    free(scratch);
    free(y);
    free(x);
    return status;
}

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    kwb_result r;
    FILE *in = stdin;
    int status;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: infer MODEL.kwb [INPUT.txt]\n");
        return 2;
    }
    r = kwb_open_path(&f, argv[1], NULL);           /* every structural check of the spec */
    if (r == KWB_OK) r = kwb_verify(&f);            /* and every tensor's CRC-32 */
    if (r != KWB_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], kwb_result_string(r));
        kwb_close(&f);
        return 1;
    }
    if (kwnn_load(&net, &f, NULL) != KWNN_OK) {     /* the network, from the file alone */
        fprintf(stderr, "%s: %s: %s\n", argv[1], kwnn_result_string(net.error), net.message);
        kwb_close(&f);
        return 1;
    }
    if (argc == 3 && (in = fopen(argv[2], "r")) == NULL) {
        perror(argv[2]);
        status = 1;
    } else {
        status = run(&net, in);
        if (in != stdin) fclose(in);
    }
    kwnn_free(&net);
    kwb_close(&f);
    return status;
}

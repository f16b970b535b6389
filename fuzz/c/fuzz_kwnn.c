/* libFuzzer target for c_reader/kwbin_nn.h (inference from a kwbin file).

   Build and run (see the Makefile's fuzz-kwnn targets):
       clang -g -O1 -fsanitize=fuzzer,address,undefined -Ic_reader \
             fuzz/c/fuzz_kwnn.c -o build/fuzz_kwnn
       build/fuzz_kwnn -dict=fuzz/c/kwnn.dict fuzz/c/corpus-kwnn

   Each input is opened from memory, loaded as a network (cost capped at
   MAX_COST operations per sample, so a costly but valid model is refused
   at load, cheaply: a time-out is a finding), then run with batch 4 and
   batch 1 on inputs derived from the data; sample 2 alone must give the
   same bits as row 2 of the batch (the header promises it; NaNs aside).
   The custom mutator recomputes the header CRC-32 (the only checksum that
   gates parsing: tensor CRCs are checked by kwb_verify, not by kwnn_load)
   after most mutations, so mutated tables and configs reach kwnn_load. */
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"

#include <stdlib.h>
#include <string.h>

#include "header_crc.h"

#define MAX_COST 200000u           /* operations per sample */
#define MAX_FLOATS ((size_t)1 << 18) /* per buffer of a run (batch 4) */
#define BATCH 4

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);


size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    if (seed % 8 != 0) fix_header_crc(data, size);
    return size;
}

/* Deterministic inputs from the data: small values, some zeros and negatives. */
static void fill_input(float *x, size_t n, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = data[(i * 131 + 7) % size];
        x[i] = (float)((int)b - 128) / 16.0f;
    }
}

static void check_message(const kwnn_net *net)
{
    const char *end = memchr(net->message, '\0', KWNN_MESSAGE_SIZE);
    if (end == NULL || end == net->message) abort(); /* NUL-terminated, not empty */
    size_t len = (size_t)(end - net->message);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)net->message[i] < 0x20) abort(); /* one line */
}

/* Same bits, except that a NaN may come out with another sign or payload
   (x86 propagates the first operand's NaN, and vector and scalar code may
   order the operands of a commutative operation differently). */
static int same_results(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] != a[i] && b[i] != b[i]) && memcmp(a + i, b + i, sizeof *a) != 0) return 0;
    return 1;
}

/* Several inputs or outputs: kwnn_run refuses; kwnn_run_multi at batch 4,
   then sample 2 alone, same bits. */
static void exercise_multi(const kwnn_net *net, const uint8_t *data, size_t size)
{
    enum { MAX_IO = 8 };
    const float *xs[MAX_IO], *x1s[MAX_IO];
    float *ys[MAX_IO], *y1s[MAX_IO], dummy = 0.0f;
    size_t ic[MAX_IO], oc[MAX_IO], ic1[MAX_IO], oc1[MAX_IO], total = 0;
    uint32_t ni = net->num_inputs, no = net->num_outputs, i;
    if (kwnn_run(net, &dummy, 1, &dummy, 1, NULL, 0, 1) != KWNN_ERR_ARITY) abort();
    if (ni > MAX_IO || no > MAX_IO) return;
    for (i = 0; i < ni + no; i++) {
        size_t n = i < ni ? kwnn_input_size(net, i) : kwnn_output_size(net, i - ni);
        if (n == 0 || n > MAX_FLOATS / BATCH || (total += n) > MAX_FLOATS) return;
    }
    size_t need = kwnn_scratch_size(net, BATCH), need1 = kwnn_scratch_size(net, 1);
    if (need == (size_t)-1 || need1 > need || need > MAX_FLOATS * 2 * sizeof(float) + 64) return;
    void *scratch = malloc(need ? need : 1);
    if (scratch == NULL) abort();
    for (i = 0; i < ni; i++) {
        float *x = (float *)malloc(kwnn_input_size(net, i) * BATCH * sizeof *x);
        if (x == NULL) abort();
        ic[i] = kwnn_input_size(net, i) * BATCH;
        ic1[i] = kwnn_input_size(net, i);
        fill_input(x, ic[i], data + i % size, size - i % size);
        xs[i] = x;
        x1s[i] = x + 2 * ic1[i];
    }
    for (i = 0; i < no; i++) {
        oc1[i] = kwnn_output_size(net, i);
        oc[i] = oc1[i] * BATCH;
        ys[i] = (float *)malloc(oc[i] * sizeof(float));
        y1s[i] = (float *)malloc(oc1[i] * sizeof(float));
        if (ys[i] == NULL || y1s[i] == NULL) abort();
    }
    kwnn_result r = kwnn_run_multi(net, xs, ic, ys, oc, scratch, need, BATCH);
    if (r != KWNN_OK && r != KWNN_ERR_INPUT_VALUE) abort(); /* an Embedding id outside its table */
    if (r == KWNN_OK && kwnn_run_multi(net, x1s, ic1, y1s, oc1, scratch, need1, 1) != KWNN_OK) abort();
    for (i = 0; r == KWNN_OK && i < no; i++)
        if (!same_results(y1s[i], ys[i] + 2 * oc1[i], oc1[i])) abort();
    for (i = 0; i < ni; i++) free((void *)xs[i]);
    for (i = 0; i < no; i++) {
        free(ys[i]);
        free(y1s[i]);
    }
    free(scratch);
}

/* A None axis (net->variable): kwnn_run refuses; kwnn_run_shapes with lengths 1..4 from the data
   at batch 4, then sample 2 alone, same bits; a length of 0 is refused with a message. */
static void exercise_variable(const kwnn_net *net, const uint8_t *data, size_t size)
{
    enum { MAX_IO = 8 };
    kwnn_shape in_shapes[MAX_IO], out_shapes[MAX_IO];
    const float *xs[MAX_IO], *x1s[MAX_IO];
    float *ys[MAX_IO], *y1s[MAX_IO], dummy = 0.0f;
    size_t cap[MAX_IO], cap1[MAX_IO], need = 0, need1 = 0, total = 0, got = 0;
    uint32_t ni = net->num_inputs, no = net->num_outputs, i, d;
    char message[KWNN_MESSAGE_SIZE];
    if (kwnn_run(net, &dummy, 1, &dummy, 1, NULL, 0, 1) != (ni == 1 && no == 1 ? KWNN_ERR_SHAPE : KWNN_ERR_ARITY))
        abort();
    if (ni > MAX_IO || no > MAX_IO) return;
    for (i = 0; i < ni; i++) {
        uint32_t nd = 0;
        const size_t *shape = kwnn_input_shape(net, i, &nd);
        in_shapes[i].ndim = nd;
        for (d = 0; d < nd; d++) in_shapes[i].dims[d] = shape[d];
        for (d = 0; d < nd; d++) /* the nominal 32 marks a None axis (or a fixed 32: then refused) */
            if (shape[d] == 32) in_shapes[i].dims[d] = 1 + data[(i * 7 + d) % size] % 4;
    }
    kwnn_result r = kwnn_scratch_size_shapes(net, in_shapes, BATCH, &need, out_shapes, message);
    if (r != KWNN_OK) {
        if (memchr(message, '\0', sizeof message) == NULL || message[0] == '\0') abort();
        return;
    }
    if (kwnn_scratch_size_shapes(net, in_shapes, 1, &need1, NULL, NULL) != KWNN_OK || need1 > need) abort();
    if (need > MAX_FLOATS * 16) return;
    size_t counts[2 * MAX_IO];
    for (i = 0; i < ni + no; i++) {
        const kwnn_shape *s = i < ni ? &in_shapes[i] : &out_shapes[i - ni];
        size_t n = 1;
        for (d = 0; d < s->ndim; d++) n *= s->dims[d]; /* the library checked the products */
        if (n == 0 || n > MAX_FLOATS / BATCH || (total += n) > MAX_FLOATS) return;
        counts[i] = n;
    }
    for (i = 0; i < ni + no; i++) {
        size_t n = counts[i];
        if (i < ni) {
            float *x = (float *)malloc(n * BATCH * sizeof *x);
            if (x == NULL) abort();
            fill_input(x, n * BATCH, data + i % size, size - i % size);
            xs[i] = x;
            x1s[i] = x + 2 * n;
        } else {
            cap1[i - ni] = n;
            cap[i - ni] = n * BATCH;
            ys[i - ni] = (float *)malloc(n * BATCH * sizeof(float));
            y1s[i - ni] = (float *)malloc(n * sizeof(float));
            if (ys[i - ni] == NULL || y1s[i - ni] == NULL) abort();
        }
    }
    void *scratch = malloc(need);
    if (scratch == NULL) abort();
    if (kwnn_run_shapes(net, xs, in_shapes, ys, cap, NULL, scratch, need - 1, BATCH, &got, NULL) != KWNN_ERR_SCRATCH ||
        got != need)
        abort();
    r = kwnn_run_shapes(net, xs, in_shapes, ys, cap, NULL, scratch, need, BATCH, NULL, message);
    if (r != KWNN_OK && r != KWNN_ERR_INPUT_VALUE) abort();
    if (r == KWNN_OK && kwnn_run_shapes(net, x1s, in_shapes, y1s, cap1, NULL, scratch, need, 1, NULL, NULL) != KWNN_OK)
        abort();
    for (i = 0; r == KWNN_OK && i < no; i++)
        if (!same_results(y1s[i], ys[i] + 2 * cap1[i], cap1[i])) abort();
    for (i = 0; i < ni; i++) free((void *)xs[i]);
    for (i = 0; i < no; i++) {
        free(ys[i]);
        free(y1s[i]);
    }
    free(scratch);
}

static void exercise(const kwnn_net *net, const uint8_t *data, size_t size)
{
    size_t in = net->input_count, out = net->output_count;
    if (net->variable) {
        if (kwnn_cost_per_sample(net) > MAX_COST) abort();
        exercise_variable(net, data, size);
        return;
    }
    if (net->num_inputs != 1 || net->num_outputs != 1) {
        if (kwnn_cost_per_sample(net) > MAX_COST) abort();
        exercise_multi(net, data, size);
        return;
    }
    if (kwnn_cost_per_sample(net) > MAX_COST) abort(); /* the cap was not applied */
    if (in == 0 || out == 0 || in > MAX_FLOATS / BATCH || out > MAX_FLOATS / BATCH) return;
    size_t need = kwnn_scratch_size(net, BATCH), need1 = kwnn_scratch_size(net, 1);
    if (need == (size_t)-1 || need1 > need || need > MAX_FLOATS * 2 * sizeof(float) + 64) return;
    float *x = (float *)malloc(in * BATCH * sizeof *x);
    float *y = (float *)malloc(out * BATCH * sizeof *y);
    float *y1 = (float *)malloc(out * sizeof *y1);
    void *scratch = malloc(need ? need : 1);
    if (x == NULL || y == NULL || y1 == NULL || scratch == NULL) abort();
    fill_input(x, in * BATCH, data, size);
    if (kwnn_run(net, x, in * BATCH - 1, y, out * BATCH, scratch, need, BATCH) != KWNN_ERR_SIZE) abort();
    kwnn_result r = kwnn_run(net, x, in * BATCH, y, out * BATCH, scratch, need, BATCH);
    if (r != KWNN_OK && r != KWNN_ERR_INPUT_VALUE) abort(); /* an Embedding id outside its table */
    if (r == KWNN_OK && kwnn_run(net, x + 2 * in, in, y1, out, scratch, need1, 1) != KWNN_OK) abort();
    if (r == KWNN_OK && !same_results(y1, y + 2 * out, out)) abort(); /* same bits for any batch */
    free(scratch);
    free(y1);
    free(y);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kwb_file f;
    kwnn_net net;
    kwnn_options opt;
    if (kwb_open_memory(&f, data, size) != KWB_OK) return 0;
    memset(&opt, 0, sizeof opt);
    opt.max_cost = MAX_COST;
    opt.hard_sigmoid = (int)(size % 3);
    if (kwnn_load(&net, &f, &opt) == KWNN_OK) {
        for (uint32_t i = 0; i < net.layer_count; i++) (void)kwnn_kind_name(net.layers[i].kind);
        exercise(&net, data, size);
    } else {
        check_message(&net);
        if (net.layers != NULL) abort(); /* nothing stays allocated */
    }
    (void)kwnn_result_string(net.error);
    kwnn_free(&net);
    kwb_close(&f);
    return 0;
}

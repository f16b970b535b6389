/* kwbin_nn.h - reference inference of Keras networks from a kwbin file, in C.
   MIT License (see LICENSE).

   One file, stb style, built on kwbin.h (the reader).  In exactly ONE C or
   C++ file of your program write

       #define KWBIN_IMPLEMENTATION      (unless another file already has it)
       #define KWBIN_NN_IMPLEMENTATION
       #include "kwbin_nn.h"

   and include it plainly everywhere else.  C99 or C++, libc (<string.h>,
   <stdlib.h> unless KWNN_MALLOC/KWNN_FREE are given) and <math.h> only; link
   with -lm.  No global mutable state.

   The network is built from the file alone: the layer table (names, Keras
   classes, config JSON of every layer, in model order), the tensors, and the
   metadata (which Keras generation wrote it; the model config, to check that
   a functional graph is a chain).  Nothing else is needed: no Python, no
   HDF5, no architecture code.

   EXAMPLE

       kwb_file f;
       kwnn_net net;
       if (kwb_open_path(&f, "model.kwb", NULL) != KWB_OK) ...;
       if (kwnn_load(&net, &f, NULL) != KWNN_OK) {
           fprintf(stderr, "%s: %s\n", kwnn_result_string(net.error), net.message);
           ...
       }
       size_t need = kwnn_scratch_size(&net, batch);        // bytes
       void *scratch = malloc(need);                         // may be NULL if need == 0
       kwnn_result r = kwnn_run(&net, x, batch * net.input_count,
                                y, batch * net.output_count, scratch, need, batch);
       ...
       kwnn_free(&net);     // before or after kwb_close, but the net is
       kwb_close(&f);       // only usable while f is open

   API

   kwnn_load(net, f, opt)
       Builds the network from the open file `f`.  `net` is yours (on the
       stack, static, in a struct: sizeof(kwnn_net) is under 1 KiB); kwnn_load
       zeroes it first.  Makes exactly ONE allocation, through opt->alloc_fn
       (default malloc), holding the layer array and the parameters that
       cannot be used in place: weights that are not float32 (float16,
       bfloat16, float64 are converted once) or that kwb_tensor_f32 cannot
       hand out (big-endian host, unaligned buffer), kernels of
       Theano-trained convolutions (flipped once) and every
       BatchNormalization folded to a per-channel scale and shift.  Every
       other weight is used IN PLACE (kwb_tensor_f32): the file must stay
       open, unchanged, for as long as the net is used.  Because the layer
       array lives in that allocation too (sized from the file's layer
       count), there is no fixed maximum number of layers (no
       KWNN_MAX_LAYERS).  The layer table is read in two passes (measure,
       then fill); the configs are not read again after kwnn_load.  On failure the result is also in net->error,
       net->message says what and which layer ("layer 'lstm' (LSTM):
       unsupported layer class"; one line, control characters replaced by
       '?'), nothing stays allocated, and kwnn_free is not needed (but is
       harmless).  `opt` may be NULL (all defaults).
   kwnn_free(net)
       Releases the allocation and zeroes net.  Safe on a zeroed net.
   kwnn_scratch_size(net, batch)
       Bytes of scratch memory kwnn_run needs for `batch` samples: two
       ping-pong buffers of the largest intermediate activation, plus 64
       bytes of alignment slack.  0 when no intermediate buffer is needed;
       SIZE_MAX when batch < 1 or the size overflows.
   kwnn_run(net, input, in_count, output, out_count, scratch, scratch_size, batch)
       Runs `batch` samples.  input: batch * net->input_count floats
       (row-major, the Keras shape without the batch axis: for a
       channels_last image (H, W, C)); output: batch * net->output_count
       floats.  in_count / out_count are the lengths of the two arrays, in
       floats, and must be exactly those (else KWNN_ERR_SIZE); scratch_size
       must be at least kwnn_scratch_size (else KWNN_ERR_SCRATCH).  input and
       output must not overlap.  NO allocation, no I/O, no global state:
       several threads may run one net at once, each with its own scratch
       and output.  A run error leaves net->message untouched (the net is
       const); the code says which check failed.
   kwnn_cost_per_sample(net)
       Operations per sample (multiply-adds, compares, elementwise steps)
       that kwnn_run does, as counted at load from the shapes: an upper
       bound of what its loops visit (a window visits only the taps that
       fall on its input).  Also per layer: net->layers[i].cost.  0 for a
       net that is not loaded.
   kwnn_result_string(r)   "ok", "unsupported", "size", "too_costly", ...
   kwnn_kind_name(k), kwnn_activation_name(a)
                           "Dense", "relu", ... (for listings)

   The loaded net (read-only fields):
       layer_count, layers[i]  one kwnn_layer per row of the file's layer
                               table, same order: name, class_name, kind,
                               act, in/out shape (per sample), weights.
       input_ndim, input_shape[], input_count     per sample, batch excluded
       output_ndim, output_shape[], output_count
       hard_sigmoid            the form chosen (KWNN_HARD_SIGMOID_KERAS3/2)
       error, message          of the last kwnn_load

   kwnn_options (zero-initialise; NULL = all defaults)
       alloc_fn, free_fn, user_data   the allocator of kwnn_load/kwnn_free
                       (set both or neither; default malloc/free)
       hard_sigmoid    KWNN_HARD_SIGMOID_AUTO (0, default): the generation
                       recorded in the metadata decides (see ACTIVATIONS);
                       KWNN_HARD_SIGMOID_KERAS3 / _KERAS2 force one form.
       max_cost        0 (default): no cap.  Else kwnn_load refuses, with
                       KWNN_ERR_COST and a message giving the cost and the
                       cap, a net whose kwnn_cost_per_sample exceeds it
                       (before allocating): a small file cannot ask for
                       hours of work per sample.

   SUPPORTED LAYERS (anything else: KWNN_ERR_UNSUPPORTED naming the layer
   and its class, at load time)

   The configs of every Keras generation are read: Keras 1 (output_dim,
   bias, init, nb_filter, nb_row, nb_col, subsample, border_mode,
   dim_ordering, mode, p, ...), Keras 2 / tf.keras (units, use_bias,
   padding, data_format, axis as a list, alpha, ...) and Keras 3 (batch_shape,
   negative_slope, activation objects, keepdims, ...).  Data layout is
   channels_last throughout ("tf" in Keras 1); channels_first / "th" is
   refused.

     InputLayer        batch_shape | batch_input_shape: the input shape.
     Dense             units | output_dim, activation, use_bias | bias
                       (default true).  kernel (in, units), bias (units).
                       On inputs of rank > 1 it acts on the last axis.
     BatchNormalization  axis must be the last one (-1, or rank, or [rank]);
                       epsilon (default 1e-3), center, scale (default true:
                       beta / gamma are then required; without them 0 / 1);
                       moving_mean, moving_variance.  Keras 1: mode 0 only
                       (the importer already packs running_std, which holds
                       the variance, as moving_variance).  Computed as Keras
                       3 does: inv = gamma / sqrt(var + eps) (in double,
                       rounded), y = x * inv + (beta - mean * inv).
     Activation        activation (any of ACTIVATIONS).
     ReLU              max_value (null = none), negative_slope, threshold:
                       Keras's own formula, edge cases included.
     LeakyReLU         negative_slope (Keras 3) | alpha (Keras 1/2); 0.3.
     ELU               alpha (1.0).
     ThresholdedReLU   theta (1.0): x > theta ? x : 0.
     Softmax           axis must be the last (-1).
     Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
     AlphaDropout, ActivityRegularization, Identity
                       identity (inference).
     Flatten           channels_last (or rank <= 1); free (no copy).
     Reshape           target_shape, with at most one -1; free.
     Conv2D, Convolution2D, AtrousConvolution2D
                       input (H, W, C); filters | nb_filter; kernel_size |
                       nb_row, nb_col; strides | subsample; padding |
                       border_mode ("valid", "same": TensorFlow's split,
                       the extra pixel at the bottom/right); dilation_rate |
                       atrous_rate; groups 1; use_bias | bias; activation.
                       kernel (kh, kw, cin, filters).  When the metadata
                       says the kernels are Theano's (key "conv_kernels"
                       starting with "theano", which `kwbin pack` writes for
                       Theano-backend files), they are flipped once at load.
     MaxPooling2D, AveragePooling2D (and MaxPool2D, AvgPool2D)
                       pool_size (2, 2), strides (null = pool_size), padding
                       | border_mode; "same" averages count only the real
                       inputs (as TensorFlow and Keras 3 do).
     GlobalAveragePooling1D/2D/3D, GlobalMaxPooling1D/2D/3D (and the
     GlobalAvgPool / GlobalMaxPool aliases)
                       over every axis but the last; keepdims.
     Sequential, Functional, Model (nested models)
                       their layers follow them in the table (names
                       "outer/inner") and run in that order.

   The graph must be a chain.  A Sequential is one.  For a Functional (or
   Model) config, at the top level (metadata "model_config") and for each
   nested one, kwnn_load checks that every layer is called once, that the
   first takes no input, that each other one takes exactly one tensor and
   that it comes from the layer listed right before it, that the model's
   input / output are the first / last layer (one walk over the config),
   and that the config lists the table's layers in table order (one walk
   over the table): linear in the number of layers.  Else
   KWNN_ERR_UNSUPPORTED ("takes its input from 'a', not from 'b' ...").  A
   file without "model_config" (written by hand with kwbin.Writer) is taken
   as a chain in table order.

   The input shape (per sample) comes from the first layer: an InputLayer's
   batch_shape / batch_input_shape, else the first layer's
   batch_input_shape / batch_shape / input_dim, else (Dense) its kernel's
   rows.  Every dimension after the batch must be known (not null).

   ACTIVATIONS (the `activation` of Dense / Conv2D / Activation)

     linear, relu, relu6, leaky_relu (negative_slope 0.2, as Keras 3's
     function; the LeakyReLU layer's default is 0.3), elu (alpha 1), selu,
     celu (alpha 1), gelu (erf form, Keras's default approximate=False),
     sigmoid, hard_sigmoid, log_sigmoid, tanh, hard_tanh, tanh_shrink,
     softmax and log_softmax (last axis), softplus, softsign, silu / swish,
     hard_silu / hard_swish, mish, exponential, squareplus (b 4),
     sparse_plus, sparse_sigmoid, soft_shrink and hard_shrink (0.5).
     Others (glu, sparsemax, threshold, custom): KWNN_ERR_UNSUPPORTED.

     hard_sigmoid differs between generations: Keras 3 computes
     relu6(x + 3) / 6 (slope 1/6), Keras 1 and 2 (also tf.keras) clip(0.2 x +
     0.5, 0, 1).  KWNN_HARD_SIGMOID_AUTO takes the Keras 1/2 form when the
     metadata's "generation" is "keras1" or "keras2" (or, without it, its
     "keras_version" starts with "1." or "2."), the Keras 3 form otherwise.

     An activation may also be an object.  Keras 3 writes a layer used as
     an activation so ({"class_name": "LeakyReLU", "config": {...}}; also
     ReLU, ELU, Softmax, ThresholdedReLU, Activation) and a function as
     {"class_name": "function", "config": "gelu"}.  Keras cannot write the
     arguments of activation functions; kwbin_nn reads them when an
     exporter writes {"class_name": NAME, "config": {ARGS}} with NAME an
     activation above: {"class_name": "gelu", "config": {"approximate":
     true}} is the tanh form of gelu (what keras.ops.gelu computes by
     default), leaky_relu takes negative_slope, elu / celu alpha, relu
     negative_slope / max_value / threshold, squareplus b, soft_shrink /
     hard_shrink threshold.

   NUMERICS

   float32 everywhere, as Keras computes, with float32 accumulation in
   Dense and Conv2D (sums in input order, bias added last, as x @ W + b),
   double where it is free (the BatchNormalization fold, gelu).  Plain C,
   no intrinsics: Dense sums 4 x 8 output tiles in registers and its inner
   loops have fixed trip counts so that gcc and clang vectorize them at
   -O2 (SSE2 on x86-64).  The order of every sum is fixed, so results are
   the same bits for any batch size and with or without vectorization (a NaN
   may change sign or payload; only
   a compiler told to fuse multiply-adds, e.g. -ffp-contract=fast on FMA
   hardware, changes the last bits).  Agrees
   with Keras 3 (JAX) and tf.keras predictions to about 1e-6 on the test
   fixtures (the tests require 1e-5).  Mixed-precision policies
   (mixed_float16, ...) are computed in float32 anyway.

   ERRORS

   Every function that can fail returns a kwnn_result, KWNN_OK = 0.  No
   function asserts, aborts or prints.  Config JSON is read defensively
   (every read bounded; kwbin.h has already checked it is valid JSON) and
   every size computation is checked for overflow.  Keys are matched with
   their escapes decoded; numbers are parsed without the C locale (no
   strtod).

   OPTIONS (define before including the implementation)

   KWBIN_NN_STATIC        all kwnn_ functions static (define KWBIN_STATIC too
                          to make the reader's static as well).
   KWNN_MALLOC(size) / KWNN_FREE(ptr)
                          the default allocator (define both; then
                          <stdlib.h> is not included).
   KWNN_PROBE(counter, n) tests only: called with `taps` (window loops) and
                          `load_steps` (kwnn_load's walks) to count work.
*/
#ifndef KWBIN_NN_H
#define KWBIN_NN_H

#include "kwbin.h"

#ifdef KWBIN_NN_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define KWNN_API static __attribute__((unused))
#else
#define KWNN_API static
#endif
#else
#define KWNN_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define KWNN_MAX_DIMS 8       /* rank of a per-sample shape (batch excluded) */
#define KWNN_MESSAGE_SIZE 256 /* bytes of kwnn_net.message, NUL included */

typedef enum kwnn_result {
    KWNN_OK = 0,
    KWNN_ERR_INVALID_ARGUMENT, /* NULL pointer, batch < 1, net not loaded, bad options */
    KWNN_ERR_NO_LAYERS,        /* the file has no layer table (kwbin.save_file) */
    KWNN_ERR_NO_CONFIG,        /* a layer has no config JSON (packed without --arch) */
    KWNN_ERR_UNSUPPORTED,      /* layer class, option, activation or graph not supported */
    KWNN_ERR_BAD_CONFIG,       /* a config key of the wrong type or value */
    KWNN_ERR_BAD_WEIGHTS,      /* weight missing, unexpected, of a wrong shape or dtype */
    KWNN_ERR_SHAPE,            /* input shape unknown, or a layer does not fit its input */
    KWNN_ERR_OUT_OF_MEMORY,    /* the allocation of kwnn_load failed */
    KWNN_ERR_OVERFLOW,         /* a size does not fit in size_t */
    KWNN_ERR_SIZE,             /* kwnn_run: in_count / out_count do not match batch */
    KWNN_ERR_SCRATCH,          /* kwnn_run: scratch_size below kwnn_scratch_size */
    KWNN_ERR_COST              /* the network costs more per sample than kwnn_options.max_cost */
} kwnn_result;

typedef enum kwnn_kind {
    KWNN_LAYER_INPUT = 0,   /* InputLayer: nothing to do */
    KWNN_LAYER_MODEL,       /* a nested model: its layers follow it */
    KWNN_LAYER_IDENTITY,    /* Dropout & co at inference */
    KWNN_LAYER_FLATTEN,     /* shape only */
    KWNN_LAYER_RESHAPE,     /* shape only */
    KWNN_LAYER_DENSE,
    KWNN_LAYER_BATCHNORM,
    KWNN_LAYER_ACTIVATION,  /* Activation, ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU */
    KWNN_LAYER_CONV2D,
    KWNN_LAYER_MAXPOOL2D,
    KWNN_LAYER_AVGPOOL2D,
    KWNN_LAYER_GLOBAL_AVGPOOL,
    KWNN_LAYER_GLOBAL_MAXPOOL
} kwnn_kind;

typedef enum kwnn_act_kind {
    KWNN_ACT_LINEAR = 0,
    KWNN_ACT_RELU,            /* a = negative_slope, b = max_value (if has_max), c = threshold */
    KWNN_ACT_RELU6,
    KWNN_ACT_LEAKY_RELU,      /* a = negative_slope */
    KWNN_ACT_ELU,             /* a = alpha */
    KWNN_ACT_SELU,
    KWNN_ACT_CELU,            /* a = alpha */
    KWNN_ACT_GELU,            /* erf form */
    KWNN_ACT_GELU_TANH,       /* tanh approximation */
    KWNN_ACT_SIGMOID,
    KWNN_ACT_HARD_SIGMOID,    /* Keras 3: relu6(x + 3) / 6 */
    KWNN_ACT_HARD_SIGMOID_K2, /* Keras 1/2: clip(0.2 x + 0.5, 0, 1) */
    KWNN_ACT_LOG_SIGMOID,
    KWNN_ACT_SPARSE_SIGMOID,
    KWNN_ACT_TANH,
    KWNN_ACT_HARD_TANH,
    KWNN_ACT_TANH_SHRINK,
    KWNN_ACT_SOFTMAX,         /* over the last axis */
    KWNN_ACT_LOG_SOFTMAX,     /* over the last axis */
    KWNN_ACT_SOFTPLUS,
    KWNN_ACT_SOFTSIGN,
    KWNN_ACT_SILU,
    KWNN_ACT_HARD_SILU,
    KWNN_ACT_MISH,
    KWNN_ACT_EXPONENTIAL,
    KWNN_ACT_SQUAREPLUS,      /* a = b */
    KWNN_ACT_SPARSE_PLUS,
    KWNN_ACT_SOFT_SHRINK,     /* a = threshold */
    KWNN_ACT_HARD_SHRINK      /* a = threshold */
} kwnn_act_kind;

typedef struct kwnn_activation {
    kwnn_act_kind kind;
    float a, b, c; /* parameters, see kwnn_act_kind */
    int has_max;   /* KWNN_ACT_RELU: b is a max_value */
} kwnn_activation;

enum {
    KWNN_HARD_SIGMOID_AUTO = 0, /* from the file's metadata */
    KWNN_HARD_SIGMOID_KERAS3 = 1,
    KWNN_HARD_SIGMOID_KERAS2 = 2
};

typedef struct kwnn_layer {
    const char *name;       /* in the file */
    const char *class_name; /* in the file */
    uint32_t index;         /* row of the file's layer table */
    kwnn_kind kind;
    kwnn_activation act;    /* applied after the op (Dense, Conv2D), or the op (Activation) */
    uint32_t in_ndim, out_ndim;
    size_t in_shape[KWNN_MAX_DIMS], out_shape[KWNN_MAX_DIMS]; /* per sample */
    size_t in_count, out_count;                               /* floats per sample */
    const float *w; /* Dense kernel (in, units); Conv2D kernel (kh, kw, cin, filters); BN scale */
    const float *b; /* Dense / Conv2D bias or NULL; BN shift */
    size_t units;   /* Dense units, Conv2D filters, BN / pooling channels */
    size_t kh, kw, sh, sw, dh, dw; /* Conv2D / pooling: window, strides, dilation */
    size_t pad_top, pad_left;      /* 'same' padding before (the rest goes after) */
    int same;                      /* padding "same" */
    uint64_t cost;                 /* operations per sample (see kwnn_cost_per_sample) */
} kwnn_layer;

typedef struct kwnn_options {
    void *(*alloc_fn)(size_t size, void *user_data); /* default: malloc */
    void (*free_fn)(void *ptr, void *user_data);     /* default: free */
    void *user_data;                                 /* default: NULL */
    int hard_sigmoid;                                /* KWNN_HARD_SIGMOID_*, default AUTO */
    uint64_t max_cost; /* refuse nets costing more operations per sample; 0: no cap */
} kwnn_options;

typedef struct kwnn_net {
    uint32_t layer_count;
    kwnn_layer *layers;
    uint32_t input_ndim, output_ndim;
    size_t input_shape[KWNN_MAX_DIMS], output_shape[KWNN_MAX_DIMS]; /* per sample */
    size_t input_count, output_count;                               /* floats per sample */
    int hard_sigmoid;                                               /* the form used */
    kwnn_result error;                                              /* of the last kwnn_load */
    char message[KWNN_MESSAGE_SIZE];

    /* private */
    size_t max_count_;     /* largest intermediate activation, floats per sample */
    uint32_t last_compute_; /* last layer that computes, or KWB_NONE */
    uint64_t cost_;         /* operations per sample, sum of the layers' cost */
    void *mem_;
    kwnn_options opt_;
} kwnn_net;

KWNN_API kwnn_result kwnn_load(kwnn_net *net, const kwb_file *f, const kwnn_options *opt);
KWNN_API void kwnn_free(kwnn_net *net);
KWNN_API size_t kwnn_scratch_size(const kwnn_net *net, int batch);
KWNN_API kwnn_result kwnn_run(const kwnn_net *net, const float *input, size_t in_count,
                              float *output, size_t out_count, void *scratch,
                              size_t scratch_size, int batch);
KWNN_API uint64_t kwnn_cost_per_sample(const kwnn_net *net);
KWNN_API const char *kwnn_result_string(kwnn_result r);
KWNN_API const char *kwnn_kind_name(kwnn_kind k);
KWNN_API const char *kwnn_activation_name(kwnn_act_kind a);

#ifdef __cplusplus
}
#endif
#endif /* KWBIN_NN_H */

/* ======================================================================== */
/*                              IMPLEMENTATION                              */
/* ======================================================================== */
#if defined(KWBIN_NN_IMPLEMENTATION) && !defined(KWBIN_NN_IMPLEMENTATION_DONE)
#define KWBIN_NN_IMPLEMENTATION_DONE

#include <math.h>
#include <string.h>

#if !defined(KWNN_MALLOC) || !defined(KWNN_FREE)
#include <stdlib.h>
#undef KWNN_MALLOC
#undef KWNN_FREE
#define KWNN_MALLOC(size) malloc(size)
#define KWNN_FREE(ptr) free(ptr)
#endif

#ifdef __cplusplus
#define KWNN__RESTRICT __restrict
extern "C" {
#else
#define KWNN__RESTRICT restrict
#endif

#define KWNN__SIZE_MAX ((size_t)-1)

/* Test hook: the tests define KWNN_PROBE(counter, n) to count the steps of
   kwnn_load's table walks and of the window loops (work, not time). */
#ifndef KWNN_PROBE
#define KWNN_PROBE(counter, n) ((void)0)
#endif
#define KWNN__DIM_LIMIT ((size_t)1 << 30) /* spatial sizes, windows, strides */

/* ---- small helpers ------------------------------------------------------ */

static int kwnn__mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > KWNN__SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static int kwnn__add(size_t a, size_t b, size_t *out)
{
    if (b > KWNN__SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

static int kwnn__prod(const size_t *dims, uint32_t n, size_t *out)
{
    size_t p = 1;
    uint32_t i;
    for (i = 0; i < n; i++)
        if (!kwnn__mul(p, dims[i], &p)) return 0;
    *out = p;
    return 1;
}

/* ---- the message buffer ------------------------------------------------- */

static void kwnn__m_raw(kwnn_net *net, const char *s, size_t n)
{
    size_t len = strlen(net->message), i;
    for (i = 0; i < n && s[i] != '\0' && len + 1 < KWNN_MESSAGE_SIZE; i++) {
        unsigned char ch = (unsigned char)s[i];
        net->message[len++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    net->message[len] = '\0';
}

static void kwnn__m(kwnn_net *net, const char *s) { kwnn__m_raw(net, s, strlen(s)); }

static void kwnn__m_u(kwnn_net *net, size_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[sizeof buf - 1 - (size_t)n] = (char)('0' + (int)(v % 10));
        v /= 10;
        n++;
    } while (v != 0 && n < 23);
    kwnn__m_raw(net, buf + sizeof buf - (size_t)n, (size_t)n);
}

static void kwnn__m_shape(kwnn_net *net, const size_t *dims, uint32_t n)
{
    uint32_t i;
    kwnn__m(net, "(");
    for (i = 0; i < n; i++) {
        if (i) kwnn__m(net, ", ");
        kwnn__m_u(net, dims[i]);
    }
    kwnn__m(net, n == 1 ? ",)" : ")");
}

/* Start a message: "layer 'NAME' (CLASS): " when a layer is given. */
static kwnn_result kwnn__fail(kwnn_net *net, kwnn_result code, const kwb_layer *L, const char *what)
{
    net->error = code;
    net->message[0] = '\0';
    if (L != NULL) {
        kwnn__m(net, "layer '");
        kwnn__m(net, L->name);
        kwnn__m(net, "' (");
        kwnn__m(net, L->class_name[0] ? L->class_name : "no class");
        kwnn__m(net, "): ");
    }
    kwnn__m(net, what);
    return code;
}

/* ---- a JSON reader: spans over text kwbin.h has already validated -------- */

typedef struct kwnn__json {
    const char *p, *e; /* one value: [p, e), no surrounding whitespace */
} kwnn__json;

typedef struct kwnn__iter {
    const char *p, *e;
} kwnn__iter;

static int kwnn__isws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static const char *kwnn__ws(const char *p, const char *e)
{
    while (p < e && kwnn__isws(*p)) p++;
    return p;
}

/* Just past the string starting at p (a '"'), or NULL. */
static const char *kwnn__str_end(const char *p, const char *e)
{
    p++;
    while (p < e) {
        if (*p == '\\') {
            if (e - p < 2) return NULL;
            p += 2;
        } else if (*p == '"') {
            return p + 1;
        } else {
            p++;
        }
    }
    return NULL;
}

static int kwnn__isscalar(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '-' || ch == '+' || ch == '.';
}

/* Just past the value starting at p, or NULL.  Iterative: no recursion. */
static const char *kwnn__skip(const char *p, const char *e)
{
    size_t depth = 0;
    p = kwnn__ws(p, e);
    for (;;) {
        char ch;
        if (p >= e) return NULL;
        ch = *p;
        if (ch == '"') {
            p = kwnn__str_end(p, e);
            if (p == NULL) return NULL;
        } else if (ch == '{' || ch == '[') {
            depth++;
            p++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0) return NULL;
            depth--;
            p++;
        } else if (ch == ',' || ch == ':' || kwnn__isws(ch)) {
            if (depth == 0) return NULL;
            p++;
            continue;
        } else if (kwnn__isscalar(ch)) {
            while (p < e && kwnn__isscalar(*p)) p++;
        } else {
            return NULL;
        }
        if (depth == 0) return p;
    }
}

static int kwnn__is(kwnn__json v, char open) { return v.p < v.e && *v.p == open; }

static int kwnn__begin(kwnn__json v, char open, kwnn__iter *it)
{
    if (!kwnn__is(v, open)) return 0;
    it->p = v.p + 1;
    it->e = v.e;
    return 1;
}

/* Next member of an object (key != NULL) or element of an array. */
static int kwnn__next(kwnn__iter *it, kwnn__json *key, kwnn__json *val)
{
    const char *p = kwnn__ws(it->p, it->e), *q;
    if (p < it->e && *p == ',') p = kwnn__ws(p + 1, it->e);
    if (p >= it->e || *p == '}' || *p == ']') return 0;
    if (key != NULL) {
        if (*p != '"') return 0;
        q = kwnn__str_end(p, it->e);
        if (q == NULL) return 0;
        key->p = p;
        key->e = q;
        p = kwnn__ws(q, it->e);
        if (p >= it->e || *p != ':') return 0;
        p = kwnn__ws(p + 1, it->e);
    }
    q = kwnn__skip(p, it->e);
    if (q == NULL) return 0;
    val->p = p;
    val->e = q;
    it->p = q;
    return 1;
}

static int kwnn__hex4(const char *p, const char *e, unsigned long *out)
{
    unsigned long v = 0;
    int i;
    if (e - p < 4) return 0;
    for (i = 0; i < 4; i++) {
        char ch = p[i];
        unsigned long d;
        if (ch >= '0' && ch <= '9') d = (unsigned long)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') d = (unsigned long)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') d = (unsigned long)(ch - 'A' + 10);
        else return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* One character of a string body at *pp (< e), as UTF-8 bytes; 0 on error. */
static size_t kwnn__jchar(const char **pp, const char *e, unsigned char out[4])
{
    const char *p = *pp;
    unsigned long cp, lo;
    if (*p != '\\') {
        out[0] = (unsigned char)*p;
        *pp = p + 1;
        return 1;
    }
    if (e - p < 2) return 0;
    switch (p[1]) {
    case '"': case '\\': case '/': out[0] = (unsigned char)p[1]; break;
    case 'b': out[0] = 8; break;
    case 'f': out[0] = 12; break;
    case 'n': out[0] = 10; break;
    case 'r': out[0] = 13; break;
    case 't': out[0] = 9; break;
    case 'u':
        if (!kwnn__hex4(p + 2, e, &cp)) return 0;
        p += 6;
        if (cp >= 0xD800 && cp < 0xDC00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
            kwnn__hex4(p + 2, e, &lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        *pp = p;
        if (cp < 0x80) {
            out[0] = (unsigned char)cp;
            return 1;
        }
        if (cp < 0x800) {
            out[0] = (unsigned char)(0xC0 | (cp >> 6));
            out[1] = (unsigned char)(0x80 | (cp & 0x3F));
            return 2;
        }
        if (cp < 0x10000) {
            out[0] = (unsigned char)(0xE0 | (cp >> 12));
            out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            out[2] = (unsigned char)(0x80 | (cp & 0x3F));
            return 3;
        }
        out[0] = (unsigned char)(0xF0 | (cp >> 18));
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        return 4;
    default: return 0;
    }
    *pp = p + 2;
    return 1;
}

/* Is the JSON string v (quotes included) equal to the n bytes at s? */
static int kwnn__jstr_eq(kwnn__json v, const char *s, size_t n)
{
    const char *p, *e;
    size_t i = 0;
    if (v.e - v.p < 2 || *v.p != '"') return 0;
    p = v.p + 1;
    e = v.e - 1;
    while (p < e) {
        unsigned char buf[4];
        size_t k = kwnn__jchar(&p, e, buf);
        if (k == 0 || k > n - i || memcmp(s + i, buf, k) != 0) return 0;
        i += k;
    }
    return i == n;
}

static int kwnn__jstr_is(kwnn__json v, const char *s) { return kwnn__jstr_eq(v, s, strlen(s)); }

static int kwnn__get(kwnn__json obj, const char *key, kwnn__json *out)
{
    kwnn__iter it;
    kwnn__json k, v;
    if (!kwnn__begin(obj, '{', &it)) return 0;
    while (kwnn__next(&it, &k, &v))
        if (kwnn__jstr_is(k, key)) {
            *out = v;
            return 1;
        }
    return 0;
}

static int kwnn__null(kwnn__json v) { return v.e - v.p == 4 && memcmp(v.p, "null", 4) == 0; }

static int kwnn__bool(kwnn__json v, int *out)
{
    if (v.e - v.p == 4 && memcmp(v.p, "true", 4) == 0) *out = 1;
    else if (v.e - v.p == 5 && memcmp(v.p, "false", 5) == 0) *out = 0;
    else return 0;
    return 1;
}

/* A JSON number, without strtod (locale-free); within an ulp or two of the
   correctly rounded double, which is exact once rounded to float. */
static int kwnn__num(kwnn__json v, double *out)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = v.p, *e = v.e;
    unsigned long long mant = 0;
    int digits = 0, neg = 0;
    long exp10 = 0;
    double d;
    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9') return 0;
    while (p < e && *p >= '0' && *p <= '9') {
        if (digits < 19) {
            mant = mant * 10u + (unsigned)(*p - '0');
            if (mant != 0) digits++;
        } else {
            exp10++;
        }
        p++;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9') return 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10u + (unsigned)(*p - '0');
                if (mant != 0) digits++;
                exp10--;
            }
            p++;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        long ex = 0;
        int eneg = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= e || *p < '0' || *p > '9') return 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (ex < 100000) ex = ex * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -ex : ex;
    }
    if (p != e) return 0;
    d = (double)mant;
    if (d != 0.0) {
        while (exp10 > 22 && d < 1e300) {
            d *= 1e22;
            exp10 -= 22;
        }
        while (exp10 < -22 && d > 1e-300) {
            d /= 1e22;
            exp10 += 22;
        }
        if (exp10 > 22) d = HUGE_VAL;
        else if (exp10 < -22) d = 0.0;
        else if (exp10 >= 0) d *= p10[exp10];
        else d /= p10[-exp10];
    }
    *out = neg ? -d : d;
    return 1;
}

static int kwnn__int(kwnn__json v, long *out)
{
    double d;
    if (!kwnn__num(v, &d) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0) return 0;
    *out = (long)d;
    return 1;
}

/* The n-th element of an array (0-based), and the count. */
static size_t kwnn__count(kwnn__json arr)
{
    kwnn__iter it;
    kwnn__json v;
    size_t n = 0;
    if (!kwnn__begin(arr, '[', &it)) return 0;
    while (kwnn__next(&it, NULL, &v)) n++;
    return n;
}

/* ---- building ----------------------------------------------------------- */

typedef struct kwnn__ctx {
    kwnn_net *net;
    const kwb_file *f;
    int fill;                 /* second pass: write layers and parameters */
    float *params;            /* fill: the parameter area */
    size_t params_used;       /* floats, each block rounded to 16 (64 bytes) */
    int legacy;               /* Keras 1 / 2 file (hard_sigmoid) */
    int theano_kernels;       /* conv kernels stored flipped */
    int have_shape;
    uint32_t nd;              /* the current per-sample shape */
    size_t shape[KWNN_MAX_DIMS];
    kwnn_layer scratch_layer; /* pass 1 writes here */
    uint64_t cost;            /* operations per sample so far (saturating) */
    uint32_t n;               /* layers in the table */
    kwnn__json top_cfg;       /* the metadata's Functional config, if any (p == NULL: none) */
    uint32_t *first_child;    /* pass 2 (kwnn__link): n + 1 entries, [n] for the top level */
    uint32_t *last_child;     /* n + 1 entries */
    uint32_t *next_sibling;   /* n entries */
} kwnn__ctx;

static kwnn_result kwnn__oom(kwnn__ctx *c)
{
    return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, NULL, "the network's parameters do not fit in memory");
}

/* "layer ...: its output shape (a, b) has more elements than a size_t counts" */
static kwnn_result kwnn__shape_overflow(kwnn__ctx *c, const kwb_layer *L, const char *what,
                                        const size_t *dims, uint32_t nd)
{
    kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, what);
    kwnn__m(c->net, " ");
    kwnn__m_shape(c->net, dims, nd);
    kwnn__m(c->net, " has more elements than a size_t counts");
    return KWNN_ERR_OVERFLOW;
}

/* Room for `count` floats in the parameter area (NULL in pass 1). */
static kwnn_result kwnn__param(kwnn__ctx *c, size_t count, float **out)
{
    size_t rounded;
    if (!kwnn__add(count, 15, &rounded)) return kwnn__oom(c);
    rounded &= ~(size_t)15;
    *out = c->fill ? c->params + c->params_used : NULL;
    if (!kwnn__add(c->params_used, rounded, &c->params_used) ||
        c->params_used > KWNN__SIZE_MAX / 4 - 64)
        return kwnn__oom(c);
    return KWNN_OK;
}

/* The tensor of layer L named `weight`; 0 if it has none. */
static int kwnn__find(kwnn__ctx *c, const kwb_layer *L, const char *weight, kwb_tensor *t)
{
    uint32_t i;
    for (i = 0; i < L->tensor_count; i++)
        if (kwb_get_tensor(c->f, L->first_tensor + i, t) == KWB_OK && strcmp(t->weight, weight) == 0)
            return 1;
    return 0;
}

/* Refuse weights the layer does not use (a LoRA pair, a quantisation scale...). */
static kwnn_result kwnn__only(kwnn__ctx *c, const kwb_layer *L, const char *const *names, int n)
{
    uint32_t i;
    kwb_tensor t;
    for (i = 0; i < L->tensor_count; i++) {
        int k, ok = 0;
        if (kwb_get_tensor(c->f, L->first_tensor + i, &t) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "cannot read its tensors");
        for (k = 0; k < n; k++)
            if (names[k] != NULL && strcmp(t.weight, names[k]) == 0) ok = 1;
        if (!ok) {
            kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "unexpected weight '");
            kwnn__m(c->net, t.weight);
            kwnn__m(c->net, "' (not used by this layer as configured)");
            return KWNN_ERR_BAD_WEIGHTS;
        }
    }
    return KWNN_OK;
}

/* Weight `name` of L with exactly the given shape, as float32 (in place or converted). */
static kwnn_result kwnn__weight(kwnn__ctx *c, const kwb_layer *L, const char *name,
                                const size_t *shape, uint32_t nd, int flip_hw, const float **out)
{
    kwb_tensor t;
    uint32_t i;
    int ok;
    const float *direct;
    float *dst;
    kwnn_result r;
    *out = NULL;
    if (!kwnn__find(c, L, name, &t)) {
        kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "has no weight '");
        kwnn__m(c->net, name);
        kwnn__m(c->net, "' (its config needs one)");
        return KWNN_ERR_BAD_WEIGHTS;
    }
    if (t.dtype != KWB_FLOAT32 && t.dtype != KWB_FLOAT16 && t.dtype != KWB_BFLOAT16 &&
        t.dtype != KWB_FLOAT64) {
        kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "weight '");
        kwnn__m(c->net, name);
        kwnn__m(c->net, "' has dtype ");
        kwnn__m(c->net, kwb_dtype_name(t.dtype) ? kwb_dtype_name(t.dtype) : "?");
        kwnn__m(c->net, " (only float32, float16, bfloat16 and float64 are supported)");
        return KWNN_ERR_BAD_WEIGHTS;
    }
    ok = t.ndim == nd;
    for (i = 0; ok && i < nd; i++) ok = t.shape[i] == (uint64_t)shape[i];
    if (!ok) {
        size_t got[KWB_MAX_NDIM];
        for (i = 0; i < t.ndim && i < KWB_MAX_NDIM; i++)
            got[i] = t.shape[i] > (uint64_t)KWNN__SIZE_MAX ? KWNN__SIZE_MAX : (size_t)t.shape[i];
        kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "weight '");
        kwnn__m(c->net, name);
        kwnn__m(c->net, "' has shape ");
        kwnn__m_shape(c->net, got, t.ndim);
        kwnn__m(c->net, ", expected ");
        kwnn__m_shape(c->net, shape, nd);
        return KWNN_ERR_BAD_WEIGHTS;
    }
    direct = kwb_tensor_f32(&t);
    if (direct != NULL && !flip_hw) {
        *out = direct;
        return KWNN_OK;
    }
    r = kwnn__param(c, (size_t)t.count, &dst);
    if (r != KWNN_OK) return r;
    if (c->fill) {
        if (kwb_copy_f32(&t, dst, (size_t)t.count) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "cannot convert its weights to float32");
        if (flip_hw) { /* (kh, kw, cin, cout): reverse both spatial axes, in place */
            size_t kh = shape[0], kw = shape[1], inner = shape[2] * shape[3], a, b2, k;
            for (a = 0; a < kh; a++)
                for (b2 = 0; b2 < kw; b2++) {
                    size_t p = a * kw + b2, q = (kh - 1 - a) * kw + (kw - 1 - b2);
                    if (p >= q) continue;
                    for (k = 0; k < inner; k++) {
                        float tmp = dst[p * inner + k];
                        dst[p * inner + k] = dst[q * inner + k];
                        dst[q * inner + k] = tmp;
                    }
                }
        }
        *out = dst;
    }
    return KWNN_OK;
}

/* ---- config values ------------------------------------------------------ */

static kwnn_result kwnn__bad_key(kwnn__ctx *c, const kwb_layer *L, const char *key, kwnn__json v,
                                 const char *want)
{
    kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key '");
    kwnn__m(c->net, key);
    kwnn__m(c->net, "' is ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 40 ? 40 : (size_t)(v.e - v.p));
    kwnn__m(c->net, ", expected ");
    kwnn__m(c->net, want);
    return KWNN_ERR_BAD_CONFIG;
}

static kwnn_result kwnn__unsupported_value(kwnn__ctx *c, const kwb_layer *L, const char *key,
                                           kwnn__json v)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
    return KWNN_ERR_UNSUPPORTED;
}

/* The first key of `keys` (NULL-terminated) present and not null. */
static int kwnn__key(kwnn__json cfg, const char *const *keys, const char **which, kwnn__json *v)
{
    for (; *keys != NULL; keys++)
        if (kwnn__get(cfg, *keys, v) && !kwnn__null(*v)) {
            *which = *keys;
            return 1;
        }
    return 0;
}

static kwnn_result kwnn__cfg_bool(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg,
                                  const char *k1, const char *k2, int dflt, int *out)
{
    const char *keys[3];
    const char *which;
    kwnn__json v;
    keys[0] = k1;
    keys[1] = k2;
    keys[2] = NULL;
    *out = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (!kwnn__bool(v, out)) return kwnn__bad_key(c, L, which, v, "true or false");
    return KWNN_OK;
}

static kwnn_result kwnn__cfg_num(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg,
                                 const char *k1, const char *k2, double dflt, double *out)
{
    const char *keys[3];
    const char *which;
    kwnn__json v;
    keys[0] = k1;
    keys[1] = k2;
    keys[2] = NULL;
    *out = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (!kwnn__num(v, out) || !(fabs(*out) <= 3.4e38)) return kwnn__bad_key(c, L, which, v, "a number");
    return KWNN_OK;
}

/* A positive size: an int, or a list of `n` ints (Keras writes kernel_size [3, 3]). */
static kwnn_result kwnn__cfg_sizes(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg,
                                   const char *const *keys, size_t n, size_t dflt, size_t *out)
{
    const char *which;
    kwnn__json v, el;
    kwnn__iter it;
    size_t i;
    long x;
    for (i = 0; i < n; i++) out[i] = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (kwnn__int(v, &x)) {
        if (x < 1 || (size_t)x > KWNN__DIM_LIMIT) return kwnn__bad_key(c, L, which, v, "a positive size");
        for (i = 0; i < n; i++) out[i] = (size_t)x;
        return KWNN_OK;
    }
    if (!kwnn__begin(v, '[', &it) || kwnn__count(v) != n) return kwnn__bad_key(c, L, which, v, "a list of sizes");
    for (i = 0; i < n && kwnn__next(&it, NULL, &el); i++) {
        if (!kwnn__int(el, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT)
            return kwnn__bad_key(c, L, which, v, "a list of positive sizes");
        out[i] = (size_t)x;
    }
    return KWNN_OK;
}

/* Channels-last data format (Keras 2/3 data_format, Keras 1 dim_ordering). */
static kwnn_result kwnn__channels_last(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg)
{
    kwnn__json v;
    if (kwnn__get(cfg, "data_format", &v) && !kwnn__null(v) && !kwnn__jstr_is(v, "channels_last"))
        return kwnn__unsupported_value(c, L, "data_format", v);
    if (kwnn__get(cfg, "dim_ordering", &v) && !kwnn__null(v) && !kwnn__jstr_is(v, "tf"))
        return kwnn__unsupported_value(c, L, "dim_ordering", v);
    return KWNN_OK;
}

/* padding | border_mode: 0 valid, 1 same. */
static kwnn_result kwnn__padding(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int *same)
{
    static const char *const keys[] = {"padding", "border_mode", NULL};
    const char *which;
    kwnn__json v;
    *same = 0;
    if (!kwnn__key(cfg, keys, &which, &v)) return KWNN_OK;
    if (kwnn__jstr_is(v, "valid")) return KWNN_OK;
    if (kwnn__jstr_is(v, "same")) {
        *same = 1;
        return KWNN_OK;
    }
    return kwnn__unsupported_value(c, L, which, v);
}

/* An axis of the full shape (batch included): -1, rank - 1, or [that]. */
static kwnn_result kwnn__last_axis(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key)
{
    kwnn__json v, el;
    kwnn__iter it;
    long axis;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__is(v, '[')) {
        if (kwnn__count(v) != 1 || !kwnn__begin(v, '[', &it) || !kwnn__next(&it, NULL, &el))
            return kwnn__unsupported_value(c, L, key, v);
    } else {
        el = v;
    }
    if (!kwnn__int(el, &axis)) return kwnn__bad_key(c, L, key, v, "an integer axis");
    if (axis == -1 || (axis > 0 && (size_t)axis == (size_t)c->nd)) return KWNN_OK;
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "only the last axis is supported, not ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 20 ? 20 : (size_t)(v.e - v.p));
    return KWNN_ERR_UNSUPPORTED;
}

/* ---- activations -------------------------------------------------------- */

typedef struct kwnn__act_name {
    const char *name;
    kwnn_act_kind kind;
    float a;
} kwnn__act_name;

static const kwnn__act_name kwnn__acts[] = {
    {"linear", KWNN_ACT_LINEAR, 0.0f},         {"relu", KWNN_ACT_RELU, 0.0f},
    {"relu6", KWNN_ACT_RELU6, 0.0f},           {"leaky_relu", KWNN_ACT_LEAKY_RELU, 0.2f},
    {"elu", KWNN_ACT_ELU, 1.0f},               {"selu", KWNN_ACT_SELU, 0.0f},
    {"celu", KWNN_ACT_CELU, 1.0f},             {"gelu", KWNN_ACT_GELU, 0.0f},
    {"sigmoid", KWNN_ACT_SIGMOID, 0.0f},       {"hard_sigmoid", KWNN_ACT_HARD_SIGMOID, 0.0f},
    {"log_sigmoid", KWNN_ACT_LOG_SIGMOID, 0.0f}, {"sparse_sigmoid", KWNN_ACT_SPARSE_SIGMOID, 0.0f},
    {"tanh", KWNN_ACT_TANH, 0.0f},             {"hard_tanh", KWNN_ACT_HARD_TANH, 0.0f},
    {"tanh_shrink", KWNN_ACT_TANH_SHRINK, 0.0f}, {"softmax", KWNN_ACT_SOFTMAX, 0.0f},
    {"log_softmax", KWNN_ACT_LOG_SOFTMAX, 0.0f}, {"softplus", KWNN_ACT_SOFTPLUS, 0.0f},
    {"softsign", KWNN_ACT_SOFTSIGN, 0.0f},     {"silu", KWNN_ACT_SILU, 0.0f},
    {"swish", KWNN_ACT_SILU, 0.0f},            {"hard_silu", KWNN_ACT_HARD_SILU, 0.0f},
    {"hard_swish", KWNN_ACT_HARD_SILU, 0.0f},  {"mish", KWNN_ACT_MISH, 0.0f},
    {"exponential", KWNN_ACT_EXPONENTIAL, 0.0f}, {"squareplus", KWNN_ACT_SQUAREPLUS, 4.0f},
    {"sparse_plus", KWNN_ACT_SPARSE_PLUS, 0.0f}, {"soft_shrink", KWNN_ACT_SOFT_SHRINK, 0.5f},
    {"hard_shrink", KWNN_ACT_HARD_SHRINK, 0.5f}};

#define KWNN__N_ACTS (sizeof kwnn__acts / sizeof kwnn__acts[0])

static void kwnn__act_init(kwnn_activation *a, kwnn_act_kind kind, float p)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->a = p;
}

static kwnn_result kwnn__act_layer(kwnn__ctx *c, const kwb_layer *L, kwnn__json cls, kwnn__json cfg,
                                   int *found, kwnn_activation *act);

/* An activation: null, a name, or an object (see the manual). */
static kwnn_result kwnn__activation(kwnn__ctx *c, const kwb_layer *L, kwnn__json v,
                                    kwnn_activation *act)
{
    size_t i;
    kwnn__json cls, cfg, name;
    int found = 0;
    kwnn_result r;
    kwnn__act_init(act, KWNN_ACT_LINEAR, 0.0f);
    if (kwnn__null(v)) return KWNN_OK;
    if (kwnn__is(v, '{')) {
        if (!kwnn__get(v, "class_name", &cls) || !kwnn__is(cls, '"'))
            return kwnn__bad_key(c, L, "activation", v, "a name or an object with a class_name");
        if (!kwnn__get(v, "config", &cfg)) cfg.p = cfg.e = v.e;
        if (kwnn__is(cfg, '"')) /* {"class_name": "function", "config": "gelu"} */
            return kwnn__activation(c, L, cfg, act);
        r = kwnn__act_layer(c, L, cls, cfg, &found, act); /* a layer used as an activation */
        if (r != KWNN_OK || found) return r;
        name = cls; /* {"class_name": "gelu", "config": {"approximate": true}} */
    } else if (kwnn__is(v, '"')) {
        name = v;
        cfg.p = cfg.e = v.e;
    } else {
        return kwnn__bad_key(c, L, "activation", v, "a name");
    }
    for (i = 0; i < KWNN__N_ACTS; i++)
        if (kwnn__jstr_is(name, kwnn__acts[i].name)) break;
    if (i == KWNN__N_ACTS) return kwnn__unsupported_value(c, L, "activation", name);
    kwnn__act_init(act, kwnn__acts[i].kind, kwnn__acts[i].a);
    if (act->kind == KWNN_ACT_HARD_SIGMOID && c->legacy) act->kind = KWNN_ACT_HARD_SIGMOID_K2;
    if (cfg.p < cfg.e) { /* arguments */
        double x;
        int b;
        if (!kwnn__is(cfg, '{')) return kwnn__bad_key(c, L, "activation config", cfg, "an object");
        switch (act->kind) {
        case KWNN_ACT_GELU:
            if ((r = kwnn__cfg_bool(c, L, cfg, "approximate", NULL, 0, &b)) != KWNN_OK) return r;
            if (b) act->kind = KWNN_ACT_GELU_TANH;
            break;
        case KWNN_ACT_RELU: {
            kwnn__json mv;
            double slope, thr;
            if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", 0.0, &slope)) != KWNN_OK ||
                (r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, 0.0, &thr)) != KWNN_OK)
                return r;
            act->a = (float)slope;
            act->c = (float)thr;
            if (kwnn__get(cfg, "max_value", &mv) && !kwnn__null(mv)) {
                if ((r = kwnn__cfg_num(c, L, cfg, "max_value", NULL, 0.0, &x)) != KWNN_OK) return r;
                act->b = (float)x;
                act->has_max = 1;
            }
            break;
        }
        case KWNN_ACT_LEAKY_RELU:
            if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", act->a, &x)) != KWNN_OK) return r;
            act->a = (float)x;
            break;
        case KWNN_ACT_ELU: case KWNN_ACT_CELU:
            if ((r = kwnn__cfg_num(c, L, cfg, "alpha", NULL, act->a, &x)) != KWNN_OK) return r;
            /* celu divides by alpha (Keras 3: max(x, 0) + alpha expm1(min(x, 0) / alpha)): an
               alpha that is 0 once rounded to float32 would give NaN, so refuse it */
            if (act->kind == KWNN_ACT_CELU && (float)x == 0.0f) {
                kwnn__bad_key(c, L, "alpha", cfg, "a non-zero alpha for celu");
                kwnn__m(c->net, " (it is 0 in float32)");
                return KWNN_ERR_BAD_CONFIG;
            }
            act->a = (float)x;
            break;
        case KWNN_ACT_SQUAREPLUS:
            if ((r = kwnn__cfg_num(c, L, cfg, "b", NULL, act->a, &x)) != KWNN_OK) return r;
            act->a = (float)x;
            break;
        case KWNN_ACT_SOFT_SHRINK: case KWNN_ACT_HARD_SHRINK:
            if ((r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, act->a, &x)) != KWNN_OK) return r;
            act->a = (float)x;
            break;
        default: break;
        }
    }
    return KWNN_OK;
}

/* The layer classes that are activations: ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU,
   Activation.  *found = 0 for any other class. */
static kwnn_result kwnn__act_layer(kwnn__ctx *c, const kwb_layer *L, kwnn__json cls, kwnn__json cfg,
                                   int *found, kwnn_activation *act)
{
    kwnn_result r;
    double x;
    kwnn__json v;
    *found = 1;
    kwnn__act_init(act, KWNN_ACT_LINEAR, 0.0f);
    if (cfg.p >= cfg.e) {
        static const char empty[] = "{}";
        cfg.p = empty;
        cfg.e = empty + 2;
    }
    if (!kwnn__is(cfg, '{')) return kwnn__bad_key(c, L, "config", cfg, "an object");
    if (kwnn__jstr_is(cls, "ReLU")) {
        double slope, thr;
        if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", NULL, 0.0, &slope)) != KWNN_OK ||
            (r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, 0.0, &thr)) != KWNN_OK)
            return r;
        kwnn__act_init(act, KWNN_ACT_RELU, (float)slope);
        act->c = (float)thr;
        if (kwnn__get(cfg, "max_value", &v) && !kwnn__null(v)) {
            if ((r = kwnn__cfg_num(c, L, cfg, "max_value", NULL, 0.0, &x)) != KWNN_OK) return r;
            act->b = (float)x;
            act->has_max = 1;
        }
    } else if (kwnn__jstr_is(cls, "LeakyReLU")) {
        if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", 0.3, &x)) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_LEAKY_RELU, (float)x);
    } else if (kwnn__jstr_is(cls, "ELU")) {
        if ((r = kwnn__cfg_num(c, L, cfg, "alpha", NULL, 1.0, &x)) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_ELU, (float)x);
    } else if (kwnn__jstr_is(cls, "ThresholdedReLU")) {
        if ((r = kwnn__cfg_num(c, L, cfg, "theta", NULL, 1.0, &x)) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_RELU, 0.0f);
        act->c = (float)x;
        if (act->c == 0.0f) act->kind = KWNN_ACT_RELU;
    } else if (kwnn__jstr_is(cls, "Softmax")) {
        if ((r = kwnn__last_axis(c, L, cfg, "axis")) != KWNN_OK) return r;
        kwnn__act_init(act, KWNN_ACT_SOFTMAX, 0.0f);
    } else if (kwnn__jstr_is(cls, "Activation")) {
        if (!kwnn__get(cfg, "activation", &v))
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "Activation config without 'activation'");
        return kwnn__activation(c, L, v, act);
    } else {
        *found = 0;
    }
    return KWNN_OK;
}

/* ---- the graph must be a chain ------------------------------------------ */

/* References to layers in an inbound_nodes / input_layers / output_layers
   structure: arrays whose first element is a string and the second a number
   (["dense", 0, 0] in every generation, Keras 3's keras_history included). */
static void kwnn__refs(kwnn__json v, int depth, size_t *count, kwnn__json *first)
{
    kwnn__iter it;
    kwnn__json el, k;
    if (depth > 70) return;
    if (kwnn__begin(v, '[', &it)) {
        kwnn__json e0, e1;
        kwnn__iter it2 = it;
        if (kwnn__next(&it2, NULL, &e0) && kwnn__is(e0, '"') && kwnn__next(&it2, NULL, &e1) &&
            e1.p < e1.e && (*e1.p == '-' || (*e1.p >= '0' && *e1.p <= '9'))) {
            if (*count == 0) *first = e0;
            (*count)++;
            return;
        }
        while (kwnn__next(&it, NULL, &el)) kwnn__refs(el, depth + 1, count, first);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) kwnn__refs(el, depth + 1, count, first);
    }
}

/* Append the decoded JSON string v (at most 80 bytes of it). */
static void kwnn__m_jstr(kwnn_net *net, kwnn__json v)
{
    const char *p = v.p + 1, *e = v.e - 1;
    size_t used = 0;
    if (!kwnn__is(v, '"') || v.e - v.p < 2) return;
    while (p < e && used < 80) {
        unsigned char buf[4];
        size_t k = kwnn__jchar(&p, e, buf);
        if (k == 0) return;
        kwnn__m_raw(net, (const char *)buf, k);
        used += k;
    }
}

/* Do the JSON strings a and b (quotes included) decode to the same bytes? */
static int kwnn__jstr_same(kwnn__json a, kwnn__json b)
{
    const char *p = a.p + 1, *pe = a.e - 1, *q = b.p + 1, *qe = b.e - 1;
    unsigned char x[4], y[4];
    size_t xn = 0, xi = 0, yn = 0, yi = 0;
    if (!kwnn__is(a, '"') || !kwnn__is(b, '"') || a.e - a.p < 2 || b.e - b.p < 2) return 0;
    for (;;) {
        if (xi == xn) {
            if (p >= pe) break;
            if ((xn = kwnn__jchar(&p, pe, x)) == 0) return 0;
            xi = 0;
        }
        if (yi == yn) {
            if (q >= qe) return 0;
            if ((yn = kwnn__jchar(&q, qe, y)) == 0) return 0;
            yi = 0;
        }
        if (x[xi++] != y[yi++]) return 0;
    }
    return yi == yn && q >= qe;
}

/* The name of an entry of a model config's "layers" (Keras 1-3 keep it at the
   top or in its config). */
static int kwnn__entry_name(kwnn__json entry, kwnn__json *name)
{
    kwnn__json inner;
    if (kwnn__get(entry, "name", name) && kwnn__is(*name, '"')) return 1;
    return kwnn__get(entry, "config", &inner) && kwnn__get(inner, "name", name) && kwnn__is(*name, '"');
}

/* Start "layer 'NAME' (CLASS): " from a config entry. */
static void kwnn__entry_prefix(kwnn__ctx *c, kwnn__json entry, kwnn__json name)
{
    kwnn__json cls;
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, NULL, "layer '");
    kwnn__m_jstr(c->net, name);
    kwnn__m(c->net, "'");
    if (kwnn__get(entry, "class_name", &cls) && kwnn__is(cls, '"')) {
        kwnn__m(c->net, " (");
        kwnn__m_jstr(c->net, cls);
        kwnn__m(c->net, ")");
    }
    kwnn__m(c->net, ": ");
}

/* "layer 'NAME' (CLASS): what: only chains of layers are supported" */
static kwnn_result kwnn__not_chain(kwnn__ctx *c, kwnn__json entry, kwnn__json name, const char *what)
{
    kwnn__entry_prefix(c, entry, name);
    kwnn__m(c->net, what);
    kwnn__m(c->net, ": only chains of layers are supported");
    return KWNN_ERR_UNSUPPORTED;
}

static kwnn_result kwnn__model_not_chain(kwnn__ctx *c, const kwb_layer *owner, const char *what)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner, what);
    kwnn__m(c->net, ": only chains of layers are supported");
    return KWNN_ERR_UNSUPPORTED;
}

/* Pass 1, from a Functional / Model config (its "config" object, with
   "layers") alone: every layer called once, the first without input, each
   other fed by the entry listed before it; the model's input and output
   are the first and last entries.  One walk over the config: linear. */
static kwnn_result kwnn__check_chain(kwnn__ctx *c, kwnn__json mcfg, const kwb_layer *owner)
{
    kwnn__json layers, entry, name, nodes, ref, io, first, prev;
    kwnn__iter it;
    size_t entries = 0, nref;
    if (!kwnn__get(mcfg, "layers", &layers) || !kwnn__begin(layers, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner,
                          "the functional model config has no list of layers");
    first.p = first.e = prev.p = prev.e = NULL;
    while (kwnn__next(&it, NULL, &entry)) {
        KWNN_PROBE(load_steps, 1);
        if (!kwnn__entry_name(entry, &name))
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a layer of the model config has no name");
        nref = 0;
        if (kwnn__get(entry, "inbound_nodes", &nodes) && !kwnn__null(nodes)) {
            if (kwnn__count(nodes) > 1)
                return kwnn__not_chain(c, entry, name, "is called more than once (a shared layer)");
            kwnn__refs(nodes, 0, &nref, &ref);
        }
        if (entries == 0) {
            if (nref != 0) return kwnn__not_chain(c, entry, name, "the first layer takes an input");
            first = name;
        } else {
            if (nref != 1)
                return kwnn__not_chain(c, entry, name, nref == 0 ? "takes no input" : "takes several inputs");
            if (!kwnn__jstr_same(ref, prev)) {
                kwnn__entry_prefix(c, entry, name);
                kwnn__m(c->net, "takes its input from '");
                kwnn__m_jstr(c->net, ref);
                kwnn__m(c->net, "', not from the layer before it ('");
                kwnn__m_jstr(c->net, prev);
                kwnn__m(c->net, "'): only chains of layers are supported");
                return KWNN_ERR_UNSUPPORTED;
            }
        }
        prev = name;
        entries++;
    }
    if (entries == 0) return KWNN_OK;
    nref = 0;
    if (kwnn__get(mcfg, "input_layers", &io)) kwnn__refs(io, 0, &nref, &ref);
    if (nref > 1) return kwnn__model_not_chain(c, owner, "the model has several inputs");
    if (nref == 1 && !kwnn__jstr_same(ref, first))
        return kwnn__model_not_chain(c, owner, "the model's input is not its first layer");
    nref = 0;
    if (kwnn__get(mcfg, "output_layers", &io)) kwnn__refs(io, 0, &nref, &ref);
    if (nref > 1) return kwnn__model_not_chain(c, owner, "the model has several outputs");
    if (nref == 1 && !kwnn__jstr_same(ref, prev))
        return kwnn__model_not_chain(c, owner, "the model's output is not its last layer");
    return KWNN_OK;
}

/* Pass 2: the model config lists exactly the table's layers under `parent`,
   in table order (then the chain checked in pass 1 is the order kwnn_run
   follows).  The children come from the links kwnn__link made: linear. */
static kwnn_result kwnn__check_table(kwnn__ctx *c, kwnn__json mcfg, uint32_t parent, const kwb_layer *owner)
{
    kwnn__json layers, entry, name;
    kwnn__iter it;
    uint32_t child = c->first_child[parent == KWB_NONE ? c->n : parent];
    size_t skip = 0;
    if (owner != NULL) skip = (size_t)owner->name_length + 1;
    if (!kwnn__get(mcfg, "layers", &layers) || !kwnn__begin(layers, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner,
                          "the functional model config has no list of layers");
    while (kwnn__next(&it, NULL, &entry)) {
        kwb_layer L;
        const char *local;
        KWNN_PROBE(load_steps, 1);
        if (!kwnn__entry_name(entry, &name))
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a layer of the model config has no name");
        if (child == KWB_NONE || kwb_get_layer(c->f, child, &L) != KWB_OK) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "the model config names a layer '");
            kwnn__m_jstr(c->net, name);
            kwnn__m(c->net, "' that the layer table does not have");
            return KWNN_ERR_BAD_CONFIG;
        }
        local = (size_t)L.name_length >= skip ? L.name + skip : L.name;
        if (!kwnn__jstr_eq(name, local, strlen(local))) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "the model config lists layer '");
            kwnn__m_jstr(c->net, name);
            kwnn__m(c->net, "' where the layer table has '");
            kwnn__m(c->net, local);
            kwnn__m(c->net, "' (the two must list the same layers in the same order)");
            return KWNN_ERR_BAD_CONFIG;
        }
        child = c->next_sibling[child];
    }
    if (child != KWB_NONE)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner,
                          "the model config and the layer table list different layers");
    return KWNN_OK;
}

/* Pass 2: each layer's first child and next sibling (parents come first). */
static kwnn_result kwnn__link(kwnn__ctx *c)
{
    uint32_t i;
    for (i = 0; i <= c->n; i++) c->first_child[i] = c->last_child[i] = KWB_NONE;
    for (i = 0; i < c->n; i++) c->next_sibling[i] = KWB_NONE;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        uint32_t p;
        KWNN_PROBE(load_steps, 1);
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        p = L.parent == KWB_NONE ? c->n : L.parent;
        if (c->first_child[p] == KWB_NONE) c->first_child[p] = i;
        else c->next_sibling[c->last_child[p]] = i;
        c->last_child[p] = i;
    }
    return KWNN_OK;
}

/* ---- layers ------------------------------------------------------------- */

static int kwnn__is_class(const kwb_layer *L, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(L->class_name, *names) == 0) return 1;
    return 0;
}

static kwnn_result kwnn__set_shape_from(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, int with_batch,
                                        const char *key)
{
    kwnn__iter it;
    kwnn__json el;
    uint32_t nd = 0;
    size_t dims[KWNN_MAX_DIMS];
    int first = with_batch;
    long x;
    if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "a list");
    while (kwnn__next(&it, NULL, &el)) {
        if (first) { /* the batch dimension: null or a number */
            first = 0;
            continue;
        }
        if (kwnn__null(el)) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "the input shape ");
            kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
            kwnn__m(c->net, " has an unknown (None) dimension");
            return KWNN_ERR_SHAPE;
        }
        if (!kwnn__int(el, &x) || x < 1) return kwnn__bad_key(c, L, key, v, "a list of positive sizes");
        if (nd == KWNN_MAX_DIMS) return kwnn__unsupported_value(c, L, "input rank of", v);
        dims[nd++] = (size_t)x;
    }
    if (c->have_shape) { /* a nested model's InputLayer: must agree */
        uint32_t i;
        int same = nd == c->nd;
        for (i = 0; same && i < nd; i++) same = dims[i] == c->shape[i];
        if (!same) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "expects input ");
            kwnn__m_shape(c->net, dims, nd);
            kwnn__m(c->net, ", gets ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        return KWNN_OK;
    }
    if (!kwnn__prod(dims, nd, &c->net->input_count)) {
        kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "the input shape ");
        kwnn__m_shape(c->net, dims, nd);
        kwnn__m(c->net, " has more elements than a size_t counts");
        return KWNN_ERR_OVERFLOW;
    }
    memcpy(c->shape, dims, sizeof dims);
    c->nd = nd;
    c->have_shape = 1;
    return KWNN_OK;
}

static kwnn_result kwnn__dense(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char *const unit_keys[] = {"units", "output_dim", NULL};
    static const char *const names[] = {"kernel", "bias"};
    const char *which;
    kwnn__json v;
    long units = -1;
    int use_bias;
    size_t in, kshape[2];
    kwnn_result r;
    if (kwnn__key(cfg, unit_keys, &which, &v) && (!kwnn__int(v, &units) || units < 1))
        return kwnn__bad_key(c, L, which, v, "a positive number of units");
    if ((r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &use_bias)) != KWNN_OK) return r;
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK)
        return r;
    if (c->nd == 0) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1 or more");
    in = c->shape[c->nd - 1];
    if (units < 0) { /* no units in the config: from the kernel */
        kwb_tensor t;
        if (!kwnn__find(c, L, "kernel", &t) || t.ndim != 2 || t.shape[1] == 0 ||
            t.shape[1] > (uint64_t)KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'units'");
        units = (long)t.shape[1];
    }
    kshape[0] = in;
    kshape[1] = (size_t)units;
    if ((r = kwnn__only(c, L, names, use_bias ? 2 : 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "kernel", kshape, 2, 0, &out->w)) != KWNN_OK)
        return r;
    if (use_bias && (r = kwnn__weight(c, L, "bias", kshape + 1, 1, 0, &out->b)) != KWNN_OK) return r;
    out->kind = KWNN_LAYER_DENSE;
    out->units = (size_t)units;
    c->shape[c->nd - 1] = (size_t)units;
    return KWNN_OK;
}

static kwnn_result kwnn__batchnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const char *use[4];
    const float *g = NULL, *be = NULL, *mean = NULL, *var = NULL;
    double eps, mode;
    int center, scale;
    size_t ch, k;
    float *fold;
    kwnn_result r;
    if (c->nd == 0) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1 or more");
    if ((r = kwnn__last_axis(c, L, cfg, "axis")) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "mode", NULL, 0.0, &mode)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK)
        return r;
    if (mode != 0.0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "Keras 1 BatchNormalization mode 1 and 2 are not supported (mode 0 only)");
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    ch = c->shape[c->nd - 1];
    use[0] = scale ? names[0] : NULL;
    use[1] = center ? names[1] : NULL;
    use[2] = names[2];
    use[3] = names[3];
    if ((r = kwnn__only(c, L, use, 4)) != KWNN_OK ||
        (scale && (r = kwnn__weight(c, L, "gamma", &ch, 1, 0, &g)) != KWNN_OK) ||
        (center && (r = kwnn__weight(c, L, "beta", &ch, 1, 0, &be)) != KWNN_OK) ||
        (r = kwnn__weight(c, L, "moving_mean", &ch, 1, 0, &mean)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "moving_variance", &ch, 1, 0, &var)) != KWNN_OK)
        return r;
    if (!kwnn__mul(ch, 2, &k)) return kwnn__oom(c);
    if ((r = kwnn__param(c, k, &fold)) != KWNN_OK) return r;
    if (c->fill) {
        /* Keras 3: inv = rsqrt(var + eps) * gamma; y = x * inv + (beta - mean * inv) */
        float epsf = (float)eps;
        for (k = 0; k < ch; k++) {
            double inv = 1.0 / sqrt((double)(var[k] + epsf));
            float invf;
            if (g != NULL) inv *= (double)g[k];
            invf = (float)inv;
            fold[k] = invf;
            fold[ch + k] = (float)((be != NULL ? (double)be[k] : 0.0) - (double)mean[k] * (double)invf);
        }
        out->w = fold;
        out->b = fold + ch;
    }
    out->kind = KWNN_LAYER_BATCHNORM;
    out->units = ch;
    return KWNN_OK;
}

/* The extent of a window of k taps d apart, (k - 1) d + 1, if at most
   KWNN__DIM_LIMIT (checked: k and d may each be 2^30, beyond 32 bits). */
static int kwnn__extent(size_t k, size_t d, size_t *eff)
{
    return kwnn__mul(k - 1, d, eff) && kwnn__add(*eff, 1, eff) && *eff <= KWNN__DIM_LIMIT;
}

/* Output size and 'same' padding of one spatial axis (TensorFlow's rule).
   in, k, s, d <= KWNN__DIM_LIMIT and (k - 1) d + 1 too (kwnn__extent): then
   (o - 1) s < in and need < 2^31, no overflow even with a 32-bit size_t. */
static int kwnn__window(size_t in, size_t k, size_t s, size_t d, int same, size_t *out, size_t *pad)
{
    size_t eff, o, need;
    if (in > KWNN__DIM_LIMIT || !kwnn__extent(k, d, &eff)) return 0;
    if (same) {
        o = (in + s - 1) / s;
        need = (o - 1) * s + eff;
        *pad = need > in ? (need - in) / 2 : 0;
    } else {
        if (in < eff) return 0;
        o = (in - eff) / s + 1;
        *pad = 0;
    }
    *out = o;
    return o > 0;
}

static kwnn_result kwnn__conv2d(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char *const filter_keys[] = {"filters", "nb_filter", NULL};
    static const char *const ks_keys[] = {"kernel_size", NULL};
    static const char *const st_keys[] = {"strides", "subsample", NULL};
    static const char *const dl_keys[] = {"dilation_rate", "atrous_rate", NULL};
    static const char *const names[] = {"kernel", "bias"};
    const char *which;
    kwnn__json v;
    long filters, groups = 1, nb;
    size_t ks[2], st[2], dl[2], kshape[4], oh, ow;
    int use_bias, same;
    kwnn_result r;
    if (!kwnn__key(cfg, filter_keys, &which, &v) || !kwnn__int(v, &filters) || filters < 1)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no positive 'filters'");
    if (kwnn__get(cfg, "kernel_size", &v)) {
        if ((r = kwnn__cfg_sizes(c, L, cfg, ks_keys, 2, 1, ks)) != KWNN_OK) return r;
    } else { /* Keras 1 */
        if (!kwnn__get(cfg, "nb_row", &v) || !kwnn__int(v, &nb) || nb < 1 || (size_t)nb > KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no kernel_size (or nb_row)");
        ks[0] = (size_t)nb;
        if (!kwnn__get(cfg, "nb_col", &v) || !kwnn__int(v, &nb) || nb < 1 || (size_t)nb > KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no kernel_size (or nb_col)");
        ks[1] = (size_t)nb;
    }
    if ((r = kwnn__cfg_sizes(c, L, cfg, st_keys, 2, 1, st)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, dl_keys, 2, 1, dl)) != KWNN_OK ||
        (r = kwnn__padding(c, L, cfg, &same)) != KWNN_OK ||
        (r = kwnn__channels_last(c, L, cfg)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &use_bias)) != KWNN_OK)
        return r;
    if (kwnn__get(cfg, "groups", &v) && !kwnn__null(v) && (!kwnn__int(v, &groups) || groups != 1))
        return kwnn__unsupported_value(c, L, "groups", v);
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK)
        return r;
    if (c->nd != 3) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input (height, width, channels), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    if (c->shape[0] > KWNN__DIM_LIMIT || c->shape[1] > KWNN__DIM_LIMIT || !kwnn__extent(ks[0], dl[0], &oh) ||
        !kwnn__extent(ks[1], dl[1], &ow))
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "too large (a dilated kernel spans more than 2^30)");
    if (!kwnn__window(c->shape[0], ks[0], st[0], dl[0], same, &oh, &out->pad_top) ||
        !kwnn__window(c->shape[1], ks[1], st[1], dl[1], same, &ow, &out->pad_left)) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its window is larger than its input ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    kshape[0] = ks[0];
    kshape[1] = ks[1];
    kshape[2] = c->shape[2];
    kshape[3] = (size_t)filters;
    if ((r = kwnn__only(c, L, names, use_bias ? 2 : 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "kernel", kshape, 4, c->theano_kernels, &out->w)) != KWNN_OK)
        return r;
    if (use_bias && (r = kwnn__weight(c, L, "bias", kshape + 3, 1, 0, &out->b)) != KWNN_OK) return r;
    out->kind = KWNN_LAYER_CONV2D;
    out->units = (size_t)filters;
    out->kh = ks[0];
    out->kw = ks[1];
    out->sh = st[0];
    out->sw = st[1];
    out->dh = dl[0];
    out->dw = dl[1];
    out->same = same;
    c->shape[0] = oh;
    c->shape[1] = ow;
    c->shape[2] = (size_t)filters;
    return KWNN_OK;
}

static kwnn_result kwnn__pool2d(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                kwnn_kind kind)
{
    static const char *const ps_keys[] = {"pool_size", NULL};
    static const char *const st_keys[] = {"strides", NULL};
    size_t ps[2], st[2], oh, ow;
    int same;
    kwnn_result r;
    if ((r = kwnn__cfg_sizes(c, L, cfg, ps_keys, 2, 2, ps)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, st_keys, 2, 0, st)) != KWNN_OK ||
        (r = kwnn__padding(c, L, cfg, &same)) != KWNN_OK ||
        (r = kwnn__channels_last(c, L, cfg)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK)
        return r;
    if (st[0] == 0) st[0] = ps[0]; /* strides null: the pool size */
    if (st[1] == 0) st[1] = ps[1];
    if (c->nd != 3) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input (height, width, channels), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    if (c->shape[0] > KWNN__DIM_LIMIT || c->shape[1] > KWNN__DIM_LIMIT)
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "too large");
    if (!kwnn__window(c->shape[0], ps[0], st[0], 1, same, &oh, &out->pad_top) ||
        !kwnn__window(c->shape[1], ps[1], st[1], 1, same, &ow, &out->pad_left)) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its window is larger than its input ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    out->kind = kind;
    out->units = c->shape[2];
    out->kh = ps[0];
    out->kw = ps[1];
    out->sh = st[0];
    out->sw = st[1];
    out->dh = out->dw = 1;
    out->same = same;
    c->shape[0] = oh;
    c->shape[1] = ow;
    return KWNN_OK;
}

static kwnn_result kwnn__global_pool(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                     kwnn_kind kind, uint32_t spatial)
{
    int keep;
    uint32_t i;
    kwnn_result r;
    if ((r = kwnn__channels_last(c, L, cfg)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "keepdims", NULL, 0, &keep)) != KWNN_OK ||
        (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK)
        return r;
    if (c->nd != spatial + 1) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank ");
        kwnn__m_u(c->net, spatial + 1);
        kwnn__m(c->net, " (spatial axes, channels), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    out->kind = kind;
    out->units = c->shape[c->nd - 1];
    if (keep) {
        for (i = 0; i < spatial; i++) c->shape[i] = 1;
    } else {
        c->shape[0] = out->units;
        c->nd = 1;
    }
    return KWNN_OK;
}

static kwnn_result kwnn__reshape(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    kwnn__json v, el;
    kwnn__iter it;
    size_t dims[KWNN_MAX_DIMS], known = 1, total;
    uint32_t nd = 0, i;
    int unknown = -1;
    long x;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "target_shape", &v) || !kwnn__begin(v, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no target_shape list");
    while (kwnn__next(&it, NULL, &el)) {
        if (!kwnn__int(el, &x) || x == 0 || x < -1) return kwnn__bad_key(c, L, "target_shape", v, "sizes (and one -1)");
        if (nd == KWNN_MAX_DIMS) return kwnn__unsupported_value(c, L, "target_shape", v);
        if (x == -1) {
            if (unknown >= 0) return kwnn__bad_key(c, L, "target_shape", v, "at most one -1");
            unknown = (int)nd;
            dims[nd++] = 1;
        } else {
            dims[nd++] = (size_t)x;
            if (!kwnn__mul(known, (size_t)x, &known)) {
                kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "target_shape ");
                kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
                kwnn__m(c->net, " has more elements than a size_t counts (its product overflows)");
                return KWNN_ERR_OVERFLOW;
            }
        }
    }
    if (!kwnn__prod(c->shape, c->nd, &total)) return kwnn__shape_overflow(c, L, "its input shape", c->shape, c->nd);
    if (unknown >= 0) {
        if (total % known != 0) goto mismatch;
        dims[unknown] = total / known;
        known = total;
    }
    if (known != total) goto mismatch;
    out->kind = KWNN_LAYER_RESHAPE;
    for (i = 0; i < nd; i++) c->shape[i] = dims[i];
    c->nd = nd;
    return KWNN_OK;
mismatch:
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "cannot reshape ");
    kwnn__m_shape(c->net, c->shape, c->nd);
    kwnn__m(c->net, " to ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
    return KWNN_ERR_SHAPE;
}

static const char *const kwnn__identity_classes[] = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", NULL};
static const char *const kwnn__model_classes[] = {"Sequential", "Functional", "Model", NULL};
static const char *const kwnn__conv_classes[] = {"Conv2D", "Convolution2D", "AtrousConvolution2D", NULL};
static const char *const kwnn__maxpool_classes[] = {"MaxPooling2D", "MaxPool2D", NULL};
static const char *const kwnn__avgpool_classes[] = {"AveragePooling2D", "AvgPool2D", NULL};

static int kwnn__global_class(const char *cls, kwnn_kind *kind, uint32_t *spatial)
{
    static const char *const names[] = {
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalAvgPool1D",        "GlobalAvgPool2D",        "GlobalAvgPool3D",
        "GlobalMaxPooling1D",     "GlobalMaxPooling2D",     "GlobalMaxPooling3D",
        "GlobalMaxPool1D",        "GlobalMaxPool2D",        "GlobalMaxPool3D"};
    uint32_t i;
    for (i = 0; i < 12; i++)
        if (strcmp(cls, names[i]) == 0) {
            *kind = i < 6 ? KWNN_LAYER_GLOBAL_AVGPOOL : KWNN_LAYER_GLOBAL_MAXPOOL;
            *spatial = i % 3 + 1;
            return 1;
        }
    return 0;
}

/* First layer without an InputLayer: batch_input_shape, batch_shape, input_dim, kernel rows. */
static kwnn_result kwnn__implicit_input(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg)
{
    kwnn__json v;
    long dim;
    kwb_tensor t;
    if (kwnn__get(cfg, "batch_input_shape", &v) && !kwnn__null(v))
        return kwnn__set_shape_from(c, L, v, 1, "batch_input_shape");
    if (kwnn__get(cfg, "batch_shape", &v) && !kwnn__null(v))
        return kwnn__set_shape_from(c, L, v, 1, "batch_shape");
    if (kwnn__get(cfg, "input_dim", &v) && !kwnn__null(v) && strcmp(L->class_name, "Dense") == 0) {
        if (!kwnn__int(v, &dim) || dim < 1) return kwnn__bad_key(c, L, "input_dim", v, "a positive size");
        c->shape[0] = (size_t)dim;
    } else if (strcmp(L->class_name, "Dense") == 0 && kwnn__find(c, L, "kernel", &t) && t.ndim == 2 &&
               t.shape[0] > 0 && t.shape[0] <= (uint64_t)KWNN__DIM_LIMIT) {
        c->shape[0] = (size_t)t.shape[0];
    } else {
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L,
                          "cannot tell the network's input shape: no InputLayer, and the first "
                          "layer's config has no batch_input_shape");
    }
    c->nd = 1;
    c->net->input_count = c->shape[0];
    c->have_shape = 1;
    return KWNN_OK;
}

static kwnn_result kwnn__layer(kwnn__ctx *c, const kwb_layer *L, kwnn_layer *out)
{
    kwnn__json cfg, cls, v;
    kwnn_kind gkind;
    uint32_t spatial;
    int found;
    kwnn_result r;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    cls.p = NULL;
    if (L->config_length == 0)
        return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, L,
                          "has no config (the file holds weights without the model's architecture; "
                          "pack it with --arch)");
    if (kwnn__is_class(L, kwnn__model_classes)) {
        out->kind = KWNN_LAYER_MODEL;
        if (strcmp(L->class_name, "Sequential") == 0) return KWNN_OK;
        return c->fill ? kwnn__check_table(c, cfg, L->index, L) : kwnn__check_chain(c, cfg, L);
    }
    if (strcmp(L->class_name, "InputLayer") == 0) {
        static const char *const keys[] = {"batch_shape", "batch_input_shape", NULL};
        const char *which;
        if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
        out->kind = KWNN_LAYER_INPUT;
        if (!kwnn__key(cfg, keys, &which, &v)) {
            if (c->have_shape) return KWNN_OK;
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "config has no batch_shape");
        }
        return kwnn__set_shape_from(c, L, v, 1, which);
    }
    if (!c->have_shape) {
        if ((r = kwnn__implicit_input(c, L, cfg)) != KWNN_OK) return r;
        out->in_ndim = c->nd;
        memcpy(out->in_shape, c->shape, sizeof c->shape);
    }
    if (strcmp(L->class_name, "Dense") == 0) return kwnn__dense(c, L, cfg, out);
    if (strcmp(L->class_name, "BatchNormalization") == 0) return kwnn__batchnorm(c, L, cfg, out);
    if (kwnn__is_class(L, kwnn__conv_classes)) return kwnn__conv2d(c, L, cfg, out);
    if (kwnn__is_class(L, kwnn__maxpool_classes)) return kwnn__pool2d(c, L, cfg, out, KWNN_LAYER_MAXPOOL2D);
    if (kwnn__is_class(L, kwnn__avgpool_classes)) return kwnn__pool2d(c, L, cfg, out, KWNN_LAYER_AVGPOOL2D);
    if (kwnn__global_class(L->class_name, &gkind, &spatial)) return kwnn__global_pool(c, L, cfg, out, gkind, spatial);
    if (strcmp(L->class_name, "Reshape") == 0) return kwnn__reshape(c, L, cfg, out);
    if (strcmp(L->class_name, "Flatten") == 0) {
        size_t n;
        if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
        if (c->nd > 1 && (r = kwnn__channels_last(c, L, cfg)) != KWNN_OK) return r;
        if (!kwnn__prod(c->shape, c->nd, &n)) return kwnn__shape_overflow(c, L, "its input shape", c->shape, c->nd);
        out->kind = KWNN_LAYER_FLATTEN;
        c->shape[0] = n;
        c->nd = 1;
        return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__identity_classes)) {
        out->kind = KWNN_LAYER_IDENTITY;
        return kwnn__only(c, L, NULL, 0);
    }
    {   /* Activation, ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU */
        static const char *const quoted[] = {"\"Activation\"", "\"ReLU\"", "\"LeakyReLU\"", "\"ELU\"",
                                             "\"Softmax\"", "\"ThresholdedReLU\"", NULL};
        const char *const *q;
        for (q = quoted; *q != NULL; q++)
            if (strlen(*q) == (size_t)L->class_name_length + 2 &&
                memcmp(*q + 1, L->class_name, L->class_name_length) == 0) {
                cls.p = *q;
                cls.e = *q + strlen(*q);
                break;
            }
        if (cls.p != NULL) {
            if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
            if ((r = kwnn__act_layer(c, L, cls, cfg, &found, &out->act)) != KWNN_OK) return r;
            out->kind = KWNN_LAYER_ACTIVATION;
            return KWNN_OK;
        }
    }
    return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported layer class");
}

static int kwnn__computes(kwnn_kind k)
{
    return k != KWNN_LAYER_INPUT && k != KWNN_LAYER_MODEL && k != KWNN_LAYER_IDENTITY &&
           k != KWNN_LAYER_FLATTEN && k != KWNN_LAYER_RESHAPE;
}

/* ---- cost: operations per sample, from the shapes alone ----------------- */

static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b)
{
    return (a != 0 && b > UINT64_MAX / a) ? UINT64_MAX : a * b;
}

static uint64_t kwnn__sat_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* Multiply-adds (or compares, or elementwise steps) a layer does per sample:
   an upper bound of what kwnn_run's loops visit, which only visit the taps
   of a window that fall inside the input (so at most min(window, input) per
   axis).  Every output written counts once more (bias, activation). */
static uint64_t kwnn__layer_cost(const kwnn_layer *L)
{
    uint64_t out = (uint64_t)L->out_count, taps;
    switch (L->kind) {
    case KWNN_LAYER_DENSE: return kwnn__sat_add(kwnn__sat_mul(L->in_count, L->units), out);
    case KWNN_LAYER_CONV2D: case KWNN_LAYER_MAXPOOL2D: case KWNN_LAYER_AVGPOOL2D:
        taps = kwnn__sat_mul(L->kh < L->in_shape[0] ? L->kh : L->in_shape[0],
                             L->kw < L->in_shape[1] ? L->kw : L->in_shape[1]);
        taps = kwnn__sat_mul(taps, (uint64_t)L->out_shape[0] * L->out_shape[1]);
        taps = kwnn__sat_mul(taps, L->in_shape[2]);
        if (L->kind == KWNN_LAYER_CONV2D) taps = kwnn__sat_mul(taps, L->units);
        return kwnn__sat_add(taps, out);
    case KWNN_LAYER_GLOBAL_AVGPOOL: case KWNN_LAYER_GLOBAL_MAXPOOL:
        return kwnn__sat_add(L->in_count, out);
    case KWNN_LAYER_BATCHNORM: case KWNN_LAYER_ACTIVATION: return out;
    case KWNN_LAYER_INPUT: case KWNN_LAYER_MODEL: case KWNN_LAYER_IDENTITY: case KWNN_LAYER_FLATTEN:
    case KWNN_LAYER_RESHAPE: break; /* nothing computed */
    }
    return 0;
}

static void kwnn__m_u64(kwnn_net *net, uint64_t v)
{
    char buf[24];
    size_t n = 0;
    do {
        buf[sizeof buf - 1 - n] = (char)('0' + (int)(v % 10));
        v /= 10;
        n++;
    } while (v != 0 && n < 23);
    kwnn__m_raw(net, buf + sizeof buf - n, n);
}

static kwnn_result kwnn__too_costly(kwnn__ctx *c)
{
    kwnn__fail(c->net, KWNN_ERR_COST, NULL, "the network costs ");
    if (c->cost == UINT64_MAX) kwnn__m(c->net, "more than 2^64 - 1");
    else kwnn__m_u64(c->net, c->cost);
    kwnn__m(c->net, " operations per sample, above the cap of ");
    kwnn__m_u64(c->net, c->net->opt_.max_cost);
    return KWNN_ERR_COST;
}

/* ---- the pass over the layer table -------------------------------------- */

/* One pass over the layer table (pass 1 measures, pass 2 fills). */
static kwnn_result kwnn__build(kwnn__ctx *c)
{
    kwnn_net *net = c->net;
    uint32_t i, n = kwb_layer_count(c->f);
    size_t max_count = 0;
    uint32_t last = KWB_NONE;
    kwnn_result r;
    c->have_shape = 0;
    c->nd = 0;
    c->params_used = 0;
    c->cost = 0;
    if (c->fill) { /* the table must list what the model configs say (pass 1 checked the configs) */
        if ((r = kwnn__link(c)) != KWNN_OK) return r;
        if (c->top_cfg.p != NULL && (r = kwnn__check_table(c, c->top_cfg, KWB_NONE, NULL)) != KWNN_OK)
            return r;
    }
    for (i = 0; i < n; i++) {
        kwb_layer L;
        kwnn_layer *out = c->fill ? &net->layers[i] : &c->scratch_layer;
        memset(out, 0, sizeof *out);
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (L.parent != KWB_NONE) {
            kwb_layer P;
            if (kwb_get_layer(c->f, L.parent, &P) != KWB_OK || !kwnn__is_class(&P, kwnn__model_classes))
                return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                                  "is nested in a layer that is not a model (a wrapper)");
        }
        out->name = L.name;
        out->class_name = L.class_name;
        out->index = i;
        out->in_ndim = c->nd;
        memcpy(out->in_shape, c->shape, sizeof c->shape);
        r = kwnn__layer(c, &L, out);
        if (r != KWNN_OK) return r;
        if (!c->have_shape && out->kind != KWNN_LAYER_MODEL)
            return kwnn__fail(net, KWNN_ERR_SHAPE, &L, "cannot tell the network's input shape");
        if (out->kind == KWNN_LAYER_INPUT || out->kind == KWNN_LAYER_MODEL) {
            out->in_ndim = c->nd;
            memcpy(out->in_shape, c->shape, sizeof c->shape);
        }
        out->out_ndim = c->nd;
        memcpy(out->out_shape, c->shape, sizeof c->shape);
        if (!kwnn__prod(out->in_shape, out->in_ndim, &out->in_count))
            return kwnn__shape_overflow(c, &L, "its input shape", out->in_shape, out->in_ndim);
        if (!kwnn__prod(out->out_shape, out->out_ndim, &out->out_count))
            return kwnn__shape_overflow(c, &L, "its output shape", out->out_shape, out->out_ndim);
        if (out->in_count == 0 || out->out_count == 0)
            return kwnn__fail(net, KWNN_ERR_SHAPE, &L, "has an empty input or output");
        if (kwnn__computes(out->kind)) last = i;
        out->cost = kwnn__layer_cost(out);
        c->cost = kwnn__sat_add(c->cost, out->cost);
    }
    if (!c->have_shape) return kwnn__fail(net, KWNN_ERR_SHAPE, NULL, "the network has no layers to run");
    if (net->opt_.max_cost != 0 && c->cost > net->opt_.max_cost) return kwnn__too_costly(c);
    /* The largest intermediate: every computing layer's output but the last one's. */
    if (c->fill) {
        for (i = 0; i < n; i++)
            if (kwnn__computes(net->layers[i].kind) && i != last && net->layers[i].out_count > max_count)
                max_count = net->layers[i].out_count;
        net->max_count_ = max_count;
        net->last_compute_ = last;
        net->cost_ = c->cost;
        net->output_ndim = c->nd;
        memcpy(net->output_shape, c->shape, sizeof c->shape);
        if (!kwnn__prod(c->shape, c->nd, &net->output_count)) return kwnn__oom(c);
        net->layer_count = n;
    }
    return KWNN_OK;
}

/* Metadata facts: generation (hard_sigmoid), Theano kernels, the model config. */
static kwnn_result kwnn__metadata(kwnn__ctx *c, int hs_option)
{
    size_t len = 0;
    const char *text = kwb_metadata(c->f, &len);
    kwnn__json meta, v, inner;
    c->legacy = 0;
    c->theano_kernels = 0;
    if (text == NULL) len = 0;
    meta.p = text;
    meta.e = text + len;
    if (len > 0 && kwnn__is(meta, '{')) {
        if (kwnn__get(meta, "generation", &v) && kwnn__is(v, '"')) {
            c->legacy = kwnn__jstr_is(v, "keras1") || kwnn__jstr_is(v, "keras2");
        } else if (kwnn__get(meta, "keras_version", &v) && v.e - v.p >= 3) {
            c->legacy = (v.p[1] == '1' || v.p[1] == '2') && v.p[2] == '.';
        }
        if (kwnn__get(meta, "conv_kernels", &v) && v.e - v.p > 7 && memcmp(v.p, "\"theano", 7) == 0)
            c->theano_kernels = 1;
        if (kwnn__get(meta, "model_config", &v) && kwnn__is(v, '{') && kwnn__get(v, "class_name", &inner) &&
            (kwnn__jstr_is(inner, "Functional") || kwnn__jstr_is(inner, "Model"))) {
            kwnn__json mcfg;
            if (!kwnn__get(v, "config", &mcfg) || !kwnn__is(mcfg, '{'))
                return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "the metadata's model_config has no config");
            {
                kwnn_result r = kwnn__check_chain(c, mcfg, NULL);
                if (r != KWNN_OK) return r;
            }
            c->top_cfg = mcfg;
        }
    }
    if (hs_option == KWNN_HARD_SIGMOID_KERAS3) c->legacy = 0;
    if (hs_option == KWNN_HARD_SIGMOID_KERAS2) c->legacy = 1;
    c->net->hard_sigmoid = c->legacy ? KWNN_HARD_SIGMOID_KERAS2 : KWNN_HARD_SIGMOID_KERAS3;
    return KWNN_OK;
}

KWNN_API kwnn_result kwnn_load(kwnn_net *net, const kwb_file *f, const kwnn_options *opt)
{
    kwnn__ctx c;
    size_t layers_bytes, links_bytes, total;
    kwnn_result r;
    void *mem;
    if (net == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    memset(net, 0, sizeof *net);
    net->last_compute_ = KWB_NONE;
    if (opt != NULL) net->opt_ = *opt;
    if (f == NULL || f->data == NULL ||
        (net->opt_.alloc_fn == NULL) != (net->opt_.free_fn == NULL) || net->opt_.hard_sigmoid < 0 ||
        net->opt_.hard_sigmoid > KWNN_HARD_SIGMOID_KERAS2) {
        kwnn__fail(net, KWNN_ERR_INVALID_ARGUMENT, NULL,
                   f == NULL || f->data == NULL ? "no open file" : "invalid options");
        memset(&net->opt_, 0, sizeof net->opt_);
        return KWNN_ERR_INVALID_ARGUMENT;
    }
    if (kwb_layer_count(f) == 0)
        return kwnn__fail(net, KWNN_ERR_NO_LAYERS, NULL,
                          "the file has no layer table (tensors only, as kwbin.save_file writes): "
                          "there is no network to run");
    memset(&c, 0, sizeof c);
    c.net = net;
    c.f = f;
    c.n = kwb_layer_count(f);
    if ((r = kwnn__metadata(&c, net->opt_.hard_sigmoid)) != KWNN_OK) return r;
    if ((r = kwnn__build(&c)) != KWNN_OK) return r;
    /* one block: the layers, then the parameters (64-byte aligned) */
    /* ... and, used during kwnn_load only, the links of the table (3 n + 2 u32) */
    if (!kwnn__mul((size_t)c.n, sizeof(kwnn_layer), &layers_bytes) ||
        !kwnn__add(layers_bytes, 63 + 64, &layers_bytes) ||
        !kwnn__mul((size_t)c.n, 3 * sizeof(uint32_t), &links_bytes) ||
        !kwnn__add(links_bytes, 2 * sizeof(uint32_t), &links_bytes) ||
        !kwnn__mul(c.params_used, sizeof(float), &total) || !kwnn__add(total, layers_bytes, &total) ||
        !kwnn__add(total, links_bytes, &total))
        return kwnn__oom(&c);
    layers_bytes -= 64; /* 63 rounding + 64 slack to align the block itself */
    mem = net->opt_.alloc_fn ? net->opt_.alloc_fn(total, net->opt_.user_data) : KWNN_MALLOC(total);
    if (mem == NULL) return kwnn__fail(net, KWNN_ERR_OUT_OF_MEMORY, NULL, "out of memory");
    net->mem_ = mem;
    {
        unsigned char *base = (unsigned char *)mem;
        size_t mis = (size_t)((uintptr_t)base % 64);
        unsigned char *aligned = base + (mis ? 64 - mis : 0);
        net->layers = (kwnn_layer *)(void *)aligned;
        c.params = (float *)(void *)(aligned + (layers_bytes & ~(size_t)63));
        c.first_child = (uint32_t *)(void *)(c.params + c.params_used);
        c.last_child = c.first_child + c.n + 1;
        c.next_sibling = c.last_child + c.n + 1;
    }
    c.fill = 1;
    if ((r = kwnn__build(&c)) != KWNN_OK) {
        char message[KWNN_MESSAGE_SIZE];
        memcpy(message, net->message, sizeof message);
        kwnn_free(net);
        memcpy(net->message, message, sizeof message);
        net->error = r;
        return r;
    }
    {   /* the input shape is the first computing (or any) layer's input */
        uint32_t i;
        for (i = 0; i < net->layer_count; i++)
            if (net->layers[i].kind != KWNN_LAYER_MODEL) break;
        if (i == net->layer_count) i = 0;
        net->input_ndim = net->layers[i].in_ndim;
        memcpy(net->input_shape, net->layers[i].in_shape, sizeof net->input_shape);
        net->input_count = net->layers[i].in_count;
    }
    net->error = KWNN_OK;
    return KWNN_OK;
}

KWNN_API void kwnn_free(kwnn_net *net)
{
    if (net == NULL) return;
    if (net->mem_ != NULL) {
        if (net->opt_.free_fn) net->opt_.free_fn(net->mem_, net->opt_.user_data);
        else KWNN_FREE(net->mem_);
    }
    memset(net, 0, sizeof *net);
    net->last_compute_ = KWB_NONE;
}

static size_t kwnn__buffer_bytes(const kwnn_net *net, size_t batch)
{
    size_t n;
    if (!kwnn__mul(net->max_count_, batch, &n) || !kwnn__mul(n, sizeof(float), &n) || !kwnn__add(n, 63, &n))
        return KWNN__SIZE_MAX;
    return n & ~(size_t)63;
}

KWNN_API size_t kwnn_scratch_size(const kwnn_net *net, int batch)
{
    size_t one, two;
    if (net == NULL || net->layers == NULL || batch < 1) return KWNN__SIZE_MAX;
    if (net->max_count_ == 0) return 0;
    one = kwnn__buffer_bytes(net, (size_t)batch);
    if (one == KWNN__SIZE_MAX || !kwnn__mul(one, 2, &two) || !kwnn__add(two, 64, &two))
        return KWNN__SIZE_MAX;
    return two;
}

/* ---- running ------------------------------------------------------------ */

static float kwnn__sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static float kwnn__softplus(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

static float kwnn__act1(const kwnn_activation *a, float x)
{
    switch (a->kind) {
    case KWNN_ACT_LINEAR: return x;
    case KWNN_ACT_RELU: {
        /* Keras's relu(x, negative_slope, max_value, threshold), step by step */
        float y, neg = 0.0f;
        if (a->a != 0.0f && !a->has_max && a->c == 0.0f) return x >= 0.0f ? x : a->a * x;
        if (a->a != 0.0f) neg = fmaxf(a->c - x, 0.0f);
        if (a->c != 0.0f) y = x > a->c ? x : 0.0f;
        else y = fmaxf(x, 0.0f);
        if (a->has_max) y = fminf(fmaxf(y, 0.0f), a->b);
        if (a->a != 0.0f) y -= a->a * neg;
        return y;
    }
    case KWNN_ACT_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case KWNN_ACT_LEAKY_RELU: return x >= 0.0f ? x : a->a * x;
    case KWNN_ACT_ELU: return x > 0.0f ? x : a->a * expm1f(x);
    case KWNN_ACT_SELU:
        return 1.0507009873554805f * (x > 0.0f ? x : 1.6732632423543772f * expm1f(x));
    case KWNN_ACT_CELU: return fmaxf(x, 0.0f) + a->a * expm1f(fminf(x, 0.0f) / a->a);
    case KWNN_ACT_GELU: return (float)(0.5 * (double)x * erfc(-(double)x * 0.70710678118654752440));
    case KWNN_ACT_GELU_TANH: {
        double d = (double)x;
        return (float)(0.5 * d * (1.0 + tanh(0.79788456080286535588 * (d + 0.044715 * d * d * d))));
    }
    case KWNN_ACT_SIGMOID: return kwnn__sigmoid(x);
    case KWNN_ACT_HARD_SIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case KWNN_ACT_HARD_SIGMOID_K2: return fminf(fmaxf(0.2f * x + 0.5f, 0.0f), 1.0f);
    case KWNN_ACT_LOG_SIGMOID: return -kwnn__softplus(-x);
    case KWNN_ACT_SPARSE_SIGMOID: return 0.5f * fminf(fmaxf(x + 1.0f, 0.0f), 2.0f);
    case KWNN_ACT_TANH: return tanhf(x);
    case KWNN_ACT_HARD_TANH: return x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x);
    case KWNN_ACT_TANH_SHRINK: return x - tanhf(x);
    case KWNN_ACT_SOFTPLUS: return kwnn__softplus(x);
    case KWNN_ACT_SOFTSIGN: return x / (fabsf(x) + 1.0f);
    case KWNN_ACT_SILU: return x * kwnn__sigmoid(x);
    case KWNN_ACT_HARD_SILU: return x * (fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f);
    case KWNN_ACT_MISH: return x * tanhf(kwnn__softplus(x));
    case KWNN_ACT_EXPONENTIAL: return expf(x);
    case KWNN_ACT_SQUAREPLUS: return (x + sqrtf(x * x + a->a)) / 2.0f;
    case KWNN_ACT_SPARSE_PLUS:
        return x <= -1.0f ? 0.0f : (x >= 1.0f ? x : (x + 1.0f) * (x + 1.0f) / 4.0f);
    case KWNN_ACT_SOFT_SHRINK: return x > a->a ? x - a->a : (x < -a->a ? x + a->a : 0.0f);
    case KWNN_ACT_HARD_SHRINK: return fabsf(x) > a->a ? x : 0.0f;
    case KWNN_ACT_SOFTMAX: case KWNN_ACT_LOG_SOFTMAX: break; /* not elementwise */
    }
    return x;
}

/* y = act(x) over n floats, groups of `last` for softmax; x may equal y. */
static void kwnn__act(const kwnn_activation *a, const float *x, float *y, size_t n, size_t last)
{
    size_t i, g;
    if (a->kind == KWNN_ACT_SOFTMAX || a->kind == KWNN_ACT_LOG_SOFTMAX) {
        for (g = 0; g + last <= n; g += last) {
            const float *xs = x + g;
            float *ys = y + g, mx = xs[0], sum = 0.0f;
            for (i = 1; i < last; i++) mx = fmaxf(mx, xs[i]);
            if (a->kind == KWNN_ACT_SOFTMAX) {
                for (i = 0; i < last; i++) {
                    ys[i] = expf(xs[i] - mx);
                    sum += ys[i];
                }
                for (i = 0; i < last; i++) ys[i] /= sum;
            } else {
                for (i = 0; i < last; i++) sum += expf(xs[i] - mx);
                sum = logf(sum);
                for (i = 0; i < last; i++) ys[i] = (xs[i] - mx) - sum;
            }
        }
        return;
    }
    switch (a->kind) { /* the common ones without the per-element switch */
    case KWNN_ACT_LINEAR:
        if (x != y) memcpy(y, x, n * sizeof *y);
        return;
    case KWNN_ACT_RELU:
        if (a->a == 0.0f && !a->has_max && a->c == 0.0f) {
            for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
            return;
        }
        break;
    case KWNN_ACT_TANH:
        for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
        return;
    default: break;
    }
    for (i = 0; i < n; i++) y[i] = kwnn__act1(a, x[i]);
}

/* rows x (K) times W (K, N) + bias -> rows x N.  Every output is the sum
   over k in order, then + bias (x @ W + b), whatever the path; the fixed-size
   inner loops are there so that compilers vectorize them even at -O2.
   Blocks of 4 rows: tiles of 4 x 8 outputs summed in registers, a panel of
   8 kernel columns reused by every block.  Remaining rows (batch 1): one row
   at a time, streaming through the kernel rows. */
#define KWNN__TR 4
#define KWNN__TC 8

/* o += a * w over n floats (restrict parameters: every compiler may vectorize). */
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n)
{
    size_t i, j, body = n - n % KWNN__TC;
#if defined(__clang__) /* vectorizes the plain loop; the blocked one it gathers across blocks */
    for (i = 0; i < body; i++) o[i] += a * w[i];
    (void)j;
#else /* gcc -O2 vectorizes only loops of a known trip count */
    for (i = 0; i < body; i += KWNN__TC)
        for (j = 0; j < KWNN__TC; j++) o[i + j] += a * w[i + j];
#endif
    for (i = body; i < n; i++) o[i] += a * w[i];
}

static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows,
                            size_t K, size_t N, const float *KWNN__RESTRICT W,
                            const float *KWNN__RESTRICT bias)
{
    size_t full = rows - rows % KWNN__TR, r, n, k, i, j;
    for (n = 0; n < N && full > 0; n += KWNN__TC) {
        size_t nc = N - n < KWNN__TC ? N - n : KWNN__TC;
        for (r = 0; r < full; r += KWNN__TR) {
            const float *x0 = x + r * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
            float acc[KWNN__TR][KWNN__TC];
            memset(acc, 0, sizeof acc);
            if (nc == KWNN__TC) {
                for (k = 0; k < K; k++) {
                    const float *w = W + k * N + n;
                    float a0 = x0[k], a1 = x1[k], a2 = x2[k], a3 = x3[k];
                    for (j = 0; j < KWNN__TC; j++) {
                        acc[0][j] += a0 * w[j];
                        acc[1][j] += a1 * w[j];
                        acc[2][j] += a2 * w[j];
                        acc[3][j] += a3 * w[j];
                    }
                }
            } else {
                for (k = 0; k < K; k++)
                    for (j = 0; j < nc; j++) {
                        float w = W[k * N + n + j];
                        acc[0][j] += x0[k] * w;
                        acc[1][j] += x1[k] * w;
                        acc[2][j] += x2[k] * w;
                        acc[3][j] += x3[k] * w;
                    }
            }
            for (i = 0; i < KWNN__TR; i++)
                for (j = 0; j < nc; j++)
                    y[(r + i) * N + n + j] = bias != NULL ? acc[i][j] + bias[n + j] : acc[i][j];
        }
    }
    for (r = full; r < rows; r++) {
        float *o = y + r * N;
        const float *xr = x + r * K;
        for (n = 0; n < N; n++) o[n] = 0.0f;
        for (k = 0; k < K; k++) {
            const float *w = W + k * N;
            float a = xr[k];
            kwnn__axpy(o, w, a, N);
        }
        if (bias != NULL)
            for (n = 0; n < N; n++) o[n] += bias[n];
    }
}

/* The taps [*lo, *hi) of a window of k taps d apart, its first at padded
   coordinate `start`, that fall on the input [pad, pad + n): the loops visit
   only those, so a window larger than the input costs no more than the
   input (bounded by kwnn__window's limits: no overflow, 32-bit included). */
static void kwnn__taps(size_t start, size_t pad, size_t n, size_t k, size_t d, size_t *lo, size_t *hi)
{
    size_t end = pad + n;
    *lo = start < pad ? (pad - start + d - 1) / d : 0;
    *hi = start < end ? (end - start + d - 1) / d : 0;
    if (*hi > k) *hi = k;
    if (*lo > *hi) *lo = *hi;
}

static void kwnn__conv_run(const kwnn_layer *L, const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y,
                           size_t batch)
{
    size_t H = L->in_shape[0], Wd = L->in_shape[1], C = L->in_shape[2];
    size_t OH = L->out_shape[0], OW = L->out_shape[1], F = L->units;
    size_t b, oh, ow, i, j, ci, f, i0, i1, j0, j1;
    for (b = 0; b < batch; b++)
        for (oh = 0; oh < OH; oh++) {
            kwnn__taps(oh * L->sh, L->pad_top, H, L->kh, L->dh, &i0, &i1);
            for (ow = 0; ow < OW; ow++) {
                float *acc = y + ((b * OH + oh) * OW + ow) * F;
                kwnn__taps(ow * L->sw, L->pad_left, Wd, L->kw, L->dw, &j0, &j1);
                for (f = 0; f < F; f++) acc[f] = 0.0f;
                for (i = i0; i < i1; i++) {
                    size_t ih = oh * L->sh + i * L->dh - L->pad_top;
                    for (j = j0; j < j1; j++) {
                        size_t iw = ow * L->sw + j * L->dw - L->pad_left;
                        const float *xp, *wp;
                        KWNN_PROBE(taps, 1);
                        xp = x + ((b * H + ih) * Wd + iw) * C;
                        wp = L->w + (i * L->kw + j) * C * F;
                        for (ci = 0; ci < C; ci++) kwnn__axpy(acc, wp + ci * F, xp[ci], F);
                    }
                }
                if (L->b != NULL)
                    for (f = 0; f < F; f++) acc[f] += L->b[f];
            }
        }
}

static void kwnn__pool_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t H = L->in_shape[0], Wd = L->in_shape[1], C = L->units;
    size_t OH = L->out_shape[0], OW = L->out_shape[1];
    size_t b, oh, ow, i, j, ci, i0, i1, j0, j1;
    int is_max = L->kind == KWNN_LAYER_MAXPOOL2D;
    for (b = 0; b < batch; b++)
        for (oh = 0; oh < OH; oh++) {
            kwnn__taps(oh * L->sh, L->pad_top, H, L->kh, 1, &i0, &i1);
            for (ow = 0; ow < OW; ow++) {
                float *o = y + ((b * OH + oh) * OW + ow) * C;
                size_t count = 0;
                kwnn__taps(ow * L->sw, L->pad_left, Wd, L->kw, 1, &j0, &j1);
                for (i = i0; i < i1; i++) {
                    size_t ih = oh * L->sh + i - L->pad_top;
                    for (j = j0; j < j1; j++) {
                        size_t iw = ow * L->sw + j - L->pad_left;
                        const float *xp;
                        KWNN_PROBE(taps, 1);
                        xp = x + ((b * H + ih) * Wd + iw) * C;
                        if (count == 0) {
                            for (ci = 0; ci < C; ci++) o[ci] = xp[ci];
                        } else if (is_max) {
                            for (ci = 0; ci < C; ci++) o[ci] = xp[ci] > o[ci] ? xp[ci] : o[ci];
                        } else {
                            for (ci = 0; ci < C; ci++) o[ci] += xp[ci];
                        }
                        count++;
                    }
                }
                if (!is_max) {
                    float div_ = (float)(L->same ? count : L->kh * L->kw);
                    for (ci = 0; ci < C; ci++) o[ci] /= div_;
                }
            }
        }
}

static void kwnn__global_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t C = L->units, S = L->in_count / C, b, s, ci;
    int is_max = L->kind == KWNN_LAYER_GLOBAL_MAXPOOL;
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        float *o = y + b * C;
        for (ci = 0; ci < C; ci++) o[ci] = xb[ci];
        for (s = 1; s < S; s++)
            for (ci = 0; ci < C; ci++) {
                float v = xb[s * C + ci];
                if (is_max) o[ci] = v > o[ci] ? v : o[ci];
                else o[ci] += v;
            }
        if (!is_max)
            for (ci = 0; ci < C; ci++) o[ci] /= (float)S;
    }
}

static void kwnn__run_layer(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t n = L->out_count * batch, last = L->out_ndim ? L->out_shape[L->out_ndim - 1] : 1, k;
    switch (L->kind) {
    case KWNN_LAYER_DENSE: {
        size_t K = L->in_shape[L->in_ndim - 1];
        kwnn__dense_run(x, y, batch * (L->in_count / K), K, L->units, L->w, L->b);
        kwnn__act(&L->act, y, y, n, last);
        break;
    }
    case KWNN_LAYER_BATCHNORM: {
        size_t C = L->units, r, rows = n / C;
        for (r = 0; r < rows; r++)
            for (k = 0; k < C; k++) y[r * C + k] = x[r * C + k] * L->w[k] + L->b[k];
        break;
    }
    case KWNN_LAYER_ACTIVATION: kwnn__act(&L->act, x, y, n, last); break;
    case KWNN_LAYER_CONV2D:
        kwnn__conv_run(L, x, y, batch);
        kwnn__act(&L->act, y, y, n, last);
        break;
    case KWNN_LAYER_MAXPOOL2D: case KWNN_LAYER_AVGPOOL2D: kwnn__pool_run(L, x, y, batch); break;
    case KWNN_LAYER_GLOBAL_AVGPOOL: case KWNN_LAYER_GLOBAL_MAXPOOL: kwnn__global_run(L, x, y, batch); break;
    default:
        if (x != y) memcpy(y, x, n * sizeof *y);
        break;
    }
}

static int kwnn__elementwise(kwnn_kind k) { return k == KWNN_LAYER_BATCHNORM || k == KWNN_LAYER_ACTIVATION; }

KWNN_API kwnn_result kwnn_run(const kwnn_net *net, const float *input, size_t in_count, float *output,
                              size_t out_count, void *scratch, size_t scratch_size, int batch)
{
    size_t nb, want_in, want_out, need, one = 0;
    float *buf[2] = {NULL, NULL};
    const float *cur = input;
    int cur_buf = -1;
    uint32_t i;
    if (net == NULL || net->layers == NULL || batch < 1 || input == NULL || output == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    nb = (size_t)batch;
    if (!kwnn__mul(net->input_count, nb, &want_in) || !kwnn__mul(net->output_count, nb, &want_out) ||
        !kwnn__mul(want_in, sizeof(float), &need) || !kwnn__mul(want_out, sizeof(float), &need))
        return KWNN_ERR_OVERFLOW;
    if (in_count != want_in || out_count != want_out) return KWNN_ERR_SIZE;
    need = kwnn_scratch_size(net, batch);
    if (need == KWNN__SIZE_MAX) return KWNN_ERR_OVERFLOW;
    if (scratch_size < need || (need > 0 && scratch == NULL)) return KWNN_ERR_SCRATCH;
    if (need > 0) {
        unsigned char *base = (unsigned char *)scratch;
        size_t mis = (size_t)((uintptr_t)base % 64);
        base += mis ? 64 - mis : 0;
        one = kwnn__buffer_bytes(net, nb);
        buf[0] = (float *)(void *)base;
        buf[1] = (float *)(void *)(base + one);
    }
    for (i = 0; i < net->layer_count; i++) {
        const kwnn_layer *L = &net->layers[i];
        float *dst;
        int dst_buf;
        if (!kwnn__computes(L->kind)) continue;
        if (i == net->last_compute_) {
            dst = output;
            dst_buf = 2;
        } else {
            dst_buf = (kwnn__elementwise(L->kind) && cur_buf >= 0) ? cur_buf : (cur_buf == 0 ? 1 : 0);
            dst = buf[dst_buf];
        }
        kwnn__run_layer(L, cur, dst, nb);
        cur = dst;
        cur_buf = dst_buf;
    }
    if (net->last_compute_ == KWB_NONE) memcpy(output, input, want_out * sizeof(float));
    return KWNN_OK;
}

/* ---- names -------------------------------------------------------------- */

KWNN_API uint64_t kwnn_cost_per_sample(const kwnn_net *net)
{
    return net != NULL && net->layers != NULL ? net->cost_ : 0;
}

KWNN_API const char *kwnn_result_string(kwnn_result r)
{
    switch (r) {
    case KWNN_OK: return "ok";
    case KWNN_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case KWNN_ERR_NO_LAYERS: return "no_layers";
    case KWNN_ERR_NO_CONFIG: return "no_config";
    case KWNN_ERR_UNSUPPORTED: return "unsupported";
    case KWNN_ERR_BAD_CONFIG: return "bad_config";
    case KWNN_ERR_BAD_WEIGHTS: return "bad_weights";
    case KWNN_ERR_SHAPE: return "shape";
    case KWNN_ERR_OUT_OF_MEMORY: return "out_of_memory";
    case KWNN_ERR_OVERFLOW: return "overflow";
    case KWNN_ERR_SIZE: return "size";
    case KWNN_ERR_SCRATCH: return "scratch";
    case KWNN_ERR_COST: return "too_costly";
    }
    return "unknown";
}

KWNN_API const char *kwnn_kind_name(kwnn_kind k)
{
    switch (k) {
    case KWNN_LAYER_INPUT: return "Input";
    case KWNN_LAYER_MODEL: return "Model";
    case KWNN_LAYER_IDENTITY: return "Identity";
    case KWNN_LAYER_FLATTEN: return "Flatten";
    case KWNN_LAYER_RESHAPE: return "Reshape";
    case KWNN_LAYER_DENSE: return "Dense";
    case KWNN_LAYER_BATCHNORM: return "BatchNormalization";
    case KWNN_LAYER_ACTIVATION: return "Activation";
    case KWNN_LAYER_CONV2D: return "Conv2D";
    case KWNN_LAYER_MAXPOOL2D: return "MaxPooling2D";
    case KWNN_LAYER_AVGPOOL2D: return "AveragePooling2D";
    case KWNN_LAYER_GLOBAL_AVGPOOL: return "GlobalAveragePooling";
    case KWNN_LAYER_GLOBAL_MAXPOOL: return "GlobalMaxPooling";
    }
    return "?";
}

KWNN_API const char *kwnn_activation_name(kwnn_act_kind a)
{
    size_t i;
    if (a == KWNN_ACT_GELU_TANH) return "gelu_tanh";
    if (a == KWNN_ACT_HARD_SIGMOID_K2) return "hard_sigmoid_keras2";
    for (i = 0; i < KWNN__N_ACTS; i++)
        if (kwnn__acts[i].kind == a) return kwnn__acts[i].name;
    return "?";
}

#ifdef __cplusplus
}
#endif
#endif /* KWBIN_NN_IMPLEMENTATION */

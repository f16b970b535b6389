/* kwbin_nn.h - reference inference of Keras networks from a kwbin file, in C.
   MIT License (see LICENSE).

   (Generated from the parts in c_reader/nn/ by c_reader/nn/amalgamate.py:
   to change it, edit those; see c_reader/nn/README.md.)

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
   metadata (which Keras generation wrote it; the model config: the graph of
   a functional model).  Nothing else is needed: no Python, no HDF5, no
   architecture code.

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

   A model with several inputs or outputs runs with kwnn_run_multi: one
   array per input and per output, in the order of the model config's
   input_layers and output_layers (sizes from kwnn_input_size(&net, i) and
   kwnn_output_size(&net, i), per sample).

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
       BatchNormalization folded to a per-channel scale and shift, and the
       graph (its nodes, run order and buffer plan; see THE GRAPH), with
       tables used only while loading.  Every
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
       Bytes of scratch memory kwnn_run / kwnn_run_multi need for `batch`
       samples: the arena of the buffer plan (every intermediate value at
       its offset, see THE GRAPH), plus 64 bytes of alignment slack.  0 when
       no intermediate buffer is needed; SIZE_MAX when batch < 1 or the size
       overflows.
   kwnn_peak_size(net, batch)
       Bytes of the largest sum of activations alive at once (the lower
       bound the plan's arena approaches; the arena adds the rounding of
       each value to 64 bytes and what first fit leaves between them).
   kwnn_run(net, input, in_count, output, out_count, scratch, scratch_size, batch)
       For a network of one input and one output (else KWNN_ERR_ARITY):
       runs `batch` samples.  input: batch * net->input_count floats
       (row-major, the Keras shape without the batch axis: for a
       channels_last image (H, W, C)); output: batch * net->output_count
       floats.  in_count / out_count are the lengths of the two arrays, in
       floats, and must be exactly those (else KWNN_ERR_SIZE); scratch_size
       must be at least kwnn_scratch_size (else KWNN_ERR_SCRATCH).  input and
       output must not overlap.  KWNN_ERR_INPUT_VALUE: an input value a
       layer cannot take (an Embedding id outside its table); the
       outputs are then undefined.  NO allocation, no I/O, no global state:
       several threads may run one net at once, each with its own scratch
       and output.  A run error leaves net->message untouched (the net is
       const); the code says which check failed.
   kwnn_run_multi(net, inputs, in_counts, outputs, out_counts, scratch, scratch_size, batch)
       The same for any number of inputs and outputs: inputs[i] holds
       in_counts[i] == batch * kwnn_input_size(net, i) floats, outputs[j]
       out_counts[j] == batch * kwnn_output_size(net, j) (else
       KWNN_ERR_SIZE), in the model config's order; no array may overlap
       another.  kwnn_run(...) is kwnn_run_multi(net, &input, &in_count,
       &output, &out_count, ...).
   kwnn_scratch_size_shapes(net, in_shapes, batch, &size, out_shapes, message)
   kwnn_run_shapes(net, inputs, in_shapes, outputs, out_capacity, out_shapes,
                   scratch, scratch_size, batch, &need, message)
       VARIABLE DIMENSIONS.  A None in an input's shape (time steps; the
       height and width of a fully convolutional net) is given at run time:
       net->variable is then 1, kwnn_load builds the net with a nominal
       length of 32 on those axes, or the first of 64, 128, ..., 4096 that
       every layer takes (a window longer than 32 steps, strided layers):
       net->input_shape, kwnn_scratch_size, kwnn_cost_per_sample are for
       that length, and kwnn_run /
       kwnn_run_multi return KWNN_ERR_SHAPE.  These two calls work on any
       net.  in_shapes[i] (kwnn_shape: ndim, dims[]) is input i's shape per
       sample: the model's fixed axes as they are, a None axis at least 1.
       Every shape is inferred again through the graph for them: each layer
       reads its config again and checks its input as at load (the file
       must still be open), so a length a layer cannot take (a time axis
       of 0, a window larger than the input, a Reshape that does not fit)
       is KWNN_ERR_SHAPE (or _BAD_CONFIG, _UNSUPPORTED, as the load would
       say) with a one-line `message` naming the input or the layer
       (message: KWNN_MESSAGE_SIZE bytes, or NULL; "" on success).
       kwnn_scratch_size_shapes puts the scratch bytes kwnn_run_shapes needs
       in *size and each output's shape in out_shapes[j] (or NULL); it makes
       one temporary allocation (the graph's nodes; through opt->alloc_fn
       if given) and frees it.  kwnn_run_shapes allocates nothing: its
       scratch holds the graph's nodes for this run (a size fixed per net),
       the layers' per-call fields, then the arena, planned again by first
       fit for these shapes.  A scratch too small: KWNN_ERR_SCRATCH and
       *need (or NULL) the bytes needed (when the scratch does not even
       hold the graph's part, that part's size: a lower bound).  Outputs:
       out_capacity[j] floats in outputs[j] (at least batch times the
       output's size, else KWNN_ERR_SIZE); out_shapes[j] (or NULL) receives
       the shape.  The scratch is checked at every call against these
       shapes' need.  Thread-safe as kwnn_run.
   kwnn_input_shape(net, i, &ndim), kwnn_output_shape(net, j, &ndim)
       The per-sample shape of input i / output j (ndim dimensions), NULL
       when i >= net->num_inputs (j >= net->num_outputs).
   kwnn_input_size(net, i), kwnn_output_size(net, j)
       Floats per sample of input i / output j; 0 when out of range.
   kwnn_cost_per_sample(net)
       Operations per sample (multiply-adds, compares, elementwise steps)
       that kwnn_run does, as counted at load from the shapes: an upper
       bound of what its loops visit (a window visits only the taps that
       fall on its input), summed over every call of every layer.  Also per
       layer: net->layers[i].cost (one call) and .calls.  0 for a net that
       is not loaded.
   kwnn_result_string(r)   "ok", "unsupported", "size", "too_costly", ...
   kwnn_kind_name(k), kwnn_activation_name(a)
                           "Dense", "relu", ... (for listings)

   The loaded net (read-only fields):
       layer_count, layers[i]  one kwnn_layer per row of the file's layer
                               table, same order: name, class_name, kind,
                               act, in/out shape (per sample; of its first
                               input), weights, calls (KWNN_LAYER_UNUSED:
                               no output depends on it, never loaded).
       num_inputs, num_outputs the model's
       input_ndim, input_shape[], input_count     per sample, batch excluded
       output_ndim, output_shape[], output_count  (the first input / output)
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
                       (before running anything; the allocation is freed):
                       a small file cannot ask for hours of work per sample.
       parallel_for, parallel_data   NULL (default): kwnn_run uses the
                       calling thread only.  Else kwnn_run hands independent
                       blocks of its matrix products and convolutions to
                       parallel_for(task, ctx, n, parallel_data), which must
                       call task(ctx, i) once for each i in [0, n) (on any
                       threads, in any order) and return when all are done.
                       Results are bit-identical with and without it (each
                       output is computed the same way, whoever computes it).
                       The header creates no threads (kwbin-run --threads N
                       shows a pthreads one).

   SUPPORTED LAYERS (anything else: KWNN_ERR_UNSUPPORTED naming the layer
   and its class, at load time)

   The configs of every Keras generation are read: Keras 1 (output_dim,
   bias, init, nb_filter, nb_row, nb_col, subsample, border_mode,
   dim_ordering, mode, p, ...), Keras 2 / tf.keras (units, use_bias,
   padding, data_format, axis as a list, alpha, ...) and Keras 3 (batch_shape,
   negative_slope, activation objects, keepdims, ...).  Data layout is
   channels_last ("tf" in Keras 1); channels_first / "th" only where the
   list below says so (refused elsewhere).

     InputLayer        batch_shape | batch_input_shape: the input shape.
     Dense             units | output_dim, activation, use_bias | bias
                       (default true).  kernel (in, units), bias (units).
                       On inputs of rank > 1 it acts on the last axis.
     BatchNormalization  axis (-1; an int, or a list in tf.keras: any axes
                       but the batch, e.g. 1 in a channels_first convnet);
                       epsilon (default 1e-3), center, scale (default true:
                       beta / gamma are then required; without them 0 / 1);
                       moving_mean, moving_variance (of the axes' sizes, or
                       the input's rank with 1 elsewhere).  Keras 1: mode 0
                       only (the importer already packs running_std, which
                       holds the variance, as moving_variance).  Computed as
                       Keras 3 does: inv = gamma / sqrt(var + eps) (in
                       double, rounded), y = x * inv + (beta - mean * inv).
     LayerNormalization  axis (-1; a list of adjacent axes), epsilon (1e-3),
                       center, scale, rms_scaling (Keras 3: y = x *
                       rsqrt(var + eps) * gamma, no beta); gamma / beta of
                       the axes' sizes.  Mean and variance per group (in
                       double, rounded), then inv = rsqrt(var + eps) * gamma,
                       y = x * inv + (beta - mean * inv).
     Rescaling         y = x * scale + offset: numbers, or flat lists (per
                       channel: the last axis; Keras 3's global
                       image_data_format is not in the file, so a
                       channels_first Rescaling list is read as last-axis).
     Normalization     axis (-1; a list; null: every axis), invert: y = (x -
                       mean) / max(sqrt(variance), 1e-7) (invert: x *
                       max(...) + mean), from its weights mean, variance
                       (count unused) of the kept axes' sizes, or from mean
                       and variance in the config (numbers or flat lists,
                       aligned on the right of the kept axes).
     PReLU             alpha (the input's shape, 1 on shared_axes): x >= 0 ?
                       x : alpha x.
     LayerScale        keras.applications.convnext's: x * its vector (weight
                       "variable" as packed, or "gamma") on the last axis.
     StochasticDepth   (keras.applications.convnext) identity (inference).
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
     Flatten           free (no copy); data_format channels_first (rank >=
                       2): channels moved last first (a copy), as Keras does.
     Reshape           target_shape, with at most one -1; free.
     Conv1D, Conv2D, Conv3D, DepthwiseConv1D/2D, SeparableConv1D/2D,
     Conv1DTranspose, Conv2DTranspose, Conv3DTranspose (Keras 1:
     Convolution1D/2D/3D, AtrousConvolution1D/2D, SeparableConvolution1D/2D)
                       one N-d direct convolution (42_conv_family.h).
                       Input (spatial..., C) or, with data_format
                       channels_first | dim_ordering "th", (C, spatial...).
                       filters | nb_filter; kernel_size | filter_length,
                       nb_row, nb_col, kernel_dim1..3; strides | subsample
                       | subsample_length; padding | border_mode ("valid",
                       "same": TensorFlow's split, the extra cell at the
                       end; "causal" for 1-d forward convolutions: (k - 1) d
                       before); dilation_rate | atrous_rate; groups (Conv:
                       must divide channels and filters); depth_multiplier
                       (depthwise, separable; output channel c mult + m);
                       output_padding (transposed: null or sizes; Keras 3's
                       output size and padding, as it computes them for
                       JAX); use_bias | bias; activation.  Kernels (k...,
                       cin / groups, filters); depthwise (k..., C, mult)
                       ("kernel" in Keras 3, "depthwise_kernel" otherwise);
                       pointwise_kernel (1..., C mult, filters); transposed
                       (k..., filters, cin); Keras 1 "th" (filters, cin,
                       k...); Keras 1 Convolution1D (k, 1, cin, filters).
                       Kernels not laid out (k..., cin, filters) are
                       repacked once at load, in the one allocation; when
                       the metadata says the kernels are Theano's (key
                       "conv_kernels" starting with "theano", which `kwbin
                       pack` writes for Theano-backend files), they are
                       flipped once at load.  channels_first is index
                       arithmetic (no copy); the loops visit only the taps
                       on the input; a separable convolution needs no
                       intermediate buffer.  Keras 1 Deconvolution2D/3D
                       are refused (their kernel layout varied).
     MaxPooling1D/2D/3D, AveragePooling1D/2D/3D (and MaxPool*, AvgPool*)
                       pool_size | pool_length (2), strides | stride (null =
                       pool_size), padding | border_mode ("valid", "same":
                       TensorFlow's split), data_format | dim_ordering
                       (channels_first / "th" too); "same" averages count
                       only the real inputs (as TensorFlow and Keras 3 do).
     GlobalAveragePooling1D/2D/3D, GlobalMaxPooling1D/2D/3D (and the
     GlobalAvgPool / GlobalMaxPool aliases)
                       over the spatial axes; keepdims; data_format |
                       dim_ordering.
     ZeroPadding1D/2D/3D, Cropping1D/2D/3D
                       padding / cropping: an int, one int or (before,
                       after) pair per axis, a 1D pair, Keras 1's 4-list
                       (top, bottom, left, right) and dicts (left_pad, ...);
                       data_format | dim_ordering.  Cropping everything is
                       refused.
     UpSampling1D/2D/3D  size | length (2), data_format | dim_ordering;
                       UpSampling2D interpolation "nearest" or "bilinear"
                       (half-pixel centres, (o + 0.5) / size - 0.5 clamped
                       to the input, as Keras 3 and tf.keras 2 compute; in
                       files of standalone Keras 2.0-2.3, keras_version
                       without "-tf", TensorFlow 1's resize_bilinear: o /
                       size, the last input repeated).
     Permute           dims (1-based, without the batch).
     RepeatVector      n; input of rank 1.
     Add, Subtract (2 inputs), Multiply, Average, Maximum, Minimum
                       Keras broadcasting: the shapes (batch excluded) are
                       aligned on the right and a dimension 1 stretches;
                       applied pairwise in input order (Average: the sum,
                       then / n).
     CustomScaleLayer  keras.applications' (Inception-ResNet-v2): scale (a
                       finite number, required); 2 inputs of one shape;
                       inputs[0] + inputs[1] * scale, scale as float32.
     Concatenate       axis (-1; negative from the end; counted with the
                       batch, which cannot be concatenated); the other
                       dimensions must agree.
     Dot               axes: an int or a pair (negative from the end,
                       counted with the batch); normalize (L2, x / max(|x|,
                       1e-7)); output: the first input's other axes, then
                       the second's ((1,) if none), as batch_dot.
     Merge (Keras 1)   mode sum, mul, ave, max, concat (concat_axis), dot
                       (dot_axes); cos and lambdas are refused.
     Embedding         input_dim, output_dim; embeddings (input_dim,
                       output_dim); ids of any shape, as floats (an int32
                       input is given converted): an id that is not an
                       integer in [0, input_dim) makes kwnn_run return
                       KWNN_ERR_INPUT_VALUE (never a read outside the
                       table).  mask_zero: see MASKING.
     SimpleRNN, LSTM, GRU (45_recurrent.h)
                       input (time steps, features), steps may be None; units,
                       activation (tanh), recurrent_activation (sigmoid;
                       Keras 1 / 2 files: hard_sigmoid, their form),
                       use_bias, return_sequences, go_backwards (the
                       output sequence stays in processing order, as
                       Keras's), unroll (the same math), GRU reset_after
                       (Keras 3 / tf.keras default true; Keras 1: false);
                       dropouts ignored (inference).  Keras 3 / tf.keras
                       fused weights: kernel (features, G units),
                       recurrent_kernel (units, G units), bias (G units;
                       GRU reset_after (2, 3 units): input and recurrent
                       biases); gates i, f, c, o (LSTM), z, r, h (GRU).
                       The state starts at zero, or from the call's
                       initial_state (Keras 3: the call's kwargs; tf.keras:
                       inputs after the first): h (and c for an LSTM), each
                       (units,); a Bidirectional takes the forward's then
                       the backward's.  return_state: the call gives its
                       output, then h (and c), each (units,) (a
                       Bidirectional: the forward's, then the backward's),
                       addressed as Keras does by the tensor index of a
                       reference (keras_history's third element); only in
                       a functional graph.  Older layouts, converted once
                       at load as tf-keras converts them: Keras 1's
                       per-gate W_i, U_i, b_i, ... (LSTM gates i, c, f, o
                       in the file; GRU z, r, h, reset_after false) and
                       SimpleRNN's U; Keras 2's CuDNNLSTM / CuDNNGRU (each
                       gate's input block k.T read in Fortran order, the
                       recurrent blocks transposed; LSTM: the two biases
                       summed; GRU: reset_after true, tanh / sigmoid).
                       Refused: stateful, time_major.  A None time axis:
                       kwnn_run_shapes.  The scratch
                       holds a work area of (T G + G + 4) units floats
                       per sample (x @ kernel for every step, the state).
                       A mask (MASKING) is honoured; zero_output_for_mask.
     Bidirectional     of SimpleRNN, LSTM, GRU: merge_mode concat, sum,
                       mul, ave, or None (two outputs: the forward's, the
                       backward's; in a functional graph); the backward
                       copy runs on the reversed input, its sequence put
                       back in time order before the merge, as Keras does;
                       a backward_layer (Keras 3 always writes one) is a
                       SimpleRNN, LSTM or GRU of its own (class, units,
                       activations, use_bias, reset_after) with the same
                       return_sequences and return_state and the other
                       go_backwards (as Keras requires): concat puts the
                       two widths end to end, sum / mul / ave need equal
                       units (else refused); return_state gives the
                       forward's states then the backward's (its own
                       count and units); initial_state only for two
                       directions of as many states (Keras halves them).
                       Weights "<forward name>/.../kernel" and the
                       backward layer's, by their last path component (a
                       lone "bias" when only one direction has one).
     TimeDistributed   of any layer above that takes one input (Dense,
                       Conv*, pooling, Flatten, SimpleRNN / LSTM / GRU,
                       ...): loaded for one step's shape (the input without
                       its first axis), it runs on batch x steps samples;
                       its weights are the wrapper's.  Of a model
                       (Sequential or functional, one input and one
                       output): its layers are the wrapper's rows in the
                       file (kwbin pack lists them, as a nested model's),
                       each call run as above (one step's shapes, the
                       steps as the batch; cost and work area per step
                       times the steps).  Refused: a wrapped Bidirectional
                       or TimeDistributed (also inside a wrapped model), a
                       layer of several inputs (outside a wrapped model),
                       return_state, Dot or a mask inside it, a model of
                       several inputs or outputs, a wrapped model whose
                       layers the file does not list (packed by an older
                       kwbin).
     GroupNormalization  groups (32; must divide the channels), axis (-1;
                       one axis), epsilon (1e-3), center, scale: per
                       sample and group, mean and variance over the group's
                       channels and every other axis (in double, rounded),
                       then inv = rsqrt(var + eps) * gamma, y = x * inv +
                       (beta - mean * inv).  gamma / beta (channels,).
     UnitNormalization axis (-1; a list of adjacent axes): x * min(rsqrt(sum
                       x^2), 1e12), as Keras's normalize (epsilon 1e-12).
     EinsumDense       equation, bias_axes, activation, kernel, bias: the
                       forms where it is a Dense over the input's trailing
                       axes, input (batch, free..., summed...), kernel
                       (summed..., new...), output (batch, free..., new...),
                       "..." allowed for the leading axes: "ab,bc->ac",
                       "abc,cd->abd", "abc,cde->abde", "abcd,cde->abe",
                       "...b,bc->...c" (MultiHeadAttention's are such).
                       Other equations are refused naming them.  The bias
                       (Keras's shape: the output axes from the first
                       bias letter on, 1 on the others) broadcasts.
     MultiHeadAttention  called as mha(query, value) or mha(query, value,
                       key), each also as a keyword (Keras 3 records
                       query=, value=, key= tensors in the call's kwargs,
                       tf.keras every argument after the first, as
                       [["q", 0, 0, {"value": ["v", 0, 0]}]]: the graph
                       takes them after the arguments, in that order;
                       other Keras 3 tensor keywords, e.g. attention_mask,
                       are refused); num_heads, key_dim, value_dim (key_dim),
                       use_bias, output_shape (null: the query's features;
                       an int or a list), attention_axes (null or every
                       axis between the batch and the features: positions
                       flattened), dropout ignored; the call's kwargs
                       use_causal_mask (one attention axis) and the
                       config's sliding_window (|i - j| < w): masked
                       scores set to -1e9 before the softmax, as Keras.
                       Weights query|key|value/kernel (features, heads,
                       dim), /bias (heads, dim), attention_output/kernel
                       (heads, value_dim, output...), /bias (output...).
                       Q is scaled by 1 / sqrt(key_dim).  Refused: use_gate,
                       return_attention_scores, attention over some axes
                       only, a shared layer called with and without
                       use_causal_mask.  Keras masks: see MASKING.  The
                       scratch holds a work area of T H kd + S H (kd + vd)
                       + T H vd + S floats per sample.
     Attention, AdditiveAttention
                       called on [query, value] or [query, value, key]
                       (rank 3); Attention score_mode "dot" (q . k, times
                       scale) or "concat" (concat_score_weight * sum
                       tanh(scale (q + k))), AdditiveAttention (sum scale
                       tanh(q + k), scale per feature); use_scale (weights
                       "scale", "concat_score_weight" or the importer's
                       positional "0", "1"); use_causal_mask (call kwargs;
                       tf.keras's config causal): 1e9 subtracted from
                       masked scores; softmax over the keys; dropout
                       ignored.  return_attention_scores is refused.
                       Keras masks: see MASKING.
     Masking           mask_value (0): a time step whose features all
                       equal it becomes zeros; its mask, see MASKING.
     Operation nodes (47_ops.h)
                       what Keras 3 writes for a tensor operation in a
                       functional graph (`x * 0.5`, `x[:, -1]`, keras.ops.*:
                       module "keras.src.ops...", its tensors and constants
                       in the call's args, its options in the config); one
                       call each.  Elementwise, with tensors or constants
                       (numbers, nested lists, Keras's __numpy__ arrays) on
                       either side and NumPy broadcasting per sample (the
                       tensors' batch axes must meet; a constant with as
                       many axes as the tensors has 1 first): Add, Subtract,
                       Multiply, Divide, TrueDivide, Power, Minimum, Maximum
                       (NaN propagates), Negative, Absolute / Abs, Square,
                       Sqrt, Exp, Log, Clip (x_min, x_max), Sign, Floor,
                       Ceil, Reciprocal, Rsqrt, Log1p, Expm1; Equal,
                       NotEqual, Greater, GreaterEqual, Less, LessEqual,
                       LogicalAnd, LogicalOr, LogicalNot (0 / 1); Where
                       (condition != 0).  The activations as operations
                       (Relu, Relu6, Sigmoid, Tanh, Silu, Gelu: approximate
                       default true, LeakyRelu negative_slope, Elu, Selu,
                       Softplus, Softsign, HardSigmoid, HardSilu, LogSigmoid,
                       ...: the class in snake case among ACTIVATIONS);
                       Softmax, LogSoftmax over any axis.  Mean, Sum, Max /
                       Amax, Min / Amin: axis (an int or a list, not the
                       batch, not None), keepdims, initial; summed in input
                       order.  Reshape (newshape: -1 or None first, one -1
                       at most after), ExpandDims, Squeeze (axis given):
                       free; Transpose (axes, the batch first); Concatenate,
                       Stack (axis, not the batch; tensors only).  GetItem:
                       integers (negative from the end), slices of constant
                       start / stop / step (clamped as Python does, negative
                       steps), one Ellipsis, None (a new axis); the batch
                       axis taken whole.  Matmul: two tensors of one rank
                       (>= 2 per sample; leading axes broadcast), or a tensor
                       and a constant (k,) vector or (k, m) matrix; sums in
                       k order.  Cast: to float32 / float64 free, to int*
                       toward zero, to bool != 0; StopGradient: identity;
                       ConvertToTensor: identity without a dtype (Keras 3
                       passes masks through one), else as Cast.
                       Anything else (another class, a keyword argument, a
                       tensor index, axis None, an operation called twice)
                       is refused at load: "operation 'NAME' (CLASS): ...".
                       No scratch beyond its output; values are float32 (an
                       int32 input is given as floats).
                       Also Std, Var (two passes), Any, All.
     TFOpLambda, SlicingOpLambda (tf.keras; 47_ops.h)
                       the config's function as the operation above:
                       math.add / __operators__.add, math.subtract,
                       math.multiply, math.truediv, math.divide, math.pow,
                       math.minimum, math.maximum, math.equal, not_equal,
                       greater(_equal), less(_equal), logical_and / or /
                       not, where, math.negative, abs, square, sqrt, exp,
                       log, sign, floor, ceil, reciprocal, rsqrt, log1p,
                       expm1, clip_by_value, math.reduce_sum / mean / max
                       / min / any / all / std / variance, linalg.matmul
                       (transpose_b; transpose_a, adjoint refused),
                       nn.softmax, nn.log_softmax, reshape, expand_dims,
                       (compat.v1.)squeeze, (compat.v1.)transpose, concat,
                       stack, cast, identity, stop_gradient, and the
                       activations (nn.relu, relu6, gelu: approximate
                       default false, silu / swish, elu, selu, softplus,
                       softsign, leaky_relu alpha, math.sigmoid, tanh);
                       __operators__.getitem (SlicingOpLambda: slice_spec).
                       A call [[name, node, tensor, {kwargs}]]: the first
                       argument is that tensor (["_CONSTANT_VALUE", -1,
                       value, {...}]: a constant), the others and the
                       options are in its kwargs (y; where: x, y; matmul:
                       b); tensors are the call's references in order, each
                       followed by those in its kwargs.  Another function
                       is refused: "(TFOpLambda): unsupported function F".
     Sequential, Functional, Model (nested models)
                       their layers follow them in the table (names
                       "outer/inner"); see THE GRAPH.

   THE GRAPH

   A Functional / Model config (the metadata's "model_config", and each
   nested one) is a graph: each entry of "layers" lists its calls in
   "inbound_nodes", each call the tensors it takes, as [name, node_index,
   tensor_index] (Keras 1 and 2: [[[name, node, tensor, kwargs], ...], ...];
   Keras 3: {"args": [... {"class_name": "__keras_tensor__", "config":
   {"keras_history": [name, node, tensor]}} ...], "kwargs": {...}}).
   node_index counts the calls of that layer in the order its entry lists
   them (every generation renumbers them so); tensor_index picks an output
   of a nested model or of a recurrent layer with return_state.  kwnn_load
   unrolls the graph into nodes: one per call of a layer (a shared layer
   runs once per call, with its one set of
   weights), one per model input; a nested model's layers get nodes for each
   call of the model, its InputLayers fed by that call's arguments, its
   outputs (output_layers) what the call gives.  A Sequential (and the
   table's top level when the metadata has no Functional config, e.g. a file
   written by hand with kwbin.Writer) is a chain of its rows in table order.
   The model's inputs and outputs are its config's input_layers (default:
   its InputLayers) and output_layers (default: the last layer), in order.
   The config must list the layer table's rows under the model, in table
   order (KWNN_ERR_BAD_CONFIG otherwise).

   Then, at load: the nodes are sorted (inputs before readers, depth first
   from the outputs; only what an output depends on runs); every node's
   shape is inferred in that order, each layer loaded at its first call
   (every call of a shared layer must see the same input shapes); and a
   buffer plan gives each computed value an offset in one scratch arena:
   placed by first fit among the values alive at that point (lowest offset
   that fits, each value rounded to 64 bytes per sample), freed after its
   last reader; Flatten / Reshape / Dropout & co share their input's
   memory, BatchNormalization and activation layers run in place when
   their input dies there, an output no layer reads is written straight
   into the caller's array, the others are copied at the end.  Counting,
   building, the sort and the shapes are linear in the nodes, the plan
   too times the values alive at once; the graph may unroll to at most
   2^24 calls, and models may nest 32 deep.

   Refused at load with one line naming the layer: a cycle, a reference to
   a layer the model does not have or to a call or output it does not make
   (dangling), two rows of one model with one name (ambiguous), an
   InputLayer that is not an input, an input whose shape cannot be derived,
   merge inputs whose shapes disagree, a shared layer called on two shapes,
   a tensor passed as a keyword argument other than query, value, key
   (attention) and initial_state (recurrent layers).

   The input shape (per sample) comes from its InputLayer's batch_shape /
   batch_input_shape; in a chain without one, from the first layer's
   batch_input_shape / batch_shape / input_dim, else (Dense) its kernel's
   rows.  A dimension after the batch that is null (None) is given at run
   time (kwnn_run_shapes; the load uses 32).

   MASKING (48_masking.h)

   Keras 3 writes a functional model's masks into its graph:
   Embedding(mask_zero=True) as a NotEqual(ids, 0) operation node, Masking
   as Any(NotEqual(x, mask_value), axis=-1), passed to the next layers that
   take a mask as the call's keyword argument mask= (the call's last
   input; one 0 / 1 value per time step, else KWNN_ERR_SHAPE at load or run
   naming the layer).  SimpleRNN, LSTM, GRU and Bidirectional skip masked
   steps as Keras 3 does: the state carries over, the output at a masked
   step is the state (zero_output_for_mask: 0; Bidirectional sets it to
   return_sequences; without return_sequences the last step's output).
   GlobalAveragePooling1D averages the unmasked steps (all masked: 0 / 0,
   NaN, as Keras).  Any other layer called with a mask is refused.

   Implicit masks (61_implicit_masks.h).  Keras 3 records a mask only where
   a layer's call took it as its one keyword; Attention, AdditiveAttention
   and MultiHeadAttention (and a layer called with other keywords, e.g.
   training=) get theirs at run time from their inputs.  kwnn_load follows those masks in
   the graph as Keras 3 (checked against 3.15) propagates them: a mask_zero
   Embedding's (ids != 0) and a Masking layer's (mask_value 0) pass Dense,
   Dropout & co, the activation and normalization layers, Rescaling and
   Normalization unchanged; Add, Subtract, Multiply and Average give the OR
   of their inputs' masks (none if one has none), Concatenate on the last
   axis likewise; an RNN passes the mask it was called with when it returns
   sequences (its result's states have none; called with initial_state,
   Keras gives it no mask= at all, and its sequences carry its input's);
   attention layers give their query's mask; every other layer (Conv1D,
   EinsumDense, pooling, an operation node, ...) drops it, as Keras 3 drops
   it at a layer without supports_masking.  MultiHeadAttention removes the
   masks of its query, value and key tensors while it runs: a reader of
   those tensors that Keras runs later (a smaller depth: the longest path
   to an output) sees none, e.g. the residual Add after it; one at the
   same depth is refused (Keras's order among them is not the file's).
   Attention and AdditiveAttention subtract 1e9 from the scores of masked
   value steps (and causal ones) and give 0 at masked query steps;
   MultiHeadAttention sets scores to -1e9 where the query step or the value
   (and key) step is masked or the causal mask says so: a row with every
   key masked attends uniformly to all, as Keras.  A mask is one value per
   step: any(x != 0) of the source's features at that step.  Refused at
   load, naming the layer: the combination of two different masks (an Add
   of two mask_zero Embeddings' values, a key masked unlike the value), a
   Masking mask_value other than 0, a concatenation over the masked time
   axis, Maximum / Minimum of masked inputs (Keras changes their values),
   Softmax or TimeDistributed that Keras gives a mask without recording it
   (called with another keyword); an RNN or GlobalAveragePooling1D so
   called takes that mask.  Keras 1 / 2 and tf.keras files: see the end of this section.

   A Sequential's config records no mask:
   the chain follows a mask_zero Embedding's (its ids are the mask) through
   Dense, Dropout & co, the activation and LayerNormalization layers, and
   RNNs returning sequences, to the layers above; a mask reaching one of
   them another way (Masking, Conv1D, ...) is refused.

   Keras 1 / 2 and tf.keras files record no mask at all: kwnn_load follows
   every mask as tf.keras 2.21 propagates it (Keras 1 and standalone Keras
   2.x are assumed to do the same; their files cannot be made here):
   SimpleRNN, LSTM, GRU and Bidirectional (also with initial_state) and
   GlobalAveragePooling1D take their input's mask; Dense, Dropout & co,
   the activation layers (ThresholdedReLU too), LayerNormalization,
   BatchNormalization, UnitNormalization and TimeDistributed pass it on
   (Rescaling, Normalization and Identity drop it); merges and Concatenate
   on the last axis give the AND of the masks their inputs have (none only
   when none has one); an RNN returning sequences passes its mask on, one
   without drops it; attention layers as above, and MultiHeadAttention
   removes no mask.  Every other layer drops it.

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
   Dense, Conv2D and Dot (sums in input order, bias added last, as x @ W + b),
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
                          `load_steps` (kwnn_load's walks: configs counted,
                          table linked, graph built, sorted, shapes) to
                          count work.
   KWNN_NO_SIMD           use the portable C kernels even where the compiler
                          targets AVX2 + FMA (__AVX2__ and __FMA__: -mavx2
                          -mfma, -march=native) or AArch64 NEON, whose
                          intrinsic kernels (<immintrin.h>, <arm_neon.h>) are
                          used otherwise.  Deployment: -O3 -march=native (or
                          the target's); -ffast-math is not needed.
   KWNN_GEMM_KC, KWNN_PARALLEL_MIN, KWNN_CONV_IM2COL_MIN
                          tuning of the matrix multiply (13_gemm.h: rows of
                          a packed slice of B, default 256, 16 KB on the
                          stack; multiply-adds below which a product is not
                          handed to parallel_for, 65536) and of the
                          convolutions (49_conv_gemm.h: multiply-adds per
                          sample below which a convolution keeps the direct
                          loops rather than an im2col block in the scratch,
                          1048576).
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
    KWNN_ERR_COST,             /* the network costs more per sample than kwnn_options.max_cost */
    KWNN_ERR_ARITY,            /* kwnn_run on a net with several inputs or outputs (use kwnn_run_multi) */
    KWNN_ERR_INPUT_VALUE       /* kwnn_run: an input value a layer cannot take (an Embedding id that is not
                                  an integer in [0, input_dim)) */
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
    KWNN_LAYER_MAXPOOL2D,   /* MaxPooling1D/2D/3D (spatial axes in `spatial`) */
    KWNN_LAYER_AVGPOOL2D,   /* AveragePooling1D/2D/3D */
    KWNN_LAYER_GLOBAL_AVGPOOL,
    KWNN_LAYER_GLOBAL_MAXPOOL,
    KWNN_LAYER_MERGE,       /* Add, Subtract, Multiply, Average, Maximum, Minimum (op: KWNN_MERGE_*) */
    KWNN_LAYER_CONCAT,      /* Concatenate: axis (per sample) in `units` */
    KWNN_LAYER_DOT,         /* Dot: per-sample axes in kh, kw; normalize in `same` */
    KWNN_LAYER_DEPTHWISE2D, /* DepthwiseConv2D, SeparableConv2D (then w2: the pointwise kernel) */
    KWNN_LAYER_UNUSED,      /* in the table, but no output of the model depends on it */
    KWNN_LAYER_ZEROPAD,     /* ZeroPadding1D/2D/3D: lo / hi per axis */
    KWNN_LAYER_CROP,        /* Cropping1D/2D/3D: lo / hi per axis */
    KWNN_LAYER_UPSAMPLE,    /* UpSampling1D/2D/3D: factors in step; op 1: bilinear */
    KWNN_LAYER_PERMUTE,     /* Permute, Flatten(channels_first): perm */
    KWNN_LAYER_REPEAT,      /* RepeatVector: n in units */
    KWNN_LAYER_CONV1D,      /* Conv1D (CONV2D, CONV3D: the same N-d convolution; 42_conv_family.h) */
    KWNN_LAYER_CONV3D,
    KWNN_LAYER_DEPTHWISE1D, /* DepthwiseConv1D, SeparableConv1D (then w2) */
    KWNN_LAYER_CONV1D_TRANSPOSE,
    KWNN_LAYER_CONV2D_TRANSPOSE,
    KWNN_LAYER_CONV3D_TRANSPOSE,
    KWNN_LAYER_AFFINE,      /* Rescaling, Normalization, LayerScale: x * w + b or (x - b) / w (op), w, b over `axes` */
    KWNN_LAYER_LAYERNORM,   /* LayerNormalization over the adjacent `axes`; op 1: rms_scaling */
    KWNN_LAYER_PRELU,       /* PReLU: alpha in w, over `axes` */
    KWNN_LAYER_EMBEDDING,   /* Embedding: table (kh = input_dim, units) in w (45_recurrent.h) */
    KWNN_LAYER_SIMPLE_RNN,  /* recurrent layers: kernel w, recurrent kernel w2, bias b, flags in op */
    KWNN_LAYER_LSTM,
    KWNN_LAYER_GRU,
    KWNN_LAYER_GROUPNORM,   /* GroupNormalization: groups, axis in units, epsilon, gamma w, beta b (46_attention.h) */
    KWNN_LAYER_UNITNORM,    /* UnitNormalization over the adjacent `axes` */
    KWNN_LAYER_EINSUM,      /* EinsumDense: x (rows, kh) @ w (kh, units), bias b over the output `axes` */
    KWNN_LAYER_MHA,         /* MultiHeadAttention: query kernel w, bias b, the others in more[]; heads units, key_dim
                               kh, value_dim kw, keys sh, key / value features sw / dh, output features dw;
                               op 1: causal; groups: sliding_window (0: none); inputs query, value[, key] */
    KWNN_LAYER_ATTENTION,   /* Attention, AdditiveAttention: op KWNN__SCORE_*, scale w, concat weight w2,
                               same: causal; keys sh, value features sw */
    KWNN_LAYER_OP           /* a Keras 3 operation node (keras.ops.*, x * 2, x[:, 1]): op_args (47_ops.h) */
} kwnn_kind;

enum { /* kwnn_layer.op of KWNN_LAYER_MERGE */
    KWNN_MERGE_ADD = 0,
    KWNN_MERGE_SUBTRACT,
    KWNN_MERGE_MULTIPLY,
    KWNN_MERGE_AVERAGE,
    KWNN_MERGE_MAXIMUM,
    KWNN_MERGE_MINIMUM,
    KWNN_MERGE_SCALED_ADD /* CustomScaleLayer: x0 + x1 * scale (scale in epsilon) */
};

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
    int op;                        /* KWNN_LAYER_MERGE: KWNN_MERGE_* */
    size_t mult;                   /* depthwise: depth_multiplier */
    const float *w2;               /* SeparableConv2D: pointwise kernel (cin * mult, filters) */
    uint32_t calls;                /* nodes of the graph that run this layer (shared layers: > 1) */
    uint64_t cost;                 /* operations per sample of one call (see kwnn_cost_per_sample) */
    /* pooling, ZeroPadding, Cropping, UpSampling, global pooling: 1 to 3 spatial axes, the arrays
       below right-aligned in 3 (a 1D layer's axis is [2]; the others 1, 1, 0, 0) */
    uint32_t spatial;              /* spatial axes */
    int channels_first;            /* data_format channels_first (Keras 1 dim_ordering "th") */
    size_t win[3], step[3];        /* pooling window and strides; UpSampling factors in step */
    size_t lo[3], hi[3];           /* padding (ZeroPadding, pooling 'same') or cropping before / after */
    uint32_t perm[KWNN_MAX_DIMS];  /* Permute: output axis i is input axis perm[i] */
    /* convolutions (every Conv, Depthwise, Separable, Transpose kind) use spatial, channels_first,
       win (kernel), step (strides), lo (padding before; transposed: outputs cropped at the start) */
    size_t dilation[3];            /* convolutions: dilation rate, right-aligned as win (else 1) */
    size_t groups;                 /* convolutions: groups (depthwise: the input channels) */
    uint32_t axes;  /* BatchNormalization, affine layers, PReLU: per-sample axes (bit i: axis i) the
                       parameters vary along; LayerNormalization: the axes it normalises */
    float epsilon;  /* LayerNormalization; KWNN_MERGE_SCALED_ADD: the scale */
    kwnn_activation rec_act; /* recurrent layers: recurrent_activation (act: activation) */
    size_t work;    /* floats per sample of scratch the layer uses while it runs (recurrent state) */
    const float *bw, *bw2, *bb; /* Bidirectional: the backward layer's kernel, recurrent kernel, bias */
    kwnn_kind back_kind; /* Bidirectional: the backward layer's kind, units, options (op), activations */
    size_t back_units;
    int back_op;
    kwnn_activation back_act, back_rec_act;
    const float *more[6]; /* MultiHeadAttention: key kernel, key bias, value kernel, value bias, output kernel,
                             output bias (NULL: no bias) */
    size_t td;      /* TimeDistributed: the steps the wrapped layer (this one) runs on as its batch; its
                       in / out shapes are one step's (0: not wrapped) */
    const struct kwnn__op *op_args; /* KWNN_LAYER_OP: the operation, its operands and constants (private) */
} kwnn_layer;

struct kwnn__node; /* private: a value of the graph (a call of a layer, an input, an alias) */
struct kwnn__op;   /* private: an operation node's arguments (47_ops.h) */

typedef struct kwnn_options {
    void *(*alloc_fn)(size_t size, void *user_data); /* default: malloc */
    void (*free_fn)(void *ptr, void *user_data);     /* default: free */
    void *user_data;                                 /* default: NULL */
    int hard_sigmoid;                                /* KWNN_HARD_SIGMOID_*, default AUTO */
    uint64_t max_cost; /* refuse nets costing more operations per sample; 0: no cap */
    /* optional threads, the caller's: run task(ctx, i) for every i in [0, n), in any order or at
       once, and return when all are done; NULL (default): one thread.  The header creates none. */
    void (*parallel_for)(void (*task)(void *ctx, size_t i), void *ctx, size_t n, void *parallel_data);
    void *parallel_data; /* passed to parallel_for */
} kwnn_options;

/* A per-sample shape (batch excluded), for the calls taking shapes at run time. */
typedef struct kwnn_shape {
    uint32_t ndim;
    size_t dims[KWNN_MAX_DIMS];
} kwnn_shape;

typedef struct kwnn_net {
    uint32_t layer_count;
    kwnn_layer *layers;
    uint32_t num_inputs, num_outputs; /* the model's, in its config's input_layers / output_layers order */
    uint32_t input_ndim, output_ndim; /* the first input's and the first output's: */
    size_t input_shape[KWNN_MAX_DIMS], output_shape[KWNN_MAX_DIMS]; /* per sample */
    size_t input_count, output_count;                               /* floats per sample */
    int hard_sigmoid;                                               /* the form used */
    int variable; /* an input has a None dimension: run with kwnn_run_shapes (kwnn_run refuses) */
    kwnn_result error;                                              /* of the last kwnn_load */
    char message[KWNN_MESSAGE_SIZE];

    /* private */
    struct kwnn__node *nodes_; /* the graph, one node per value */
    uint32_t *edges_;          /* nodes' inputs (node ids) */
    uint32_t *order_;          /* the computing nodes, in run order */
    uint32_t *inputs_, *outputs_; /* node ids of the model's inputs and outputs */
    uint32_t node_count_, order_count_;
    size_t arena_;          /* scratch floats per sample (the buffer plan) */
    size_t work_;           /* offset in the arena of the layers' work area (floats per sample) */
    size_t peak_;           /* largest sum of live activations, floats per sample */
    uint64_t cost_;         /* operations per sample, sum over the nodes */
    void *mem_;
    kwnn_options opt_;
    const kwb_file *file_;  /* the open file (kwnn_run_shapes reads the layers' configs again) */
    uint32_t *sorted_;      /* every node in topological order (shapes at run time) */
    uint32_t sorted_count_;
    int legacy_, theano_;   /* metadata facts the loaders use */
} kwnn_net;

KWNN_API kwnn_result kwnn_load(kwnn_net *net, const kwb_file *f, const kwnn_options *opt);
KWNN_API void kwnn_free(kwnn_net *net);
KWNN_API size_t kwnn_scratch_size(const kwnn_net *net, int batch);
KWNN_API kwnn_result kwnn_run(const kwnn_net *net, const float *input, size_t in_count,
                              float *output, size_t out_count, void *scratch,
                              size_t scratch_size, int batch);
KWNN_API kwnn_result kwnn_run_multi(const kwnn_net *net, const float *const *inputs,
                                    const size_t *in_counts, float *const *outputs,
                                    const size_t *out_counts, void *scratch, size_t scratch_size,
                                    int batch);
KWNN_API size_t kwnn_peak_size(const kwnn_net *net, int batch);
KWNN_API kwnn_result kwnn_scratch_size_shapes(const kwnn_net *net, const kwnn_shape *in_shapes, int batch,
                                              size_t *size, kwnn_shape *out_shapes, char *message);
KWNN_API kwnn_result kwnn_run_shapes(const kwnn_net *net, const float *const *inputs,
                                     const kwnn_shape *in_shapes, float *const *outputs,
                                     const size_t *out_capacity, kwnn_shape *out_shapes, void *scratch,
                                     size_t scratch_size, int batch, size_t *need, char *message);
KWNN_API const size_t *kwnn_input_shape(const kwnn_net *net, uint32_t i, uint32_t *ndim);
KWNN_API const size_t *kwnn_output_shape(const kwnn_net *net, uint32_t i, uint32_t *ndim);
KWNN_API size_t kwnn_input_size(const kwnn_net *net, uint32_t i);
KWNN_API size_t kwnn_output_size(const kwnn_net *net, uint32_t i);
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

#include <float.h>
#include <math.h>
#include <string.h>

/* SIMD kernels where the compiler targets them (-mavx2 -mfma, -march=native,
   AArch64); KWNN_NO_SIMD forces the portable C path (13_gemm.h). */
#if !defined(KWNN_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KWNN__AVX2 1
#define KWNN__SIMD_FMA 1
#elif !defined(KWNN_NO_SIMD) && defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define KWNN__NEON 1
#define KWNN__SIMD_FMA 1
#endif

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

/* Small functions that must be inlined into their loops for those to vectorize (14_fastmath.h). */
#if defined(__GNUC__) || defined(__clang__)
#define KWNN__INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define KWNN__INLINE static __forceinline
#else
#define KWNN__INLINE static
#endif

/* Test hook: the tests define KWNN_PROBE(counter, n) to count the steps of
   kwnn_load's table walks and of the window loops (work, not time). */
#ifndef KWNN_PROBE
#define KWNN_PROBE(counter, n) ((void)0)
#endif
#define KWNN__DIM_LIMIT ((size_t)1 << 30) /* spatial sizes, windows, strides */
#define KWNN__NOMINAL 32 /* the length kwnn_load gives a None axis of an input (run: the input's) */
/* ... doubled up to this while a layer refuses the nominal length (a long window, strided layers) */
#define KWNN__NOMINAL_MAX 4096

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

/* ---- matrix multiply ------------------------------------------------------ */

/* C (M x N) = A (M x K) B (K x N) + bias, every matrix row-major with its own
   row stride (lda, ldb, ldc), for Dense, EinsumDense, the recurrent kernels,
   attention's projections and the convolutions (im2col in the work area).

   Every output is the sum over k in order (acc = 0; acc += a b, k = 0, 1,
   ...), then + bias, whatever the path: the blocked kernel, the edges, the
   one-row path and a split over threads compute each output the same way, so
   results do not depend on the batch, the tiling or the thread count.  With
   KWNN__SIMD_FMA the products are fused (fmaf in the scalar edges, so that
   every path still agrees).

   Blocking (GotoBLAS-like, without packing A): C is cut in panels of 16
   columns; a slice of KC rows of a panel of B is copied once into a
   contiguous 16 KB buffer (on the stack, zero-padded), which stays in L1
   while a block of MC rows of A (in L2) runs through it, MR rows at a time,
   the MR x 16 tile of C summed in registers.  One row (batch 1): the kernel
   rows are streamed as they are, 64 outputs summed in registers. */

#ifndef KWNN_GEMM_KC
#define KWNN_GEMM_KC 256 /* rows of a packed slice of B: 16 KB */
#endif
#define KWNN__NR 16
#define KWNN__MC 192 /* rows of A per block: a multiple of every MR */
#define KWNN__GEMV_NB 64
#define KWNN__TASKS 8 /* tasks per product handed to parallel_for (a few per thread) */
#ifndef KWNN_PARALLEL_MIN
#define KWNN_PARALLEL_MIN 65536 /* multiply-adds below which a product is not worth handing out */
#endif

#ifdef KWNN__SIMD_FMA
#define KWNN__MR 6
#define KWNN__MADD(acc, a, b) fmaf((a), (b), (acc))
#else
#define KWNN__MR 4
#define KWNN__MADD(acc, a, b) ((acc) + (a) * (b))
#endif

typedef void (*kwnn__task_fn)(void *ctx, size_t i);

typedef struct kwnn__ex { /* what a runner may use besides its input and output */
    const kwnn_options *opt; /* parallel_for */
    float *work;             /* the layers' work area (kwnn_layer.work floats per sample) */
} kwnn__ex;

typedef struct kwnn__mm {
    const float *A, *B, *bias;
    float *C;
    size_t lda, ldb, ldc, M, N, K;
    size_t m_tasks, m_rows, n_panels; /* the task grid: rows per task (a multiple of MR), panels per task */
} kwnn__mm;

/* buf (kc x 16) = B's rows [0, kc), columns [0, nr), zeros beyond nr. */
static void kwnn__pack_b(float *KWNN__RESTRICT buf, const float *KWNN__RESTRICT B, size_t ldb, size_t kc, size_t nr)
{
    size_t k, j;
    for (k = 0; k < kc; k++) {
        const float *b = B + k * ldb;
        float *d = buf + k * KWNN__NR;
        if (nr == KWNN__NR) {
            for (j = 0; j < KWNN__NR; j++) d[j] = b[j];
        } else {
            for (j = 0; j < nr; j++) d[j] = b[j];
            for (; j < KWNN__NR; j++) d[j] = 0.0f;
        }
    }
}

/* Any tile (mr <= MR rows, nr <= 16 columns): the reference the fast kernels agree with. */
static void kwnn__tile_any(size_t mr, size_t nr, size_t kc, const float *A, size_t lda, const float *Bp,
                           float *C, size_t ldc, int first, const float *bias)
{
    float acc[KWNN__MR][KWNN__NR];
    size_t i, j, k;
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j++) acc[i][j] = first ? 0.0f : C[i * ldc + j];
    for (k = 0; k < kc; k++)
        for (i = 0; i < mr; i++) {
            float a = A[i * lda + k];
            for (j = 0; j < nr; j++) acc[i][j] = KWNN__MADD(acc[i][j], a, Bp[k * KWNN__NR + j]);
        }
    for (i = 0; i < mr; i++)
        for (j = 0; j < nr; j++) C[i * ldc + j] = bias != NULL ? acc[i][j] + bias[j] : acc[i][j];
}

#if defined(KWNN__SIMD_FMA) && defined(KWNN__AVX2)
/* 6 x 16 with AVX2 + FMA: 12 accumulators, two loads of B and six broadcasts of A per k. */
static void kwnn__tile_full(size_t kc, const float *A, size_t lda, const float *Bp, float *C, size_t ldc, int first,
                            const float *bias)
{
    __m256 c[6][2];
    size_t i, k;
    for (i = 0; i < 6; i++) {
        c[i][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(C + i * ldc);
        c[i][1] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(C + i * ldc + 8);
    }
    for (k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(Bp + k * KWNN__NR), b1 = _mm256_loadu_ps(Bp + k * KWNN__NR + 8), a;
        for (i = 0; i < 6; i++) {
            a = _mm256_broadcast_ss(A + i * lda + k);
            c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
        }
    }
    for (i = 0; i < 6; i++) {
        if (bias != NULL) {
            c[i][0] = _mm256_add_ps(c[i][0], _mm256_loadu_ps(bias));
            c[i][1] = _mm256_add_ps(c[i][1], _mm256_loadu_ps(bias + 8));
        }
        _mm256_storeu_ps(C + i * ldc, c[i][0]);
        _mm256_storeu_ps(C + i * ldc + 8, c[i][1]);
    }
}
#elif defined(KWNN__SIMD_FMA) && defined(KWNN__NEON)
/* 6 x 16 with NEON (AArch64): 24 accumulators, four loads of B, six broadcasts of A per k. */
static void kwnn__tile_full(size_t kc, const float *A, size_t lda, const float *Bp, float *C, size_t ldc, int first,
                            const float *bias)
{
    float32x4_t c[6][4];
    size_t i, j, k;
    for (i = 0; i < 6; i++)
        for (j = 0; j < 4; j++) c[i][j] = first ? vdupq_n_f32(0.0f) : vld1q_f32(C + i * ldc + 4 * j);
    for (k = 0; k < kc; k++) {
        float32x4_t b[4];
        for (j = 0; j < 4; j++) b[j] = vld1q_f32(Bp + k * KWNN__NR + 4 * j);
        for (i = 0; i < 6; i++) {
            float32x4_t a = vdupq_n_f32(A[i * lda + k]);
            for (j = 0; j < 4; j++) c[i][j] = vfmaq_f32(c[i][j], a, b[j]);
        }
    }
    for (i = 0; i < 6; i++)
        for (j = 0; j < 4; j++) {
            if (bias != NULL) c[i][j] = vaddq_f32(c[i][j], vld1q_f32(bias + 4 * j));
            vst1q_f32(C + i * ldc + 4 * j, c[i][j]);
        }
}
#else
/* Portable 4 x 16: fixed trip counts and restrict, which gcc and clang vectorize at -O2 / -O3. */
static void kwnn__tile_full(size_t kc, const float *KWNN__RESTRICT A, size_t lda, const float *KWNN__RESTRICT Bp,
                            float *KWNN__RESTRICT C, size_t ldc, int first, const float *KWNN__RESTRICT bias)
{
    float c0[KWNN__NR], c1[KWNN__NR], c2[KWNN__NR], c3[KWNN__NR];
    const float *a0 = A, *a1 = A + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    size_t j, k;
    for (j = 0; j < KWNN__NR; j++) {
        c0[j] = first ? 0.0f : C[j];
        c1[j] = first ? 0.0f : C[ldc + j];
        c2[j] = first ? 0.0f : C[2 * ldc + j];
        c3[j] = first ? 0.0f : C[3 * ldc + j];
    }
    for (k = 0; k + 2 <= kc; k += 2) { /* two k per pass: half the traffic where c0..c3 live in memory (-O2) */
        const float *b = Bp + k * KWNN__NR, *d = b + KWNN__NR;
        float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        float y0 = a0[k + 1], y1 = a1[k + 1], y2 = a2[k + 1], y3 = a3[k + 1];
        for (j = 0; j < KWNN__NR; j++) {
            c0[j] = KWNN__MADD(KWNN__MADD(c0[j], x0, b[j]), y0, d[j]);
            c1[j] = KWNN__MADD(KWNN__MADD(c1[j], x1, b[j]), y1, d[j]);
            c2[j] = KWNN__MADD(KWNN__MADD(c2[j], x2, b[j]), y2, d[j]);
            c3[j] = KWNN__MADD(KWNN__MADD(c3[j], x3, b[j]), y3, d[j]);
        }
    }
    for (; k < kc; k++) {
        const float *b = Bp + k * KWNN__NR;
        float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        for (j = 0; j < KWNN__NR; j++) {
            c0[j] = KWNN__MADD(c0[j], x0, b[j]);
            c1[j] = KWNN__MADD(c1[j], x1, b[j]);
            c2[j] = KWNN__MADD(c2[j], x2, b[j]);
            c3[j] = KWNN__MADD(c3[j], x3, b[j]);
        }
    }
    for (j = 0; j < KWNN__NR; j++) {
        float b = bias != NULL ? bias[j] : 0.0f;
        C[j] = bias != NULL ? c0[j] + b : c0[j];
        C[ldc + j] = bias != NULL ? c1[j] + b : c1[j];
        C[2 * ldc + j] = bias != NULL ? c2[j] + b : c2[j];
        C[3 * ldc + j] = bias != NULL ? c3[j] + b : c3[j];
    }
}
#endif

/* Rows [r0, r1) and columns [c0, c1) of C (c0 a multiple of 16). */
static void kwnn__mm_block(const kwnn__mm *m, size_t r0, size_t r1, size_t c0, size_t c1)
{
#if defined(__GNUC__) || defined(__clang__)
    float buf[KWNN_GEMM_KC * KWNN__NR] __attribute__((aligned(64)));
#else
    float buf[KWNN_GEMM_KC * KWNN__NR];
#endif
    size_t i0, j0, k0, i;
    for (i0 = r0; i0 < r1; i0 += KWNN__MC) {
        size_t i1 = r1 - i0 < KWNN__MC ? r1 : i0 + KWNN__MC;
        for (j0 = c0; j0 < c1; j0 += KWNN__NR) {
            size_t nr = c1 - j0 < KWNN__NR ? c1 - j0 : KWNN__NR;
            for (k0 = 0; k0 < m->K; k0 += KWNN_GEMM_KC) {
                size_t kc = m->K - k0 < KWNN_GEMM_KC ? m->K - k0 : KWNN_GEMM_KC;
                const float *bias = k0 + kc == m->K && m->bias != NULL ? m->bias + j0 : NULL;
                kwnn__pack_b(buf, m->B + k0 * m->ldb + j0, m->ldb, kc, nr);
                for (i = i0; i < i1; i += KWNN__MR) {
                    const float *a = m->A + i * m->lda + k0;
                    float *c = m->C + i * m->ldc + j0;
                    if (i1 - i >= KWNN__MR && nr == KWNN__NR)
                        kwnn__tile_full(kc, a, m->lda, buf, c, m->ldc, k0 == 0, bias);
                    else
                        kwnn__tile_any(i1 - i < KWNN__MR ? i1 - i : KWNN__MR, nr, kc, a, m->lda, buf, c, m->ldc,
                                       k0 == 0, bias);
                }
            }
        }
    }
}

/* One row: y (N) = x (K) B + bias, 64 outputs at a time over every k. */
static void kwnn__gemv(const float *KWNN__RESTRICT x, const float *KWNN__RESTRICT B, size_t ldb,
                       const float *KWNN__RESTRICT bias, float *KWNN__RESTRICT y, size_t c0, size_t c1, size_t K)
{
    float acc[KWNN__GEMV_NB];
    size_t j0, j, k;
    for (j0 = c0; j0 < c1; j0 += KWNN__GEMV_NB) {
        size_t nb = c1 - j0 < KWNN__GEMV_NB ? c1 - j0 : KWNN__GEMV_NB;
        const float *b = B + j0;
        if (nb == KWNN__GEMV_NB) {
#if defined(KWNN__SIMD_FMA) && defined(KWNN__AVX2)
            __m256 s[8];
            for (j = 0; j < 8; j++) s[j] = _mm256_setzero_ps();
            for (k = 0; k < K; k++) {
                __m256 a = _mm256_broadcast_ss(x + k);
                for (j = 0; j < 8; j++) s[j] = _mm256_fmadd_ps(a, _mm256_loadu_ps(b + k * ldb + 8 * j), s[j]);
            }
            for (j = 0; j < 8; j++) _mm256_storeu_ps(acc + 8 * j, s[j]);
#else
            for (j = 0; j < KWNN__GEMV_NB; j++) acc[j] = 0.0f;
            for (k = 0; k + 4 <= K; k += 4) { /* four rows per pass over acc, still summed in k order */
                const float *b0 = b + k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
                float a0 = x[k], a1 = x[k + 1], a2 = x[k + 2], a3 = x[k + 3];
                for (j = 0; j < KWNN__GEMV_NB; j++)
                    acc[j] = KWNN__MADD(KWNN__MADD(KWNN__MADD(KWNN__MADD(acc[j], a0, b0[j]), a1, b1[j]), a2, b2[j]),
                                        a3, b3[j]);
            }
            for (; k < K; k++) {
                const float *bk = b + k * ldb;
                float a = x[k];
                for (j = 0; j < KWNN__GEMV_NB; j++) acc[j] = KWNN__MADD(acc[j], a, bk[j]);
            }
#endif
        } else {
            for (j = 0; j < nb; j++) acc[j] = 0.0f;
            for (k = 0; k < K; k++)
                for (j = 0; j < nb; j++) acc[j] = KWNN__MADD(acc[j], x[k], b[k * ldb + j]);
        }
        for (j = 0; j < nb; j++) y[j0 + j] = bias != NULL ? acc[j] + bias[j0 + j] : acc[j];
    }
}

static void kwnn__mm_task(void *ctx, size_t t)
{
    const kwnn__mm *m = (const kwnn__mm *)ctx;
    size_t mi = t % m->m_tasks, ni = t / m->m_tasks;
    size_t r0 = mi * m->m_rows, r1 = r0 + m->m_rows > m->M ? m->M : r0 + m->m_rows;
    size_t c0 = ni * m->n_panels * KWNN__NR, w = m->n_panels * KWNN__NR, c1 = m->N - c0 < w ? m->N : c0 + w;
    size_t r;
    if (m->M < KWNN__MR) {
        for (r = r0; r < r1; r++) kwnn__gemv(m->A + r * m->lda, m->B, m->ldb, m->bias, m->C + r * m->ldc, c0, c1, m->K);
        return;
    }
    kwnn__mm_block(m, r0, r1, c0, c1);
}

/* Runs task(ctx, i) for i in [0, n): through the caller's parallel_for if set, else in order. */
static void kwnn__parallel(const kwnn_options *opt, kwnn__task_fn task, void *ctx, size_t n)
{
    size_t i;
    if (n > 1 && opt != NULL && opt->parallel_for != NULL) {
        opt->parallel_for(task, ctx, n, opt->parallel_data);
        return;
    }
    for (i = 0; i < n; i++) task(ctx, i);
}

/* C = A B + bias (bias NULL: none).  opt: the caller's parallel_for, or NULL. */
static void kwnn__gemm(const kwnn_options *opt, size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, const float *bias, float *C, size_t ldc)
{
    size_t panels = (N + KWNN__NR - 1) / KWNN__NR, r, j, n_tasks = 1;
    kwnn__mm m = {A, B, bias, C, lda, ldb, ldc, M, N, K, 1, M, 0};
    m.n_panels = panels;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (r = 0; r < M; r++)
            for (j = 0; j < N; j++) C[r * ldc + j] = bias != NULL ? bias[j] : 0.0f;
        return;
    }
    if (opt != NULL && opt->parallel_for != NULL && (double)M * (double)N * (double)K >= (double)KWNN_PARALLEL_MIN) {
        /* about KWNN__TASKS tasks: groups of panels, times groups of rows (whole tiles) */
        n_tasks = panels < KWNN__TASKS ? panels : KWNN__TASKS;
        m.n_panels = (panels + n_tasks - 1) / n_tasks;
        n_tasks = (panels + m.n_panels - 1) / m.n_panels;
        if (M >= KWNN__MR) {
            size_t want = (KWNN__TASKS + n_tasks - 1) / n_tasks, rows = (M + want - 1) / want;
            m.m_rows = (rows + KWNN__MR - 1) / KWNN__MR * KWNN__MR;
            m.m_tasks = (M + m.m_rows - 1) / m.m_rows;
        }
    }
    kwnn__parallel(opt, kwnn__mm_task, &m, m.m_tasks * n_tasks);
}
/* ---- elementwise math: tanh and sigmoid ------------------------------------ */

/* An LSTM spends most of its time in its gates' tanh and sigmoid once the matrix products are
   fast: glibc's tanhf (through expm1f) took half of one at batch 64.  These two are branch-free,
   so an optimising compiler vectorizes the activation loops over them (-O3 -march=native: about
   0.4 ns an element against 15 for tanhf), and they stay within 2.5 ulp of the exact values
   (tests/test_c_fastmath.py sweeps the floats).  Every build computes the same formula. */

/* 2^n for an integral n in [-126, 127]. */
KWNN__INLINE float kwnn__pow2i(float n)
{
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^z = s (1 + p) for z in [-87, 88]: z = n ln 2 + r with |r| <= ln 2 / 2, s = 2^n, p = e^r - 1
   (degree-8 Taylor polynomial: its remainder is below 2^-32 on that interval). */
KWNN__INLINE float kwnn__exp_parts(float z, float *s)
{
    float v = z * 1.44269504088896341f, n, r, p; /* n: v to the nearest integer */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    n = (v + 12582912.0f) - 12582912.0f; /* adding 1.5 * 2^23 rounds a float to an integer: vectorizes */
#else
    n = (float)(int32_t)(v + copysignf(0.5f, v)); /* x87's excess precision would defeat that */
#endif
    r = (z - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f; /* ln 2 in two parts */
    p = 1.0f / 120.0f + r * (1.0f / 720.0f + r * (1.0f / 5040.0f + r * (1.0f / 40320.0f)));
    p = r + r * r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f + r * p)));
    *s = kwnn__pow2i(n);
    return p;
}

/* tanh(x) = (e^2a - 1) / (e^2a + 1), a = |x|, with the sign of x; e^2a - 1 is exact near 0. */
KWNN__INLINE float kwnn__tanh(float x)
{
    float a = fabsf(x), s, p, t, y;
    a = a < 9.0f ? a : 9.0f; /* tanh is 1 in float beyond 9; NaN goes to 9 here, back below */
    p = kwnn__exp_parts(2.0f * a, &s);
    t = s * p + (s - 1.0f);
    y = copysignf(t / (t + 2.0f), x);
    return x != x ? x : y;
}

/* sigmoid(x) = 1 / (1 + e^-x). */
KWNN__INLINE float kwnn__sigmoid(float x)
{
    float z = -x, s, p, y;
    int tiny = z > 88.0f; /* below 1e-38: 0, as Keras on XLA gives (it flushes subnormals) */
    z = tiny ? 88.0f : (z >= -87.0f ? z : -87.0f); /* NaN goes to -87 here, back below */
    p = kwnn__exp_parts(z, &s);
    y = tiny ? 0.0f : 1.0f / (1.0f + (s * p + s));
    return x != x ? x : y;
}
/* ---- building ----------------------------------------------------------- */

/* One value of the graph: a model input, a call of a layer (its output), or
   an alias (a nested model's InputLayer fed from outside, a nested model's
   output).  Node ids index kwnn_net.nodes_. */
/* PART: output `part` of a layer call with several (a recurrent layer's return_state), a copy
   out of that call's value (per sample: its outputs end to end; 45_recurrent.h) */
enum { KWNN__N_INPUT = 0, KWNN__N_ALIAS, KWNN__N_LAYER, KWNN__N_UNBOUND, KWNN__N_PART };
enum { KWNN__AT_ARENA = 0, KWNN__AT_INPUT, KWNN__AT_OUTPUT };

typedef struct kwnn__node {
    uint32_t kind;             /* KWNN__N_* */
    uint32_t layer;            /* table row (the InputLayer of an input or alias), or KWB_NONE */
    uint32_t n_in, first_in;   /* inputs: net->edges_[first_in .. first_in + n_in) */
    uint32_t aux;              /* INPUT: which model input */
    uint32_t root;             /* the node whose storage holds this value */
    uint32_t where, slot;      /* root: KWNN__AT_*, and which input / output */
    uint32_t last_use;         /* root: run position of its last reader */
    uint32_t state;            /* the sort: 0 new, 1 on the stack, 2 done */
    int known;                 /* shape inferred */
    uint32_t nd;
    size_t shape[KWNN_MAX_DIMS]; /* per sample */
    size_t count;              /* floats per sample */
    size_t offset;             /* root in the arena: floats per sample, a multiple of 16 */
    kwnn__json kwargs;         /* LAYER: the call's keyword arguments (Keras 3), or p == NULL */
    kwnn__json call;           /* LAYER of an operation node (47_ops.h): its call, else p == NULL */
    int masked;                /* LAYER: called with mask= (its last input; 48_masking.h) */
    uint32_t imask;            /* LAYER: implicit masks after its inputs (bit 1 query's, 2 value's; 61_implicit_masks.h) */
    uint32_t var;              /* INPUT: the axes that were None (bit i: axis i), given at run time */
    uint32_t part;             /* PART: which output of its layer call */
    int steps;                 /* inside a TimeDistributed model: the first axis is the wrapper's time steps */
} kwnn__node;

typedef struct kwnn__ctx {
    kwnn_net *net;
    const kwb_file *f;
    int fill;                 /* the parameter area exists: write layers and parameters */
    float *params;            /* fill: the parameter area */
    size_t params_used;       /* floats, each block rounded to 16 (64 bytes) */
    size_t params_cap;        /* floats in the area (pass 1's bound) */
    int legacy;               /* Keras 1 / 2 file (hard_sigmoid) */
    int theano_kernels;       /* conv kernels stored flipped */
    int have_shape;
    uint32_t var_mask;        /* the input shape just read: its None axes (bit i) */
    size_t nominal;           /* the length a None axis of an input gets at load (0: KWNN__NOMINAL) */
    int saw_variable;         /* an input had a None axis */
    uint32_t nd;              /* the current per-sample shape (a layer's first input) */
    size_t shape[KWNN_MAX_DIMS];
    const uint32_t *ins;      /* the node's inputs (node ids), for layers with several */
    uint32_t n_ins;
    kwnn__json kwargs;        /* the node's call kwargs (use_causal_mask), p == NULL: none */
    kwnn__json op_call;       /* an operation node's call (47_ops.h), p == NULL: a layer */
    size_t op_floats;         /* pass 1: parameter floats the operation nodes need */
    int masked;               /* the node's last input is its mask (48_masking.h) */
    int mask_producer;        /* pass 1: a model config has a mask_zero Embedding or a Masking layer */
    int keras2_file;          /* the metadata says Keras 1 or 2 (whatever the hard_sigmoid option) */
    int deep_refs;            /* resolving a tf.keras operation call (47_ops.h) */
    struct kwnn__op *op_store;       /* fill 0 (82_run_shapes.h): where an operation is built */
    const struct kwnn__op *op_base;  /* fill 0: the load's (its constants) */
    uint64_t cost;            /* operations per sample so far (saturating) */
    uint32_t n;               /* layers in the table */
    kwnn__json top_cfg;       /* the metadata's Functional config, if any (p == NULL: none) */
    uint64_t count_nodes, count_edges; /* pass 1: what the graph unrolls to */
    uint32_t count_inputs, count_outputs;
    /* used during kwnn_load only (in the one allocation) */
    uint32_t *first_child;    /* n + 1 entries, [n] for the top level */
    uint32_t *last_child;     /* n + 1 entries */
    uint32_t *next_sibling;   /* n entries */
    uint32_t *base, *calls, *outs; /* per table row: its first node, its calls, its outputs per call */
    uint32_t *loaded;         /* per table row: the node it was loaded at, or KWB_NONE */
    uint32_t *hash, hash_mask; /* (parent, local name) -> row + 1 */
    uint32_t *stack, stack_cap, stack_used; /* arguments of nested calls; the sort's stack */
    uint32_t *stack2;         /* the sort's edge cursors */
    uint32_t *live, live_count; /* the buffer plan's live blocks, by offset */
    uint32_t node_cap, edge_cap, nodes_used, edges_used;
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
    if (!kwnn__add(c->params_used, rounded, &c->params_used) || c->params_used > c->params_cap)
        return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, NULL,
                          "the weights need more converted floats than their tensors hold");
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

/* ---- model configs: names and references -------------------------------- */

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

/* The name of an entry of a model config's "layers" (Keras 1-3 keep it at the
   top or in its config). */
static int kwnn__entry_name(kwnn__json entry, kwnn__json *name)
{
    kwnn__json inner;
    if (kwnn__get(entry, "name", name) && kwnn__is(*name, '"')) return 1;
    return kwnn__get(entry, "config", &inner) && kwnn__get(inner, "name", name) && kwnn__is(*name, '"');
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
    uint32_t var = 0;
    long x;
    if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "a list");
    while (kwnn__next(&it, NULL, &el)) {
        if (first) { /* the batch dimension: null or a number */
            first = 0;
            continue;
        }
        if (nd == KWNN_MAX_DIMS) return kwnn__unsupported_value(c, L, "input rank of", v);
        if (kwnn__null(el)) { /* given at run time (kwnn_run_shapes); the load uses a nominal length */
            var |= 1u << nd;
            c->saw_variable = 1;
            dims[nd++] = c->nominal ? c->nominal : KWNN__NOMINAL;
            continue;
        }
        if (!kwnn__int(el, &x) || x < 1) return kwnn__bad_key(c, L, key, v, "a list of positive sizes");
        dims[nd++] = (size_t)x;
    }
    c->var_mask = var;
    if (c->have_shape) { /* a nested model's InputLayer: must agree (a None axis takes any length) */
        uint32_t i;
        int same = nd == c->nd;
        for (i = 0; same && i < nd; i++) same = dims[i] == c->shape[i] || (var >> i & 1u);
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

/* ---- merge layers: several inputs ---------------------------------------- */

/* Input i's per-sample shape. */
static const struct kwnn__node *kwnn__in_node(kwnn__ctx *c, uint32_t i);

static kwnn_result kwnn__arity(kwnn__ctx *c, const kwb_layer *L, uint32_t lo, uint32_t hi)
{
    if (c->n_ins >= lo && c->n_ins <= hi) return KWNN_OK;
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "is called on ");
    kwnn__m_u(c->net, c->n_ins);
    kwnn__m(c->net, c->n_ins == 1 ? " input, expected " : " inputs, expected ");
    kwnn__m_u(c->net, lo);
    if (hi == (uint32_t)-1) kwnn__m(c->net, " or more");
    else if (hi != lo) {
        kwnn__m(c->net, " or ");
        kwnn__m_u(c->net, hi);
    }
    return KWNN_ERR_SHAPE;
}

/* "merges inputs of shapes (a, b) and (c,) that do not broadcast" */
static kwnn_result kwnn__merge_mismatch(kwnn__ctx *c, const kwb_layer *L, const char *what)
{
    uint32_t i;
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "inputs of shapes ");
    for (i = 0; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        if (i > 0) kwnn__m(c->net, i + 1 == c->n_ins ? " and " : ", ");
        kwnn__m_shape(c->net, x->shape, x->nd);
    }
    kwnn__m(c->net, " ");
    kwnn__m(c->net, what);
    return KWNN_ERR_SHAPE;
}

/* Add & co: Keras broadcasting (ranks aligned on the right, as Keras's
   expand_dims at axis 1 does; a dimension 1 stretches). */
static kwnn_result kwnn__merge(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int op)
{
    uint32_t i, d, nd = 0;
    size_t dims[KWNN_MAX_DIMS];
    kwnn_result r;
    (void)cfg;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__arity(c, L, op == KWNN_MERGE_SUBTRACT ? 2 : 1, op == KWNN_MERGE_SUBTRACT ? 2 : (uint32_t)-1)) !=
            KWNN_OK)
        return r;
    for (i = 0; i < c->n_ins; i++)
        if (kwnn__in_node(c, i)->nd > nd) nd = kwnn__in_node(c, i)->nd;
    for (d = 0; d < nd; d++) dims[d] = 1;
    for (i = 0; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        for (d = 0; d < x->nd; d++) {
            size_t *o = &dims[nd - x->nd + d], v = x->shape[d];
            if (*o == 1) *o = v;
            else if (v != 1 && v != *o) return kwnn__merge_mismatch(c, L, "do not broadcast together");
        }
    }
    out->kind = KWNN_LAYER_MERGE;
    out->op = op;
    memcpy(c->shape, dims, sizeof dims);
    c->nd = nd;
    return KWNN_OK;
}

/* A per-sample axis from a Keras axis counted with the batch (negative: from the end). */
static int kwnn__axis(long axis, uint32_t nd, uint32_t *out)
{
    long full = (long)nd + 1;
    if (axis < 0) axis += full;
    if (axis < 1 || axis >= full) return 0;
    *out = (uint32_t)(axis - 1);
    return 1;
}

static kwnn_result kwnn__concat(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int keras1)
{
    kwnn__json v;
    long axis = -1;
    uint32_t i, d, ax;
    const struct kwnn__node *x0;
    size_t sum = 0;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__arity(c, L, 1, (uint32_t)-1)) != KWNN_OK)
        return r;
    if (kwnn__get(cfg, keras1 ? "concat_axis" : "axis", &v) && !kwnn__null(v) && !kwnn__int(v, &axis))
        return kwnn__bad_key(c, L, keras1 ? "concat_axis" : "axis", v, "an integer axis");
    x0 = kwnn__in_node(c, 0);
    if (!kwnn__axis(axis, x0->nd, &ax)) return kwnn__merge_mismatch(c, L, "have no axis to concatenate on");
    for (i = 0; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        if (x->nd != x0->nd) return kwnn__merge_mismatch(c, L, "differ in rank");
        for (d = 0; d < x->nd; d++)
            if (d != ax && x->shape[d] != x0->shape[d])
                return kwnn__merge_mismatch(c, L, "differ outside the concatenation axis");
        if (!kwnn__add(sum, x->shape[ax], &sum)) return kwnn__shape_overflow(c, L, "its output", x->shape, x->nd);
    }
    out->kind = KWNN_LAYER_CONCAT;
    out->units = ax;
    memcpy(c->shape, x0->shape, sizeof c->shape);
    c->shape[ax] = sum;
    c->nd = x0->nd;
    return KWNN_OK;
}

/* Dot: batch_dot over one axis of each input, optionally L2-normalized first;
   the output is the first input's other axes, then the second's ((1,) if none). */
static kwnn_result kwnn__dot(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int keras1)
{
    const char *key = keras1 ? "dot_axes" : "axes";
    kwnn__json v, el;
    kwnn__iter it;
    long ax[2] = {-1, -1};
    uint32_t a[2], i, d, nd = 0;
    int normalize = 0;
    const struct kwnn__node *x[2];
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__arity(c, L, 2, 2)) != KWNN_OK ||
        (!keras1 && (r = kwnn__cfg_bool(c, L, cfg, "normalize", NULL, 0, &normalize)) != KWNN_OK))
        return r;
    if (kwnn__get(cfg, key, &v) && !kwnn__null(v)) {
        if (kwnn__int(v, &ax[0])) {
            ax[1] = ax[0];
        } else {
            i = 0;
            if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "an axis or a pair of axes");
            while (kwnn__next(&it, NULL, &el))
                if (i >= 2 || !kwnn__int(el, &ax[i++])) return kwnn__bad_key(c, L, key, v, "a pair of axes");
            if (i != 2) return kwnn__bad_key(c, L, key, v, "a pair of axes");
        }
    } else if (!keras1) {
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no axes");
    }
    for (i = 0; i < 2; i++) {
        x[i] = kwnn__in_node(c, i);
        if (!kwnn__axis(ax[i], x[i]->nd, &a[i])) return kwnn__merge_mismatch(c, L, "have no such axes");
    }
    if (x[0]->shape[a[0]] != x[1]->shape[a[1]])
        return kwnn__merge_mismatch(c, L, "differ in length along the dot axes");
    if (x[0]->nd + x[1]->nd - 2 > KWNN_MAX_DIMS) return kwnn__merge_mismatch(c, L, "give too many dimensions");
    for (i = 0; i < 2; i++)
        for (d = 0; d < x[i]->nd; d++)
            if (d != a[i]) c->shape[nd++] = x[i]->shape[d];
    if (nd == 0) c->shape[nd++] = 1;
    c->nd = nd;
    out->kind = KWNN_LAYER_DOT;
    out->kh = a[0];
    out->kw = a[1];
    out->same = normalize;
    return KWNN_OK;
}

/* Keras 1's Merge layer: one class, the operation in `mode`. */
static kwnn_result kwnn__merge_k1(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const modes[] = {"sum", "mul", "ave", "max", NULL};
    static const int ops[] = {KWNN_MERGE_ADD, KWNN_MERGE_MULTIPLY, KWNN_MERGE_AVERAGE, KWNN_MERGE_MAXIMUM};
    kwnn__json v;
    int i;
    (void)arg;
    if (!kwnn__get(cfg, "mode", &v) || kwnn__null(v)) v.p = "\"sum\"", v.e = v.p + 5;
    for (i = 0; modes[i] != NULL; i++)
        if (kwnn__jstr_is(v, modes[i])) return kwnn__merge(c, L, cfg, out, ops[i]);
    if (kwnn__jstr_is(v, "concat")) return kwnn__concat(c, L, cfg, out, 1);
    if (kwnn__jstr_is(v, "dot")) return kwnn__dot(c, L, cfg, out, 1);
    return kwnn__unsupported_value(c, L, "Merge mode", v);
}


/* keras.applications' CustomScaleLayer (Inception-ResNet-v2's residual):
   inputs[0] + inputs[1] * scale, two inputs of one shape (no broadcasting
   in Keras's formula as the application uses it, so none accepted here). */
static kwnn_result kwnn__scaled_add(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    const struct kwnn__node *a, *b;
    kwnn__json v;
    double scale;
    uint32_t d;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__arity(c, L, 2, 2)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "scale", &v) || kwnn__null(v))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no scale");
    if ((r = kwnn__cfg_num(c, L, cfg, "scale", NULL, 0.0, &scale)) != KWNN_OK) return r;
    a = kwnn__in_node(c, 0);
    b = kwnn__in_node(c, 1);
    if (a->nd != b->nd) return kwnn__merge_mismatch(c, L, "differ in shape");
    for (d = 0; d < a->nd; d++)
        if (a->shape[d] != b->shape[d]) return kwnn__merge_mismatch(c, L, "differ in shape");
    out->kind = KWNN_LAYER_MERGE;
    out->op = KWNN_MERGE_SCALED_ADD;
    out->epsilon = (float)scale; /* Keras multiplies in float32 */
    memcpy(c->shape, a->shape, sizeof c->shape);
    c->nd = a->nd;
    return KWNN_OK;
}
/* ---- the convolution family ---------------------------------------------- */

/* Conv1D/2D/3D (groups, causal), DepthwiseConv1D/2D, SeparableConv1D/2D and
   Conv1D/2D/3DTranspose, of every Keras generation, channels_last or
   channels_first: one N-d direct convolution.  Every layer is seen as 3-d: a
   1-d or 2-d one gets leading axes of size 1 (kernel 1, stride 1, no
   padding), which leave its memory layout as it is.  Kernels are used as
   (k0, k1, k2, cin / groups, filters); those stored otherwise (a transposed
   convolution's (k..., filters, cin), Keras 1 "th" (filters, cin, k...),
   Theano's flipped ones) are repacked once at load.  channels_first is index
   arithmetic (a channel stride and a position stride), not a copy.
   A depthwise convolution is a grouped one (groups = channels, one input
   channel and depth_multiplier filters per group: the kernel (k..., C, mult)
   is already (k..., 1, C mult)); a separable one adds the pointwise kernel. */

enum { KWNN__OP_CONV = 0, KWNN__OP_DEPTHWISE, KWNN__OP_SEPARABLE, KWNN__OP_TRANSPOSE, KWNN__OP_REFUSED };
#define KWNN__CONV_ARG(op, rank) ((op) * 4 + (rank)) /* the registry's arg */

/* Helpers of 51_cost.h and 80_run_layers.h, defined there. */
static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n);
static void kwnn__taps(size_t start, size_t pad, size_t n, size_t k, size_t d, size_t *lo, size_t *hi);

static const char *const kwnn__conv_classes[] = {
    "Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D", "AtrousConvolution1D",
    "AtrousConvolution2D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D", "Conv1DTranspose", "Conv2DTranspose",
    "Conv3DTranspose", NULL};

static int kwnn__conv_transposed(kwnn_kind k)
{
    return k == KWNN_LAYER_CONV1D_TRANSPOSE || k == KWNN_LAYER_CONV2D_TRANSPOSE || k == KWNN_LAYER_CONV3D_TRANSPOSE;
}

/* Keras 1 "th" config (dim_ordering): channels first, kernels (filters, cin, k...). */
static int kwnn__conv_th(kwnn__json cfg)
{
    kwnn__json v;
    return kwnn__get(cfg, "dim_ordering", &v) && kwnn__jstr_is(v, "th");
}

/* Pass 1 (kwnn__measure_params): floats a conv-family weight needs repacked
   (beyond a conversion to float32, counted by the caller); 0 for others. */
static size_t kwnn__conv_repack_floats(const kwb_layer *L, const kwb_tensor *t, int theano)
{
    kwnn__json cfg;
    int transpose, kernel;
    if (!kwnn__is_class(L, kwnn__conv_classes)) return 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    transpose = strstr(L->class_name, "Transpose") != NULL;
    kernel = strcmp(t->weight, "kernel") == 0 || strcmp(t->weight, "depthwise_kernel") == 0;
    if ((kernel && (transpose || theano)) || (t->ndim >= 3 && L->config_length > 0 && kwnn__conv_th(cfg)))
        return (size_t)t->count;
    return 0;
}

/* dst (taps, A, B) from src laid out as order 0 (taps, A, B), 1 (taps, B, A)
   or 2 (B, A, taps); flip: the taps reversed (reversing each spatial axis of
   a row-major kernel reverses its flat tap index). */
static void kwnn__repack(float *dst, const float *src, size_t taps, size_t A, size_t B, int order, int flip)
{
    size_t t, a, b;
    for (t = 0; t < taps; t++) {
        size_t st = flip ? taps - 1 - t : t;
        for (a = 0; a < A; a++)
            for (b = 0; b < B; b++) {
                size_t s = order == 0 ? (st * A + a) * B + b : order == 1 ? (st * B + b) * A + a : (b * A + a) * taps + st;
                dst[(t * A + a) * B + b] = src[s];
            }
    }
}

/* Kernel `name` of L, used as (ks..., A, B); stored as `order` (see
   kwnn__repack), Keras 1 Conv1D's as (k, 1, A, B) (k1_1d). */
static kwnn_result kwnn__conv_kernel(kwnn__ctx *c, const kwb_layer *L, const char *name, const size_t *ks,
                                     uint32_t rank, size_t A, size_t B, int order, int flip, int k1_1d,
                                     const float **out)
{
    size_t shape[6], taps = 1, n;
    uint32_t a, nd = 0;
    const float *src;
    float *dst;
    kwnn_result r;
    for (a = 0; a < rank; a++)
        if (!kwnn__mul(taps, ks[a], &taps)) return kwnn__oom(c);
    if (order == 2) {
        shape[nd++] = B;
        shape[nd++] = A;
    }
    for (a = 0; a < rank; a++) shape[nd++] = ks[a];
    if (k1_1d) shape[nd++] = 1;
    if (order != 2) {
        shape[nd++] = order == 0 ? A : B;
        shape[nd++] = order == 0 ? B : A;
    }
    if ((r = kwnn__weight(c, L, name, shape, nd, 0, &src)) != KWNN_OK) return r;
    if (order == 0 && !flip) {
        *out = src;
        return KWNN_OK;
    }
    if (!kwnn__mul(taps, A, &n) || !kwnn__mul(n, B, &n)) return kwnn__oom(c);
    if ((r = kwnn__param(c, n, &dst)) != KWNN_OK) return r;
    if (c->fill) kwnn__repack(dst, src, taps, A, B, order, flip);
    *out = dst;
    return KWNN_OK;
}

/* kernel_size, or Keras 1's filter_length / nb_row, nb_col / kernel_dim1..3. */
static kwnn_result kwnn__conv_ksize(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t rank, size_t *ks)
{
    static const char *const ks_keys[] = {"kernel_size", NULL};
    static const char *const k1[3][3] = {{"filter_length", NULL, NULL},
                                         {"nb_row", "nb_col", NULL},
                                         {"kernel_dim1", "kernel_dim2", "kernel_dim3"}};
    kwnn__json v;
    uint32_t a;
    long x;
    if (kwnn__get(cfg, "kernel_size", &v) && !kwnn__null(v)) return kwnn__cfg_sizes(c, L, cfg, ks_keys, rank, 1, ks);
    for (a = 0; a < rank; a++) {
        const char *key = k1[rank - 1][a];
        if (!kwnn__get(cfg, key, &v)) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no kernel_size (or ");
            kwnn__m(c->net, key);
            kwnn__m(c->net, ")");
            return KWNN_ERR_BAD_CONFIG;
        }
        if (!kwnn__int(v, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT)
            return kwnn__bad_key(c, L, key, v, "a positive size");
        ks[a] = (size_t)x;
    }
    return KWNN_OK;
}

/* padding | border_mode: 0 valid, 1 same, 2 causal (1-d forward convolutions). */
static kwnn_result kwnn__conv_padding(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int causal_ok, int *mode)
{
    static const char *const keys[] = {"padding", "border_mode", NULL};
    const char *which;
    kwnn__json v;
    *mode = 0;
    if (!kwnn__key(cfg, keys, &which, &v) || kwnn__jstr_is(v, "valid")) return KWNN_OK;
    if (kwnn__jstr_is(v, "same")) *mode = 1;
    else if (causal_ok && kwnn__jstr_is(v, "causal")) *mode = 2;
    else return kwnn__unsupported_value(c, L, which, v);
    return KWNN_OK;
}

/* data_format (Keras 2/3) | dim_ordering (Keras 1): 1 for channels first. */
static kwnn_result kwnn__conv_format(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int *first)
{
    kwnn__json v;
    *first = 0;
    if (kwnn__get(cfg, "data_format", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "channels_first")) *first = 1;
        else if (!kwnn__jstr_is(v, "channels_last")) return kwnn__unsupported_value(c, L, "data_format", v);
    }
    if (kwnn__get(cfg, "dim_ordering", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "th")) *first = 1;
        else if (!kwnn__jstr_is(v, "tf")) return kwnn__unsupported_value(c, L, "dim_ordering", v);
    }
    return KWNN_OK;
}

/* A positive count (filters, depth_multiplier, groups) under one of `keys`. */
static kwnn_result kwnn__conv_count(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *const *keys,
                                    long dflt, long *out)
{
    const char *which;
    kwnn__json v;
    *out = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) {
        if (dflt > 0) return KWNN_OK;
        kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no positive '");
        kwnn__m(c->net, keys[0]);
        kwnn__m(c->net, "'");
        return KWNN_ERR_BAD_CONFIG;
    }
    if (!kwnn__int(v, out) || *out < 1 || (size_t)*out > KWNN__DIM_LIMIT)
        return kwnn__bad_key(c, L, which, v, "a positive number");
    return KWNN_OK;
}

/* output_padding of a transposed convolution: null (-1 each) or sizes >= 0. */
static kwnn_result kwnn__conv_outpad(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t rank, long *op)
{
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t a;
    long x;
    for (a = 0; a < rank; a++) op[a] = -1;
    if (!kwnn__get(cfg, "output_padding", &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__int(v, &x)) {
        if (x < 0 || (size_t)x > KWNN__DIM_LIMIT) return kwnn__bad_key(c, L, "output_padding", v, "a size >= 0");
        for (a = 0; a < rank; a++) op[a] = x;
        return KWNN_OK;
    }
    if (!kwnn__begin(v, '[', &it) || kwnn__count(v) != rank)
        return kwnn__bad_key(c, L, "output_padding", v, "a list of sizes");
    for (a = 0; a < rank && kwnn__next(&it, NULL, &el); a++) {
        if (!kwnn__int(el, &x) || x < 0 || (size_t)x > KWNN__DIM_LIMIT)
            return kwnn__bad_key(c, L, "output_padding", v, "a list of sizes >= 0");
        op[a] = x;
    }
    return KWNN_OK;
}

/* Output size and crop of one axis of a transposed convolution, as Keras 3
   (compute_conv_transpose_output_shape, and the padding it gives JAX): the
   full output (in - 1) s + eff, of which `crop` are dropped at the start.
   Sizes <= KWNN__DIM_LIMIT (checked arithmetic: no overflow on 32 bits). */
static int kwnn__conv_tr_axis(size_t in, size_t k, size_t s, size_t d, int same, long op, size_t *out, size_t *crop)
{
    size_t eff, o, left = 0, pad_len;
    if (in > KWNN__DIM_LIMIT || !kwnn__extent(k, d, &eff) || !kwnn__mul(in - 1, s, &o)) return 0;
    if (!same) {
        size_t extra = op >= 0 ? (size_t)op : (s > eff ? s - eff : 0);
        if (!kwnn__add(o, eff, &o) || !kwnn__add(o, extra, &o)) return 0;
        left = eff - 1;
    } else {
        if (op >= 0) {
            pad_len = eff + eff % 2 - 2 + (size_t)op;
            if (!kwnn__add(o, eff % 2 + (size_t)op, &o)) return 0;
        } else {
            pad_len = s + eff - 2;
            if (!kwnn__mul(in, s, &o)) return 0;
        }
        left = pad_len / 2 + pad_len % 2;
        if (left > eff - 1) left = eff - 1;
    }
    *out = o;
    *crop = eff - 1 - left;
    return o >= 1 && o <= KWNN__DIM_LIMIT;
}

static const kwnn_kind kwnn__conv_kinds[4][3] = {
    {KWNN_LAYER_CONV1D, KWNN_LAYER_CONV2D, KWNN_LAYER_CONV3D},
    {KWNN_LAYER_DEPTHWISE1D, KWNN_LAYER_DEPTHWISE2D, KWNN_LAYER_UNUSED},
    {KWNN_LAYER_DEPTHWISE1D, KWNN_LAYER_DEPTHWISE2D, KWNN_LAYER_UNUSED},
    {KWNN_LAYER_CONV1D_TRANSPOSE, KWNN_LAYER_CONV2D_TRANSPOSE, KWNN_LAYER_CONV3D_TRANSPOSE}};

/* The options of a convolution's config (every generation's keys). */
typedef struct kwnn__conv_cfg {
    size_t ks[3], st[3], dl[3];
    long filters, mult, groups, op[3];
    int pad_mode, first, use_bias, th;
} kwnn__conv_cfg;

static kwnn_result kwnn__conv_options(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int op, uint32_t rank,
                                      kwnn__conv_cfg *k)
{
    static const char *const filter_keys[] = {"filters", "nb_filter", NULL};
    static const char *const mult_keys[] = {"depth_multiplier", NULL};
    static const char *const group_keys[] = {"groups", NULL};
    static const char *const st1_keys[] = {"strides", "subsample_length", NULL};
    static const char *const st_keys[] = {"strides", "subsample", NULL};
    static const char *const dl_keys[] = {"dilation_rate", "atrous_rate", NULL};
    kwnn__json v;
    kwnn_result r;
    k->filters = k->mult = k->groups = 1;
    k->th = kwnn__conv_th(cfg);
    if ((op != KWNN__OP_DEPTHWISE && (r = kwnn__conv_count(c, L, cfg, filter_keys, 0, &k->filters)) != KWNN_OK) ||
        (op != KWNN__OP_CONV && op != KWNN__OP_TRANSPOSE &&
         (r = kwnn__conv_count(c, L, cfg, mult_keys, 1, &k->mult)) != KWNN_OK) ||
        (op == KWNN__OP_CONV && (r = kwnn__conv_count(c, L, cfg, group_keys, 1, &k->groups)) != KWNN_OK) ||
        (r = kwnn__conv_ksize(c, L, cfg, rank, k->ks)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, rank == 1 ? st1_keys : st_keys, rank, 1, k->st)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, dl_keys, rank, 1, k->dl)) != KWNN_OK ||
        (r = kwnn__conv_padding(c, L, cfg, rank == 1 && op != KWNN__OP_TRANSPOSE, &k->pad_mode)) != KWNN_OK ||
        (r = kwnn__conv_format(c, L, cfg, &k->first)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &k->use_bias)) != KWNN_OK)
        return r;
    if (op == KWNN__OP_TRANSPOSE && (r = kwnn__conv_outpad(c, L, cfg, rank, k->op)) != KWNN_OK) return r;
    if (op != KWNN__OP_TRANSPOSE && kwnn__get(cfg, "output_padding", &v) && !kwnn__null(v))
        return kwnn__unsupported_value(c, L, "output_padding", v);
    return KWNN_OK;
}

/* Spatial geometry: each axis's output size and padding (or crop); the
   layer's window as 3-d (leading unit axes). */
static kwnn_result kwnn__conv_geometry(kwnn__ctx *c, const kwb_layer *L, const kwnn__conv_cfg *k, int op,
                                       uint32_t rank, kwnn_layer *out, size_t *osz)
{
    uint32_t a, lead = 3 - rank;
    const size_t *in = c->shape + (k->first ? 1 : 0);
    for (a = 0; a < 3; a++) {
        out->win[a] = out->step[a] = out->dilation[a] = 1;
        out->lo[a] = 0;
    }
    for (a = 0; a < rank; a++) {
        size_t eff, o, pad = 0;
        int ok;
        if (in[a] > KWNN__DIM_LIMIT || !kwnn__extent(k->ks[a], k->dl[a], &eff))
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "too large (a dilated kernel spans more than 2^30)");
        if (op == KWNN__OP_TRANSPOSE) ok = kwnn__conv_tr_axis(in[a], k->ks[a], k->st[a], k->dl[a], k->pad_mode == 1,
                                                              k->op[a], &o, &pad);
        else if (k->pad_mode == 2) { /* causal: eff - 1 before, the output as long as the input (stride 1) */
            pad = eff - 1;
            o = (in[a] - 1) / k->st[a] + 1;
            ok = 1;
        } else ok = kwnn__window(in[a], k->ks[a], k->st[a], k->dl[a], k->pad_mode == 1, &o, &pad);
        if (!ok) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L,
                       op == KWNN__OP_TRANSPOSE ? "its output would be empty or above 2^30 for its input "
                                                : "its window is larger than its input ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        osz[a] = o;
        out->win[lead + a] = k->ks[a];
        out->step[lead + a] = k->st[a];
        out->dilation[lead + a] = k->dl[a];
        out->lo[lead + a] = pad;
    }
    return KWNN_OK;
}

/* Every convolution: arg = KWNN__CONV_ARG(op, spatial rank). */
static kwnn_result kwnn__conv_nd(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    int op = arg / 4, flip = c->theano_kernels, order;
    uint32_t rank = (uint32_t)(arg % 4), a;
    kwnn__conv_cfg k;
    size_t C, osz[3], cm, bias_n;
    kwb_tensor t;
    kwnn__json v;
    const char *dk = "kernel";
    kwnn_result r;
    if (op == KWNN__OP_REFUSED)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "Keras 1 Deconvolution2D/3D is not supported (its kernel layout varied across "
                          "releases); use Conv2DTranspose / Conv3DTranspose");
    if ((r = kwnn__conv_options(c, L, cfg, op, rank, &k)) != KWNN_OK) return r;
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK) return r;
    if (c->nd != rank + 1) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank ");
        kwnn__m_u(c->net, rank + 1);
        kwnn__m(c->net, k.first ? " (channels, spatial axes), gets " : " (spatial axes, channels), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    C = k.first ? c->shape[0] : c->shape[rank];
    if (C > KWNN__DIM_LIMIT || !kwnn__mul(C, (size_t)k.mult, &cm) || cm > KWNN__DIM_LIMIT)
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "too many channels");
    if (C % (size_t)k.groups != 0 || (size_t)k.filters % (size_t)k.groups != 0) {
        kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "groups ");
        kwnn__m_u(c->net, (size_t)k.groups);
        kwnn__m(c->net, " does not divide its input channels and filters");
        return KWNN_ERR_BAD_CONFIG;
    }
    if ((r = kwnn__conv_geometry(c, L, &k, op, rank, out, osz)) != KWNN_OK) return r;
    out->kind = kwnn__conv_kinds[op][rank - 1];
    out->spatial = rank;
    out->channels_first = k.first;
    out->mult = (size_t)k.mult;
    out->groups = op == KWNN__OP_CONV ? (size_t)k.groups : op == KWNN__OP_TRANSPOSE ? 1 : C;
    out->units = op == KWNN__OP_DEPTHWISE ? cm : (size_t)k.filters;
    /* weights */
    order = k.th ? 2 : 0;
    if (op == KWNN__OP_SEPARABLE) {
        static const char *const sep_names[] = {"depthwise_kernel", "pointwise_kernel", "bias"};
        size_t ones[3] = {1, 1, 1};
        if ((r = kwnn__only(c, L, sep_names, k.use_bias ? 3 : 2)) != KWNN_OK ||
            (r = kwnn__conv_kernel(c, L, "depthwise_kernel", k.ks, rank, C, out->mult, order, flip, 0, &out->w)) !=
                KWNN_OK ||
            (r = kwnn__conv_kernel(c, L, "pointwise_kernel", ones, rank, cm, out->units, order, 0, 0, &out->w2)) !=
                KWNN_OK)
            return r;
    } else {
        const char *names[2];
        if (op == KWNN__OP_DEPTHWISE && !kwnn__find(c, L, "kernel", &t)) dk = "depthwise_kernel"; /* Keras 2 */
        names[0] = dk;
        names[1] = "bias";
        if ((r = kwnn__only(c, L, names, k.use_bias ? 2 : 1)) != KWNN_OK) return r;
        if (op == KWNN__OP_DEPTHWISE)
            r = kwnn__conv_kernel(c, L, dk, k.ks, rank, C, out->mult, order, flip, 0, &out->w);
        else if (op == KWNN__OP_TRANSPOSE)
            r = kwnn__conv_kernel(c, L, dk, k.ks, rank, C, out->units, 1, flip, 0, &out->w);
        else
            r = kwnn__conv_kernel(c, L, dk, k.ks, rank, C / out->groups, out->units, order, flip,
                                  rank == 1 && kwnn__find(c, L, dk, &t) && t.ndim == 4, &out->w);
        if (r != KWNN_OK) return r;
    }
    bias_n = out->units;
    if (k.use_bias && (r = kwnn__weight(c, L, "bias", &bias_n, 1, 0, &out->b)) != KWNN_OK) return r;
    /* the 2-d fields (kh, kw, ...) of the first API, from the last two axes */
    out->kh = out->win[1];
    out->kw = out->win[2];
    out->sh = out->step[1];
    out->sw = out->step[2];
    out->dh = out->dilation[1];
    out->dw = out->dilation[2];
    out->pad_top = out->lo[1];
    out->pad_left = out->lo[2];
    out->same = k.pad_mode == 1;
    for (a = 0; a < rank; a++) c->shape[(k.first ? 1 : 0) + a] = osz[a];
    c->shape[k.first ? 0 : rank] = out->units;
    return KWNN_OK;
}

/* ---- running ---- */

typedef struct kwnn__cgeo {
    size_t in[3], out[3];           /* spatial sizes, as 3-d */
    size_t C, F;                    /* input and output channels */
    size_t x_cs, x_ps, y_cs, y_ps;  /* strides of a channel and of a position in x and y */
} kwnn__cgeo;

static void kwnn__conv_geo(const kwnn_layer *L, kwnn__cgeo *g)
{
    uint32_t r = L->spatial, a, lead = 3 - r, sp = L->channels_first ? 1 : 0;
    size_t ni = 1, no = 1;
    for (a = 0; a < 3; a++) {
        g->in[a] = a < lead ? 1 : L->in_shape[sp + a - lead];
        g->out[a] = a < lead ? 1 : L->out_shape[sp + a - lead];
        ni *= g->in[a];
        no *= g->out[a];
    }
    g->C = L->in_shape[L->channels_first ? 0 : r];
    g->F = L->out_shape[L->channels_first ? 0 : r];
    g->x_cs = L->channels_first ? ni : 1;
    g->x_ps = L->channels_first ? 1 : g->C;
    g->y_cs = L->channels_first ? no : 1;
    g->y_ps = L->channels_first ? 1 : g->F;
}

/* Axis a, output o: the taps [lo, hi) that can reach the input (transposed:
   the full output position o + crop receives tap j from input (o + crop - j d) / s
   when that divides; the others are skipped by kwnn__conv_at). */
static void kwnn__conv_range(const kwnn_layer *L, int tr, uint32_t a, size_t o, size_t n, size_t *lo, size_t *hi)
{
    size_t k = L->win[a], s = L->step[a], d = L->dilation[a];
    if (!tr) {
        kwnn__taps(o * s, L->lo[a], n, k, d, lo, hi);
        return;
    } else {
        size_t p = o + L->lo[a], last = (n - 1) * s;
        *hi = p / d + 1 < k ? p / d + 1 : k;
        *lo = p > last ? (p - last + d - 1) / d : 0;
        if (*lo > *hi) *lo = *hi;
    }
}

/* The input index of tap j on axis a (j within kwnn__conv_range); 0 when it
   falls between two inputs (transposed, stride > 1). */
static int kwnn__conv_at(const kwnn_layer *L, int tr, uint32_t a, size_t o, size_t j, size_t *i)
{
    size_t q;
    if (!tr) {
        *i = o * L->step[a] + j * L->dilation[a] - L->lo[a];
        return 1;
    }
    q = o + L->lo[a] - j * L->dilation[a];
    *i = q / L->step[a];
    return q % L->step[a] == 0;
}

/* o[k * os] += a * w[k] over n. */
static void kwnn__axpy_s(float *KWNN__RESTRICT o, size_t os, const float *KWNN__RESTRICT w, float a, size_t n)
{
    size_t k;
    if (os == 1) {
        kwnn__axpy(o, w, a, n);
        return;
    }
    for (k = 0; k < n; k++) o[k * os] += a * w[k];
}

/* Depthwise, channels_last, one tap: o[c M + m] += x[c] w[c M + m] (vectorizable). */
static void kwnn__dw_tap(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT x, const float *KWNN__RESTRICT w,
                         size_t C, size_t M)
{
    size_t c, m;
    if (M == 1) {
        for (c = 0; c < C; c++) o[c] += x[c] * w[c];
        return;
    }
    for (c = 0; c < C; c++)
        for (m = 0; m < M; m++) o[c * M + m] += x[c] * w[c * M + m];
}

/* One output position, every tap on the input: y += x[tap] (groups) times W[tap]. */
static void kwnn__conv_point(const kwnn_layer *L, const kwnn__cgeo *g, int tr, const size_t *o, const float *xb,
                             float *KWNN__RESTRICT yo)
{
    size_t lo[3], hi[3], j0, j1, j2, i0, i1, i2, G = L->groups, Cg = g->C / G, Fg = g->F / G, gi, ci;
    uint32_t a;
    for (a = 0; a < 3; a++) kwnn__conv_range(L, tr, a, o[a], g->in[a], &lo[a], &hi[a]);
    for (j0 = lo[0]; j0 < hi[0]; j0++) {
        if (!kwnn__conv_at(L, tr, 0, o[0], j0, &i0)) continue;
        for (j1 = lo[1]; j1 < hi[1]; j1++) {
            if (!kwnn__conv_at(L, tr, 1, o[1], j1, &i1)) continue;
            for (j2 = lo[2]; j2 < hi[2]; j2++) {
                const float *xp, *wp;
                if (!kwnn__conv_at(L, tr, 2, o[2], j2, &i2)) continue;
                KWNN_PROBE(taps, 1);
                xp = xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * g->x_ps;
                wp = L->w + ((j0 * L->win[1] + j1) * L->win[2] + j2) * Cg * g->F;
                if (Cg == 1 && g->x_cs == 1 && g->y_cs == 1) { /* depthwise, channels_last */
                    kwnn__dw_tap(yo, xp, wp, G, Fg);
                    continue;
                }
                for (gi = 0; gi < G; gi++)
                    for (ci = 0; ci < Cg; ci++)
                        kwnn__axpy_s(yo + gi * Fg * g->y_cs, g->y_cs, wp + ci * g->F + gi * Fg,
                                     xp[(gi * Cg + ci) * g->x_cs], Fg);
            }
        }
    }
}

/* Separable, one output position: each depthwise sum (channel c, multiplier
   m), as soon as known, times its row of the pointwise kernel into y. */
static void kwnn__separable_point(const kwnn_layer *L, const kwnn__cgeo *g, const size_t *o, const float *xb,
                                  float *KWNN__RESTRICT yo)
{
    size_t lo[3], hi[3], j0, j1, j2, M = L->mult, CM = g->C * M, cm;
    uint32_t a;
    for (a = 0; a < 3; a++) kwnn__conv_range(L, 0, a, o[a], g->in[a], &lo[a], &hi[a]);
    for (cm = 0; cm < CM; cm++) {
        float s = 0.0f;
        const float *xc = xb + (cm / M) * g->x_cs;
        for (j0 = lo[0]; j0 < hi[0]; j0++)
            for (j1 = lo[1]; j1 < hi[1]; j1++)
                for (j2 = lo[2]; j2 < hi[2]; j2++) {
                    size_t i0 = o[0] * L->step[0] + j0 * L->dilation[0] - L->lo[0];
                    size_t i1 = o[1] * L->step[1] + j1 * L->dilation[1] - L->lo[1];
                    size_t i2 = o[2] * L->step[2] + j2 * L->dilation[2] - L->lo[2];
                    KWNN_PROBE(taps, 1);
                    s += xc[((i0 * g->in[1] + i1) * g->in[2] + i2) * g->x_ps] *
                         L->w[((j0 * L->win[1] + j1) * L->win[2] + j2) * CM + cm];
                }
        kwnn__axpy_s(yo, g->y_cs, L->w2 + cm * g->F, s, g->F);
    }
}

static void kwnn__conv_nd_run(const kwnn_layer *L, const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y,
                              size_t batch)
{
    kwnn__cgeo g;
    size_t b, o[3], f;
    int tr = kwnn__conv_transposed(L->kind);
    kwnn__conv_geo(L, &g);
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        float *yb = y + b * L->out_count;
        for (o[0] = 0; o[0] < g.out[0]; o[0]++)
            for (o[1] = 0; o[1] < g.out[1]; o[1]++)
                for (o[2] = 0; o[2] < g.out[2]; o[2]++) {
                    float *yo = yb + ((o[0] * g.out[1] + o[1]) * g.out[2] + o[2]) * g.y_ps;
                    for (f = 0; f < g.F; f++) yo[f * g.y_cs] = 0.0f;
                    if (L->w2 != NULL) kwnn__separable_point(L, &g, o, xb, yo);
                    else kwnn__conv_point(L, &g, tr, o, xb, yo);
                    if (L->b != NULL)
                        for (f = 0; f < g.F; f++) yo[f * g.y_cs] += L->b[f];
                }
    }
}

static size_t kwnn__gcd(size_t a, size_t b)
{
    while (b != 0) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Operations per sample (see kwnn__layer_cost): per output position, the
   taps on the input (at most min(k, in) per axis; transposed: those that
   divide, at most ceil(k / (s / gcd(s, d))), plus the range checked) times
   the multiply-adds of a tap; separable: then C mult x filters. */
static uint64_t kwnn__conv_cost(const kwnn_layer *L)
{
    kwnn__cgeo g;
    uint64_t taps = 1, seen = 1, pos, per;
    uint32_t a;
    int tr = kwnn__conv_transposed(L->kind);
    kwnn__conv_geo(L, &g);
    pos = (uint64_t)L->out_count / (g.F ? g.F : 1);
    for (a = 0; a < 3; a++) {
        size_t k = L->win[a], n = k < g.in[a] ? k : g.in[a];
        if (tr) { /* the range spans (in - 1) s / d + 1 taps at most; of those, 1 in s / gcd(s, d) hits */
            uint64_t span = (uint64_t)(g.in[a] - 1) * L->step[a] / L->dilation[a] + 1;
            size_t s = L->step[a] / kwnn__gcd(L->step[a], L->dilation[a]), hit = (k + s - 1) / s;
            seen = kwnn__sat_mul(seen, span < k ? span : k);
            n = hit < n ? hit : n;
        }
        taps = kwnn__sat_mul(taps, n);
    }
    if (L->w2 != NULL)
        per = kwnn__sat_add(kwnn__sat_mul(taps, g.C * L->mult), kwnn__sat_mul(g.C * L->mult, g.F));
    else
        per = kwnn__sat_mul(taps, kwnn__sat_mul(g.C / (L->groups ? L->groups : 1), g.F));
    if (tr) per = kwnn__sat_add(per, seen);
    return kwnn__sat_add(kwnn__sat_mul(per, pos), L->out_count);
}
/* ---- shape, resampling and pooling layers of 1 to 3 spatial axes -------- */

/* ZeroPadding1D/2D/3D, Cropping1D/2D/3D, UpSampling1D/2D/3D, Max/
   AveragePooling1D/2D/3D, GlobalMax/AveragePooling1D/2D/3D, Permute,
   RepeatVector, and Flatten(data_format="channels_first").

   A spatial layer sees one sample as [outer][d0][d1][d2][inner]: channels
   last, outer 1 and inner the channels; channels first, outer the channels
   and inner 1.  Fewer than 3 spatial axes are padded in front with axes of
   size 1 (window 1, step 1, nothing before or after), so one loop nest of
   three serves every rank. */

/* defined later (80_run_layers.h, 51_cost.h) */
static void kwnn__taps(size_t start, size_t pad, size_t n, size_t k, size_t d, size_t *lo, size_t *hi);
static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);

/* data_format (Keras 2/3) | dim_ordering (Keras 1): *cf 1 for channels first. */
static kwnn_result kwnn__data_format(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int *cf)
{
    kwnn__json v;
    *cf = 0;
    if (kwnn__get(cfg, "data_format", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "channels_first")) *cf = 1;
        else if (!kwnn__jstr_is(v, "channels_last")) return kwnn__unsupported_value(c, L, "data_format", v);
    }
    if (kwnn__get(cfg, "dim_ordering", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "th")) *cf = 1;
        else if (!kwnn__jstr_is(v, "tf")) return kwnn__unsupported_value(c, L, "dim_ordering", v);
    }
    return KWNN_OK;
}

/* The input must be (spatial axes..., channels) or (channels, spatial axes...). */
static kwnn_result kwnn__need_spatial(kwnn__ctx *c, const kwb_layer *L, uint32_t spatial, int cf)
{
    uint32_t i;
    if (c->nd == spatial + 1) {
        for (i = 0; i < c->nd; i++)
            if (c->shape[i] > KWNN__DIM_LIMIT) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "input too large");
        return KWNN_OK;
    }
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank ");
    kwnn__m_u(c->net, spatial + 1);
    kwnn__m(c->net, cf ? " (channels, spatial axes), gets " : " (spatial axes, channels), gets ");
    kwnn__m_shape(c->net, c->shape, c->nd);
    return KWNN_ERR_SHAPE;
}

/* Spatial axis i of the current shape. */
static size_t *kwnn__sp(kwnn__ctx *c, int cf, uint32_t i) { return &c->shape[i + (cf ? 1u : 0u)]; }

static void kwnn__set_spatial(kwnn_layer *out, uint32_t spatial, int cf)
{
    uint32_t i;
    out->spatial = spatial;
    out->channels_first = cf;
    for (i = 0; i < 3; i++) {
        out->win[i] = out->step[i] = 1;
        out->lo[i] = out->hi[i] = 0;
    }
}

/* A non-negative amount (padding, cropping). */
static int kwnn__amount(kwnn__json v, size_t *out)
{
    long x;
    if (!kwnn__int(v, &x) || x < 0 || (size_t)x > KWNN__DIM_LIMIT) return 0;
    *out = (size_t)x;
    return 1;
}

/* Before / after amounts of `spatial` axes from every form Keras wrote: an
   int (all), a pair (1 axis: before, after), a list of one int (symmetric)
   or pair per axis, Keras 1's 4-list (top, bottom, left, right) and dicts
   (left_pad, right_pad, top_pad, bottom_pad). */
static kwnn_result kwnn__pairs(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                               uint32_t spatial, size_t dflt, size_t *lo, size_t *hi)
{
    static const char *const dict1[] = {"left_pad", "right_pad"};
    static const char *const dict2[] = {"top_pad", "bottom_pad", "left_pad", "right_pad"};
    kwnn__json v, el, e2;
    kwnn__iter it, it2;
    size_t n, i, flat[4] = {0, 0, 0, 0};
    uint32_t a;
    for (a = 0; a < spatial; a++) lo[a] = hi[a] = dflt;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__amount(v, &flat[0])) {
        for (a = 0; a < spatial; a++) lo[a] = hi[a] = flat[0];
        return KWNN_OK;
    }
    if (kwnn__is(v, '{') && spatial <= 2) {
        const char *const *keys = spatial == 1 ? dict1 : dict2;
        for (i = 0; i < 2 * (size_t)spatial; i++) {
            flat[i] = 0;
            if (kwnn__get(v, keys[i], &el) && !kwnn__amount(el, &flat[i]))
                return kwnn__bad_key(c, L, key, v, "non-negative sizes");
        }
        for (a = 0; a < spatial; a++) {
            lo[a] = flat[2 * a];
            hi[a] = flat[2 * a + 1];
        }
        return KWNN_OK;
    }
    if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "an int or a list");
    n = kwnn__count(v);
    if ((spatial == 1 && n == 2) || (spatial == 2 && n == 4)) { /* flat before/after pairs */
        for (i = 0; i < n && kwnn__next(&it, NULL, &el); i++)
            if (!kwnn__amount(el, &flat[i])) break;
        if (i == n) {
            for (a = 0; a < spatial; a++) {
                lo[a] = flat[2 * a];
                hi[a] = flat[2 * a + 1];
            }
            return KWNN_OK;
        }
        if (spatial == 2) return kwnn__bad_key(c, L, key, v, "non-negative sizes");
        kwnn__begin(v, '[', &it);
    }
    if (n != spatial) return kwnn__bad_key(c, L, key, v, spatial == 1 ? "an int or a pair" : "one entry per axis");
    for (a = 0; a < spatial && kwnn__next(&it, NULL, &el); a++) {
        if (kwnn__amount(el, &lo[a])) {
            hi[a] = lo[a];
            continue;
        }
        if (!kwnn__begin(el, '[', &it2) || kwnn__count(el) != 2 || !kwnn__next(&it2, NULL, &e2) ||
            !kwnn__amount(e2, &lo[a]) || !kwnn__next(&it2, NULL, &e2) || !kwnn__amount(e2, &hi[a]))
            return kwnn__bad_key(c, L, key, v, "ints or pairs of non-negative sizes");
    }
    return KWNN_OK;
}

/* ZeroPadding (crop 0) and Cropping (crop 1) of `spatial` axes. */
static kwnn_result kwnn__pad_crop(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                  uint32_t spatial, int crop)
{
    size_t lo[3], hi[3], *d;
    uint32_t a, first = 3 - spatial;
    int cf;
    kwnn_result r;
    if ((r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__pairs(c, L, cfg, crop ? "cropping" : "padding", spatial, crop && spatial == 2 ? 0 : 1, lo,
                         hi)) != KWNN_OK ||
        (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = crop ? KWNN_LAYER_CROP : KWNN_LAYER_ZEROPAD;
    for (a = 0; a < spatial; a++) {
        d = kwnn__sp(c, cf, a);
        out->lo[first + a] = lo[a];
        out->hi[first + a] = hi[a];
        if (crop) {
            if (lo[a] + hi[a] >= *d) { /* each <= 2^30: no overflow */
                kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "crops all of its input ");
                kwnn__m_shape(c->net, c->shape, c->nd);
                return KWNN_ERR_SHAPE;
            }
            *d -= lo[a] + hi[a];
        } else {
            *d += lo[a] + hi[a];
            if (*d > KWNN__DIM_LIMIT) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "output too large");
        }
    }
    return KWNN_OK;
}

/* Standalone Keras 2.2-2.3 (keras_version "2.0" to "2.3.x" without "-tf"):
   its bilinear UpSampling2D was TensorFlow 1's resize_bilinear, without
   half-pixel centres.  tf.keras writes "2.x.y-tf" or 2.4 and later. */
static int kwnn__keras2_standalone(kwnn__ctx *c)
{
    size_t len = 0;
    const char *text = kwb_metadata(c->f, &len), *q;
    kwnn__json meta, v;
    if (text == NULL || len == 0) return 0;
    meta.p = text;
    meta.e = text + len;
    if (!kwnn__is(meta, '{') || !kwnn__get(meta, "keras_version", &v) || v.e - v.p < 5) return 0;
    if (v.p[1] != '2' || v.p[2] != '.' || v.p[3] < '0' || v.p[3] > '3' || (v.p[4] >= '0' && v.p[4] <= '9'))
        return 0;
    for (q = v.p; q + 3 <= v.e; q++)
        if (memcmp(q, "-tf", 3) == 0) return 0;
    return 1;
}

/* UpSampling1D (size | length), 2D (size, interpolation), 3D (size). */
static kwnn_result kwnn__upsampling(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                    uint32_t spatial)
{
    static const char *const keys[] = {"size", "length", NULL};
    size_t f[3], *d;
    uint32_t a, first = 3 - spatial;
    int cf;
    kwnn__json v;
    kwnn_result r;
    if ((r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, keys, spatial, 2, f)) != KWNN_OK ||
        (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = KWNN_LAYER_UPSAMPLE;
    if (kwnn__get(cfg, "interpolation", &v) && !kwnn__null(v) && !kwnn__jstr_is(v, "nearest")) {
        if (spatial != 2 || !kwnn__jstr_is(v, "bilinear")) return kwnn__unsupported_value(c, L, "interpolation", v);
        out->op = kwnn__keras2_standalone(c) ? 2 : 1; /* bilinear: half-pixel centres, or TF 1's */
    }
    for (a = 0; a < spatial; a++) {
        d = kwnn__sp(c, cf, a);
        out->step[first + a] = f[a];
        if (!kwnn__mul(*d, f[a], d) || *d > KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "output too large");
    }
    return KWNN_OK;
}

/* Max/AveragePooling1D/2D/3D: pool_size | pool_length, strides | stride
   (null: the pool size), padding | border_mode; 'same' as TensorFlow. */
static kwnn_result kwnn__pool_nd(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                 kwnn_kind kind, uint32_t spatial)
{
    static const char *const ps_keys[] = {"pool_size", "pool_length", NULL};
    static const char *const st_keys[] = {"strides", "stride", NULL};
    size_t ps[3], st[3], o, *d;
    uint32_t a, first = 3 - spatial;
    int same, cf;
    kwnn_result r;
    if ((r = kwnn__cfg_sizes(c, L, cfg, ps_keys, spatial, 2, ps)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, st_keys, spatial, 0, st)) != KWNN_OK ||
        (r = kwnn__padding(c, L, cfg, &same)) != KWNN_OK || (r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK ||
        (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = kind;
    out->same = same;
    out->units = c->shape[cf ? 0 : spatial];
    for (a = 0; a < spatial; a++) {
        d = kwnn__sp(c, cf, a);
        out->win[first + a] = ps[a];
        out->step[first + a] = st[a] != 0 ? st[a] : ps[a];
        if (!kwnn__window(*d, ps[a], out->step[first + a], 1, same, &o, &out->lo[first + a])) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its window is larger than its input ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        *d = o;
    }
    return KWNN_OK;
}

/* GlobalMax/AveragePooling1D/2D/3D: over the spatial axes; keepdims. */
static kwnn_result kwnn__global_nd(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                   kwnn_kind kind, uint32_t spatial)
{
    int keep, cf;
    uint32_t i;
    kwnn_result r;
    if ((r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "keepdims", NULL, 0, &keep)) != KWNN_OK ||
        (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = kind;
    out->units = c->shape[cf ? 0 : spatial];
    if (keep) {
        for (i = 0; i < spatial; i++) *kwnn__sp(c, cf, i) = 1;
        c->shape[cf ? 0 : spatial] = out->units;
    } else {
        c->shape[0] = out->units;
        c->nd = 1;
    }
    return KWNN_OK;
}

/* Permute: dims, the input axes (1-based) in output order. */
static kwnn_result kwnn__permute(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    kwnn__json v, el;
    kwnn__iter it;
    size_t dims[KWNN_MAX_DIMS];
    uint32_t i = 0, seen = 0;
    long x;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "dims", &v) || !kwnn__begin(v, '[', &it) || kwnn__count(v) != c->nd)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config 'dims' is not a permutation of its input's axes");
    for (i = 0; i < c->nd && kwnn__next(&it, NULL, &el); i++) {
        if (!kwnn__int(el, &x) || x < 1 || (unsigned long)x > c->nd || (seen >> (x - 1) & 1u))
            return kwnn__bad_key(c, L, "dims", v, "a permutation of 1..rank");
        seen |= 1u << (x - 1);
        out->perm[i] = (uint32_t)(x - 1);
        dims[i] = c->shape[x - 1];
    }
    memcpy(c->shape, dims, c->nd * sizeof dims[0]);
    out->kind = KWNN_LAYER_PERMUTE;
    return KWNN_OK;
}

/* Flatten: free, except channels_first on rank >= 2 (channels moved last first). */
static kwnn_result kwnn__flatten(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    size_t n;
    uint32_t i;
    int cf;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK) return r;
    if (!kwnn__prod(c->shape, c->nd, &n)) return kwnn__shape_overflow(c, L, "its input shape", c->shape, c->nd);
    out->kind = KWNN_LAYER_FLATTEN;
    if (cf && c->nd >= 2) {
        out->kind = KWNN_LAYER_PERMUTE;
        for (i = 0; i + 1 < c->nd; i++) out->perm[i] = i + 1;
        out->perm[c->nd - 1] = 0;
    }
    c->shape[0] = n;
    c->nd = 1;
    return KWNN_OK;
}

static kwnn_result kwnn__repeat_vector(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    kwnn__json v;
    long n;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "n", &v) || !kwnn__int(v, &n) || n < 1 || (size_t)n > KWNN__DIM_LIMIT)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no positive 'n'");
    if (c->nd != 1) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1, gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    out->kind = KWNN_LAYER_REPEAT;
    out->units = (size_t)n;
    c->shape[1] = c->shape[0];
    c->shape[0] = (size_t)n;
    c->nd = 2;
    return KWNN_OK;
}

/* ---- loaders for the registration table ---- */

static kwnn_result kwnn__load_pad(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__pad_crop(c, L, cfg, out, (uint32_t)arg, 0);
}

static kwnn_result kwnn__load_crop(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__pad_crop(c, L, cfg, out, (uint32_t)arg, 1);
}

static kwnn_result kwnn__load_upsampling(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                         int arg)
{
    return kwnn__upsampling(c, L, cfg, out, (uint32_t)arg);
}

/* arg: spatial axes, negative for average pooling */
static kwnn_result kwnn__load_pool(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__pool_nd(c, L, cfg, out, arg < 0 ? KWNN_LAYER_AVGPOOL2D : KWNN_LAYER_MAXPOOL2D,
                         (uint32_t)(arg < 0 ? -arg : arg));
}

/* arg: spatial axes, negative for max */
static kwnn_result kwnn__load_global(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__global_nd(c, L, cfg, out, arg < 0 ? KWNN_LAYER_GLOBAL_MAXPOOL : KWNN_LAYER_GLOBAL_AVGPOOL,
                           (uint32_t)(arg < 0 ? -arg : arg));
}

static kwnn_result kwnn__load_permute(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__permute(c, L, cfg, out);
}

static kwnn_result kwnn__load_flatten(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__flatten(c, L, cfg, out);
}

static kwnn_result kwnn__load_repeat(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__repeat_vector(c, L, cfg, out);
}

/* ---- runners ---- */

/* The layout [outer][d0][d1][d2][inner] of a spatial layer's input and output. */
typedef struct kwnn__geo {
    size_t in[3], out[3], outer, inner, in_vol, out_vol; /* vol: d0 d1 d2 inner */
} kwnn__geo;

static void kwnn__geometry(const kwnn_layer *L, kwnn__geo *g)
{
    uint32_t S = L->spatial, off = L->channels_first ? 1u : 0u, i, first = 3 - S;
    for (i = 0; i < 3; i++) g->in[i] = g->out[i] = 1;
    for (i = 0; i < S; i++) {
        g->in[first + i] = L->in_shape[off + i];
        g->out[first + i] = L->out_shape[off + i];
    }
    g->outer = L->channels_first ? L->in_shape[0] : 1;
    g->inner = L->channels_first ? 1 : L->in_shape[S];
    g->in_vol = g->in[0] * g->in[1] * g->in[2] * g->inner;
    g->out_vol = g->out[0] * g->out[1] * g->out[2] * g->inner;
}

/* ZeroPadding (output p from input p - lo, zero outside) and Cropping
   (output p from input p + lo): rows of the last spatial axis at a time. */
static void kwnn__pad_crop_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    kwnn__geo g;
    size_t b, o, p0, p1, n = 0, inner;
    int crop = L->kind == KWNN_LAYER_CROP;
    kwnn__geometry(L, &g);
    inner = g.inner;
    for (b = 0; b < batch * g.outer; b++) {
        const float *xs = x + b * g.in_vol;
        float *ys = y + b * g.out_vol;
        for (p0 = 0; p0 < g.out[0]; p0++)
            for (p1 = 0; p1 < g.out[1]; p1++) {
                float *row = ys + (p0 * g.out[1] + p1) * g.out[2] * inner;
                if (crop) {
                    const float *src = xs + (((p0 + L->lo[0]) * g.in[1] + p1 + L->lo[1]) * g.in[2] + L->lo[2]) * inner;
                    memcpy(row, src, g.out[2] * inner * sizeof *row);
                    continue;
                }
                if (p0 < L->lo[0] || p0 - L->lo[0] >= g.in[0] || p1 < L->lo[1] || p1 - L->lo[1] >= g.in[1]) {
                    for (n = 0; n < g.out[2] * inner; n++) row[n] = 0.0f;
                    continue;
                }
                for (n = 0; n < L->lo[2] * inner; n++) row[n] = 0.0f;
                memcpy(row + n, xs + ((p0 - L->lo[0]) * g.in[1] + p1 - L->lo[1]) * g.in[2] * inner,
                       g.in[2] * inner * sizeof *row);
                for (n += g.in[2] * inner, o = n; o < g.out[2] * inner; o++) row[o] = 0.0f;
            }
    }
}

/* TensorFlow 1's resize_bilinear: source o (in / out), the taps below and
   above it (clamped) and the fraction. */
static void kwnn__bilinear_tf1(size_t o, size_t f, size_t n, size_t *i0, size_t *i1, float *t)
{
    float s = (float)o * ((float)n / (float)(n * f));
    *i0 = (size_t)s;
    *i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
    *t = s - (float)*i0;
}

/* The two taps of output o for a factor f on n inputs and their weights, as
   jax.image.resize computes them: half-pixel centre s = (o + 0.5) (1 / f) - 0.5,
   weights max(0, 1 - |s - i|) of the taps inside the input, divided by their
   sum (so the edges repeat: s clamped to [0, n - 1]). */
static void kwnn__bilinear_src(size_t o, size_t f, size_t n, size_t *i0, size_t *i1, float *w0, float *w1)
{
    float s = ((float)o + 0.5f) * (1.0f / (float)f) - 0.5f, sum;
    if (s <= 0.0f) { /* the first tap only (also n == 1) */
        *i0 = *i1 = 0;
        *w0 = 1.0f;
        *w1 = 0.0f;
        return;
    }
    *i0 = (size_t)s;
    *i1 = *i0 + 1;
    *w0 = 1.0f - (s - (float)*i0);
    *w1 = *i1 < n ? fmaxf(0.0f, 1.0f - ((float)*i1 - s)) : 0.0f;
    if (*i1 >= n) *i1 = *i0;
    sum = *w0 + *w1;
    *w0 /= sum;
    *w1 /= sum;
}

static void kwnn__upsample_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    kwnn__geo g;
    size_t b, p0, p1, p2, k, inner;
    kwnn__geometry(L, &g);
    inner = g.inner;
    for (b = 0; b < batch * g.outer; b++) {
        const float *xs = x + b * g.in_vol;
        float *yo = y + b * g.out_vol;
        for (p0 = 0; p0 < g.out[0]; p0++)
            for (p1 = 0; p1 < g.out[1]; p1++) {
                size_t c0 = 0, c1 = 0; /* set below for bilinear; zero keeps gcc -O3's flow analysis quiet */
                float u0 = 0.0f, u1 = 0.0f;
                if (L->op == 1) kwnn__bilinear_src(p1, L->step[1], g.in[1], &c0, &c1, &u0, &u1);
                if (L->op == 2) kwnn__bilinear_tf1(p1, L->step[1], g.in[1], &c0, &c1, &u1);
                for (p2 = 0; p2 < g.out[2]; p2++, yo += inner) {
                    size_t e0 = 0, e1 = 0;
                    float v0 = 0.0f, v1 = 0.0f;
                    const float *q00, *q01, *q10, *q11;
                    if (L->op == 0) { /* nearest: the input cell the output falls in */
                        memcpy(yo,
                               xs + ((p0 / L->step[0] * g.in[1] + p1 / L->step[1]) * g.in[2] + p2 / L->step[2]) *
                                        inner,
                               inner * sizeof *yo);
                        continue;
                    }
                    /* bilinear (2D: axes 1 and 2) */
                    if (L->op == 2) kwnn__bilinear_tf1(p2, L->step[2], g.in[2], &e0, &e1, &v1);
                    else kwnn__bilinear_src(p2, L->step[2], g.in[2], &e0, &e1, &v0, &v1);
                    q00 = xs + (c0 * g.in[2] + e0) * inner;
                    q01 = xs + (c0 * g.in[2] + e1) * inner;
                    q10 = xs + (c1 * g.in[2] + e0) * inner;
                    q11 = xs + (c1 * g.in[2] + e1) * inner;
                    if (L->op == 2) { /* TensorFlow 1: along the width, then the height, as a + (b - a) t */
                        for (k = 0; k < inner; k++) {
                            float top = q00[k] + (q01[k] - q00[k]) * v1, bot = q10[k] + (q11[k] - q10[k]) * v1;
                            yo[k] = top + (bot - top) * u1;
                        }
                        continue;
                    }
                    for (k = 0; k < inner; k++) /* along the height first, then the width, as jax */
                        yo[k] = v0 * (u0 * q00[k] + u1 * q10[k]) + v1 * (u0 * q01[k] + u1 * q11[k]);
                }
            }
    }
}

/* Max / average over the taps of each window inside the input (the
   average divides by their count: TensorFlow's and Keras 3's 'same'). */
static void kwnn__pool_nd_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    kwnn__geo g;
    size_t b, p[3], lo[3], hi[3], i0, i1, i2, k, inner, count;
    int is_max = L->kind == KWNN_LAYER_MAXPOOL2D;
    kwnn__geometry(L, &g);
    inner = g.inner;
    for (b = 0; b < batch * g.outer; b++) {
        const float *xs = x + b * g.in_vol;
        float *o = y + b * g.out_vol;
        for (p[0] = 0; p[0] < g.out[0]; p[0]++) {
            kwnn__taps(p[0] * L->step[0], L->lo[0], g.in[0], L->win[0], 1, &lo[0], &hi[0]);
            for (p[1] = 0; p[1] < g.out[1]; p[1]++) {
                kwnn__taps(p[1] * L->step[1], L->lo[1], g.in[1], L->win[1], 1, &lo[1], &hi[1]);
                for (p[2] = 0; p[2] < g.out[2]; p[2]++, o += inner) {
                    kwnn__taps(p[2] * L->step[2], L->lo[2], g.in[2], L->win[2], 1, &lo[2], &hi[2]);
                    count = 0;
                    for (i0 = lo[0]; i0 < hi[0]; i0++)
                        for (i1 = lo[1]; i1 < hi[1]; i1++)
                            for (i2 = lo[2]; i2 < hi[2]; i2++) {
                                size_t r0 = p[0] * L->step[0] + i0 - L->lo[0];
                                size_t r1 = p[1] * L->step[1] + i1 - L->lo[1];
                                size_t r2 = p[2] * L->step[2] + i2 - L->lo[2];
                                const float *xp = xs + ((r0 * g.in[1] + r1) * g.in[2] + r2) * inner;
                                KWNN_PROBE(taps, 1);
                                if (count++ == 0) memcpy(o, xp, inner * sizeof *o);
                                else if (is_max)
                                    for (k = 0; k < inner; k++) o[k] = xp[k] > o[k] ? xp[k] : o[k];
                                else
                                    for (k = 0; k < inner; k++) o[k] += xp[k];
                            }
                    if (!is_max)
                        for (k = 0; k < inner; k++) o[k] /= (float)count;
                }
            }
        }
    }
}

static void kwnn__global_nd_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t C = L->units, S = L->in_count / C, b, s, ci;
    int is_max = L->kind == KWNN_LAYER_GLOBAL_MAXPOOL;
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        float *o = y + b * C;
        if (L->channels_first) { /* each channel's S values are contiguous */
            for (ci = 0; ci < C; ci++) {
                const float *xc = xb + ci * S;
                float acc = xc[0];
                for (s = 1; s < S; s++) acc = is_max ? (xc[s] > acc ? xc[s] : acc) : acc + xc[s];
                o[ci] = is_max ? acc : acc / (float)S;
            }
            continue;
        }
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

/* Permute (and Flatten channels_first): output element by element, the
   input offset stepped with the permuted strides. */
static void kwnn__permute_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t stride[KWNN_MAX_DIMS], dim[KWNN_MAX_DIMS], idx[KWNN_MAX_DIMS], s = 1, b, n, off;
    uint32_t nd = L->in_ndim, i;
    for (i = nd; i-- > 0;) {
        stride[i] = s;
        s *= L->in_shape[i];
    }
    for (i = 0; i < nd; i++) dim[i] = L->in_shape[L->perm[i]];
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        for (i = 0; i < nd; i++) idx[i] = 0;
        off = 0;
        for (n = 0; n < L->out_count; n++) {
            *y++ = xb[off];
            for (i = nd; i-- > 0;) { /* next output index, last axis fastest */
                size_t st = stride[L->perm[i]];
                if (++idx[i] < dim[i]) {
                    off += st;
                    break;
                }
                off -= (dim[i] - 1) * st;
                idx[i] = 0;
            }
        }
    }
}

static void kwnn__repeat_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t b, k, F = L->in_count;
    for (b = 0; b < batch; b++)
        for (k = 0; k < L->units; k++, y += F) memcpy(y, x + b * F, F * sizeof *y);
}

/* Runs a layer of this part; 0 if the kind is not one of them. */
static int kwnn__shape_pool_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    switch (L->kind) {
    case KWNN_LAYER_ZEROPAD: case KWNN_LAYER_CROP: kwnn__pad_crop_run(L, x, y, batch); return 1;
    case KWNN_LAYER_UPSAMPLE: kwnn__upsample_run(L, x, y, batch); return 1;
    case KWNN_LAYER_MAXPOOL2D: case KWNN_LAYER_AVGPOOL2D: kwnn__pool_nd_run(L, x, y, batch); return 1;
    case KWNN_LAYER_GLOBAL_AVGPOOL: case KWNN_LAYER_GLOBAL_MAXPOOL: kwnn__global_nd_run(L, x, y, batch); return 1;
    case KWNN_LAYER_PERMUTE: kwnn__permute_run(L, x, y, batch); return 1;
    case KWNN_LAYER_REPEAT: kwnn__repeat_run(L, x, y, batch); return 1;
    default: return 0;
    }
}

/* Operations per sample (one per output written, plus the window taps of
   pooling, clipped to the input as the loops clip them); 0: not this part's. */
static uint64_t kwnn__shape_pool_cost(const kwnn_layer *L)
{
    uint64_t out = (uint64_t)L->out_count, taps;
    kwnn__geo g;
    uint32_t i;
    switch (L->kind) {
    case KWNN_LAYER_MAXPOOL2D: case KWNN_LAYER_AVGPOOL2D:
        kwnn__geometry(L, &g);
        taps = (uint64_t)g.outer * g.inner;
        for (i = 0; i < 3; i++)
            taps = kwnn__sat_mul(taps, kwnn__sat_mul(L->win[i] < g.in[i] ? L->win[i] : g.in[i], g.out[i]));
        return kwnn__sat_add(taps, out);
    case KWNN_LAYER_GLOBAL_AVGPOOL: case KWNN_LAYER_GLOBAL_MAXPOOL: return kwnn__sat_add(L->in_count, out);
    case KWNN_LAYER_UPSAMPLE: return L->op ? kwnn__sat_mul(out, 4) : out;
    case KWNN_LAYER_ZEROPAD: case KWNN_LAYER_CROP: case KWNN_LAYER_PERMUTE: case KWNN_LAYER_REPEAT: return out;
    default: return 0;
    }
}
/* ---- normalisation, scaling, PReLU, keras.applications layers ----------- */

/* BatchNormalization (any axes), LayerNormalization, Rescaling,
   Normalization, PReLU and convnext's LayerScale.  Their parameters vary
   along some axes of the input and broadcast along the others: they stay
   compact (kwnn_layer.axes says along which per-sample axes), and the
   runners walk the input in rows, the parameters with them.  Nothing here
   depends on the input shape for its memory, so pass 1 of kwnn_load can
   measure the parameter area from the configs and tensors alone
   (kwnn__norm_measure). */

enum { /* kwnn_layer.op of KWNN_LAYER_AFFINE */
    KWNN__AFF_MUL_ADD = 0, /* x * w + b (b may be NULL): Rescaling, LayerScale, Normalization(invert) */
    KWNN__AFF_SUB_DIV      /* (x - b) / w: Normalization, as Keras computes it */
};

/* Keras's axes (an int or a list; counted with the batch, negative from the
   end) as a mask of per-sample axes (bit a - 1).  `dflt` when the key is
   absent, `if_null` when it is null. */
static kwnn_result kwnn__axes(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                              uint32_t dflt, uint32_t if_null, uint32_t *mask)
{
    kwnn__json v, el;
    kwnn__iter it;
    long a, rank = (long)c->nd + 1;
    int list;
    *mask = dflt;
    if (!kwnn__get(cfg, key, &v)) return KWNN_OK;
    *mask = if_null;
    if (kwnn__null(v)) return KWNN_OK;
    *mask = 0;
    list = kwnn__begin(v, '[', &it);
    while (list ? kwnn__next(&it, NULL, &el) : (el = v, 1)) {
        if (!kwnn__int(el, &a)) return kwnn__bad_key(c, L, key, v, "an axis or a list of axes");
        if (a < 0) a += rank;
        if (a == 0) {
            kwnn__unsupported_value(c, L, key, v);
            kwnn__m(c->net, " (the batch axis)");
            return KWNN_ERR_UNSUPPORTED;
        }
        if (a < 0 || a >= rank) {
            kwnn__bad_key(c, L, key, v, "axes of the input, of rank ");
            kwnn__m_u(c->net, (size_t)rank);
            kwnn__m(c->net, " with the batch");
            return KWNN_ERR_BAD_CONFIG;
        }
        *mask |= 1u << (a - 1);
        if (!list) break;
    }
    return KWNN_OK;
}

static uint32_t kwnn__all_axes(uint32_t nd) { return nd >= 32 ? ~0u : (1u << nd) - 1u; }

/* Sizes of the axes in `mask` (in order), and their product. */
static uint32_t kwnn__kept_dims(const kwnn__ctx *c, uint32_t mask, size_t *dims, size_t *count)
{
    uint32_t i, k = 0;
    *count = 1;
    for (i = 0; i < c->nd; i++)
        if ((mask >> i) & 1u) {
            dims[k++] = c->shape[i];
            *count *= c->shape[i]; /* at most the input's count, which fits */
        }
    return k;
}

/* Weight `name`: one value per element of the axes in `mask`, shaped as
   those sizes, or as the input's rank with 1 on the other axes (PReLU,
   tf.keras's multi-axis BatchNormalization, old Normalization); compared
   without the sizes 1.  Float32 in place when it can be. */
static kwnn_result kwnn__kept_weight(kwnn__ctx *c, const kwb_layer *L, const char *name, uint32_t mask,
                                     const float **out)
{
    size_t want[KWNN_MAX_DIMS], got[KWB_MAX_NDIM], count;
    uint32_t nw = kwnn__kept_dims(c, mask, want, &count), i, j = 0, k = 0;
    kwb_tensor t;
    int same = 1;
    if (!kwnn__find(c, L, name, &t) || t.ndim > KWB_MAX_NDIM) return kwnn__weight(c, L, name, want, nw, 0, out);
    for (i = 0; i < t.ndim && same; i++) {
        if (t.shape[i] == 1) continue;
        while (j < nw && want[j] == 1) j++;
        same = j < nw && t.shape[i] == (uint64_t)want[j];
        j++;
    }
    while (j < nw && want[j] == 1) j++;
    if (!same || j != nw) return kwnn__weight(c, L, name, want, nw, 0, out); /* its message */
    for (i = 0; i < t.ndim; i++) got[k++] = (size_t)t.shape[i]; /* each 1 or a size of the input */
    return kwnn__weight(c, L, name, got, k, 0, out);
}

/* ---- config numbers (Rescaling, Normalization given in the config) ------ */

/* Count (fill == NULL) or read the numbers of a number or a nested list. */
static int kwnn__numbers(kwnn__json v, float *fill, size_t *n, int depth)
{
    kwnn__iter it;
    kwnn__json el;
    double d;
    if (kwnn__num(v, &d)) {
        if (!(fabs(d) <= 3.4e38)) return 0;
        if (fill != NULL) fill[*n] = (float)d;
        return kwnn__add(*n, 1, n);
    }
    if (depth >= KWNN_MAX_DIMS || !kwnn__begin(v, '[', &it)) return 0;
    while (kwnn__next(&it, NULL, &el))
        if (!kwnn__numbers(el, fill, n, depth + 1)) return 0;
    return 1;
}

static size_t kwnn__count_numbers(kwnn__json cfg, const char *key)
{
    kwnn__json v;
    size_t n = 0;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v) || !kwnn__numbers(v, NULL, &n, 0)) return 0;
    return n;
}

/* Pass 1: parameter floats the loaders below ask for beyond the weights
   kwnn__weight converts (counted apart): Rescaling's scale and offset,
   Normalization's divisor and mean, each rounded as kwnn__param rounds.
   An upper bound; the loaders check (kwnn__param). */
static int kwnn__norm_measure(kwnn__ctx *c, const kwb_layer *L, size_t *total)
{
    kwnn__json cfg;
    size_t n = 0, m;
    kwb_tensor t;
    int rescaling = strcmp(L->class_name, "Rescaling") == 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if ((!rescaling && strcmp(L->class_name, "Normalization") != 0) || !kwnn__is(cfg, '{')) return 1;
    n = kwnn__count_numbers(cfg, rescaling ? "scale" : "mean");
    m = kwnn__count_numbers(cfg, rescaling ? "offset" : "variance");
    if (m > n) n = m;
    if (!rescaling && kwnn__find(c, L, "variance", &t)) {
        if (t.count > (uint64_t)(KWNN__SIZE_MAX / 8)) return 0;
        if ((size_t)t.count > n) n = (size_t)t.count;
    }
    for (m = 0; m < 2; m++) /* two blocks of n */
        if (!kwnn__add(*total, n, total) || !kwnn__add(*total, 15, total)) return 0;
    return 1;
}

/* ---- loaders ------------------------------------------------------------- */

static kwnn_result kwnn__need_rank(kwnn__ctx *c, const kwb_layer *L)
{
    return c->nd == 0 ? kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1 or more") : KWNN_OK;
}

/* BatchNormalization on any axes (Keras 1/2/3; tf.keras allowed a list),
   folded at load as Keras 3 computes it (see the manual). */
static kwnn_result kwnn__batchnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const char *use[4];
    const float *g = NULL, *be = NULL, *mean = NULL, *var = NULL;
    double eps, mode;
    int center, scale;
    uint32_t mask, last;
    size_t ch, k, dims[KWNN_MAX_DIMS];
    float *fold;
    kwnn_result r;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK) return r;
    last = 1u << (c->nd - 1);
    if ((r = kwnn__axes(c, L, cfg, "axis", last, last, &mask)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "mode", NULL, 0.0, &mode)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK)
        return r;
    if (mask == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' lists no axis");
    if (mode != 0.0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "Keras 1 BatchNormalization mode 1 and 2 are not supported (mode 0 only)");
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    kwnn__kept_dims(c, mask, dims, &ch);
    use[0] = scale ? names[0] : NULL;
    use[1] = center ? names[1] : NULL;
    use[2] = names[2];
    use[3] = names[3];
    if ((r = kwnn__only(c, L, use, 4)) != KWNN_OK ||
        (scale && (r = kwnn__kept_weight(c, L, "gamma", mask, &g)) != KWNN_OK) ||
        (center && (r = kwnn__kept_weight(c, L, "beta", mask, &be)) != KWNN_OK) ||
        (r = kwnn__kept_weight(c, L, "moving_mean", mask, &mean)) != KWNN_OK ||
        (r = kwnn__kept_weight(c, L, "moving_variance", mask, &var)) != KWNN_OK)
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
    out->axes = mask;
    return KWNN_OK;
}

static kwnn_result kwnn__load_layernorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"gamma", "beta"};
    const char *use[2];
    double eps;
    int center, scale, rms;
    uint32_t mask, m, last;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK) return r;
    last = 1u << (c->nd - 1);
    if ((r = kwnn__axes(c, L, cfg, "axis", last, last, &mask)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "rms_scaling", NULL, 0, &rms)) != KWNN_OK)
        return r;
    if (mask == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' lists no axis");
    for (m = mask; (m & 1u) == 0; m >>= 1) {}
    if ((m & (m + 1u)) != 0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported axis: normalising over axes that are not adjacent");
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    /* Keras 3: rms_scaling makes gamma (even with scale off) and no beta */
    use[0] = scale || rms ? names[0] : NULL;
    use[1] = center && !rms ? names[1] : NULL;
    if ((r = kwnn__only(c, L, use, 2)) != KWNN_OK ||
        (use[0] != NULL && (r = kwnn__kept_weight(c, L, "gamma", mask, &out->w)) != KWNN_OK) ||
        (use[1] != NULL && (r = kwnn__kept_weight(c, L, "beta", mask, &out->b)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_LAYERNORM;
    out->axes = mask;
    out->op = rms;
    out->epsilon = (float)eps;
    return KWNN_OK;
}

/* A number or a flat list of numbers (per channel, broadcast on the last axis). */
static kwnn_result kwnn__flat_numbers(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                                      size_t *n)
{
    kwnn__json v, el;
    kwnn__iter it;
    double d;
    *n = 0;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el))
            if (!kwnn__num(el, &d)) return kwnn__unsupported_value(c, L, key, v);
    }
    if (!kwnn__numbers(v, NULL, n, 0) || *n == 0) return kwnn__bad_key(c, L, key, v, "a number or a list of numbers");
    return KWNN_OK;
}

/* Fill dst[0..n) from key's numbers (a single one repeated), or with dflt. */
static void kwnn__fill_numbers(kwnn__json cfg, const char *key, float *dst, size_t n, float dflt)
{
    kwnn__json v;
    size_t got = 0, i;
    if (kwnn__get(cfg, key, &v) && !kwnn__null(v)) kwnn__numbers(v, dst, &got, 0);
    if (got == 0) dst[got++] = dflt;
    for (i = got; i < n; i++) dst[i] = dst[0];
}

/* The broadcast of n values aligned on the right of the kept axes (Keras's
   Normalization with mean / variance given; numpy's rule for Rescaling):
   the trailing kept axes whose sizes multiply to n. */
static int kwnn__trailing(const kwnn__ctx *c, uint32_t kept, size_t n, uint32_t *mask)
{
    size_t p = 1;
    uint32_t i = c->nd;
    *mask = 0;
    while (p < n && i-- > 0)
        if ((kept >> i) & 1u) {
            if (!kwnn__mul(p, c->shape[i], &p)) return 0;
            *mask |= 1u << i;
        }
    return p == n;
}

static kwnn_result kwnn__load_rescaling(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    size_t ns, no, n;
    float *p;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "scale", &ns)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "offset", &no)) != KWNN_OK)
        return r;
    if (ns == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'scale'");
    n = ns > no ? ns : no;
    if ((ns != 1 && ns != n) || (no > 1 && no != n) || !kwnn__trailing(c, 1u << (c->nd - 1), n, &out->axes)) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "scale and offset do not broadcast over its input ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    if ((r = kwnn__param(c, 2 * n, &p)) != KWNN_OK) return r; /* n <= the last dim: no overflow */
    if (c->fill) {
        kwnn__fill_numbers(cfg, "scale", p, n, 1.0f);
        kwnn__fill_numbers(cfg, "offset", p + n, n, 0.0f);
        out->w = p;
        out->b = p + n;
    }
    out->kind = KWNN_LAYER_AFFINE;
    out->op = KWNN__AFF_MUL_ADD;
    return KWNN_OK;
}

/* Normalization: (x - mean) / max(sqrt(variance), 1e-7) over the kept axes
   (`axis`), from its weights (adapted) or from its config; invert: x *
   max(sqrt(variance), 1e-7) + mean. */
static kwnn_result kwnn__load_normalization(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                            int arg)
{
    static const char *const names[] = {"mean", "variance", "count"};
    const float *mean = NULL, *var = NULL;
    size_t nm, nv, n, k, dims[KWNN_MAX_DIMS];
    uint32_t kept;
    int invert;
    float *p;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK ||
        (r = kwnn__axes(c, L, cfg, "axis", 1u << (c->nd - 1), 0, &kept)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "invert", NULL, 0, &invert)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "mean", &nm)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "variance", &nv)) != KWNN_OK)
        return r;
    if (nm != 0 || nv != 0) { /* given in the config */
        if (nm != nv || !kwnn__trailing(c, kept, nm, &out->axes)) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its config's mean and variance do not broadcast over its input ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
        n = nm;
    } else {
        out->axes = kept;
        kwnn__kept_dims(c, kept, dims, &n);
        if ((r = kwnn__only(c, L, names, 3)) != KWNN_OK ||
            (r = kwnn__kept_weight(c, L, "mean", kept, &mean)) != KWNN_OK ||
            (r = kwnn__kept_weight(c, L, "variance", kept, &var)) != KWNN_OK)
            return r;
    }
    if (!kwnn__mul(n, 2, &k)) return kwnn__oom(c);
    if ((r = kwnn__param(c, k, &p)) != KWNN_OK) return r;
    if (c->fill) {
        if (mean == NULL) {
            kwnn__fill_numbers(cfg, "variance", p, n, 1.0f);
            kwnn__fill_numbers(cfg, "mean", p + n, n, 0.0f);
        } else {
            memcpy(p, var, n * sizeof *p);
            memcpy(p + n, mean, n * sizeof *p);
        }
        for (k = 0; k < n; k++) p[k] = fmaxf(sqrtf(p[k]), 1e-7f); /* Keras: maximum(sqrt(variance), epsilon) */
        out->w = p;
        out->b = p + n;
    }
    out->kind = KWNN_LAYER_AFFINE;
    out->op = invert ? KWNN__AFF_MUL_ADD : KWNN__AFF_SUB_DIV;
    return KWNN_OK;
}

/* PReLU: x >= 0 ? x : alpha x (Keras: relu(x) - alpha relu(-x)); alpha has
   size 1 on shared_axes. */
static kwnn_result kwnn__load_prelu(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"alpha"};
    uint32_t shared;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__axes(c, L, cfg, "shared_axes", 0, 0, &shared)) != KWNN_OK)
        return r;
    out->axes = kwnn__all_axes(c->nd) & ~shared;
    if ((r = kwnn__only(c, L, names, 1)) != KWNN_OK ||
        (r = kwnn__kept_weight(c, L, "alpha", out->axes, &out->w)) != KWNN_OK)
        return r;
    out->kind = KWNN_LAYER_PRELU;
    return KWNN_OK;
}

/* keras.applications.convnext's LayerScale: x * gamma over the last axis
   (the importer names the weight "variable", Keras 3's automatic name). */
static kwnn_result kwnn__load_layer_scale(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                          int arg)
{
    static const char *const names[] = {"variable", "gamma"};
    kwb_tensor t;
    kwnn_result r;
    (void)cfg;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__only(c, L, names, 2)) != KWNN_OK) return r;
    out->axes = 1u << (c->nd - 1);
    if ((r = kwnn__kept_weight(c, L, kwnn__find(c, L, "gamma", &t) ? "gamma" : "variable", out->axes, &out->w)) !=
        KWNN_OK)
        return r;
    out->kind = KWNN_LAYER_AFFINE;
    out->op = KWNN__AFF_MUL_ADD;
    return KWNN_OK;
}

static kwnn_result kwnn__load_bn(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__batchnorm(c, L, cfg, out);
}

/* ---- runners ------------------------------------------------------------- */

/* The per-sample shape as runs of axes that all vary the parameters (kept)
   or none do, sizes 1 dropped: (2, 3, 4) kept {0, 2} -> (2, 3, 4); BN on the
   last axis of (7, 9, 3) -> (63, 3). */
static uint32_t kwnn__runs(const size_t *shape, uint32_t nd, uint32_t axes, size_t *dim, int *kept)
{
    uint32_t i, n = 0;
    for (i = 0; i < nd; i++) {
        int k = (int)((axes >> i) & 1u);
        if (shape[i] == 1) continue;
        if (n > 0 && kept[n - 1] == k) {
            dim[n - 1] *= shape[i];
        } else {
            dim[n] = shape[i];
            kept[n++] = k;
        }
    }
    if (n == 0) {
        dim[0] = 1;
        kept[n++] = 0;
    }
    return n;
}

/* One row of n inputs; the parameters at w, b, step 1 (kept) or 0. */
static void kwnn__scale_shift_inplace(float *KWNN__RESTRICT y, const float *KWNN__RESTRICT w,
                                      const float *KWNN__RESTRICT b, size_t n)
{
    size_t j;
    for (j = 0; j < n; j++) y[j] = y[j] * w[j] + b[j];
}

static void kwnn__bcast_row(const kwnn_layer *L, const float *x, float *y, size_t n, size_t p, size_t step)
{
    const float *w = L->w + p, *b = L->b != NULL ? L->b + p : NULL;
    size_t j;
    if (L->kind == KWNN_LAYER_PRELU) {
        for (j = 0; j < n; j++) y[j] = x[j] >= 0.0f ? x[j] : w[j * step] * x[j];
    } else if (L->kind == KWNN_LAYER_AFFINE && L->op == KWNN__AFF_SUB_DIV) {
        for (j = 0; j < n; j++) y[j] = (x[j] - b[j * step]) / w[j * step];
    } else if (b == NULL) {
        for (j = 0; j < n; j++) y[j] = x[j] * w[j * step];
    } else if (step == 1) {
        if (x == y) kwnn__scale_shift_inplace(y, w, b, n); /* vectorized: no overlap to fear */
        else
            for (j = 0; j < n; j++) y[j] = x[j] * w[j] + b[j];
    } else {
        float w0 = w[0], b0 = b[0];
        for (j = 0; j < n; j++) y[j] = x[j] * w0 + b0;
    }
}

/* BatchNormalization, the affine layers, PReLU: rows of the innermost run,
   an odometer over the others for the parameters' offset. */
static void kwnn__bcast_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t dim[KWNN_MAX_DIMS], ps[KWNN_MAX_DIMS], idx[KWNN_MAX_DIMS], rows, r, p = 0, stride = 1, inner;
    int kept[KWNN_MAX_DIMS];
    uint32_t n = kwnn__runs(L->in_shape, L->in_ndim, L->axes, dim, kept), d;
    for (d = n; d-- > 0;) {
        ps[d] = kept[d] ? stride : 0;
        if (kept[d]) stride *= dim[d];
        idx[d] = 0;
    }
    inner = dim[n - 1];
    rows = batch * (L->in_count / inner);
    for (r = 0; r < rows; r++) {
        kwnn__bcast_row(L, x + r * inner, y + r * inner, inner, p, ps[n - 1]);
        for (d = n - 1; d-- > 0;) { /* next row: carry; after the last, p is 0 again */
            p += ps[d];
            if (++idx[d] < dim[d]) break;
            p -= ps[d] * dim[d];
            idx[d] = 0;
        }
    }
}

/* The (outer, G, inner) view of a batch for a layer normalising over the
   adjacent axes in L->axes: G the product of those axes, inner of the axes
   after them, outer of the axes before them times the batch. */
static void kwnn__axes_view(const kwnn_layer *L, size_t batch, size_t *outer, size_t *G, size_t *inner)
{
    uint32_t i;
    *outer = batch;
    *G = *inner = 1;
    for (i = 0; i < L->in_ndim; i++) {
        if ((L->axes >> i) & 1u) *G *= L->in_shape[i];
        else if ((L->axes >> i) == 0) *inner *= L->in_shape[i];
        else *outer *= L->in_shape[i];
    }
}

/* LayerNormalization over the adjacent axes in L->axes: per group (outer,
   inner) of the (outer, G, inner) view, mean and variance (in double, then
   float32), then Keras 3's inv = rsqrt(var + eps) * gamma, y = x * inv +
   (beta - mean * inv); rms_scaling: y = x * rsqrt(var + eps) * gamma.  In
   place allowed: a group is read whole before it is written. */
static void kwnn__layernorm_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t outer, G, inner, o, j, g;
    kwnn__axes_view(L, batch, &outer, &G, &inner);
    for (o = 0; o < outer; o++)
        for (j = 0; j < inner; j++) {
            const float *xs = x + o * G * inner + j;
            float *ys = y + o * G * inner + j, mean, var, inv;
            double s = 0.0, v = 0.0, md;
            for (g = 0; g < G; g++) s += (double)xs[g * inner];
            md = s / (double)G;
            for (g = 0; g < G; g++) v += ((double)xs[g * inner] - md) * ((double)xs[g * inner] - md);
            mean = (float)md;
            var = (float)(v / (double)G);
            inv = 1.0f / sqrtf(var + L->epsilon);
            for (g = 0; g < G; g++) {
                float xv = xs[g * inner], a = L->w != NULL ? inv * L->w[g] : inv;
                if (L->op) ys[g * inner] = L->w != NULL ? xv * inv * L->w[g] : xv * inv;
                else ys[g * inner] = xv * a + (L->b != NULL ? -mean * a + L->b[g] : -mean * a);
            }
        }
}
/* ---- Embedding and recurrent layers (SimpleRNN, LSTM, GRU) --------------- */

/* The runners below use the dense kernels and activations of 80_run_layers.h. */
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n);
static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows,
                            size_t K, size_t N, const float *KWNN__RESTRICT W,
                            const float *KWNN__RESTRICT bias);
static void kwnn__act(const kwnn_activation *a, const float *x, float *y, size_t n, size_t last);

/* kwnn_layer.op of the recurrent kinds */
#define KWNN__RNN_SEQUENCES 1   /* return_sequences */
#define KWNN__RNN_BACKWARDS 2   /* go_backwards */
#define KWNN__RNN_RESET_AFTER 4 /* GRU reset_after */
#define KWNN__RNN_BIDI 8        /* Bidirectional: the backward layer's weights in bw, bw2, bb */
#define KWNN__RNN_MERGE 16      /* Bidirectional merge mode, times this: 0 concat, 1 sum, 2 mul, 3 ave */
#define KWNN__RNN_ZERO_MASKED 64 /* zero_output_for_mask (Bidirectional: return_sequences) */
#define KWNN__RNN_SPLIT 128     /* Bidirectional merge_mode None: two outputs, forward then backward */
#define KWNN__RNN_NAME 256      /* bytes of a weight name built from a prefix */

/* Embedding: input_dim, output_dim; weight embeddings (input_dim, output_dim).  The ids are
   floats (an int32 input arrives converted); each one is checked when the net runs. */
static kwnn_result kwnn__load_embedding(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                        int arg)
{
    static const char *const names[] = {"embeddings"};
    static const char *const in_keys[] = {"input_dim", NULL}, *const out_keys[] = {"output_dim", NULL};
    size_t dims[2];
    int mask_zero;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__cfg_sizes(c, L, cfg, in_keys, 1, 0, dims)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, out_keys, 1, 0, dims + 1)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "mask_zero", NULL, 0, &mask_zero)) != KWNN_OK)
        return r;
    if (dims[0] == 0 || dims[1] == 0)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config needs input_dim and output_dim");
    (void)mask_zero; /* the mask is the graph's NotEqual node, passed as mask= (48_masking.h) */
    if (c->nd + 1 > KWNN_MAX_DIMS) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "input rank too large");
    if ((r = kwnn__only(c, L, names, 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "embeddings", dims, 2, 0, &out->w)) != KWNN_OK)
        return r;
    out->kind = KWNN_LAYER_EMBEDDING;
    out->kh = dims[0];
    out->units = dims[1];
    c->shape[c->nd++] = dims[1];
    return KWNN_OK;
}

static size_t kwnn__rnn_gates(kwnn_kind k)
{
    return k == KWNN_LAYER_LSTM ? 4 : k == KWNN_LAYER_GRU ? 3 : 1;
}

/* A boolean option the C code does not run: refused by name when true. */
static kwnn_result kwnn__refuse_true(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                                     const char *why)
{
    int on;
    kwnn_result r = kwnn__cfg_bool(c, L, cfg, key, NULL, 0, &on);
    if (r != KWNN_OK || !on) return r;
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " true (");
    kwnn__m(c->net, why);
    kwnn__m(c->net, ")");
    return KWNN_ERR_UNSUPPORTED;
}

/* The name of weight `leaf` after `prefix` into name (KWNN__RNN_NAME bytes): the importer keeps a
   name's last component alone where that is unique (a Bidirectional's one "bias" when the other
   direction has none), so that one when the whole name is absent.  0: too long. */
static int kwnn__rnn_name(kwnn__ctx *c, const kwb_layer *L, const char *prefix, const char *leaf, char *name)
{
    size_t n = strlen(prefix), m = strlen(leaf);
    kwb_tensor t;
    if (n + m >= KWNN__RNN_NAME) return 0;
    memcpy(name, prefix, n);
    memcpy(name + n, leaf, m + 1);
    if (n > 0 && !kwnn__find(c, L, name, &t) && kwnn__find(c, L, leaf, &t)) memcpy(name, leaf, m + 1);
    return 1;
}

/* Weights kernel (F, G U), recurrent_kernel (U, G U), bias (G U; GRU reset_after (2, 3 U)), their
   names after `prefix` (a Bidirectional's "forward_lstm/lstm_cell/"). */
static kwnn_result kwnn__rnn_weights(kwnn__ctx *c, const kwb_layer *L, const char *prefix, size_t F, size_t U,
                                     size_t GU, int use_bias, int reset_after, const float **k, const float **rk,
                                     const float **b)
{
    static const char *const names[] = {"kernel", "recurrent_kernel", "bias"};
    char name[KWNN__RNN_NAME];
    size_t shape[2];
    int i;
    kwnn_result r;
    const float **dst[3];
    dst[0] = k;
    dst[1] = rk;
    dst[2] = b;
    *b = NULL;
    for (i = 0; i < (use_bias ? 3 : 2); i++) {
        if (!kwnn__rnn_name(c, L, prefix, names[i], name))
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "weight name too long");
        shape[0] = i == 0 ? F : i == 1 ? U : 2;
        shape[1] = GU;
        if (i < 2) r = kwnn__weight(c, L, name, shape, 2, 0, dst[i]);
        else r = kwnn__weight(c, L, name, reset_after ? shape : shape + 1, reset_after ? 2 : 1, 0, dst[i]);
        if (r != KWNN_OK) return r;
    }
    return KWNN_OK;
}

#define KWNN__RNN_CUDNN 256 /* loader arg: Keras 2's CuDNNLSTM / CuDNNGRU */

/* Floats the legacy layouts need converted at load (pass 1): a CuDNN layer's or Keras 1's
   per-gate weights, repacked into the fused kernel, recurrent kernel and bias. */
static size_t kwnn__rnn_legacy_floats(const kwb_file *f, const kwb_layer *L)
{
    kwb_tensor t;
    size_t total = 64;
    uint32_t k;
    int legacy = strncmp(L->class_name, "CuDNN", 5) == 0;
    for (k = 0; k < L->tensor_count; k++)
        if (kwb_get_tensor(f, L->first_tensor + k, &t) == KWB_OK && strcmp(t.weight, "W_i") == 0) legacy = 1;
    for (k = 0; k < L->tensor_count; k++)
        if (kwb_get_tensor(f, L->first_tensor + k, &t) == KWB_OK && strcmp(t.weight, "W_z") == 0) legacy = 1;
    if (!legacy || strncmp(L->class_name, "Bidirectional", 13) == 0) return 0;
    for (k = 0; k < L->tensor_count; k++)
        if (kwb_get_tensor(f, L->first_tensor + k, &t) == KWB_OK && t.count <= (uint64_t)(KWNN__SIZE_MAX / 8))
            total += (size_t)t.count;
    return total;
}

/* Keras 1's per-gate weights (W_i, U_i, b_i, ... for an LSTM's gates i, f, c, o; W_z, ... for a
   GRU's z, r, h) packed into Keras 2's fused kernel (F, G U), recurrent kernel (U, G U), bias (G U). */
static kwnn_result kwnn__rnn_keras1(kwnn__ctx *c, const kwb_layer *L, size_t F, size_t U, size_t G, int use_bias,
                                    const float **k, const float **rk, const float **b)
{
    static const char *const lstm[] = {"i", "f", "c", "o"}, *const gru[] = {"z", "r", "h"};
    static const char *const kinds = "WUb";
    const char *const *gates = G == 4 ? lstm : gru;
    float *dst[3];
    size_t rows[3], g, i, j, GU = G * U;
    kwnn_result r;
    int m;
    char names[12][4];
    const char *list[12];
    rows[0] = F;
    rows[1] = U;
    rows[2] = 1;
    dst[2] = NULL;
    for (m = 0; m < (use_bias ? 3 : 2); m++) /* the sizes are the weights' (checked below): no overflow */
        if ((r = kwnn__param(c, rows[m] * GU, &dst[m])) != KWNN_OK) return r;
    for (g = 0; g < G; g++)
        for (m = 0; m < 3; m++) {
            const float *src;
            size_t shape[2];
            names[g * 3 + (size_t)m][0] = kinds[m];
            names[g * 3 + (size_t)m][1] = '_';
            names[g * 3 + (size_t)m][2] = gates[g][0];
            names[g * 3 + (size_t)m][3] = '\0';
            list[g * 3 + (size_t)m] = (m == 2 && !use_bias) ? NULL : names[g * 3 + (size_t)m];
            if (m == 2 && !use_bias) continue;
            shape[0] = m == 2 ? U : rows[m];
            shape[1] = U;
            if ((r = kwnn__weight(c, L, names[g * 3 + (size_t)m], shape, m == 2 ? 1 : 2, 0, &src)) != KWNN_OK) return r;
            if (c->fill)
                for (i = 0; i < rows[m]; i++)
                    for (j = 0; j < U; j++) dst[m][i * GU + g * U + j] = src[i * U + j];
        }
    if ((r = kwnn__only(c, L, list, (int)(3 * G))) != KWNN_OK) return r;
    *k = dst[0];
    *rk = dst[1];
    *b = use_bias ? dst[2] : NULL;
    return KWNN_OK;
}

/* Keras 2's CuDNNLSTM / CuDNNGRU weights as the plain layer's, by Keras's own conversion
   (tf_keras saving/hdf5_format.py _convert_rnn_weights): each gate's input block k (F, U) becomes
   k.T reshaped to (F, U) in Fortran order, each recurrent block is transposed; the LSTM's bias
   (8 U: input then recurrent) is their sum, the GRU's (6 U) is reset_after's (2, 3 U). */
static kwnn_result kwnn__rnn_cudnn(kwnn__ctx *c, const kwb_layer *L, size_t F, size_t U, size_t G, const float **k,
                                   const float **rk, const float **b)
{
    static const char *const names[] = {"kernel", "recurrent_kernel", "bias"};
    const float *src[3];
    float *dst[3];
    size_t shape[2], GU = G * U, g, i, j;
    kwnn_result r;
    shape[0] = F;
    shape[1] = GU;
    if ((r = kwnn__only(c, L, names, 3)) != KWNN_OK || (r = kwnn__weight(c, L, "kernel", shape, 2, 0, &src[0])) != KWNN_OK)
        return r;
    shape[0] = U;
    if ((r = kwnn__weight(c, L, "recurrent_kernel", shape, 2, 0, &src[1])) != KWNN_OK) return r;
    shape[0] = 2 * GU;
    if ((r = kwnn__weight(c, L, "bias", shape, 1, 0, &src[2])) != KWNN_OK) return r;
    if ((r = kwnn__param(c, F * GU, &dst[0])) != KWNN_OK || (r = kwnn__param(c, U * GU, &dst[1])) != KWNN_OK ||
        (G == 4 && (r = kwnn__param(c, GU, &dst[2])) != KWNN_OK))
        return r;
    if (c->fill) {
        for (g = 0; g < G; g++)
            for (i = 0; i < F; i++)
                for (j = 0; j < U; j++) { /* out[i][j] = k.T in F order at p = i + j F: k[p / U][p % U] */
                    size_t p = i + j * F;
                    dst[0][i * GU + g * U + j] = src[0][(p / U) * GU + g * U + p % U];
                }
        for (g = 0; g < G; g++)
            for (i = 0; i < U; i++)
                for (j = 0; j < U; j++) dst[1][i * GU + g * U + j] = src[1][j * GU + g * U + i];
        for (i = 0; G == 4 && i < GU; i++) dst[2][i] = src[2][i] + src[2][GU + i];
    }
    *k = dst[0];
    *rk = dst[1];
    *b = G == 4 ? dst[2] : src[2];
    return KWNN_OK;
}

/* SimpleRNN (arg 1), LSTM (4 gates: i, f, c, o), GRU (3: z, r, h) from its config.  Input (T, F).
   prefix: NULL for the layer itself (its weights checked), else a Bidirectional's forward prefix. */
static kwnn_result kwnn__rnn_setup(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg,
                                   const char *prefix)
{
    static const char *const unit_keys[] = {"units", "output_dim", NULL};
    static const char *const names[] = {"kernel", "recurrent_kernel", "bias"};
    int cudnn = (arg & KWNN__RNN_CUDNN) != 0, keras1;
    kwnn_kind kind = (arg & 255) == 4 ? KWNN_LAYER_LSTM : (arg & 255) == 3 ? KWNN_LAYER_GRU : KWNN_LAYER_SIMPLE_RNN;
    size_t U, T, F, G = kwnn__rnn_gates(kind), GU, per_step, work;
    int use_bias, seq, back, states, reset_after = 0, zero_masked;
    kwnn__json v;
    kwb_tensor t;
    kwnn_result r;
    /* Keras 1: per-gate W_i, U_i, b_i, ...; a SimpleRNN's W, U, b (packed as kernel, U, bias) */
    keras1 = kwnn__find(c, L, "W_i", &t) || kwnn__find(c, L, "W_z", &t) || kwnn__find(c, L, "U", &t);
    if (keras1 && (prefix != NULL || (kind == KWNN_LAYER_SIMPLE_RNN) != kwnn__find(c, L, "U", &t)))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported Keras 1 weights in a Bidirectional, or not the layer's own (W_i, U_i, ...)");
    if ((r = kwnn__cfg_sizes(c, L, cfg, unit_keys, 1, 0, &U)) != KWNN_OK) return r;
    if (U == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'units'");
    if ((r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &use_bias)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "return_sequences", NULL, 0, &seq)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "go_backwards", NULL, 0, &back)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "zero_output_for_mask", NULL, 0, &zero_masked)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "return_state", NULL, 0, &states)) != KWNN_OK ||
        (r = kwnn__refuse_true(c, L, cfg, "stateful", "state kept between runs")) != KWNN_OK ||
        (r = kwnn__refuse_true(c, L, cfg, "time_major", "time before batch")) != KWNN_OK)
        return r;
    /* GRU: Keras 3 and tf.keras 2 write reset_after (default true); Keras 1 has none (false) */
    if (kind == KWNN_LAYER_GRU &&
        (r = kwnn__cfg_bool(c, L, cfg, "reset_after", NULL, c->legacy ? 0 : 1, &reset_after)) != KWNN_OK)
        return r;
    if (cudnn) { /* cuDNN's fixed form: tanh, sigmoid; its GRU resets after */
        reset_after = kind == KWNN_LAYER_GRU;
        use_bias = 1;
    }
    kwnn__act_init(&out->act, KWNN_ACT_TANH, 0.0f);
    kwnn__act_init(&out->rec_act, c->legacy && !cudnn ? KWNN_ACT_HARD_SIGMOID_K2 : KWNN_ACT_SIGMOID, 0.0f);
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK) return r;
    if (kind != KWNN_LAYER_SIMPLE_RNN && kwnn__get(cfg, "recurrent_activation", &v) &&
        (r = kwnn__activation(c, L, v, &out->rec_act)) != KWNN_OK)
        return r;
    if (kind != KWNN_LAYER_SIMPLE_RNN && kwnn__get(cfg, "inner_activation", &v) && /* Keras 1 */
        (r = kwnn__activation(c, L, v, &out->rec_act)) != KWNN_OK)
        return r;
    if (c->nd != 2) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of shape (time steps, features), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    T = c->shape[0];
    F = c->shape[1];
    if (U > KWNN__DIM_LIMIT / 4 || !kwnn__mul(G, U, &GU))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "too many units");
    if (cudnn) {
        r = kwnn__rnn_cudnn(c, L, F, U, G, &out->w, &out->w2, &out->b);
    } else if (keras1 && kind != KWNN_LAYER_SIMPLE_RNN) {
        r = kwnn__rnn_keras1(c, L, F, U, G, use_bias, &out->w, &out->w2, &out->b);
    } else if (keras1) { /* Keras 1 SimpleRNN: U is the recurrent kernel (W, b packed as kernel, bias) */
        static const char *const k1[] = {"kernel", "U", "bias"};
        size_t shape[2];
        shape[0] = F;
        shape[1] = U;
        if ((r = kwnn__only(c, L, k1, use_bias ? 3 : 2)) == KWNN_OK) r = kwnn__weight(c, L, "kernel", shape, 2, 0, &out->w);
        shape[0] = U;
        if (r == KWNN_OK) r = kwnn__weight(c, L, "U", shape, 2, 0, &out->w2);
        out->b = NULL;
        if (r == KWNN_OK && use_bias) r = kwnn__weight(c, L, "bias", shape + 1, 1, 0, &out->b);
    } else {
        if (prefix == NULL && (r = kwnn__only(c, L, names, use_bias ? 3 : 2)) != KWNN_OK) return r;
        r = kwnn__rnn_weights(c, L, prefix ? prefix : "", F, U, GU, use_bias, reset_after, &out->w, &out->w2, &out->b);
    }
    if (r != KWNN_OK) return r;
    /* work per sample: x @ kernel for every step (T G U), h @ recurrent_kernel (G U), h, c, two temps */
    if (!kwnn__mul(T, GU, &per_step) || !kwnn__add(per_step, GU, &work) || !kwnn__add(work, 4 * U, &work))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->kind = kind;
    out->units = U;
    out->op = (seq ? KWNN__RNN_SEQUENCES : 0) | (back ? KWNN__RNN_BACKWARDS : 0) |
              (reset_after ? KWNN__RNN_RESET_AFTER : 0) | (zero_masked ? KWNN__RNN_ZERO_MASKED : 0);
    out->work = work;
    out->groups = states ? (kind == KWNN_LAYER_LSTM ? 2 : 1) : 0;
    if (seq) {
        c->shape[1] = U;
    } else {
        c->shape[0] = U;
        c->nd = 1;
    }
    return KWNN_OK;
}

/* The states of one direction: LSTM h and c, GRU and SimpleRNN h. */
static uint32_t kwnn__rnn_dir_states(kwnn_kind k) { return k == KWNN_LAYER_LSTM ? 2u : 1u; }

/* The state tensors a call of a recurrent layer takes (initial_state) or gives (return_state):
   the forward direction's, then a Bidirectional's backward layer's (its own kind). */
static uint32_t kwnn__rnn_state_count(const kwnn_layer *L)
{
    return kwnn__rnn_dir_states(L->kind) + ((L->op & KWNN__RNN_BIDI) ? kwnn__rnn_dir_states(L->back_kind) : 0u);
}

/* The units of state i (kwnn__rnn_state_count's order). */
static size_t kwnn__rnn_state_units(const kwnn_layer *L, uint32_t i)
{
    return i < kwnn__rnn_dir_states(L->kind) ? L->units : L->back_units;
}

/* Floats of all the states (units are at most KWNN__DIM_LIMIT / 4: no overflow). */
static size_t kwnn__rnn_state_floats(const kwnn_layer *L)
{
    size_t n = 0;
    uint32_t i;
    for (i = 0; i < kwnn__rnn_state_count(L); i++) n += kwnn__rnn_state_units(L, i);
    return n;
}

/* The inputs after the first: none, or every initial state, each of shape (units,). */
static kwnn_result kwnn__rnn_initial(kwnn__ctx *c, const kwb_layer *L, const kwnn_layer *out)
{
    uint32_t need = kwnn__rnn_state_count(out), i;
    if (c->n_ins != 1 && c->n_ins != 1 + need) return kwnn__arity(c, L, 1, 1 + need);
    if (c->n_ins > 1 && (out->op & KWNN__RNN_BIDI) && kwnn__rnn_dir_states(out->kind) != kwnn__rnn_dir_states(out->back_kind))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported initial_state for directions of different state counts (Keras splits "
                          "the states in halves)");
    for (i = 1; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        size_t units = kwnn__rnn_state_units(out, i - 1);
        if (x->nd != 1 || x->shape[0] != units) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its initial state ");
            kwnn__m_u(c->net, i - 1);
            kwnn__m(c->net, " has shape ");
            kwnn__m_shape(c->net, x->shape, x->nd);
            kwnn__m(c->net, ", expected (");
            kwnn__m_u(c->net, units);
            kwnn__m(c->net, ",)");
            return KWNN_ERR_SHAPE;
        }
    }
    return KWNN_OK;
}

/* With return_state (groups: states per direction) the call's value is, per sample, its output
   (kw floats) then the states (units each): one flat axis the PART nodes copy out of. */
static kwnn_result kwnn__rnn_outputs(kwnn__ctx *c, const kwb_layer *L, kwnn_layer *out)
{
    size_t output, total;
    if ((out->kind != KWNN_LAYER_SIMPLE_RNN && out->kind != KWNN_LAYER_LSTM && out->kind != KWNN_LAYER_GRU) ||
        (out->groups == 0 && !(out->op & KWNN__RNN_SPLIT)))
        return KWNN_OK;
    /* merge_mode None: c->shape's last axis is the two directions' units end to end */
    if (!kwnn__prod(c->shape, c->nd, &output) ||
        !kwnn__add(out->groups ? kwnn__rnn_state_floats(out) : 0, output, &total))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its outputs do not fit in a size_t");
    out->kw = output;
    c->shape[0] = total;
    c->nd = 1;
    return KWNN_OK;
}

/* Output `part` of a recurrent call with return_state: its shape and its offset in the call's value. */
static void kwnn__rnn_part(const kwnn_layer *L, uint32_t part, size_t *shape, uint32_t *nd, size_t *offset)
{
    int bidi = (L->op & KWNN__RNN_BIDI) != 0, split = (L->op & KWNN__RNN_SPLIT) != 0;
    size_t U = L->units, Ub = bidi ? L->back_units : 0, Um = U, steps = (L->op & KWNN__RNN_SEQUENCES) ? L->in_shape[0] : 1;
    uint32_t mains = split ? 2 : 1, i; /* merge_mode None: forward, backward */
    memset(shape, 0, KWNN_MAX_DIMS * sizeof *shape);
    if (bidi && !split && ((L->op / KWNN__RNN_MERGE) & 3) == 0) Um = U + Ub; /* concat */
    if (split && part == 1) Um = Ub;
    *offset = part == 1 && split ? steps * U : 0;
    *nd = 1;
    shape[0] = Um;
    if (part >= mains) {
        *offset = L->kw;
        for (i = 0; i < part - mains; i++) *offset += kwnn__rnn_state_units(L, i);
        shape[0] = kwnn__rnn_state_units(L, part - mains);
    } else if (L->op & KWNN__RNN_SEQUENCES) {
        shape[0] = L->in_shape[0];
        shape[1] = Um;
        *nd = 2;
    }
}

static kwnn_result kwnn__load_rnn(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    kwnn_result r = kwnn__rnn_setup(c, L, cfg, out, arg, NULL);
    if (r == KWNN_OK) r = kwnn__rnn_initial(c, L, out);
    if (r == KWNN_OK) r = kwnn__rnn_outputs(c, L, out);
    return r;
}

/* The wrapped layer of Bidirectional / TimeDistributed: its class and config. */
static kwnn_result kwnn__wrapped(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn__json *cls,
                                 kwnn__json *inner)
{
    kwnn__json v;
    if (!kwnn__get(cfg, "layer", &v) || !kwnn__is(v, '{') || !kwnn__get(v, "class_name", cls) ||
        !kwnn__is(*cls, '"') || !kwnn__get(v, "config", inner) || !kwnn__is(*inner, '{'))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no wrapped 'layer' with a class_name and config");
    return KWNN_OK;
}

/* The prefix (up to "kernel") of the two directions' kernels: the forward one's first path component
   is the wrapped layer's name; the other is the backward layer's. */
static kwnn_result kwnn__bidi_prefixes(kwnn__ctx *c, const kwb_layer *L, kwnn__json inner, char *fw, char *bw)
{
    kwnn__json name;
    uint32_t i, found = 0;
    int have_name = kwnn__get(inner, "name", &name) && kwnn__is(name, '"');
    fw[0] = bw[0] = '\0';
    for (i = 0; i < L->tensor_count; i++) {
        kwb_tensor t;
        size_t n, first;
        const char *slash;
        if (kwb_get_tensor(c->f, L->first_tensor + i, &t) != KWB_OK) continue;
        n = strlen(t.weight);
        if (n < 7 || strcmp(t.weight + n - 7, "/kernel") != 0) continue;
        if (n - 6 >= KWNN__RNN_NAME) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "weight name too long");
        slash = strchr(t.weight, '/');
        first = (size_t)(slash - t.weight);
        found++;
        /* tf.keras names them forward_<name>/..., backward_<name>/...; Keras 3 <name>/... and the other */
        if (fw[0] == '\0' && strncmp(t.weight, "backward_", 9) != 0 &&
            (!have_name || kwnn__jstr_eq(name, t.weight, first) || strncmp(t.weight, "forward_", 8) == 0)) {
            memcpy(fw, t.weight, n - 6);
            fw[n - 6] = '\0';
        } else {
            memcpy(bw, t.weight, n - 6);
            bw[n - 6] = '\0';
        }
    }
    if (found != 2 || fw[0] == '\0' || bw[0] == '\0')
        return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L,
                          "needs two weights '<layer>/.../kernel', the forward and the backward layer's");
    return KWNN_OK;
}

/* The loader arg of a recurrent class (0: not one). */
static int kwnn__rnn_class_arg(kwnn__json cls)
{
    return kwnn__jstr_is(cls, "LSTM") ? 4 : kwnn__jstr_is(cls, "GRU") ? 3 : kwnn__jstr_is(cls, "SimpleRNN") ? 1 : 0;
}

/* A Bidirectional's backward_layer (v), a recurrent layer of its own class, units, options and
   activations, loaded for input (T, F) with the weights under prefix bw into *back.  Keras
   requires the same return_sequences and return_state as the forward layer's, and the other
   go_backwards. */
static kwnn_result kwnn__backward_layer(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, const char *bw, size_t T,
                                        size_t F, const kwnn_layer *out, kwnn_layer *back)
{
    kwnn__json bcls, bcfg;
    uint32_t nd = c->nd;
    size_t shape[KWNN_MAX_DIMS];
    int kind_arg;
    kwnn_result r;
    if (!kwnn__is(v, '{') || !kwnn__get(v, "class_name", &bcls) || !kwnn__is(bcls, '"') ||
        !kwnn__get(v, "config", &bcfg) || !kwnn__is(bcfg, '{'))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "backward_layer has no class_name and config");
    if ((kind_arg = kwnn__rnn_class_arg(bcls)) == 0) return kwnn__unsupported_value(c, L, "backward_layer class", bcls);
    memcpy(shape, c->shape, sizeof shape);
    c->nd = 2;
    c->shape[0] = T;
    c->shape[1] = F;
    memset(back, 0, sizeof *back);
    r = kwnn__rnn_setup(c, L, bcfg, back, kind_arg, bw);
    c->nd = nd;
    memcpy(c->shape, shape, sizeof shape);
    if (r != KWNN_OK) return r;
    if (((back->op ^ out->op) & KWNN__RNN_SEQUENCES) || (back->groups > 0) != (out->groups > 0))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L,
                          "backward_layer and the forward layer differ in return_sequences or return_state "
                          "(Keras requires them equal)");
    if (!((back->op ^ out->op) & KWNN__RNN_BACKWARDS))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L,
                          "backward_layer has the forward layer's go_backwards (Keras requires the other)");
    return KWNN_OK;
}

/* Bidirectional(SimpleRNN | LSTM | GRU): the backward layer (backward_layer, of any of these
   classes and options; else the forward layer's copy) runs with the other go_backwards; merge_mode
   concat (the two widths end to end), sum, mul, ave (equal units), None (two outputs). */
static kwnn_result kwnn__load_bidirectional(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                           int arg)
{
    static const char *const modes[] = {"concat", "sum", "mul", "ave"};
    kwnn__json cls, inner, v;
    char fw[KWNN__RNN_NAME], bw[KWNN__RNN_NAME], names[6][KWNN__RNN_NAME];
    const char *list[6];
    kwnn_layer back;
    int kind_arg, mode = 0;
    size_t i, work, extra, U, Ub, T = c->shape[0], F = c->nd == 2 ? c->shape[1] : 0;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__wrapped(c, L, cfg, &cls, &inner)) != KWNN_OK) return r;
    if ((kind_arg = kwnn__rnn_class_arg(cls)) == 0) return kwnn__unsupported_value(c, L, "wrapped layer class", cls);
    if (kwnn__get(cfg, "merge_mode", &v) && !kwnn__null(v) && kwnn__is(v, '"')) {
        for (mode = 0; mode < 4; mode++)
            if (kwnn__jstr_is(v, modes[mode])) break;
        if (mode == 4) return kwnn__unsupported_value(c, L, "merge_mode", v);
    } else if (kwnn__get(cfg, "merge_mode", &v)) { /* None: the two directions' outputs, not merged */
        mode = -1;
    }
    if ((r = kwnn__bidi_prefixes(c, L, inner, fw, bw)) != KWNN_OK) return r;
    if ((r = kwnn__rnn_setup(c, L, inner, out, kind_arg, fw)) != KWNN_OK) return r;
    U = out->units;
    if (kwnn__get(cfg, "backward_layer", &v) && !kwnn__null(v)) { /* Keras 3 always writes it */
        if ((r = kwnn__backward_layer(c, L, v, bw, T, F, out, &back)) != KWNN_OK) return r;
    } else { /* the forward layer's copy with the other go_backwards */
        back = *out;
        back.op ^= KWNN__RNN_BACKWARDS;
        if ((r = kwnn__rnn_weights(c, L, bw, F, U, kwnn__rnn_gates(out->kind) * U, out->b != NULL,
                                   (out->op & KWNN__RNN_RESET_AFTER) != 0, &back.w, &back.w2, &back.b)) != KWNN_OK)
            return r;
    }
    Ub = back.units;
    for (i = 0; i < 6; i++) {
        static const char *const leaf[] = {"kernel", "recurrent_kernel", "bias"};
        if (!kwnn__rnn_name(c, L, i < 3 ? fw : bw, leaf[i % 3], names[i]))
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "weight name too long");
        list[i] = (i % 3 == 2 && (i < 3 ? out->b : back.b) == NULL) ? NULL : names[i];
    }
    if ((r = kwnn__only(c, L, list, 6)) != KWNN_OK) return r;
    if (mode > 0 && Ub != U) {
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported merge_mode ");
        kwnn__m(c->net, modes[mode]);
        kwnn__m(c->net, " of directions of different units (the forward's ");
        kwnn__m_u(c->net, U);
        kwnn__m(c->net, ", the backward's ");
        kwnn__m_u(c->net, Ub);
        kwnn__m(c->net, ")");
        return KWNN_ERR_UNSUPPORTED;
    }
    /* each direction's output (T or 1 steps of its units per sample) before the merge; then the
       larger of the two directions' work areas (they run one after the other) */
    if (!kwnn__add(U, Ub, &extra) || !kwnn__mul((out->op & KWNN__RNN_SEQUENCES) ? T : 1, extra, &extra) ||
        !kwnn__add(out->work > back.work ? out->work : back.work, extra, &work))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->work = work;
    /* Keras's Bidirectional sets both layers' zero_output_for_mask to return_sequences */
    out->op &= ~KWNN__RNN_ZERO_MASKED;
    back.op &= ~KWNN__RNN_ZERO_MASKED;
    if (out->op & KWNN__RNN_SEQUENCES) {
        out->op |= KWNN__RNN_ZERO_MASKED;
        back.op |= KWNN__RNN_ZERO_MASKED;
    }
    out->op |= KWNN__RNN_BIDI | (mode < 0 ? KWNN__RNN_SPLIT : mode * KWNN__RNN_MERGE);
    out->back_kind = back.kind;
    out->back_units = Ub;
    out->back_op = back.op;
    out->back_act = back.act;
    out->back_rec_act = back.rec_act;
    out->bw = back.w;
    out->bw2 = back.w2;
    out->bb = back.b;
    if (mode <= 0) c->shape[c->nd - 1] = U + Ub; /* concat; None: both outputs end to end */
    if ((r = kwnn__rnn_initial(c, L, out)) != KWNN_OK) return r;
    return kwnn__rnn_outputs(c, L, out);
}

/* The wrapped model of a TimeDistributed's config tdcfg (its layers are the wrapper's children in
   the layer table, 60_graph.h runs them with the steps as the batch): its config, Sequential? */
static int kwnn__td_model_cfg(kwnn__json tdcfg, kwnn__json *mcfg, int *seq)
{
    kwnn__json v, cls;
    if (!kwnn__get(tdcfg, "layer", &v) || !kwnn__is(v, '{') || !kwnn__get(v, "class_name", &cls) ||
        !kwnn__get(v, "config", mcfg))
        return 0;
    *seq = kwnn__jstr_is(cls, "Sequential");
    return *seq || kwnn__jstr_is(cls, "Functional") || kwnn__jstr_is(cls, "Model");
}

/* Is row L a TimeDistributed around a model?  Its model's config and kind as kwnn__td_model_cfg. */
static int kwnn__td_model(const kwb_layer *L, kwnn__json *mcfg, int *seq)
{
    kwnn__json cfg;
    if (strcmp(L->class_name, "TimeDistributed") != 0 || L->config_length == 0) return 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    return kwnn__td_model_cfg(cfg, mcfg, seq);
}

/* Load layer L as class `cls` with config cfg (50_registry.h). */
static kwnn_result kwnn__layer_as(kwnn__ctx *c, const kwb_layer *L, const char *cls, kwnn__json cfg, kwnn_layer *out);

/* TimeDistributed(layer): the wrapped layer loaded for one step's shape (the input without its
   first axis) runs on the batch's steps as its batch (td: the steps); its weights are the
   wrapper's.  A wrapped model is a graph of its own (60_graph.h; reaching here, it was packed
   without its layers); a wrapper or a layer of several inputs is refused. */
static kwnn_result kwnn__load_time_distributed(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                               int arg)
{
    static const char *const refused[] = {"Sequential", "Functional", "Model", "TimeDistributed", "Bidirectional",
                                          NULL};
    kwnn__json cls, inner;
    char name[64];
    size_t T, n, work;
    uint32_t i;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__wrapped(c, L, cfg, &cls, &inner)) != KWNN_OK) return r;
    if (c->nd < 2) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input with a time axis");
    n = (size_t)(cls.e - cls.p) - 2;
    if (n >= sizeof name || memchr(cls.p + 1, '\\', n) != NULL)
        return kwnn__unsupported_value(c, L, "wrapped layer class", cls);
    memcpy(name, cls.p + 1, n);
    name[n] = '\0';
    for (i = 0; refused[i] != NULL; i++)
        if (strcmp(name, refused[i]) == 0) return kwnn__unsupported_value(c, L, "wrapped layer class", cls);
    T = c->shape[0];
    for (i = 0; i + 1 < c->nd; i++) c->shape[i] = c->shape[i + 1];
    c->nd--;
    if ((r = kwnn__layer_as(c, L, name, inner, out)) != KWNN_OK) return r;
    if (c->nd + 1 > KWNN_MAX_DIMS) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "output rank too large");
    if (out->groups > 0 && (out->kind == KWNN_LAYER_LSTM || out->kind == KWNN_LAYER_GRU ||
                            out->kind == KWNN_LAYER_SIMPLE_RNN))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported return_state in a TimeDistributed");
    if (!kwnn__mul(out->work, T, &work))
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->work = work;
    out->td = T;
    for (i = c->nd; i > 0; i--) c->shape[i] = c->shape[i - 1];
    c->shape[0] = T;
    c->nd++;
    return KWNN_OK;
}

/* Operations per sample of one direction: per step, x @ kernel, h @ recurrent_kernel, the gates'
   elementwise work. */
static uint64_t kwnn__rnn_dir_cost(kwnn_kind kind, uint64_t T, uint64_t F, uint64_t U)
{
    uint64_t GU = kwnn__sat_mul(kwnn__rnn_gates(kind), U), step;
    step = kwnn__sat_add(kwnn__sat_mul(F, GU), kwnn__sat_mul(U, GU));
    step = kwnn__sat_add(step, kwnn__sat_add(kwnn__sat_mul(GU, 2), kwnn__sat_mul(U, 4)));
    return kwnn__sat_mul(T, step);
}

/* Operations per sample (a Bidirectional: both directions, and the merge). */
static uint64_t kwnn__recurrent_cost(const kwnn_layer *L)
{
    uint64_t T, F, fw;
    if (L->kind == KWNN_LAYER_EMBEDDING) return (uint64_t)L->out_count;
    T = (uint64_t)L->in_shape[0];
    F = (uint64_t)L->in_shape[1];
    fw = kwnn__rnn_dir_cost(L->kind, T, F, (uint64_t)L->units);
    if (!(L->op & KWNN__RNN_BIDI)) return fw;
    return kwnn__sat_add(kwnn__sat_add(fw, kwnn__rnn_dir_cost(L->back_kind, T, F, (uint64_t)L->back_units)),
                         (uint64_t)L->out_count);
}

static kwnn_result kwnn__embedding_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t n = L->in_count * batch, D = L->units, i;
    for (i = 0; i < n; i++) {
        float v = x[i];
        size_t id;
        /* NaN fails every comparison; the bound keeps the cast defined */
        if (!(v >= 0.0f && v < 1.0e9f) || v != floorf(v)) return KWNN_ERR_INPUT_VALUE;
        id = (size_t)v;
        if (id >= L->kh) return KWNN_ERR_INPUT_VALUE;
        memcpy(y + i * D, L->w + id * D, D * sizeof *y);
    }
    return KWNN_OK;
}

/* y (rows, N) = x (rows, K) @ W, W's rows ldw floats apart: sums in k order. */
static void kwnn__rnn_mm(const float *x, size_t rows, size_t K, const float *W, size_t ldw, size_t N, float *y)
{
    kwnn__gemm(NULL, rows, N, K, x, K, W, ldw, NULL, y, N); /* 13_gemm.h */
}

/* One step of one sample: xz = x_t @ kernel (G U), rz = h @ recurrent_kernel (G U; GRU without
   reset_after: 2 U), h and c updated in place; t1, t2: U floats each. */
static void kwnn__rnn_step(const kwnn_layer *L, float *xz, float *rz, float *h, float *cs, float *t1, float *t2)
{
    size_t U = L->units, G = kwnn__rnn_gates(L->kind), j;
    const float *b = L->b;
    if (L->kind == KWNN_LAYER_SIMPLE_RNN) { /* act((x @ K + b) + h @ R) */
        for (j = 0; j < U; j++) rz[j] = (b != NULL ? xz[j] + b[j] : xz[j]) + rz[j];
        kwnn__act(&L->act, rz, h, U, U);
    } else if (L->kind == KWNN_LAYER_LSTM) { /* z = (x @ K + h @ R) + b; gates i, f, c, o */
        for (j = 0; j < G * U; j++) rz[j] = b != NULL ? (xz[j] + rz[j]) + b[j] : xz[j] + rz[j];
        kwnn__act(&L->rec_act, rz, rz, U, U);
        kwnn__act(&L->rec_act, rz + U, rz + U, U, U);
        kwnn__act(&L->act, rz + 2 * U, rz + 2 * U, U, U);
        kwnn__act(&L->rec_act, rz + 3 * U, rz + 3 * U, U, U);
        for (j = 0; j < U; j++) cs[j] = rz[U + j] * cs[j] + rz[j] * rz[2 * U + j];
        kwnn__act(&L->act, cs, t1, U, U);
        for (j = 0; j < U; j++) h[j] = rz[3 * U + j] * t1[j];
    } else { /* GRU: gates z, r, candidate h; h = z h + (1 - z) hh */
        int after = (L->op & KWNN__RNN_RESET_AFTER) != 0;
        if (b != NULL)
            for (j = 0; j < G * U; j++) xz[j] += b[j]; /* the input bias */
        if (after && b != NULL)
            for (j = 0; j < G * U; j++) rz[j] += b[G * U + j]; /* the recurrent bias */
        for (j = 0; j < 2 * U; j++) rz[j] = xz[j] + rz[j];
        kwnn__act(&L->rec_act, rz, rz, U, U);
        kwnn__act(&L->rec_act, rz + U, rz + U, U, U);
        if (after) {
            for (j = 0; j < U; j++) t2[j] = xz[2 * U + j] + rz[U + j] * rz[2 * U + j];
        } else { /* (r h) @ R[:, 2U:] */
            for (j = 0; j < U; j++) t1[j] = rz[U + j] * h[j];
            kwnn__rnn_mm(t1, 1, U, L->w2 + 2 * U, G * U, U, t2);
            for (j = 0; j < U; j++) t2[j] = xz[2 * U + j] + t2[j];
        }
        kwnn__act(&L->act, t2, t2, U, U);
        for (j = 0; j < U; j++) h[j] = rz[j] * h[j] + (1.0f - rz[j]) * t2[j];
    }
}

/* Is step i (sample b, time t: b * T + t) masked?  mask: L->mult values per step (0: one), all
   0 when masked (an implicit mask's source features, 61_implicit_masks.h). */
static int kwnn__mask_off(const kwnn_layer *L, const float *mask, size_t i)
{
    size_t n = L->mult > 0 ? L->mult : 1, k;
    for (k = 0; k < n; k++)
        if (mask[i * n + k] != 0.0f) return 0;
    return 1;
}

/* The recurrent kinds: state starts at zero, or from init (h, then c for LSTM: batch x units
   each); work holds L->work floats per sample; sample b's output at y + b * ystride.  mask (T per
   sample, 0: masked; NULL: none): at a masked step the state carries over and the output is the
   state (zero_output_for_mask: 0), as Keras 3's rnn does. */
static void kwnn__rnn_run(const kwnn_layer *L, const float *x, const float *mask, float *y, size_t ystride,
                          const float *const *init, float *work, size_t batch)
{
    size_t T = L->in_shape[0], F = L->in_shape[1], U = L->units, GU = kwnn__rnn_gates(L->kind) * U;
    size_t N = (L->kind == KWNN_LAYER_GRU && !(L->op & KWNN__RNN_RESET_AFTER)) ? 2 * U : GU, s, b;
    float *xz = work, *rz = xz + batch * T * GU, *h = rz + batch * GU, *cs = h + batch * U;
    float *t1 = cs + batch * U, *t2 = t1 + batch * U;
    int seq = (L->op & KWNN__RNN_SEQUENCES) != 0;
    kwnn__dense_run(x, xz, batch * T, F, GU, L->w, NULL);
    memset(h, 0, 2 * batch * U * sizeof *h);
    if (init != NULL) {
        memcpy(h, init[0], batch * U * sizeof *h);
        if (L->kind == KWNN_LAYER_LSTM) memcpy(cs, init[1], batch * U * sizeof *cs);
    }
    for (s = 0; s < T; s++) {
        size_t t = (L->op & KWNN__RNN_BACKWARDS) ? T - 1 - s : s;
        kwnn__rnn_mm(h, batch, U, L->w2, GU, N, rz);
        for (b = 0; b < batch; b++) {
            int skip = mask != NULL && kwnn__mask_off(L, mask, b * T + t);
            if (!skip)
                kwnn__rnn_step(L, xz + (b * T + t) * GU, rz + b * N, h + b * U, cs + b * U, t1 + b * U,
                               t2 + b * U);
            if (seq && skip && (L->op & KWNN__RNN_ZERO_MASKED)) memset(y + b * ystride + s * U, 0, U * sizeof *y);
            else if (seq) memcpy(y + b * ystride + s * U, h + b * U, U * sizeof *y);
        }
    }
    for (b = 0; b < batch && !seq; b++) {
        memcpy(y + b * ystride, h + b * U, U * sizeof *y);
        if (mask != NULL && (L->op & KWNN__RNN_ZERO_MASKED) && /* Keras: the last output, zero if masked */
            kwnn__mask_off(L, mask, b * T + ((L->op & KWNN__RNN_BACKWARDS) ? 0 : T - 1)))
            memset(y + b * ystride, 0, U * sizeof *y);
    }
}

/* The final states of the kwnn__rnn_run that used `work` into out + b * stride: h, then c (LSTM). */
static void kwnn__rnn_states(const kwnn_layer *L, const float *work, size_t batch, float *out, size_t stride)
{
    size_t U = L->units, GU = kwnn__rnn_gates(L->kind) * U, b;
    const float *h = work + batch * L->in_shape[0] * GU + batch * GU, *cs = h + batch * U;
    for (b = 0; b < batch; b++) {
        memcpy(out + b * stride, h + b * U, U * sizeof *out);
        if (L->kind == KWNN_LAYER_LSTM) memcpy(out + b * stride + U, cs + b * U, U * sizeof *out);
    }
}

/* Bidirectional: forward into yf, the backward layer (its own kind, units, options; the other
   go_backwards) into yb, then merged; with return_sequences the backward outputs are put back in
   time order first, as Keras does.  Initial states: the forward's, then the backward's. */
static void kwnn__bidi_run(const kwnn_layer *L, const float *const *ins, uint32_t n_in, const float *mask, float *y,
                           float *work, size_t batch)
{
    kwnn_layer B = *L;
    size_t U = L->units, Ub = L->back_units, T = L->in_shape[0], seq = (L->op & KWNN__RNN_SEQUENCES) != 0;
    size_t steps = seq ? T : 1, pf = steps * U, pb = steps * Ub, b, s, j, n, oc = L->out_count;
    int mode = (L->op / KWNN__RNN_MERGE) & 3;
    float *yf = work, *yb = yf + batch * pf, *rest = yb + batch * pb;
    B.kind = L->back_kind;
    B.units = Ub;
    B.op = L->back_op;
    B.act = L->back_act;
    B.rec_act = L->back_rec_act;
    B.w = L->bw;
    B.w2 = L->bw2;
    B.b = L->bb;
    kwnn__rnn_run(L, ins[0], mask, yf, pf, n_in > 1 ? ins + 1 : NULL, rest, batch);
    if (L->groups > 0) kwnn__rnn_states(L, rest, batch, y + L->kw, oc);
    kwnn__rnn_run(&B, ins[0], mask, yb, pb, n_in > 1 ? ins + 1 + kwnn__rnn_dir_states(L->kind) : NULL, rest, batch);
    if (L->groups > 0) kwnn__rnn_states(&B, rest, batch, y + L->kw + kwnn__rnn_dir_states(L->kind) * U, oc);
    for (b = 0; b < batch; b++)
        for (s = 0, n = b * oc; s < steps; s++) {
            const float *f = yf + b * pf + s * U, *r = yb + b * pb + (seq ? T - 1 - s : 0) * Ub;
            if (L->op & KWNN__RNN_SPLIT) { /* forward's steps, then the backward's (in time order) */
                memcpy(y + b * oc + s * U, f, U * sizeof *y);
                memcpy(y + b * oc + pf + s * Ub, r, Ub * sizeof *y);
                continue;
            }
            if (mode == 0) { /* concat: the two widths end to end */
                memcpy(y + n, f, U * sizeof *y);
                memcpy(y + n + U, r, Ub * sizeof *y);
                n += U + Ub;
                continue;
            }
            for (j = 0; j < U; j++) { /* equal units (the loader checked) */
                if (mode == 1) y[n + j] = f[j] + r[j];
                else if (mode == 2) y[n + j] = f[j] * r[j];
                else y[n + j] = (f[j] + r[j]) / 2.0f;
            }
            n += U;
        }
}

/* Runs the kinds of this part (inputs ins[0 .. n_in): the input, then initial states; mask: see
   kwnn__rnn_run); 0 when L is not one of them. */
static int kwnn__recurrent_run(const kwnn_layer *L, const float *const *ins, uint32_t n_in, const float *mask,
                               float *y, float *work, size_t batch, kwnn_result *res)
{
    *res = KWNN_OK;
    switch (L->kind) {
    case KWNN_LAYER_EMBEDDING: *res = kwnn__embedding_run(L, ins[0], y, batch); return 1;
    case KWNN_LAYER_SIMPLE_RNN: case KWNN_LAYER_LSTM: case KWNN_LAYER_GRU:
        if (L->op & KWNN__RNN_BIDI) {
            kwnn__bidi_run(L, ins, n_in, mask, y, work, batch);
        } else {
            kwnn__rnn_run(L, ins[0], mask, y, L->out_count, n_in > 1 ? ins + 1 : NULL, work, batch);
            if (L->groups > 0) kwnn__rnn_states(L, work, batch, y + L->kw, L->out_count);
        }
        return 1;
    default: return 0;
    }
}
/* ---- GroupNormalization, UnitNormalization, EinsumDense, attention ------- */

/* GroupNormalization and UnitNormalization normalise each sample;
   EinsumDense is a Dense over the input's trailing axes in the forms Keras
   writes; MultiHeadAttention, Attention and AdditiveAttention take two or
   three inputs (query, value, key: the call's arguments in order) and use
   the work area (kwnn_layer.work, after the plan's values) for their
   projections and rows of scores.  Their implicit masks (mask_zero,
   Masking upstream) come as kwnn__amask (61_implicit_masks.h). */

static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n);
static void kwnn__act(const kwnn_activation *a, const float *x, float *y, size_t n, size_t last);
static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows, size_t K, size_t N,
                            const float *KWNN__RESTRICT W, const float *KWNN__RESTRICT bias);

enum { /* kwnn_layer.op of KWNN_LAYER_ATTENTION (Attention, AdditiveAttention) */
    KWNN__SCORE_DOT = 0, /* Attention score_mode "dot": q . k (times scale) */
    KWNN__SCORE_CONCAT,  /* Attention score_mode "concat": w sum tanh(scale (q + k)) */
    KWNN__SCORE_ADDITIVE /* AdditiveAttention: sum scale tanh(q + k) */
};

#define KWNN__MASKED (-1e9f) /* Keras's large negative score for a masked key (float32) */

/* The per-sample axis of Keras's `axis` (an int; counted with the batch). */
static kwnn_result kwnn__one_axis(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t *axis)
{
    uint32_t mask, m, i;
    kwnn_result r;
    if ((r = kwnn__axes(c, L, cfg, "axis", 1u << (c->nd - 1), 1u << (c->nd - 1), &mask)) != KWNN_OK) return r;
    for (m = mask, i = 0; (m & 1u) == 0 && i < 32; m >>= 1, i++) {}
    if (mask == 0 || m != 1u) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' is not one axis");
    *axis = i;
    return KWNN_OK;
}

/* ---- GroupNormalization ------------------------------------------------- */

static kwnn_result kwnn__load_groupnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const group_keys[] = {"groups", NULL};
    static const char *const names[] = {"gamma", "beta"};
    const char *use[2];
    double eps;
    int center, scale;
    uint32_t axis = 0;
    size_t groups, ch;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__one_axis(c, L, cfg, &axis)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, group_keys, 1, 32, &groups)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK)
        return r;
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    ch = c->shape[axis];
    if (groups > ch || ch % groups != 0) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "groups ");
        kwnn__m_u(c->net, groups);
        kwnn__m(c->net, " do not divide the ");
        kwnn__m_u(c->net, ch);
        kwnn__m(c->net, " channels of its axis");
        return KWNN_ERR_SHAPE;
    }
    use[0] = scale ? names[0] : NULL;
    use[1] = center ? names[1] : NULL;
    if ((r = kwnn__only(c, L, use, 2)) != KWNN_OK ||
        (scale && (r = kwnn__weight(c, L, "gamma", &ch, 1, 0, &out->w)) != KWNN_OK) ||
        (center && (r = kwnn__weight(c, L, "beta", &ch, 1, 0, &out->b)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_GROUPNORM;
    out->groups = groups;
    out->units = axis;
    out->epsilon = (float)eps;
    return KWNN_OK;
}

/* Per sample and group: mean and variance over the group's channels and
   every other axis (in double, then float32), then as Keras 3: inv =
   rsqrt(var + eps) * gamma, y = x * inv + (beta - mean * inv).  In place
   allowed: a group is read whole before it is written. */
static void kwnn__groupnorm_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t outer = 1, inner = 1, C = L->in_shape[L->units], cg = C / L->groups, n, b, g, o, k, i;
    uint32_t d;
    for (d = 0; d < L->in_ndim; d++) {
        if (d < L->units) outer *= L->in_shape[d];
        if (d > L->units) inner *= L->in_shape[d];
    }
    n = outer * cg * inner;
    for (b = 0; b < batch; b++)
        for (g = 0; g < L->groups; g++) {
            const float *xs = x + b * L->in_count + g * cg * inner;
            float *ys = y + b * L->in_count + g * cg * inner, mean, var, inv;
            double s = 0.0, v = 0.0, md;
            for (o = 0; o < outer; o++)
                for (k = 0; k < cg * inner; k++) s += (double)xs[o * C * inner + k];
            md = s / (double)n;
            for (o = 0; o < outer; o++)
                for (k = 0; k < cg * inner; k++) {
                    double dv = (double)xs[o * C * inner + k] - md;
                    v += dv * dv;
                }
            mean = (float)md;
            var = (float)(v / (double)n);
            inv = 1.0f / sqrtf(var + L->epsilon);
            for (o = 0; o < outer; o++)
                for (k = 0; k < cg; k++) {
                    size_t c0 = g * cg + k;
                    float a = L->w != NULL ? inv * L->w[c0] : inv;
                    float sh = L->b != NULL ? -mean * a + L->b[c0] : -mean * a;
                    for (i = 0; i < inner; i++) {
                        size_t at = o * C * inner + k * inner + i;
                        ys[at] = xs[at] * a + sh;
                    }
                }
        }
}

/* ---- UnitNormalization -------------------------------------------------- */

static kwnn_result kwnn__load_unitnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    uint32_t mask, m;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__axes(c, L, cfg, "axis", 1u << (c->nd - 1), 1u << (c->nd - 1), &mask)) != KWNN_OK)
        return r;
    if (mask == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' lists no axis");
    for (m = mask; (m & 1u) == 0; m >>= 1) {}
    if ((m & (m + 1u)) != 0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported axis: normalising over axes that are not adjacent");
    out->kind = KWNN_LAYER_UNITNORM;
    out->axes = mask;
    return KWNN_OK;
}

/* Keras's normalize(order 2, epsilon 1e-12): x * min(rsqrt(sum x^2), 1e12)
   over the adjacent axes in L->axes (sum in double, then float32). */
static void kwnn__unitnorm_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t outer, G, inner, o, j, g;
    kwnn__axes_view(L, batch, &outer, &G, &inner);
    for (o = 0; o < outer; o++)
        for (j = 0; j < inner; j++) {
            const float *xs = x + o * G * inner + j;
            float *ys = y + o * G * inner + j, inv;
            double s = 0.0;
            for (g = 0; g < G; g++) s += (double)xs[g * inner] * (double)xs[g * inner];
            inv = fminf(1.0f / sqrtf((float)s), 1e12f);
            for (g = 0; g < G; g++) ys[g * inner] = xs[g * inner] * inv;
        }
}

/* ---- EinsumDense ----------------------------------------------------------- */

/* Letters of one operand: ids 0..51 for a-z, A-Z; an ellipsis expands to
   ids 52.. (one per axis it stands for).  *ell: where the ellipsis was, or -1. */
static int kwnn__einsum_term(const char *s, size_t n, unsigned char *ids, uint32_t *count, int *ell)
{
    size_t i;
    *count = 0;
    *ell = -1;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.' && i + 2 < n && s[i + 1] == '.' && s[i + 2] == '.' && *ell < 0) {
            *ell = (int)*count;
            i += 2;
        } else if (ch >= 'a' && ch <= 'z') {
            if (*count == 2 * KWNN_MAX_DIMS) return 0;
            ids[(*count)++] = (unsigned char)(ch - 'a');
        } else if (ch >= 'A' && ch <= 'Z') {
            if (*count == 2 * KWNN_MAX_DIMS) return 0;
            ids[(*count)++] = (unsigned char)(26 + ch - 'A');
        } else {
            return 0;
        }
    }
    return 1;
}

/* Replace the ellipsis of a term by `n` letters 52.. */
static int kwnn__einsum_expand(unsigned char *ids, uint32_t *count, int ell, uint32_t n)
{
    uint32_t i;
    if (ell < 0) return n == 0;
    if (*count + n > 2 * KWNN_MAX_DIMS) return 0;
    memmove(ids + ell + n, ids + ell, *count - (uint32_t)ell);
    for (i = 0; i < n; i++) ids[(uint32_t)ell + i] = (unsigned char)(52 + i);
    *count += n;
    return 1;
}

static int kwnn__einsum_has(const unsigned char *ids, uint32_t n, unsigned char id)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static kwnn_result kwnn__einsum_refuse(kwnn__ctx *c, const kwb_layer *L, kwnn__json eq, const char *why)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported equation ");
    kwnn__m_raw(c->net, eq.p, (size_t)(eq.e - eq.p) > 60 ? 60 : (size_t)(eq.e - eq.p));
    kwnn__m(c->net, " (");
    kwnn__m(c->net, why);
    kwnn__m(c->net, ")");
    return KWNN_ERR_UNSUPPORTED;
}

/* EinsumDense as a Dense: the equation's input must be (batch, free...,
   summed...), the kernel (summed..., new...) with the summed letters in the
   same order, the output (batch, free..., new...): every form Keras's
   documentation and MultiHeadAttention write ("ab,bc->ac", "abc,cd->abd",
   "abc,cde->abde", "abcd,cde->abe", "...b,bc->...c").  Others are refused
   by name.  bias_axes: letters of the output; the bias broadcasts over the
   others (out->axes: the per-sample output axes it varies along). */
static kwnn_result kwnn__load_einsum(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"kernel", "bias"};
    kwnn__json eq, bias_axes, v;
    const char *p, *e, *comma, *arrow;
    unsigned char in[2 * KWNN_MAX_DIMS], ker[2 * KWNN_MAX_DIMS], res[2 * KWNN_MAX_DIMS];
    uint32_t ni, nk, no, nsum, nfree, nnew, i, j, extra, bias_mask = 0;
    int ei, ek, eo, use_bias;
    size_t kshape[2 * KWNN_MAX_DIMS], oshape[KWNN_MAX_DIMS], bshape[KWNN_MAX_DIMS], K = 1, N = 1, nb = 0;
    kwb_tensor t;
    kwnn_result r;
    (void)arg;
    if (!kwnn__get(cfg, "equation", &eq) || !kwnn__is(eq, '"'))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'equation'");
    p = eq.p + 1;
    e = eq.e - 1;
    comma = (const char *)memchr(p, ',', (size_t)(e - p));
    arrow = comma != NULL ? (const char *)memchr(comma, '-', (size_t)(e - comma)) : NULL;
    if (arrow == NULL || e - arrow < 2 || arrow[1] != '>')
        return kwnn__einsum_refuse(c, L, eq, "not 'input,kernel->output'");
    if (!kwnn__einsum_term(p, (size_t)(comma - p), in, &ni, &ei) ||
        !kwnn__einsum_term(comma + 1, (size_t)(arrow - comma - 1), ker, &nk, &ek) ||
        !kwnn__einsum_term(arrow + 2, (size_t)(e - arrow - 2), res, &no, &eo) || ek >= 0 || (ei < 0) != (eo < 0))
        return kwnn__einsum_refuse(c, L, eq, "letters a-z, A-Z and one ellipsis in the input and the output");
    /* the ellipsis stands for the same axes (the batch's first) in the input and the output */
    extra = c->nd + 1 >= ni ? c->nd + 1 - ni : 0;
    if (c->nd + 1 < ni || (ei < 0 && extra != 0) || !kwnn__einsum_expand(in, &ni, ei, extra) ||
        !kwnn__einsum_expand(res, &no, eo, extra) || ni < 1)
        return kwnn__einsum_refuse(c, L, eq, "its input letters do not match the input's rank");
    nsum = 0;
    for (i = 0; i < nk && kwnn__einsum_has(in, ni, ker[i]); i++) nsum++;
    nnew = nk - nsum;
    nfree = ni - 1 - nsum;
    if (ni < 1 + nsum || kwnn__einsum_has(ker, nk, in[0]) || no != 1 + nfree + nnew || res[0] != in[0])
        return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    for (i = 0; i < nsum; i++)
        if (in[1 + nfree + i] != ker[i]) return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    for (i = 0; i < nfree; i++)
        if (res[1 + i] != in[1 + i] || kwnn__einsum_has(ker, nk, in[1 + i]))
            return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    for (i = 0; i < nnew; i++)
        if (res[1 + nfree + i] != ker[nsum + i] || kwnn__einsum_has(in, ni, ker[nsum + i]))
            return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    /* sizes: the summed from the input, the new from the kernel */
    if (!kwnn__find(c, L, "kernel", &t) || t.ndim != nk)
        return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "has no weight 'kernel' of the equation's rank");
    for (i = 0; i < nsum; i++) kshape[i] = c->shape[nfree + i];
    for (i = nsum; i < nk; i++) {
        if (t.shape[i] == 0 || t.shape[i] > (uint64_t)KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "weight 'kernel' has an empty or huge axis");
        kshape[i] = (size_t)t.shape[i];
    }
    for (i = 0; i < nsum; i++)
        if (!kwnn__mul(K, kshape[i], &K)) return kwnn__oom(c);
    for (i = nsum; i < nk; i++)
        if (!kwnn__mul(N, kshape[i], &N)) return kwnn__oom(c);
    for (i = 0; i < nfree; i++) oshape[i] = c->shape[i];
    for (i = 0; i < nnew; i++) oshape[nfree + i] = kshape[nsum + i];
    if (nfree + nnew > KWNN_MAX_DIMS) return kwnn__einsum_refuse(c, L, eq, "an output of rank above 8");
    /* bias_axes: null / "" none; else output letters */
    use_bias = kwnn__get(cfg, "bias_axes", &bias_axes) && kwnn__is(bias_axes, '"') && bias_axes.e - bias_axes.p > 2;
    if (use_bias) {
        unsigned char bl[2 * KWNN_MAX_DIMS];
        uint32_t nbl, first = no;
        int be;
        if (!kwnn__einsum_term(bias_axes.p + 1, (size_t)(bias_axes.e - bias_axes.p - 2), bl, &nbl, &be) || be >= 0)
            return kwnn__unsupported_value(c, L, "bias_axes", bias_axes);
        for (i = 0; i < nbl; i++) {
            for (j = 1; j < no && res[j] != bl[i]; j++) {}
            if (j == no) return kwnn__unsupported_value(c, L, "bias_axes", bias_axes);
            bias_mask |= 1u << (j - 1);
            if (j < first) first = j;
        }
        /* Keras's bias shape: the output axes from the first bias letter on, 1 where not a bias letter */
        for (j = first; j < no; j++) bshape[nb++] = (bias_mask >> (j - 1)) & 1u ? oshape[j - 1] : 1;
    }
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK) return r;
    if ((r = kwnn__only(c, L, names, use_bias ? 2 : 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "kernel", kshape, nk, 0, &out->w)) != KWNN_OK ||
        (use_bias && (r = kwnn__weight(c, L, "bias", bshape, (uint32_t)nb, 0, &out->b)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_EINSUM;
    out->kh = K;
    out->units = N;
    out->axes = bias_mask;
    memcpy(c->shape, oshape, sizeof oshape);
    c->nd = nfree + nnew;
    return KWNN_OK;
}

/* x (rows, K) @ W (K, N), then the bias broadcast over the output, then the activation. */
static void kwnn__einsum_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t rows = batch * (L->in_count / L->kh), n = L->out_count * batch, k, r2, idx, stride;
    uint32_t d;
    kwnn__dense_run(x, y, rows, L->kh, L->units, L->w, NULL);
    if (L->b != NULL)
        for (k = 0; k < n; k++) {
            size_t rem = k % L->out_count;
            idx = 0;
            stride = 1;
            for (d = L->out_ndim; d-- > 0;) {
                r2 = rem % L->out_shape[d];
                rem /= L->out_shape[d];
                if ((L->axes >> d) & 1u) {
                    idx += r2 * stride;
                    stride *= L->out_shape[d];
                }
            }
            y[k] += L->b[idx];
        }
    kwnn__act(&L->act, y, y, n, L->out_ndim ? L->out_shape[L->out_ndim - 1] : 1);
}

/* ---- attention: shared pieces ------------------------------------------- */

/* The call's keyword arguments that change the computation: use_causal_mask
   (1), and what cannot be run: return_attention_scores (2, a second output). */
static int kwnn__attention_kwargs(kwnn__json kwargs)
{
    kwnn__json v;
    int on, flags = 0;
    if (kwargs.p == NULL || !kwnn__is(kwargs, '{')) return 0;
    if (kwnn__get(kwargs, "use_causal_mask", &v) && kwnn__bool(v, &on) && on) flags |= 1;
    if (kwnn__get(kwargs, "return_attention_scores", &v) && kwnn__bool(v, &on) && on) flags |= 2;
    return flags;
}

/* Does a later call of a shared attention layer ask for another mask? */
static int kwnn__attention_call_differs(const kwnn_layer *L, kwnn__json kwargs)
{
    if (L->kind == KWNN_LAYER_MHA) return (kwnn__attention_kwargs(kwargs) & 1) != (L->op & 1);
    if (L->kind == KWNN_LAYER_ATTENTION) return (kwnn__attention_kwargs(kwargs) & 1) != L->same;
    return 0;
}

/* The implicit masks of one call (61_implicit_masks.h; NULL: none): step t of the query (value)
   is on when one of its qs (vs) values q[t * qs ..] (v[..]) is not 0; per sample. */
typedef struct kwnn__amask {
    const float *q, *v;
    size_t qs, vs;
} kwnn__amask;

static int kwnn__step_on(const float *m, size_t stride, size_t t)
{
    size_t k;
    for (k = 0; k < stride; k++)
        if (m[t * stride + k] != 0.0f) return 1;
    return 0;
}

/* Row of n scores -> softmax in place (Keras: exp(x - max) / sum). */
static void kwnn__softmax_row(float *s, size_t n)
{
    float mx = s[0], sum = 0.0f;
    size_t j;
    for (j = 1; j < n; j++) mx = fmaxf(mx, s[j]);
    for (j = 0; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    for (j = 0; j < n; j++) s[j] /= sum;
}

/* ---- MultiHeadAttention ------------------------------------------------- */

/* Shape of node i without its last axis: positions (product) and its feature size. */
static void kwnn__positions(kwnn__ctx *c, uint32_t i, size_t *pos, size_t *feat)
{
    const kwnn__node *x = kwnn__in_node(c, i);
    uint32_t d;
    *pos = 1;
    for (d = 0; d + 1 < x->nd; d++) *pos *= x->shape[d]; /* at most the node's count */
    *feat = x->nd > 0 ? x->shape[x->nd - 1] : 0;
}

/* A positive int config key, or dflt when absent / null (dflt 0: required). */
static kwnn_result kwnn__pos_int(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key, size_t dflt,
                                 size_t *out)
{
    kwnn__json v;
    long x;
    *out = dflt;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) {
        if (dflt > 0) return KWNN_OK;
        kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no '");
        kwnn__m(c->net, key);
        kwnn__m(c->net, "'");
        return KWNN_ERR_BAD_CONFIG;
    }
    if (!kwnn__int(v, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT) return kwnn__bad_key(c, L, key, v, "a positive size");
    *out = (size_t)x;
    return KWNN_OK;
}

/* Weight `name` of the given shape (a list of up to 8 dims). */
static kwnn_result kwnn__mha_weight(kwnn__ctx *c, const kwb_layer *L, const char *name, size_t a, size_t b2,
                                    const size_t *rest, uint32_t nrest, const float **out)
{
    size_t shape[KWNN_MAX_DIMS + 2];
    uint32_t n = 0, i;
    if (a > 0) shape[n++] = a;
    if (b2 > 0) shape[n++] = b2;
    for (i = 0; i < nrest; i++) shape[n++] = rest[i];
    return kwnn__weight(c, L, name, shape, n, 0, out);
}

static kwnn_result kwnn__load_mha(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"query/kernel", "key/kernel", "value/kernel", "attention_output/kernel",
                                        "query/bias", "key/bias", "value/bias", "attention_output/bias"};
    const kwnn__node *q, *v, *k;
    kwnn__json os, el, ax;
    kwnn__iter it;
    size_t H, kd, vd, T, S, Sk, Dq, Dk, Dv, O = 1, window, oshape[KWNN_MAX_DIMS], hk, hv, work = 0, part;
    uint32_t no = 0, d, axes, want;
    int use_bias, gate, flags;
    long x;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__arity(c, L, 2, 3)) != KWNN_OK) return r;
    q = kwnn__in_node(c, 0);
    v = kwnn__in_node(c, 1);
    k = kwnn__in_node(c, c->n_ins > 2 ? 2 : 1);
    if ((r = kwnn__pos_int(c, L, cfg, "num_heads", 0, &H)) != KWNN_OK ||
        (r = kwnn__pos_int(c, L, cfg, "key_dim", 0, &kd)) != KWNN_OK ||
        (r = kwnn__pos_int(c, L, cfg, "value_dim", kd, &vd)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_bias", NULL, 1, &use_bias)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_gate", NULL, 0, &gate)) != KWNN_OK)
        return r;
    if (gate) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported use_gate true");
    if (kwnn__get(cfg, "sliding_window", &el) && !kwnn__null(el)) {
        if ((r = kwnn__pos_int(c, L, cfg, "sliding_window", 1, &window)) != KWNN_OK) return r;
    } else {
        window = 0;
    }
    if (q->nd < 2 || v->nd != q->nd || k->nd != q->nd) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs query, value and key of one rank, 2 or more (got ");
        kwnn__m_u(c->net, q->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_u(c->net, v->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_u(c->net, k->nd);
        kwnn__m(c->net, ")");
        return KWNN_ERR_SHAPE;
    }
    for (d = 0; d + 1 < v->nd; d++)
        if (v->shape[d] != k->shape[d])
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "value and key differ in an axis other than the last");
    /* attention_axes: null (Keras's default) or every axis between the batch and the features */
    axes = 0;
    want = kwnn__all_axes(q->nd - 1);
    if (kwnn__get(cfg, "attention_axes", &ax) && !kwnn__null(ax)) {
        int list = kwnn__begin(ax, '[', &it);
        while (list ? kwnn__next(&it, NULL, &el) : (el = ax, 1)) {
            if (!kwnn__int(el, &x)) return kwnn__bad_key(c, L, "attention_axes", ax, "an axis or a list of axes");
            if (x < 0) x += (long)q->nd + 1;
            if (x < 1 || x >= (long)q->nd) return kwnn__unsupported_value(c, L, "attention_axes", ax);
            axes |= 1u << (x - 1);
            if (!list) break;
        }
        if (axes != want) {
            kwnn__unsupported_value(c, L, "attention_axes", ax);
            kwnn__m(c->net, " (attention over some of the axes only)");
            return KWNN_ERR_UNSUPPORTED;
        }
    }
    flags = kwnn__attention_kwargs(c->kwargs);
    if (flags & 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported return_attention_scores true (a second output)");
    if ((flags & 1 || window > 0) && q->nd != 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported use_causal_mask or sliding_window with several attention axes");
    kwnn__positions(c, 0, &T, &Dq);
    kwnn__positions(c, 1, &S, &Dv);
    kwnn__positions(c, c->n_ins > 2 ? 2 : 1, &Sk, &Dk);
    /* output_shape: null (the query's features), an int, or a list */
    for (d = 0; d + 1 < q->nd; d++) oshape[no++] = q->shape[d];
    if (kwnn__get(cfg, "output_shape", &os) && !kwnn__null(os)) {
        int list = kwnn__begin(os, '[', &it);
        while (list ? kwnn__next(&it, NULL, &el) : (el = os, 1)) {
            if (!kwnn__int(el, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT)
                return kwnn__bad_key(c, L, "output_shape", os, "a size or a list of sizes");
            if (no == KWNN_MAX_DIMS || no - (q->nd - 1) + 2 > KWB_MAX_NDIM)
                return kwnn__unsupported_value(c, L, "output_shape", os);
            oshape[no++] = (size_t)x;
            if (!kwnn__mul(O, (size_t)x, &O)) return kwnn__oom(c);
            if (!list) break;
        }
        if (no == q->nd - 1) return kwnn__bad_key(c, L, "output_shape", os, "a size or a list of sizes");
    } else {
        oshape[no++] = Dq;
        O = Dq;
    }
    /* weights */
    if ((r = kwnn__only(c, L, names, use_bias ? 8 : 4)) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[0], Dq, H, &kd, 1, &out->w)) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[1], Dk, H, &kd, 1, &out->more[0])) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[2], Dv, H, &vd, 1, &out->more[2])) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[3], H, vd, oshape + q->nd - 1, no - (q->nd - 1), &out->more[4])) !=
            KWNN_OK)
        return r;
    if (use_bias && ((r = kwnn__mha_weight(c, L, names[4], H, kd, NULL, 0, &out->b)) != KWNN_OK ||
                     (r = kwnn__mha_weight(c, L, names[5], H, kd, NULL, 0, &out->more[1])) != KWNN_OK ||
                     (r = kwnn__mha_weight(c, L, names[6], H, vd, NULL, 0, &out->more[3])) != KWNN_OK ||
                     (r = kwnn__mha_weight(c, L, names[7], 0, 0, oshape + q->nd - 1, no - (q->nd - 1),
                                           &out->more[5])) != KWNN_OK))
        return r;
    /* the work area: Q (T, H kd), K (S, H kd), V (S, H vd), context (T, H vd), one row of scores (S) */
    if (!kwnn__mul(H, kd, &hk) || !kwnn__mul(H, vd, &hv) || !kwnn__mul(T, hk, &part) || !kwnn__add(work, part, &work) ||
        !kwnn__mul(S, hk, &part) || !kwnn__add(work, part, &work) || !kwnn__mul(S, hv, &part) ||
        !kwnn__add(work, part, &work) || !kwnn__mul(T, hv, &part) || !kwnn__add(work, part, &work) ||
        !kwnn__add(work, S, &work))
        return kwnn__oom(c);
    out->kind = KWNN_LAYER_MHA;
    out->work = work;
    out->units = H;
    out->kh = kd;
    out->kw = vd;
    out->sh = S;
    out->sw = Dk;
    out->dh = Dv;
    out->dw = O;
    out->op = flags & 1;
    out->groups = window;
    memcpy(c->shape, oshape, sizeof oshape);
    c->nd = no;
    return KWNN_OK;
}

/* Is key j masked for query t (causal, sliding window)? */
static int kwnn__masked(const kwnn_layer *L, int causal, size_t t, size_t j)
{
    if (causal && j > t) return 1;
    return L->groups > 0 && (j > t ? j - t : t - j) >= L->groups;
}

/* Keras 3's MultiHeadAttention: projections (x @ W + b, as EinsumDense),
   Q scaled by 1 / sqrt(key_dim), per head softmax(Q K^T) over the keys
   (masked keys set to -1e9 first), times V, then the output projection. */
static void kwnn__mha_run(const kwnn_layer *L, const float *xq, const float *xv, const float *xk, float *y,
                          float *work, const kwnn__amask *am, size_t batch)
{
    size_t H = L->units, kd = L->kh, vd = L->kw, S = L->sh, Dq = L->in_shape[L->in_ndim - 1];
    size_t T = L->in_count / Dq, hk = H * kd, hv = H * vd, b, h, t, j, i;
    float *Q = work, *K = Q + batch * T * hk, *V = K + batch * S * hk, *C = V + batch * S * hv;
    float *P = C + batch * T * hv, scale = (float)(1.0 / sqrt((double)kd));
    kwnn__dense_run(xq, Q, batch * T, Dq, hk, L->w, L->b);
    kwnn__dense_run(xk, K, batch * S, L->sw, hk, L->more[0], L->more[1]);
    kwnn__dense_run(xv, V, batch * S, L->dh, hv, L->more[2], L->more[3]);
    for (i = 0; i < batch * T * hk; i++) Q[i] *= scale;
    for (b = 0; b < batch; b++)
        for (t = 0; t < T; t++)
            for (h = 0; h < H; h++) {
                const float *qv = Q + (b * T + t) * hk + h * kd;
                float *cv = C + (b * T + t) * hv + h * vd;
                int qoff = am != NULL && am->q != NULL && !kwnn__step_on(am->q + b * T * am->qs, am->qs, t);
                for (j = 0; j < S; j++) {
                    const float *kv = K + (b * S + j) * hk + h * kd;
                    float s = 0.0f;
                    int off = qoff || (am != NULL && am->v != NULL && !kwnn__step_on(am->v + b * S * am->vs, am->vs, j));
                    for (i = 0; i < kd; i++) s += qv[i] * kv[i];
                    P[j] = off || kwnn__masked(L, L->op & 1, t, j) ? KWNN__MASKED : s; /* all masked: uniform */
                }
                kwnn__softmax_row(P, S);
                for (i = 0; i < vd; i++) cv[i] = 0.0f;
                for (j = 0; j < S; j++) kwnn__axpy(cv, V + (b * S + j) * hv + h * vd, P[j], vd);
            }
    kwnn__dense_run(C, y, batch * T, hv, L->dw, L->more[4], L->more[5]);
}

/* ---- Attention, AdditiveAttention --------------------------------------- */

/* Weight `name`, or the importer's positional name (Keras 3 files store
   these unnamed: "0", "1" in the order Keras creates them). */
static const char *kwnn__att_name(kwnn__ctx *c, const kwb_layer *L, const char *name, const char *pos)
{
    kwb_tensor t;
    return kwnn__find(c, L, name, &t) ? name : pos;
}

static kwnn_result kwnn__load_attention(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    const kwnn__node *q, *v, *k;
    const char *use[2] = {NULL, NULL};
    kwnn__json mode;
    size_t dim, one = 1;
    int scale, causal, flags;
    kwnn_result r;
    if ((r = kwnn__arity(c, L, 2, 3)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_scale", NULL, 0, &scale)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "causal", NULL, 0, &causal)) != KWNN_OK) /* tf.keras 2.x */
        return r;
    q = kwnn__in_node(c, 0);
    v = kwnn__in_node(c, 1);
    k = kwnn__in_node(c, c->n_ins > 2 ? 2 : 1);
    out->op = arg;
    if (arg == KWNN__SCORE_DOT && kwnn__get(cfg, "score_mode", &mode) && !kwnn__null(mode)) {
        if (kwnn__jstr_is(mode, "concat")) out->op = KWNN__SCORE_CONCAT;
        else if (!kwnn__jstr_is(mode, "dot")) return kwnn__unsupported_value(c, L, "score_mode", mode);
    }
    flags = kwnn__attention_kwargs(c->kwargs);
    if (flags & 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported return_attention_scores true (a second output)");
    if (q->nd != 2 || v->nd != 2 || k->nd != 2 || v->shape[0] != k->shape[0] || q->shape[1] != k->shape[1]) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs query (Tq, dim), value (Tv, d) and key (Tv, dim), not ");
        kwnn__m_shape(c->net, q->shape, q->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_shape(c->net, v->shape, v->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_shape(c->net, k->shape, k->nd);
        return KWNN_ERR_SHAPE;
    }
    dim = q->shape[1];
    if (scale) use[0] = kwnn__att_name(c, L, "scale", "0");
    if (out->op == KWNN__SCORE_CONCAT) use[1] = kwnn__att_name(c, L, "concat_score_weight", scale ? "1" : "0");
    if ((r = kwnn__only(c, L, use, 2)) != KWNN_OK ||
        (use[0] != NULL && (r = kwnn__weight(c, L, use[0], arg == KWNN__SCORE_ADDITIVE ? &dim : &one,
                                             arg == KWNN__SCORE_ADDITIVE ? 1 : 0, 0, &out->w)) != KWNN_OK) ||
        (use[1] != NULL && (r = kwnn__weight(c, L, use[1], &one, 0, 0, &out->w2)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_ATTENTION;
    out->same = causal || (flags & 1);
    out->sh = v->shape[0];
    out->sw = v->shape[1];
    out->work = v->shape[0];
    c->shape[1] = v->shape[1];
    return KWNN_OK;
}

/* Keras 3's Attention / AdditiveAttention: scores (see KWNN__SCORE_*), a
   causal mask subtracting 1e9, softmax over the keys, times the value. */
static void kwnn__attention_run(const kwnn_layer *L, const float *xq, const float *xv, const float *xk, float *y,
                                float *P, const kwnn__amask *am, size_t batch)
{
    size_t T = L->in_shape[0], dim = L->in_shape[1], S = L->sh, dv = L->sw, b, t, j, i;
    for (b = 0; b < batch; b++)
        for (t = 0; t < T; t++) {
            const float *vm = am != NULL && am->v != NULL ? am->v + b * S * am->vs : NULL;
            const float *qv = xq + (b * T + t) * dim;
            float *yv = y + (b * T + t) * dv;
            for (j = 0; j < S; j++) {
                const float *kv = xk + (b * S + j) * dim;
                float s = 0.0f;
                if (L->op == KWNN__SCORE_DOT) {
                    for (i = 0; i < dim; i++) s += qv[i] * kv[i];
                    if (L->w != NULL) s *= L->w[0];
                } else if (L->op == KWNN__SCORE_CONCAT) {
                    for (i = 0; i < dim; i++) s += tanhf(L->w != NULL ? L->w[0] * (qv[i] + kv[i]) : qv[i] + kv[i]);
                    s *= L->w2[0];
                } else {
                    for (i = 0; i < dim; i++) s += (L->w != NULL ? L->w[i] : 1.0f) * tanhf(qv[i] + kv[i]);
                }
                P[j] = (L->same && j > t) || (vm != NULL && !kwnn__step_on(vm, am->vs, j)) ? s - 1e9f : s;
            }
            kwnn__softmax_row(P, S);
            for (i = 0; i < dv; i++) yv[i] = 0.0f;
            if (am != NULL && am->q != NULL && !kwnn__step_on(am->q + b * T * am->qs, am->qs, t))
                continue; /* Keras: where(query_mask, output, 0) */
            for (j = 0; j < S; j++) kwnn__axpy(yv, xv + (b * S + j) * dv, P[j], dv);
        }
}

/* One call: its inputs in the call's order (query, value, key = value). */
static void kwnn__attention_call(const kwnn_layer *L, const float *const *in, uint32_t n_in, float *y, float *work,
                                 const kwnn__amask *am, size_t batch)
{
    const float *key = n_in > 2 ? in[2] : in[1];
    if (L->kind == KWNN_LAYER_MHA) kwnn__mha_run(L, in[0], in[1], key, y, work, am, batch);
    else kwnn__attention_run(L, in[0], in[1], key, y, work, am, batch);
}

/* Operations per sample (51_cost.h). */
static uint64_t kwnn__attention_cost(const kwnn_layer *L)
{
    uint64_t out = L->out_count, T, S = L->sh, H = L->units, kd = L->kh, vd = L->kw, proj, att;
    switch (L->kind) {
    case KWNN_LAYER_GROUPNORM: case KWNN_LAYER_UNITNORM: return kwnn__sat_mul(out, 3);
    case KWNN_LAYER_EINSUM: return kwnn__sat_add(kwnn__sat_mul(out, L->kh), kwnn__sat_mul(out, 2));
    case KWNN_LAYER_MHA:
        T = L->in_count / L->in_shape[L->in_ndim - 1];
        proj = kwnn__sat_mul(kwnn__sat_mul(T, L->in_shape[L->in_ndim - 1]), kwnn__sat_mul(H, kd));
        proj = kwnn__sat_add(proj, kwnn__sat_mul(kwnn__sat_mul(S, L->sw), kwnn__sat_mul(H, kd)));
        proj = kwnn__sat_add(proj, kwnn__sat_mul(kwnn__sat_mul(S, L->dh), kwnn__sat_mul(H, vd)));
        proj = kwnn__sat_add(proj, kwnn__sat_mul(out, kwnn__sat_mul(H, vd)));
        att = kwnn__sat_mul(kwnn__sat_mul(T, S), kwnn__sat_mul(H, kwnn__sat_add(kwnn__sat_add(kd, vd), 3)));
        return kwnn__sat_add(proj, att);
    case KWNN_LAYER_ATTENTION:
        T = L->in_shape[0];
        return kwnn__sat_mul(kwnn__sat_mul(T, S), kwnn__sat_add(kwnn__sat_add(L->in_shape[1], L->sw), 3));
    default: break;
    }
    return out;
}
/* ---- operation nodes: Keras 3 keras.ops calls in a functional graph ----- */

/* `x * 0.5`, keras.ops.mean(x, axis=1), x[:, -1] in a functional model are
   written by Keras 3 as nodes of module "keras.src.ops.*" (classes Multiply,
   Mean, GetItem, ...), with their tensors and constants in the call's "args"
   and their options in the config.  Each call is its own node (Keras makes a
   new operation per call), so an operation has one call.  Shapes count the
   batch as axis 0 in Keras; here every shape is per sample, so an operation
   that would touch the batch axis (reduce it, move it, slice it) is refused.

   Most operations are one strided, broadcasting loop: y[i] = f(a[i], b[i],
   c[i]) where each operand is a tensor input or a constant, read at an
   offset plus a step per output axis (0 where it broadcasts; a slice's or a
   transpose's steps where it is one).  Reductions and matmul add a sum over
   reduced axes with their own steps.  Pure shape changes (reshape,
   expand_dims, squeeze, cast to float) are free layers, concatenate and
   stack the Concatenate runner, the activations the Activation runner. */

enum {
    KWNN__O_COPY = 0, /* unary */
    KWNN__O_NEG,
    KWNN__O_ABS,
    KWNN__O_SQUARE,
    KWNN__O_SQRT,
    KWNN__O_EXP,
    KWNN__O_LOG,
    KWNN__O_CLIP,  /* lo, hi */
    KWNN__O_TRUNC, /* cast to an integer type */
    KWNN__O_BOOL,  /* cast to bool */
    KWNN__O_NOT,
    KWNN__O_SIGN,
    KWNN__O_FLOOR,
    KWNN__O_CEIL,
    KWNN__O_RECIPROCAL,
    KWNN__O_RSQRT,
    KWNN__O_LOG1P,
    KWNN__O_EXPM1,
    KWNN__O_ADD,   /* binary */
    KWNN__O_SUB,
    KWNN__O_MUL,
    KWNN__O_DIV,
    KWNN__O_POW,
    KWNN__O_MIN,
    KWNN__O_MAX,
    KWNN__O_EQ,
    KWNN__O_NE,
    KWNN__O_GT,
    KWNN__O_GE,
    KWNN__O_LT,
    KWNN__O_LE,
    KWNN__O_AND,
    KWNN__O_OR,
    KWNN__O_WHERE, /* ternary */
    KWNN__O_SUM,   /* reductions over the reduced axes */
    KWNN__O_MEAN,
    KWNN__O_RMAX,
    KWNN__O_RMIN,
    KWNN__O_MATMUL, /* sum over k of a * b */
    KWNN__O_SOFTMAX, /* over one axis: (pre, K, post) in rshape */
    KWNN__O_LOG_SOFTMAX,
    KWNN__O_STD,     /* sqrt(mean((x - mean)^2)), two passes */
    KWNN__O_VAR,
    KWNN__O_ANY,     /* reductions of x != 0 */
    KWNN__O_ALL,
    KWNN__O_MASKING, /* the Masking layer (48_masking.h): rows of rshape[0] equal to lo become 0 */
    /* shape changes and runners of other kinds (the loader's families) */
    KWNN__O_RESHAPE,
    KWNN__O_EXPAND,
    KWNN__O_SQUEEZE,
    KWNN__O_TRANSPOSE,
    KWNN__O_GETITEM,
    KWNN__O_CONCAT,
    KWNN__O_STACK,
    KWNN__O_CAST,
    KWNN__O_IDENTITY
};

typedef struct kwnn__operand {
    int32_t in;                     /* which tensor input, or -1: the constant k */
    const float *k;                 /* constant (per-sample layout after broadcasting) */
    size_t count;                   /* floats per sample of the tensor input */
    ptrdiff_t off;                  /* where output element 0 reads */
    ptrdiff_t step[KWNN_MAX_DIMS];  /* per output axis (0: broadcast) */
    ptrdiff_t rstep[KWNN_MAX_DIMS]; /* per reduced axis */
} kwnn__operand;

struct kwnn__op {
    int code;                        /* KWNN__O_* */
    uint32_t n_args;                 /* operands used */
    uint32_t nd, rnd;                /* output rank; reduced axes */
    size_t shape[KWNN_MAX_DIMS];     /* output shape (per sample) */
    size_t rshape[KWNN_MAX_DIMS];    /* reduced axes' sizes */
    size_t count, rcount;            /* their products */
    float lo, hi;                    /* clip bounds; max/min initial value (has_init) */
    int has_init;
    int transpose_b;                 /* loading: tf matmul's transpose_b */
    kwnn__operand arg[3];
};

/* Floats of the parameter area one struct kwnn__op takes. */
#define KWNN__O_FLOATS ((sizeof(struct kwnn__op) + sizeof(float) - 1) / sizeof(float))

typedef struct kwnn__op_name {
    const char *name; /* Keras 3 class */
    int code;
    int arity;        /* tensors and constants it takes (0: the family decides) */
} kwnn__op_name;

static const kwnn__op_name kwnn__op_names[] = {
    {"Add", KWNN__O_ADD, 2},           {"Subtract", KWNN__O_SUB, 2},
    {"Multiply", KWNN__O_MUL, 2},      {"Divide", KWNN__O_DIV, 2},
    {"TrueDivide", KWNN__O_DIV, 2},    {"Power", KWNN__O_POW, 2},
    {"Minimum", KWNN__O_MIN, 2},       {"Maximum", KWNN__O_MAX, 2},
    {"Equal", KWNN__O_EQ, 2},          {"NotEqual", KWNN__O_NE, 2},
    {"Greater", KWNN__O_GT, 2},        {"GreaterEqual", KWNN__O_GE, 2},
    {"Less", KWNN__O_LT, 2},           {"LessEqual", KWNN__O_LE, 2},
    {"LogicalAnd", KWNN__O_AND, 2},    {"LogicalOr", KWNN__O_OR, 2},
    {"Where", KWNN__O_WHERE, 3},       {"Negative", KWNN__O_NEG, 1},
    {"Absolute", KWNN__O_ABS, 1},      {"Abs", KWNN__O_ABS, 1},
    {"Square", KWNN__O_SQUARE, 1},     {"Sqrt", KWNN__O_SQRT, 1},
    {"Exp", KWNN__O_EXP, 1},           {"Log", KWNN__O_LOG, 1},
    {"Clip", KWNN__O_CLIP, 1},         {"LogicalNot", KWNN__O_NOT, 1},
    {"Sign", KWNN__O_SIGN, 1},         {"Floor", KWNN__O_FLOOR, 1},
    {"Ceil", KWNN__O_CEIL, 1},         {"Reciprocal", KWNN__O_RECIPROCAL, 1},
    {"Rsqrt", KWNN__O_RSQRT, 1},       {"Log1p", KWNN__O_LOG1P, 1},
    {"Expm1", KWNN__O_EXPM1, 1},       {"Sum", KWNN__O_SUM, 1},
    {"Mean", KWNN__O_MEAN, 1},         {"Max", KWNN__O_RMAX, 1},
    {"Amax", KWNN__O_RMAX, 1},         {"Min", KWNN__O_RMIN, 1},
    {"Amin", KWNN__O_RMIN, 1},         {"Matmul", KWNN__O_MATMUL, 2},
    {"Any", KWNN__O_ANY, 1},           {"All", KWNN__O_ALL, 1},
    {"Std", KWNN__O_STD, 1},           {"Var", KWNN__O_VAR, 1},
    {"Softmax", KWNN__O_SOFTMAX, 1},   {"LogSoftmax", KWNN__O_LOG_SOFTMAX, 1},
    {"Reshape", KWNN__O_RESHAPE, 1},   {"ExpandDims", KWNN__O_EXPAND, 1},
    {"Squeeze", KWNN__O_SQUEEZE, 1},   {"Transpose", KWNN__O_TRANSPOSE, 1},
    {"GetItem", KWNN__O_GETITEM, 2},   {"Concatenate", KWNN__O_CONCAT, 1},
    {"Stack", KWNN__O_STACK, 1},       {"Cast", KWNN__O_CAST, 1},
    {"StopGradient", KWNN__O_IDENTITY, 1}, {"ConvertToTensor", KWNN__O_CAST, 1}};

#define KWNN__N_OP_NAMES (sizeof kwnn__op_names / sizeof kwnn__op_names[0])

/* Is this model-config entry a tf.keras operation node (TFOpLambda, SlicingOpLambda)? */
static int kwnn__tf_op_entry(kwnn__json entry)
{
    kwnn__json cls;
    return kwnn__get(entry, "class_name", &cls) &&
           (kwnn__jstr_is(cls, "TFOpLambda") || kwnn__jstr_is(cls, "SlicingOpLambda"));
}

/* Is this model-config entry an operation node: Keras 3's (module "keras.src.ops...") or tf.keras's?
   Keras 3's .h5 files record no module: there an operation is an entry whose config has no
   "trainable", which every layer's has (Layer.get_config) but InputLayer's (Keras 3 writes
   "x * 0.5" as class Multiply, as the merge layer is named: taking it for one gave a wrong answer). */
static int kwnn__op_entry(kwnn__json entry)
{
    static const char prefix[] = "\"keras.src.ops";
    kwnn__json module, cls, cfg, v, node;
    kwnn__iter it;
    size_t n = sizeof prefix - 1;
    if (kwnn__tf_op_entry(entry)) return 1;
    if (kwnn__get(entry, "module", &module))
        return (size_t)(module.e - module.p) > n && memcmp(module.p, prefix, n) == 0 &&
               (module.p[n] == '"' || module.p[n] == '.');
    /* ... and a call in Keras 3's form ({"args": ...}), not Keras 2's ([[name, node, tensor, {}]]) */
    return kwnn__get(entry, "class_name", &cls) && !kwnn__jstr_is(cls, "InputLayer") &&
           kwnn__get(entry, "config", &cfg) && kwnn__is(cfg, '{') && !kwnn__get(cfg, "trainable", &v) &&
           kwnn__get(entry, "inbound_nodes", &v) && kwnn__begin(v, '[', &it) && kwnn__next(&it, NULL, &node) &&
           kwnn__is(node, '{');
}

/* The kwargs of a tf.keras reference [name, node, tensor, {kwargs}] (p == NULL: none). */
static kwnn__json kwnn__tf_kwargs(kwnn__json ref)
{
    kwnn__iter it;
    kwnn__json el;
    int i;
    el.p = el.e = NULL;
    if (!kwnn__begin(ref, '[', &it)) return el;
    for (i = 0; i < 4 && kwnn__next(&it, NULL, &el); i++) {}
    if (i < 4 || !kwnn__is(el, '{')) el.p = el.e = NULL;
    return el;
}

static int kwnn__is_ref(kwnn__json v)
{
    kwnn__iter it;
    kwnn__json e0, e1;
    return kwnn__begin(v, '[', &it) && kwnn__next(&it, NULL, &e0) && kwnn__is(e0, '"') && kwnn__next(&it, NULL, &e1) &&
           e1.p < e1.e && (*e1.p == '-' || (*e1.p >= '0' && *e1.p <= '9'));
}

/* ["_CONSTANT_VALUE", -1, value, {kwargs}]: tf.keras's constant first argument. */
static int kwnn__tf_const_ref(kwnn__json ref)
{
    kwnn__iter it;
    kwnn__json e0;
    return kwnn__begin(ref, '[', &it) && kwnn__next(&it, NULL, &e0) && kwnn__jstr_is(e0, "_CONSTANT_VALUE");
}

/* The tensors a tf.keras operation call takes: each reference, then those in its kwargs
   ("_CONSTANT_VALUE", a constant first argument, is none).  Only references before `before`
   (NULL: all): the input index of a reference. */
static size_t kwnn__tf_nrefs_before(kwnn__json v, int depth, const char *before)
{
    kwnn__iter it;
    kwnn__json el, k;
    size_t n = 0;
    if (depth > 70 || v.p == NULL || (before != NULL && v.p >= before)) return 0;
    if (kwnn__is_ref(v)) {
        kwnn__begin(v, '[', &it);
        kwnn__next(&it, NULL, &el);
        return (kwnn__jstr_is(el, "_CONSTANT_VALUE") ? 0 : 1) + kwnn__tf_nrefs_before(kwnn__tf_kwargs(v), depth + 1, before);
    }
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) n += kwnn__tf_nrefs_before(el, depth + 1, before);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) n += kwnn__tf_nrefs_before(el, depth + 1, before);
    }
    return n;
}

static size_t kwnn__tf_nrefs(kwnn__json call, int depth) { return kwnn__tf_nrefs_before(call, depth, NULL); }

/* Numbers (and booleans) in v: an upper bound of the constants a call holds. */
static size_t kwnn__op_numbers(kwnn__json v, int depth)
{
    kwnn__iter it;
    kwnn__json el, k;
    size_t n = 0;
    if (depth > 70) return 0;
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) n += kwnn__op_numbers(el, depth + 1);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) n += kwnn__op_numbers(el, depth + 1);
    } else if (v.p < v.e && *v.p != '"' && *v.p != 'n') {
        n = 1;
    }
    return n;
}

static kwnn_result kwnn__op_fail(kwnn__ctx *c, const kwb_layer *L, kwnn_result code, const char *what)
{
    kwnn__fail(c->net, code, NULL, "operation '");
    kwnn__m(c->net, L->name);
    kwnn__m(c->net, "' (");
    kwnn__m(c->net, L->class_name);
    kwnn__m(c->net, "): ");
    kwnn__m(c->net, what);
    return code;
}

/* Pass 1: an operation entry's floats in the parameter area (its struct and
   its constants, each block rounded to 16); one call only. */
static kwnn_result kwnn__op_measure(kwnn__ctx *c, kwnn__json entry, const kwb_layer *owner)
{
    kwnn__json nodes, name;
    size_t n;
    if (kwnn__get(entry, "inbound_nodes", &nodes) && kwnn__count(nodes) > 1) {
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner, "the operation '");
        if (kwnn__entry_name(entry, &name)) kwnn__m_jstr(c->net, name);
        kwnn__m(c->net, "' is called more than once");
        return KWNN_ERR_UNSUPPORTED;
    }
    n = kwnn__get(entry, "inbound_nodes", &nodes) ? kwnn__op_numbers(nodes, 0) : 0;
    if (n > KWNN__SIZE_MAX / 8) return kwnn__oom(c);
    n += KWNN__O_FLOATS + 4 * 16;
    if (!kwnn__add(c->op_floats, n, &c->op_floats)) return kwnn__oom(c);
    return KWNN_OK;
}

/* ---- loading ---- */

/* The shape of a constant (a number, a nested list of numbers, or Keras's
   {"class_name": "__numpy__" | "__tensor__", "config": {"value": ...}}). */
static int kwnn__const_value(kwnn__json v, kwnn__json *value)
{
    kwnn__json cls, cfg;
    if (kwnn__is(v, '{')) {
        if (!kwnn__get(v, "class_name", &cls) ||
            !(kwnn__jstr_is(cls, "__numpy__") || kwnn__jstr_is(cls, "__tensor__")) ||
            !kwnn__get(v, "config", &cfg) || !kwnn__get(cfg, "value", value))
            return 0;
        return 1;
    }
    *value = v;
    return 1;
}

static int kwnn__const_scalar(kwnn__json v, float *out)
{
    double d;
    int b;
    if (kwnn__bool(v, &b)) {
        *out = b ? 1.0f : 0.0f;
        return 1;
    }
    if (!kwnn__num(v, &d)) return 0;
    *out = (float)d;
    return 1;
}

static int kwnn__const_shape(kwnn__json v, size_t *shape, uint32_t *nd)
{
    kwnn__iter it;
    kwnn__json el;
    float f;
    *nd = 0;
    while (kwnn__is(v, '[')) {
        if (*nd >= KWNN_MAX_DIMS) return 0;
        shape[(*nd)++] = kwnn__count(v);
        if (!kwnn__begin(v, '[', &it) || !kwnn__next(&it, NULL, &el)) return 0; /* empty */
        v = el;
    }
    return kwnn__const_scalar(v, &f);
}

/* Flatten a rectangular nested list into dst (NULL: check only). */
static int kwnn__const_fill(kwnn__json v, const size_t *shape, uint32_t nd, uint32_t d, float *dst, size_t *pos)
{
    kwnn__iter it;
    kwnn__json el;
    size_t n = 0;
    if (d == nd) {
        float f;
        if (!kwnn__const_scalar(v, &f)) return 0;
        if (dst != NULL) dst[*pos] = f;
        (*pos)++;
        return 1;
    }
    if (!kwnn__begin(v, '[', &it)) return 0;
    while (kwnn__next(&it, NULL, &el)) {
        if (++n > shape[d] || !kwnn__const_fill(el, shape, nd, d + 1, dst, pos)) return 0;
    }
    return n == shape[d];
}

/* One argument of the call: a tensor (in >= 0), or a constant. */
typedef struct kwnn__oparg {
    int32_t in;
    uint32_t nd;                     /* full rank (a tensor's: with the batch) */
    size_t shape[KWNN_MAX_DIMS + 1]; /* full shape, shape[0] = batch for a tensor */
    kwnn__json value;                /* a constant's */
} kwnn__oparg;

static int kwnn__is_tensor(kwnn__json v)
{
    kwnn__json cls;
    return kwnn__is(v, '{') && kwnn__get(v, "class_name", &cls) && kwnn__jstr_is(cls, "__keras_tensor__");
}

/* Tensor input `in` of the call as an argument. */
static kwnn_result kwnn__op_tensor(kwnn__ctx *c, const kwb_layer *L, size_t in, kwnn__oparg *a)
{
    const struct kwnn__node *x;
    memset(a, 0, sizeof *a);
    if (in >= c->n_ins) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its tensors and inputs disagree");
    x = kwnn__in_node(c, (uint32_t)in);
    a->in = (int32_t)in;
    a->nd = x->nd + 1;
    a->shape[0] = 1;
    memcpy(a->shape + 1, x->shape, sizeof x->shape);
    return KWNN_OK;
}

static kwnn_result kwnn__op_const(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, kwnn__oparg *a);

static kwnn_result kwnn__op_arg(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, uint32_t *next_in, kwnn__oparg *a)
{
    if (kwnn__is_tensor(v)) return kwnn__op_tensor(c, L, (*next_in)++, a);
    return kwnn__op_const(c, L, v, a);
}

/* A constant argument: a number, a nested list, Keras's __numpy__ / __tensor__. */
static kwnn_result kwnn__op_const(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, kwnn__oparg *a)
{
    memset(a, 0, sizeof *a);
    a->in = -1;
    if (!kwnn__const_value(v, &a->value) || !kwnn__const_shape(a->value, a->shape, &a->nd)) {
        kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported argument ");
        kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
        kwnn__m(c->net, " (a tensor or a number or a list of numbers is expected)");
        return KWNN_ERR_UNSUPPORTED;
    }
    {
        size_t pos = 0;
        if (!kwnn__const_fill(a->value, a->shape, a->nd, 0, NULL, &pos))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a constant list is not rectangular");
    }
    return KWNN_OK;
}

/* Contiguous per-sample strides of a shape. */
static void kwnn__strides(const size_t *shape, uint32_t nd, ptrdiff_t *st)
{
    ptrdiff_t s = 1;
    uint32_t d = nd;
    while (d-- > 0) {
        st[d] = s;
        s *= (ptrdiff_t)shape[d];
    }
}

/* The operation's struct: in the parameter area at load; when the shapes are
   given at run time (82_run_shapes.h: fill 0), in the caller's scratch. */
static kwnn_result kwnn__op_struct(kwnn__ctx *c, const kwb_layer *L, struct kwnn__op **o)
{
    float *p;
    kwnn_result r;
    if (!c->fill) {
        if (c->op_store == NULL) return kwnn__op_fail(c, L, KWNN_ERR_INVALID_ARGUMENT, "no room for its arguments");
        *o = c->op_store;
    } else {
        if ((r = kwnn__param(c, KWNN__O_FLOATS, &p)) != KWNN_OK) return r;
        *o = (struct kwnn__op *)(void *)p;
    }
    memset(*o, 0, sizeof **o);
    return KWNN_OK;
}

/* Operand i's constant: written at load; the load's when the shapes change (fill 0). */
static kwnn_result kwnn__op_constant(kwnn__ctx *c, const kwb_layer *L, const kwnn__oparg *a, uint32_t i, size_t count,
                                     const float **k)
{
    float *dst;
    size_t pos = 0;
    kwnn_result r;
    if (!c->fill) {
        if (c->op_base == NULL) return kwnn__op_fail(c, L, KWNN_ERR_INVALID_ARGUMENT, "its constants are gone");
        *k = c->op_base->arg[i].k;
        return KWNN_OK;
    }
    if ((r = kwnn__param(c, count, &dst)) != KWNN_OK) return r;
    if (!kwnn__const_fill(a->value, a->shape, a->nd, 0, dst, &pos))
        return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its constants changed between passes");
    *k = dst;
    return KWNN_OK;
}

/* The broadcast of the arguments (Keras/NumPy: right-aligned, 1 stretches),
   per sample: the tensors' batch axes must meet each other. */
static kwnn_result kwnn__op_broadcast(kwnn__ctx *c, const kwb_layer *L, kwnn__oparg *a, uint32_t n, struct kwnn__op *o)
{
    uint32_t full = 0, i, d;
    size_t shape[KWNN_MAX_DIMS + 1];
    for (i = 0; i < n; i++)
        if (a[i].in >= 0 && a[i].nd > full) full = a[i].nd;
    for (i = 0; i < n; i++) {
        if (a[i].in >= 0 && a[i].nd != full)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED,
                                 "its tensors differ in rank (a batch axis would meet another axis)");
        if (a[i].in < 0 && a[i].nd > full)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a constant has more axes than its tensors");
        if (a[i].in < 0 && a[i].nd == full && a[i].shape[0] != 1)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED,
                                 "a constant's first axis meets the batch axis and is not 1");
    }
    for (d = 0; d < full; d++) shape[d] = 1;
    for (i = 0; i < n; i++)
        for (d = 0; d < a[i].nd; d++) {
            size_t *o_dim = &shape[full - a[i].nd + d], dim = a[i].shape[d];
            if (full - a[i].nd + d == 0) continue; /* the batch */
            if (*o_dim == 1) *o_dim = dim;
            else if (dim != 1 && dim != *o_dim)
                return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "its arguments' shapes do not broadcast together");
        }
    if (full == 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "it takes no tensor");
    o->nd = full - 1;
    for (d = 0; d < o->nd; d++) o->shape[d] = shape[d + 1];
    for (i = 0; i < n; i++) {
        kwnn__operand *p = &o->arg[i];
        ptrdiff_t st[KWNN_MAX_DIMS + 1];
        uint32_t lead = full - a[i].nd;
        kwnn__strides(a[i].shape, a[i].nd, st);
        p->in = a[i].in;
        for (d = 1; d < full; d++)
            p->step[d - 1] = d < lead || a[i].shape[d - lead] == 1 ? 0 : st[d - lead];
        if (a[i].in >= 0) {
            p->count = kwnn__in_node(c, (uint32_t)a[i].in)->count;
        } else {
            size_t cnt = 1;
            kwnn_result r;
            for (d = 0; d < a[i].nd; d++) cnt *= a[i].shape[d];
            if ((r = kwnn__op_constant(c, L, &a[i], i, cnt, &p->k)) != KWNN_OK) return r;
        }
    }
    o->n_args = n;
    return KWNN_OK;
}

/* A Keras axis (counted with the batch, negative from the end) of a rank-`full` tensor as a
   per-sample axis; 0 when it is the batch or out of range. */
static int kwnn__op_axis(kwnn__json v, uint32_t full, uint32_t *out)
{
    long ax;
    if (!kwnn__int(v, &ax)) return 0;
    if (ax < 0) ax += (long)full;
    if (ax < 1 || ax >= (long)full) return 0;
    *out = (uint32_t)ax - 1;
    return 1;
}

static kwnn_result kwnn__op_bad_axis(kwnn__ctx *c, const kwb_layer *L, const char *key, kwnn__json v)
{
    kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported ");
    kwnn__m(c->net, key);
    kwnn__m(c->net, " ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 40 ? 40 : (size_t)(v.e - v.p));
    kwnn__m(c->net, " (the batch axis, or outside the input)");
    return KWNN_ERR_UNSUPPORTED;
}

/* The `axis` config of a reduction (an int or a list) as a bit set of per-sample axes. */
static kwnn_result kwnn__op_axes(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t nd, uint32_t *bits)
{
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t ax;
    *bits = 0;
    if (!kwnn__get(cfg, "axis", &v) || kwnn__null(v))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "axis None reduces over the batch axis too");
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) {
            if (!kwnn__op_axis(el, nd + 1, &ax) || (*bits >> ax & 1u)) return kwnn__op_bad_axis(c, L, "axis", v);
            *bits |= 1u << ax;
        }
        if (*bits == 0) return kwnn__op_bad_axis(c, L, "axis", v);
        return KWNN_OK;
    }
    if (!kwnn__op_axis(v, nd + 1, &ax)) return kwnn__op_bad_axis(c, L, "axis", v);
    *bits = 1u << ax;
    return KWNN_OK;
}

/* Reductions: output = the input's shape without (keepdims: with 1 on) the axes. */
static kwnn_result kwnn__op_reduce(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, struct kwnn__op *o)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    ptrdiff_t st[KWNN_MAX_DIMS];
    uint32_t bits, d;
    int keep = 0;
    kwnn_result r;
    kwnn__json v;
    if ((r = kwnn__op_axes(c, L, cfg, x->nd, &bits)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "keepdims", NULL, 0, &keep)) != KWNN_OK)
        return r;
    if (kwnn__get(cfg, "initial", &v) && !kwnn__null(v)) {
        double init;
        if (!kwnn__num(v, &init)) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "initial is not a number");
        o->lo = (float)init;
        o->has_init = 1;
    }
    kwnn__strides(x->shape, x->nd, st);
    o->arg[0].in = 0;
    o->arg[0].count = x->count;
    o->n_args = 1;
    o->rcount = 1;
    for (d = 0; d < x->nd; d++) {
        if (bits >> d & 1u) {
            o->rshape[o->rnd] = x->shape[d];
            o->arg[0].rstep[o->rnd++] = st[d];
            o->rcount *= x->shape[d];
            if (keep) o->arg[0].step[o->nd] = 0, o->shape[o->nd++] = 1;
        } else {
            o->arg[0].step[o->nd] = st[d];
            o->shape[o->nd++] = x->shape[d];
        }
    }
    return KWNN_OK;
}

/* matmul: tensor @ tensor of one rank >= 2 (per sample; the leading axes
   broadcast), or tensor @ constant vector (k,) or matrix (k, m). */
static kwnn_result kwnn__op_matmul(kwnn__ctx *c, const kwb_layer *L, kwnn__oparg *a, struct kwnn__op *o)
{
    uint32_t d, lead;
    ptrdiff_t sa[KWNN_MAX_DIMS + 1], sb[KWNN_MAX_DIMS + 1];
    size_t k;
    if (a[0].in < 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a constant first argument");
    kwnn__strides(a[0].shape + 1, a[0].nd - 1, sa);
    if (a[0].nd < 2) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a first argument without features");
    k = a[0].shape[a[0].nd - 1];
    o->arg[0].in = a[0].in;
    o->arg[0].count = kwnn__in_node(c, (uint32_t)a[0].in)->count;
    o->n_args = 2;
    o->rnd = 1;
    o->rshape[0] = o->rcount = k;
    o->arg[0].rstep[0] = 1;
    if (a[1].in < 0) { /* x (..., k) @ W (k,) or (k, m) */
        size_t m = a[1].nd == 2 ? a[1].shape[1] : 1;
        kwnn_result r;
        if (a[1].nd < 1 || a[1].nd > 2 || a[1].shape[0] != k)
            return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "the constant is not a (k,) vector or (k, m) matrix");
        o->nd = a[0].nd - 2;
        for (d = 0; d < o->nd; d++) {
            o->shape[d] = a[0].shape[d + 1];
            o->arg[0].step[d] = sa[d];
        }
        if (a[1].nd == 2) {
            o->shape[o->nd] = m;
            o->arg[1].step[o->nd++] = 1;
        }
        if (o->nd + 1 > KWNN_MAX_DIMS + 1) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its constants changed between passes");
        if ((r = kwnn__op_constant(c, L, &a[1], 1, k * m, &o->arg[1].k)) != KWNN_OK) return r;
        o->arg[1].in = -1;
        o->arg[1].rstep[0] = (ptrdiff_t)m;
        return KWNN_OK;
    }
    if (a[0].nd != a[1].nd || a[0].nd < 3)
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED,
                             "two tensors of different ranks or without matrix axes (per sample)");
    kwnn__strides(a[1].shape + 1, a[1].nd - 1, sb);
    if (o->transpose_b) { /* tf.matmul(transpose_b=True): b is (..., m, k) */
        size_t t = a[1].shape[a[1].nd - 1];
        ptrdiff_t ts = sb[a[1].nd - 2];
        a[1].shape[a[1].nd - 1] = a[1].shape[a[1].nd - 2];
        a[1].shape[a[1].nd - 2] = t;
        sb[a[1].nd - 2] = sb[a[1].nd - 3];
        sb[a[1].nd - 3] = ts;
    }
    if (a[1].shape[a[1].nd - 2] != k)
        return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "the inner dimensions differ");
    lead = a[0].nd - 3; /* per-sample axes before the matrices */
    for (d = 0; d < lead; d++) {
        size_t da = a[0].shape[d + 1], db = a[1].shape[d + 1];
        if (da != db && da != 1 && db != 1)
            return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "the leading axes do not broadcast together");
        o->shape[d] = da > db ? da : db;
        o->arg[0].step[d] = da == 1 ? 0 : sa[d];
        o->arg[1].step[d] = db == 1 ? 0 : sb[d];
    }
    o->shape[lead] = a[0].shape[a[0].nd - 2];
    o->arg[0].step[lead] = (ptrdiff_t)k;
    o->shape[lead + 1] = a[1].shape[a[1].nd - 1];
    o->arg[1].step[lead + 1] = sb[a[1].nd - 2];
    o->nd = lead + 2;
    o->arg[1].in = a[1].in;
    o->arg[1].count = kwnn__in_node(c, (uint32_t)a[1].in)->count;
    o->arg[1].rstep[0] = sb[a[1].nd - 3];
    return KWNN_OK;
}

/* One bound of a slice as Python's slice.indices clamps it (null: dflt). */
static int kwnn__slice_bound(kwnn__json cfg, const char *key, long n, long step, long dflt, long *out)
{
    kwnn__json v;
    long b;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) {
        *out = dflt;
        return 1;
    }
    if (!kwnn__int(v, &b)) return 0;
    if (b < 0) b += n;
    if (b < 0) b = step > 0 ? 0 : -1;
    if (b >= n) b = step > 0 ? n : n - 1;
    *out = b;
    return 1;
}

/* Python's slice.indices(n): *start, *step and the length of the range. */
static int kwnn__slice(kwnn__json sl, size_t n, long *start, long *step, size_t *len)
{
    kwnn__json cfg, v;
    long b, e, s = 1, ln = (long)n;
    if (!kwnn__get(sl, "config", &cfg)) cfg = sl; /* tf.keras: {"start", "stop", "step"} */
    if (kwnn__get(cfg, "step", &v) && !kwnn__null(v) && (!kwnn__int(v, &s) || s == 0)) return 0;
    if (!kwnn__slice_bound(cfg, "start", ln, s, s > 0 ? 0 : ln - 1, &b) ||
        !kwnn__slice_bound(cfg, "stop", ln, s, s > 0 ? ln : -1, &e))
        return 0;
    *start = b;
    *step = s;
    if (s > 0) *len = e > b ? (size_t)((e - b + s - 1) / s) : 0;
    else *len = b > e ? (size_t)((b - e - s - 1) / -s) : 0;
    return 1;
}

static int kwnn__key_is(kwnn__json v, const char *cls_name)
{
    kwnn__json cls;
    if (strcmp(cls_name, "__slice__") == 0 && kwnn__is(v, '{') && !kwnn__get(v, "class_name", &cls))
        return kwnn__get(v, "start", &cls); /* tf.keras writes a slice as its config alone */
    return kwnn__is(v, '{') && kwnn__get(v, "class_name", &cls) && kwnn__jstr_is(cls, cls_name);
}

static kwnn_result kwnn__op_bad_key(kwnn__ctx *c, const kwb_layer *L, kwnn__json key, const char *why)
{
    kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported index ");
    kwnn__m_raw(c->net, key.p, (size_t)(key.e - key.p) > 60 ? 60 : (size_t)(key.e - key.p));
    kwnn__m(c->net, ": ");
    kwnn__m(c->net, why);
    return KWNN_ERR_UNSUPPORTED;
}

/* x[key]: integers (negative from the end), slices with constant start,
   stop and step, one Ellipsis, None (a new axis of 1).  The batch axis must
   be kept whole. */
static kwnn_result kwnn__op_getitem(kwnn__ctx *c, const kwb_layer *L, kwnn__json key, struct kwnn__op *o)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json items[KWNN_MAX_DIMS + 2], el;
    kwnn__iter it;
    ptrdiff_t st[KWNN_MAX_DIMS];
    uint32_t n = 0, i, axis = 0, consuming = 0, full = x->nd + 1, ell = 0;
    int batch_done = 0;
    kwnn__operand *p = &o->arg[0];
    if (kwnn__begin(key, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) {
            if (n >= KWNN_MAX_DIMS + 2) return kwnn__op_bad_key(c, L, key, "too many indices");
            items[n++] = el;
        }
    } else {
        items[n++] = key;
    }
    for (i = 0; i < n; i++) {
        if (kwnn__key_is(items[i], "__ellipsis__")) ell++;
        else if (!kwnn__null(items[i])) consuming++;
    }
    if (ell > 1 || consuming > full) return kwnn__op_bad_key(c, L, key, "more indices than axes");
    kwnn__strides(x->shape, x->nd, st);
    p->in = 0;
    p->count = x->count;
    o->n_args = 1;
    for (i = 0; i <= n; i++) {
        kwnn__json k;
        if (i == n) { /* an implicit Ellipsis at the end */
            if (ell) break;
            k.p = "{\"class_name\": \"__ellipsis__\"}";
            k.e = k.p + strlen(k.p);
        } else {
            k = items[i];
        }
        if (kwnn__key_is(k, "__ellipsis__")) {
            uint32_t keep = full - consuming, j;
            for (j = 0; j < keep; j++, axis++) {
                if (axis == 0) {
                    batch_done = 1;
                    continue;
                }
                if (o->nd >= KWNN_MAX_DIMS) return kwnn__op_bad_key(c, L, key, "more than 8 axes");
                o->shape[o->nd] = x->shape[axis - 1];
                p->step[o->nd++] = st[axis - 1];
            }
            consuming = full; /* consumed */
            continue;
        }
        if (kwnn__null(k)) {
            if (!batch_done) return kwnn__op_bad_key(c, L, key, "a new axis before the batch axis");
            if (o->nd >= KWNN_MAX_DIMS) return kwnn__op_bad_key(c, L, key, "more than 8 axes");
            o->shape[o->nd] = 1;
            p->step[o->nd++] = 0;
            continue;
        }
        if (axis >= full) return kwnn__op_bad_key(c, L, key, "more indices than axes");
        if (axis == 0) { /* the batch: only ':' */
            kwnn__json cfg, v;
            const char *const parts[] = {"start", "stop", "step"};
            int j;
            if (!kwnn__key_is(k, "__slice__")) return kwnn__op_bad_key(c, L, key, "it indexes the batch axis");
            if (!kwnn__get(k, "config", &cfg)) cfg = k;
            for (j = 0; j < 3; j++)
                if (kwnn__get(cfg, parts[j], &v) && !kwnn__null(v))
                    return kwnn__op_bad_key(c, L, key, "it slices the batch axis");
            batch_done = 1;
            axis++;
            continue;
        }
        if (kwnn__key_is(k, "__slice__")) {
            long start, step;
            size_t len;
            if (!kwnn__slice(k, x->shape[axis - 1], &start, &step, &len))
                return kwnn__op_bad_key(c, L, key, "a slice with a step of 0 or a bound that is not an integer");
            if (len == 0) return kwnn__op_bad_key(c, L, key, "an empty slice");
            if (o->nd >= KWNN_MAX_DIMS) return kwnn__op_bad_key(c, L, key, "more than 8 axes");
            p->off += (ptrdiff_t)start * st[axis - 1];
            o->shape[o->nd] = len;
            p->step[o->nd++] = (ptrdiff_t)step * st[axis - 1];
            axis++;
            continue;
        }
        {
            long idx;
            long dim = (long)x->shape[axis - 1];
            if (!kwnn__int(k, &idx)) return kwnn__op_bad_key(c, L, key, "an index that is not an integer or a slice");
            if (idx < 0) idx += dim;
            if (idx < 0 || idx >= dim) return kwnn__op_bad_key(c, L, key, "an index out of range");
            p->off += (ptrdiff_t)idx * st[axis - 1];
            axis++;
        }
    }
    return KWNN_OK;
}

/* reshape: newshape counted with the batch, which must stay first (-1 or None). */
static kwnn_result kwnn__op_reshape(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t n = 0, free_at = KWNN_MAX_DIMS;
    size_t known = 1;
    long d;
    if (!(kwnn__get(cfg, "newshape", &v) || kwnn__get(cfg, "shape", &v)) || !kwnn__begin(v, '[', &it)) /* tf: shape */
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "newshape is not a list");
    if (!kwnn__next(&it, NULL, &el) || !(kwnn__null(el) || (kwnn__int(el, &d) && d == -1)))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "newshape does not keep the batch first (-1)");
    while (kwnn__next(&it, NULL, &el)) {
        if (n >= KWNN_MAX_DIMS || !kwnn__int(el, &d) || d < -1 || d == 0 || (d == -1 && free_at != KWNN_MAX_DIMS))
            return kwnn__bad_key(c, L, "newshape", v, "the batch (-1), then positive sizes and at most one -1");
        if (d == -1) {
            free_at = n;
            c->shape[n++] = 1;
        } else {
            c->shape[n++] = (size_t)d;
            if (!kwnn__mul(known, (size_t)d, &known)) return kwnn__oom(c);
        }
    }
    if (free_at != KWNN_MAX_DIMS) {
        if (x->count % known != 0) return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "newshape does not fit the input");
        c->shape[free_at] = x->count / known;
        known = x->count;
    }
    if (known != x->count) return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "newshape does not fit the input");
    c->nd = n;
    out->kind = KWNN_LAYER_RESHAPE;
    return KWNN_OK;
}

/* expand_dims / squeeze: axes of the output / input, never the batch. */
static kwnn_result kwnn__op_dims(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int expand)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t bits = 0, ax, full, d, n = 0, k = 0;
    if (!kwnn__get(cfg, "axis", &v) || kwnn__null(v))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "axis None (it would reach the batch axis)");
    full = x->nd + 1;
    if (expand) full += kwnn__is(v, '[') ? (uint32_t)kwnn__count(v) : 1;
    if (full > KWNN_MAX_DIMS + 1) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more than 8 axes");
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el)) {
            if (!kwnn__op_axis(el, full, &ax) || (bits >> ax & 1u)) return kwnn__op_bad_axis(c, L, "axis", v);
            bits |= 1u << ax;
        }
    } else {
        if (!kwnn__op_axis(v, full, &ax)) return kwnn__op_bad_axis(c, L, "axis", v);
        bits = 1u << ax;
    }
    for (d = 0; d < full - 1; d++) {
        if (expand) {
            c->shape[d] = bits >> d & 1u ? 1 : x->shape[k++];
            n++;
        } else if (bits >> d & 1u) {
            if (x->shape[d] != 1) return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "squeezes an axis whose size is not 1");
        } else {
            c->shape[n++] = x->shape[d];
        }
    }
    c->nd = n;
    out->kind = KWNN_LAYER_RESHAPE;
    return KWNN_OK;
}

/* transpose: axes must keep the batch first. */
static kwnn_result kwnn__op_transpose(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, struct kwnn__op *o)
{
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    kwnn__json v, el;
    kwnn__iter it;
    ptrdiff_t st[KWNN_MAX_DIMS];
    uint32_t n = 0, ax, seen = 0;
    long first;
    if (!(kwnn__get(cfg, "axes", &v) || kwnn__get(cfg, "perm", &v)) || !kwnn__begin(v, '[', &it)) /* tf: perm */
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "axes None (it moves the batch axis)");
    if (kwnn__count(v) != x->nd + 1 || !kwnn__next(&it, NULL, &el) || !kwnn__int(el, &first) ||
        (first != 0 && first != -(long)(x->nd + 1)))
        return kwnn__op_bad_axis(c, L, "axes", v);
    kwnn__strides(x->shape, x->nd, st);
    while (kwnn__next(&it, NULL, &el)) {
        if (!kwnn__op_axis(el, x->nd + 1, &ax) || (seen >> ax & 1u)) return kwnn__op_bad_axis(c, L, "axes", v);
        seen |= 1u << ax;
        o->shape[n] = x->shape[ax];
        o->arg[0].step[n++] = st[ax];
    }
    o->nd = n;
    o->n_args = 1;
    o->arg[0].in = 0;
    o->arg[0].count = x->count;
    return KWNN_OK;
}

/* concatenate / stack: args[0] is the list of tensors (constants refused). */
static kwnn_result kwnn__op_join(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn__json list, kwnn_layer *out,
                                 int stack)
{
    kwnn__iter it;
    kwnn__json el, v;
    uint32_t i, ax;
    const struct kwnn__node *x0 = kwnn__in_node(c, 0);
    if (!kwnn__begin(list, '[', &it)) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "its argument is not a list");
    while (kwnn__next(&it, NULL, &el))
        if (!kwnn__is_tensor(el) && !(kwnn__is_ref(el) && !kwnn__tf_const_ref(el)))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "joins a constant");
    if (!kwnn__get(cfg, "axis", &v) || kwnn__null(v)) return kwnn__op_bad_axis(c, L, "axis", cfg);
    if (!stack) return kwnn__concat(c, L, cfg, out, 0); /* 41_merge.h: axis counted with the batch */
    if (x0->nd + 1 > KWNN_MAX_DIMS) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more than 8 axes");
    if (!kwnn__op_axis(v, x0->nd + 2, &ax)) return kwnn__op_bad_axis(c, L, "axis", v);
    for (i = 1; i < c->n_ins; i++)
        if (kwnn__in_node(c, i)->nd != x0->nd ||
            memcmp(kwnn__in_node(c, i)->shape, x0->shape, x0->nd * sizeof(size_t)) != 0)
            return kwnn__op_fail(c, L, KWNN_ERR_SHAPE, "stacks tensors of different shapes");
    for (i = 0; i < x0->nd; i++) c->shape[i < ax ? i : i + 1] = x0->shape[i];
    c->shape[ax] = c->n_ins;
    c->nd = x0->nd + 1;
    out->kind = KWNN_LAYER_CONCAT;
    out->units = ax;
    return KWNN_OK;
}

/* An activation given as an operation (keras.ops.relu, gelu, ...): its class in
   snake case is the activation's name; the config holds its arguments. */
static kwnn_result kwnn__op_activation(kwnn__ctx *c, const kwb_layer *L, const char *s, kwnn__json cfg,
                                       int gelu_approximate, kwnn_layer *out, int *found)
{
    char name[40];
    size_t n = 1, i;
    kwnn__json v;
    *found = 0;
    name[0] = '"';
    for (i = 0; s[i] != '\0' && n < sizeof name - 3; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z') {
            if (i > 0) name[n++] = '_';
            ch = (char)(ch - 'A' + 'a');
        }
        name[n++] = ch;
    }
    if (s[i] != '\0') return KWNN_OK;
    name[n++] = '"';
    name[n] = '\0';
    v.p = name;
    v.e = name + n;
    for (i = 0; i < KWNN__N_ACTS; i++)
        if (kwnn__jstr_is(v, kwnn__acts[i].name)) break;
    if (i == KWNN__N_ACTS) return KWNN_OK;
    *found = 1;
    {
        /* the arguments kwnn__activation reads, under the keys keras.ops uses */
        kwnn_result r;
        kwnn__act_init(&out->act, kwnn__acts[i].kind, kwnn__acts[i].a);
        if (out->act.kind == KWNN_ACT_HARD_SIGMOID && c->legacy) out->act.kind = KWNN_ACT_HARD_SIGMOID_K2;
        if (out->act.kind == KWNN_ACT_GELU) { /* keras.ops.gelu: approximate defaults to true, tf's false */
            int b;
            if ((r = kwnn__cfg_bool(c, L, cfg, "approximate", NULL, gelu_approximate, &b)) != KWNN_OK) return r;
            if (b) out->act.kind = KWNN_ACT_GELU_TANH;
        } else {
            kwnn_activation a;
            a = out->act;
            switch (a.kind) {
            case KWNN_ACT_LEAKY_RELU: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "negative_slope", "alpha", 0.2, &x)) != KWNN_OK) return r;
                a.a = (float)x;
                break;
            }
            case KWNN_ACT_ELU: case KWNN_ACT_CELU: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "alpha", NULL, 1.0, &x)) != KWNN_OK) return r;
                if (a.kind == KWNN_ACT_CELU && (float)x == 0.0f)
                    return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "celu with alpha 0");
                a.a = (float)x;
                break;
            }
            case KWNN_ACT_SOFT_SHRINK: case KWNN_ACT_HARD_SHRINK: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "threshold", NULL, 0.5, &x)) != KWNN_OK) return r;
                a.a = (float)x;
                break;
            }
            case KWNN_ACT_SQUAREPLUS: {
                double x;
                if ((r = kwnn__cfg_num(c, L, cfg, "b", NULL, 4.0, &x)) != KWNN_OK) return r;
                a.a = (float)x;
                break;
            }
            default: break;
            }
            out->act = a;
        }
    }
    out->kind = KWNN_LAYER_ACTIVATION;
    memcpy(c->shape, kwnn__in_node(c, 0)->shape, sizeof c->shape);
    c->nd = kwnn__in_node(c, 0)->nd;
    return KWNN_OK;
}

static kwnn__json kwnn__call_args(kwnn__json call);            /* 60_graph.h */
static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);         /* 51_cost.h */
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);
static int kwnn__call_kwargs(kwnn__json call, kwnn__json *kw); /* 60_graph.h */

/* Clip bounds, softmax axis, cast dtype: the small families. */
static kwnn_result kwnn__op_clip(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, struct kwnn__op *o)
{
    static const char *const keys[] = {"x_min", "x_max", "clip_value_min", "clip_value_max"}; /* Keras 3, tf */
    float *dst[2];
    int i;
    dst[0] = &o->lo;
    dst[1] = &o->hi;
    o->lo = -HUGE_VALF;
    o->hi = HUGE_VALF;
    for (i = 0; i < 4; i++) {
        kwnn__json v;
        double d;
        if (!kwnn__get(cfg, keys[i], &v) || kwnn__null(v)) continue;
        if (!kwnn__num(v, &d)) return kwnn__bad_key(c, L, keys[i], v, "a number");
        *dst[i % 2] = (float)d;
    }
    return KWNN_OK;
}

static kwnn_result kwnn__op_cast(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, struct kwnn__op *o)
{
    static const char *const ints[] = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"};
    kwnn__json v;
    size_t i;
    int on = 0;
    if (strcmp(L->class_name, "ConvertToTensor") == 0) { /* convert_to_tensor(x, dtype, sparse, ragged) */
        if ((kwnn__get(cfg, "sparse", &v) && !kwnn__null(v) && (!kwnn__bool(v, &on) || on)) ||
            (kwnn__get(cfg, "ragged", &v) && !kwnn__null(v) && (!kwnn__bool(v, &on) || on)))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported sparse or ragged tensor");
        if (!kwnn__get(cfg, "dtype", &v) || kwnn__null(v)) { /* Keras 3 passes a mask through one: as it is */
            out->kind = KWNN_LAYER_IDENTITY;
            return KWNN_OK;
        }
    }
    if (!kwnn__get(cfg, "dtype", &v) || !kwnn__is(v, '"')) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "no dtype");
    if (kwnn__jstr_is(v, "float32") || kwnn__jstr_is(v, "float64")) {
        out->kind = KWNN_LAYER_IDENTITY;
        return KWNN_OK;
    }
    if (kwnn__jstr_is(v, "bool")) {
        o->code = KWNN__O_BOOL;
        return KWNN_OK;
    }
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (kwnn__jstr_is(v, ints[i])) {
            o->code = KWNN__O_TRUNC; /* float to integer: toward zero (values out of range differ) */
            return KWNN_OK;
        }
    return kwnn__unsupported_value(c, L, "cast dtype", v);
}

/* One argument per slot, tensors resolved to the call's inputs in order. */
static kwnn_result kwnn__op_args(kwnn__ctx *c, const kwb_layer *L, kwnn__json args, kwnn__oparg *a, uint32_t want)
{
    kwnn__iter it;
    kwnn__json el;
    uint32_t n = 0, next_in = 0, tensors = 0;
    kwnn_result r;
    if (!kwnn__begin(args, '[', &it)) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its arguments are not a list");
    while (kwnn__next(&it, NULL, &el)) {
        if (n >= want) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more arguments than it takes");
        if ((r = kwnn__op_arg(c, L, el, &next_in, &a[n])) != KWNN_OK) return r;
        if (a[n++].in >= 0) tensors++;
    }
    if (n != want) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "fewer arguments than it takes");
    if (tensors == 0 || next_in != c->n_ins)
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "its tensors are not among its arguments");
    return KWNN_OK;
}

/* tf.keras's functions (TFOpLambda's config "function") as the Keras 3 operations they are. */
static const char *const kwnn__tf_functions[][2] = {
    {"math.multiply", "Multiply"}, {"__operators__.add", "Add"}, {"math.add", "Add"},
    {"math.subtract", "Subtract"}, {"math.truediv", "TrueDivide"}, {"math.divide", "Divide"},
    {"math.pow", "Power"}, {"math.minimum", "Minimum"}, {"math.maximum", "Maximum"},
    {"math.equal", "Equal"}, {"math.not_equal", "NotEqual"}, {"math.greater", "Greater"},
    {"math.greater_equal", "GreaterEqual"}, {"math.less", "Less"}, {"math.less_equal", "LessEqual"},
    {"math.logical_and", "LogicalAnd"}, {"math.logical_or", "LogicalOr"}, {"math.logical_not", "LogicalNot"},
    {"where", "Where"}, {"math.negative", "Negative"}, {"math.abs", "Absolute"}, {"math.square", "Square"},
    {"math.sqrt", "Sqrt"}, {"math.exp", "Exp"}, {"math.log", "Log"}, {"clip_by_value", "Clip"},
    {"math.sign", "Sign"}, {"math.floor", "Floor"}, {"math.ceil", "Ceil"}, {"math.reciprocal", "Reciprocal"},
    {"math.rsqrt", "Rsqrt"}, {"math.log1p", "Log1p"}, {"math.expm1", "Expm1"}, {"math.reduce_sum", "Sum"},
    {"math.reduce_mean", "Mean"}, {"math.reduce_max", "Max"}, {"math.reduce_min", "Min"},
    {"math.reduce_any", "Any"}, {"math.reduce_all", "All"}, {"math.reduce_std", "Std"},
    {"math.reduce_variance", "Var"}, {"linalg.matmul", "Matmul"}, {"matmul", "Matmul"},
    {"nn.softmax", "Softmax"}, {"math.softmax", "Softmax"}, {"nn.log_softmax", "LogSoftmax"},
    {"reshape", "Reshape"}, {"expand_dims", "ExpandDims"}, {"compat.v1.squeeze", "Squeeze"},
    {"squeeze", "Squeeze"}, {"compat.v1.transpose", "Transpose"}, {"transpose", "Transpose"},
    {"concat", "Concatenate"}, {"stack", "Stack"}, {"__operators__.getitem", "GetItem"}, {"cast", "Cast"},
    {"identity", "StopGradient"}, {"stop_gradient", "StopGradient"}, {"nn.relu", "Relu"}, {"nn.relu6", "Relu6"},
    {"math.sigmoid", "Sigmoid"}, {"nn.sigmoid", "Sigmoid"}, {"math.tanh", "Tanh"}, {"nn.tanh", "Tanh"},
    {"nn.gelu", "Gelu"}, {"nn.silu", "Silu"}, {"nn.swish", "Silu"}, {"nn.elu", "Elu"}, {"nn.selu", "Selu"},
    {"nn.softplus", "Softplus"}, {"math.softplus", "Softplus"}, {"nn.softsign", "Softsign"},
    {"math.softsign", "Softsign"}, {"nn.leaky_relu", "LeakyRelu"}};

/* One argument of a tf.keras call: a reference (its input index: the references before it), the
   value of a "_CONSTANT_VALUE" one, or a constant in the kwargs. */
static kwnn_result kwnn__tf_arg(kwnn__ctx *c, const kwb_layer *L, kwnn__json call, kwnn__json v, kwnn__oparg *a)
{
    kwnn__iter it;
    kwnn__json el;
    if (v.p == NULL) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "an argument is missing");
    if (!kwnn__is_ref(v)) return kwnn__op_const(c, L, v, a);
    if (!kwnn__tf_const_ref(v)) return kwnn__op_tensor(c, L, kwnn__tf_nrefs_before(call, 0, v.p), a);
    kwnn__begin(v, '[', &it);
    kwnn__next(&it, NULL, &el);
    kwnn__next(&it, NULL, &el);
    kwnn__next(&it, NULL, &el);
    return kwnn__op_const(c, L, el, a);
}

/* The arguments of a tf.keras call: the first reference, then kwargs y (where: x, y; matmul: b). */
static kwnn_result kwnn__tf_args(kwnn__ctx *c, const kwb_layer *L, kwnn__json call, kwnn__json first, kwnn__json kw,
                                 int code, kwnn__oparg *a, uint32_t want)
{
    static const char *const keys[3][2] = {{"y", NULL}, {"x", "y"}, {"b", NULL}};
    kwnn__json v;
    uint32_t i, tensors = 0;
    kwnn_result r;
    int row = code == KWNN__O_WHERE ? 1 : code == KWNN__O_MATMUL ? 2 : 0;
    for (i = 0; i < want; i++) {
        if (i == 0) v = first;
        else if (!kwnn__get(kw, keys[row][i - 1], &v)) v.p = v.e = NULL;
        if ((r = kwnn__tf_arg(c, L, call, v, &a[i])) != KWNN_OK) return r;
        if (a[i].in >= 0) tensors++;
    }
    if (tensors == 0 || tensors != c->n_ins)
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "its tensors are not among its arguments");
    return KWNN_OK;
}

/* Load an operation node (c->op_call: its call, c->ins: its tensors): Keras 3's, or tf.keras's
   TFOpLambda / SlicingOpLambda (its function mapped onto the same operations, its options and
   other arguments in the kwargs of its first reference). */
static kwnn_result kwnn__load_op(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char empty[] = "{}";
    kwnn__json call = c->op_call, args, kw, k, el, tkw;
    kwnn__iter it = {NULL, NULL}; /* the Keras 3 arguments after the first */
    kwnn__oparg a[3];
    const kwnn__op_name *nm = NULL;
    struct kwnn__op *o = NULL;
    kwnn_result r;
    size_t i;
    uint32_t first = 0;
    int tf = strcmp(L->class_name, "TFOpLambda") == 0 || strcmp(L->class_name, "SlicingOpLambda") == 0, one;
    const char *cls = L->class_name;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    args = kwnn__call_args(call);
    if (tf) {
        kwnn__json fn;
        if (!kwnn__get(cfg, "function", &fn)) return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "no function");
        for (i = 0, cls = NULL; i < sizeof kwnn__tf_functions / sizeof kwnn__tf_functions[0]; i++)
            if (kwnn__jstr_is(fn, kwnn__tf_functions[i][0])) cls = kwnn__tf_functions[i][1];
        if (cls == NULL) {
            kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported function ");
            kwnn__m_jstr(c->net, fn);
            return KWNN_ERR_UNSUPPORTED;
        }
        el = call; /* the first reference: the call itself, or the first of a list */
        if (!kwnn__is_ref(el) && !(kwnn__begin(call, '[', &it) && kwnn__next(&it, NULL, &el) && kwnn__is_ref(el)))
            return kwnn__op_fail(c, L, KWNN_ERR_BAD_CONFIG, "its call is not a list of references");
        tkw = kwnn__tf_kwargs(el);
        if (tkw.p == NULL) {
            tkw.p = empty;
            tkw.e = empty + 2;
        }
        cfg = tkw; /* axis, keepdims, shape, perm, dtype, ... */
        one = c->n_ins == 1 && kwnn__is_ref(call) && !kwnn__tf_const_ref(call);
        for (i = 0; i < 3; i++) { /* options tf computes and this code does not */
            static const char *const no[] = {"transpose_a", "adjoint_a", "adjoint_b"};
            int on = 0;
            if (kwnn__get(tkw, no[i], &k) && kwnn__bool(k, &on) && on) {
                kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported ");
                kwnn__m(c->net, no[i]);
                kwnn__m(c->net, " true");
                return KWNN_ERR_UNSUPPORTED;
            }
        }
    } else {
        if (kwnn__call_kwargs(call, &kw) && kwnn__begin(kw, '{', &it) && kwnn__next(&it, &k, &el)) {
            kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported keyword argument ");
            kwnn__m_jstr(c->net, k);
            return KWNN_ERR_UNSUPPORTED;
        }
        if (!kwnn__begin(args, '[', &it) || !kwnn__next(&it, NULL, &el) || c->n_ins == 0)
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "it takes no tensor");
        tkw = cfg;
        one = c->n_ins == 1 && kwnn__is_tensor(el);
    }
    if (c->n_ins == 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "it takes no tensor");
    for (i = 0; i < KWNN__N_OP_NAMES; i++)
        if (strcmp(cls, kwnn__op_names[i].name) == 0) nm = &kwnn__op_names[i];
    if (nm == NULL) {
        int found;
        if ((r = kwnn__op_activation(c, L, cls, cfg, !tf, out, &found)) != KWNN_OK) return r;
        if (found && one) return KWNN_OK;
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "unsupported operation");
    }
    if (nm->code >= KWNN__O_RESHAPE && nm->code != KWNN__O_CONCAT && nm->code != KWNN__O_STACK &&
        nm->code != KWNN__O_GETITEM && (!one || (!tf && kwnn__next(&it, NULL, &k))))
        return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "takes one tensor and nothing else");
    switch (nm->code) {
    case KWNN__O_RESHAPE: return kwnn__op_reshape(c, L, cfg, out);
    case KWNN__O_EXPAND: return kwnn__op_dims(c, L, cfg, out, 1);
    case KWNN__O_SQUEEZE: return kwnn__op_dims(c, L, cfg, out, 0);
    case KWNN__O_IDENTITY: out->kind = KWNN_LAYER_IDENTITY; return KWNN_OK;
    case KWNN__O_CONCAT: case KWNN__O_STACK:
        if (!tf && kwnn__next(&it, NULL, &k))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "more arguments than it takes");
        return kwnn__op_join(c, L, cfg, tf ? call : el, out, nm->code == KWNN__O_STACK);
    default: break;
    }
    if ((r = kwnn__op_struct(c, L, &o)) != KWNN_OK) return r;
    o->code = nm->code;
    out->kind = KWNN_LAYER_OP;
    out->op_args = o;
    switch (nm->code) {
    case KWNN__O_CAST:
        if ((r = kwnn__op_cast(c, L, cfg, out, o)) != KWNN_OK || out->kind != KWNN_LAYER_OP) return r;
        first = 1;
        break;
    case KWNN__O_TRANSPOSE: r = kwnn__op_transpose(c, L, cfg, o); break;
    case KWNN__O_SUM: case KWNN__O_MEAN: case KWNN__O_RMAX: case KWNN__O_RMIN: case KWNN__O_ANY: case KWNN__O_ALL:
    case KWNN__O_STD: case KWNN__O_VAR:
        r = kwnn__op_reduce(c, L, cfg, o);
        break;
    case KWNN__O_GETITEM:
        if (tf ? (!one || !kwnn__get(tkw, "slice_spec", &k))
               : (!one || !kwnn__next(&it, NULL, &k) || kwnn__next(&it, NULL, &el)))
            return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "takes a tensor and a constant index");
        r = kwnn__op_getitem(c, L, k, o);
        o->code = KWNN__O_COPY;
        break;
    case KWNN__O_SOFTMAX: case KWNN__O_LOG_SOFTMAX: {
        const struct kwnn__node *x = kwnn__in_node(c, 0);
        kwnn__json v;
        uint32_t ax = x->nd > 0 ? x->nd - 1 : 0, d;
        if (kwnn__get(cfg, "axis", &v) && !kwnn__null(v) && !kwnn__op_axis(v, x->nd + 1, &ax))
            return kwnn__op_bad_axis(c, L, "axis", v);
        if (x->nd == 0) return kwnn__op_fail(c, L, KWNN_ERR_UNSUPPORTED, "a softmax over the batch axis");
        if (ax == x->nd - 1) { /* the Activation runner's softmax (the last axis) */
            kwnn__act_init(&out->act, nm->code == KWNN__O_SOFTMAX ? KWNN_ACT_SOFTMAX : KWNN_ACT_LOG_SOFTMAX, 0.0f);
            out->kind = KWNN_LAYER_ACTIVATION;
            out->op_args = NULL;
            memcpy(c->shape, x->shape, sizeof c->shape);
            c->nd = x->nd;
            return KWNN_OK;
        }
        o->rshape[0] = o->rshape[1] = o->rshape[2] = 1; /* pre, K, post */
        for (d = 0; d < x->nd; d++) o->rshape[d < ax ? 0 : d == ax ? 1 : 2] *= x->shape[d];
        first = 1;
        break;
    }
    case KWNN__O_MATMUL:
        if (tf && (r = kwnn__cfg_bool(c, L, tkw, "transpose_b", NULL, 0, &o->transpose_b)) != KWNN_OK) return r;
        r = tf ? kwnn__tf_args(c, L, call, el, tkw, nm->code, a, 2) : kwnn__op_args(c, L, args, a, 2);
        if (r != KWNN_OK) return r;
        r = kwnn__op_matmul(c, L, a, o);
        break;
    default: /* elementwise */
        if (nm->code == KWNN__O_CLIP && (r = kwnn__op_clip(c, L, cfg, o)) != KWNN_OK) return r;
        r = tf ? kwnn__tf_args(c, L, call, el, tkw, nm->code, a, (uint32_t)nm->arity)
               : kwnn__op_args(c, L, args, a, (uint32_t)nm->arity);
        if (r != KWNN_OK) return r;
        r = kwnn__op_broadcast(c, L, a, (uint32_t)nm->arity, o);
        break;
    }
    if (r != KWNN_OK) return r;
    if (first) { /* unary on the input as it is */
        const struct kwnn__node *x = kwnn__in_node(c, 0);
        o->nd = x->nd;
        memcpy(o->shape, x->shape, sizeof o->shape);
        kwnn__strides(x->shape, x->nd, o->arg[0].step);
        o->arg[0].in = 0;
        o->arg[0].count = x->count;
        o->n_args = 1;
    }
    if (!kwnn__prod(o->shape, o->nd, &o->count) || !kwnn__prod(o->rshape, o->rnd, &o->rcount))
        return kwnn__shape_overflow(c, L, "its output", o->shape, o->nd);
    memcpy(c->shape, o->shape, sizeof c->shape);
    c->nd = o->nd;
    return KWNN_OK;
}

/* ---- running ---- */

static float kwnn__op_f(const struct kwnn__op *o, float a, float b, float w)
{
    switch (o->code) {
    case KWNN__O_COPY: return a;
    case KWNN__O_NEG: return -a;
    case KWNN__O_ABS: return fabsf(a);
    case KWNN__O_SQUARE: return a * a;
    case KWNN__O_SQRT: return sqrtf(a);
    case KWNN__O_EXP: return expf(a);
    case KWNN__O_LOG: return logf(a);
    case KWNN__O_CLIP: return fminf(fmaxf(a, o->lo), o->hi);
    case KWNN__O_TRUNC: return truncf(a);
    case KWNN__O_BOOL: return a != 0.0f ? 1.0f : 0.0f;
    case KWNN__O_NOT: return a == 0.0f ? 1.0f : 0.0f;
    case KWNN__O_SIGN: return a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : a);
    case KWNN__O_FLOOR: return floorf(a);
    case KWNN__O_CEIL: return ceilf(a);
    case KWNN__O_RECIPROCAL: return 1.0f / a;
    case KWNN__O_RSQRT: return 1.0f / sqrtf(a);
    case KWNN__O_LOG1P: return log1pf(a);
    case KWNN__O_EXPM1: return expm1f(a);
    case KWNN__O_ADD: return a + b;
    case KWNN__O_SUB: return a - b;
    case KWNN__O_MUL: return a * b;
    case KWNN__O_DIV: return a / b;
    case KWNN__O_POW: return powf(a, b);
    case KWNN__O_MIN: return (a != a || a < b) ? a : b; /* NaN propagates, as jnp.minimum */
    case KWNN__O_MAX: return (a != a || a > b) ? a : b;
    case KWNN__O_EQ: return a == b ? 1.0f : 0.0f;
    case KWNN__O_NE: return a != b ? 1.0f : 0.0f;
    case KWNN__O_GT: return a > b ? 1.0f : 0.0f;
    case KWNN__O_GE: return a >= b ? 1.0f : 0.0f;
    case KWNN__O_LT: return a < b ? 1.0f : 0.0f;
    case KWNN__O_LE: return a <= b ? 1.0f : 0.0f;
    case KWNN__O_AND: return a != 0.0f && b != 0.0f ? 1.0f : 0.0f;
    case KWNN__O_OR: return a != 0.0f || b != 0.0f ? 1.0f : 0.0f;
    case KWNN__O_WHERE: return a != 0.0f ? b : w;
    default: return a;
    }
}

/* The next index of `shape` (row-major), each operand's offset moved by its steps. */
static void kwnn__op_next(size_t *idx, const size_t *shape, uint32_t nd, ptrdiff_t *off, const kwnn__operand *arg,
                          uint32_t na, int reduced)
{
    uint32_t d = nd, k;
    while (d-- > 0) {
        for (k = 0; k < na; k++) off[k] += reduced ? arg[k].rstep[d] : arg[k].step[d];
        if (++idx[d] < shape[d]) return;
        for (k = 0; k < na; k++) off[k] -= (reduced ? arg[k].rstep[d] : arg[k].step[d]) * (ptrdiff_t)shape[d];
        idx[d] = 0;
    }
}

/* Softmax over the middle axis of a (pre, K, post) view; y may not alias x. */
static void kwnn__op_softmax(const struct kwnn__op *o, const float *x, float *y)
{
    size_t pre = o->rshape[0], K = o->rshape[1], post = o->rshape[2], p, q, k;
    for (p = 0; p < pre; p++)
        for (q = 0; q < post; q++) {
            const float *xs = x + p * K * post + q;
            float *ys = y + p * K * post + q, mx = xs[0], sum = 0.0f;
            for (k = 1; k < K; k++) mx = fmaxf(mx, xs[k * post]);
            for (k = 0; k < K; k++) sum += expf(xs[k * post] - mx);
            if (o->code == KWNN__O_SOFTMAX)
                for (k = 0; k < K; k++) ys[k * post] = expf(xs[k * post] - mx) / sum;
            else
                for (k = 0; k < K; k++) ys[k * post] = (xs[k * post] - mx) - logf(sum);
        }
}

static void kwnn__op_run(const kwnn_layer *L, const float *const *in, float *y, size_t batch)
{
    const struct kwnn__op *o = L->op_args;
    size_t b, i, r, idx[KWNN_MAX_DIMS], ridx[KWNN_MAX_DIMS];
    uint32_t k, na = o->n_args;
    for (b = 0; b < batch; b++) {
        const float *src[3];
        float *yb = y + b * o->count;
        ptrdiff_t off[3], roff[3];
        for (k = 0; k < na; k++) {
            src[k] = o->arg[k].in >= 0 ? in[o->arg[k].in] + b * o->arg[k].count : o->arg[k].k;
            off[k] = o->arg[k].off;
        }
        if (o->code == KWNN__O_SOFTMAX || o->code == KWNN__O_LOG_SOFTMAX) {
            kwnn__op_softmax(o, src[0], yb);
            continue;
        }
        if (o->code == KWNN__O_MASKING) { /* per row of the last axis: kept if any value differs */
            size_t last = o->rshape[0], j;
            for (i = 0; i < o->count; i += last) {
                int keep = 0;
                for (j = 0; j < last; j++) keep |= src[0][i + j] != o->lo;
                for (j = 0; j < last; j++) yb[i + j] = keep ? src[0][i + j] : 0.0f;
            }
            continue;
        }
        memset(idx, 0, sizeof idx);
        for (i = 0; i < o->count; i++) {
            if (o->rnd == 0) {
                float v[3] = {0.0f, 0.0f, 0.0f};
                for (k = 0; k < na; k++) v[k] = src[k][off[k]];
                yb[i] = kwnn__op_f(o, v[0], v[1], v[2]);
            } else { /* a sum (or max, min) over the reduced axes, in their order */
                float acc = o->code == KWNN__O_RMAX || o->code == KWNN__O_RMIN ? src[0][off[0]]
                            : o->code == KWNN__O_ALL                             ? 1.0f
                                                                                 : 0.0f;
                memset(ridx, 0, sizeof ridx);
                for (k = 0; k < na; k++) roff[k] = off[k];
                for (r = 0; r < o->rcount; r++) {
                    float x = src[0][roff[0]];
                    switch (o->code) {
                    case KWNN__O_MATMUL: acc += x * src[1][roff[1]]; break;
                    case KWNN__O_RMAX: acc = (x != x || x > acc) ? x : acc; break;
                    case KWNN__O_RMIN: acc = (x != x || x < acc) ? x : acc; break;
                    case KWNN__O_ANY: acc = (acc != 0.0f || x != 0.0f) ? 1.0f : 0.0f; break;
                    case KWNN__O_ALL: acc = (acc != 0.0f && x != 0.0f) ? 1.0f : 0.0f; break;
                    default: acc += x; break;
                    }
                    kwnn__op_next(ridx, o->rshape, o->rnd, roff, o->arg, na, 1);
                }
                if (o->has_init) acc = o->code == KWNN__O_RMAX ? fmaxf(acc, o->lo) : fminf(acc, o->lo);
                if (o->code == KWNN__O_STD || o->code == KWNN__O_VAR) { /* again: the squared deviations */
                    float mean = acc / (float)o->rcount;
                    memset(ridx, 0, sizeof ridx);
                    roff[0] = off[0];
                    for (acc = 0.0f, r = 0; r < o->rcount; r++) {
                        float dv = src[0][roff[0]] - mean;
                        acc += dv * dv;
                        kwnn__op_next(ridx, o->rshape, o->rnd, roff, o->arg, 1, 1);
                    }
                    acc /= (float)o->rcount;
                    yb[i] = o->code == KWNN__O_STD ? sqrtf(acc) : acc;
                } else {
                    yb[i] = o->code == KWNN__O_MEAN ? acc / (float)o->rcount : acc;
                }
            }
            kwnn__op_next(idx, o->shape, o->nd, off, o->arg, na, 0);
        }
    }
}

/* Operations per sample: every output once per operand, or once per reduced element. */
static uint64_t kwnn__op_cost(const kwnn_layer *L)
{
    const struct kwnn__op *o = L->op_args;
    uint64_t out = (uint64_t)L->out_count;
    if (o == NULL) return out;
    if (o->code == KWNN__O_SOFTMAX || o->code == KWNN__O_LOG_SOFTMAX) return kwnn__sat_mul(out, 4);
    if (o->rnd > 0) return kwnn__sat_add(kwnn__sat_mul(out, kwnn__sat_mul(o->rcount, o->n_args)), out);
    return kwnn__sat_mul(out, o->n_args > 0 ? o->n_args : 1);
}
/* ---- masking: Embedding(mask_zero=True), Masking, and the layers that honour a mask ---- */

/* Keras 3 writes a functional model's masks into its graph: Embedding(mask_zero=True) as a
   NotEqual(ids, 0) operation node, Masking as Any(NotEqual(x, mask_value), axis=-1), each passed
   to the next layers that take one as the call's keyword argument mask=.  The graph makes it the
   call's last input (a 0 / 1 value per time step, 47_ops.h computes it); the layers below honour
   it as Keras does, every other layer called with a mask is refused.  A Sequential records no
   mask, so there a mask reaching such a layer is refused too (kwnn__chain_mask). */

/* Does this call's kwargs hold a mask tensor? */
static int kwnn__call_masked(kwnn__json kw)
{
    kwnn__json v, first;
    size_t n = 0;
    if (kw.p == NULL || !kwnn__get(kw, "mask", &v)) return 0;
    kwnn__refs(v, 0, &n, &first);
    return n > 0;
}

/* The classes that honour a mask: RNN layers skip masked steps, global average pooling leaves them out. */
static const char *const kwnn__mask_classes[] = {"SimpleRNN", "LSTM", "GRU", "Bidirectional",
                                                 "GlobalAveragePooling1D", "GlobalAvgPool1D", NULL};

/* Is this model-config entry a mask_zero Embedding or a Masking layer? */
static int kwnn__mask_producer(kwnn__json entry)
{
    kwnn__json cls, cfg, v;
    int on = 0;
    if (!kwnn__get(entry, "class_name", &cls)) return 0;
    if (kwnn__jstr_is(cls, "Masking")) return 1;
    return kwnn__jstr_is(cls, "Embedding") && kwnn__get(entry, "config", &cfg) && kwnn__get(cfg, "mask_zero", &v) &&
           kwnn__bool(v, &on) && on;
}

/* Layers that Keras 3 gives a mask at run time without recording it in the config (a list of
   inputs; MultiHeadAttention reads its inputs' masks itself). */
static const char *const kwnn__unrecorded_mask_classes[] = {"Attention", "AdditiveAttention", "MultiHeadAttention",
                                                            NULL};

/* Edges a call of this model-config entry keeps spare for its implicit masks
   (61_implicit_masks.h): two for the attention layers (the query's, the value's), one for the
   layers that honour a mask (a Keras 1 / 2 file's RNN gets its mask so). */
static uint32_t kwnn__mask_spare(kwnn__json entry)
{
    kwnn__json cls;
    size_t i;
    if (!kwnn__get(entry, "class_name", &cls)) return 0;
    for (i = 0; kwnn__unrecorded_mask_classes[i] != NULL; i++)
        if (kwnn__jstr_is(cls, kwnn__unrecorded_mask_classes[i])) return 2;
    for (i = 0; kwnn__mask_classes[i] != NULL; i++)
        if (kwnn__jstr_is(cls, kwnn__mask_classes[i])) return 1;
    return 0;
}

/* How many implicit masks follow node x's inputs (bits 1, 2: an attention layer's query and
   value masks; 4: the step mask of a recurrent or pooling layer). */
static uint32_t kwnn__imask_count(const kwnn__node *x)
{
    return (x->imask & 1u) + ((x->imask >> 1) & 1u) + ((x->imask >> 2) & 1u);
}

/* Is this model-config entry of a class that honours a mask (it may take one more input)? */
static int kwnn__mask_entry(kwnn__json entry)
{
    kwnn__json cls;
    size_t i;
    if (!kwnn__get(entry, "class_name", &cls)) return 0;
    for (i = 0; kwnn__mask_classes[i] != NULL; i++)
        if (kwnn__jstr_is(cls, kwnn__mask_classes[i])) return 1;
    return 0;
}

/* A layer called with mask=: its class must honour it and the mask be one value per time step.
   (The masks Keras passes without recording them: 61_implicit_masks.h.) */
static kwnn_result kwnn__mask_input(kwnn__ctx *c, const kwb_layer *L)
{
    const struct kwnn__node *x, *m;
    kwnn__json cfg, v;
    if (!c->masked) return KWNN_OK;
    if (!kwnn__is_class(L, kwnn__mask_classes))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "is called with a mask (mask_zero or Masking upstream) that it cannot honour");
    if (c->n_ins != 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "takes one input and one mask");
    x = kwnn__in_node(c, 0);
    m = kwnn__in_node(c, 1);
    if (x->nd != 2 || m->nd != 1 || m->shape[0] != x->shape[0]) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its mask has shape ");
        kwnn__m_shape(c->net, m->shape, m->nd);
        kwnn__m(c->net, ", its input ");
        kwnn__m_shape(c->net, x->shape, x->nd);
        kwnn__m(c->net, " (a mask is one value per time step)");
        return KWNN_ERR_SHAPE;
    }
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if (kwnn__get(cfg, "data_format", &v) && kwnn__jstr_is(v, "channels_first"))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask with data_format channels_first");
    c->n_ins = 1; /* the loader sees its input; the runner takes the mask as the last input */
    return KWNN_OK;
}

/* GlobalAveragePooling1D with a mask: sum over the unmasked steps / their count (0 / 0 when all
   are masked, as Keras). */
static void kwnn__masked_mean(const kwnn_layer *L, const float *x, const float *mask, float *y, size_t batch)
{
    size_t T = L->in_shape[0], C = L->in_shape[1], b, t, k;
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * T * C;
        float *yb = y + b * C, n = 0.0f;
        for (k = 0; k < C; k++) yb[k] = 0.0f;
        for (t = 0; t < T; t++) {
            if (kwnn__mask_off(L, mask, b * T + t)) continue;
            n += 1.0f;
            for (k = 0; k < C; k++) yb[k] += xb[t * C + k];
        }
        for (k = 0; k < C; k++) yb[k] /= n;
    }
}

/* Masking: mask_value (0); a step whose features all equal it becomes zeros (y = where(any(x !=
   v, axis=-1), x, 0)).  Its mask reaches the next layers through the graph's own nodes. */
static kwnn_result kwnn__load_masking(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    struct kwnn__op *o = NULL;
    const struct kwnn__node *x = kwnn__in_node(c, 0);
    double v;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "mask_value", NULL, 0.0, &v)) != KWNN_OK ||
        (r = kwnn__op_struct(c, L, &o)) != KWNN_OK || o == NULL)
        return r != KWNN_OK ? r : kwnn__oom(c);
    if (x->nd == 0) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input with features");
    o->code = KWNN__O_MASKING;
    o->lo = (float)v;
    o->nd = x->nd;
    memcpy(o->shape, x->shape, sizeof o->shape);
    o->count = x->count;
    o->rshape[0] = x->shape[x->nd - 1];
    o->n_args = 1;
    o->arg[0].count = x->count;
    out->kind = KWNN_LAYER_OP;
    out->op_args = o;
    return KWNN_OK;
}

/* Layers whose mask goes on unchanged (supports_masking and the default compute_mask), as measured
   on Keras 3 and on tf.keras 2.21; the implicit masks (61_implicit_masks.h) and, for Keras 1 / 2
   files, the Sequential chain below use them. */
static const char *const kwnn__im_passers[] = {
    "Dense", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Identity", "ActivityRegularization", "Activation", "ReLU", "LeakyReLU",
    "ELU", "PReLU", "Softmax", "LayerNormalization", "UnitNormalization", "GroupNormalization",
    "BatchNormalization", "Rescaling", "Normalization", NULL};

/* Keras 2 (tf.keras 2.x; Keras 1 and 2.x assumed alike). */
static const char *const kwnn__im_passers2[] = {
    "Dense", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "ELU",
    "PReLU", "ThresholdedReLU", "LayerNormalization", "BatchNormalization", "UnitNormalization",
    "TimeDistributed", NULL};

/* Does this layer keep passing the mask on unchanged (supports_masking, values per step)? */
static const char *const kwnn__mask_passers[] = {
    "Dense", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Identity",
    "ActivityRegularization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "LayerNormalization",
    "UnitNormalization", NULL};

/* Does a recurrent layer (or a Bidirectional's) return sequences (then its mask goes on)? */
static int kwnn__returns_sequences(const kwb_layer *L)
{
    kwnn__json cfg, v, inner;
    int on = 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if (kwnn__get(cfg, "layer", &v) && kwnn__get(v, "config", &inner)) cfg = inner; /* Bidirectional */
    return kwnn__get(cfg, "return_sequences", &v) && kwnn__bool(v, &on) && on;
}

/* A Sequential (a chain) records no mask: Keras 3 passes it itself.  Followed here for a
   mask_zero Embedding, whose mask is its ids != 0, so the ids themselves serve as the mask input
   (0: masked): through the layers that pass a mask on unchanged, to the RNN layers and
   GlobalAveragePooling1D that honour it (an RNN's goes on with return_sequences).  *state: 0 no
   mask, 1 the mask is node *src, 2 a mask not followed here (after Masking or another layer):
   a layer that would honour it is refused.  in: the node feeding L; *attach: L takes *src as its
   mask. */
static kwnn_result kwnn__chain_mask(kwnn__ctx *c, const kwb_layer *L, uint32_t in, int *state, uint32_t *src,
                                    int *attach)
{
    static const char *const users[] = {"Attention", "AdditiveAttention", "MultiHeadAttention", "Softmax",
                                        "TimeDistributed", "BatchNormalization", "GroupNormalization", NULL};
    kwnn__json cfg, v;
    int on = 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    *attach = 0;
    if (strcmp(L->class_name, "Embedding") == 0 && kwnn__get(cfg, "mask_zero", &v) && kwnn__bool(v, &on) && on) {
        *state = 1;
        *src = in;
        return KWNN_OK;
    }
    if (strcmp(L->class_name, "Masking") == 0) {
        *state = 2;
        return KWNN_OK;
    }
    if (*state == 0) return KWNN_OK;
    if ((*state == 2 && kwnn__is_class(L, kwnn__mask_classes)) || kwnn__is_class(L, users))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "would take the mask of a mask_zero Embedding or a Masking layer before it in a "
                          "Sequential model, through layers whose effect on it is not followed here (save the "
                          "model as a functional one: its config then records the mask)");
    if (kwnn__is_class(L, kwnn__mask_classes)) {
        *attach = 1;
        if (!kwnn__returns_sequences(L)) *state = 0;
    } else if (!kwnn__is_class(L, kwnn__mask_passers) ||
               (c->keras2_file && !kwnn__is_class(L, kwnn__im_passers2))) { /* tf.keras's Identity drops it */
        *state = 2;
    }
    return KWNN_OK;
}
/* ---- convolutions through the matrix multiply ------------------------------ */

/* The fast paths of the channels_last forward convolutions (42_conv_family.h
   keeps the direct loops for the rest: channels_first, transposed, kernels
   larger than their input):
   - 1 x 1, stride 1, one group: the input is already the matrix (positions x
     channels): y = x W + b, no copy;
   - any other window (groups, strides, dilation, padding): im2col, a block of
     KWNN__CONV_ROWS output positions at a time, each a row of taps x channels
     (zeros off the input) in the layers' work area, times the kernel, which
     is already (taps x channels) x filters row-major;
   - depthwise: per position, the taps on the input, each a vector over the
     channels;
   - separable: the depthwise sums of a block of positions in the work area,
     then times the pointwise kernel.
   Each output is still its taps in kernel order, then the bias. */

/* Output positions per im2col block, per sample: about 64 K floats (in L2),
   between 48 and 192 rows whatever the width (each block packs the kernel again). */
#define KWNN__CONV_BLOCK 65536
/* Multiply-adds per sample below which a convolution keeps the direct loops
   rather than ask for an im2col block (which adds to the scratch). */
#ifndef KWNN_CONV_IM2COL_MIN
#define KWNN_CONV_IM2COL_MIN 1048576
#endif
#define KWNN__CONV_ROWS_MIN 48
#define KWNN__CONV_ROWS_MAX 192

static int kwnn__conv_forward(const kwnn_layer *L)
{
    switch (L->kind) {
    case KWNN_LAYER_CONV1D: case KWNN_LAYER_CONV2D: case KWNN_LAYER_CONV3D: case KWNN_LAYER_DEPTHWISE1D:
    case KWNN_LAYER_DEPTHWISE2D: return L->w != NULL;
    default: return 0;
    }
}

/* A channels_last forward convolution whose window fits its input on every
   axis (im2col then costs no more than kwnn__conv_cost counts). */
static int kwnn__conv_fast(const kwnn_layer *L, const kwnn__cgeo *g)
{
    uint32_t a;
    if (L->channels_first || kwnn__conv_transposed(L->kind)) return 0;
    for (a = 0; a < 3; a++)
        if (L->win[a] > g->in[a]) return 0;
    return 1;
}

static int kwnn__conv_pointwise(const kwnn_layer *L)
{
    uint32_t a;
    for (a = 0; a < 3; a++)
        if (L->win[a] != 1 || L->step[a] != 1 || L->lo[a] != 0) return 0;
    return L->groups == 1 && L->w2 == NULL;
}

/* Floats per sample of work the fast paths need (0: none, or not taken). */
static size_t kwnn__conv_work(const kwnn_layer *L)
{
    kwnn__cgeo g;
    size_t pos, rows, taps, width, work;
    if (!kwnn__conv_forward(L)) return 0;
    kwnn__conv_geo(L, &g);
    if (!kwnn__conv_fast(L, &g) || kwnn__conv_pointwise(L)) return 0;
    pos = L->out_count / g.F;
    taps = L->win[0] * L->win[1] * L->win[2]; /* each <= its input size: no overflow */
    if (L->w2 != NULL) width = g.C * L->mult;          /* separable: the depthwise sums */
    else if (L->groups == g.C && L->groups > 1) return 0; /* depthwise: direct */
    else if (!kwnn__mul(taps, g.C / L->groups, &width)) return 0;
    if ((double)pos * (double)width * (double)(L->w2 != NULL ? g.F : g.F / L->groups) < (double)KWNN_CONV_IM2COL_MIN) return 0;
    rows = KWNN__CONV_BLOCK / width;
    rows = rows < KWNN__CONV_ROWS_MIN ? KWNN__CONV_ROWS_MIN : rows > KWNN__CONV_ROWS_MAX ? KWNN__CONV_ROWS_MAX : rows;
    rows = pos < rows ? pos : rows;
    return kwnn__mul(rows, width, &work) && work <= KWNN__SIZE_MAX / 64 ? work : 0;
}

/* The taps of output position p (flat) on each axis, and its input corner. */
static void kwnn__conv_window(const kwnn_layer *L, const kwnn__cgeo *g, size_t p, size_t *lo, size_t *hi,
                              size_t *start)
{
    size_t o[3];
    uint32_t a;
    o[2] = p % g->out[2];
    o[1] = (p / g->out[2]) % g->out[1];
    o[0] = p / g->out[2] / g->out[1];
    for (a = 0; a < 3; a++) {
        kwnn__taps(o[a] * L->step[a], L->lo[a], g->in[a], L->win[a], L->dilation[a], &lo[a], &hi[a]);
        start[a] = o[a] * L->step[a]; /* the input index of tap j: start + j d - pad (for j in range) */
    }
}

/* Row of im2col for position p of one sample: taps in kernel order, Cg channels from c0 each. */
static void kwnn__im2col_row(const kwnn_layer *L, const kwnn__cgeo *g, const float *xb, size_t p, size_t c0,
                             size_t Cg, int count, float *KWNN__RESTRICT row)
{
    size_t lo[3], hi[3], st[3], j0, j1, j2;
    kwnn__conv_window(L, g, p, lo, hi, st);
    for (j0 = 0; j0 < L->win[0]; j0++)
        for (j1 = 0; j1 < L->win[1]; j1++)
            for (j2 = 0; j2 < L->win[2]; j2++, row += Cg) {
                size_t i0, i1, i2;
                if (j0 < lo[0] || j0 >= hi[0] || j1 < lo[1] || j1 >= hi[1] || j2 < lo[2] || j2 >= hi[2]) {
                    memset(row, 0, Cg * sizeof *row);
                    continue;
                }
                if (count) KWNN_PROBE(taps, 1);
                i0 = st[0] + j0 * L->dilation[0] - L->lo[0];
                i1 = st[1] + j1 * L->dilation[1] - L->lo[1];
                i2 = st[2] + j2 * L->dilation[2] - L->lo[2];
                memcpy(row, xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * g->C + c0, Cg * sizeof *row);
            }
}

/* Depthwise sums of position p (channels_last): z[c M + m] = sum over taps x[c] w[c M + m]. */
static void kwnn__dw_point(const kwnn_layer *L, const kwnn__cgeo *g, const float *xb, size_t p, size_t M, int count,
                           float *KWNN__RESTRICT z)
{
    size_t lo[3], hi[3], st[3], j0, j1, j2, CM = g->C * M;
    kwnn__conv_window(L, g, p, lo, hi, st);
    memset(z, 0, CM * sizeof *z);
    for (j0 = lo[0]; j0 < hi[0]; j0++)
        for (j1 = lo[1]; j1 < hi[1]; j1++)
            for (j2 = lo[2]; j2 < hi[2]; j2++) {
                size_t i0 = st[0] + j0 * L->dilation[0] - L->lo[0], i1 = st[1] + j1 * L->dilation[1] - L->lo[1];
                size_t i2 = st[2] + j2 * L->dilation[2] - L->lo[2];
                if (count) KWNN_PROBE(taps, 1);
                kwnn__dw_tap(z, xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * g->C,
                             L->w + ((j0 * L->win[1] + j1) * L->win[2] + j2) * CM, g->C, M);
            }
}

typedef struct kwnn__dw_job { /* depthwise: positions [i rows, (i + 1) rows) of the batch per task */
    const kwnn_layer *L;
    const kwnn__cgeo *g;
    const float *x;
    float *y;
    size_t P, n, rows;
} kwnn__dw_job;

static void kwnn__dw_task(void *ctx, size_t i)
{
    const kwnn__dw_job *j = (const kwnn__dw_job *)ctx;
    size_t r, f, r1 = (i + 1) * j->rows < j->n ? (i + 1) * j->rows : j->n, F = j->g->F;
    for (r = i * j->rows; r < r1; r++) {
        float *yo = j->y + r * F;
        kwnn__dw_point(j->L, j->g, j->x + (r / j->P) * j->L->in_count, r % j->P, F / j->g->C, 1, yo);
        if (j->L->b != NULL)
            for (f = 0; f < F; f++) yo[f] += j->L->b[f];
    }
}

/* The channels_last forward convolutions; 0 when L takes the direct loops. */
static int kwnn__conv_gemm_run(const kwnn_layer *L, const float *x, float *y, size_t batch, const kwnn__ex *ex)
{
    kwnn__cgeo g;
    size_t P, rows, r0, r, n, gi, G = L->groups, Cg, Fg, width;
    if (!kwnn__conv_forward(L)) return 0;
    kwnn__conv_geo(L, &g);
    if (!kwnn__conv_fast(L, &g)) return 0;
    P = L->out_count / g.F;
    n = P * batch;
    if (kwnn__conv_pointwise(L)) {
        KWNN_PROBE(taps, n);
        kwnn__gemm(ex->opt, n, g.F, g.C, x, g.C, L->w, g.F, L->b, y, g.F);
        return 1;
    }
    if (L->w2 == NULL && G == g.C && G > 1) { /* depthwise: 8 tasks when worth handing out */
        kwnn__dw_job job;
        int split = (double)L->out_count * (double)batch * (double)(L->win[0] * L->win[1] * L->win[2]) >=
                    (double)KWNN_PARALLEL_MIN;
        job.L = L;
        job.g = &g;
        job.x = x;
        job.y = y;
        job.P = P;
        job.n = n;
        job.rows = split ? (n + KWNN__TASKS - 1) / KWNN__TASKS : n;
        kwnn__parallel(ex->opt, kwnn__dw_task, &job, (n + job.rows - 1) / job.rows);
        return 1;
    }
    if (L->work == 0 || ex->work == NULL) return 0;
    Cg = g.C / G;
    Fg = g.F / G;
    width = L->w2 != NULL ? g.C * L->mult : L->win[0] * L->win[1] * L->win[2] * Cg;
    rows = L->work / width * batch; /* positions per block, over the batch */
    for (r0 = 0; r0 < n; r0 += rows) {
        size_t m = n - r0 < rows ? n - r0 : rows;
        if (L->w2 != NULL) { /* separable: depthwise sums, then the pointwise product */
            for (r = 0; r < m; r++)
                kwnn__dw_point(L, &g, x + ((r0 + r) / P) * L->in_count, (r0 + r) % P, L->mult, 1,
                               ex->work + r * width);
            kwnn__gemm(ex->opt, m, g.F, width, ex->work, width, L->w2, g.F, L->b, y + r0 * g.F, g.F);
            continue;
        }
        for (gi = 0; gi < G; gi++) {
            for (r = 0; r < m; r++)
                kwnn__im2col_row(L, &g, x + ((r0 + r) / P) * L->in_count, (r0 + r) % P, gi * Cg, Cg, gi == 0,
                                 ex->work + r * width);
            kwnn__gemm(ex->opt, m, Fg, width, ex->work, width, L->w + gi * Fg, g.F, L->b ? L->b + gi * Fg : NULL,
                       y + r0 * g.F + gi * Fg, g.F);
        }
    }
    return 1;
}
/* ---- the registration table: Keras class -> loader ----------------------- */

/* A loader reads the config and weights of L for the input shape(s) in c
   (c->shape: the first input; c->ins: all), fills `out` (kind, parameters)
   and leaves the output shape in c->shape.  The kind decides the runner
   (kwnn__run_node) and the cost (kwnn__layer_cost). */
typedef kwnn_result (*kwnn__loader)(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg);

static kwnn_result kwnn__load_dense(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__dense(c, L, cfg, out);
}

static kwnn_result kwnn__load_reshape(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__reshape(c, L, cfg, out);
}

static kwnn_result kwnn__load_identity(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)cfg;
    (void)arg;
    out->kind = KWNN_LAYER_IDENTITY;
    return kwnn__only(c, L, NULL, 0);
}

/* Activation, ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU: the class is the activation's name. */
static kwnn_result kwnn__load_act(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const quoted[] = {"\"Activation\"", "\"ReLU\"", "\"LeakyReLU\"", "\"ELU\"",
                                         "\"Softmax\"", "\"ThresholdedReLU\""};
    kwnn__json cls;
    int found;
    kwnn_result r;
    cls.p = quoted[arg];
    cls.e = cls.p + strlen(cls.p);
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if ((r = kwnn__act_layer(c, L, cls, cfg, &found, &out->act)) != KWNN_OK) return r;
    out->kind = KWNN_LAYER_ACTIVATION;
    return KWNN_OK;
}

static kwnn_result kwnn__load_merge(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__merge(c, L, cfg, out, arg);
}

static kwnn_result kwnn__load_concat(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__concat(c, L, cfg, out, 0);
}

static kwnn_result kwnn__load_dot(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__dot(c, L, cfg, out, 0);
}

typedef struct kwnn__class {
    const char *name;   /* Keras class */
    kwnn__loader load;
    int arg;            /* passed to the loader */
    int many;           /* takes several inputs */
} kwnn__class;

/* Every supported class (InputLayer and the model classes are the graph's). */
static const kwnn__class kwnn__classes[] = {
    {"Dense", kwnn__load_dense, 0, 0},
    {"BatchNormalization", kwnn__load_bn, 0, 0},
    {"LayerNormalization", kwnn__load_layernorm, 0, 0},
    {"Rescaling", kwnn__load_rescaling, 0, 0},
    {"Normalization", kwnn__load_normalization, 0, 0},
    {"PReLU", kwnn__load_prelu, 0, 0},
    {"LayerScale", kwnn__load_layer_scale, 0, 0},
    {"Conv1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 1), 0}, /* 42_conv_family.h */
    {"Conv2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 2), 0},
    {"Conv3D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 3), 0},
    {"Convolution1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 1), 0},
    {"Convolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 2), 0},
    {"Convolution3D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 3), 0},
    {"AtrousConvolution1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 1), 0},
    {"AtrousConvolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 2), 0},
    {"DepthwiseConv1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_DEPTHWISE, 1), 0},
    {"DepthwiseConv2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_DEPTHWISE, 2), 0},
    {"SeparableConv1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 1), 0},
    {"SeparableConv2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 2), 0},
    {"SeparableConvolution1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 1), 0},
    {"SeparableConvolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 2), 0},
    {"Conv1DTranspose", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_TRANSPOSE, 1), 0},
    {"Conv2DTranspose", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_TRANSPOSE, 2), 0},
    {"Conv3DTranspose", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_TRANSPOSE, 3), 0},
    {"Deconvolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_REFUSED, 2), 0}, /* Keras 1: refused by name */
    {"Deconvolution3D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_REFUSED, 3), 0},
    {"MaxPooling1D", kwnn__load_pool, 1, 0}, /* 43_shape_pool.h: spatial axes, negative for average */
    {"MaxPooling2D", kwnn__load_pool, 2, 0},
    {"MaxPooling3D", kwnn__load_pool, 3, 0},
    {"MaxPool1D", kwnn__load_pool, 1, 0},
    {"MaxPool2D", kwnn__load_pool, 2, 0},
    {"MaxPool3D", kwnn__load_pool, 3, 0},
    {"AveragePooling1D", kwnn__load_pool, -1, 0},
    {"AveragePooling2D", kwnn__load_pool, -2, 0},
    {"AveragePooling3D", kwnn__load_pool, -3, 0},
    {"AvgPool1D", kwnn__load_pool, -1, 0},
    {"AvgPool2D", kwnn__load_pool, -2, 0},
    {"AvgPool3D", kwnn__load_pool, -3, 0},
    {"ZeroPadding1D", kwnn__load_pad, 1, 0},
    {"ZeroPadding2D", kwnn__load_pad, 2, 0},
    {"ZeroPadding3D", kwnn__load_pad, 3, 0},
    {"Cropping1D", kwnn__load_crop, 1, 0},
    {"Cropping2D", kwnn__load_crop, 2, 0},
    {"Cropping3D", kwnn__load_crop, 3, 0},
    {"UpSampling1D", kwnn__load_upsampling, 1, 0},
    {"UpSampling2D", kwnn__load_upsampling, 2, 0},
    {"UpSampling3D", kwnn__load_upsampling, 3, 0},
    {"Permute", kwnn__load_permute, 0, 0},
    {"RepeatVector", kwnn__load_repeat, 0, 0},
    {"GlobalAveragePooling1D", kwnn__load_global, 1, 0},
    {"GlobalAveragePooling2D", kwnn__load_global, 2, 0},
    {"GlobalAveragePooling3D", kwnn__load_global, 3, 0},
    {"GlobalAvgPool1D", kwnn__load_global, 1, 0},
    {"GlobalAvgPool2D", kwnn__load_global, 2, 0},
    {"GlobalAvgPool3D", kwnn__load_global, 3, 0},
    {"GlobalMaxPooling1D", kwnn__load_global, -1, 0},
    {"GlobalMaxPooling2D", kwnn__load_global, -2, 0},
    {"GlobalMaxPooling3D", kwnn__load_global, -3, 0},
    {"GlobalMaxPool1D", kwnn__load_global, -1, 0},
    {"GlobalMaxPool2D", kwnn__load_global, -2, 0},
    {"GlobalMaxPool3D", kwnn__load_global, -3, 0},
    {"Reshape", kwnn__load_reshape, 0, 0},
    {"Flatten", kwnn__load_flatten, 0, 0},
    {"Dropout", kwnn__load_identity, 0, 0},
    {"SpatialDropout1D", kwnn__load_identity, 0, 0},
    {"SpatialDropout2D", kwnn__load_identity, 0, 0},
    {"SpatialDropout3D", kwnn__load_identity, 0, 0},
    {"GaussianNoise", kwnn__load_identity, 0, 0},
    {"GaussianDropout", kwnn__load_identity, 0, 0},
    {"AlphaDropout", kwnn__load_identity, 0, 0},
    {"ActivityRegularization", kwnn__load_identity, 0, 0},
    {"Identity", kwnn__load_identity, 0, 0},
    {"StochasticDepth", kwnn__load_identity, 0, 0},
    {"Activation", kwnn__load_act, 0, 0},
    {"ReLU", kwnn__load_act, 1, 0},
    {"LeakyReLU", kwnn__load_act, 2, 0},
    {"ELU", kwnn__load_act, 3, 0},
    {"Softmax", kwnn__load_act, 4, 0},
    {"ThresholdedReLU", kwnn__load_act, 5, 0},
    {"Add", kwnn__load_merge, KWNN_MERGE_ADD, 1},
    {"Subtract", kwnn__load_merge, KWNN_MERGE_SUBTRACT, 1},
    {"Multiply", kwnn__load_merge, KWNN_MERGE_MULTIPLY, 1},
    {"Average", kwnn__load_merge, KWNN_MERGE_AVERAGE, 1},
    {"Maximum", kwnn__load_merge, KWNN_MERGE_MAXIMUM, 1},
    {"Minimum", kwnn__load_merge, KWNN_MERGE_MINIMUM, 1},
    {"CustomScaleLayer", kwnn__scaled_add, 0, 1}, /* keras.applications */
    {"Concatenate", kwnn__load_concat, 0, 1},
    {"Dot", kwnn__load_dot, 0, 1},
    {"Merge", kwnn__merge_k1, 0, 1}, /* Keras 1 */
    {"Embedding", kwnn__load_embedding, 0, 0}, /* 45_recurrent.h */
    {"SimpleRNN", kwnn__load_rnn, 1, 1}, /* several inputs: initial_state */
    {"LSTM", kwnn__load_rnn, 4, 1},
    {"GRU", kwnn__load_rnn, 3, 1},
    {"CuDNNLSTM", kwnn__load_rnn, 4 | KWNN__RNN_CUDNN, 1}, /* Keras 2: as LSTM / GRU, weights converted */
    {"CuDNNGRU", kwnn__load_rnn, 3 | KWNN__RNN_CUDNN, 1},
    {"Bidirectional", kwnn__load_bidirectional, 0, 1},
    {"TimeDistributed", kwnn__load_time_distributed, 0, 0},
    {"Masking", kwnn__load_masking, 0, 0}, /* 48_masking.h */
    {"GroupNormalization", kwnn__load_groupnorm, 0, 0}, /* 46_attention.h */
    {"UnitNormalization", kwnn__load_unitnorm, 0, 0},
    {"EinsumDense", kwnn__load_einsum, 0, 0},
    {"MultiHeadAttention", kwnn__load_mha, 0, 1},
    {"Attention", kwnn__load_attention, KWNN__SCORE_DOT, 1},
    {"AdditiveAttention", kwnn__load_attention, KWNN__SCORE_ADDITIVE, 1},
};
#define KWNN__N_CLASSES (sizeof kwnn__classes / sizeof kwnn__classes[0])

static const kwnn__class *kwnn__find_class(const char *name)
{
    size_t i;
    for (i = 0; i < KWNN__N_CLASSES; i++)
        if (strcmp(name, kwnn__classes[i].name) == 0) return &kwnn__classes[i];
    return NULL;
}

static const char *const kwnn__model_classes[] = {"Sequential", "Functional", "Model", NULL};

static kwnn_result kwnn__layer_as(kwnn__ctx *c, const kwb_layer *L, const char *cls, kwnn__json cfg, kwnn_layer *out)
{
    const kwnn__class *k = kwnn__find_class(cls);
    if (k == NULL || (k->many && k->load != kwnn__load_rnn)) { /* a recurrent layer takes one input here */
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported wrapped layer class ");
        kwnn__m(c->net, cls);
        return KWNN_ERR_UNSUPPORTED;
    }
    return k->load(c, L, cfg, out, k->arg);
}

/* Load layer L for the input(s) in c (see kwnn__loader). */
static kwnn_result kwnn__layer(kwnn__ctx *c, const kwb_layer *L, kwnn_layer *out)
{
    kwnn__json cfg;
    const kwnn__class *k;
    kwnn_result r;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if (L->config_length == 0)
        return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, L,
                          "has no config (the file holds weights without the model's architecture; "
                          "pack it with --arch)");
    if (c->op_call.p != NULL) return kwnn__load_op(c, L, cfg, out); /* 47_ops.h */
    if ((r = kwnn__mask_input(c, L)) != KWNN_OK) return r; /* 48_masking.h */
    k = kwnn__find_class(L->class_name);
    if (k == NULL) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported layer class");
    if (!k->many && (r = kwnn__arity(c, L, 1, 1)) != KWNN_OK) return r;
    return k->load(c, L, cfg, out, k->arg);
}

static int kwnn__computes(kwnn_kind k)
{
    return k != KWNN_LAYER_INPUT && k != KWNN_LAYER_MODEL && k != KWNN_LAYER_IDENTITY &&
           k != KWNN_LAYER_FLATTEN && k != KWNN_LAYER_RESHAPE && k != KWNN_LAYER_UNUSED;
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
    case KWNN_LAYER_CONV1D: case KWNN_LAYER_CONV2D: case KWNN_LAYER_CONV3D: case KWNN_LAYER_DEPTHWISE1D:
    case KWNN_LAYER_DEPTHWISE2D: case KWNN_LAYER_CONV1D_TRANSPOSE: case KWNN_LAYER_CONV2D_TRANSPOSE:
    case KWNN_LAYER_CONV3D_TRANSPOSE: return kwnn__conv_cost(L); /* 42_conv_family.h */
    case KWNN_LAYER_BATCHNORM: case KWNN_LAYER_ACTIVATION: case KWNN_LAYER_CONCAT: return out;
    case KWNN_LAYER_MERGE: return kwnn__sat_mul(out, L->units); /* units: inputs */
    case KWNN_LAYER_DOT: /* every output sums one fiber; normalize: each input once more */
        taps = kwnn__sat_mul(out, L->in_shape[L->kh]);
        return kwnn__sat_add(taps, L->same ? kwnn__sat_mul(taps, 2) : out);
    case KWNN_LAYER_AFFINE: case KWNN_LAYER_PRELU: return out;
    case KWNN_LAYER_LAYERNORM: return kwnn__sat_mul(out, 3); /* mean, variance, output */
    case KWNN_LAYER_EMBEDDING: case KWNN_LAYER_SIMPLE_RNN: case KWNN_LAYER_LSTM: case KWNN_LAYER_GRU:
        return kwnn__recurrent_cost(L); /* 45_recurrent.h */
    case KWNN_LAYER_GROUPNORM: case KWNN_LAYER_UNITNORM: case KWNN_LAYER_EINSUM: case KWNN_LAYER_MHA:
    case KWNN_LAYER_ATTENTION: return kwnn__attention_cost(L); /* 46_attention.h */
    case KWNN_LAYER_OP: return kwnn__op_cost(L);               /* 47_ops.h */
    case KWNN_LAYER_INPUT: case KWNN_LAYER_MODEL: case KWNN_LAYER_IDENTITY: case KWNN_LAYER_FLATTEN:
    case KWNN_LAYER_RESHAPE: case KWNN_LAYER_UNUSED: break; /* nothing computed */
    default: return kwnn__shape_pool_cost(L); /* 43_shape_pool.h */
    }
    return 0;
}

/* ---- the graph: counting, building, sorting, shapes, buffer plan --------- */

/* A graph is the model config unrolled: one node per call of a layer (a
   shared layer has one per call, a nested model's layers one per call of
   the model), one per model input, one alias per nested model's input and
   output.  Pass 1 counts the nodes from the configs alone; pass 2 builds
   them in the one allocation, sorts them (inputs before readers), infers
   every shape, loads each layer at its first call, and plans the buffers. */

#define KWNN__MAX_NODES ((uint64_t)1 << 24) /* nodes (and edges) a graph may unroll to */
#define KWNN__MAX_DEPTH 32                   /* models nested in models */

static const kwnn__node *kwnn__in_node(kwnn__ctx *c, uint32_t i) { return &c->net->nodes_[c->ins[i]]; }

/* Is the JSON string a model class?  *seq: it is a Sequential. */
static int kwnn__model_json(kwnn__json cls, int *seq)
{
    *seq = kwnn__jstr_is(cls, "Sequential");
    return *seq || kwnn__jstr_is(cls, "Functional") || kwnn__jstr_is(cls, "Model");
}

/* The list of a model config's layers (Keras 1 writes a Sequential's as the config itself). */
static int kwnn__model_layers(kwnn__json mcfg, kwnn__json *layers)
{
    if (kwnn__is(mcfg, '[')) {
        *layers = mcfg;
        return 1;
    }
    return kwnn__get(mcfg, "layers", layers) && kwnn__is(*layers, '[');
}

/* The arguments of one call (an entry of inbound_nodes): Keras 3 writes
   {"args": [...], "kwargs": {...}}, Keras 1 and 2 the list of references. */
static kwnn__json kwnn__call_args(kwnn__json call)
{
    kwnn__json args;
    if (kwnn__is(call, '{')) {
        if (kwnn__get(call, "args", &args)) return args;
        args.p = args.e = NULL;
        return args;
    }
    return call;
}

static size_t kwnn__nrefs(kwnn__json v)
{
    size_t n = 0;
    kwnn__json first;
    if (v.p != NULL) kwnn__refs(v, 0, &n, &first);
    return n;
}

/* Keyword arguments that may be tensors: MultiHeadAttention's (Keras 3
   records mha(q, v, key=k) with k under "kwargs"; tf.keras records every
   argument after the first as a keyword, mha(q, v) as [["q", 0, 0,
   {"value": ["v", 0, 0]}]]); they follow the positional arguments, in this
   order. */
static const char *const kwnn__tensor_kwargs[] = {"query", "value", "key", "initial_state",
                                                   "mask"}; /* mask: 48_masking.h, last */
#define KWNN__TENSOR_KWARGS (sizeof kwnn__tensor_kwargs / sizeof kwnn__tensor_kwargs[0])

/* The keyword arguments of one call: Keras 3's "kwargs"; Keras 2's the
   fourth element of its first reference, [name, node, tensor, {...}]. */
static int kwnn__call_kwargs(kwnn__json call, kwnn__json *kw)
{
    kwnn__iter it, it2;
    kwnn__json ref, el;
    int i;
    if (kwnn__is(call, '{')) return kwnn__get(call, "kwargs", kw) && kwnn__is(*kw, '{');
    if (!kwnn__begin(call, '[', &it) || !kwnn__next(&it, NULL, &ref) || !kwnn__begin(ref, '[', &it2)) return 0;
    for (i = 0; i < 4 && kwnn__next(&it2, NULL, &el); i++) {}
    if (i < 4 || !kwnn__is(el, '{')) return 0;
    *kw = el;
    return 1;
}

/* The tensors one call takes: its arguments, then those keyword arguments. */
static size_t kwnn__call_nrefs(kwnn__json call)
{
    kwnn__json kw, v;
    size_t n = kwnn__nrefs(kwnn__call_args(call)), i;
    if (kwnn__call_kwargs(call, &kw))
        for (i = 0; i < KWNN__TENSOR_KWARGS; i++)
            if (kwnn__get(kw, kwnn__tensor_kwargs[i], &v)) n += kwnn__nrefs(v);
    return n;
}

typedef struct kwnn__size {
    uint64_t nodes, edges; /* one call's */
    uint32_t outs;         /* outputs of the model */
} kwnn__size;

static kwnn_result kwnn__too_big(kwnn__ctx *c, const kwb_layer *owner)
{
    return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner,
                      "the model graph unrolls to more than 2^24 layer calls (nested models called many times)");
}

/* The states a recurrent class gives per direction (0: not one). */
static uint32_t kwnn__rnn_class_states(kwnn__json cls)
{
    return kwnn__jstr_is(cls, "LSTM") ? 2 : kwnn__jstr_is(cls, "GRU") || kwnn__jstr_is(cls, "SimpleRNN") ? 1 : 0;
}

/* Outputs of one call of a layer entry (a model config's): a recurrent layer (or a Bidirectional
   of one) with return_state gives its states after its output (LSTM: h, c; GRU, SimpleRNN: h;
   a Bidirectional: the forward's, then the backward's). */
static uint32_t kwnn__entry_outputs(kwnn__json entry)
{
    kwnn__json cls, cfg, v, bcls;
    uint32_t back = 0, states, mains = 1;
    int on = 0;
    if (!kwnn__get(entry, "class_name", &cls) || !kwnn__get(entry, "config", &cfg)) return 1;
    if (kwnn__jstr_is(cls, "Bidirectional")) {
        if (kwnn__get(cfg, "merge_mode", &v) && kwnn__null(v)) mains = 2; /* merge_mode None: two outputs */
        bcls.p = NULL;
        if (kwnn__get(cfg, "backward_layer", &v) && kwnn__is(v, '{')) kwnn__get(v, "class_name", &bcls);
        if (!kwnn__get(cfg, "layer", &v) || !kwnn__get(v, "class_name", &cls) || !kwnn__get(v, "config", &cfg))
            return 1;
        back = kwnn__rnn_class_states(bcls.p != NULL ? bcls : cls); /* the backward layer's own class */
    }
    states = kwnn__rnn_class_states(cls);
    if (states == 0) return 1;
    if (!kwnn__get(cfg, "return_state", &v) || !kwnn__bool(v, &on) || !on) return mains;
    return mains + states + back;
}

/* Pass 1: nodes and edges one call of a model unrolls to, from its config
   (nested configs included); linear in the config's size. */
static kwnn_result kwnn__count_model(kwnn__ctx *c, int seq, kwnn__json mcfg, const kwb_layer *owner, int depth,
                                     kwnn__size *sz)
{
    kwnn__json layers, entry, cls, nodes, io, ecfg;
    kwnn__iter it, calls;
    kwnn_result r;
    if (depth > KWNN__MAX_DEPTH)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, owner, "models are nested more than 32 deep");
    if (!kwnn__model_layers(mcfg, &layers) || !kwnn__begin(layers, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a model config has no list of layers");
    sz->nodes = sz->edges = seq ? 1 : 0; /* a Sequential may have an InputLayer its config omits */
    while (kwnn__next(&it, NULL, &entry)) {
        uint64_t m = 1, refs = (seq && kwnn__mask_entry(entry)) ? 2u : 1u; /* a chain's mask: 48_masking.h */
        int nested_seq, has_cls, td_model;
        KWNN_PROBE(load_steps, 1);
        if (kwnn__op_entry(entry) && (r = kwnn__op_measure(c, entry, owner)) != KWNN_OK) return r; /* 47_ops.h */
        c->mask_producer |= kwnn__mask_producer(entry); /* 48_masking.h */
        if (!seq) {
            m = refs = 0;
            if (kwnn__get(entry, "inbound_nodes", &nodes) && kwnn__begin(nodes, '[', &calls)) {
                kwnn__json call;
                m = kwnn__count(nodes);
                while (kwnn__next(&calls, NULL, &call)) { /* every reference, or more (Keras 2 kwargs) */
                    size_t all = kwnn__nrefs(call), used = kwnn__tf_op_entry(entry) ? kwnn__tf_nrefs(call, 0)
                                                                                     : kwnn__call_nrefs(call);
                    refs += (all > used ? all : used) + kwnn__mask_spare(entry); /* 48_masking.h */
                }
            }
        }
        has_cls = kwnn__get(entry, "class_name", &cls);
        td_model = has_cls && kwnn__jstr_is(cls, "TimeDistributed") && kwnn__get(entry, "config", &ecfg) &&
                   kwnn__td_model_cfg(ecfg, &ecfg, &nested_seq);
        if (td_model || (has_cls && kwnn__model_json(cls, &nested_seq))) { /* a model, or one in a TimeDistributed */
            kwnn__size in;
            if (!td_model && !kwnn__get(entry, "config", &ecfg))
                return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a nested model has no config");
            if ((r = kwnn__count_model(c, nested_seq, ecfg, owner, depth + 1, &in)) != KWNN_OK) return r;
            sz->nodes = kwnn__sat_add(sz->nodes, kwnn__sat_mul(m, in.nodes + in.outs));
            sz->edges = kwnn__sat_add(sz->edges, kwnn__sat_add(refs, kwnn__sat_mul(m, in.edges + in.outs)));
        } else if (kwnn__get(entry, "class_name", &cls) && kwnn__jstr_is(cls, "InputLayer")) {
            sz->nodes++;
            sz->edges++;
        } else {
            uint64_t parts = kwnn__entry_outputs(entry); /* several: a PART node per output */
            if (parts > 1) parts = kwnn__sat_mul(m, parts);
            else parts = 0;
            sz->nodes = kwnn__sat_add(sz->nodes, kwnn__sat_add(m, parts));
            sz->edges = kwnn__sat_add(sz->edges, kwnn__sat_add(refs, parts));
        }
        if (sz->nodes > KWNN__MAX_NODES || sz->edges > KWNN__MAX_NODES) return kwnn__too_big(c, owner);
    }
    sz->outs = 1;
    if (!seq) {
        size_t outs = kwnn__get(mcfg, "output_layers", &io) ? kwnn__nrefs(io) : 1; /* none: the last layer */
        if (outs == 0 || outs > KWNN__MAX_NODES)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, owner, "a functional model config lists no output_layers");
        sz->outs = (uint32_t)outs;
    }
    return KWNN_OK;
}

/* Pass 1: the whole graph's size (the metadata's Functional config, or the
   table's top-level layers as a chain). */
static kwnn_result kwnn__count_graph(kwnn__ctx *c)
{
    kwnn__size sz;
    kwnn__json io;
    kwnn_result r;
    uint32_t i;
    if (c->top_cfg.p != NULL) {
        size_t ins = 0;
        if ((r = kwnn__count_model(c, 0, c->top_cfg, NULL, 0, &sz)) != KWNN_OK) return r;
        if (kwnn__get(c->top_cfg, "input_layers", &io)) {
            ins = kwnn__nrefs(io);
        } else { /* none listed: every InputLayer, in order */
            kwnn__json layers, entry, cls;
            kwnn__iter it;
            kwnn__model_layers(c->top_cfg, &layers);
            kwnn__begin(layers, '[', &it);
            while (kwnn__next(&it, NULL, &entry))
                if (kwnn__get(entry, "class_name", &cls) && kwnn__jstr_is(cls, "InputLayer")) ins++;
        }
        if (ins == 0 || ins > KWNN__MAX_NODES)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "the model config lists no input_layers");
        c->count_inputs = (uint32_t)ins;
        c->count_outputs = sz.outs;
        c->count_nodes = sz.nodes;
        c->count_edges = sz.edges;
        return KWNN_OK;
    }
    c->count_nodes = 1; /* the input */
    c->count_edges = 0;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        kwnn__json cfg;
        int td_seq;
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (L.parent != KWB_NONE) continue;
        KWNN_PROBE(load_steps, 1);
        cfg.p = L.config;
        cfg.e = L.config + L.config_length;
        if (kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_model(&L, &cfg, &td_seq)) {
            kwnn__size in;
            int seq = strcmp(L.class_name, "Sequential") == 0 || (kwnn__td_model(&L, &cfg, &td_seq) && td_seq);
            if (L.config_length == 0)
                return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, &L, "has no config (pack the file with --arch)");
            if ((r = kwnn__count_model(c, seq, cfg, &L, 1, &in)) != KWNN_OK) return r;
            c->count_nodes = kwnn__sat_add(c->count_nodes, in.nodes + in.outs);
            c->count_edges = kwnn__sat_add(c->count_edges, in.edges + in.outs + 1);
        } else {
            c->count_nodes++;
            c->count_edges += kwnn__is_class(&L, kwnn__mask_classes) ? 2 : 1; /* a chain's mask: 48_masking.h */
        }
        if (c->count_nodes > KWNN__MAX_NODES || c->count_edges > KWNN__MAX_NODES) return kwnn__too_big(c, NULL);
    }
    c->count_inputs = c->count_outputs = 1;
    return KWNN_OK;
}

/* ---- building: names, references, calls ---- */

/* The name of row L inside its model: after "parent/", as the importer writes it. */
static const char *kwnn__local(kwnn__ctx *c, const kwb_layer *L, size_t *len)
{
    kwb_layer P;
    if (L->parent != KWB_NONE && kwb_get_layer(c->f, L->parent, &P) == KWB_OK &&
        L->name_length > P.name_length + 1 && memcmp(L->name, P.name, P.name_length) == 0 &&
        L->name[P.name_length] == '/') {
        *len = (size_t)(L->name_length - P.name_length - 1);
        return L->name + P.name_length + 1;
    }
    *len = L->name_length;
    return L->name;
}

static uint32_t kwnn__fnv(uint32_t h, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t kwnn__hash_start(uint32_t scope)
{
    unsigned char b[4];
    b[0] = (unsigned char)scope;
    b[1] = (unsigned char)(scope >> 8);
    b[2] = (unsigned char)(scope >> 16);
    b[3] = (unsigned char)(scope >> 24);
    return kwnn__fnv(2166136261u, b, 4);
}

/* The hash of a JSON string's decoded bytes, in a scope. */
static uint32_t kwnn__hash_json(uint32_t scope, kwnn__json v)
{
    const char *p = v.p + 1, *e = v.e - 1;
    uint32_t h = kwnn__hash_start(scope);
    while (p < e) {
        unsigned char buf[4];
        size_t k = kwnn__jchar(&p, e, buf);
        if (k == 0) break;
        h = kwnn__fnv(h, buf, k);
    }
    return h;
}

/* Every row under (its parent, its local name): references resolve in O(1). */
static kwnn_result kwnn__hash_build(kwnn__ctx *c)
{
    uint32_t i, j;
    for (i = 0; i <= c->hash_mask; i++) c->hash[i] = 0;
    for (i = 0; i < c->n; i++) {
        kwb_layer L, M;
        size_t len, mlen;
        const char *local;
        uint32_t scope, h;
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        scope = L.parent == KWB_NONE ? c->n : L.parent;
        local = kwnn__local(c, &L, &len);
        h = kwnn__fnv(kwnn__hash_start(scope), (const unsigned char *)local, len) & c->hash_mask;
        while ((j = c->hash[h]) != 0) {
            if (kwb_get_layer(c->f, j - 1, &M) == KWB_OK && M.parent == L.parent) {
                const char *ml = kwnn__local(c, &M, &mlen);
                if (mlen == len && memcmp(ml, local, len) == 0)
                    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L,
                                      "has the same name as another layer of its model (references are ambiguous)");
            }
            h = (h + 1) & c->hash_mask;
        }
        c->hash[h] = i + 1;
    }
    return KWNN_OK;
}

/* The row named `name` (a JSON string) in `scope`, or KWB_NONE. */
static uint32_t kwnn__lookup(kwnn__ctx *c, uint32_t scope, kwnn__json name)
{
    uint32_t h = kwnn__hash_json(scope, name) & c->hash_mask, j;
    if (!kwnn__is(name, '"')) return KWB_NONE;
    while ((j = c->hash[h]) != 0) {
        kwb_layer M;
        size_t mlen;
        if (kwb_get_layer(c->f, j - 1, &M) == KWB_OK && (M.parent == KWB_NONE ? c->n : M.parent) == scope) {
            const char *ml = kwnn__local(c, &M, &mlen);
            if (kwnn__jstr_eq(name, ml, mlen)) return j - 1;
        }
        h = (h + 1) & c->hash_mask;
    }
    return KWB_NONE;
}

static kwnn_result kwnn__disagree(kwnn__ctx *c)
{
    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL,
                      "the model configs and the layer table disagree (more calls or layers than the configs list)");
}

static kwnn_result kwnn__new_node(kwnn__ctx *c, uint32_t kind, uint32_t layer, uint32_t n_in, uint32_t *id)
{
    kwnn__node *x;
    uint32_t i;
    if (c->nodes_used >= c->node_cap || n_in > c->edge_cap - c->edges_used) return kwnn__disagree(c);
    *id = c->nodes_used++;
    x = &c->net->nodes_[*id];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->layer = layer;
    x->n_in = n_in;
    x->first_in = c->edges_used;
    x->root = *id;
    for (i = 0; i < n_in; i++) c->net->edges_[c->edges_used + i] = KWB_NONE;
    c->edges_used += n_in;
    return KWNN_OK;
}

/* "layer 'WHO': takes its input from 'NAME' WHAT" */
static kwnn_result kwnn__ref_fail(kwnn__ctx *c, kwnn__json who, kwnn__json name, const char *what)
{
    kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "layer '");
    kwnn__m_jstr(c->net, who);
    kwnn__m(c->net, "': its input '");
    kwnn__m_jstr(c->net, name);
    kwnn__m(c->net, "' ");
    kwnn__m(c->net, what);
    return KWNN_ERR_BAD_CONFIG;
}

/* The node a reference [name, node_index, tensor_index] names in `scope`:
   node_index counts the calls of that layer as its model config lists them
   (every generation renumbers them so), tensor_index a nested model's outputs. */
static kwnn_result kwnn__resolve(kwnn__ctx *c, uint32_t scope, kwnn__json ref, kwnn__json who, uint32_t *id)
{
    kwnn__iter it;
    kwnn__json name, v;
    long ni = 0, ti = 0;
    uint32_t t;
    kwb_layer L;
    kwnn__begin(ref, '[', &it);
    kwnn__next(&it, NULL, &name);
    if (!kwnn__next(&it, NULL, &v) || !kwnn__int(v, &ni) || ni < 0 ||
        (kwnn__next(&it, NULL, &v) && (!kwnn__int(v, &ti) || ti < 0)))
        return kwnn__ref_fail(c, who, name, "has a bad node or tensor index");
    t = kwnn__lookup(c, scope, name);
    if (t == KWB_NONE || kwb_get_layer(c->f, t, &L) != KWB_OK)
        return kwnn__ref_fail(c, who, name, "is not a layer of its model (a dangling reference)");
    if ((unsigned long)ni >= c->calls[t] || (unsigned long)ti >= c->outs[t]) {
        kwnn__ref_fail(c, who, name, "is node ");
        kwnn__m_u(c->net, (size_t)ni);
        kwnn__m(c->net, ", tensor ");
        kwnn__m_u(c->net, (size_t)ti);
        kwnn__m(c->net, ", but that layer has ");
        kwnn__m_u(c->net, c->calls[t]);
        kwnn__m(c->net, " call(s) of ");
        kwnn__m_u(c->net, c->outs[t]);
        kwnn__m(c->net, " output(s) (a dangling reference)");
        return KWNN_ERR_BAD_CONFIG;
    }
    *id = c->base[t] + (uint32_t)ni * c->outs[t] + (uint32_t)ti;
    return KWNN_OK;
}

typedef struct kwnn__walk {
    kwnn__ctx *c;
    uint32_t scope;
    kwnn__json who;
    uint32_t *dst;
    uint32_t n, cap;
    kwnn_result r;
    int deep; /* a tf.keras operation call: also the references in each one's kwargs (47_ops.h) */
} kwnn__walk;

/* Resolve every reference in v, in order (the structure kwnn__refs counts). */
static void kwnn__walk_refs(kwnn__walk *w, kwnn__json v, int depth)
{
    kwnn__iter it;
    kwnn__json el, k;
    if (depth > 70 || w->r != KWNN_OK || v.p == NULL) return;
    if (kwnn__begin(v, '[', &it)) {
        kwnn__json e0, e1;
        kwnn__iter it2 = it;
        if (kwnn__next(&it2, NULL, &e0) && kwnn__is(e0, '"') && kwnn__next(&it2, NULL, &e1) &&
            e1.p < e1.e && (*e1.p == '-' || (*e1.p >= '0' && *e1.p <= '9'))) {
            if (w->deep && kwnn__jstr_is(e0, "_CONSTANT_VALUE")) { /* a constant first argument */
                kwnn__walk_refs(w, kwnn__tf_kwargs(v), depth + 1);
                return;
            }
            if (w->n >= w->cap) {
                w->r = kwnn__disagree(w->c);
                return;
            }
            w->r = kwnn__resolve(w->c, w->scope, v, w->who, &w->dst[w->n]);
            w->n++;
            if (w->deep) kwnn__walk_refs(w, kwnn__tf_kwargs(v), depth + 1);
            return;
        }
        while (kwnn__next(&it, NULL, &el)) kwnn__walk_refs(w, el, depth + 1);
    } else if (kwnn__begin(v, '{', &it)) {
        while (kwnn__next(&it, &k, &el)) kwnn__walk_refs(w, el, depth + 1);
    }
}

/* The inputs of one call into dst (exactly `want` of them). */
static kwnn_result kwnn__call_inputs(kwnn__ctx *c, uint32_t scope, kwnn__json who, kwnn__json call,
                                     uint32_t *dst, uint32_t want)
{
    kwnn__walk w;
    kwnn__json kw, v;
    size_t i;
    int has_kw = kwnn__call_kwargs(call, &kw);
    w.deep = c->deep_refs;
    if (w.deep) has_kw = 0; /* every reference, its kwargs' included */
    /* Keras 3: any other tensor keyword is refused (Keras 2's were always ignored) */
    if (has_kw && kwnn__is(call, '{') &&
        kwnn__nrefs(kw) != kwnn__call_nrefs(call) - kwnn__nrefs(kwnn__call_args(call))) {
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, NULL, "layer '");
        kwnn__m_jstr(c->net, who);
        kwnn__m(c->net, "': takes a tensor as a keyword argument");
        return KWNN_ERR_UNSUPPORTED;
    }
    w.c = c;
    w.scope = scope;
    w.who = who;
    w.dst = dst;
    w.n = 0;
    w.cap = want;
    w.r = KWNN_OK;
    kwnn__walk_refs(&w, kwnn__call_args(call), 0);
    for (i = 0; has_kw && i < KWNN__TENSOR_KWARGS; i++)
        if (kwnn__get(kw, kwnn__tensor_kwargs[i], &v)) kwnn__walk_refs(&w, v, 0);
    if (w.r == KWNN_OK && w.n != want) return kwnn__disagree(c);
    return w.r;
}

static kwnn_result kwnn__inst(kwnn__ctx *c, uint32_t owner, kwnn__json mcfg, const uint32_t *args, uint32_t n_args,
                              uint32_t *outs, uint32_t n_outs, int depth);

static int kwnn__is_input(const kwb_layer *L) { return strcmp(L->class_name, "InputLayer") == 0; }

/* Row L a TimeDistributed around a model, by its entry in a functional config: the model's config. */
static int kwnn__td_entry(const kwb_layer *L, kwnn__json entry, kwnn__json *mcfg, int *seq)
{
    kwnn__json cfg;
    return strcmp(L->class_name, "TimeDistributed") == 0 && kwnn__get(entry, "config", &cfg) &&
           kwnn__td_model_cfg(cfg, mcfg, seq);
}

/* After a call of row t that made nodes [first, nodes_used): if t is a TimeDistributed around a
   model, they run with the steps as their batch (kwnn__load_call).  One level only. */
static kwnn_result kwnn__td_mark(kwnn__ctx *c, uint32_t t, uint32_t first)
{
    kwb_layer L;
    kwnn__json m;
    int seq;
    uint32_t i;
    if (kwb_get_layer(c->f, t, &L) != KWB_OK || !kwnn__td_model(&L, &m, &seq)) return KWNN_OK;
    for (i = first; i < c->nodes_used; i++) {
        if (c->net->nodes_[i].steps)
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, &L,
                              "unsupported TimeDistributed model inside a TimeDistributed model");
        c->net->nodes_[i].steps = 1;
    }
    return KWNN_OK;
}

/* A TimeDistributed around model mcfg (row L): one input and one output, packed with its layers. */
static kwnn_result kwnn__td_model_check(kwnn__ctx *c, const kwb_layer *L, uint32_t t, kwnn__json mcfg, int seq)
{
    kwnn__json io;
    if (!seq && ((kwnn__get(mcfg, "input_layers", &io) && kwnn__nrefs(io) != 1) ||
                 (kwnn__get(mcfg, "output_layers", &io) && kwnn__nrefs(io) != 1)))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported wrapped model of several inputs or outputs (TimeDistributed takes one)");
    if (c->first_child[t] == KWB_NONE)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L,
                          "wraps a model whose layers the file does not list (pack it again with this kwbin)");
    return KWNN_OK;
}

/* A call of nested model t (its config mcfg) inside `scope`: its inputs
   resolved onto the stack, its outputs into the alias nodes [first, first + o). */
static kwnn_result kwnn__call_model(kwnn__ctx *c, uint32_t scope, uint32_t t, kwnn__json who, kwnn__json call,
                                    kwnn__json mcfg, uint32_t first, int depth)
{
    uint32_t a = (uint32_t)kwnn__call_nrefs(call), o = c->outs[t], j, *args, first_node;
    kwb_layer T;
    kwnn__json m;
    int seq;
    kwnn_result r;
    if (a > c->stack_cap - c->stack_used || o > c->stack_cap - c->stack_used - a) return kwnn__disagree(c);
    args = c->stack + c->stack_used;
    c->stack_used += a + o;
    if ((r = kwnn__call_inputs(c, scope, who, call, args, a)) != KWNN_OK) return r;
    if (a != 1 && kwb_get_layer(c->f, t, &T) == KWB_OK && kwnn__td_model(&T, &m, &seq))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, &T,
                          "unsupported mask (mask_zero or Masking upstream) or several inputs into a wrapped model");
    first_node = c->nodes_used;
    if ((r = kwnn__inst(c, t, mcfg, args, a, args + a, o, depth + 1)) != KWNN_OK ||
        (r = kwnn__td_mark(c, t, first_node)) != KWNN_OK)
        return r;
    for (j = 0; j < o; j++) c->net->edges_[c->net->nodes_[first + j].first_in] = args[a + j];
    c->stack_used -= a + o;
    return KWNN_OK;
}

/* One call of a Functional model: its config's layers are the table's
   children of `owner`, in order (checked); every call gets its node. */
static kwnn_result kwnn__inst_functional(kwnn__ctx *c, uint32_t owner, kwnn__json mcfg, const uint32_t *args,
                                         uint32_t n_args, uint32_t *outs, uint32_t n_outs, int depth)
{
    uint32_t scope = owner == KWB_NONE ? c->n : owner, child, t, k, id, m, i, last = KWB_NONE;
    const kwb_layer *ownerp = NULL;
    kwb_layer O, L;
    kwnn__json layers, entry, name, nodes, call, io, ecfg, cls;
    kwnn__iter it, calls;
    kwnn__walk w;
    kwnn_result r;
    int td_seq;
    if (owner != KWB_NONE && kwb_get_layer(c->f, owner, &O) == KWB_OK) ownerp = &O;
    if (!kwnn__model_layers(mcfg, &layers) || !kwnn__begin(layers, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the functional model config has no list of layers");
    /* 1: each entry is the next child row; nodes for its calls */
    child = c->first_child[scope];
    while (kwnn__next(&it, NULL, &entry)) {
        const char *local;
        size_t len;
        KWNN_PROBE(load_steps, 1);
        if (!kwnn__entry_name(entry, &name))
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "a layer of the model config has no name");
        if (child == KWB_NONE || kwb_get_layer(c->f, child, &L) != KWB_OK) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the model config names a layer '");
            kwnn__m_jstr(c->net, name);
            kwnn__m(c->net, "' that the layer table does not have");
            return KWNN_ERR_BAD_CONFIG;
        }
        local = kwnn__local(c, &L, &len);
        if (!kwnn__jstr_eq(name, local, len)) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the model config lists layer '");
            kwnn__m_jstr(c->net, name);
            kwnn__m(c->net, "' where the layer table has '");
            kwnn__m_raw(c->net, local, len);
            kwnn__m(c->net, "' (the two must list the same layers in the same order)");
            return KWNN_ERR_BAD_CONFIG;
        }
        t = last = child;
        m = 0;
        if (kwnn__get(entry, "inbound_nodes", &nodes) && kwnn__is(nodes, '[')) m = (uint32_t)kwnn__count(nodes);
        c->base[t] = c->nodes_used;
        c->calls[t] = m;
        c->outs[t] = 1;
        if (kwnn__is_input(&L)) {
            c->calls[t] = 1;
            if ((r = kwnn__new_node(c, KWNN__N_UNBOUND, t, 0, &id)) != KWNN_OK) return r;
        } else if (kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_entry(&L, entry, &ecfg, &td_seq)) {
            uint64_t total;
            if (!kwnn__is_class(&L, kwnn__model_classes) && (r = kwnn__td_model_check(c, &L, t, ecfg, td_seq)) != KWNN_OK)
                return r;
            if (strcmp(L.class_name, "Sequential") != 0 && kwnn__get(entry, "config", &ecfg) &&
                kwnn__get(ecfg, "output_layers", &io)) {
                if (kwnn__nrefs(io) == 0 || kwnn__nrefs(io) > KWNN__MAX_NODES)
                    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L, "its model config lists no output_layers");
                c->outs[t] = (uint32_t)kwnn__nrefs(io);
            }
            total = (uint64_t)m * c->outs[t];
            if (total > c->node_cap) return kwnn__disagree(c);
            for (k = 0; k < (uint32_t)total; k++)
                if ((r = kwnn__new_node(c, KWNN__N_ALIAS, KWB_NONE, 1, &id)) != KWNN_OK) return r;
        } else if (m > 0) {
            kwnn__iter it2;
            uint32_t parts = kwnn__entry_outputs(entry);
            if (parts > 1) { /* references name the PART nodes, which read the calls' nodes after them */
                if ((uint64_t)m * parts > c->node_cap) return kwnn__disagree(c);
                c->outs[t] = parts;
                for (k = 0; k < m * parts; k++) {
                    if ((r = kwnn__new_node(c, KWNN__N_PART, t, 1, &id)) != KWNN_OK) return r;
                    c->net->nodes_[id].part = k % parts;
                    c->net->edges_[c->net->nodes_[id].first_in] = c->base[t] + m * parts + k / parts;
                }
            }
            kwnn__begin(nodes, '[', &it2);
            while (kwnn__next(&it2, NULL, &call)) {
                if ((r = kwnn__new_node(c, KWNN__N_LAYER, t,
                                        (uint32_t)(kwnn__tf_op_entry(entry) ? kwnn__tf_nrefs(call, 0)
                                                                            : kwnn__call_nrefs(call)) +
                                            kwnn__mask_spare(entry),
                                        &id)) !=
                    KWNN_OK)
                    return r;
                c->net->nodes_[id].n_in -= kwnn__mask_spare(entry); /* room for its masks (48_masking.h) */
            }
        }
        child = c->next_sibling[child];
    }
    if (child != KWB_NONE)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp,
                          "the model config and the layer table list different layers");
    /* 2: the model's inputs are its InputLayers (input_layers; none listed:
       all, in order), fed by the call's arguments */
    name.p = "\"input_layers\"";
    name.e = name.p + 14;
    if (n_args > c->stack_cap - c->stack_used) return kwnn__disagree(c);
    w.c = c;
    w.scope = scope;
    w.who = name;
    w.dst = c->stack + c->stack_used;
    w.n = 0;
    w.cap = n_args;
    w.r = KWNN_OK;
    if (kwnn__get(mcfg, "input_layers", &io)) {
        kwnn__walk_refs(&w, io, 0);
    } else {
        for (child = c->first_child[scope]; child != KWB_NONE && w.n < n_args; child = c->next_sibling[child])
            if (kwb_get_layer(c->f, child, &L) == KWB_OK && kwnn__is_input(&L)) w.dst[w.n++] = c->base[child];
    }
    if (w.r != KWNN_OK) return w.r;
    if (w.n != n_args) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, ownerp, "the model is called on ");
        kwnn__m_u(c->net, n_args);
        kwnn__m(c->net, " input(s), but its config has ");
        kwnn__m_u(c->net, w.n);
        return KWNN_ERR_SHAPE;
    }
    for (i = 0; i < n_args; i++) {
        kwnn__node *x = &c->net->nodes_[w.dst[i]];
        if (x->kind != KWNN__N_UNBOUND)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp,
                              "an entry of input_layers is not an InputLayer, or is listed twice");
        if (owner == KWB_NONE) {
            x->kind = KWNN__N_INPUT;
            x->aux = i;
            c->net->inputs_[i] = w.dst[i];
        } else {
            x->kind = KWNN__N_ALIAS;
            x->n_in = 1;
            if (c->edges_used >= c->edge_cap) return kwnn__disagree(c);
            x->first_in = c->edges_used++;
            c->net->edges_[x->first_in] = args[i];
        }
    }
    /* 3: the inputs of every call */
    kwnn__begin(layers, '[', &it);
    child = c->first_child[scope];
    while (kwnn__next(&it, NULL, &entry)) {
        t = child;
        child = c->next_sibling[child];
        if (kwb_get_layer(c->f, t, &L) != KWB_OK) return kwnn__disagree(c);
        kwnn__entry_name(entry, &name);
        if (kwnn__is_input(&L) || !kwnn__get(entry, "inbound_nodes", &nodes) || !kwnn__begin(nodes, '[', &calls))
            continue;
        k = 0;
        while (kwnn__next(&calls, NULL, &call)) {
            if (kwnn__td_entry(&L, entry, &ecfg, &td_seq)) { /* its model's layers are the row's children */
                if ((r = kwnn__call_model(c, scope, t, name, call, ecfg, c->base[t] + k * c->outs[t], depth)) !=
                    KWNN_OK)
                    return r;
            } else if (kwnn__is_class(&L, kwnn__model_classes)) {
                int seq;
                if (!kwnn__get(entry, "config", &ecfg)) ecfg = layers; /* a Sequential: its table rows */
                if (!kwnn__get(entry, "class_name", &cls) || !kwnn__model_json(cls, &seq))
                    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L, "its config entry is not a model's");
                if ((r = kwnn__call_model(c, scope, t, name, call, ecfg, c->base[t] + k * c->outs[t], depth)) !=
                    KWNN_OK)
                    return r;
            } else { /* the call's node: after its PART nodes, if any */
                kwnn__node *x = &c->net->nodes_[c->base[t] + (c->outs[t] > 1 ? c->calls[t] * c->outs[t] : 0) + k];
                c->deep_refs = kwnn__tf_op_entry(entry); /* 47_ops.h */
                r = kwnn__call_inputs(c, scope, name, call, c->net->edges_ + x->first_in, x->n_in);
                c->deep_refs = 0;
                if (r != KWNN_OK) return r;
                kwnn__call_kwargs(call, &x->kwargs);
                if (kwnn__op_entry(entry)) x->call = call;
                x->masked = kwnn__call_masked(x->kwargs); /* 48_masking.h */
            }
            k++;
        }
    }
    /* 4: the outputs (none listed: the last layer's first call) */
    if (!kwnn__get(mcfg, "output_layers", &io)) {
        if (last == KWB_NONE || c->calls[last] == 0 || n_outs != 1)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, ownerp, "the model config lists no output_layers");
        outs[0] = c->base[last];
        return KWNN_OK;
    }
    name.p = "\"output_layers\"";
    name.e = name.p + 15;
    w.dst = outs;
    w.n = 0;
    w.cap = n_outs;
    w.who = name;
    kwnn__walk_refs(&w, io, 0);
    if (w.r == KWNN_OK && w.n != n_outs) return kwnn__disagree(c);
    return w.r;
}

/* One call of a Sequential (or the table's top level without a Functional
   config): its rows in order, each fed by the one before. */
static kwnn_result kwnn__inst_chain(kwnn__ctx *c, uint32_t owner, const uint32_t *args, uint32_t n_args,
                                    uint32_t *outs, uint32_t n_outs, int depth)
{
    uint32_t scope = owner == KWB_NONE ? c->n : owner, child = c->first_child[scope], v, id;
    kwb_layer L;
    kwnn_result r;
    int masks = 0, attach, td_seq; /* a chain's mask (48_masking.h) */
    kwnn__json tcfg;
    uint32_t mask_src = KWB_NONE;
    if (owner == KWB_NONE) { /* the network's input: an InputLayer, or the first layer's config says */
        int first_is_input = child != KWB_NONE && kwb_get_layer(c->f, child, &L) == KWB_OK && kwnn__is_input(&L);
        if ((r = kwnn__new_node(c, KWNN__N_INPUT, first_is_input ? child : KWB_NONE, 0, &v)) != KWNN_OK) return r;
        c->net->inputs_[0] = v;
        if (first_is_input) child = c->next_sibling[child];
    } else {
        if (n_args != 1) {
            kwb_get_layer(c->f, owner, &L);
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, &L, "a Sequential model is called on several inputs");
        }
        v = args[0];
    }
    for (; child != KWB_NONE; child = c->next_sibling[child]) {
        KWNN_PROBE(load_steps, 1);
        if (kwb_get_layer(c->f, child, &L) != KWB_OK) return kwnn__disagree(c);
        if ((r = kwnn__chain_mask(c, &L, v, &masks, &mask_src, &attach)) != KWNN_OK) return r;
        if (kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_model(&L, &tcfg, &td_seq)) {
            kwnn__json cfg;
            uint32_t first_node = c->nodes_used;
            if (c->stack_cap - c->stack_used < 2) return kwnn__disagree(c);
            cfg.p = L.config;
            cfg.e = L.config + L.config_length;
            if (kwnn__td_model(&L, &tcfg, &td_seq)) {
                if ((r = kwnn__td_model_check(c, &L, child, tcfg, td_seq)) != KWNN_OK) return r;
                cfg = tcfg;
            }
            c->stack[c->stack_used] = v;
            c->stack_used += 2;
            if (L.config_length == 0)
                return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, &L, "has no config (pack the file with --arch)");
            c->outs[child] = 1;
            if ((r = kwnn__inst(c, child, cfg, c->stack + c->stack_used - 2, 1, c->stack + c->stack_used - 1, 1,
                                depth + 1)) != KWNN_OK ||
                (r = kwnn__td_mark(c, child, first_node)) != KWNN_OK)
                return r;
            v = c->stack[c->stack_used - 1];
            c->stack_used -= 2;
            continue;
        }
        if ((r = kwnn__new_node(c, kwnn__is_input(&L) ? KWNN__N_ALIAS : KWNN__N_LAYER, child, attach ? 2 : 1, &id)) !=
            KWNN_OK)
            return r;
        c->net->edges_[c->net->nodes_[id].first_in] = v;
        if (attach) { /* the mask: the ids of the mask_zero Embedding */
            c->net->edges_[c->net->nodes_[id].first_in + 1] = mask_src;
            c->net->nodes_[id].masked = 1;
        }
        v = id;
    }
    if (n_outs != 1) {
        kwb_get_layer(c->f, owner, &L);
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, &L, "a Sequential model has one output");
    }
    outs[0] = v;
    return KWNN_OK;
}

/* One call of model `owner` (KWB_NONE: the network). */
static kwnn_result kwnn__inst(kwnn__ctx *c, uint32_t owner, kwnn__json mcfg, const uint32_t *args, uint32_t n_args,
                              uint32_t *outs, uint32_t n_outs, int depth)
{
    kwb_layer O;
    kwnn__json m;
    int seq;
    if (depth > KWNN__MAX_DEPTH) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, NULL, "models are nested more than 32 deep");
    if (owner == KWB_NONE)
        return mcfg.p != NULL ? kwnn__inst_functional(c, owner, mcfg, args, n_args, outs, n_outs, depth)
                              : kwnn__inst_chain(c, owner, args, n_args, outs, n_outs, depth);
    if (kwb_get_layer(c->f, owner, &O) != KWB_OK) return kwnn__disagree(c);
    if (strcmp(O.class_name, "Sequential") == 0 || (kwnn__td_model(&O, &m, &seq) && seq))
        return kwnn__inst_chain(c, owner, args, n_args, outs, n_outs, depth);
    return kwnn__inst_functional(c, owner, mcfg, args, n_args, outs, n_outs, depth);
}

/* ---- sorting: every node after its inputs (depth first from the outputs) ---- */

static kwnn_result kwnn__cycle(kwnn__ctx *c, const kwnn__node *x)
{
    kwb_layer L;
    if (x->layer != KWB_NONE && kwb_get_layer(c->f, x->layer, &L) == KWB_OK)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, &L, "its input depends on its own output (the graph has a cycle)");
    return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, NULL, "the model graph has a cycle");
}

static kwnn_result kwnn__sort(kwnn__ctx *c, uint32_t *n_order)
{
    kwnn_net *net = c->net;
    kwnn__node *nodes = net->nodes_;
    uint32_t r, sp = 0, n = 0, roots = net->num_inputs + net->num_outputs;
    for (r = 0; r < roots; r++) {
        uint32_t root = r < net->num_inputs ? net->inputs_[r] : net->outputs_[r - net->num_inputs];
        if (root >= c->nodes_used) return kwnn__disagree(c);
        if (nodes[root].state != 0) continue;
        nodes[root].state = 1;
        c->stack[sp] = root;
        c->stack2[sp++] = 0;
        while (sp > 0) {
            uint32_t x = c->stack[sp - 1];
            KWNN_PROBE(load_steps, 1);
            if (c->stack2[sp - 1] < nodes[x].n_in) {
                uint32_t y = net->edges_[nodes[x].first_in + c->stack2[sp - 1]++];
                if (y >= c->nodes_used) return kwnn__disagree(c);
                if (nodes[y].state == 1) return kwnn__cycle(c, &nodes[y]);
                if (nodes[y].state == 0) {
                    if (sp >= c->stack_cap) return kwnn__disagree(c);
                    nodes[y].state = 1;
                    c->stack[sp] = y;
                    c->stack2[sp++] = 0;
                }
            } else {
                nodes[x].state = 2;
                net->order_[n++] = x;
                sp--;
            }
        }
    }
    *n_order = n;
    return KWNN_OK;
}

/* ---- shapes: every node's, in order; each layer loaded at its first call ---- */

static int kwnn__same_shape(const kwnn__node *a, const kwnn__node *b)
{
    uint32_t d;
    if (a->nd != b->nd) return 0;
    for (d = 0; d < a->nd; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

static void kwnn__set_node_shape(kwnn__node *x, const size_t *shape, uint32_t nd)
{
    memcpy(x->shape, shape, sizeof x->shape);
    x->nd = nd;
    x->known = 1;
    if (!kwnn__prod(shape, nd, &x->count)) x->count = KWNN__SIZE_MAX; /* the loaders checked it */
}

/* PART node x: output x->part of the recurrent call it reads, L that call's layer. */
static kwnn_result kwnn__part_shape(kwnn_net *net, const kwnn_layer *L, kwnn__node *x)
{
    size_t shape[KWNN_MAX_DIMS], offset;
    uint32_t nd;
    uint32_t parts = (L->groups ? kwnn__rnn_state_count(L) : 0) + ((L->op & KWNN__RNN_SPLIT) ? 2 : 1);
    if (net->nodes_[net->edges_[x->first_in]].kind != KWNN__N_LAYER ||
        (L->kind != KWNN_LAYER_SIMPLE_RNN && L->kind != KWNN_LAYER_LSTM && L->kind != KWNN_LAYER_GRU) ||
        parts < 2 || x->part >= parts)
        return kwnn__fail(net, KWNN_ERR_BAD_CONFIG, NULL,
                          "the model config takes several outputs of a layer that gives one (only a recurrent "
                          "layer with return_state gives several)");
    kwnn__rnn_part(L, x->part, shape, &nd, &offset);
    kwnn__set_node_shape(x, shape, nd);
    return KWNN_OK;
}

/* An InputLayer's shape into c->shape (have_shape: check it equals c->shape instead). */
static kwnn_result kwnn__input_shape(kwnn__ctx *c, const kwb_layer *L, int required)
{
    static const char *const keys[] = {"batch_shape", "batch_input_shape", NULL};
    const char *which;
    kwnn__json cfg, v;
    kwnn_result r;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__key(cfg, keys, &which, &v)) {
        if (!required) return KWNN_OK;
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L,
                          "config has no batch_shape (the input shape cannot be derived)");
    }
    return kwnn__set_shape_from(c, L, v, 1, which);
}

/* A call inside a TimeDistributed model (x->steps): its inputs' first axis, the wrapper's T time
   steps, taken off (off 1) while the layer loads for one step, then put back (off 0). */
static void kwnn__steps_axis(kwnn__ctx *c, const kwnn__node *x, size_t T, int off)
{
    const uint32_t *ins = c->net->edges_ + x->first_in;
    uint32_t i, j, d;
    for (i = 0; i < x->n_in; i++) {
        kwnn__node *in = &c->net->nodes_[ins[i]];
        for (j = 0; j < i && ins[j] != ins[i]; j++) {}
        if (j < i) continue; /* the same input twice: once */
        if (off) {
            for (d = 0; d + 1 < in->nd; d++) in->shape[d] = in->shape[d + 1];
            in->shape[--in->nd] = 0;
            in->count /= T;
        } else {
            for (d = in->nd; d > 0; d--) in->shape[d] = in->shape[d - 1];
            in->shape[0] = T;
            in->nd++;
            in->count *= T;
        }
    }
}

/* kwnn__layer for a call inside a TimeDistributed model: the layer loaded for one step's shapes, run
   on the steps as its batch (out->td, as TimeDistributed(layer)); c->shape with the steps again. */
static kwnn_result kwnn__steps_layer(kwnn__ctx *c, const kwb_layer *L, const kwnn__node *x, kwnn_layer *out)
{
    size_t T = c->shape[0], work;
    uint32_t i;
    kwnn_result r;
    for (i = 0; i < x->n_in; i++) {
        const kwnn__node *in = &c->net->nodes_[c->net->edges_[x->first_in + i]];
        if (in->nd < 2 || in->shape[0] != T || T == 0)
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "inside a TimeDistributed model needs inputs of its time steps");
    }
    if (x->masked || x->imask)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask inside a TimeDistributed model");
    memmove(c->shape, c->shape + 1, (KWNN_MAX_DIMS - 1) * sizeof *c->shape);
    c->nd--;
    kwnn__steps_axis(c, x, T, 1);
    r = kwnn__layer(c, L, out);
    kwnn__steps_axis(c, x, T, 0);
    if (r != KWNN_OK) return r;
    if (out->td > 0 || out->kind == KWNN_LAYER_DOT ||
        ((out->groups > 0 || (out->op & KWNN__RNN_SPLIT)) &&
         (out->kind == KWNN_LAYER_SIMPLE_RNN || out->kind == KWNN_LAYER_LSTM || out->kind == KWNN_LAYER_GRU)))
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported inside a TimeDistributed model (a TimeDistributed, Dot, or several outputs)");
    if (c->nd + 1 > KWNN_MAX_DIMS) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "output rank too large");
    if (!kwnn__mul(out->work, T, &work)) return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "its work area does not fit in a size_t");
    out->work = work;
    out->td = T;
    memmove(c->shape + 1, c->shape, (KWNN_MAX_DIMS - 1) * sizeof *c->shape);
    c->shape[0] = T;
    c->nd++;
    return KWNN_OK;
}

/* A nested InputLayer's check inside a TimeDistributed model: against one step's shape. */
static void kwnn__steps_drop(kwnn__ctx *c, const kwnn__node *x)
{
    if (!x->steps || c->nd < 2) return;
    memmove(c->shape, c->shape + 1, (KWNN_MAX_DIMS - 1) * sizeof *c->shape);
    c->shape[KWNN_MAX_DIMS - 1] = 0;
    c->nd--;
}

/* Layer L (a row of the table) for call x, from the shapes of x's inputs in c->net->nodes_: its
   kind, parameters and output shape into *out.  kwnn_load runs it at a layer's first call;
   kwnn_run_shapes again at every call, for the shapes of that run (c->fill 0: nothing written
   but *out and c->net->message). */
static kwnn_result kwnn__load_call(kwnn__ctx *c, const kwb_layer *L, const kwnn__node *x, kwnn_layer *out)
{
    const uint32_t *ins = c->net->edges_ + x->first_in;
    const char *name = out->name, *cls = out->class_name;
    kwnn_result r;
    memset(out, 0, sizeof *out);
    out->name = name;
    out->class_name = cls;
    out->index = x->layer;
    c->nd = c->net->nodes_[ins[0]].nd;
    memcpy(c->shape, c->net->nodes_[ins[0]].shape, sizeof c->shape);
    c->have_shape = 1;
    c->ins = ins;
    c->n_ins = x->n_in - kwnn__imask_count(x); /* without its implicit masks (61_implicit_masks.h) */
    c->kwargs = x->kwargs;
    c->op_call = x->call;
    c->masked = x->masked;
    out->in_ndim = c->nd;
    memcpy(out->in_shape, c->shape, sizeof c->shape);
    if ((r = x->steps ? kwnn__steps_layer(c, L, x, out) : kwnn__layer(c, L, out)) != KWNN_OK) return r;
    out->out_ndim = c->nd;
    memcpy(out->out_shape, c->shape, sizeof c->shape);
    if (out->td > 0) { /* TimeDistributed: the layer's shapes are one step's */
        uint32_t d;
        for (d = 0; d + 1 < KWNN_MAX_DIMS; d++) {
            out->in_shape[d] = out->in_shape[d + 1];
            out->out_shape[d] = out->out_shape[d + 1];
        }
        out->in_ndim--;
        out->out_ndim--;
    }
    if (!kwnn__prod(out->in_shape, out->in_ndim, &out->in_count))
        return kwnn__shape_overflow(c, L, "its input shape", out->in_shape, out->in_ndim);
    if (!kwnn__prod(out->out_shape, out->out_ndim, &out->out_count))
        return kwnn__shape_overflow(c, L, "its output shape", out->out_shape, out->out_ndim);
    if (out->in_count == 0 || out->out_count == 0)
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "has an empty input or output");
    if (out->kind == KWNN_LAYER_MERGE) out->units = x->n_in;
    out->cost = kwnn__layer_cost(out);
    if (out->td > 0) out->cost = kwnn__sat_mul(out->cost, out->td);
    if (out->work == 0) out->work = kwnn__conv_work(out); /* 49_conv_gemm.h */
    return KWNN_OK;
}

/* The value of call x of layer `out` (a TimeDistributed one: its steps first). */
static void kwnn__call_value(kwnn__node *x, const kwnn_layer *out)
{
    size_t shape[KWNN_MAX_DIMS];
    uint32_t nd = out->out_ndim;
    memcpy(shape, out->out_shape, sizeof shape);
    if (out->td > 0) { /* the loader checked the rank */
        memmove(shape + 1, out->out_shape, (KWNN_MAX_DIMS - 1) * sizeof *shape);
        shape[0] = out->td;
        nd++;
    }
    kwnn__set_node_shape(x, shape, nd);
}

/* A call of a layer: load the layer (first call) or check the shapes agree. */
static kwnn_result kwnn__layer_node(kwnn__ctx *c, uint32_t id)
{
    kwnn_net *net = c->net;
    kwnn__node *x = &net->nodes_[id];
    const uint32_t *ins = net->edges_ + x->first_in;
    kwnn_layer *out = &net->layers[x->layer];
    kwb_layer L;
    kwnn_result r;
    uint32_t i;
    if (kwb_get_layer(c->f, x->layer, &L) != KWB_OK) return kwnn__disagree(c);
    if (x->n_in == 0) return kwnn__fail(net, KWNN_ERR_BAD_CONFIG, &L, "is called without an input");
    if (L.config_length == 0)
        return kwnn__fail(net, KWNN_ERR_NO_CONFIG, &L,
                          "has no config (the file holds weights without the model's architecture; "
                          "pack it with --arch)");
    if (!net->nodes_[ins[0]].known) { /* the network's input, from this first layer's config */
        kwnn__json cfg;
        cfg.p = L.config;
        cfg.e = L.config + L.config_length;
        c->have_shape = 0;
        c->var_mask = 0;
        if ((r = kwnn__implicit_input(c, &L, cfg)) != KWNN_OK) return r;
        kwnn__set_node_shape(&net->nodes_[ins[0]], c->shape, c->nd);
        net->nodes_[ins[0]].var = c->var_mask;
    }
    if (c->loaded[x->layer] == KWB_NONE) {
        if ((r = kwnn__load_call(c, &L, x, out)) != KWNN_OK) return r;
        if ((out->groups > 0 || (out->op & KWNN__RNN_SPLIT)) && c->outs[x->layer] < 2 && (out->kind == KWNN_LAYER_SIMPLE_RNN ||
                                                         out->kind == KWNN_LAYER_LSTM || out->kind == KWNN_LAYER_GRU))
            return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                              "unsupported return_state or merge_mode None outside a functional model's graph (several outputs)");
        c->loaded[x->layer] = id;
    } else {
        const kwnn__node *first = &net->nodes_[c->loaded[x->layer]];
        int same = first->n_in == x->n_in;
        for (i = 0; same && i < x->n_in; i++)
            same = kwnn__same_shape(&net->nodes_[net->edges_[first->first_in + i]], &net->nodes_[ins[i]]);
        if (!same)
            return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                              "is called on inputs of different shapes (a shared layer must see one shape)");
        if (kwnn__attention_call_differs(out, x->kwargs)) /* 46_attention.h */
            return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L, "is called with and without use_causal_mask");
    }
    out->calls++;
    kwnn__call_value(x, out);
    c->cost = kwnn__sat_add(c->cost, out->cost);
    return KWNN_OK;
}

static kwnn_result kwnn__shapes(kwnn__ctx *c, uint32_t n_order)
{
    kwnn_net *net = c->net;
    uint32_t p;
    kwnn_result r;
    for (p = 0; p < n_order; p++) {
        uint32_t id = net->order_[p];
        kwnn__node *x = &net->nodes_[id];
        kwb_layer L;
        KWNN_PROBE(load_steps, 1);
        if (x->layer != KWB_NONE && kwb_get_layer(c->f, x->layer, &L) != KWB_OK) return kwnn__disagree(c);
        switch (x->kind) {
        case KWNN__N_INPUT:
            if (x->layer == KWB_NONE) break; /* from the first layer's config (kwnn__layer_node) */
            c->have_shape = 0;
            c->var_mask = 0;
            if ((r = kwnn__input_shape(c, &L, 1)) != KWNN_OK) return r;
            kwnn__set_node_shape(x, c->shape, c->nd);
            x->var = c->var_mask;
            break;
        case KWNN__N_UNBOUND:
            return kwnn__fail(net, KWNN_ERR_BAD_CONFIG, &L, "is not one of its model's inputs (input_layers)");
        case KWNN__N_PART:
            if ((r = kwnn__part_shape(net, &net->layers[x->layer], x)) != KWNN_OK) return r;
            break;
        case KWNN__N_ALIAS: {
            kwnn__node *in = &net->nodes_[net->edges_[x->first_in]];
            if (!in->known) { /* the network's input, from a nested model's InputLayer */
                if (x->layer == KWB_NONE) return kwnn__fail(net, KWNN_ERR_SHAPE, NULL, "cannot tell the network's input shape");
                c->have_shape = 0;
                c->var_mask = 0;
                if ((r = kwnn__input_shape(c, &L, 1)) != KWNN_OK) return r;
                kwnn__set_node_shape(in, c->shape, c->nd);
                in->var = c->var_mask;
            } else if (x->layer != KWB_NONE) { /* a nested InputLayer must agree with what feeds it */
                c->have_shape = 1;
                c->nd = in->nd;
                memcpy(c->shape, in->shape, sizeof c->shape);
                kwnn__steps_drop(c, x);
                if ((r = kwnn__input_shape(c, &L, 0)) != KWNN_OK) return r;
            }
            kwnn__set_node_shape(x, in->shape, in->nd);
            if (x->layer != KWB_NONE) net->layers[x->layer].kind = KWNN_LAYER_INPUT;
            break;
        }
        default:
            if ((r = kwnn__layer_node(c, id)) != KWNN_OK) return r;
            break;
        }
        if (x->known && !kwnn__prod(x->shape, x->nd, &x->count)) return kwnn__oom(c);
    }
    for (p = 0; p < net->num_inputs; p++)
        if (!net->nodes_[net->inputs_[p]].known)
            return kwnn__fail(net, KWNN_ERR_SHAPE, NULL, "cannot tell the network's input shape");
    return KWNN_OK;
}

/* ---- the buffer plan: one arena, each value placed by first fit while it lives ---- */

static size_t kwnn__round16(size_t n) { return (n + 15) & ~(size_t)15; }

static int kwnn__free_layer(const kwnn_net *net, const kwnn__node *x)
{
    if (x->kind == KWNN__N_PART) return 0; /* a copy */
    return x->kind != KWNN__N_LAYER || !kwnn__computes(net->layers[x->layer].kind);
}

/* Place root `id` at the lowest offset no live block overlaps. */
static kwnn_result kwnn__place(kwnn__ctx *c, uint32_t id)
{
    kwnn__node *nodes = c->net->nodes_;
    size_t size = kwnn__round16(nodes[id].count), at = 0, end;
    uint32_t i, j;
    for (i = 0; i < c->live_count; i++) {
        const kwnn__node *b = &nodes[c->live[i]];
        if (b->offset >= at && b->offset - at >= size) break;
        at = b->offset + kwnn__round16(b->count);
    }
    for (j = c->live_count; j > i; j--) c->live[j] = c->live[j - 1];
    c->live[i] = id;
    c->live_count++;
    nodes[id].offset = at;
    nodes[id].state = 3; /* live */
    if (!kwnn__add(at, size, &end) || end > KWNN__SIZE_MAX / 64) return kwnn__oom(c);
    if (end > c->net->arena_) c->net->arena_ = end;
    return KWNN_OK;
}

static void kwnn__release(kwnn__ctx *c, uint32_t id)
{
    uint32_t i;
    for (i = 0; i < c->live_count; i++)
        if (c->live[i] == id) break;
    if (i == c->live_count) return;
    for (; i + 1 < c->live_count; i++) c->live[i] = c->live[i + 1];
    c->live_count--;
    c->net->nodes_[id].state = 2;
}

static int kwnn__elementwise(kwnn_kind k)
{
    return k == KWNN_LAYER_BATCHNORM || k == KWNN_LAYER_ACTIVATION || k == KWNN_LAYER_AFFINE ||
           k == KWNN_LAYER_PRELU || k == KWNN_LAYER_LAYERNORM;
}

/* Every computing node of the run order placed by first fit while it lives (an elementwise
   layer takes over its input's block when it is that block's last reader); the arena's size and
   the peak into c->net.  Run again by kwnn_run_shapes on the nodes of one run's shapes. */
static kwnn_result kwnn__place_all(kwnn__ctx *c)
{
    kwnn_net *net = c->net;
    kwnn__node *nodes = net->nodes_;
    uint32_t p, i, s = net->order_count_;
    size_t live = 0;
    kwnn_result r;
    c->live_count = 0;
    for (p = 0; p < s; p++) {
        uint32_t id = net->order_[p];
        kwnn__node *x = &nodes[id];
        if (x->where == KWNN__AT_ARENA) {
            const kwnn__node *in = &nodes[nodes[net->edges_[x->first_in]].root];
            uint32_t from = nodes[net->edges_[x->first_in]].root;
            if (kwnn__elementwise(net->layers[x->layer].kind) && in->where == KWNN__AT_ARENA && in->last_use == p &&
                in->count == x->count && in->state == 3) {
                for (i = 0; i < c->live_count; i++) /* in place: the block passes to x */
                    if (c->live[i] == from) c->live[i] = id;
                x->offset = in->offset;
                x->state = 3;
                nodes[from].state = 0;
            } else {
                if ((r = kwnn__place(c, id)) != KWNN_OK) return r;
                live += x->count;
            }
            if (live > net->peak_) net->peak_ = live;
        }
        for (i = 0; i < x->n_in; i++) {
            uint32_t root = nodes[net->edges_[x->first_in + i]].root;
            if (nodes[root].state == 3 && nodes[root].last_use == p) {
                kwnn__release(c, root);
                live -= nodes[root].count;
            }
        }
        if (x->state == 3 && x->last_use == p) {
            kwnn__release(c, id);
            live -= x->count;
        }
    }
    return KWNN_OK;
}


/* Roots (free layers and aliases share their input's storage), the run
   order (computing nodes only), last readers, outputs written in place
   when nothing else reads them, then the arena by first fit. */
static kwnn_result kwnn__plan(kwnn__ctx *c, uint32_t n_order)
{
    kwnn_net *net = c->net;
    kwnn__node *nodes = net->nodes_;
    uint32_t p, s = 0, i, j;
    for (p = 0; p < n_order; p++) {
        uint32_t id = net->order_[p];
        kwnn__node *x = &nodes[id];
        x->where = KWNN__AT_ARENA;
        if (x->kind == KWNN__N_INPUT) {
            x->where = KWNN__AT_INPUT;
            x->slot = x->aux;
        } else if (kwnn__free_layer(net, x)) {
            x->root = nodes[net->edges_[x->first_in]].root;
        } else {
            x->aux = x->last_use = s; /* its position; the last reader's, once known */
            net->order_[s++] = id;
        }
    }
    net->order_count_ = s;
    for (p = 0; p < s; p++) {
        const kwnn__node *x = &nodes[net->order_[p]];
        for (i = 0; i < x->n_in; i++) nodes[nodes[net->edges_[x->first_in + i]].root].last_use = p;
    }
    for (j = 0; j < net->num_outputs; j++) { /* written in place when no layer reads it */
        kwnn__node *o = &nodes[net->outputs_[j]], *root = &nodes[o->root];
        if (root->kind == KWNN__N_INPUT) continue; /* copied at the end */
        if (root == o && root->where == KWNN__AT_ARENA && root->last_use == root->aux) {
            root->where = KWNN__AT_OUTPUT;
            root->slot = j;
        } else if (root->where == KWNN__AT_ARENA) {
            root->last_use = s; /* read by the final copy */
        }
    }
    for (i = 0; i < net->node_count_; i++)
        if (nodes[i].state == 2) nodes[i].state = 0;
    return kwnn__place_all(c);
}
/* ---- implicit masks: the masks Keras 3 passes at run time without recording them ---- */

/* Keras 3 records a mask in the graph only where a layer's call took it as its one keyword
   (48_masking.h).  Attention, AdditiveAttention and MultiHeadAttention take theirs at run time
   from their inputs' tensors (_keras_mask), which each layer sets from its inputs' masks as its
   compute_mask says.  This pass follows those masks over the graph, in run order, as Keras 3.x
   (checked against 3.15) does:
   - a mask_zero Embedding makes one (its ids != 0), so does Masking (any(x != 0) of its output;
     mask_value 0 only); a layer called with a recorded mask passes that one on as its class
     says (an RNN with return_sequences, a Bidirectional of one);
   - Dense, Dropout & co, the activation layers, the normalization layers, Rescaling and
     Normalization pass their input's mask on (supports_masking);
   - Add, Subtract, Multiply, Average: the OR of their inputs' masks, none when one has none;
     Concatenate on the last axis: the same (an input without a mask counts as all ones);
   - Attention, AdditiveAttention and MultiHeadAttention give their query's mask;
   - every other layer, a Keras 3 operation node and GlobalAveragePooling1D give none;
   - MultiHeadAttention removes the masks of its query, value and key tensors while it runs:
     a reader of one of those tensors that Keras runs later sees none.  Keras runs the graph by
     depth (the longest path to an output, the deepest first), so a reader deeper than the
     attention layer sees the mask, a shallower one does not; one of equal depth is refused,
     and so is every such reader in a graph with a shared layer or a nested model (Keras's
     depths there are not the longest paths of the unrolled graph).
   Keras 1 / 2 files (tf.keras 2.x) record no mask at all; there (kwnn__im_layer2, as tf.keras
   2.21 does; Keras 1 and standalone Keras 2 assumed alike) the recurrent layers, Bidirectional
   and GlobalAveragePooling1D take theirs here too, merges AND the masks they get, fewer layers
   pass a mask on (Rescaling, Normalization, Identity drop it) and MultiHeadAttention removes
   nothing.
   Where a mask reaches a layer that honours it (Attention & co), the pass adds the mask's
   source as one more input (the edges kept spare at pass 1): any(source[t, :] != 0) is step t's
   mask.  A mask it cannot represent (the OR of two different masks, Masking with another
   mask_value, Concatenate over the time axis, Maximum / Minimum, whose values a mask changes)
   is refused at the first layer whose result it would change. */

#define KWNN__IM_NONE 0xFFFFFFFFu  /* no mask */
#define KWNN__IM_OR 0xFFFFFFFEu    /* the OR of different masks */
#define KWNN__IM_VALUE 0xFFFFFFFDu /* Masking with a mask_value other than 0 */
#define KWNN__IM_AXIS 0xFFFFFFFCu  /* a concatenation along the masked axis */
#define KWNN__IM_ORDER 0xFFFFFFFBu /* removed by a MultiHeadAttention Keras may run before or after */
#define KWNN__IM_BAD(m) ((m) >= KWNN__IM_ORDER && (m) != KWNN__IM_NONE)

/* Layers whose call takes a mask: given one Keras does not record, they are refused. */
static const char *const kwnn__im_users[] = {"SimpleRNN", "LSTM", "GRU", "Bidirectional", "GlobalAveragePooling1D",
                                             "GlobalAvgPool1D", "Softmax", "TimeDistributed", NULL};

static const char *kwnn__im_why(uint32_t m)
{
    switch (m) {
    case KWNN__IM_OR: return "the combination of two different masks";
    case KWNN__IM_VALUE: return "the mask of a Masking layer whose mask_value is not 0";
    case KWNN__IM_AXIS: return "the mask of a concatenation along the time axis";
    default: return "a mask that MultiHeadAttention removes from its inputs, for a layer Keras may run before "
                    "or after it (the two are at one depth of the graph, or a shared layer or a nested model "
                    "leaves Keras's order unclear)";
    }
}

static kwnn_result kwnn__im_refuse(kwnn__ctx *c, const kwb_layer *L, uint32_t m)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported implicit mask: ");
    kwnn__m(c->net, kwnn__im_why(m));
    kwnn__m(c->net, " reaches it (Keras passes it at run time; the config does not record it)");
    return KWNN_ERR_UNSUPPORTED;
}

/* The mask reader y sees on its input x: x's, unless a MultiHeadAttention that Keras runs before
   y removed it (depth, clear, many: see kwnn__implicit_masks). */
static uint32_t kwnn__im_seen(const kwnn__ctx *c, const uint32_t *msrc, const uint32_t *depth, const uint32_t *clear,
                              const uint32_t *many, uint32_t x, uint32_t y, int uncertain)
{
    const kwnn__node *n = &c->net->nodes_[y];
    int mha = n->kind == KWNN__N_LAYER && c->net->layers[n->layer].kind == KWNN_LAYER_MHA;
    if (msrc[x] == KWNN__IM_NONE || clear[x] == KWNN__IM_NONE) return msrc[x];
    if (mha && depth[y] == clear[x] && many[x] == 1) return msrc[x]; /* the attention layer itself */
    if (uncertain) return KWNN__IM_ORDER;
    if (depth[y] > clear[x]) return msrc[x];
    if (depth[y] < clear[x]) return KWNN__IM_NONE;
    return KWNN__IM_ORDER;
}

/* The OR of two masks (a: so far, KWNN__IM_NONE for all ones when `ones`). */
static uint32_t kwnn__im_or(uint32_t a, uint32_t b)
{
    if (KWNN__IM_BAD(a)) return a;
    if (KWNN__IM_BAD(b)) return b;
    return a == b ? a : KWNN__IM_OR;
}

/* Is mask m of a shape one value per step of node x (its first axis), for layer L? */
static kwnn_result kwnn__im_fits(kwnn__ctx *c, const kwb_layer *L, uint32_t m, uint32_t x)
{
    const kwnn__node *s = &c->net->nodes_[m], *v = &c->net->nodes_[x];
    if (v->nd == 2 && s->nd >= 1 && s->shape[0] == v->shape[0]) return KWNN_OK;
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its input ");
    kwnn__m_shape(c->net, v->shape, v->nd);
    kwnn__m(c->net, " takes a mask of one value per step, and the mask reaching it comes from ");
    kwnn__m_shape(c->net, s->shape, s->nd);
    return KWNN_ERR_SHAPE;
}

/* Attention & co: their query's and value's masks as inputs after theirs; their result's mask. */
static kwnn_result kwnn__im_attention(kwnn__ctx *c, const kwb_layer *L, uint32_t id, const uint32_t *seen,
                                      uint32_t *out)
{
    kwnn__node *x = &c->net->nodes_[id];
    uint32_t *e = c->net->edges_ + x->first_in, n = x->n_in, q = seen[0], v = seen[1];
    kwnn_result r;
    if (c->net->layers[x->layer].kind == KWNN_LAYER_MHA && n > 2 && seen[2] != KWNN__IM_NONE)
        v = v == KWNN__IM_NONE ? seen[2] : kwnn__im_or(v, seen[2]); /* the key's mask ANDs with the value's */
    if (KWNN__IM_BAD(q)) return kwnn__im_refuse(c, L, q);
    if (KWNN__IM_BAD(v)) return kwnn__im_refuse(c, L, v);
    if (q != KWNN__IM_NONE) {
        if ((r = kwnn__im_fits(c, L, q, e[0])) != KWNN_OK) return r;
        e[n++] = q;
        x->imask |= 1u;
    }
    if (v != KWNN__IM_NONE) {
        if ((r = kwnn__im_fits(c, L, v, e[1])) != KWNN_OK) return r;
        e[n++] = v;
        x->imask |= 2u;
    }
    x->n_in = n;
    *out = q;
    return KWNN_OK;
}

/* Keras 1 / 2: a recurrent layer or GlobalAveragePooling1D takes its input's mask as one more
   input (the edge kept spare); the mask of its result. */
static kwnn_result kwnn__im_stepped(kwnn__ctx *c, const kwb_layer *L, uint32_t id, uint32_t m, uint32_t *out)
{
    kwnn__node *x = &c->net->nodes_[id];
    const kwnn_layer *K = &c->net->layers[x->layer];
    int rnn = K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU;
    kwnn_result r;
    *out = KWNN__IM_NONE;
    if (m == KWNN__IM_NONE) return KWNN_OK;
    if (KWNN__IM_BAD(m)) return kwnn__im_refuse(c, L, m);
    if (K->channels_first || K->td > 0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask with data_format channels_first");
    if ((r = kwnn__im_fits(c, L, m, c->net->edges_[x->first_in])) != KWNN_OK) return r;
    c->net->edges_[x->first_in + x->n_in++] = m;
    x->imask |= 4u;
    if (rnn && (K->op & KWNN__RNN_SEQUENCES)) *out = m;
    return KWNN_OK;
}

/* Keras 1 / 2 (tf.keras 2.x): the mask of call `id`'s result.  Nothing is recorded: the recurrent
   layers, Bidirectional and GlobalAveragePooling1D take it here; a merge gives the AND of the
   masks its inputs have (none when none has one); no MultiHeadAttention removes masks. */
static kwnn_result kwnn__im_layer2(kwnn__ctx *c, const kwb_layer *L, uint32_t id, const uint32_t *seen, uint32_t n,
                                   uint32_t *out)
{
    const kwnn__node *x = &c->net->nodes_[id];
    const kwnn_layer *K = &c->net->layers[x->layer];
    uint32_t i, m = n > 0 ? seen[0] : KWNN__IM_NONE;
    *out = KWNN__IM_NONE;
    if (x->masked) return KWNN_OK; /* a mask the config records (a tensor keyword) */
    if (K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU) {
        if (K->td > 0 && m != KWNN__IM_NONE)
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported mask reaching a wrapped recurrent layer");
        return kwnn__im_stepped(c, L, id, m, out);
    }
    if (K->kind == KWNN_LAYER_GLOBAL_AVGPOOL && K->spatial == 1) return kwnn__im_stepped(c, L, id, m, out);
    if (kwnn__is_class(L, kwnn__im_passers2)) {
        *out = m;
        return KWNN_OK;
    }
    if (K->kind == KWNN_LAYER_MERGE || K->kind == KWNN_LAYER_CONCAT) {
        int last = K->kind == KWNN_LAYER_MERGE || K->units + 1 == K->out_ndim;
        m = KWNN__IM_NONE;
        for (i = 0; i < n; i++)
            if (seen[i] != KWNN__IM_NONE) m = m == KWNN__IM_NONE ? seen[i] : kwnn__im_or(m, seen[i]);
        *out = m != KWNN__IM_NONE && !last ? KWNN__IM_AXIS : m;
    }
    return KWNN_OK; /* every other layer drops the mask (or, in Keras 2.0-2.2, refuses it when built) */
}

/* The mask of call `id`'s result (layer L), from the masks its inputs carry (seen). */
static kwnn_result kwnn__im_layer(kwnn__ctx *c, const kwb_layer *L, uint32_t id, const uint32_t *seen, uint32_t n,
                                  uint32_t *out)
{
    kwnn__node *x = &c->net->nodes_[id];
    const kwnn_layer *K = &c->net->layers[x->layer];
    kwnn__json cfg, v;
    uint32_t i, m;
    int on = 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    *out = KWNN__IM_NONE;
    if (x->masked) { /* a recorded mask: the RNN's goes on with its sequences */
        if ((K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU) &&
            (K->op & KWNN__RNN_SEQUENCES))
            *out = c->net->edges_[x->first_in + x->n_in - 1];
        return KWNN_OK;
    }
    if (x->call.p != NULL) return KWNN_OK; /* an operation node: Keras sets no mask on its result */
    if (strcmp(L->class_name, "Embedding") == 0) {
        if (kwnn__get(cfg, "mask_zero", &v) && kwnn__bool(v, &on) && on) *out = c->net->edges_[x->first_in];
        return KWNN_OK;
    }
    if (strcmp(L->class_name, "Masking") == 0) {
        *out = K->op_args != NULL && K->op_args->lo == 0.0f ? id : KWNN__IM_VALUE;
        return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__unrecorded_mask_classes)) return kwnn__im_attention(c, L, id, seen, out);
    if (c->keras2_file) return kwnn__im_layer2(c, L, id, seen, n, out);
    m = n > 0 ? seen[0] : KWNN__IM_NONE;
    if (n > 1 && (K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM || K->kind == KWNN_LAYER_GRU)) {
        /* with initial_state (several tensors) Keras passes no mask= (only NAME_mask=); its
           result still carries its input's mask when it returns sequences */
        *out = (K->op & KWNN__RNN_SEQUENCES) ? m : KWNN__IM_NONE;
        return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__im_users)) {
        if (m != KWNN__IM_NONE && (K->kind == KWNN_LAYER_SIMPLE_RNN || K->kind == KWNN_LAYER_LSTM ||
                                   K->kind == KWNN_LAYER_GRU || K->kind == KWNN_LAYER_GLOBAL_AVGPOOL))
            return kwnn__im_stepped(c, L, id, m, out); /* called with training= & co: the mask all the same */
        if (m != KWNN__IM_NONE)
            return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                              "unsupported mask given at run time: Keras passes it a mask (mask_zero or Masking "
                              "upstream) that its call in the config does not record (a call with other keyword "
                              "arguments, e.g. training=); call it with its input alone");
        if (strcmp(L->class_name, "Softmax") != 0) return KWNN_OK;
    }
    if (kwnn__is_class(L, kwnn__im_passers)) {
        *out = m;
        return KWNN_OK;
    }
    if (K->kind == KWNN_LAYER_MERGE && K->op != KWNN_MERGE_SCALED_ADD) { /* (a custom layer: no mask) */
        int minmax = K->op == KWNN_MERGE_MAXIMUM || K->op == KWNN_MERGE_MINIMUM;
        for (i = 0; i < n; i++) {
            if (seen[i] != KWNN__IM_NONE && minmax)
                return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                                  "unsupported masked input (Keras 3 fills the masked steps of Maximum and "
                                  "Minimum from the other inputs)");
            if (seen[i] == KWNN__IM_NONE) return KWNN_OK;
            m = kwnn__im_or(m, seen[i]);
        }
        *out = m;
        return KWNN_OK;
    }
    if (K->kind == KWNN_LAYER_CONCAT) {
        int any = 0, last = K->units + 1 == K->out_ndim; /* the per-sample axis: the features */
        for (i = 0; i < n; i++) any |= seen[i] != KWNN__IM_NONE;
        if (!any) return KWNN_OK;
        if (!last) {
            *out = KWNN__IM_AXIS;
            return KWNN_OK;
        }
        for (i = 0; i < n; i++) {
            if (seen[i] == KWNN__IM_NONE) return KWNN_OK; /* all ones: as no mask */
            m = kwnn__im_or(m, seen[i]);
        }
        *out = m;
    }
    return KWNN_OK; /* every other layer drops the mask */
}

/* The pass (after the shapes, before the plan): see the top of this part. */
static kwnn_result kwnn__implicit_masks(kwnn__ctx *c, uint32_t n_order)
{
    kwnn_net *net = c->net;
    uint32_t N = c->nodes_used, p, i, j, id;
    uint32_t *depth = c->stack, *clear = c->stack + N, *many = c->live, *msrc = c->stack2, seen[8];
    int uncertain = 0; /* a shared layer or a nested model: Keras's run order is not followed here */
    kwnn_result r;
    if (!c->mask_producer || N == 0 || c->stack_cap < 2 * (size_t)N) return KWNN_OK;
    for (i = 0; i < N; i++) {
        depth[i] = 0;
        clear[i] = msrc[i] = KWNN__IM_NONE;
        many[i] = 0;
        uncertain |= net->nodes_[i].kind == KWNN__N_ALIAS ||
                     (net->nodes_[i].kind == KWNN__N_LAYER && net->layers[net->nodes_[i].layer].calls > 1);
    }
    /* Keras's depth: the longest path to an output (a PART or an alias is no call of its own) */
    for (p = n_order; p-- > 0;) {
        const kwnn__node *x = &net->nodes_[net->order_[p]];
        uint32_t w = x->kind == KWNN__N_PART || x->kind == KWNN__N_ALIAS ? 0 : 1;
        for (i = 0; i < x->n_in; i++) {
            uint32_t y = net->edges_[x->first_in + i];
            if (depth[y] < depth[net->order_[p]] + w) depth[y] = depth[net->order_[p]] + w;
        }
    }
    /* the deepest MultiHeadAttention reading each tensor (it removes the tensor's mask) */
    for (p = 0; p < n_order; p++) {
        const kwnn__node *x = &net->nodes_[id = net->order_[p]];
        if (c->keras2_file || x->kind != KWNN__N_LAYER || net->layers[x->layer].kind != KWNN_LAYER_MHA) continue;
        for (i = 0; i < x->n_in; i++) {
            uint32_t y = net->edges_[x->first_in + i], dup = 0;
            for (j = 0; j < i; j++) dup |= net->edges_[x->first_in + j] == y;
            if (dup) continue;
            if (clear[y] == KWNN__IM_NONE || depth[id] > clear[y]) {
                clear[y] = depth[id];
                many[y] = 1;
            } else if (depth[id] == clear[y]) {
                many[y]++;
            }
        }
    }
    for (p = 0; p < n_order; p++) {
        kwnn__node *x = &net->nodes_[id = net->order_[p]];
        kwb_layer L;
        uint32_t n = x->n_in < 8 ? x->n_in : 8;
        if (x->kind == KWNN__N_ALIAS) {
            msrc[id] = kwnn__im_seen(c, msrc, depth, clear, many, net->edges_[x->first_in], id, uncertain);
            continue;
        }
        if (x->kind == KWNN__N_PART) { /* a recurrent call's outputs: its sequences carry its mask */
            const kwnn_layer *K = &net->layers[x->layer];
            uint32_t mains = (K->op & KWNN__RNN_SPLIT) ? 2 : 1;
            msrc[id] = x->part < mains ? msrc[net->edges_[x->first_in]] : KWNN__IM_NONE;
            continue;
        }
        if (x->kind != KWNN__N_LAYER || kwb_get_layer(c->f, x->layer, &L) != KWB_OK) continue;
        for (i = 0; i < n; i++)
            seen[i] = kwnn__im_seen(c, msrc, depth, clear, many, net->edges_[x->first_in + i], id, uncertain);
        if ((r = kwnn__im_layer(c, &L, id, seen, n, &msrc[id])) != KWNN_OK) return r;
    }
    return KWNN_OK;
}
/* ---- loading ------------------------------------------------------------- */

/* Pass 1: floats the parameter area needs: every weight kwb_tensor_f32
   cannot hand out (or flipped Theano kernels), and the BatchNormalization
   folds (two per channel).  From the tensors alone: the loaders check. */
static kwnn_result kwnn__measure_params(kwnn__ctx *c)
{
    uint32_t i, k;
    size_t total = 0;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        kwb_tensor t;
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(c->net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (!kwnn__norm_measure(c, &L, &total)) return kwnn__oom(c); /* 44_norm_apps.h */
        if (!kwnn__add(total, kwnn__rnn_legacy_floats(c->f, &L), &total)) return kwnn__oom(c); /* 45_recurrent.h */
        if (strcmp(L.class_name, "Masking") == 0 && !kwnn__add(total, KWNN__O_FLOATS + 16, &total)) /* 48_masking.h */
            return kwnn__oom(c);
        for (k = 0; k < L.tensor_count; k++) {
            size_t n;
            if (kwb_get_tensor(c->f, L.first_tensor + k, &t) != KWB_OK) continue;
            if (t.count > (uint64_t)(KWNN__SIZE_MAX / 8)) return kwnn__oom(c);
            n = (size_t)t.count;
            if (strcmp(L.class_name, "BatchNormalization") == 0 && strcmp(t.weight, "moving_mean") == 0 &&
                !kwnn__add(total, kwnn__round16(2 * n), &total))
                return kwnn__oom(c);
            if (kwb_tensor_f32(&t) == NULL && !kwnn__add(total, kwnn__round16(n), &total)) return kwnn__oom(c);
            n = kwnn__conv_repack_floats(&L, &t, c->theano_kernels); /* 42_conv_family.h */
            if (n > 0 && !kwnn__add(total, kwnn__round16(n), &total)) return kwnn__oom(c);
        }
    }
    if (!kwnn__add(total, c->op_floats, &total) || total > KWNN__SIZE_MAX / 4 - 64) return kwnn__oom(c);
    c->params_cap = total;
    return KWNN_OK;
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

/* Pass 2, in the allocation: the rows, the graph, its order, shapes, plan. */
static kwnn_result kwnn__build(kwnn__ctx *c)
{
    kwnn_net *net = c->net;
    uint32_t i, n_order = 0;
    kwnn_result r;
    for (i = 0; i < c->n; i++) {
        kwb_layer L;
        kwnn_layer *out = &net->layers[i];
        kwnn__json mcfg;
        int mseq;
        memset(out, 0, sizeof *out);
        if (kwb_get_layer(c->f, i, &L) != KWB_OK)
            return kwnn__fail(net, KWNN_ERR_INVALID_ARGUMENT, NULL, "cannot read the layer table");
        if (L.parent != KWB_NONE) {
            kwb_layer P;
            kwnn__json m;
            int seq;
            if (kwb_get_layer(c->f, L.parent, &P) != KWB_OK ||
                (!kwnn__is_class(&P, kwnn__model_classes) && !kwnn__td_model(&P, &m, &seq)))
                return kwnn__fail(net, KWNN_ERR_UNSUPPORTED, &L,
                                  "is nested in a layer that is not a model (a wrapper)");
        }
        out->name = L.name;
        out->class_name = L.class_name;
        out->index = i;
        out->kind = kwnn__is_class(&L, kwnn__model_classes) || kwnn__td_model(&L, &mcfg, &mseq) ? KWNN_LAYER_MODEL
                    : kwnn__is_input(&L)                    ? KWNN_LAYER_INPUT
                                                            : KWNN_LAYER_UNUSED;
        c->loaded[i] = KWB_NONE;
        c->calls[i] = c->outs[i] = 0;
        c->base[i] = KWB_NONE;
    }
    net->layer_count = c->n;
    if ((r = kwnn__link(c)) != KWNN_OK || (r = kwnn__hash_build(c)) != KWNN_OK) return r;
    net->num_inputs = c->count_inputs;
    net->num_outputs = c->count_outputs;
    if ((r = kwnn__inst(c, KWB_NONE, c->top_cfg, NULL, c->count_inputs, net->outputs_, c->count_outputs, 0)) !=
        KWNN_OK)
        return r;
    net->node_count_ = c->nodes_used;
    if ((r = kwnn__sort(c, &n_order)) != KWNN_OK || (r = kwnn__shapes(c, n_order)) != KWNN_OK ||
        (r = kwnn__implicit_masks(c, n_order)) != KWNN_OK) /* 61_implicit_masks.h */
        return r;
    if (net->opt_.max_cost != 0 && c->cost > net->opt_.max_cost) return kwnn__too_costly(c);
    net->cost_ = c->cost;
    memcpy(net->sorted_, net->order_, (size_t)n_order * sizeof *net->sorted_); /* the plan keeps only computing nodes */
    net->sorted_count_ = n_order;
    for (i = 0; i < net->num_inputs; i++)
        if (net->nodes_[net->inputs_[i]].var != 0) net->variable = 1;
    if ((r = kwnn__plan(c, n_order)) != KWNN_OK) return r;
    { /* the layers' work area (recurrent state), after the plan's values: the largest one */
        size_t work = 0;
        for (i = 0; i < net->layer_count; i++)
            if (net->layers[i].work > work) work = net->layers[i].work;
        net->work_ = net->arena_;
        if (work > 0 && (!kwnn__add(net->arena_, kwnn__round16(work), &net->arena_) ||
                         work > KWNN__SIZE_MAX / 64 || net->arena_ > KWNN__SIZE_MAX / 64))
            return kwnn__oom(c);
    }
    {
        const kwnn__node *in = &net->nodes_[net->inputs_[0]], *out = &net->nodes_[net->outputs_[0]];
        net->input_ndim = in->nd;
        memcpy(net->input_shape, in->shape, sizeof net->input_shape);
        net->input_count = in->count;
        net->output_ndim = out->nd;
        memcpy(net->output_shape, out->shape, sizeof net->output_shape);
        net->output_count = out->count;
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
            c->top_cfg = mcfg;
        }
    }
    c->keras2_file = c->legacy;
    if (hs_option == KWNN_HARD_SIGMOID_KERAS3) c->legacy = 0;
    if (hs_option == KWNN_HARD_SIGMOID_KERAS2) c->legacy = 1;
    c->net->hard_sigmoid = c->legacy ? KWNN_HARD_SIGMOID_KERAS2 : KWNN_HARD_SIGMOID_KERAS3;
    return KWNN_OK;
}

/* Room for `count` items of `size` bytes at *off (64-byte aligned); 0 on overflow. */
static int kwnn__carve(size_t *off, size_t count, size_t size, size_t *at)
{
    size_t bytes;
    *at = *off;
    return kwnn__mul(count, size, &bytes) && kwnn__add(bytes, 63, &bytes) &&
           kwnn__add(*off, bytes & ~(size_t)63, off);
}

/* One load with `nominal` as the length of the inputs' None axes; *variable: there was one. */
static kwnn_result kwnn__load_at(kwnn_net *net, const kwb_file *f, const kwnn_options *opt, size_t nominal,
                                 int *variable)
{
    kwnn__ctx c;
    size_t off = 0, hash = 1, n1, at[16];
    kwnn_result r;
    void *mem;
    unsigned char *base;
    int ok;
    if (net == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    memset(net, 0, sizeof *net);
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
    c.nominal = nominal;
    c.n = kwb_layer_count(f);
    if (c.n > (uint32_t)1 << 28) return kwnn__oom(&c);
    /* pass 1: sizes from the configs and tensors alone */
    if ((r = kwnn__metadata(&c, net->opt_.hard_sigmoid)) != KWNN_OK ||
        (r = kwnn__count_graph(&c)) != KWNN_OK || (r = kwnn__measure_params(&c)) != KWNN_OK)
        return r;
    c.node_cap = (uint32_t)c.count_nodes;
    c.edge_cap = (uint32_t)c.count_edges;
    c.stack_cap = c.node_cap + c.edge_cap + 2;
    while (hash < 2 * (size_t)c.n) hash *= 2;
    c.hash_mask = (uint32_t)(hash - 1);
    n1 = (size_t)c.n + 1;
    /* one block: what the net keeps, then what kwnn_load uses only while loading */
    ok = kwnn__carve(&off, c.n, sizeof(kwnn_layer), &at[0]) &&
         kwnn__carve(&off, c.node_cap, sizeof(kwnn__node), &at[1]) &&
         kwnn__carve(&off, c.edge_cap, sizeof(uint32_t), &at[2]) &&
         kwnn__carve(&off, c.node_cap, sizeof(uint32_t), &at[3]) &&
         kwnn__carve(&off, c.count_inputs, sizeof(uint32_t), &at[4]) &&
         kwnn__carve(&off, c.count_outputs, sizeof(uint32_t), &at[5]) &&
         kwnn__carve(&off, c.params_cap, sizeof(float), &at[6]) &&
         kwnn__carve(&off, n1 * 2 + c.n, sizeof(uint32_t), &at[7]) &&      /* links */
         kwnn__carve(&off, (size_t)c.n * 4, sizeof(uint32_t), &at[8]) &&   /* base, calls, outs, loaded */
         kwnn__carve(&off, hash, sizeof(uint32_t), &at[9]) &&
         kwnn__carve(&off, c.stack_cap, sizeof(uint32_t), &at[10]) &&
         kwnn__carve(&off, c.node_cap, sizeof(uint32_t), &at[11]) &&       /* stack2 */
         kwnn__carve(&off, c.node_cap + 1, sizeof(uint32_t), &at[12]) &&   /* live */
         kwnn__carve(&off, c.node_cap, sizeof(uint32_t), &at[13]) &&       /* sorted_ */
         kwnn__add(off, 64, &off);
    if (!ok) return kwnn__oom(&c);
    mem = net->opt_.alloc_fn ? net->opt_.alloc_fn(off, net->opt_.user_data) : KWNN_MALLOC(off);
    if (mem == NULL) return kwnn__fail(net, KWNN_ERR_OUT_OF_MEMORY, NULL, "out of memory");
    net->mem_ = mem;
    base = (unsigned char *)mem;
    base += (size_t)((uintptr_t)base % 64) ? 64 - (size_t)((uintptr_t)base % 64) : 0;
    net->layers = (kwnn_layer *)(void *)(base + at[0]);
    net->nodes_ = (kwnn__node *)(void *)(base + at[1]);
    net->edges_ = (uint32_t *)(void *)(base + at[2]);
    net->order_ = (uint32_t *)(void *)(base + at[3]);
    net->inputs_ = (uint32_t *)(void *)(base + at[4]);
    net->outputs_ = (uint32_t *)(void *)(base + at[5]);
    c.params = (float *)(void *)(base + at[6]);
    c.first_child = (uint32_t *)(void *)(base + at[7]);
    c.last_child = c.first_child + n1;
    c.next_sibling = c.last_child + n1;
    c.base = (uint32_t *)(void *)(base + at[8]);
    c.calls = c.base + c.n;
    c.outs = c.calls + c.n;
    c.loaded = c.outs + c.n;
    c.hash = (uint32_t *)(void *)(base + at[9]);
    c.stack = (uint32_t *)(void *)(base + at[10]);
    c.stack2 = (uint32_t *)(void *)(base + at[11]);
    c.live = (uint32_t *)(void *)(base + at[12]);
    net->sorted_ = (uint32_t *)(void *)(base + at[13]);
    net->file_ = f;
    net->legacy_ = c.legacy;
    net->theano_ = c.theano_kernels;
    c.fill = 1;
    r = kwnn__build(&c);
    *variable = c.saw_variable;
    if (r != KWNN_OK) {
        char message[KWNN_MESSAGE_SIZE];
        memcpy(message, net->message, sizeof message);
        kwnn_free(net);
        memcpy(net->message, message, sizeof message);
        net->error = r;
        return r;
    }
    net->error = KWNN_OK;
    return KWNN_OK;
}

/* A None axis loads at a nominal length.  A net that cannot take 32 steps (a
   window longer than that, strided layers that would shrink it to nothing) is
   loaded again at twice the length, up to KWNN__NOMINAL_MAX; when no length
   works, the message is the one for 32 (another error, e.g. max_cost at a
   longer length, is said as it is). */
KWNN_API kwnn_result kwnn_load(kwnn_net *net, const kwb_file *f, const kwnn_options *opt)
{
    char first[KWNN_MESSAGE_SIZE];
    size_t nominal = KWNN__NOMINAL;
    int variable = 0;
    kwnn_result r = kwnn__load_at(net, f, opt, nominal, &variable);
    if (r != KWNN_ERR_SHAPE || !variable) return r;
    memcpy(first, net->message, sizeof first);
    while (r == KWNN_ERR_SHAPE && variable && nominal < KWNN__NOMINAL_MAX) {
        nominal *= 2;
        r = kwnn__load_at(net, f, opt, nominal, &variable);
    }
    if (r == KWNN_ERR_SHAPE) memcpy(net->message, first, sizeof first);
    return r;
}

KWNN_API void kwnn_free(kwnn_net *net)
{
    if (net == NULL) return;
    if (net->mem_ != NULL) {
        if (net->opt_.free_fn) net->opt_.free_fn(net->mem_, net->opt_.user_data);
        else KWNN_FREE(net->mem_);
    }
    memset(net, 0, sizeof *net);
}

/* floats * batch * 4 bytes, checked */
static size_t kwnn__bytes(size_t floats, int batch)
{
    size_t n;
    if (batch < 1 || !kwnn__mul(floats, (size_t)batch, &n) || !kwnn__mul(n, sizeof(float), &n))
        return KWNN__SIZE_MAX;
    return n;
}

KWNN_API size_t kwnn_scratch_size(const kwnn_net *net, int batch)
{
    size_t n;
    if (net == NULL || net->layers == NULL || batch < 1) return KWNN__SIZE_MAX;
    if (net->arena_ == 0) return 0;
    n = kwnn__bytes(net->arena_, batch);
    if (n == KWNN__SIZE_MAX || !kwnn__add(n, 64, &n)) return KWNN__SIZE_MAX;
    return n;
}

KWNN_API size_t kwnn_peak_size(const kwnn_net *net, int batch)
{
    if (net == NULL || net->layers == NULL || batch < 1) return KWNN__SIZE_MAX;
    return kwnn__bytes(net->peak_, batch);
}

KWNN_API const size_t *kwnn_input_shape(const kwnn_net *net, uint32_t i, uint32_t *ndim)
{
    if (net == NULL || net->layers == NULL || i >= net->num_inputs) return NULL;
    if (ndim != NULL) *ndim = net->nodes_[net->inputs_[i]].nd;
    return net->nodes_[net->inputs_[i]].shape;
}

KWNN_API const size_t *kwnn_output_shape(const kwnn_net *net, uint32_t i, uint32_t *ndim)
{
    if (net == NULL || net->layers == NULL || i >= net->num_outputs) return NULL;
    if (ndim != NULL) *ndim = net->nodes_[net->outputs_[i]].nd;
    return net->nodes_[net->outputs_[i]].shape;
}

KWNN_API size_t kwnn_input_size(const kwnn_net *net, uint32_t i)
{
    if (net == NULL || net->layers == NULL || i >= net->num_inputs) return 0;
    return net->nodes_[net->inputs_[i]].count;
}

KWNN_API size_t kwnn_output_size(const kwnn_net *net, uint32_t i)
{
    if (net == NULL || net->layers == NULL || i >= net->num_outputs) return 0;
    return net->nodes_[net->outputs_[i]].count;
}

/* ---- running ------------------------------------------------------------ */

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
    case KWNN_ACT_TANH: return kwnn__tanh(x);
    case KWNN_ACT_HARD_TANH: return x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x);
    case KWNN_ACT_TANH_SHRINK: return x - kwnn__tanh(x);
    case KWNN_ACT_SOFTPLUS: return kwnn__softplus(x);
    case KWNN_ACT_SOFTSIGN: return x / (fabsf(x) + 1.0f);
    case KWNN_ACT_SILU: return x * kwnn__sigmoid(x);
    case KWNN_ACT_HARD_SILU: return x * (fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f);
    case KWNN_ACT_MISH: return x * kwnn__tanh(kwnn__softplus(x));
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
        if (a->a == 0.0f && a->has_max && a->c == 0.0f && a->b >= 0.0f) { /* ReLU(max_value): as kwnn__act1, NaN -> 0 */
            float hi = a->b;
            for (i = 0; i < n; i++) {
                float v = x[i] > 0.0f ? x[i] : 0.0f;
                y[i] = v < hi ? v : hi;
            }
            return;
        }
        break;
    case KWNN_ACT_RELU6:
        for (i = 0; i < n; i++) {
            float v = x[i] > 0.0f ? x[i] : 0.0f;
            y[i] = v < 6.0f ? v : 6.0f;
        }
        return;
    case KWNN_ACT_TANH: /* 14_fastmath.h: these loops vectorize */
        for (i = 0; i < n; i++) y[i] = kwnn__tanh(x[i]);
        return;
    case KWNN_ACT_SIGMOID:
        for (i = 0; i < n; i++) y[i] = kwnn__sigmoid(x[i]);
        return;
    case KWNN_ACT_SILU:
        for (i = 0; i < n; i++) y[i] = x[i] * kwnn__sigmoid(x[i]);
        return;
    default: break;
    }
    for (i = 0; i < n; i++) y[i] = kwnn__act1(a, x[i]);
}

/* o += a * w over n floats (restrict parameters: every compiler may vectorize). */
#define KWNN__TC 8
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

/* rows x (K) times W (K, N) + bias -> rows x N (13_gemm.h), one thread. */
static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows,
                            size_t K, size_t N, const float *KWNN__RESTRICT W,
                            const float *KWNN__RESTRICT bias)
{
    kwnn__gemm(NULL, rows, N, K, x, K, W, N, bias, y, N);
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

static void kwnn__run_layer(const kwnn_layer *L, const float *x, float *y, size_t batch, const kwnn__ex *ex)
{
    size_t n = L->out_count * batch, last = L->out_ndim ? L->out_shape[L->out_ndim - 1] : 1;
    switch (L->kind) {
    case KWNN_LAYER_DENSE: {
        size_t K = L->in_shape[L->in_ndim - 1];
        kwnn__gemm(ex->opt, batch * (L->in_count / K), L->units, K, x, K, L->w, L->units, L->b, y, L->units);
        kwnn__act(&L->act, y, y, n, last);
        break;
    }
    case KWNN_LAYER_BATCHNORM: case KWNN_LAYER_AFFINE: case KWNN_LAYER_PRELU: /* 44_norm_apps.h */
        kwnn__bcast_run(L, x, y, batch);
        break;
    case KWNN_LAYER_LAYERNORM: kwnn__layernorm_run(L, x, y, batch); break;
    case KWNN_LAYER_GROUPNORM: kwnn__groupnorm_run(L, x, y, batch); break; /* 46_attention.h */
    case KWNN_LAYER_UNITNORM: kwnn__unitnorm_run(L, x, y, batch); break;
    case KWNN_LAYER_EINSUM: kwnn__einsum_run(L, x, y, batch); break;
    case KWNN_LAYER_ACTIVATION: kwnn__act(&L->act, x, y, n, last); break;
    case KWNN_LAYER_CONV1D: case KWNN_LAYER_CONV2D: case KWNN_LAYER_CONV3D: case KWNN_LAYER_DEPTHWISE1D:
    case KWNN_LAYER_DEPTHWISE2D: case KWNN_LAYER_CONV1D_TRANSPOSE: case KWNN_LAYER_CONV2D_TRANSPOSE:
    case KWNN_LAYER_CONV3D_TRANSPOSE: /* 49_conv_gemm.h, else 42_conv_family.h */
        if (!kwnn__conv_gemm_run(L, x, y, batch, ex)) kwnn__conv_nd_run(L, x, y, batch);
        kwnn__act(&L->act, y, y, n, last);
        break;
    default:
        if (kwnn__shape_pool_run(L, x, y, batch)) break; /* 43_shape_pool.h */
        if (x != y) memcpy(y, x, n * sizeof *y);
        break;
    }
}

/* ---- running the graph --------------------------------------------------- */

typedef struct kwnn__rt {
    const kwnn_net *net;
    const float *const *inputs;
    float *const *outputs;
    float *arena;
    float *work; /* the layers' work area (45_recurrent.h) */
    size_t batch;
    const kwnn_layer *call_layers; /* kwnn_run_shapes: the layer of each run position, for its shapes */
} kwnn__rt;

/* Where node id's value lives (batch samples, row-major). */
static const float *kwnn__src(const kwnn__rt *rt, uint32_t id)
{
    const kwnn__node *r = &rt->net->nodes_[rt->net->nodes_[id].root];
    if (r->where == KWNN__AT_INPUT) return rt->inputs[r->slot];
    if (r->where == KWNN__AT_OUTPUT) return rt->outputs[r->slot];
    return rt->arena + r->offset * rt->batch;
}

static float *kwnn__dst(const kwnn__rt *rt, uint32_t id)
{
    const kwnn__node *r = &rt->net->nodes_[rt->net->nodes_[id].root];
    if (r->where == KWNN__AT_OUTPUT) return rt->outputs[r->slot];
    return rt->arena + r->offset * rt->batch; /* a computing node is never an input */
}

static float kwnn__merge_op(int op, float a, float b)
{
    switch (op) {
    case KWNN_MERGE_SUBTRACT: return a - b;
    case KWNN_MERGE_MULTIPLY: return a * b;
    case KWNN_MERGE_MAXIMUM: return a > b ? a : b;
    case KWNN_MERGE_MINIMUM: return a < b ? a : b;
    default: return a + b; /* add, average */
    }
}

/* Index in input `in` (broadcast to out's shape) of out's element k. */
static size_t kwnn__bcast(const kwnn__node *out, const kwnn__node *in, size_t k)
{
    size_t idx = 0, stride = 1;
    uint32_t d = out->nd, lead = out->nd - in->nd;
    while (d-- > 0) {
        size_t dim = out->shape[d], pos = k % dim;
        k /= dim;
        if (d >= lead) {
            size_t idim = in->shape[d - lead];
            if (idim != 1) idx += pos * stride;
            stride *= idim;
        }
    }
    return idx;
}

static void kwnn__merge_run(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L)
{
    const kwnn_net *net = rt->net;
    float *y = kwnn__dst(rt, (uint32_t)(x - net->nodes_));
    size_t n = x->count, b, k;
    uint32_t i;
    for (i = 0; i < x->n_in; i++) {
        uint32_t id = net->edges_[x->first_in + i];
        const kwnn__node *in = &net->nodes_[id];
        const float *v = kwnn__src(rt, id);
        for (b = 0; b < rt->batch; b++) {
            float *yb = y + b * n;
            const float *vb = v + b * in->count;
            if (in->count == n) {
                if (i == 0) memcpy(yb, vb, n * sizeof *yb);
                else if (L->op == KWNN_MERGE_SCALED_ADD) /* shapes equal: checked at load */
                    for (k = 0; k < n; k++) yb[k] += vb[k] * L->epsilon;
                else
                    for (k = 0; k < n; k++) yb[k] = kwnn__merge_op(L->op, yb[k], vb[k]);
            } else {
                for (k = 0; k < n; k++) {
                    float s = vb[kwnn__bcast(x, in, k)];
                    yb[k] = i == 0 ? s : kwnn__merge_op(L->op, yb[k], s);
                }
            }
        }
    }
    if (L->op == KWNN_MERGE_AVERAGE)
        for (k = 0; k < n * rt->batch; k++) y[k] /= (float)x->n_in;
}

static void kwnn__concat_run(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L)
{
    const kwnn_net *net = rt->net;
    float *y = kwnn__dst(rt, (uint32_t)(x - net->nodes_));
    size_t outer = 1, b, o, inner, d;
    uint32_t i;
    for (d = 0; d < L->units + (L->td > 0); d++) outer *= x->shape[d]; /* td: the node has the steps first */
    for (b = 0; b < rt->batch; b++)
        for (o = 0; o < outer; o++)
            for (i = 0; i < x->n_in; i++) {
                uint32_t id = net->edges_[x->first_in + i];
                const kwnn__node *in = &net->nodes_[id];
                inner = in->count / outer;
                memcpy(y, kwnn__src(rt, id) + b * in->count + o * inner, inner * sizeof *y);
                y += inner;
            }
}

/* 1 / max(|x|, 1e-7) over the fiber x[p, :, q] of a (pre, K, post) view. */
static float kwnn__inv_norm(const float *x, size_t K, size_t post)
{
    float s = 0.0f, nrm;
    size_t k;
    for (k = 0; k < K; k++) s += x[k * post] * x[k * post];
    nrm = sqrtf(s);
    return nrm > 1e-7f ? nrm : 1e-7f;
}

static void kwnn__dot_run(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L)
{
    const kwnn_net *net = rt->net;
    uint32_t ia = net->edges_[x->first_in], ib = net->edges_[x->first_in + 1], d;
    const kwnn__node *A = &net->nodes_[ia], *B = &net->nodes_[ib];
    const float *a = kwnn__src(rt, ia), *bv = kwnn__src(rt, ib);
    float *y = kwnn__dst(rt, (uint32_t)(x - net->nodes_));
    size_t K = A->shape[L->kh], pre1 = 1, post1 = 1, pre2 = 1, post2 = 1, b, p1, q1, p2, q2, k;
    for (d = 0; d < A->nd; d++) {
        if (d < L->kh) pre1 *= A->shape[d];
        if (d > L->kh) post1 *= A->shape[d];
    }
    for (d = 0; d < B->nd; d++) {
        if (d < L->kw) pre2 *= B->shape[d];
        if (d > L->kw) post2 *= B->shape[d];
    }
    for (b = 0; b < rt->batch; b++) {
        const float *ab = a + b * A->count, *bb = bv + b * B->count;
        float *yb = y + b * x->count;
        for (p1 = 0; p1 < pre1; p1++)
            for (q1 = 0; q1 < post1; q1++) {
                const float *fa = ab + p1 * K * post1 + q1;
                float na = L->same ? kwnn__inv_norm(fa, K, post1) : 1.0f;
                for (p2 = 0; p2 < pre2; p2++)
                    for (q2 = 0; q2 < post2; q2++) {
                        const float *fb = bb + p2 * K * post2 + q2;
                        float nb = L->same ? kwnn__inv_norm(fb, K, post2) : 1.0f, s = 0.0f;
                        if (L->same)
                            for (k = 0; k < K; k++) s += (fa[k * post1] / na) * (fb[k * post2] / nb);
                        else
                            for (k = 0; k < K; k++) s += fa[k * post1] * fb[k * post2];
                        *yb++ = s;
                    }
            }
    }
}

/* An attention call's implicit masks (61_implicit_masks.h): the inputs after its own; NULL: none. */
static const kwnn__amask *kwnn__im_masks(const kwnn__rt *rt, const kwnn__node *x, const kwnn_layer *L, kwnn__amask *am)
{
    const uint32_t *e = rt->net->edges_ + x->first_in + x->n_in - kwnn__imask_count(x);
    size_t T = L->kind == KWNN_LAYER_MHA ? L->in_count / L->in_shape[L->in_ndim - 1] : L->in_shape[0];
    if (x->imask == 0) return NULL;
    am->q = am->v = NULL;
    am->qs = am->vs = 0;
    if (x->imask & 1u) {
        am->q = kwnn__src(rt, *e);
        am->qs = rt->net->nodes_[*e++].count / T;
    }
    if (x->imask & 2u) {
        am->v = kwnn__src(rt, *e);
        am->vs = rt->net->nodes_[*e].count / L->sh;
    }
    return am;
}

/* The computing node at run position p; a run error (an input value a layer cannot take) stops the run. */
static kwnn_result kwnn__run_node(const kwnn__rt *rt, uint32_t p)
{
    uint32_t id = rt->net->order_[p];
    const kwnn__node *x = &rt->net->nodes_[id];
    const kwnn_layer *L = rt->call_layers != NULL ? &rt->call_layers[p] : &rt->net->layers[x->layer];
    const float *in[5] = {NULL, NULL, NULL, NULL, NULL};
    uint32_t i;
    size_t nb;
    const float *mask;
    kwnn__amask am;
    kwnn_layer stepped;
    kwnn_result res;
    if (x->kind == KWNN__N_PART) { /* a copy out of a recurrent call's outputs */
        const kwnn__node *from = &rt->net->nodes_[rt->net->edges_[x->first_in]];
        const float *src = kwnn__src(rt, rt->net->edges_[x->first_in]);
        float *dst = kwnn__dst(rt, id);
        size_t shape[KWNN_MAX_DIMS], offset, b;
        uint32_t nd;
        kwnn__rnn_part(L, x->part, shape, &nd, &offset);
        for (b = 0; b < rt->batch; b++) memcpy(dst + b * x->count, src + b * from->count + offset, x->count * sizeof *dst);
        return KWNN_OK;
    }
    for (i = 0; i < x->n_in && i < 5; i++) in[i] = kwnn__src(rt, rt->net->edges_[x->first_in + i]);
    mask = x->masked || (x->imask & 4u) ? kwnn__src(rt, rt->net->edges_[x->first_in + x->n_in - 1]) : NULL;
    if (x->imask & 4u) { /* an implicit mask (61_implicit_masks.h): its source's features per step */
        stepped = *L;
        stepped.mult = rt->net->nodes_[rt->net->edges_[x->first_in + x->n_in - 1]].count / L->in_shape[0];
        L = &stepped;
    }
    nb = L->td > 0 ? rt->batch * L->td : rt->batch; /* TimeDistributed: the steps are the wrapped layer's batch */
    if (kwnn__recurrent_run(L, in, mask != NULL ? x->n_in - 1 : x->n_in, mask, kwnn__dst(rt, id), rt->work, nb, &res))
        return res;
    if (mask != NULL && L->kind == KWNN_LAYER_GLOBAL_AVGPOOL) {
        kwnn__masked_mean(L, in[0], mask, kwnn__dst(rt, id), rt->batch);
        return KWNN_OK;
    }
    switch (L->kind) {
    case KWNN_LAYER_MERGE: kwnn__merge_run(rt, x, L); break;
    case KWNN_LAYER_CONCAT: kwnn__concat_run(rt, x, L); break;
    case KWNN_LAYER_DOT: kwnn__dot_run(rt, x, L); break;
    case KWNN_LAYER_MHA: case KWNN_LAYER_ATTENTION: case KWNN_LAYER_OP: /* 46_attention.h, 47_ops.h */
        if (L->kind == KWNN_LAYER_OP) kwnn__op_run(L, in, kwnn__dst(rt, id), nb);
        else kwnn__attention_call(L, in, x->n_in - kwnn__imask_count(x), kwnn__dst(rt, id), rt->work,
                                  kwnn__im_masks(rt, x, L, &am), nb);
        break;
    default: {
        kwnn__ex ex;
        ex.opt = &rt->net->opt_;
        ex.work = rt->work;
        kwnn__run_layer(L, in[0], kwnn__dst(rt, id), nb, &ex);
        break;
    }
    }
    return KWNN_OK;
}

static void *kwnn__align64(void *p)
{
    size_t mis = (size_t)((uintptr_t)p % 64);
    return (unsigned char *)p + (mis ? 64 - mis : 0);
}

/* Every node in run order, then the outputs not written in place (rt->arena set). */
static kwnn_result kwnn__run_all(kwnn__rt *rt)
{
    const kwnn_net *net = rt->net;
    uint32_t i;
    rt->work = rt->arena != NULL ? rt->arena + net->work_ * rt->batch : NULL;
    for (i = 0; i < net->order_count_; i++) {
        kwnn_result res = kwnn__run_node(rt, i);
        if (res != KWNN_OK) return res;
    }
    for (i = 0; i < net->num_outputs; i++) {
        const kwnn__node *o = &net->nodes_[net->outputs_[i]], *r = &net->nodes_[o->root];
        if (r->where == KWNN__AT_OUTPUT && r->slot == i) continue;
        memcpy(rt->outputs[i], kwnn__src(rt, net->outputs_[i]), o->count * rt->batch * sizeof(float));
    }
    return KWNN_OK;
}

KWNN_API kwnn_result kwnn_run_multi(const kwnn_net *net, const float *const *inputs, const size_t *in_counts,
                                    float *const *outputs, const size_t *out_counts, void *scratch,
                                    size_t scratch_size, int batch)
{
    kwnn__rt rt;
    size_t need, want;
    uint32_t i;
    if (net == NULL || net->layers == NULL || batch < 1 || inputs == NULL || in_counts == NULL ||
        outputs == NULL || out_counts == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    if (net->variable) return KWNN_ERR_SHAPE; /* a None axis: its length comes with kwnn_run_shapes */
    for (i = 0; i < net->num_inputs; i++) {
        if (inputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
        if ((want = kwnn__bytes(net->nodes_[net->inputs_[i]].count, batch)) == KWNN__SIZE_MAX)
            return KWNN_ERR_OVERFLOW;
        if (in_counts[i] != want / sizeof(float)) return KWNN_ERR_SIZE;
    }
    for (i = 0; i < net->num_outputs; i++) {
        if (outputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
        if ((want = kwnn__bytes(net->nodes_[net->outputs_[i]].count, batch)) == KWNN__SIZE_MAX)
            return KWNN_ERR_OVERFLOW;
        if (out_counts[i] != want / sizeof(float)) return KWNN_ERR_SIZE;
    }
    need = kwnn_scratch_size(net, batch);
    if (need == KWNN__SIZE_MAX) return KWNN_ERR_OVERFLOW;
    if (scratch_size < need || (need > 0 && scratch == NULL)) return KWNN_ERR_SCRATCH;
    rt.net = net;
    rt.inputs = inputs;
    rt.outputs = outputs;
    rt.batch = (size_t)batch;
    rt.arena = NULL;
    rt.call_layers = NULL;
    if (need > 0) rt.arena = (float *)kwnn__align64(scratch);
    return kwnn__run_all(&rt);
}

KWNN_API kwnn_result kwnn_run(const kwnn_net *net, const float *input, size_t in_count, float *output,
                              size_t out_count, void *scratch, size_t scratch_size, int batch)
{
    if (net == NULL || net->layers == NULL || batch < 1 || input == NULL || output == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    if (net->num_inputs != 1 || net->num_outputs != 1) return KWNN_ERR_ARITY;
    return kwnn_run_multi(net, &input, &in_count, &output, &out_count, scratch, scratch_size, batch);
}

/* ---- variable dimensions: input shapes given at run time ----------------- */

/* kwnn_run_shapes re-infers every shape for the inputs it is given: it runs
   each layer's loader again (c->fill 0: nothing is converted or written but
   the layer's fields), keeping the weights the load placed, and plans the
   arena again by the load's own first fit.  What that needs lives at the
   start of the caller's scratch:
     the graph's nodes with this run's shapes and offsets (node_count_),
     the layer of each run position with this run's fields (order_count_),
     the plan's live list (node_count_ + 1),
   each rounded to 64 bytes; then the arena. */
typedef struct kwnn__shaped {
    kwnn_net view;      /* *net, its nodes_ the copy below (messages go to view.message) */
    kwnn__node *nodes;
    kwnn_layer *layers; /* by run position */
    uint32_t *live;
    struct kwnn__op *ops; /* by run position: the operation nodes' arguments for these shapes (47_ops.h) */
} kwnn__shaped;

/* Bytes of the nodes, layers and live list; 0 on overflow. */
static size_t kwnn__shaped_head(const kwnn_net *net)
{
    size_t at = 0, part[4];
    if (!kwnn__carve(&at, net->node_count_, sizeof(kwnn__node), &part[0]) ||
        !kwnn__carve(&at, net->order_count_, sizeof(kwnn_layer), &part[1]) ||
        !kwnn__carve(&at, (size_t)net->node_count_ + 1, sizeof(uint32_t), &part[2]) ||
        !kwnn__carve(&at, net->order_count_, sizeof(struct kwnn__op), &part[3]))
        return 0;
    return at;
}

static void kwnn__shaped_at(kwnn__shaped *S, const kwnn_net *net, unsigned char *base)
{
    size_t at = 0, part[4];
    kwnn__carve(&at, net->node_count_, sizeof(kwnn__node), &part[0]);
    kwnn__carve(&at, net->order_count_, sizeof(kwnn_layer), &part[1]);
    kwnn__carve(&at, (size_t)net->node_count_ + 1, sizeof(uint32_t), &part[2]);
    kwnn__carve(&at, net->order_count_, sizeof(struct kwnn__op), &part[3]);
    S->ops = (struct kwnn__op *)(void *)(base + part[3]);
    S->nodes = (kwnn__node *)(void *)(base + part[0]);
    S->layers = (kwnn_layer *)(void *)(base + part[1]);
    S->live = (uint32_t *)(void *)(base + part[2]);
}

/* Input i takes shape s: the model's fixed axes must match, its None axes take s's (at least 1). */
static kwnn_result kwnn__given_shape(kwnn__ctx *c, uint32_t i, const kwnn_shape *s)
{
    kwnn__node *x = &c->net->nodes_[c->net->inputs_[i]];
    uint32_t d;
    int ok = s->ndim == x->nd;
    for (d = 0; ok && d < x->nd; d++)
        ok = (x->var >> d & 1u) ? s->dims[d] >= 1 && s->dims[d] <= KWNN__DIM_LIMIT : s->dims[d] == x->shape[d];
    if (!ok) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, NULL, "input ");
        kwnn__m_u64(c->net, i);
        kwnn__m(c->net, " of shape ");
        kwnn__m_shape(c->net, s->dims, s->ndim <= KWNN_MAX_DIMS ? s->ndim : KWNN_MAX_DIMS);
        kwnn__m(c->net, " does not fit the model's (");
        for (d = 0; d < x->nd; d++) {
            if (d) kwnn__m(c->net, ", ");
            if (x->var >> d & 1u) kwnn__m(c->net, "None");
            else kwnn__m_u(c->net, x->shape[d]);
        }
        kwnn__m(c->net, x->nd == 1 ? ",)" : ")");
        if (x->var) kwnn__m(c->net, " (a None axis takes a length of at least 1)");
        return KWNN_ERR_SHAPE;
    }
    kwnn__set_node_shape(x, s->dims, s->ndim);
    if (x->count == KWNN__SIZE_MAX)
        return kwnn__fail(c->net, KWNN_ERR_OVERFLOW, NULL, "an input shape has more elements than a size_t counts");
    return KWNN_OK;
}

/* Every node's shape for these inputs (each layer checks its input as at load), then the plan;
   *floats: the arena (work area included) per sample. */
static kwnn_result kwnn__infer(kwnn__shaped *S, const kwnn_net *net, const kwnn_shape *in_shapes, size_t *floats)
{
    kwnn__ctx c;
    kwnn_net *v = &S->view;
    kwnn__node *nodes = S->nodes;
    size_t work = 0;
    uint32_t i, p;
    kwnn_result r;
    *v = *net;
    v->nodes_ = nodes;
    v->message[0] = '\0';
    memcpy(nodes, net->nodes_, (size_t)net->node_count_ * sizeof *nodes);
    memset(&c, 0, sizeof c);
    c.net = v;
    c.f = net->file_;
    c.n = net->layer_count;
    c.legacy = net->legacy_;
    c.theano_kernels = net->theano_;
    c.params_cap = KWNN__SIZE_MAX;
    c.live = S->live;
    for (i = 0; i < net->num_inputs; i++)
        if ((r = kwnn__given_shape(&c, i, &in_shapes[i])) != KWNN_OK) return r;
    for (p = 0; p < net->sorted_count_; p++) {
        kwnn__node *x = &nodes[net->sorted_[p]];
        kwb_layer L;
        if (x->kind == KWNN__N_INPUT) continue;
        if (x->layer != KWB_NONE && kwb_get_layer(c.f, x->layer, &L) != KWB_OK) return KWNN_ERR_INVALID_ARGUMENT;
        if (x->kind == KWNN__N_ALIAS) {
            const kwnn__node *in = &nodes[net->edges_[x->first_in]];
            if (x->layer != KWB_NONE) { /* a nested InputLayer: must agree with what feeds it */
                c.have_shape = 1;
                c.nd = in->nd;
                memcpy(c.shape, in->shape, sizeof c.shape);
                kwnn__steps_drop(&c, x); /* inside a TimeDistributed model: one step's */
                if ((r = kwnn__input_shape(&c, &L, 0)) != KWNN_OK) return r;
            }
            kwnn__set_node_shape(x, in->shape, in->nd);
        } else if (x->kind == KWNN__N_PART) { /* the layer of the call it copies from */
            S->layers[x->aux] = S->layers[nodes[net->edges_[x->first_in]].aux];
            if ((r = kwnn__part_shape(v, &S->layers[x->aux], x)) != KWNN_OK) return r;
        } else {
            const kwnn_layer *base = &net->layers[x->layer];
            kwnn_layer tmp, *out = kwnn__free_layer(net, x) ? &tmp : &S->layers[x->aux];
            struct kwnn__op op_tmp;
            c.op_store = out == &tmp ? &op_tmp : &S->ops[x->aux]; /* an operation's arguments (47_ops.h) */
            c.op_base = base->op_args;
            out->name = base->name;
            out->class_name = base->class_name;
            if ((r = kwnn__load_call(&c, &L, x, out)) != KWNN_OK) return r;
            out->w = base->w; /* the weights the load placed (converted, folded, repacked) */
            out->b = base->b;
            out->w2 = base->w2;
            out->bw = base->bw;
            out->bw2 = base->bw2;
            out->bb = base->bb;
            memcpy(out->more, base->more, sizeof out->more);
            out->calls = base->calls;
            kwnn__call_value(x, out);
            if (out != &tmp && out->work > work) work = out->work;
        }
    }
    for (i = 0; i < net->node_count_; i++) nodes[i].state = 0;
    v->arena_ = v->peak_ = 0;
    if ((r = kwnn__place_all(&c)) != KWNN_OK) return r;
    v->work_ = v->arena_;
    if (work > 0 && (!kwnn__add(v->arena_, kwnn__round16(work), &v->arena_) || v->arena_ > KWNN__SIZE_MAX / 64))
        return kwnn__fail(v, KWNN_ERR_OVERFLOW, NULL, "the work area for these shapes does not fit in a size_t");
    *floats = v->arena_;
    return KWNN_OK;
}

/* Scratch bytes for head + the arena, batch samples; 64 of alignment slack. */
static kwnn_result kwnn__shaped_total(kwnn_net *v, size_t head, size_t floats, int batch, size_t *total)
{
    size_t n = kwnn__bytes(floats, batch);
    if (n == KWNN__SIZE_MAX || !kwnn__add(n, head, &n) || !kwnn__add(n, 64, &n))
        return kwnn__fail(v, KWNN_ERR_OVERFLOW, NULL, "the scratch for these shapes does not fit in a size_t");
    *total = n;
    return KWNN_OK;
}

static void kwnn__out_shapes(const kwnn__shaped *S, const kwnn_net *net, kwnn_shape *out_shapes)
{
    uint32_t j;
    for (j = 0; out_shapes != NULL && j < net->num_outputs; j++) {
        const kwnn__node *o = &S->nodes[net->outputs_[j]];
        out_shapes[j].ndim = o->nd;
        memcpy(out_shapes[j].dims, o->shape, sizeof out_shapes[j].dims);
    }
}

static kwnn_result kwnn__shaped_result(const kwnn__shaped *S, kwnn_result r, char *message)
{
    if (message != NULL) {
        if (r == KWNN_OK) message[0] = '\0';
        else memcpy(message, S->view.message, KWNN_MESSAGE_SIZE);
    }
    return r;
}

static int kwnn__shapes_args(const kwnn_net *net, const kwnn_shape *in_shapes, int batch)
{
    return net != NULL && net->layers != NULL && net->file_ != NULL && in_shapes != NULL && batch >= 1;
}

KWNN_API kwnn_result kwnn_scratch_size_shapes(const kwnn_net *net, const kwnn_shape *in_shapes, int batch,
                                              size_t *size, kwnn_shape *out_shapes, char *message)
{
    kwnn__shaped S;
    size_t head, floats = 0;
    void *mem;
    kwnn_result r;
    if (message != NULL) message[0] = '\0';
    if (size == NULL || !kwnn__shapes_args(net, in_shapes, batch)) return KWNN_ERR_INVALID_ARGUMENT;
    *size = 0;
    if ((head = kwnn__shaped_head(net)) == 0 || head > KWNN__SIZE_MAX - 64) return KWNN_ERR_OVERFLOW;
    /* the one temporary allocation: the graph's nodes for these shapes (kwnn_run_shapes uses the scratch) */
    mem = net->opt_.alloc_fn ? net->opt_.alloc_fn(head + 64, net->opt_.user_data) : KWNN_MALLOC(head + 64);
    if (mem == NULL) return KWNN_ERR_OUT_OF_MEMORY;
    kwnn__shaped_at(&S, net, (unsigned char *)kwnn__align64(mem));
    r = kwnn__infer(&S, net, in_shapes, &floats);
    if (r == KWNN_OK) r = kwnn__shaped_total(&S.view, head, floats, batch, size);
    if (r == KWNN_OK) kwnn__out_shapes(&S, net, out_shapes);
    r = kwnn__shaped_result(&S, r, message);
    if (net->opt_.free_fn) net->opt_.free_fn(mem, net->opt_.user_data);
    else KWNN_FREE(mem);
    return r;
}

KWNN_API kwnn_result kwnn_run_shapes(const kwnn_net *net, const float *const *inputs, const kwnn_shape *in_shapes,
                                     float *const *outputs, const size_t *out_capacity, kwnn_shape *out_shapes,
                                     void *scratch, size_t scratch_size, int batch, size_t *need, char *message)
{
    kwnn__shaped S;
    kwnn__rt rt;
    unsigned char *base;
    size_t head, floats = 0, total = 0;
    uint32_t i;
    kwnn_result r;
    if (message != NULL) message[0] = '\0';
    if (need != NULL) *need = 0;
    if (!kwnn__shapes_args(net, in_shapes, batch) || inputs == NULL || outputs == NULL || out_capacity == NULL)
        return KWNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < net->num_inputs; i++)
        if (inputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    for (i = 0; i < net->num_outputs; i++)
        if (outputs[i] == NULL) return KWNN_ERR_INVALID_ARGUMENT;
    if ((head = kwnn__shaped_head(net)) == 0 || head > KWNN__SIZE_MAX - 64) return KWNN_ERR_OVERFLOW;
    if (scratch == NULL || scratch_size < head + 64) { /* not even the graph fits: its size, a lower bound */
        if (need != NULL) *need = head + 64;
        if (message != NULL)
            memcpy(message, "the scratch does not hold the graph (kwnn_scratch_size_shapes gives the size)",
                   sizeof "the scratch does not hold the graph (kwnn_scratch_size_shapes gives the size)");
        return KWNN_ERR_SCRATCH;
    }
    base = (unsigned char *)kwnn__align64(scratch);
    kwnn__shaped_at(&S, net, base);
    r = kwnn__infer(&S, net, in_shapes, &floats);
    if (r == KWNN_OK) r = kwnn__shaped_total(&S.view, head, floats, batch, &total);
    if (r != KWNN_OK) return kwnn__shaped_result(&S, r, message);
    kwnn__out_shapes(&S, net, out_shapes);
    if (need != NULL) *need = total;
    if (scratch_size < total) {
        kwnn__fail(&S.view, KWNN_ERR_SCRATCH, NULL, "the scratch holds ");
        kwnn__m_u64(&S.view, scratch_size);
        kwnn__m(&S.view, " bytes, these shapes need ");
        kwnn__m_u64(&S.view, total);
        return kwnn__shaped_result(&S, KWNN_ERR_SCRATCH, message);
    }
    for (i = 0; i < net->num_outputs; i++) {
        size_t want = kwnn__bytes(S.nodes[net->outputs_[i]].count, batch);
        if (want == KWNN__SIZE_MAX || out_capacity[i] < want / sizeof(float)) {
            kwnn__fail(&S.view, KWNN_ERR_SIZE, NULL, "output ");
            kwnn__m_u64(&S.view, i);
            kwnn__m(&S.view, " needs ");
            kwnn__m_u64(&S.view, want == KWNN__SIZE_MAX ? UINT64_MAX : (uint64_t)(want / sizeof(float)));
            kwnn__m(&S.view, " floats, its array holds ");
            kwnn__m_u64(&S.view, out_capacity[i]);
            return kwnn__shaped_result(&S, KWNN_ERR_SIZE, message);
        }
    }
    rt.net = &S.view;
    rt.inputs = inputs;
    rt.outputs = outputs;
    rt.batch = (size_t)batch;
    rt.arena = (float *)(void *)(base + head);
    rt.call_layers = S.layers;
    r = kwnn__run_all(&rt);
    if (r == KWNN_ERR_INPUT_VALUE)
        kwnn__fail(&S.view, r, NULL, "an input value a layer cannot take (an Embedding id that is not an integer "
                                     "in [0, input_dim))");
    return kwnn__shaped_result(&S, r, message);
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
    case KWNN_ERR_ARITY: return "arity";
    case KWNN_ERR_INPUT_VALUE: return "input_value";
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
    case KWNN_LAYER_MERGE: return "Merge";
    case KWNN_LAYER_CONCAT: return "Concatenate";
    case KWNN_LAYER_DOT: return "Dot";
    case KWNN_LAYER_DEPTHWISE2D: return "DepthwiseConv2D";
    case KWNN_LAYER_UNUSED: return "Unused";
    case KWNN_LAYER_ZEROPAD: return "ZeroPadding";
    case KWNN_LAYER_CROP: return "Cropping";
    case KWNN_LAYER_UPSAMPLE: return "UpSampling";
    case KWNN_LAYER_PERMUTE: return "Permute";
    case KWNN_LAYER_REPEAT: return "RepeatVector";
    case KWNN_LAYER_CONV1D: return "Conv1D";
    case KWNN_LAYER_CONV3D: return "Conv3D";
    case KWNN_LAYER_DEPTHWISE1D: return "DepthwiseConv1D";
    case KWNN_LAYER_CONV1D_TRANSPOSE: return "Conv1DTranspose";
    case KWNN_LAYER_CONV2D_TRANSPOSE: return "Conv2DTranspose";
    case KWNN_LAYER_CONV3D_TRANSPOSE: return "Conv3DTranspose";
    case KWNN_LAYER_AFFINE: return "Affine";
    case KWNN_LAYER_LAYERNORM: return "LayerNormalization";
    case KWNN_LAYER_PRELU: return "PReLU";
    case KWNN_LAYER_EMBEDDING: return "Embedding";
    case KWNN_LAYER_SIMPLE_RNN: return "SimpleRNN";
    case KWNN_LAYER_LSTM: return "LSTM";
    case KWNN_LAYER_GRU: return "GRU";
    case KWNN_LAYER_GROUPNORM: return "GroupNormalization";
    case KWNN_LAYER_UNITNORM: return "UnitNormalization";
    case KWNN_LAYER_EINSUM: return "EinsumDense";
    case KWNN_LAYER_MHA: return "MultiHeadAttention";
    case KWNN_LAYER_ATTENTION: return "Attention";
    case KWNN_LAYER_OP: return "Operation";
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

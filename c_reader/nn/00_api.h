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


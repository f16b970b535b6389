#!/usr/bin/env python3
"""Generate the Keras 3 fixtures for C graph execution (issue #13) in tests/data/nn/.

For each case: a tiny model whose every weight was set from a seeded numpy
generator (not from Keras initialisers), saved as ``<case>.keras``; a batch of
3 inputs ``<case>.in<i>.npy`` and Keras's own predictions ``<case>.out<i>.npy``;
and an entry in ``cases.json`` (files, shapes, the layer classes exercised, a
tolerance).  Run with the project's .venv (keras 3.15.1 on JAX, CPU):

    nice -n 10 .venv/bin/python tests/data/nn/make_fixtures.py            # every case
    nice -n 10 .venv/bin/python tests/data/nn/make_fixtures.py --only NAME [--only NAME2]
    .venv/bin/python tests/data/nn/make_fixtures.py --list

Every case's numbers depend only on its name (its seed is the CRC-32 of the
name, and Keras's name counters are reset before each case), so ``--only``
rewrites a case exactly as a full run would.  The ``.keras`` zips carry a save
date, so their bytes differ between runs; their contents do not.  MANIFEST.md
is rendered from cases.json at the end of every run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402

# Not public in Keras 3.15.1: ConvNeXt defines these two inside its module.
from keras.src.applications.convnext import LayerScale, StochasticDepth  # noqa: E402

HERE = Path(__file__).resolve().parent
BATCH = 3
TOLERANCE = 1e-5
CUSTOM_OBJECTS = {
    "LayerScale": "keras.src.applications.convnext.LayerScale",
    "StochasticDepth": "keras.src.applications.convnext.StochasticDepth",
}
CF = "channels_first"


class Case:
    def __init__(self, name: str, build: Callable[[], keras.Model], note: str, scale: float = 1.0,
                 tolerance: float = TOLERANCE, adapt: bool = False):
        self.name = name
        self.build = build
        self.note = note
        self.scale = scale  # inputs are normal(0, scale): e.g. large enough to reach ReLU6's cap
        self.tolerance = tolerance
        self.adapt = adapt  # Normalization layers adapt to a seeded sample


CASES: dict[str, Case] = {}


def case(name: str, build: Callable[[], keras.Model], note: str, **kw: Any) -> None:
    assert name not in CASES, name
    CASES[name] = Case(name, build, note, **kw)


def inputs(*shapes: tuple[int, ...]) -> list[keras.KerasTensor]:
    return [keras.Input(shape=s, name=f"in{i}") for i, s in enumerate(shapes)]


def one(layer_fn: Callable[[], L.Layer], shape: tuple[int, ...]) -> Callable[[], keras.Model]:
    """Input -> one layer -> output."""
    def build() -> keras.Model:
        (x,) = inputs(shape)
        return keras.Model(x, layer_fn(x), name="model")
    return build


def merge(layer_fn: Callable[[], L.Layer], *shapes: tuple[int, ...]) -> Callable[[], keras.Model]:
    """Several inputs -> one merge layer (called on the list) -> output."""
    def build() -> keras.Model:
        xs = inputs(*shapes)
        return keras.Model(xs, layer_fn()(xs), name="model")
    return build


def chain(shape: tuple[int, ...], *layer_fns: Callable[[], L.Layer]) -> Callable[[], keras.Model]:
    def build() -> keras.Model:
        (x,) = inputs(shape)
        y = x
        for fn in layer_fns:
            y = fn()(y)
        return keras.Model(x, y, name="model")
    return build


# --- merges -------------------------------------------------------------------
S = (5, 4)
case("add_2", merge(L.Add, S, S), "Add of 2 inputs")
case("add_3", merge(L.Add, S, S, S), "Add of 3 inputs")
case("add_broadcast", merge(L.Add, (5, 4), (1, 4)), "Add broadcasting (5,4) + (1,4)")
case("subtract", merge(L.Subtract, S, S), "Subtract in0 - in1 (exactly 2 inputs)")
case("multiply_2", merge(L.Multiply, S, S), "Multiply of 2 inputs")
case("multiply_3", merge(L.Multiply, S, S, S), "Multiply of 3 inputs")
case("average_2", merge(L.Average, S, S), "Average of 2 inputs")
case("average_3", merge(L.Average, S, S, S), "Average of 3 inputs")
case("maximum_2", merge(L.Maximum, S, S), "Maximum of 2 inputs")
case("maximum_3", merge(L.Maximum, S, S, S), "Maximum of 3 inputs")
case("minimum_2", merge(L.Minimum, S, S), "Minimum of 2 inputs")
case("minimum_3", merge(L.Minimum, S, S, S), "Minimum of 3 inputs")
case("concatenate_last", merge(lambda: L.Concatenate(axis=-1), (7, 9, 3), (7, 9, 2)), "Concatenate axis=-1")
case("concatenate_axis1", merge(lambda: L.Concatenate(axis=1), (4, 9, 3), (3, 9, 3)), "Concatenate axis=1")
case("concatenate_axis2", merge(lambda: L.Concatenate(axis=2), (7, 4, 3), (7, 5, 3)), "Concatenate axis=2")
case("concatenate_neg2_3", merge(lambda: L.Concatenate(axis=-2), (7, 4, 3), (7, 5, 3), (7, 2, 3)),
     "Concatenate axis=-2 (= 2) of 3 inputs")
case("dot_1_vectors", merge(lambda: L.Dot(axes=1), (5,), (5,)), "Dot axes=1 of two vectors -> (1,)")
case("dot_2_int", merge(lambda: L.Dot(axes=2), (4, 5), (3, 5)), "Dot axes=2 (int) of (4,5),(3,5) -> (4,3)")
case("dot_pair", merge(lambda: L.Dot(axes=(2, 1)), (4, 5), (5, 3)), "Dot axes=(2,1) of (4,5),(5,3) -> (4,3)")
case("dot_pair_11", merge(lambda: L.Dot(axes=(1, 1)), (5, 4), (5, 3)), "Dot axes=(1,1) of (5,4),(5,3) -> (4,3)")
case("dot_normalize", merge(lambda: L.Dot(axes=2, normalize=True), (4, 5), (3, 5)),
     "Dot axes=2 normalize=True (cosine similarity)")
case("dot_pair_normalize", merge(lambda: L.Dot(axes=(2, 1), normalize=True), (4, 5), (5, 3)),
     "Dot axes=(2,1) normalize=True: each input L2-normalised along its own axis")

# --- convolutions ---------------------------------------------------------------
X1, X1F = (11, 3), (3, 11)
X2, X2F = (7, 9, 3), (3, 7, 9)
X3, X3F = (5, 6, 7, 2), (2, 5, 6, 7)
X3S, X3SF = (3, 4, 5, 2), (2, 3, 4, 5)  # for the layers that up-sample 3D volumes

case("conv1d_valid", one(lambda x: L.Conv1D(4, 3)(x), X1), "Conv1D k3 valid")
case("conv1d_same_strides", one(lambda x: L.Conv1D(4, 3, strides=2, padding="same", activation="relu")(x), X1),
     "Conv1D k3 s2 same relu")
case("conv1d_valid_strides_nobias", one(lambda x: L.Conv1D(5, 4, strides=3, use_bias=False)(x), X1),
     "Conv1D k4 s3 valid use_bias=False")
case("conv1d_causal_dilation", one(lambda x: L.Conv1D(4, 3, padding="causal", dilation_rate=2)(x), X1),
     "Conv1D k3 causal dilation 2")
case("conv1d_cf_same_dilation", one(lambda x: L.Conv1D(4, 3, padding="same", dilation_rate=2, data_format=CF)(x), X1F),
     "Conv1D channels_first k3 same dilation 2")
case("conv1d_cf_causal", one(lambda x: L.Conv1D(4, 2, padding="causal", data_format=CF)(x), X1F),
     "Conv1D channels_first k2 causal")
case("conv2d_valid", one(lambda x: L.Conv2D(4, 3, activation="relu")(x), X2), "Conv2D 3x3 valid relu")
case("conv2d_same_strides", one(lambda x: L.Conv2D(4, 3, strides=2, padding="same")(x), X2),
     "Conv2D 3x3 s2 same on 7x9 (odd sizes)")
case("conv2d_same_even_kernel", one(lambda x: L.Conv2D(3, (4, 2), strides=(2, 1), padding="same")(x), X2),
     "Conv2D kernel (4,2) strides (2,1) same: asymmetric 'same' padding")
case("conv2d_valid_rect_strides", one(lambda x: L.Conv2D(5, (2, 3), strides=(2, 3))(x), X2),
     "Conv2D kernel (2,3) strides (2,3) valid")
case("conv2d_dilation", one(lambda x: L.Conv2D(4, 3, dilation_rate=(2, 1), padding="same")(x), X2),
     "Conv2D 3x3 dilation (2,1) same")
case("conv2d_groups", one(lambda x: L.Conv2D(6, 3, groups=2, padding="same")(x), (7, 9, 4)),
     "Conv2D groups=2 (4 -> 6 channels) same")
case("conv2d_cf_same_strides", one(lambda x: L.Conv2D(4, 3, strides=2, padding="same", data_format=CF)(x), X2F),
     "Conv2D channels_first 3x3 s2 same")
case("conv2d_cf_dilation", one(lambda x: L.Conv2D(4, 3, dilation_rate=2, data_format=CF)(x), X2F),
     "Conv2D channels_first 3x3 dilation 2 valid")
case("conv2d_cf_groups", one(lambda x: L.Conv2D(4, (3, 2), groups=2, data_format=CF)(x), (4, 7, 9)),
     "Conv2D channels_first groups=2 kernel (3,2) valid")
case("conv3d_valid", one(lambda x: L.Conv3D(3, (2, 3, 2))(x), X3), "Conv3D kernel (2,3,2) valid")
case("conv3d_same_strides", one(lambda x: L.Conv3D(3, 3, strides=2, padding="same")(x), X3), "Conv3D 3x3x3 s2 same")
case("conv3d_dilation", one(lambda x: L.Conv3D(3, 2, dilation_rate=(1, 2, 2), padding="same")(x), X3),
     "Conv3D k2 dilation (1,2,2) same")
case("conv3d_cf", one(lambda x: L.Conv3D(3, 2, strides=(1, 2, 1), data_format=CF)(x), X3F),
     "Conv3D channels_first k2 strides (1,2,1) valid")
case("depthwise_conv1d", one(lambda x: L.DepthwiseConv1D(3)(x), X1), "DepthwiseConv1D k3 multiplier 1 valid")
case("depthwise_conv1d_m2_same_strides", one(lambda x: L.DepthwiseConv1D(3, strides=2, padding="same",
                                                                         depth_multiplier=2)(x), X1),
     "DepthwiseConv1D k3 s2 same multiplier 2")
case("depthwise_conv1d_cf", one(lambda x: L.DepthwiseConv1D(3, depth_multiplier=2, dilation_rate=2,
                                                            data_format=CF)(x), X1F),
     "DepthwiseConv1D channels_first multiplier 2 dilation 2")
case("depthwise_conv2d", one(lambda x: L.DepthwiseConv2D(3)(x), X2), "DepthwiseConv2D 3x3 multiplier 1 valid")
case("depthwise_conv2d_m2_same_strides", one(lambda x: L.DepthwiseConv2D(3, strides=2, padding="same",
                                                                         depth_multiplier=2)(x), X2),
     "DepthwiseConv2D 3x3 s2 same multiplier 2 (output channel c*2+m)")
case("depthwise_conv2d_dilation", one(lambda x: L.DepthwiseConv2D(3, dilation_rate=2, padding="same",
                                                                  use_bias=False)(x), X2),
     "DepthwiseConv2D 3x3 dilation 2 same use_bias=False")
case("depthwise_conv2d_cf_m2", one(lambda x: L.DepthwiseConv2D((2, 3), depth_multiplier=2, data_format=CF)(x), X2F),
     "DepthwiseConv2D channels_first kernel (2,3) multiplier 2")
case("separable_conv1d", one(lambda x: L.SeparableConv1D(4, 3, padding="same")(x), X1),
     "SeparableConv1D k3 same multiplier 1")
case("separable_conv1d_m2_strides", one(lambda x: L.SeparableConv1D(5, 3, strides=2, depth_multiplier=2)(x), X1),
     "SeparableConv1D k3 s2 valid multiplier 2")
case("separable_conv1d_cf", one(lambda x: L.SeparableConv1D(4, 3, dilation_rate=2, padding="same",
                                                            data_format=CF)(x), X1F),
     "SeparableConv1D channels_first k3 dilation 2 same")
case("separable_conv2d", one(lambda x: L.SeparableConv2D(5, 3, padding="same", activation="relu")(x), X2),
     "SeparableConv2D 3x3 same relu")
case("separable_conv2d_m2_strides", one(lambda x: L.SeparableConv2D(4, 3, strides=2, depth_multiplier=2)(x), X2),
     "SeparableConv2D 3x3 s2 valid multiplier 2")
case("separable_conv2d_dilation_nobias", one(lambda x: L.SeparableConv2D(4, 3, dilation_rate=2, padding="same",
                                                                         use_bias=False)(x), X2),
     "SeparableConv2D 3x3 dilation 2 same use_bias=False")
case("separable_conv2d_cf", one(lambda x: L.SeparableConv2D(4, 3, strides=2, padding="same", data_format=CF)(x), X2F),
     "SeparableConv2D channels_first 3x3 s2 same")
case("conv1d_transpose_valid", one(lambda x: L.Conv1DTranspose(4, 3)(x), X1), "Conv1DTranspose k3 s1 valid")
case("conv1d_transpose_same_s2", one(lambda x: L.Conv1DTranspose(4, 3, strides=2, padding="same")(x), X1),
     "Conv1DTranspose k3 s2 same")
case("conv1d_transpose_outpad", one(lambda x: L.Conv1DTranspose(4, 3, strides=2, output_padding=1)(x), X1),
     "Conv1DTranspose k3 s2 valid output_padding 1")
case("conv1d_transpose_dilation", one(lambda x: L.Conv1DTranspose(4, 3, dilation_rate=2, padding="same")(x), X1),
     "Conv1DTranspose k3 dilation 2 same")
case("conv1d_transpose_cf", one(lambda x: L.Conv1DTranspose(4, 4, strides=2, padding="same", data_format=CF)(x), X1F),
     "Conv1DTranspose channels_first k4 s2 same")
case("conv2d_transpose_valid", one(lambda x: L.Conv2DTranspose(4, 3)(x), X2), "Conv2DTranspose 3x3 s1 valid")
case("conv2d_transpose_same_s2", one(lambda x: L.Conv2DTranspose(4, 3, strides=2, padding="same")(x), X2),
     "Conv2DTranspose 3x3 s2 same")
case("conv2d_transpose_even_kernel", one(lambda x: L.Conv2DTranspose(3, 4, strides=2, padding="same")(x), X2),
     "Conv2DTranspose 4x4 s2 same (the GAN up-sampler)")
case("conv2d_transpose_valid_outpad", one(lambda x: L.Conv2DTranspose(4, 3, strides=2, output_padding=1)(x), X2),
     "Conv2DTranspose 3x3 s2 valid output_padding 1")
case("conv2d_transpose_same_outpad_rect", one(lambda x: L.Conv2DTranspose(3, (3, 4), strides=(2, 3), padding="same",
                                                                          output_padding=(1, 2))(x), X2),
     "Conv2DTranspose kernel (3,4) strides (2,3) same output_padding (1,2)")
case("conv2d_transpose_dilation", one(lambda x: L.Conv2DTranspose(4, 3, dilation_rate=2)(x), X2),
     "Conv2DTranspose 3x3 dilation 2 valid")
case("conv2d_transpose_cf", one(lambda x: L.Conv2DTranspose(4, 3, strides=2, output_padding=1, padding="same",
                                                            data_format=CF)(x), X2F),
     "Conv2DTranspose channels_first 3x3 s2 same output_padding 1")
case("conv3d_transpose_valid", one(lambda x: L.Conv3DTranspose(3, 2)(x), X3S), "Conv3DTranspose k2 s1 valid")
case("conv3d_transpose_same_s2_outpad", one(lambda x: L.Conv3DTranspose(3, 3, strides=2, padding="same",
                                                                        output_padding=1)(x), X3S),
     "Conv3DTranspose k3 s2 same output_padding 1")
case("conv3d_transpose_dilation", one(lambda x: L.Conv3DTranspose(2, 2, dilation_rate=(2, 1, 2), padding="same")(x), X3S),
     "Conv3DTranspose k2 dilation (2,1,2) same")
case("conv3d_transpose_cf", one(lambda x: L.Conv3DTranspose(3, (2, 3, 2), strides=(2, 1, 2), data_format=CF)(x), X3SF),
     "Conv3DTranspose channels_first kernel (2,3,2) strides (2,1,2) valid")

# --- shape and resampling -------------------------------------------------------
case("zero_padding1d", one(lambda x: L.ZeroPadding1D(2)(x), X1), "ZeroPadding1D 2 (symmetric)")
case("zero_padding1d_asym", one(lambda x: L.ZeroPadding1D((1, 3))(x), X1), "ZeroPadding1D (1,3)")
case("zero_padding1d_cf", one(lambda x: L.ZeroPadding1D((2, 1), data_format=CF)(x), X1F),
     "ZeroPadding1D channels_first (2,1)")
case("zero_padding2d", one(lambda x: L.ZeroPadding2D(1)(x), X2), "ZeroPadding2D 1 (symmetric)")
case("zero_padding2d_asym", one(lambda x: L.ZeroPadding2D(((1, 2), (0, 3)))(x), X2), "ZeroPadding2D ((1,2),(0,3))")
case("zero_padding2d_cf_asym", one(lambda x: L.ZeroPadding2D(((2, 0), (1, 3)), data_format=CF)(x), X2F),
     "ZeroPadding2D channels_first ((2,0),(1,3))")
case("zero_padding3d", one(lambda x: L.ZeroPadding3D(1)(x), X3), "ZeroPadding3D 1 (symmetric)")
case("zero_padding3d_asym", one(lambda x: L.ZeroPadding3D(((1, 0), (0, 2), (2, 1)))(x), X3),
     "ZeroPadding3D ((1,0),(0,2),(2,1))")
case("zero_padding3d_cf", one(lambda x: L.ZeroPadding3D((1, 2, 0), data_format=CF)(x), X3F),
     "ZeroPadding3D channels_first (1,2,0)")
case("cropping1d", one(lambda x: L.Cropping1D((1, 3))(x), X1), "Cropping1D (1,3)")
case("cropping2d", one(lambda x: L.Cropping2D(((1, 2), (3, 0)))(x), X2), "Cropping2D ((1,2),(3,0))")
case("cropping2d_cf", one(lambda x: L.Cropping2D((1, 2), data_format=CF)(x), X2F), "Cropping2D channels_first (1,2)")
case("cropping3d", one(lambda x: L.Cropping3D(((1, 0), (2, 1), (0, 3)))(x), X3), "Cropping3D ((1,0),(2,1),(0,3))")
case("cropping3d_cf", one(lambda x: L.Cropping3D(1, data_format=CF)(x), X3F), "Cropping3D channels_first 1")
case("upsampling1d", one(lambda x: L.UpSampling1D(3)(x), X1), "UpSampling1D size 3")
case("upsampling2d_nearest", one(lambda x: L.UpSampling2D((2, 3))(x), X2), "UpSampling2D (2,3) nearest")
case("upsampling2d_bilinear", one(lambda x: L.UpSampling2D((2, 3), interpolation="bilinear")(x), X2),
     "UpSampling2D (2,3) bilinear (half-pixel centres, as jax.image.resize)")
case("upsampling2d_nearest_cf", one(lambda x: L.UpSampling2D(2, data_format=CF)(x), X2F),
     "UpSampling2D channels_first 2 nearest")
case("upsampling2d_bilinear_cf", one(lambda x: L.UpSampling2D((3, 2), interpolation="bilinear", data_format=CF)(x),
                                     X2F),
     "UpSampling2D channels_first (3,2) bilinear")
case("upsampling3d", one(lambda x: L.UpSampling3D((2, 1, 2))(x), X3S), "UpSampling3D (2,1,2)")
case("upsampling3d_cf", one(lambda x: L.UpSampling3D(2, data_format=CF)(x), X3SF), "UpSampling3D channels_first 2")
case("permute_2d", one(lambda x: L.Permute((2, 1))(x), (5, 4)), "Permute (2,1)")
case("permute_3d", one(lambda x: L.Permute((3, 1, 2))(x), X2), "Permute (3,1,2) (channels_last -> channels_first)")
case("repeat_vector", one(lambda x: L.RepeatVector(4)(x), (5,)), "RepeatVector 4")
case("flatten_cf", chain(X2F, lambda: L.Conv2D(4, 3, data_format=CF), lambda: L.Flatten(data_format=CF),
                         lambda: L.Dense(5)),
     "Conv2D channels_first -> Flatten(data_format=channels_first) -> Dense: Flatten moves channels last first")
case("flatten_cf_default", chain(X2F, lambda: L.Conv2D(4, 3, data_format=CF), L.Flatten, lambda: L.Dense(5)),
     "Conv2D channels_first -> Flatten() (channels_last default: flattens (C,H,W) as stored) -> Dense")
case("reshape_cf", chain(X2F, lambda: L.Conv2D(4, 3, data_format=CF), lambda: L.Reshape((4, 35)),
                         lambda: L.Dense(15), lambda: L.Reshape((2, 6, 5)), lambda: L.Conv2D(2, 2, data_format=CF)),
     "Conv2D channels_first -> Reshape (4,35) -> Dense(15) -> Reshape (2,6,5) -> Conv2D channels_first")

# --- pooling ----------------------------------------------------------------------
for dims, shape, shape_f in ((1, X1, X1F), (2, X2, X2F), (3, X3, X3F)):
    for kind in ("Max", "Average"):
        cls = getattr(L, f"{kind}Pooling{dims}D")
        base = f"{kind.lower()}_pooling{dims}d"
        pool3 = 3 if dims < 3 else (2, 3, 2)
        case(f"{base}_valid", one(lambda x, c=cls: c(2)(x), shape), f"{kind}Pooling{dims}D pool 2 valid")
        case(f"{base}_same_strides", one(lambda x, c=cls, p=pool3: c(p, strides=2, padding="same")(x), shape),
             f"{kind}Pooling{dims}D pool {pool3} strides 2 same" +
             (" (the average counts only the values inside the input)" if kind == "Average" else ""))
        case(f"{base}_cf", one(lambda x, c=cls: c(2, strides=1, padding="same", data_format=CF)(x), shape_f),
             f"{kind}Pooling{dims}D channels_first pool 2 strides 1 same")
    for kind in ("Max", "Average"):
        cls = getattr(L, f"Global{kind}Pooling{dims}D")
        base = f"global_{kind.lower()}_pooling{dims}d"
        case(base, one(lambda x, c=cls: c()(x), shape), f"Global{kind}Pooling{dims}D")
        case(f"{base}_keepdims", one(lambda x, c=cls: c(keepdims=True)(x), shape),
             f"Global{kind}Pooling{dims}D keepdims=True")
        case(f"{base}_cf_keepdims", one(lambda x, c=cls: c(data_format=CF, keepdims=True)(x), shape_f),
             f"Global{kind}Pooling{dims}D channels_first keepdims=True")

# --- normalization and the layers keras.applications uses ------------------------
case("batch_norm_last", one(lambda x: L.BatchNormalization()(x), X2), "BatchNormalization axis=-1")
case("batch_norm_axis1", one(lambda x: L.BatchNormalization(axis=1, epsilon=0.01)(x), X2F),
     "BatchNormalization axis=1 (channels_first) epsilon 0.01")
case("batch_norm_axis2", one(lambda x: L.BatchNormalization(axis=2, center=False)(x), X2),
     "BatchNormalization axis=2 (the 9 columns) center=False")
case("batch_norm_dense", chain((6,), lambda: L.Dense(5), lambda: L.BatchNormalization(scale=False),
                               lambda: L.Activation("relu")),
     "Dense -> BatchNormalization(scale=False) -> relu")
case("layer_norm_last", one(lambda x: L.LayerNormalization()(x), X2), "LayerNormalization axis=-1")
case("layer_norm_axes", one(lambda x: L.LayerNormalization(axis=[1, 2])(x), X2),
     "LayerNormalization axis=[1,2] (gamma/beta of shape (7,9))")
case("layer_norm_all_axes", one(lambda x: L.LayerNormalization(axis=(-3, -2, -1), epsilon=0.1)(x), X2),
     "LayerNormalization axis=(-3,-2,-1) epsilon 0.1")
case("layer_norm_plain", one(lambda x: L.LayerNormalization(center=False, scale=False)(x), X2),
     "LayerNormalization center=False scale=False (no weights)")
case("rescaling", one(lambda x: L.Rescaling(1 / 127.5, offset=-1.0)(x), X2), "Rescaling 1/127.5, offset -1", scale=100.0)
case("rescaling_per_channel", one(lambda x: L.Rescaling([0.5, 2.0, -1.0], offset=[0.1, 0.2, 0.3])(x), X2),
     "Rescaling with per-channel scale and offset lists")
case("normalization_adapted", one(lambda x: L.Normalization()(x), X2),
     "Normalization axis=-1, adapted (mean, variance, count weights)", adapt=True)
case("normalization_axis1", one(lambda x: L.Normalization(axis=1)(x), X2F),
     "Normalization axis=1 (channels_first), adapted", adapt=True)
case("normalization_axes", one(lambda x: L.Normalization(axis=(1, 3))(x), X2),
     "Normalization axis=(1,3), adapted: mean/variance of shape (7,1,3)", adapt=True)
case("normalization_given", one(lambda x: L.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0])(x), X2),
     "Normalization with mean/variance given in the config (no weights)")
case("relu_max_value", one(lambda x: L.ReLU(max_value=1.5)(x), X2), "ReLU max_value 1.5", scale=2.0)
case("relu_negative_slope", one(lambda x: L.ReLU(negative_slope=0.1)(x), X2), "ReLU negative_slope 0.1")
case("relu_threshold", one(lambda x: L.ReLU(threshold=0.5)(x), X2), "ReLU threshold 0.5")
case("relu_all_options", one(lambda x: L.ReLU(max_value=2.0, negative_slope=0.2, threshold=0.3)(x), X2),
     "ReLU max_value 2, negative_slope 0.2, threshold 0.3", scale=2.0)
case("relu6", chain(X2, lambda: L.Conv2D(4, 1), lambda: L.ReLU(6.0)),
     "Conv2D 1x1 -> ReLU(6.) as keras.applications builds ReLU6 (MobileNet)", scale=8.0)
case("prelu", one(lambda x: L.PReLU()(x), X2), "PReLU, alpha of shape (7,9,3)")
case("prelu_shared_axes", one(lambda x: L.PReLU(shared_axes=[1, 2])(x), X2), "PReLU shared_axes [1,2]: alpha (1,1,3)")
case("hard_sigmoid", one(lambda x: L.Activation("hard_sigmoid")(x), X2), "Activation hard_sigmoid", scale=4.0)
case("hard_swish", one(lambda x: L.Activation("hard_swish")(x), X2), "Activation hard_swish", scale=4.0)
case("hard_silu", one(lambda x: L.Activation("hard_silu")(x), X2), "Activation hard_silu", scale=4.0)
case("identity", chain((6,), lambda: L.Dense(4), L.Identity, lambda: L.Dense(3)), "Dense -> Identity -> Dense")
case("layer_scale", chain(X2, lambda: L.Conv2D(4, 1), lambda: LayerScale(1e-6, 4)),
     "Conv2D 1x1 -> LayerScale (keras.src.applications.convnext; not public)")


def _stochastic_depth() -> keras.Model:
    (x,) = inputs(X2)
    y = L.Conv2D(3, 3, padding="same")(x)
    y = StochasticDepth(0.3)(y)
    return keras.Model(x, L.Add()([x, y]), name="model")


case("stochastic_depth", _stochastic_depth,
     "x + StochasticDepth(0.3)(Conv2D(x)): identity at inference (keras.src.applications.convnext; not public)")


# --- graphs -----------------------------------------------------------------------------
def _resnet_block() -> keras.Model:
    (x,) = inputs((7, 9, 4))
    y = L.Conv2D(4, 3, padding="same", use_bias=False, name="conv1")(x)
    y = L.BatchNormalization(name="bn1")(y)
    y = L.Activation("relu", name="relu1")(y)
    y = L.Conv2D(4, 3, padding="same", use_bias=False, name="conv2")(y)
    y = L.BatchNormalization(name="bn2")(y)
    y = L.Add(name="add")([y, x])
    y = L.Activation("relu", name="relu2")(y)
    return keras.Model(x, y, name="resnet_block")


def _xception_mini() -> keras.Model:
    (x,) = inputs((9, 11, 3))
    y = L.Conv2D(4, 3, strides=1, padding="same", name="stem")(x)
    y = L.BatchNormalization(name="stem_bn")(y)
    stem = L.Activation("relu", name="stem_relu")(y)
    shortcut = L.Conv2D(6, 1, strides=2, padding="same", use_bias=False, name="shortcut")(stem)
    shortcut = L.BatchNormalization(name="shortcut_bn")(shortcut)
    y = L.SeparableConv2D(6, 3, padding="same", use_bias=False, name="sep1")(stem)
    y = L.BatchNormalization(name="sep1_bn")(y)
    y = L.Activation("relu", name="sep1_relu")(y)
    y = L.SeparableConv2D(6, 3, padding="same", use_bias=False, name="sep2")(y)
    y = L.BatchNormalization(name="sep2_bn")(y)
    y = L.MaxPooling2D(3, strides=2, padding="same", name="pool")(y)
    y = L.Add(name="residual")([y, shortcut])
    y = L.GlobalAveragePooling2D(name="gap")(y)
    return keras.Model(x, L.Dense(3, activation="softmax", name="head")(y), name="xception_mini")


def _unet() -> keras.Model:
    (x,) = inputs((8, 12, 2))
    e1 = L.Conv2D(3, 3, padding="same", activation="relu", name="enc1")(x)
    p1 = L.MaxPooling2D(2, name="pool1")(e1)
    e2 = L.Conv2D(4, 3, padding="same", activation="relu", name="enc2")(p1)
    p2 = L.MaxPooling2D(2, name="pool2")(e2)
    b = L.Conv2D(5, 3, padding="same", activation="relu", name="bottleneck")(p2)
    u2 = L.Conv2DTranspose(4, 2, strides=2, name="up2")(b)
    d2 = L.Concatenate(name="skip2")([u2, e2])
    d2 = L.Conv2D(4, 3, padding="same", activation="relu", name="dec2")(d2)
    u1 = L.Conv2DTranspose(3, 2, strides=2, name="up1")(d2)
    d1 = L.Concatenate(name="skip1")([e1, u1])
    d1 = L.Conv2D(3, 3, padding="same", activation="relu", name="dec1")(d1)
    return keras.Model(x, L.Conv2D(2, 1, activation="sigmoid", name="out")(d1), name="unet")


def _two_in_two_out() -> keras.Model:
    image, vec = keras.Input((7, 9, 3), name="image"), keras.Input((4,), name="vec")
    a = L.Conv2D(3, 3, activation="relu", name="conv")(image)
    a = L.GlobalMaxPooling2D(name="gmp")(a)
    b = L.Dense(3, activation="tanh", name="vec_dense")(vec)
    joint = L.Concatenate(name="join")([b, a])
    score = L.Dense(1, name="score")(joint)
    classes = L.Dense(4, activation="softmax", name="classes")(L.Multiply(name="gate")([a, b]))
    # Outputs not in creation order, inputs not in the order the layers use them.
    return keras.Model([vec, image], [classes, score, a], name="two_in_two_out")


def _shared_dense() -> keras.Model:
    left, right = inputs((6,), (6,))
    shared = L.Dense(4, activation="relu", name="shared")
    a, b = shared(left), shared(right)
    diff = L.Subtract(name="diff")([a, b])
    return keras.Model([left, right], [L.Dense(2, name="head")(diff), b], name="shared_dense")


def _nested() -> keras.Model:
    inner = keras.Sequential([keras.Input((6,)), L.Dense(5, activation="relu", name="d1"),
                              L.Dense(4, name="d2")], name="inner_seq")
    mid_in = keras.Input((6,), name="mid_in")
    h = L.Dense(6, activation="tanh", name="mid_dense")(mid_in)
    a = inner(mid_in)
    b = inner(h)  # the Sequential is used twice
    mid = keras.Model(mid_in, L.Concatenate(name="mid_cat")([a, b]), name="mid")
    (x,) = inputs((8,))
    y = L.Dense(6, name="pre")(x)
    y = mid(y)
    return keras.Model(x, L.Dense(3, name="post")(y), name="outer")


def _fanout3() -> keras.Model:
    (x,) = inputs((7, 9, 3))
    trunk = L.Conv2D(4, 3, padding="same", activation="relu", name="trunk")(x)
    a = L.Conv2D(2, 1, name="branch_a")(trunk)
    b = L.MaxPooling2D(2, padding="same", name="branch_b")(trunk)
    b = L.UpSampling2D(2, name="branch_b_up")(b)
    b = L.Cropping2D(((0, 1), (0, 1)), name="branch_b_crop")(b)
    c = L.Activation("sigmoid", name="branch_c")(trunk)
    y = L.Concatenate(name="cat")([a, L.Multiply(name="mul")([b, c])])
    return keras.Model(x, L.Add(name="add")([y, L.Conv2D(6, 1, name="proj")(trunk)]), name="fanout3")


case("graph_resnet_block", _resnet_block, "ResNet basic block: conv-bn-relu-conv-bn + identity Add + relu")
case("graph_xception_mini", _xception_mini,
     "stem conv-bn-relu; SeparableConv2D x2 + MaxPool s2, residual Add with a 1x1 s2 conv shortcut; GAP; softmax")
case("graph_unet", _unet, "2-level U-Net: MaxPooling down, Conv2DTranspose up, skip Concatenate (one skip first)")
case("graph_two_in_two_out", _two_in_two_out,
     "inputs [vec, image] (the image branch is built first), outputs [classes, score, image features]")
case("graph_shared_dense", _shared_dense, "one Dense called on two inputs; outputs [head(a-b), b]")
case("graph_nested", _nested,
     "Functional 'outer' > Functional 'mid' > Sequential 'inner_seq' (called twice inside 'mid')")
case("graph_fanout3", _fanout3, "the trunk conv feeds 3 branches and a projection (4 consumers)")


# --- generation ---------------------------------------------------------------------
def seed_of(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def leaf_layers(model: keras.Model) -> list[L.Layer]:
    """Every non-model layer of ``model``, nested models included, each once."""
    out: list[L.Layer] = []
    seen: set[int] = set()

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if isinstance(layer, keras.Model):
                walk(layer)
            else:
                out.append(layer)

    walk(model)
    return out


def all_classes(model: keras.Model) -> list[str]:
    found = {type(model).__name__}

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            found.add(type(layer).__name__)
            if isinstance(layer, keras.Model):
                walk(layer)

    walk(model)
    return sorted(found)


def random_value(layer: L.Layer, name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A non-trivial value for one variable, scaled so activations stay near 1."""
    if name in ("moving_variance", "variance"):
        v = rng.uniform(0.5, 2.0, shape)
    elif name == "gamma" or isinstance(layer, LayerScale):  # LayerScale's variable is unnamed
        v = rng.uniform(0.5, 1.5, shape)
    elif name in ("bias", "beta", "moving_mean", "mean"):
        v = rng.normal(0.0, 0.3, shape)
    elif name == "alpha":  # PReLU slopes, some negative
        v = rng.uniform(-0.3, 0.6, shape)
    elif name in ("kernel", "depthwise_kernel", "pointwise_kernel"):
        if name == "depthwise_kernel":
            fan_in = math.prod(shape[:-2])
        elif "Transpose" in type(layer).__name__:  # (k..., out, in)
            fan_in = math.prod(shape) // shape[-2]
        else:
            fan_in = math.prod(shape) // shape[-1]
        v = rng.normal(0.0, 1.0 / math.sqrt(fan_in), shape)
    else:
        raise ValueError(f"no rule for variable {name!r} of {type(layer).__name__}")
    return v.astype(np.float32)


def make_inputs(model: keras.Model, rng: np.random.Generator, scale: float) -> list[np.ndarray]:
    return [(rng.normal(0.0, scale, (BATCH, *t.shape[1:]))).astype(np.float32) for t in model.inputs]


def set_weights(model: keras.Model, rng: np.random.Generator, adapt_data: list[np.ndarray] | None) -> None:
    for layer in leaf_layers(model):
        if isinstance(layer, L.Normalization):
            if adapt_data is not None and layer.weights:
                # Adapt to a seeded sample from another distribution: non-trivial mean/variance.
                layer.adapt(adapt_data[0] * 1.7 + 0.6)
            continue
        if layer.weights:
            layer.set_weights([random_value(layer, v.name, tuple(v.shape), rng) for v in layer.weights])


def as_list(outputs: Any) -> list[np.ndarray]:
    return [np.asarray(o, np.float32) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def generate(c: Case) -> dict[str, Any]:
    keras.backend.clear_session(free_memory=False)  # resets Keras's name counters
    keras.utils.set_random_seed(seed_of(c.name))
    rng = np.random.default_rng(seed_of(c.name))
    model = c.build()
    xs = make_inputs(model, rng, c.scale)
    adapt_data = [rng.normal(0.0, 1.0, (64, *model.inputs[0].shape[1:])).astype(np.float32)] if c.adapt else None
    set_weights(model, rng, adapt_data)
    ys = as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
    model.save(HERE / f"{c.name}.keras")
    in_files, out_files = [], []
    for i, x in enumerate(xs):
        np.save(HERE / f"{c.name}.in{i}.npy", x)
        in_files.append({"file": f"{c.name}.in{i}.npy", "shape": list(x.shape), "dtype": str(x.dtype)})
    for i, y in enumerate(ys):
        np.save(HERE / f"{c.name}.out{i}.npy", y)
        out_files.append({"file": f"{c.name}.out{i}.npy", "shape": list(y.shape), "dtype": str(y.dtype)})
    verify = check_reload(c, xs, ys)
    return {
        "model": f"{c.name}.keras",
        "inputs": in_files,
        "outputs": out_files,
        "layers": all_classes(model),
        "tolerance": c.tolerance,
        "max_abs_output": float(max(np.max(np.abs(y)) for y in ys)),
        "verify": verify,
        "seed": seed_of(c.name),
        "note": c.note,
        **({"custom_objects": {k: v for k, v in CUSTOM_OBJECTS.items() if k in all_classes(model)}}
           if set(CUSTOM_OBJECTS) & set(all_classes(model)) else {}),
    }


def check_reload(c: Case, xs: list[np.ndarray], ys: list[np.ndarray]) -> float:
    """The saved file, loaded afresh, must give the same outputs (eager call and predict); the largest difference."""
    keras.backend.clear_session(free_memory=False)
    model = keras.saving.load_model(HERE / f"{c.name}.keras", custom_objects={
        "LayerScale": LayerScale, "StochasticDepth": StochasticDepth})
    arg = xs if len(xs) > 1 else xs[0]
    worst = 0.0
    for got in (as_list(model.predict(arg, verbose=0)), as_list(model(arg, training=False))):
        for g, y in zip(got, ys):
            worst = max(worst, float(np.max(np.abs(g - y))))
    if worst > c.tolerance / 10:
        raise AssertionError(f"{c.name}: reloaded model differs by {worst}")
    return worst


def render_index(index: dict[str, Any]) -> str:
    """JSON with one line per case: short, and a regenerated case shows as a one-line diff."""
    head = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in index.items() if k != "cases")
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in index["cases"].items())
    return f"{{\n{head},\n \"cases\": {{\n{body}\n }}\n}}\n"


MANIFEST_HEAD = """\
# kwbin Keras fixtures for C graph execution (issue #13)

Proof data for running real Keras graphs in `c_reader/kwbin_nn.h`: {count} cases, one per layer and
configuration option, each a tiny Keras 3 model with its inputs and Keras's own outputs. Written by
**keras {keras}, backend {backend} (jax {jax}, numpy {numpy}, CPU)**, the versions pinned in
`requirements/dev.txt`, with

    nice -n 10 .venv/bin/python tests/data/nn/make_fixtures.py            # all cases (about 2.5 min)
    nice -n 10 .venv/bin/python tests/data/nn/make_fixtures.py --only NAME # one case, same numbers

which also renders this file and `cases.json`. `tests/test_nn_fixtures.py` checks every case (files
fit the model; `kwbin.keras.pack` lists every layer with its class, config and weights and keeps the
graph; today's Keras still computes the committed outputs). It does not run C.

## Files of a case `<case>`

- `<case>.keras`: `model.save()` of an uncompiled model (zip of `config.json`, `metadata.json`,
  `model.weights.h5`). Every weight was set with `layer.set_weights` from `numpy.random.default_rng(seed)`,
  seed = CRC-32 of the case name; Keras's initialisers play no part. Kernels are normal(0, 1/sqrt(fan_in));
  biases, `beta` and `moving_mean` normal(0, 0.3) (so never zero); `gamma` (and LayerScale's variable)
  uniform(0.5, 1.5); `moving_variance` uniform(0.5, 2); PReLU `alpha` uniform(-0.3, 0.6).
  `Normalization` layers were `adapt`ed to a seeded sample of normal(0.6, 1.7).
- `<case>.in<i>.npy`: input `i` of the model, in `model.inputs` order; batch of 3, float32, seeded
  normal(0, scale) (scale 1 except where the note says; e.g. 8 for ReLU6 so the cap is reached).
- `<case>.out<i>.npy`: `model.predict(inputs, verbose=0)`, output `i` in `model.outputs` order, float32.
- `cases.json`: per case the file names, shapes and dtypes, the layer classes the model holds (nested
  models included), `tolerance` (the largest |C - Keras| to accept), `max_abs_output`, `seed`, `note`,
  `custom_objects` where needed, and `verify`: max |output of the saved file, reloaded in a fresh
  Keras session, by `predict` and by an eager call - out.npy|, measured by the generator.

The bytes of a `.keras` differ between runs (zip timestamps, `date_saved`, `shared_object_id` values
in config.json), their weights, configs and outputs do not.

## Facts the C code needs (all checked against these outputs)

- The graph is in the packed file's metadata `model_config` (the `.keras` archive's `config.json`,
  verbatim): each layer entry has `inbound_nodes`, whose arguments hold `keras_history`
  `[layer name, node index, tensor index]`; the model's `input_layers` / `output_layers` give the order
  of `in<i>` / `out<i>`. A layer called twice (`graph_shared_dense`, the nested Sequential of
  `graph_nested`) has node indices 0 and 1. Layer records are in topological order; a nested model's
  layers follow it, named `outer/inner` (`mid/inner_seq/d1`), parent = the nested model; a Sequential's
  InputLayer is listed too.
- Configs may carry `"shared_object_id"` (inside `dtype`): an `id()` Keras adds when it serializes one
  object several times; ignore it.
- `Flatten(data_format="channels_first")` moves channels last before flattening (`flatten_cf`);
  `Flatten()` flattens a channels_first tensor as stored (`flatten_cf_default`).
- `AveragePooling*D(padding="same")` divides by the number of inputs inside the window, not the pool size.
- `UpSampling2D(interpolation="bilinear")`: half-pixel centres, source coordinate (o + 0.5) / f - 0.5
  clamped to [0, n-1] (jax.image.resize, no antialiasing on up-sampling).
- DepthwiseConv kernels are `(k..., in, multiplier)`, output channel `c * multiplier + m`; Conv*Transpose
  kernels are `(k..., filters, in)`; SeparableConv = depthwise (`depthwise_kernel`) then 1x1
  (`pointwise_kernel`) then bias. `padding="same"` with an even kernel or a stride pads the extra cell
  at the end (`conv2d_same_even_kernel`).
- `ReLU(max_value, negative_slope, threshold)`: x >= threshold -> min(x, max_value), else
  negative_slope * (x - threshold). `Dot(normalize=True)` L2-normalises each input along its own axis.
- `StochasticDepth` and `Dropout` are identities at inference; `LayerScale` multiplies by its vector.
  Both classes live in `keras.src.applications.convnext` (not public in Keras 3.15.1): loading
  `layer_scale.keras` and `stochastic_depth.keras` needs `custom_objects` (see `cases.json`).

## Importer status

Every case packs with `kwbin.keras.pack`. Known importer gaps (names only, the values are right):
`Normalization` (`normalization_adapted`, `normalization_axis1`, `normalization_axes`) is not in the
variable table, so its variables are packed as `0`, `1`, `2` (= mean, variance, count; mean and
variance have the sizes of the kept axes, e.g. (7, 3) for axis=(1, 3) on 7x9x3; count is a scalar) with
a warning; `LayerScale` (`layer_scale`) likewise packs its vector as
`0`. `normalization_given` has no weights: its mean and variance are in the config.

## Cases

| case | inputs -> outputs | layers | note | max abs out | verify |
|---|---|---|---|---|---|
"""


def render_manifest(index: dict[str, Any]) -> str:
    def shapes(entries: list[dict[str, Any]]) -> str:
        return ", ".join("x".join(map(str, e["shape"])) + ("" if e["dtype"] == "float32" else f" {e['dtype']}")
                         for e in entries)

    rows = []
    for name, c in index["cases"].items():
        classes = ", ".join(k for k in c["layers"] if k not in ("InputLayer", "Functional")) or "-"
        rows.append(f"| `{name}` | {shapes(c['inputs'])} -> {shapes(c['outputs'])} | {classes} | {c['note']} "
                    f"| {c['max_abs_output']:.3g} | {c['verify']:.2g} |")
    head = MANIFEST_HEAD.format(count=len(index["cases"]), keras=index["keras_version"], backend=index["backend"],
                                jax=index["jax_version"], numpy=index["numpy_version"])
    return head + "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="regenerate only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(CASES))
        return 0
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    index_path = HERE / "cases.json"
    index: dict[str, Any] = json.loads(index_path.read_text()) if args.only and index_path.exists() else {}
    cases = index.get("cases", {})
    failed = []
    for name in names:
        try:
            cases[name] = generate(CASES[name])
        except Exception as exc:  # report every broken case, not just the first
            failed.append(name)
            print(f"{name}: FAILED: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}", flush=True)
            continue
        print(f"{name}: {', '.join(cases[name]['layers'])}  max|y|={cases[name]['max_abs_output']:.3g}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}; nothing written to cases.json")
        return 1
    if not args.only:
        stale = {p.name for p in HERE.iterdir() if p.suffix in (".keras", ".npy")} - {
            f for c in cases.values() for f in [c["model"]] + [e["file"] for e in c["inputs"] + c["outputs"]]}
        for name in sorted(stale):
            (HERE / name).unlink()
    index = {
        "generator": "tests/data/nn/make_fixtures.py",
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "jax_version": __import__("jax").__version__,
        "numpy_version": np.__version__,
        "batch": BATCH,
        "cases": {name: cases[name] for name in CASES if name in cases},
    }
    index_path.write_text(render_index(index))
    (HERE / "MANIFEST.md").write_text(render_manifest(index))
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"{len(index['cases'])} cases, {total / 1e6:.2f} MB in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

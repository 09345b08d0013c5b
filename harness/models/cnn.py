"""Image classifiers for 32×32 inputs, every initializer seeded by the layer's name.

Conventions of the PyTorch code base behind claim C2 (the "Cutout" ResNet-18), kept so
the recipe's numbers mean the same here: convolution and linear kernels start as
PyTorch's default (uniform ±1/√fan_in, i.e. ``VarianceScaling(1/3, fan_in, uniform)``),
batch norm uses momentum 0.1 (Keras 0.9) and ε = 1e-5, and weight decay is PyTorch's
*coupled* L2 (``wd·w`` added to every parameter's gradient, biases and batch-norm
parameters included), written as an L2 penalty of ``wd/2·‖w‖²`` on each of them.

Layers take the global Keras dtype policy (``mixed_float16`` for mixed precision); logits stay
float32. Images without a channel axis (28×28) get one.
"""

from __future__ import annotations

import keras

from harness.seeds import derive

RESNET18_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))  # (channels, stride), two basic blocks each


class _Layers:
    """Builds named layers with seeded initializers, a shared L2 penalty and dtype policy."""

    def __init__(self, seed: int, weight_decay: float) -> None:
        self.seed, self.dtype = seed, None  # None: the global dtype policy
        self.penalty = keras.regularizers.L2(weight_decay / 2) if weight_decay else None

    def _kernel(self, name: str) -> keras.initializers.Initializer:
        return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=derive(self.seed, "init", name))

    def conv(self, x, channels: int, size: int, stride: int, name: str):
        return keras.layers.Conv2D(
            channels,
            size,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer=self._kernel(name),
            kernel_regularizer=self.penalty,
            dtype=self.dtype,
            name=name,
        )(x)

    def norm(self, x, name: str, relu: bool = True):
        x = keras.layers.BatchNormalization(
            momentum=0.9,
            epsilon=1e-5,
            beta_regularizer=self.penalty,
            gamma_regularizer=self.penalty,
            dtype=self.dtype,
            name=name,
        )(x)
        return keras.layers.ReLU(dtype=self.dtype, name=f"{name}_relu")(x) if relu else x

    def logits(self, x, classes: int):
        return keras.layers.Dense(
            classes,
            kernel_initializer=self._kernel("logits"),
            kernel_regularizer=self.penalty,
            bias_regularizer=self.penalty,
            dtype="float32",
            name="logits",
        )(x)


def _inputs(input_shape: tuple[int, ...]):
    """The input, and the tensor the first convolution reads (a channel axis added to 2-D images)."""
    inputs = keras.Input(input_shape)
    if len(input_shape) == 2:
        return inputs, keras.layers.Reshape((*input_shape, 1), name="channels")(inputs)
    return inputs, inputs


def _basic_block(layers: _Layers, x, channels: int, stride: int, name: str):
    """``relu(bn(conv3(relu(bn(conv3(x))))) + shortcut(x))``; the shortcut is a 1×1 conv + bn when shapes change."""
    shortcut = x
    if stride != 1 or x.shape[-1] != channels:
        shortcut = layers.norm(layers.conv(x, channels, 1, stride, f"{name}_short"), f"{name}_short_bn", relu=False)
    y = layers.norm(layers.conv(x, channels, 3, stride, f"{name}_conv1"), f"{name}_bn1")
    y = layers.norm(layers.conv(y, channels, 3, 1, f"{name}_conv2"), f"{name}_bn2", relu=False)
    y = keras.layers.Add(dtype=layers.dtype, name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(dtype=layers.dtype, name=f"{name}_out")(y)


def build_resnet18(input_shape: tuple[int, ...], classes: int, seed: int, *, weight_decay: float = 0.0) -> keras.Model:
    """ResNet-18, CIFAR variant: 3×3 stem (64 channels, stride 1, no max-pool), four stages of two
    basic blocks (64/128/256/512 channels, strides 1/2/2/2), global average pool, linear logits."""
    layers = _Layers(seed, weight_decay)
    inputs, x = _inputs(input_shape)
    x = layers.norm(layers.conv(x, 64, 3, 1, "stem"), "stem_bn")
    for stage, (channels, stride) in enumerate(RESNET18_STAGES, start=1):
        x = _basic_block(layers, x, channels, stride, f"stage{stage}_block1")
        x = _basic_block(layers, x, channels, 1, f"stage{stage}_block2")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, layers.logits(x, classes), name="resnet18")


def build_small_cnn(
    input_shape: tuple[int, ...],
    classes: int,
    seed: int,
    *,
    weight_decay: float = 0.0,
    width: int = 16,
) -> keras.Model:
    """A CPU-sized CNN: three stages of two conv-bn-relu layers (``width``, 2×, 4× channels),
    2×2 max-pool after the first two stages, global average pool, linear logits."""
    layers = _Layers(seed, weight_decay)
    inputs, x = _inputs(input_shape)
    for stage in range(3):
        for conv in (1, 2):
            name = f"stage{stage + 1}_conv{conv}"
            x = layers.norm(layers.conv(x, width * 2**stage, 3, 1, name), f"{name}_bn")
        if stage < 2:
            x = keras.layers.MaxPooling2D(name=f"stage{stage + 1}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, layers.logits(x, classes), name="small_cnn")

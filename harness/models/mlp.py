"""The book's multilayer perceptron, with every initializer seeded by name."""

from __future__ import annotations

import keras

from harness.seeds import derive


def _seeded(name: str, seed: int) -> keras.initializers.Initializer:
    """The Keras initializer ``name`` with its seed set (initializers without randomness as they are)."""
    initializer = keras.initializers.get(name)
    config = initializer.get_config()
    if "seed" not in config:
        return initializer
    return type(initializer).from_config({**config, "seed": seed})


def hidden_layers(
    units: list[int],
    seed: int,
    *,
    activation: str = "relu",
    initializer: str = "he_normal",
    batch_norm: str = "none",
    dropout: float = 0.0,
    l2: float = 0.0,
) -> list[keras.layers.Layer]:
    """Dense layers; layer *i*'s initial weights depend only on (seed, i). ``batch_norm``: none, before or
    after the activation."""
    penalty = keras.regularizers.L2(l2) if l2 else None
    layers: list[keras.layers.Layer] = []
    for i, width in enumerate(units):
        dense = keras.layers.Dense(
            width,
            activation=None if batch_norm == "before" else activation,
            name=f"hidden_{i}",
            kernel_initializer=_seeded(initializer, derive(seed, "init", "hidden", i)),
            kernel_regularizer=penalty,
        )
        layers.append(dense)
        if batch_norm != "none":
            layers.append(keras.layers.BatchNormalization(name=f"hidden_{i}_bn"))
        if batch_norm == "before":
            layers.append(keras.layers.Activation(activation, name=f"hidden_{i}_{activation}"))
        if dropout:
            layers.append(
                keras.layers.Dropout(dropout, seed=derive(seed, "dropout", "hidden", i), name=f"hidden_{i}_drop")
            )
    return layers


def output_layer(units: int, seed: int, l2: float = 0.0) -> keras.layers.Layer:
    """Sigmoid for one unit, softmax otherwise; initial weights depend on (seed, units)."""
    return keras.layers.Dense(
        units,
        activation="sigmoid" if units == 1 else "softmax",
        name=f"output_{units}",
        kernel_initializer=keras.initializers.GlorotUniform(seed=derive(seed, "init", "output", units)),
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
    )


def build_mlp(
    input_shape: tuple[int, ...],
    outputs: int,
    seed: int,
    *,
    hidden_units: list[int],
    l2: float = 0.0,
    input_batch_norm: bool = False,
    **hidden,
) -> keras.Sequential:
    """``Flatten → (batch norm) → hidden layers (see :func:`hidden_layers`) → Dense(outputs)``."""
    normalized = [keras.layers.BatchNormalization(name="input_bn")] if input_batch_norm else []
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            *normalized,
            *hidden_layers(hidden_units, seed, l2=l2, **hidden),
            output_layer(outputs, seed, l2),
        ]
    )

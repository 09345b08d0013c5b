"""The book's multilayer perceptron, with every initializer seeded by name."""

from __future__ import annotations

import keras

from harness.seeds import derive


def hidden_layers(units: list[int], seed: int) -> list[keras.layers.Layer]:
    """Dense(relu, he_normal) layers; layer *i*'s initial weights depend only on (seed, i)."""
    return [
        keras.layers.Dense(
            width,
            activation="relu",
            name=f"hidden_{i}",
            kernel_initializer=keras.initializers.HeNormal(seed=derive(seed, "init", "hidden", i)),
        )
        for i, width in enumerate(units)
    ]


def output_layer(units: int, seed: int) -> keras.layers.Layer:
    """Sigmoid for one unit, softmax otherwise; initial weights depend on (seed, units)."""
    return keras.layers.Dense(
        units,
        activation="sigmoid" if units == 1 else "softmax",
        name=f"output_{units}",
        kernel_initializer=keras.initializers.GlorotUniform(seed=derive(seed, "init", "output", units)),
    )


def build_mlp(input_shape: tuple[int, ...], hidden_units: list[int], outputs: int, seed: int) -> keras.Sequential:
    """``Flatten → Dense(h, relu, he_normal) × len(hidden_units) → Dense(outputs)``."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            *hidden_layers(hidden_units, seed),
            output_layer(outputs, seed),
        ]
    )

"""Sentiment models over integer token sequences, every initializer and dropout seeded by name."""

from __future__ import annotations

import keras

from harness.seeds import derive


def _embedding(num_words: int, dim: int, seed: int, mask_zero: bool) -> keras.layers.Embedding:
    initializer = keras.initializers.RandomUniform(-0.05, 0.05, seed=derive(seed, "init", "embedding"))
    return keras.layers.Embedding(num_words, dim, embeddings_initializer=initializer, mask_zero=mask_zero)


def _output(outputs: int, seed: int) -> keras.layers.Dense:
    """Sigmoid for one unit, softmax otherwise."""
    initializer = keras.initializers.GlorotUniform(seed=derive(seed, "init", "output"))
    activation = "sigmoid" if outputs == 1 else "softmax"
    return keras.layers.Dense(outputs, activation=activation, kernel_initializer=initializer, name="output")


def build_lstm(
    input_shape: tuple[int, ...],
    outputs: int,
    seed: int,
    *,
    vocabulary_size: int,
    embedding_dim: int = 128,
    units: int = 128,
    dropout: float = 0.2,
    recurrent_dropout: float = 0.2,
) -> keras.Model:
    """The C1 source's model: ``Embedding → LSTM(dropout, recurrent_dropout) → Dense(1, sigmoid)``."""
    lstm = keras.layers.LSTM(
        units,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        kernel_initializer=keras.initializers.GlorotUniform(seed=derive(seed, "init", "lstm", "kernel")),
        recurrent_initializer=keras.initializers.Orthogonal(seed=derive(seed, "init", "lstm", "recurrent")),
        seed=derive(seed, "dropout", "lstm"),
    )
    return keras.Sequential(
        [
            keras.Input(input_shape, dtype="int32"),
            _embedding(vocabulary_size, embedding_dim, seed, False),
            lstm,
            _output(outputs, seed),
        ]
    )


def build_pooled(
    input_shape: tuple[int, ...], outputs: int, seed: int, *, vocabulary_size: int, embedding_dim: int = 128
) -> keras.Model:
    """CPU-friendly: ``Embedding(mask_zero) → mean over tokens → Dense(1, sigmoid)``.

    The embedding table holds all but ``embedding_dim + 1`` of the parameters, so the
    lazy-update question is the same as in the LSTM model.
    """
    return keras.Sequential(
        [
            keras.Input(input_shape, dtype="int32"),
            _embedding(vocabulary_size, embedding_dim, seed, True),
            keras.layers.GlobalAveragePooling1D(),
            _output(outputs, seed),
        ]
    )

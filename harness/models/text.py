"""Sentiment models over integer token sequences, every initializer and dropout seeded by name."""

from __future__ import annotations

import keras

from harness.optimizers.wrapper import gather_rows
from harness.seeds import derive


@keras.saving.register_keras_serializable(package="harness")
class RowReadEmbedding(keras.layers.Embedding):
    """Keras's ``Embedding``, except that on TensorFlow it reads only the batch's rows of the table.

    Keras reads the whole table and then gathers. Once an optimizer has updated the table
    sparsely (LazyAdam, MaskedLazy, Lookahead's row sync, SGD on sparse gradients), TensorFlow
    copies the whole table on every dense read; gathering from the variable does not. The
    outputs and gradients are the same, value for value.
    """

    def call(self, inputs):
        if keras.backend.backend() != "tensorflow" or self.lora_enabled or self.quantization_mode:
            return super().call(inputs)
        if inputs.dtype not in ("int32", "int64"):
            inputs = keras.ops.cast(inputs, "int32")
        return keras.ops.cast(gather_rows(self._embeddings, inputs), self.compute_dtype)


def _embedding(num_words: int, dim: int, seed: int, mask_zero: bool) -> keras.layers.Embedding:
    initializer = keras.initializers.RandomUniform(-0.05, 0.05, seed=derive(seed, "init", "embedding"))
    return RowReadEmbedding(num_words, dim, embeddings_initializer=initializer, mask_zero=mask_zero, name="embedding")


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

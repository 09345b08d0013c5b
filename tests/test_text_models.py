"""The text models' embedding: Keras's values and gradients, without a dense read of the table on TensorFlow."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from harness.models.text import RowReadEmbedding, build_pooled
from harness.optimizers import LazyAdam, Lookahead, MaskedLazy

VOCAB, LENGTH = 50, 6
OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.5),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "lazy_adam": lambda: LazyAdam(0.01),
    "masked_lazy_adam": lambda: MaskedLazy(keras.optimizers.Adam(0.01)),
    "lookahead_sgd": lambda: Lookahead(keras.optimizers.SGD(0.5), k=2),
}


def _trained_weights(model: keras.Model, optimizer) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB // 2, size=(64, LENGTH)).astype("int32")  # half the rows never appear
    y = rng.integers(0, 2, size=(64, 1)).astype("float32")
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()]


def _with_keras_embedding(model: keras.Model) -> keras.Model:
    """The same model and initial weights with Keras's own ``Embedding``."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"].endswith("RowReadEmbedding"):
            layer.update(class_name="Embedding", module="keras.layers", registered_name=None)
    twin = keras.Sequential.from_config(config)
    twin.set_weights(model.get_weights())
    return twin


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_training_matches_keras_embedding_bitwise(name):
    model = build_pooled((LENGTH,), 1, seed=3, vocabulary_size=VOCAB, embedding_dim=4)
    twin, initial_table = _with_keras_embedding(model), model.get_weights()[0]
    assert type(twin.layers[0]) is keras.layers.Embedding
    ours, keras_own = _trained_weights(model, OPTIMIZERS[name]()), _trained_weights(twin, OPTIMIZERS[name]())
    for mine, theirs in zip(ours, keras_own, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    moved = np.any(ours[0] != initial_table, axis=1)
    assert moved[: VOCAB // 2].any() and not moved[VOCAB // 2 :].any()  # rows never in a batch stay


def test_tensorflow_reads_only_the_batch_rows():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the dense-read copy is TensorFlow's")
    import tensorflow as tf

    layer = RowReadEmbedding(VOCAB, 4)
    layer.build()
    graph = tf.function(layer).get_concrete_function(tf.TensorSpec((None, LENGTH), tf.int32)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert "ResourceGather" in kinds
    assert "ReadVariableOp" not in kinds, "the whole table is read"


def test_saved_model_round_trip(tmp_path):
    model = build_pooled((LENGTH,), 1, seed=1, vocabulary_size=VOCAB, embedding_dim=4)
    path = tmp_path / "pooled.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], RowReadEmbedding) and loaded.layers[0].mask_zero
    ids = np.arange(2 * LENGTH, dtype="int32").reshape(2, LENGTH)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(ids)), keras.ops.convert_to_numpy(model(ids)))

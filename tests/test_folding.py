"""Batch normalization folded into Dense layers gives the same predictions (W′ = γW/σ, b′ = γ(b − μ)/σ + β)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from harness.models.folding import fold_batch_norm, folding_error
from harness.models.mlp import build_mlp


def _trained(batch_norm: str, input_batch_norm: bool, dropout: float = 0.0) -> tuple[keras.Model, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(256, 6, 6)).astype("float32")  # far from BN's initial statistics
    y = (x.reshape(256, -1).sum(axis=1) > 108).astype("int32") + (x[:, 0, 0] > 3)
    model = build_mlp(
        (6, 6), 3, 0, hidden_units=[16, 8], batch_norm=batch_norm, input_batch_norm=input_batch_norm, dropout=dropout
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    return model, x


@pytest.mark.parametrize(
    ("batch_norm", "input_batch_norm", "dropout"),
    [("before", False, 0.0), ("after", False, 0.0), ("after", True, 0.2), ("before", True, 0.0)],
)
def test_folded_model_has_no_batch_norm_and_predicts_the_same(batch_norm, input_batch_norm, dropout):
    model, x = _trained(batch_norm, input_batch_norm, dropout)
    folded = fold_batch_norm(model)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    assert sum(isinstance(layer, keras.layers.Dense) for layer in folded.layers) == 3
    assert folding_error(model, x) < 1e-5
    moved = [w for w in model.weights if "moving_mean" in w.path]
    assert moved and any(np.abs(keras.ops.convert_to_numpy(w)).max() > 0.1 for w in moved)  # real statistics folded


def test_a_wrong_fold_is_caught_by_the_error():
    """The error is a real check: dropping the BN shift instead of folding it changes the predictions."""
    model, x = _trained("after", True)
    folded = fold_batch_norm(model)
    first = next(layer for layer in folded.layers if isinstance(layer, keras.layers.Dense))
    kernel, bias = first.get_weights()
    first.set_weights([kernel, bias * 0])
    assert np.abs(model.predict(x, verbose=0) - folded.predict(x, verbose=0)).max() > 1e-3


def test_a_batch_norm_with_nothing_to_fold_into_is_refused():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3),
            keras.layers.Activation("relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
        ]
    )
    with pytest.raises(ValueError, match="before an activation"):
        fold_batch_norm(model)

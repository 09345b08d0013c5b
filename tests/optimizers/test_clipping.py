"""Gradient clipping is a mechanical fact of the book chapter, checked through Keras's optimizers.

``clipvalue`` clips each component and can turn the gradient; ``clipnorm`` rescales it to
the given norm and keeps its direction: [0.9, 100] → [0.9, 1.0] and → [0.00899964, 0.9999595].
A plain SGD step with learning rate 1 from zero moves the weights by minus the clipped gradient.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from harness.optimizers import Lookahead

GRADIENT = [0.9, 100.0]


def _applied(optimizer: keras.optimizers.Optimizer) -> np.ndarray:
    weights = keras.Variable(np.zeros(2, "float32"))
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.array(GRADIENT, "float32")), weights)])
    return -keras.ops.convert_to_numpy(weights)


@pytest.mark.parametrize(
    ("clipping", "expected"),
    [
        ({"clipvalue": 1.0}, [0.9, 1.0]),
        ({"clipnorm": 1.0}, [0.00899964, 0.9999595]),
        ({"global_clipnorm": 1.0}, [0.00899964, 0.9999595]),
    ],
)
def test_the_books_clipped_gradients(clipping: dict, expected: list[float]) -> None:
    assert _applied(keras.optimizers.SGD(learning_rate=1.0, **clipping)) == pytest.approx(expected, abs=1e-7)


def test_clipvalue_turns_the_gradient_and_clipnorm_keeps_its_direction() -> None:
    by_value = _applied(keras.optimizers.SGD(1.0, clipvalue=1.0))
    by_norm = _applied(keras.optimizers.SGD(1.0, clipnorm=1.0))
    direction = np.array(GRADIENT) / np.linalg.norm(GRADIENT)
    assert by_norm / np.linalg.norm(by_norm) == pytest.approx(direction, abs=1e-6)
    assert np.degrees(np.arccos(by_value @ direction / np.linalg.norm(by_value))) > 40  # 45.6° off the gradient


def test_clipping_on_a_wrappers_inner_optimizer_clips_the_step() -> None:
    """A suite writes clipping into the inner optimizer's config (a wrapper refuses its own)."""
    wrapped = Lookahead(keras.optimizers.SGD(learning_rate=1.0, clipvalue=1.0), k=5)
    assert _applied(wrapped) == pytest.approx([0.9, 1.0], abs=1e-7)

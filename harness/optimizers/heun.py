"""Heun's method as an optimizer: two gradient evaluations per update, on any backend.

θ′ = θ − η·g(θ), then θ ← θ − (η/2)·(g(θ) + g(θ′)). The optimizer alternates a
predictor step (saves θ and g(θ), moves to θ′) and a corrector step (uses g(θ′)), so
``model.fit`` needs no custom ``train_step``: feed it :class:`TwiceEachBatch`, which
yields every batch twice, and both gradients come from the same batch. Its
``iterations`` count gradient evaluations; :attr:`Heun.updates` counts updates.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="harness")
class Heun(keras.optimizers.Optimizer):
    """Heun (improved Euler) steps with learning rate η; schedules advance once per update."""

    def __init__(self, learning_rate=0.01, name: str | None = None, **kwargs) -> None:
        if kwargs.get("gradient_accumulation_steps"):
            raise ValueError("Heun does not support gradient_accumulation_steps (it pairs consecutive gradients)")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._start = self.add_optimizer_variables(var_list, "start")
        self._first_gradient = self.add_optimizer_variables(var_list, "first_gradient")

    @property
    def updates(self):
        """Completed Heun updates (each used two gradient evaluations)."""
        return self._iterations // 2

    def _get_current_learning_rate(self):
        if isinstance(self._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            return self._learning_rate(self._iterations // 2)
        return super()._get_current_learning_rate()

    def update_step(self, gradient, variable, learning_rate) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        start, first = self._start[index], self._first_gradient[index]
        # Variables are read as tensors: JAX's ``where`` rejects Keras Variables (conversion
        # follows the stateless scope JAX trains in), and on TensorFlow ``variable`` is a tf.Variable.
        value, start_value, first_value = (ops.convert_to_tensor(v) for v in (variable, start, first))
        predicting = ops.equal(ops.convert_to_tensor(self._iterations) % 2, 0)
        moved = ops.where(predicting, value - lr * gradient, start_value - lr / 2 * (first_value + gradient))
        self.assign(start, ops.where(predicting, value, start_value))
        self.assign(first, ops.where(predicting, gradient, first_value))
        self.assign(variable, moved)


class TwiceEachBatch(keras.utils.PyDataset):
    """Yields each batch twice in a row (Heun's two gradients on the same batch).

    The batch order is a fresh permutation per epoch from ``seed``; pass ``shuffle=False``
    to ``fit`` so Keras keeps the pairs together.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0) -> None:
        super().__init__()
        self.x, self.y, self.batch_size, self.seed, self.epoch = x, y, batch_size, seed, 0
        self._order = np.random.default_rng([seed, 0]).permutation(len(y))

    def __len__(self) -> int:
        return 2 * math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self._order[(index // 2) * self.batch_size : (index // 2 + 1) * self.batch_size]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.y))

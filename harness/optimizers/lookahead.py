"""Lookahead (Zhang, Lucas, Hinton & Ba, 2019) around any Keras 3 optimizer.

Slow weights φ start as the model's weights. The inner optimizer takes k steps on the
fast weights θ; then φ ← φ + α(θ − φ) and θ ← φ. Clipping, weight decay, learning-rate
schedules and gradient accumulation belong to the inner optimizer (k counts its real
updates, so accumulated micro-batches do not count). Wrap in ``LossScaleOptimizer`` for
mixed precision. :class:`SlowWeightsEvaluation` evaluates with φ, as the paper does.
"""

from __future__ import annotations

import keras
from keras import ops

from harness.optimizers.wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="harness")
class Lookahead(OptimizerWrapper):
    """``Lookahead(inner, k=5, alpha=0.5)``: k steps forward with ``inner``, one step back."""

    def __init__(
        self, inner: keras.optimizers.Optimizer, k: int = 5, alpha: float = 0.5, name: str = "lookahead", **kwargs
    ) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got k={k!r}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got alpha={alpha!r}")
        super().__init__(inner, name=name, **kwargs)
        self.k, self.alpha = k, float(alpha)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self.slow_weights = [self.add_variable_from_reference(v, "slow") for v in var_list]

    def _inner_updates(self):
        """How many real updates the inner optimizer has made (accumulation-aware)."""
        steps = self.inner.gradient_accumulation_steps or 1
        return self.inner._iterations // steps, ops.equal(self.inner._iterations % steps, 0)

    def apply(self, grads, trainable_variables=None) -> None:
        self._build_once(trainable_variables)
        variables = self._trainable_variables
        # Branch-free (``where``, not ``cond``): JAX cannot assign variables inside a traced branch.
        first = ops.equal(self._iterations, 0)  # φ ← θ at the first step, whatever happened to θ since build
        for slow, fast in zip(self.slow_weights, variables, strict=True):
            slow.assign(ops.where(first, fast.value, slow.value))
        self.inner.apply(grads, trainable_variables)
        updates, just_updated = self._inner_updates()
        synchronise = ops.logical_and(just_updated, ops.equal(updates % self.k, 0))
        for slow, fast in zip(self.slow_weights, variables, strict=True):
            moved = slow.value + ops.cast(self.alpha, slow.dtype) * (fast.value - slow.value)
            slow.assign(ops.where(synchronise, moved, slow.value))
            fast.assign(ops.where(synchronise, moved, fast.value))
        self._iterations.assign_add(1)

    def swap_in_slow_weights(self) -> list:
        """Put φ into the model's variables; returns θ for :meth:`restore_fast_weights`."""
        fast = [ops.copy(ops.convert_to_tensor(v)) for v in self._trainable_variables]
        for variable, slow in zip(self._trainable_variables, self.slow_weights, strict=True):
            variable.assign(ops.copy(slow.value))  # a copy: JAX may donate (delete) a model variable's buffer
        return fast

    def restore_fast_weights(self, fast: list) -> None:
        for variable, value in zip(self._trainable_variables, fast, strict=True):
            variable.assign(value)

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k, "alpha": self.alpha}


class SlowWeightsEvaluation(keras.callbacks.Callback):
    """Evaluate (validation and ``model.evaluate``) with Lookahead's slow weights, then swap back."""

    def __init__(self) -> None:
        super().__init__()
        self._fast = None

    def _optimizer(self) -> Lookahead | None:
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under LossScaleOptimizer
        return optimizer if isinstance(optimizer, Lookahead) and optimizer.built else None

    def on_test_begin(self, logs=None) -> None:
        optimizer = self._optimizer()
        if optimizer is not None and int(optimizer.iterations) > 0:
            self._fast = optimizer.swap_in_slow_weights()

    def on_test_end(self, logs=None) -> None:
        if self._fast is not None:
            self._optimizer().restore_fast_weights(self._fast)
            self._fast = None

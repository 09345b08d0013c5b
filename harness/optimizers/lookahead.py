"""Lookahead (Zhang, Lucas, Hinton & Ba, 2019) around any Keras 3 optimizer.

Slow weights φ start as the model's weights. The inner optimizer takes k steps on the
fast weights θ; then φ ← φ + α(θ − φ) and θ ← φ. Clipping, weight decay, learning-rate
schedules and gradient accumulation belong to the inner optimizer (k counts its real
updates, so accumulated micro-batches do not count). Wrap in ``LossScaleOptimizer`` for
mixed precision. A variable's constraint applies after each synchronisation too, and the
inner's ``use_ema`` averages the weights after it.
:class:`SlowWeightsEvaluation` evaluates with φ, as the paper does.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from harness.optimizers.wrapper import (
    OptimizerWrapper,
    gather_rows,
    indexed_slices,
    positive_integer,
    row_indices,
    static_shape,
)


@keras.saving.register_keras_serializable(package="harness")
class Lookahead(OptimizerWrapper):
    """``Lookahead(inner, k=5, alpha=0.5)``: k steps forward with ``inner``, one step back."""

    def __init__(
        self, inner: keras.optimizers.Optimizer, k: int = 5, alpha: float = 0.5, name: str | None = None, **kwargs
    ) -> None:
        k = positive_integer("k", k)
        if not (isinstance(alpha, numbers.Real) and 0 < alpha <= 1):
            raise ValueError(f"alpha must be in (0, 1], got alpha={alpha!r}")
        super().__init__(inner, name=name, **kwargs)
        self.k, self.alpha = k, float(alpha)

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self.slow_weights = [self.add_variable_from_reference(v, "slow") for v in var_list]
        self._rows_touched = [  # tables whose sync may touch only the rows updated since the last one
            self.add_variable((v.shape[0],), initializer="zeros", dtype="float32", name="rows_touched")
            if self._syncs_rows(v)
            else None
            for v in var_list
        ]

    def _syncs_rows(self, variable) -> bool:
        """Whether rows a sparse gradient leaves out are sure not to move: then the sync skips them.

        True on TensorFlow (whose embedding gradients are sparse) for an unconstrained table under
        an inner optimizer that updates only the rows of a sparse gradient: SGD without momentum,
        or LazyAdam, with no weight decay and no EMA overwriting the weights.
        """
        from harness.optimizers.lazy import LazyAdam

        inner = self.inner
        sparse_inner = (isinstance(inner, keras.optimizers.SGD) and not inner.momentum) or isinstance(inner, LazyAdam)
        return (
            keras.backend.backend() == "tensorflow"
            and len(variable.shape) >= 2
            and getattr(variable, "constraint", None) is None
            and sparse_inner
            and not inner.weight_decay
            and not (inner.use_ema and inner.ema_overwrite_frequency)
        )

    def apply(self, grads, trainable_variables=None) -> None:
        self._build_once(trainable_variables)
        steps = self.inner.gradient_accumulation_steps or 1
        first = ops.equal(self.inner._iterations, 0)  # φ ← θ at the first step, whatever happened to θ since build
        self._when(first, self._start_slow_weights)
        self._mark_touched_rows(grads, trainable_variables)
        averaging = self.inner.use_ema
        object.__setattr__(self.inner, "use_ema", False)  # the inner's average waits for the synchronisation
        try:
            self.inner.apply(grads, trainable_variables)
        finally:
            object.__setattr__(self.inner, "use_ema", averaging)
        after = self.inner._iterations  # k counts real updates: accumulated micro-batches do not
        synchronise = ops.logical_and(ops.equal(after % steps, 0), ops.equal((after // steps) % self.k, 0))
        self._when(synchronise, self._synchronise)
        if averaging:
            self._average(ops.floor_divide(after - 1, steps))

    def _when(self, condition, assign) -> None:
        """``assign(condition)`` on the steps where ``condition`` holds, touching nothing otherwise.

        JAX cannot assign variables inside a traced branch, so there every step selects
        (``where``) between new and old values; elsewhere a real branch skips the dense pass.
        """
        if keras.backend.backend() == "jax":
            assign(condition)
        else:
            ops.cond(condition, lambda: assign(None), lambda: None)

    @staticmethod
    def _select(condition, new, old):
        return new if condition is None else ops.where(condition, new, old)

    def _start_slow_weights(self, condition) -> None:
        for slow, fast in zip(self.slow_weights, self._trainable_variables, strict=True):
            # a copy: PyTorch's optimizers update the fast weights' tensor in place
            slow.assign(self._select(condition, ops.copy(ops.convert_to_tensor(fast)), slow.value))

    def _average(self, step) -> None:
        """The inner's ``use_ema`` average, taken as Keras does but of the weights after the synchronisation.

        ``step`` is the inner's ``iterations`` during the step just taken (Keras averages before counting it).
        """
        inner = self.inner
        variables, averages = self._trainable_variables, inner._model_variables_moving_average
        for variable, average in zip(variables, averages, strict=True):
            momentum = ops.cast(ops.not_equal(step, 0), average.dtype) * inner.ema_momentum
            average.assign(momentum * average.value + (1 - momentum) * ops.convert_to_tensor(variable))
        if inner.ema_overwrite_frequency:

            def overwrite(condition) -> None:
                for variable, average in zip(variables, averages, strict=True):
                    self.assign(variable, self._select(condition, average.value, ops.convert_to_tensor(variable)))

            self._when(ops.equal((step + 1) % inner.ema_overwrite_frequency, 0), overwrite)

    def _mark_touched_rows(self, grads, trainable_variables) -> None:
        """Record which rows of the row-synced tables this step's gradients reach (all, for a dense one)."""
        if not any(t is not None for t in self._rows_touched):
            return
        import tensorflow as tf

        variables = list(trainable_variables) if trainable_variables is not None else self._trainable_variables
        for grad, variable in zip(grads, variables, strict=True):
            touched = self._rows_touched[self._get_variable_index(variable)]
            if touched is None or grad is None:
                continue
            if indexed_slices(grad):  # TensorFlow's scatter takes a scalar 1: no tensor of ones to build
                touched.value.scatter_update(tf.IndexedSlices(tf.ones((), "float32"), grad.indices))
            else:
                touched.assign(ops.ones(touched.shape, "float32"))

    def _synchronise_rows(self, slow, fast, touched) -> None:
        """The sync on the rows updated since the last one (the others are equal in φ and θ already)."""
        import tensorflow as tf

        rows = row_indices(touched.value)
        slow_rows, fast_rows = gather_rows(slow, rows), gather_rows(fast, rows)
        moved = slow_rows + ops.cast(self.alpha, slow.dtype) * (fast_rows - slow_rows)
        shape = static_shape(slow, rows.dtype)
        self.assign(slow, tf.IndexedSlices(moved, rows, shape))
        self.assign(fast, tf.IndexedSlices(moved, rows, shape))
        touched.assign(ops.zeros(touched.shape, "float32"))

    def _synchronise(self, condition) -> None:
        """φ ← φ + α(θ − φ), θ ← φ; the variable's constraint applies to the result, as after any update."""
        for slow, fast, touched in zip(self.slow_weights, self._trainable_variables, self._rows_touched, strict=True):
            if touched is not None and condition is None:  # a real branch: this step synchronises
                self._synchronise_rows(slow, fast, touched)
                continue
            current = ops.convert_to_tensor(fast)
            moved = slow.value + ops.cast(self.alpha, slow.dtype) * (current - slow.value)
            constraint = getattr(fast, "constraint", None)
            if constraint is not None:
                moved = constraint(moved)
            slow.assign(self._select(condition, ops.copy(moved), slow.value))  # its own tensor, as above
            self.assign(fast, self._select(condition, moved, current))

    def swap_in_slow_weights(self) -> list:
        """Put φ into the model's variables; returns θ for :meth:`restore_fast_weights`."""
        fast = [ops.copy(ops.convert_to_tensor(v)) for v in self._trainable_variables]
        for variable, slow in zip(self._trainable_variables, self.slow_weights, strict=True):
            self.assign(variable, ops.copy(slow.value))  # a copy: JAX may donate (delete) a model variable's buffer
        return fast

    def restore_fast_weights(self, fast: list) -> None:
        for variable, value in zip(self._trainable_variables, fast, strict=True):
            self.assign(variable, value)

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

"""Lazy Adam variants for embedding tables (claim C1).

``LazyAdam`` is the standard sparse-lazy Adam (as in the former TensorFlow Addons): rows
absent from the batch keep their weights *and* their moments. ``MaskedLazy`` is the C1
source's variant: it wraps any optimizer, freezes the rows whose gradient row is all
zero for that step (learning rate 0), but lets the optimizer update every row's state.
"""

from __future__ import annotations

import contextlib

import keras
from keras import ops

from harness.optimizers.wrapper import (
    OptimizerWrapper,
    gather_rows,
    indexed_slices,
    is_lazy,
    present_rows,
    row_indices,
    static_shape,
    variable_names,
)


@keras.saving.register_keras_serializable(package="harness")
class LazyAdam(keras.optimizers.Adam):
    """Adam whose updates of embedding rows absent from the batch are skipped entirely.

    On TensorFlow, ``IndexedSlices`` gradients (from embedding lookups) take a sparse
    path: repeated indices are summed, then only the present rows of the weights and of
    both moments are read and written. On other backends the gradient is dense: for the
    variables named in ``lazy_variables`` a row counts as absent when its gradient row is
    all zero. Dense variables get exactly Adam's update. Bias correction uses the global
    step, as TensorFlow Addons did; decoupled weight decay, if set, applies to all rows.
    """

    def __init__(self, *args, lazy_variables: tuple[str, ...] | list[str] | str = ("embeddings",), **kwargs) -> None:
        if kwargs.get("amsgrad"):
            raise ValueError("LazyAdam does not support amsgrad=True")
        super().__init__(*args, **kwargs)
        self.lazy_variables = variable_names(lazy_variables, "LazyAdam")

    def update_step(self, gradient, variable, learning_rate) -> None:
        if indexed_slices(gradient):
            return self._sparse_update(gradient, variable, learning_rate)
        if is_lazy(self._trainable_variables[self._get_variable_index(variable)], self.lazy_variables):
            return self._row_masked_update(gradient, variable, learning_rate)
        return super().update_step(gradient, variable, learning_rate)

    def _step_size(self, learning_rate, dtype):
        step = ops.cast(ops.convert_to_tensor(self.iterations) + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        return ops.cast(learning_rate, dtype) * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    def _sparse_update(self, gradient, variable, learning_rate) -> None:
        import tensorflow as tf

        rows, positions = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(ops.cast(gradient.values, variable.dtype), positions, tf.shape(rows)[0])
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_rows = gather_rows(m, rows) * self.beta_1 + values * (1 - self.beta_1)
        v_rows = gather_rows(v, rows) * self.beta_2 + ops.square(values) * (1 - self.beta_2)
        shape = static_shape(variable, rows.dtype)
        self.assign(m, tf.IndexedSlices(m_rows, rows, shape))
        self.assign(v, tf.IndexedSlices(v_rows, rows, shape))
        step = self._step_size(learning_rate, variable.dtype) * m_rows / (ops.sqrt(v_rows) + self.epsilon)
        self.assign_sub(variable, tf.IndexedSlices(step, rows, shape))

    def _row_masked_update(self, gradient, variable, learning_rate) -> None:
        gradient = ops.cast(gradient, variable.dtype)
        present = present_rows(gradient, variable.dtype, variable.shape[0])
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # The moments are read once as tensors (JAX ops reject Keras Variables; conversion follows
        # the stateless scope JAX trains in) and their new values assigned: ``m + delta`` is
        # exactly what ``assign_add`` stored before, so TensorFlow's numbers are unchanged.
        m_old, v_old = ops.convert_to_tensor(m), ops.convert_to_tensor(v)
        m_new = m_old + present * (1 - self.beta_1) * (gradient - m_old)
        v_new = v_old + present * (1 - self.beta_2) * (ops.square(gradient) - v_old)
        self.assign(m, m_new)
        self.assign(v, v_new)
        step = self._step_size(learning_rate, variable.dtype) * m_new / (ops.sqrt(v_new) + self.epsilon)
        self.assign_sub(variable, present * step)

    def get_config(self) -> dict:
        return {**super().get_config(), "lazy_variables": list(self.lazy_variables)}


@keras.saving.register_keras_serializable(package="harness")
class MaskedLazy(OptimizerWrapper):
    """Rows of the chosen tables whose gradient row is all zero do not move this step.

    The inner optimizer's state (e.g. Adam's moments) is updated for every row as usual;
    only the weight change of the all-zero-gradient rows is dropped (their learning rate
    is 0 for the step): the inner's writes to those tables are masked as they happen (on
    TensorFlow, scattered to the present rows only), so no copy of a table is made. Other
    variables get the inner optimizer's update unchanged.
    """

    def __init__(
        self,
        inner: keras.optimizers.Optimizer,
        lazy_variables: tuple[str, ...] | list[str] | str = ("embeddings",),
        name: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(inner, name=name, **kwargs)
        self.lazy_variables = variable_names(lazy_variables, "MaskedLazy")

    def apply(self, grads, trainable_variables=None) -> None:
        self._build_once(trainable_variables)
        variables = list(trainable_variables) if trainable_variables is not None else self._trainable_variables
        masks = {
            self.inner._var_key(variable): (variable, present_rows(grad, variable.dtype, variable.shape[0]))
            for grad, variable in zip(grads, variables, strict=True)
            if grad is not None and is_lazy(variable, self.lazy_variables)
        }
        if hasattr(self.inner, "_parallel_update_step"):  # PyTorch's fused optimizers write tables in place
            self._apply_then_restore(masks, grads, trainable_variables)
        else:
            with _masked_writes(self.inner, masks):
                self.inner.apply(grads, trainable_variables)

    def _apply_then_restore(self, masks: dict, grads, trainable_variables) -> None:
        """Copy each table, let the inner write it, put the absent rows back."""
        before = {key: ops.copy(ops.convert_to_tensor(variable)) for key, (variable, _) in masks.items()}
        self.inner.apply(grads, trainable_variables)
        for key, (variable, present) in masks.items():
            variable.assign(ops.where(ops.cast(present, "bool"), ops.convert_to_tensor(variable), before[key]))

    def get_config(self) -> dict:
        return {**super().get_config(), "lazy_variables": list(self.lazy_variables)}


def _masked_value(value, variable, present, additive: bool):
    """What a write may change of ``variable``: only its present rows (``present`` is 1/0 per row)."""
    if indexed_slices(value):
        import tensorflow as tf

        keep = ops.take(present, value.indices, axis=0)
        rows = (
            value.values * keep if additive else ops.where(keep > 0, value.values, gather_rows(variable, value.indices))
        )
        return tf.IndexedSlices(rows, value.indices, value.dense_shape)
    if keras.backend.backend() == "tensorflow":  # write the present rows only: a scatter, no dense pass
        import tensorflow as tf

        rows = row_indices(tf.reshape(present, [-1]))
        return tf.IndexedSlices(tf.gather(value, rows), rows, tf.shape(value, out_type=rows.dtype))
    if additive:
        return present * value
    return ops.where(ops.cast(present, "bool"), value, ops.convert_to_tensor(variable))


@contextlib.contextmanager
def _masked_writes(optimizer: keras.optimizers.Optimizer, masks: dict):
    """Inside, ``optimizer``'s ``assign``, ``assign_add`` and ``assign_sub`` change only present rows of ``masks``."""
    originals = {name: getattr(optimizer, name) for name in ("assign", "assign_add", "assign_sub")}

    def masked(name: str):
        def write(variable, value):
            entry = masks.get(optimizer._var_key(variable))  # TensorFlow passes the underlying tf.Variable
            if entry is not None:
                value = _masked_value(value, variable, entry[1], additive=name != "assign")
            return originals[name](variable, value)

        return write

    for name in originals:
        object.__setattr__(optimizer, name, masked(name))
    try:
        yield
    finally:
        for name in originals:
            object.__delattr__(optimizer, name)

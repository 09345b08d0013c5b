"""Plumbing shared by optimizers that wrap another one (Lookahead, MaskedLazy, CycledMomentum).

The contract follows Keras's own wrapper, ``LossScaleOptimizer``: the inner optimizer owns the
learning rate, clipping, decay, loss scaling and gradient accumulation, and its iteration count
is the wrapper's; ``variables`` and ``set_weights`` cover the wrapper's and the inner's state.
"""

from __future__ import annotations

import numbers

import keras

BASE_ARGUMENTS = (
    "learning_rate",
    "weight_decay",
    "clipnorm",
    "global_clipnorm",
    "clipvalue",
    "use_ema",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Holds ``inner``; its learning rate, clipping, decay, loss scale and accumulation stay the inner's."""

    def __init__(self, inner: keras.optimizers.Optimizer, name: str | None = None, **kwargs) -> None:
        kind = type(self).__name__
        if not isinstance(inner, keras.optimizers.Optimizer):
            raise TypeError(f"inner must be a keras.optimizers.Optimizer, got {type(inner).__name__}: {inner!r}")
        if isinstance(inner, keras.optimizers.LossScaleOptimizer):
            raise ValueError(
                f"{kind}(LossScaleOptimizer(...)) is the wrong nesting: loss scaling must see the final "
                f"gradients, so write LossScaleOptimizer({kind}(inner))"
            )
        for argument in BASE_ARGUMENTS:
            if kwargs.get(argument) not in (None, False):
                raise ValueError(f"{kind} does not take {argument}={kwargs[argument]!r}: set it on the inner optimizer")
            kwargs.pop(argument, None)
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.inner = inner

    def build(self, var_list) -> None:
        if self.built:
            return
        self.inner.build(var_list)
        super().build(var_list)

    def _build_once(self, trainable_variables) -> None:
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
            self.built = True

    @property
    def variables(self) -> list:
        return self._variables + self.inner.variables

    @property
    def iterations(self):
        """The inner optimizer's real updates (micro-batches of gradient accumulation do not count)."""
        return self.inner.iterations

    def apply_gradients(self, grads_and_vars):
        grads, trainable_variables = zip(*grads_and_vars, strict=True)
        self.apply(grads, trainable_variables)
        return self.iterations

    def scale_loss(self, loss):
        """The inner's ``loss_scale_factor`` scales the loss, as the inner unscales the gradients."""
        return self.inner.scale_loss(loss)

    def set_weights(self, weights) -> None:
        """Every state variable, the wrapper's and then the inner's (the order of ``variables``)."""
        if not self.built:
            raise ValueError(f"{type(self).__name__}.set_weights needs a built optimizer: call build(variables) first")
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(
                f"{type(self).__name__}.set_weights got {len(weights)} arrays for {len(variables)} variables "
                "(its own, then its inner optimizer's: see .variables)"
            )
        for variable, weight in zip(variables, weights, strict=True):
            if tuple(variable.shape) != tuple(keras.ops.shape(weight)):
                raise ValueError(f"{variable.path} has shape {variable.shape}, the array {keras.ops.shape(weight)}")
            variable.assign(weight)

    @property
    def learning_rate(self):
        return self.inner.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if hasattr(self, "inner"):
            self.inner.learning_rate = value

    def finalize_variable_values(self, var_list) -> None:
        self.inner.finalize_variable_values(var_list)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in (*BASE_ARGUMENTS, "ema_momentum", "ema_overwrite_frequency"):
            config.pop(key, None)
        return {**config, "inner": keras.saving.serialize_keras_object(self.inner)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["inner"] = keras.saving.deserialize_keras_object(config["inner"], custom_objects=custom_objects)
        return cls(**config)


def positive_integer(name: str, value) -> int:
    """``value`` as an int if it is a whole number >= 1 (NumPy integers included), else one clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {name}={value!r}")
    return int(value)


def variable_names(names, owner: str) -> tuple[str, ...]:
    """``lazy_variables`` as a non-empty tuple of names: one string is one name."""
    names = (names,) if isinstance(names, str) else tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(
            f"{owner}: lazy_variables must name at least one variable (e.g. 'embeddings'), got {names!r}; "
            "with none the optimizer would do nothing lazily"
        )
    return names


def leaf_name(variable) -> str:
    """A variable's last name part: ``embeddings`` for ``embedding/embeddings`` (Keras) or ``…/embeddings:0`` (tf)."""
    full = getattr(variable, "path", None) or variable.name
    return full.split(":")[0].rsplit("/", 1)[-1]


def is_lazy(variable, names: tuple[str, ...]) -> bool:
    """Whether ``variable`` is one of the row-indexed tables chosen by name (e.g. ``embeddings``)."""
    return leaf_name(variable) in names and len(variable.shape) >= 2


def indexed_slices(gradient) -> bool:
    """Whether ``gradient`` is TensorFlow's sparse ``IndexedSlices`` (from an embedding lookup)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(gradient, tf.IndexedSlices)


def present_rows(gradient, dtype, rows: int):
    """1 for the ``rows`` rows whose gradient is not entirely zero, else 0, shaped to broadcast over a row.

    A sparse gradient is read without densifying it (indices may repeat, or be a Python tuple).
    """
    from keras import ops

    if indexed_slices(gradient):
        present = _present_rows_of_slices(gradient, rows)
        axes = tuple(range(1, len(gradient.values.shape)))
    else:
        dense = ops.convert_to_tensor(gradient)
        axes = tuple(range(1, len(dense.shape)))
        present = ops.any(ops.not_equal(dense, 0), axis=axes)
    return ops.reshape(ops.cast(present, dtype), (-1,) + (1,) * len(axes))


def _present_rows_of_slices(gradient, rows: int):
    """Whether each row's summed slices (the dense gradient's row) are nonzero: exact, and cheap.

    Summing every slice per row costs as much as densifying the gradient, so the rows are sorted
    out by their first column's sum first: nonzero there means nonzero. Only rows with a nonzero
    slice whose first column sums to exactly zero (none, as a rule) have all their columns summed.
    """
    import tensorflow as tf

    indices = tf.convert_to_tensor(gradient.indices)
    values = tf.reshape(gradient.values, [tf.shape(indices)[0], -1])
    some_slice = tf.math.unsorted_segment_max(
        tf.cast(tf.reduce_any(tf.not_equal(values, 0), axis=1), tf.int32), indices, rows
    )
    first_column = tf.math.unsorted_segment_sum(values[:, 0], indices, rows)
    unsure = tf.logical_and(some_slice > 0, tf.equal(first_column, 0))
    slices = tf.reshape(tf.where(tf.gather(unsure, indices)), [-1])
    unsure_rows, positions = tf.unique(tf.gather(indices, slices))
    sums = tf.math.unsorted_segment_sum(tf.gather(values, slices), positions, tf.shape(unsure_rows)[0])
    nonzero = tf.cast(tf.reduce_any(tf.not_equal(sums, 0), axis=1), tf.int32)
    nonzero = tf.scatter_nd(tf.expand_dims(unsure_rows, 1), nonzero, tf.cast([rows], unsure_rows.dtype))
    return tf.logical_or(tf.not_equal(first_column, 0), nonzero > 0)


def row_indices(present):
    """The positions where the 1-D ``present`` (TensorFlow) is positive, as int32 when the table allows it.

    ``tf.where`` gives int64, and TensorFlow's CPU gather and scatter kernels take about twice as long
    with int64 indices as with int32 (measured on an IMDB embedding table).
    """
    import tensorflow as tf

    rows = tf.reshape(tf.where(present > 0), [-1])
    return tf.cast(rows, tf.int32) if present.shape[0] is not None and present.shape[0] < 2**31 else rows


def gather_rows(variable, rows):
    """``rows`` of a TensorFlow variable (Keras's or a raw ``tf.Variable``), read without a dense read.

    Once a variable has had sparse updates, TensorFlow copies the whole table on every dense read
    (its copy-on-read mode), so ``tf.gather(ops.convert_to_tensor(table), rows)`` copies the table
    to read a few rows; gathering from the variable itself reads only those rows.
    """
    import tensorflow as tf

    return tf.gather(variable if isinstance(variable, tf.Variable) else variable.value, rows)


def static_shape(variable, dtype):
    """A variable's shape as a constant: ``tf.shape`` of a variable would read (and copy) it."""
    import tensorflow as tf

    return tf.constant(tuple(variable.shape), dtype)

"""Plumbing shared by optimizers that wrap another one (Lookahead, MaskedLazy)."""

from __future__ import annotations

import keras

BASE_ARGUMENTS = (
    "weight_decay",
    "clipnorm",
    "global_clipnorm",
    "clipvalue",
    "use_ema",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Holds ``inner``; its learning rate, clipping, decay and accumulation stay the inner's."""

    def __init__(self, inner: keras.optimizers.Optimizer, name: str, **kwargs) -> None:
        if not isinstance(inner, keras.optimizers.Optimizer):
            raise TypeError(f"inner must be a keras.optimizers.Optimizer, got {type(inner).__name__}: {inner!r}")
        for argument in BASE_ARGUMENTS:
            if kwargs.get(argument) not in (None, False):
                name, value = type(self).__name__, kwargs[argument]
                raise ValueError(f"{name} does not take {argument}={value!r}: set it on the inner optimizer")
            kwargs.pop(argument, None)
        kwargs.pop("learning_rate", None)
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
        for key in ("learning_rate", *BASE_ARGUMENTS, "ema_momentum", "ema_overwrite_frequency"):
            config.pop(key, None)
        return {**config, "inner": keras.saving.serialize_keras_object(self.inner)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["inner"] = keras.saving.deserialize_keras_object(config["inner"], custom_objects=custom_objects)
        return cls(**config)


def is_lazy(variable, names: tuple[str, ...]) -> bool:
    """Whether a Keras ``variable`` is one of the row-indexed tables chosen by name (e.g. ``embeddings``)."""
    return variable.path.rsplit("/", 1)[-1] in names and len(variable.shape) >= 2


def present_rows(gradient, dtype):
    """1 for rows whose gradient is not entirely zero, else 0, shaped to broadcast over a row."""
    from keras import ops

    dense = ops.convert_to_tensor(gradient)
    axes = tuple(range(1, len(dense.shape)))
    present = ops.cast(ops.any(ops.not_equal(dense, 0), axis=axes), dtype)
    return ops.reshape(present, (-1,) + (1,) * len(axes))

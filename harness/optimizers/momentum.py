"""Cycle an optimizer's momentum (or Adam's β₁) by a schedule, e.g. :meth:`OneCycle.momentum`."""

from __future__ import annotations

import keras

from harness.optimizers.wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="harness")
class CycledMomentum(OptimizerWrapper):
    """Sets the inner optimizer's ``beta_1`` (Adam family) or ``momentum`` before every step.

    ``schedule`` is any object with a ``momentum(step)`` method (:class:`OneCycle`); the
    step is the inner optimizer's iteration count.
    """

    def __init__(self, inner: keras.optimizers.Optimizer, schedule, name: str = "cycled_momentum", **kwargs) -> None:
        super().__init__(inner, name=name, **kwargs)
        self.attribute = next((a for a in ("beta_1", "momentum") if hasattr(inner, a)), None)
        if self.attribute is None:
            raise ValueError(f"{type(inner).__name__} has neither beta_1 nor momentum to cycle")
        if self.attribute == "momentum" and not inner.momentum:
            raise ValueError(f"{type(inner).__name__} must be created with momentum > 0 to cycle it")
        if not callable(getattr(schedule, "momentum", None)):
            raise TypeError(f"schedule must have a momentum(step) method, got {type(schedule).__name__}")
        self.schedule = schedule
        self._fixed_value = float(getattr(inner, self.attribute))

    def build(self, var_list) -> None:
        if self.built:
            return
        super().build(var_list)
        self.current = self.add_variable((), initializer="zeros", dtype="float32", name="momentum")
        object.__setattr__(self.inner, self.attribute, self.current)  # read by the inner update step

    def apply(self, grads, trainable_variables=None) -> None:
        self._build_once(trainable_variables)
        self.current.assign(self.schedule.momentum(self.inner._iterations))
        self.inner.apply(grads, trainable_variables)
        self._iterations.assign_add(1)

    def get_config(self) -> dict:
        cycled = getattr(self.inner, self.attribute)
        object.__setattr__(self.inner, self.attribute, self._fixed_value)  # the inner's own config holds a float
        try:
            config = super().get_config()
        finally:
            object.__setattr__(self.inner, self.attribute, cycled)
        return {**config, "schedule": keras.saving.serialize_keras_object(self.schedule)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects)

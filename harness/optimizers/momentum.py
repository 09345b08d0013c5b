"""Cycle an optimizer's momentum (or Adam's β₁) by a schedule, e.g. :meth:`OneCycle.momentum`."""

from __future__ import annotations

import functools
import numbers

import keras

from harness.optimizers.wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="harness")
class CycledMomentum(OptimizerWrapper):
    """Sets the inner optimizer's ``beta_1`` (Adam family) or ``momentum`` before every step.

    ``schedule`` is any object with a ``momentum(step)`` method (:class:`OneCycle`); the
    step is the inner optimizer's iteration count.
    """

    def __init__(self, inner: keras.optimizers.Optimizer, schedule, name: str | None = None, **kwargs) -> None:
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
        _compare_as(self.current, self._fixed_value)
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


COMPARISONS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__")


@functools.cache
def _comparing_class(base: type) -> type:
    """``base`` whose comparisons with a plain number answer as its configured value does.

    Keras's SGD and RMSprop decide in Python whether momentum is on (``momentum != 0``,
    ``momentum > 0``); with a variable in its place that test would be a tensor, which a
    compiled graph cannot branch on. The variable's value still drives the arithmetic.
    """

    def comparison(name: str):
        fallback = getattr(base, name)

        def compare(self, other):
            if isinstance(other, numbers.Real) and not isinstance(other, bool):
                return getattr(self._configured, name)(other)
            return fallback(self, other)

        return compare

    methods = {name: comparison(name) for name in COMPARISONS}
    return type(f"Cycled{base.__name__}", (base,), {**methods, "__hash__": base.__hash__})


def _compare_as(variable, configured: float) -> None:
    """Make ``variable`` compare with numbers as ``configured`` does (see :func:`_comparing_class`)."""
    variable.__class__ = _comparing_class(type(variable))
    variable._configured = configured

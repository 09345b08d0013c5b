"""Keras serialization configs in suite files, checked without importing Keras.

An optimizer is written as Keras serializes it, ``{class_name: Nadam, config: {learning_rate:
0.001}}``; its ``learning_rate`` may be a schedule config, and wrappers nest an optimizer
config (``Lookahead``'s ``inner``, ``LossScaleOptimizer``'s ``inner_optimizer``). The class
names and the keys each class accepts come from ``keras_catalog.json``, written from the
installed Keras and :mod:`harness.optimizers` by ``python -m harness.keras_config`` (a test
checks it is current), so ``harness validate`` stays instant.

Values may be placeholders, ``"${expression}"``: arithmetic (``+ - * / // % **``, parentheses)
over numbers, the run-time values in :data:`RUNTIME` and the suite's ``vars``, resolved by the
workload when it builds the optimizer, e.g. ``decay_steps: "${total_steps}"``.
"""

from __future__ import annotations

import ast
import functools
import json
import operator
import re
from pathlib import Path
from typing import Any

from harness.registry import did_you_mean

CATALOG_PATH = Path(__file__).with_name("keras_catalog.json")
RUNTIME = {
    "steps_per_epoch": "optimizer updates per epoch",
    "epochs": "epochs of training",
    "total_steps": "steps_per_epoch × epochs",
    "batch_size": "examples per batch",
    "train_examples": "training examples",
}
RANGE_RUNTIME = {  # with training.range_test: what the run's own range test suggested
    "range_low": "the lower of the range test's two suggestions",
    "range_high": "the higher of the range test's two suggestions",
    "range_steepest": "the learning rate where the range test's loss fell fastest",
    "range_min_over_10": "the range test's lowest-loss learning rate ÷ 10",
    "range_min": "the range test's lowest-loss learning rate (Smith's upper bound: where the loss stops falling)",
}
NESTED = {"learning_rate": "schedule", "inner": "optimizer", "inner_optimizer": "optimizer", "schedule": "schedule"}
HARNESS_OPTIMIZERS = ("CycledMomentum", "Heun", "LazyAdam", "Lookahead", "MaskedLazy")
HARNESS_SCHEDULES = ("CyclicalLearningRate", "OneCycle")
_NOT_CONFIGURABLE = {"Optimizer", "OptimizerMap", "MultiOptimizer", "LearningRateSchedule"}
_PLACEHOLDER = re.compile(r"^\$\{(.+)\}$")
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


class ConfigError(ValueError):
    """A placeholder that cannot be parsed or resolved."""


@functools.cache
def catalog() -> dict[str, dict[str, dict]]:
    """``{"optimizer": {class: {"keys": [...], "required": [...]}}, "schedule": {...}, "keras": version}``."""
    return json.loads(CATALOG_PATH.read_text(encoding="utf-8"))


# placeholders ----------------------------------------------------------------------------
def _expression(text: str) -> ast.expr:
    match = _PLACEHOLDER.match(text.strip())
    if not match:
        raise ConfigError(f"'{text}' is not a placeholder: write the whole value as \"${{expression}}\"")
    try:
        tree = ast.parse(match.group(1), mode="eval").body
    except SyntaxError:
        raise ConfigError(f"'{text}': not an arithmetic expression") from None
    for node in ast.walk(tree):
        allowed = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load, *_OPERATORS)
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant) and not _number(node.value)):
            raise ConfigError(f"'{text}': only numbers, names and + - * / // % ** are allowed")
    return tree


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def names_in(text: str) -> set[str]:
    """The names a placeholder uses (raises :class:`ConfigError` if it is malformed)."""
    return {node.id for node in ast.walk(_expression(text)) if isinstance(node, ast.Name)}


def evaluate(text: str, values: dict[str, float]) -> float | int:
    """The value of a placeholder given ``values`` for its names."""

    def value_of(node: ast.expr):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ConfigError(f"'{text}': unknown name '{node.id}'{did_you_mean(node.id, values)}")
            return values[node.id]
        if isinstance(node, ast.UnaryOp):
            return _OPERATORS[type(node.op)](value_of(node.operand))
        return _OPERATORS[type(node.op)](value_of(node.left), value_of(node.right))

    return value_of(_expression(text))


def runtime_values(
    examples: int, batch_size: int, epochs: int, variables: dict[str, Any], total_updates: int | None = None
) -> dict[str, Any]:
    """What placeholders may use in a run: :data:`RUNTIME` for its training data, and the suite's vars.
    ``total_updates``: the run's updates when a gradient-evaluation budget, not ``epochs``, ends it."""
    steps = -(-examples // batch_size)
    known = {"steps_per_epoch": steps, "epochs": epochs, "total_steps": total_updates or steps * epochs}
    return known | {"batch_size": batch_size, "train_examples": examples, **variables}


def substitute(value: Any, values: dict[str, float]) -> Any:
    """``value`` with every placeholder inside it (dicts, lists) replaced by its number."""
    if isinstance(value, dict):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    return evaluate(value, values) if is_placeholder(value) else value


# checks -----------------------------------------------------------------------------------
def problems(config: Any, kind: str, where: str, names: set[str]) -> list[str]:
    """Every mistake in a serialized ``kind`` ("optimizer" or "schedule") config, as ``where: message``.

    ``names``: what placeholders may use (the run-time values and the suite's vars).
    """
    known = catalog()[kind]
    if not isinstance(config, dict) or set(config) - {"class_name", "config", "module", "registered_name"}:
        example = "{class_name: Adam, config: {learning_rate: 0.001}}"
        return [f"{where}: write the {kind} as Keras serializes it, e.g. {example}; got {config!r}"]
    name = config.get("class_name")
    if name not in known:
        folded = {k.lower(): k for k in known}
        close = folded.get(str(name).lower())
        hint = f" (did you mean '{close}'?)" if close else did_you_mean(str(name), known)
        return [f"{where}.class_name: unknown {kind} '{name}'{hint}; known: {', '.join(sorted(known))}"]
    arguments = config.get("config") or {}
    if not isinstance(arguments, dict):
        return [f"{where}.config: must be a mapping of {name}'s arguments, got {arguments!r}"]
    spec, found = known[name], []
    for key, value in arguments.items():
        path = f"{where}.config.{key}"
        if key not in spec["keys"]:
            found.append(
                f"{path}: {name} does not accept '{key}'{did_you_mean(key, spec['keys'])}; "
                f"it accepts: {', '.join(spec['keys'])}"
            )
        elif isinstance(value, dict) and key in NESTED:
            found += problems(value, NESTED[key], path, names)
        else:
            found += _placeholder_problems(value, path, names)
    found += [f"{where}.config: {name} needs '{key}'" for key in spec["required"] if key not in arguments]
    return found


def _placeholder_problems(value: Any, where: str, names: set[str]) -> list[str]:
    if isinstance(value, list | dict):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        return [p for key, item in items for p in _placeholder_problems(item, f"{where}.{key}", names)]
    if not is_placeholder(value):
        return []
    try:
        unknown = sorted(names_in(value) - names)
    except ConfigError as error:
        return [f"{where}: {error}"]
    return [
        f"{where}: unresolved placeholder '{name}' in '{value}'{did_you_mean(name, names)}; "
        f"known: {', '.join(sorted(names))} (add it to vars to define it)"
        for name in unknown
    ]


def classes_in(config: Any) -> list[str]:
    """Every class_name in a (nested) config, outermost first."""
    if not isinstance(config, dict):
        return []
    own = [config["class_name"]] if "class_name" in config else []
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    return own + [name for key in NESTED if key in inner for name in classes_in(inner[key])]


# the catalog, written from the installed Keras ------------------------------------------------
def _arguments(cls: type) -> tuple[list[str], list[str]]:
    import inspect

    import keras

    keys, required = [], []
    for klass in cls.__mro__:
        if klass is object or "__init__" not in vars(klass):
            continue
        signature = inspect.signature(klass.__init__)
        for parameter in list(signature.parameters.values())[1:]:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or parameter.name in keys:
                continue
            keys.append(parameter.name)
            if parameter.default is parameter.empty and klass is cls:
                required.append(parameter.name)
        if not any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
            break  # this class passes nothing on to its parents
        if klass.__name__ == "OptimizerWrapper":  # the base arguments belong to the inner optimizer
            break
        if klass in (keras.optimizers.Optimizer, keras.optimizers.schedules.LearningRateSchedule):
            break
    return keys, required


def build_catalog() -> dict:
    """The catalog from the installed Keras and :mod:`harness.optimizers` (imports Keras)."""
    import keras

    from harness import optimizers

    found: dict[str, Any] = {"keras": keras.__version__, "optimizer": {}, "schedule": {}}
    sources = {
        "optimizer": [(n, getattr(keras.optimizers, n)) for n in dir(keras.optimizers)]
        + [(n, getattr(optimizers, n)) for n in HARNESS_OPTIMIZERS],
        "schedule": [(n, getattr(keras.optimizers.schedules, n)) for n in dir(keras.optimizers.schedules)]
        + [(n, getattr(optimizers, n)) for n in HARNESS_SCHEDULES],
    }
    for kind, classes in sources.items():
        for name, cls in sorted(classes):
            if isinstance(cls, type) and name[0].isupper() and name not in _NOT_CONFIGURABLE:
                keys, required = _arguments(cls)
                found[kind][name] = {"keys": keys, "required": required}
    return found


def custom_objects() -> dict[str, type]:
    """Every class a suite's optimizer config may name, for ``keras.optimizers.deserialize``."""
    import keras

    from harness import optimizers

    modules = {"optimizer": keras.optimizers, "schedule": keras.optimizers.schedules}
    objects = {}
    for kind, names in catalog().items():
        if kind in modules:
            for name in names:
                objects[name] = getattr(optimizers, name, None) or getattr(modules[kind], name)
    return objects


if __name__ == "__main__":
    CATALOG_PATH.write_text(json.dumps(build_catalog(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {CATALOG_PATH}")

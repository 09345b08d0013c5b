"""Keras serialization configs in suite files: the catalog, placeholders, and the checks."""

from __future__ import annotations

import pytest

from harness import keras_config
from harness.keras_config import ConfigError, evaluate, names_in, problems, substitute

NAMES = set(keras_config.RUNTIME) | {"lr"}


def test_catalog_is_current_for_the_installed_keras():
    """keras_catalog.json is what `python -m harness.keras_config` writes from this Keras (rerun after an upgrade)."""
    assert keras_config.build_catalog() == keras_config.catalog()


def test_every_catalogued_class_deserializes_through_keras():
    import keras

    from harness.training import make_optimizer

    values = {"steps_per_epoch": 10, "epochs": 2, "total_steps": 20, "batch_size": 8, "train_examples": 80}
    built = make_optimizer(
        {
            "class_name": "Lookahead",
            "config": {
                "inner": {
                    "class_name": "SGD",
                    "config": {
                        "momentum": 0.9,
                        "clipnorm": 1.0,
                        "learning_rate": {
                            "class_name": "CosineDecayRestarts",
                            "config": {"initial_learning_rate": 0.1, "first_decay_steps": "${total_steps // 2}"},
                        },
                    },
                },
                "k": 3,
            },
        },
        values,
    )
    inner = built.inner
    assert isinstance(inner, keras.optimizers.SGD) and inner.clipnorm == 1.0  # torch: a backend subclass
    assert type(inner.learning_rate).__name__ != "float" and inner._learning_rate.first_decay_steps == 10
    for name in ("Nadam", "Adamax", "AdamW", "Lion", "RMSprop", "Adagrad", "LazyAdam", "Heun"):
        assert type(make_optimizer({"class_name": name, "config": {"learning_rate": 0.01}}, values)).__name__ == name
    one_cycle = {"class_name": "OneCycle", "config": {"max_learning_rate": 0.1, "total_steps": "${total_steps}"}}
    cycled = make_optimizer(
        {
            "class_name": "CycledMomentum",
            "config": {
                "inner": {"class_name": "Adam", "config": {"learning_rate": one_cycle}},
                "schedule": one_cycle,
            },
        },
        values,
    )
    assert cycled.schedule.total_steps == 20


def test_placeholders_are_arithmetic_over_known_names():
    assert evaluate("${60 * steps_per_epoch - 1}", {"steps_per_epoch": 10}) == 599
    assert evaluate("${lr * 0.2**2}", {"lr": 0.1}) == 0.1 * 0.2**2
    assert names_in("${(a + b) / c}") == {"a", "b", "c"}
    assert substitute({"x": ["${n}", 2, {"y": "${n * 2}"}]}, {"n": 3}) == {"x": [3, 2, {"y": 6}]}
    for bad in ("${__import__('os')}", "${lr.real}", "lr ${lr}", "${lr +}", "${'a'}"):
        with pytest.raises(ConfigError):
            names_in(bad)


def test_problems_name_the_path_the_class_and_what_it_accepts():
    config = {
        "class_name": "MaskedLazy",
        "config": {
            "inner": {"class_name": "adam", "config": {}},
            "lazy_variable": ["embeddings"],
        },
    }
    found = problems(config, "optimizer", "optimizer", NAMES)
    assert "optimizer.config.inner.class_name: unknown optimizer 'adam' (did you mean 'Adam'?)" in found[0]
    assert found[1].startswith("optimizer.config.lazy_variable: MaskedLazy does not accept 'lazy_variable'")
    assert "(did you mean 'lazy_variables'?)" in found[1]
    schedule = {"class_name": "SGD", "config": {"learning_rate": {"class_name": "CosineDecay", "config": {}}}}
    assert problems(schedule, "optimizer", "o", NAMES) == [
        "o.config.learning_rate.config: CosineDecay needs 'initial_learning_rate'",
        "o.config.learning_rate.config: CosineDecay needs 'decay_steps'",
    ]
    typo = {"class_name": "SGD", "config": {"learning_rate": "${lr * stepz_per_epoch}"}}
    (message,) = problems(typo, "optimizer", "o", NAMES)
    assert message.startswith("o.config.learning_rate: unresolved placeholder 'stepz_per_epoch'")
    assert "(did you mean 'steps_per_epoch'?)" in message
    assert problems("sgd", "optimizer", "o", NAMES)[0].startswith("o: write the optimizer as Keras serializes it")

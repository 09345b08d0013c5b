"""Every optimizer the README's optimizer-library example builds trains in ``model.fit`` in graph mode.

The example is read from README.md and run statement by statement: imports and assignments as
written, each bare expression built and used to fit a small model (``run_eagerly=False``).
"""

from __future__ import annotations

import ast
import re

import keras
import numpy as np
import pytest

from harness.optimizers import Heun, Lookahead, SlowWeightsEvaluation, TwiceEachBatch
from tests.conftest import ROOT


def _example() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"## The optimizer library\n.*?```python\n(.*?)```", readme, re.S).group(1)


def _statements() -> list[ast.stmt]:
    return ast.parse(_example()).body


def _data() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])


def _namespace_before(index: int) -> dict:
    """What the example has defined when it reaches statement ``index`` (``model``, ``x``, ``y`` given)."""
    x, y = _data()
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    namespace = {"model": model, "x": x, "y": y}
    for statement in _statements()[:index]:
        if not isinstance(statement, ast.Expr):
            exec(compile(ast.Module([statement], []), "README.md", "exec"), namespace)
    return namespace


EXPRESSIONS = [(i, ast.unparse(s)) for i, s in enumerate(_statements()) if isinstance(s, ast.Expr)]


def test_the_example_has_every_optimizer_of_the_library():
    built = " ".join(source for _, source in EXPRESSIONS)
    for name in ("Lookahead", "LazyAdam", "MaskedLazy", "Heun", "CyclicalLearningRate", "CycledMomentum"):
        assert name + "(" in built, name


@pytest.mark.parametrize(("index", "source"), EXPRESSIONS, ids=[s.split("(")[0] for _, s in EXPRESSIONS])
def test_each_example_optimizer_trains_in_fit_in_graph_mode(index, source):
    optimizer = eval(source, _namespace_before(index))
    assert isinstance(optimizer, keras.optimizers.Optimizer), source
    x, y = _data()
    model = _model()
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=False, jit_compile=False)
    if isinstance(optimizer, Heun):
        history = model.fit(TwiceEachBatch(x, y, 32), epochs=3, shuffle=False, verbose=0)
    else:
        callbacks = [SlowWeightsEvaluation()] if isinstance(optimizer, Lookahead) else []
        history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=callbacks)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], (source, losses)


def test_the_range_test_line_runs_and_restores_the_model():
    index = next(i for i, s in enumerate(_statements()) if "lr_range_test" in ast.unparse(s) and "=" in ast.unparse(s))
    namespace = _namespace_before(index)
    weights = [np.array(w) for w in namespace["model"].get_weights()]
    exec(compile(ast.Module([_statements()[index]], []), "README.md", "exec"), namespace)
    assert len(namespace["result"].learning_rates) > 1
    for before, after in zip(weights, namespace["model"].get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)

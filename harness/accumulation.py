"""Gradient accumulation ("soft batches") against one large batch: the first update made both ways."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from harness.training import make_optimizer


def first_update_gap(
    build: Callable[[], keras.Model], weights: list, config: dict, values: dict, loss, batches, steps: int
) -> float:
    """The largest absolute weight difference after one update from ``weights``: ``steps`` batches
    accumulated (``config`` as written) against their concatenation in one batch (``config``
    without accumulation). ``batches[i]`` is the i-th ``(x, y)`` batch of the first epoch."""
    xs, ys = zip(*(batches[i] for i in range(steps)), strict=True)
    single = {**config, "config": {k: v for k, v in config["config"].items() if k != "gradient_accumulation_steps"}}
    found = []
    for optimizer_config, fed in (
        (config, list(zip(xs, ys, strict=True))),
        (single, [(np.concatenate(xs), np.concatenate(ys))]),
    ):
        model = build()
        model.set_weights(weights)
        model.compile(optimizer=make_optimizer(optimizer_config, values), loss=loss)
        for x, y in fed:
            model.train_on_batch(x, y)
        found.append([np.asarray(keras.ops.convert_to_numpy(w), "float64") for w in model.trainable_weights])
    return float(max(np.max(np.abs(a - b)) for a, b in zip(*found, strict=True)))

"""Workload ``synthetic``: scores drawn from known distributions, instantly, without Keras."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np

from harness.seeds import derive
from harness.workloads import Outcome
from harness.workloads.synthetic_settings import SyntheticSettings


def run(settings: SyntheticSettings, seed: int, callbacks: list | None = None) -> Outcome:
    truth = settings.mean + settings.effect
    truth -= settings.penalty_per_decade * abs(math.log10(settings.learning_rate / settings.best_learning_rate))
    shared = np.random.default_rng(derive(seed, "synthetic")).standard_normal(2)  # the same for every arm
    arm = (repr(settings.effect), settings.noise_key) if settings.noise_key else (repr(settings.effect),)
    own = np.random.default_rng(derive(seed, "synthetic", *arm)).standard_normal(2)
    test, valid = (float(truth + settings.sd * (a + b) / np.sqrt(2)) for a, b in zip(shared, own, strict=True))
    model = SimpleNamespace(stop_training=False)
    history: dict[str, list[float]] = {"val_accuracy": []}
    for callback in callbacks or []:
        callback.set_model(model)
    for epoch in range(settings.epochs):
        time.sleep(settings.delay_s)
        history["val_accuracy"].append(valid - 0.05 * (settings.epochs - 1 - epoch))
        for callback in callbacks or []:
            callback.on_epoch_end(epoch, {"val_accuracy": history["val_accuracy"][-1]})
        if model.stop_training:
            break
    metrics = {"test_accuracy": test, "val_accuracy": history["val_accuracy"][-1]}
    if settings.curve_updates:
        speed_metrics, speed_history = speed_curve(settings, seed)
        metrics |= speed_metrics
        history |= speed_history
    return Outcome(metrics, history, "synthetic (no data)", "none")


SECONDS_PER_UPDATE, UPDATES_PER_EPOCH = 0.001, 100


def speed_curve(settings: SyntheticSettings, seed: int) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The run's ``step.val_accuracy`` and its axes: 90% of ``mean`` after ``T`` updates (see the settings)."""
    shared = np.random.default_rng(derive(seed, "speed")).standard_normal()
    own = np.random.default_rng(derive(seed, "speed", repr(settings.speedup), settings.noise_key)).standard_normal()
    reach = settings.time_scale / settings.speedup * math.exp(settings.log_sd * (shared + own) / math.sqrt(2))
    updates = np.append(
        np.arange(settings.eval_every, settings.curve_updates, settings.eval_every), settings.curve_updates
    )
    history = {
        "step.val_accuracy": (settings.mean * (1 - 0.1 ** (updates / reach))).tolist(),
        "step.at_updates": updates.astype(float).tolist(),
        "step.at_grad_evals": updates.astype(float).tolist(),
        "step.at_epochs": (updates / UPDATES_PER_EPOCH).tolist(),
        "step.at_seconds": (updates * SECONDS_PER_UPDATE).tolist(),
    }
    total = float(settings.curve_updates)
    metrics = {"updates": total, "train_s": total * SECONDS_PER_UPDATE}
    metrics |= {"planned_updates": total, "planned_grad_evals": total, "planned_epochs": total / UPDATES_PER_EPOCH}
    return metrics, history

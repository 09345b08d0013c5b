"""Settings of the ``supervised`` workload: data × model × optimizer × training, all from the suite file."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from harness import keras_config
from harness.workloads.components import (
    ACCUMULATION_GAP,
    AXES,
    BN_FOLD,
    INFO,
    PLANNED,
    RANGE_METRICS,
    SELECTS_ON_TEST,
    STEP,
    TEST,
    VALIDATION,
    DataSpec,
    ModelSpec,
    OptimizerSpec,
    Training,
    WorkloadSettings,
    fits,
    uses,
)


class SupervisedSettings(WorkloadSettings):
    """One classifier: ``model`` built for ``data``'s inputs, trained with ``optimizer`` as ``training`` says.

    Every epoch is scored on the validation examples (if any) and, with
    ``training.test_each_epoch``, on the test set; test numbers never steer training. A run
    reports the test score after the last epoch, at the epoch with the best validation
    accuracy, and at the best test epoch (selects on the test set: for "as published"
    protocols only).
    """

    data: DataSpec
    model: ModelSpec
    optimizer: OptimizerSpec
    training: Training = Training()
    vars: dict[str, float | int] = Field(
        {}, description='numbers that optimizer placeholders may use ("${lr * 0.2}"); tunable as vars.NAME'
    )

    def updates_per_batch(self) -> int:
        """How many times each batch is fed in a row (Heun takes two gradients per update)."""
        if self.training.batches_per_update != "auto":
            return self.training.batches_per_update
        return 2 if uses(self.optimizer, "Heun") else 1

    def has_validation(self) -> bool:
        return self.data.validation.size > 0

    def epochs_to_run(self, batches_per_epoch: int) -> int:
        """``training.epochs``, or as many (the last one partial) as the gradient-evaluation budget needs."""
        budget = self.training.grad_eval_budget
        return -(-budget // (batches_per_epoch * self.updates_per_batch())) if budget else self.training.epochs

    def metrics(self) -> dict[str, str]:
        found = {"test_accuracy": TEST, "test_loss": TEST, "epochs_run": INFO, "train_s": INFO}
        found |= {"updates": INFO, "grad_evals": INFO} | {f"{PLANNED}{axis}": INFO for axis in AXES[:3]}
        if self.training.epochs > 1 and not self.training.grad_eval_budget:  # timed after the first epoch (compiles)
            found["train_examples_per_s"] = INFO
        if self.training.eval_every_steps:
            found["step_eval_s"] = INFO
        if self.model.foldable_batch_norm():
            found[BN_FOLD] = TEST
        if self.optimizer.accumulation_steps() > 1:
            found[ACCUMULATION_GAP] = INFO
        if self.training.range_test:
            found |= dict.fromkeys(RANGE_METRICS, INFO)
        if self.has_validation():
            found |= {"val_accuracy": VALIDATION, "val_loss": VALIDATION}
            found |= {"best_val_accuracy": VALIDATION, "best_val_epoch": VALIDATION}
        if self.training.test_each_epoch:
            found |= {"best_test_accuracy": SELECTS_ON_TEST, "best_test_epoch": SELECTS_ON_TEST}
            if self.has_validation():
                found["test_accuracy_at_best_val"] = TEST
        return found

    def curves(self) -> dict[str, str]:
        found = {"loss": INFO, "accuracy": INFO, "epoch_time_s": INFO} | {f"at_{axis}": INFO for axis in AXES}
        if self.has_validation():
            found |= {"val_accuracy": VALIDATION, "val_loss": VALIDATION}
        if self.training.eval_every_steps and self.has_validation():
            found |= {f"{STEP}val_accuracy": VALIDATION, f"{STEP}val_loss": VALIDATION}
            found |= {f"{STEP}at_{axis}": INFO for axis in AXES}
        if self.training.test_each_epoch:
            found |= {"epoch_test_accuracy": TEST, "epoch_test_loss": TEST}
        if self.training.range_test:
            found |= {"range.lr": INFO, "range.loss": INFO, "range.smoothed": INFO}
        classes = set(self.optimizer.classes())
        if classes & set(keras_config.catalog()["schedule"]):
            found |= {"schedule.lr": INFO, "schedule.at_updates": INFO}
        if "CycledMomentum" in classes:
            found |= {"schedule.momentum": INFO, "schedule.at_updates": INFO}
        return found

    def problems(self) -> list[str]:
        found = []
        if mismatch := fits(self.data, self.model):
            found.append(f"model.name: {mismatch}")
        for option in ("augmentation", "normalize"):
            if getattr(self.data, option) not in (None, "none") and not self.data.channels:
                found.append(
                    f"data.{option}: dataset '{self.data.name}' has no channel axis to augment or normalize "
                    "(images only: cifar10); remove it"
                )
        if self.data.corrupt == "unscaled" and self.data.kind != "images":
            found.append(f"data.corrupt: unscaled multiplies image pixels; dataset '{self.data.name}' has tokens")
        if self.data.corrupt == "unscaled" and self.data.normalize == "per_channel":
            found.append("data.corrupt: normalize: per_channel would undo unscaled inputs; set data.normalize: none")
        if self.training.eval_every_steps and not self.has_validation():
            found.append(
                "data.validation.size: 0 leaves nothing for training.eval_every_steps to score; hold out examples "
                "(e.g. data.validation.size: 5000) or remove eval_every_steps"
            )
        if uses(self.optimizer, "Heun") and self.updates_per_batch() != 2:
            found.append("training.batches_per_update: Heun takes two gradients of each batch: use auto or 2")
        return found

    def load_data(self) -> Any:
        return self.data.load()

    def miniature(self) -> SupervisedSettings:
        """Two batches of at most 8 examples, one epoch: every layer, loss, optimizer step and
        compiled function of the real run is built and traced, at a small fraction of its cost."""
        batch = min(self.training.batch_size, 8)
        data, validation = self.data, self.data.validation
        small = validation.model_copy(update={"size": min(validation.size, batch)})
        limits = {"limit_train": min(data.limit_train or 2 * batch, 2 * batch), "limit_test": batch}
        limits["validation"] = small
        training = {"epochs": 1, "batch_size": batch, "eval_batch_size": batch, "grad_eval_budget": None}
        if self.training.eval_every_steps:
            training["eval_every_steps"] = 1
        return self.model_copy(
            update={"data": data.model_copy(update=limits), "training": self.training.model_copy(update=training)}
        )

"""Settings of the transfer workload (kept free of Keras so validation stays instant)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from harness.workloads.components import (
    DATASETS,
    INFO,
    MLP,
    TEST,
    VALIDATION,
    ModelSpec,
    OptimizerSpec,
    WorkloadSettings,
    fits,
    name_of,
)


class TransferSettings(WorkloadSettings):
    """Pre-train model A on task A, then train model B on task B, from scratch or from A.

    Task A: every class except the two of task B, relabelled 0..k-1 in order. Task B:
    binary, ``task_b_classes = [negative, positive]``, only the first
    ``task_b_train_size`` training images of those two classes. The last
    ``validation_size`` training images form the validation set of both tasks. Both
    models are ``model`` (A with one output per task-A class, B with one sigmoid output);
    every phase compiles a fresh ``optimizer`` (the book recompiles after unfreezing).
    """

    dataset: Literal["fashion_mnist", "cifar10"] = "fashion_mnist"
    model: ModelSpec = MLP(name="mlp")
    optimizer: OptimizerSpec = OptimizerSpec(class_name="SGD", config={"learning_rate": 0.001})
    vars: dict[str, float | int] = Field({}, description="numbers that optimizer placeholders may use")
    validation_size: PositiveInt = 5000
    task_b_classes: tuple[int, int] = (0, 2)
    task_b_train_size: PositiveInt = 200
    limit_task_a_train: PositiveInt | None = Field(
        None, description="use only the first N task-A training images (smoke profiles)"
    )
    limit_eval: PositiveInt | None = Field(
        None, description="use only the first N validation and test images of each task"
    )
    batch_size: PositiveInt = 32
    pretrain_epochs: PositiveInt = 20
    frozen_epochs: int = Field(4, ge=0)
    epochs: PositiveInt = 20
    transfer: bool = False
    steps_per_execution: PositiveInt = 32

    @model_validator(mode="after")
    def _consistent(self) -> TransferSettings:
        low, high = self.task_b_classes
        if low == high:
            raise ValueError(f"task_b_classes must be two different classes, got {list(self.task_b_classes)}")
        if self.frozen_epochs > self.epochs:
            raise ValueError(f"frozen_epochs ({self.frozen_epochs}) cannot exceed epochs ({self.epochs})")
        return self

    def data(self):
        return next(d for d in DATASETS if name_of(d) == self.dataset)(name=self.dataset)

    def metrics(self) -> dict[str, str]:
        found = {"test_accuracy": TEST, "test_loss": TEST, "val_accuracy": VALIDATION, "val_loss": VALIDATION}
        return found | ({"pretrain_val_accuracy": INFO} if self.transfer else {})

    def curves(self) -> dict[str, str]:
        found = {"loss": INFO, "accuracy": INFO, "val_accuracy": VALIDATION, "val_loss": VALIDATION}
        return found | ({"pretrain_val_accuracy": INFO, "pretrain_loss": INFO} if self.transfer else {})

    def problems(self) -> list[str]:
        found = []
        if mismatch := fits(self.data(), self.model):
            found.append(f"model.name: {mismatch}")
        return found

    def load_data(self):
        return self.data().load()

    def miniature(self) -> TransferSettings:
        return self.model_copy(
            update={
                "limit_task_a_train": 256,
                "limit_eval": 64,
                "pretrain_epochs": 1,
                "epochs": min(self.epochs, 2),
                "frozen_epochs": min(self.frozen_epochs, 1),
            }
        )

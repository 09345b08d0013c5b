"""Settings of the transfer workload (kept free of Keras so validation stays instant)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from harness.registry import DATASETS, MODELS, known


class TransferSettings(BaseModel):
    """Pre-train model A on task A, then train model B on task B, from scratch or from A.

    Task A: every class except the two of task B, relabelled 0..k-1 in order. Task B:
    binary, ``task_b_classes = [negative, positive]``, only the first
    ``task_b_train_size`` training images of those two classes. The last
    ``validation_size`` training images form the validation set of both tasks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Annotated[str, known(DATASETS)] = "fashion_mnist"
    model: Annotated[str, known(MODELS)] = "mlp"
    validation_size: PositiveInt = 5000
    task_b_classes: tuple[int, int] = (0, 2)
    task_b_train_size: PositiveInt = 200
    limit_task_a_train: PositiveInt | None = Field(
        None, description="use only the first N task-A training images (smoke profiles)"
    )
    limit_eval: PositiveInt | None = Field(
        None, description="use only the first N validation and test images of each task"
    )
    hidden_units: list[PositiveInt] = [100, 100, 100]
    batch_size: PositiveInt = 32
    learning_rate: PositiveFloat = 0.001
    pretrain_epochs: PositiveInt = 20
    frozen_epochs: int = Field(4, ge=0)
    epochs: PositiveInt = 20
    transfer: bool = False
    steps_per_execution: PositiveInt = 32

    def data_arguments(self) -> dict:
        """Keyword arguments of the dataset loader."""
        return {"validation_size": self.validation_size}

    @model_validator(mode="after")
    def _consistent(self) -> TransferSettings:
        low, high = self.task_b_classes
        if low == high:
            raise ValueError(f"task_b_classes must be two different classes, got {list(self.task_b_classes)}")
        if self.frozen_epochs > self.epochs:
            raise ValueError(f"frozen_epochs ({self.frozen_epochs}) cannot exceed epochs ({self.epochs})")
        return self

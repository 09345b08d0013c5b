"""Settings of the image-classification workload (kept free of Keras so validation stays instant)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from harness.registry import DATASETS, MODELS, known


class VisionSettings(BaseModel):
    """An image classifier trained with SGD or Adam, optionally inside Lookahead.

    Learning rate: ``learning_rate × learning_rate_scale``, multiplied by
    ``lr_decay_factor`` at each epoch in ``lr_decay_epochs``. Weight decay is PyTorch's
    coupled L2 (see :mod:`harness.models.cnn`). Training images are augmented (random
    crop after ``crop_padding`` pixels of zero padding, horizontal flip) and normalized
    per channel with the training images' mean and standard deviation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Annotated[str, known(DATASETS)] = "cifar10"
    model: Annotated[str, known(MODELS)] = "resnet18"
    width: PositiveInt | None = Field(None, description="base channels of small_cnn (ignored by resnet18)")
    optimizer: Literal["sgd", "adam"] = "sgd"
    learning_rate: PositiveFloat = 0.1
    learning_rate_scale: PositiveFloat = Field(1.0, description="multiplies learning_rate (the robustness grid)")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD only")
    nesterov: bool = True
    weight_decay: float = Field(5e-4, ge=0, description="coupled L2, as PyTorch's weight_decay")
    lookahead: bool = False
    lookahead_k: PositiveInt = 5
    lookahead_alpha: float = Field(0.5, gt=0, le=1)
    batch_size: PositiveInt = 128
    epochs: PositiveInt = 200
    lr_decay_epochs: list[PositiveInt] = [60, 120, 160]
    lr_decay_factor: PositiveFloat = 0.2
    crop_padding: NonNegativeInt = 4
    horizontal_flip: bool = True
    validation_size: NonNegativeInt = Field(
        5000, description="training images held out (stratified, the same for every seed); 0 = train on all"
    )
    limit_train: PositiveInt | None = Field(None, description="a fixed stratified N of the remaining training images")
    limit_test: PositiveInt | None = Field(None, description="a fixed stratified N of the test images (smoke)")
    test_each_epoch: bool = Field(True, description="score the test set every epoch (curves, as-published protocol)")
    mixed_precision: bool = Field(False, description="mixed_float16 with dynamic loss scaling (GPU)")
    jit_compile: bool | Literal["auto"] = "auto"
    steps_per_execution: PositiveInt = 1

    def data_arguments(self) -> dict:
        """Keyword arguments of the dataset loader."""
        return {}

    @model_validator(mode="after")
    def _decays_within_training(self) -> VisionSettings:
        late = [e for e in self.lr_decay_epochs if e >= self.epochs]
        if late:
            raise ValueError(
                f"lr_decay_epochs {late} are not before the last epoch ({self.epochs}); drop or lower them"
            )
        if self.lr_decay_epochs != sorted(set(self.lr_decay_epochs)):
            raise ValueError(f"lr_decay_epochs must be increasing, got {self.lr_decay_epochs}")
        return self

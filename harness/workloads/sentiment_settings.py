"""Settings of the sentiment workload (kept free of Keras so validation stays instant)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from harness.registry import DATASETS, MODELS, known

OPTIMIZERS = ("adam", "lazy_adam", "masked_lazy_adam")


class SentimentSettings(BaseModel):
    """Binary sentiment on token sequences, with an epoch chosen two ways.

    Every epoch is scored on a validation split carved from the training set
    (stratified, drawn per seed) and on the test set. ``honest``: the epoch with the best
    validation accuracy, and the test accuracy of that epoch. ``as published``: the best
    test accuracy over epochs (selection on the test set, as the claim's source did).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Annotated[str, known(DATASETS)] = "imdb"
    model: Annotated[str, known(MODELS)] = "lstm"
    num_words: PositiveInt = 20000
    maxlen: PositiveInt = 80
    embedding_dim: PositiveInt = 128
    units: PositiveInt = 128
    dropout: float = Field(0.2, ge=0, lt=1)
    recurrent_dropout: float = Field(0.2, ge=0, lt=1)
    optimizer: Literal[OPTIMIZERS] = "adam"
    learning_rate: PositiveFloat = 0.001
    batch_size: PositiveInt = 32
    epochs: PositiveInt = 15
    validation_size: PositiveInt = Field(2500, description="training reviews held out for choosing the epoch")
    limit_train: PositiveInt | None = Field(None, description="a fixed random N of the training reviews (smoke)")
    limit_test: PositiveInt | None = Field(None, description="a fixed random N of the test reviews (smoke)")
    steps_per_execution: PositiveInt = 1

    def data_arguments(self) -> dict:
        """Keyword arguments of the dataset loader."""
        return {"num_words": self.num_words, "maxlen": self.maxlen}

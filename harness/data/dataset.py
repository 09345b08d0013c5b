"""The one dataset type every loader returns (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["images", "tokens"]


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # images: float32 or uint8 NHWC; tokens: int32 [n, length]
    y: np.ndarray  # int64 class labels 0..num_classes-1

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> Split:
        """The first ``n`` examples (all of them for None)."""
        return self if n is None else Split(self.x[:n], self.y[:n])

    def take(self, rows: np.ndarray) -> Split:
        return Split(self.x[rows], self.y[rows])


@dataclass(frozen=True)
class Dataset:
    """Training and test examples of a classification task, with where they came from.

    Workloads carve validation examples out of ``train`` as the suite says
    (:func:`harness.data.splits.carve_validation`).
    """

    train: Split
    test: Split
    num_classes: int
    kind: Kind
    source: str  # where it was found and which copy, e.g. "$HARNESS_DATA_DIR/fashion-mnist"
    digest: str  # SHA-256 identifying the source content
    vocabulary_size: int | None = None  # tokens: ids are below this
    lossy: bool = False  # a lossy re-encoding (the CIFAR-10 JPEG copy)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **fields) -> Dataset:
        """A dataset from ``x_train``, ``y_train``, ``x_test``, ``y_test`` arrays (a loader's cache)."""
        return cls(Split(arrays["x_train"], arrays["y_train"]), Split(arrays["x_test"], arrays["y_test"]), **fields)

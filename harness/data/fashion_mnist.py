"""Fashion-MNIST from the standard IDX ``.gz`` files, and the book's task A/B split."""

from __future__ import annotations

import functools

import numpy as np

from harness.data.dataset import Dataset, Split
from harness.data.sources import DataError, DataFile, DatasetSpec, dataset_digest, describe_place, locate, read_verified

SPEC = DatasetSpec(
    name="Fashion-MNIST",
    subdir="fashion-mnist",
    files=(
        DataFile("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        DataFile("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        DataFile("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        DataFile("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    download_base="https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    how_to_get=(
        "set HARNESS_DATA_DIR to a folder holding fashion-mnist/*.gz, install Debian's "
        "dataset-fashion-mnist package, or allow the Keras download (unset HARNESS_OFFLINE)."
    ),
)


N_CLASSES = 10


def parse_idx(content: bytes, name: str) -> np.ndarray:
    """Parse IDX bytes (magic 0x0000 0x08 ndim, big-endian dims) into a uint8 array."""
    if len(content) < 4 or content[:2] != b"\x00\x00" or content[2] != 0x08:
        raise DataError(f"{name}: not an IDX file of unsigned bytes")
    ndim = content[3]
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(content) - offset != int(np.prod(shape)):
        raise DataError(f"{name}: header says {shape} but holds {len(content) - offset} bytes")
    return np.frombuffer(content, np.uint8, offset=offset).reshape(shape)


@functools.cache
def load(path: str | None = None) -> Dataset:
    """The 60,000 training and 10,000 test images, pixels scaled to [0, 1] (float32, 28×28)."""
    located = locate(SPEC, path)
    arrays = [parse_idx(read_verified(located, f), f.name) for f in SPEC.files]
    x_train, y_train, x_test, y_test = arrays
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DataError(f"{located.directory}: image and label counts differ")

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split((x / np.float32(255)).astype(np.float32), y.astype(np.int64))

    return Dataset(
        split(x_train, y_train),
        split(x_test, y_test),
        num_classes=N_CLASSES,
        kind="images",
        source=describe_place(located.source, located.directory),
        digest=dataset_digest(SPEC),
    )


def task_a(split: Split, excluded: tuple[int, int], n_classes: int = N_CLASSES) -> Split:
    """Every class except ``excluded``, relabelled 0..n_classes-3 in label order."""
    keep = ~np.isin(split.y, excluded)
    kept_classes = np.setdiff1d(np.arange(n_classes), excluded)
    return Split(split.x[keep], np.searchsorted(kept_classes, split.y[keep]))


def task_b(split: Split, classes: tuple[int, int], size: int | None = None) -> Split:
    """Binary task: ``classes = (negative, positive)``; the first ``size`` images of the two."""
    _negative, positive = classes
    keep = np.flatnonzero(np.isin(split.y, classes))[:size]
    return Split(split.x[keep], (split.y[keep] == positive).astype(np.int64))

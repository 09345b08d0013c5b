"""Seeded, stratified index splits (NumPy only)."""

from __future__ import annotations

import numpy as np


def stratified_split(y: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out): ``size`` held out with each class in its share of ``y``."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    if size >= len(y):
        raise ValueError(f"cannot hold out {size} of {len(y)} examples")
    shares = np.floor(size * counts / len(y)).astype(int)
    shares[np.argsort(-(size * counts / len(y) - shares))[: size - shares.sum()]] += 1  # largest remainders
    held = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), n, replace=False) for c, n in zip(classes, shares, strict=True)]
    )
    held.sort()
    return np.setdiff1d(np.arange(len(y)), held), held

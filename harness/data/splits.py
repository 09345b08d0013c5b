"""Seeded, stratified index splits (NumPy only)."""

from __future__ import annotations

import numpy as np

from harness.seeds import derive


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


def fixed_subset(y: np.ndarray, limit: int | None, name: str) -> np.ndarray:
    """Indices of a fixed (seed-independent) stratified ``limit`` of ``y``, or all of them."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    return stratified_split(y, limit, derive(0, "subset", name))[1]


def carve_validation(
    y: np.ndarray, size: int, draw: str, seed: int, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) into ``y``, the training labels.

    ``draw``: ``last`` (the last ``size`` examples), ``fixed`` (stratified, the same for
    every seed) or ``per_seed`` (stratified, drawn from the trial's seed). ``limit`` keeps
    a fixed stratified subset of the training examples: taken after the validation examples
    are set aside, except with ``per_seed``, where each seed carves its validation examples
    out of the fixed subset (so every seed trains and validates on the same pool).
    """
    everything = np.arange(len(y))
    if draw == "per_seed":
        pool = fixed_subset(y, limit, "train")
        if not size:
            return pool, np.array([], int)
        kept, held = stratified_split(y[pool], size, derive(seed, "validation"))
        return pool[kept], pool[held]
    if not size:
        pool, held = everything, np.array([], int)
    elif draw == "last":
        pool, held = everything[: len(y) - size], everything[len(y) - size :]
    else:
        pool, held = stratified_split(y, size, derive(0, "validation"))
    return pool[fixed_subset(y[pool], limit, "train")], held

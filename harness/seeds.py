"""The seed tree of a campaign and the switches that make a run deterministic.

One root seed per campaign. Child seed *i* is shared by every arm (paired design);
tuning and confirmation seeds come from disjoint branches of the tree. Within a trial,
named streams (``derive(seed, "init", "hidden", 0)``) give each random choice its own
seed, so arms that share a choice (an initialization, a data order) share its value.
"""

from __future__ import annotations

import contextlib
import os
import zlib

import numpy as np

_CONFIRMATION, _TUNING = 0, 1


def _to_int(sequence: np.random.SeedSequence) -> int:
    return int(sequence.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def confirmation_seed(root_seed: int, index: int) -> int:
    """Child seed ``index`` of the confirmation branch (shared by all arms)."""
    return _to_int(np.random.SeedSequence(root_seed, spawn_key=(_CONFIRMATION, index)))


def tuning_seed(root_seed: int, index: int) -> int:
    """Child seed ``index`` of the tuning branch (disjoint from confirmation)."""
    return _to_int(np.random.SeedSequence(root_seed, spawn_key=(_TUNING, index)))


def derive(seed: int, *names: str | int) -> int:
    """A seed for one named random choice inside a trial seeded with ``seed``."""
    key = tuple(zlib.crc32(str(name).encode()) for name in names)
    return _to_int(np.random.SeedSequence(seed, spawn_key=key))


def make_deterministic(seed: int, threads: int | None = None) -> None:
    """Seed Python, NumPy and the Keras backend, and turn on deterministic ops.

    ``threads`` limits the backend's CPU thread pools (several trials share a CPU).
    Call before the first model is built in a process.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if threads:
            with contextlib.suppress(RuntimeError):  # pools already started in this process: keep them
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    keras.utils.set_random_seed(seed)

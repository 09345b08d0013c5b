"""Which Keras backend a process will use, and a one-line error when it cannot be used.

Resolved as Keras resolves it — ``$KERAS_BACKEND``, else ``backend`` in
``$KERAS_HOME/keras.json`` (default ``~/.keras``), else TensorFlow — without importing
Keras, so a missing backend is reported before anything is imported or recorded.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

INSTALL = {
    "tensorflow": "pip install 'tensorflow-cpu==2.21.*' (or the project's extra: pip install -e '.[cpu]'; "
    "on a CUDA machine 'tensorflow[and-cuda]')",
    "jax": "pip install jax (on a CUDA machine 'jax[cuda12]')",
    "torch": "pip install torch (CPU-only wheels: --index-url https://download.pytorch.org/whl/cpu)",
}
MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


class BackendError(RuntimeError):
    """The Keras backend asked for cannot train here."""


def selected() -> str:
    """The backend Keras will load in this process."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def check() -> str:
    """The selected backend if it is one the harness trains with and it is installed; else one clear error."""
    name = selected()
    where = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "the Keras config (keras.json)"
    if name not in MODULES:
        from harness.registry import did_you_mean

        raise BackendError(
            f"{where} asks for Keras backend '{name}'{did_you_mean(name, MODULES)}, which the harness cannot "
            f"train with; use one of {', '.join(MODULES)} (e.g. KERAS_BACKEND=torch)"
        )
    if importlib.util.find_spec(MODULES[name]) is None:
        raise BackendError(f"{where} asks for Keras backend '{name}', but {name} is not installed: {INSTALL[name]}")
    return name

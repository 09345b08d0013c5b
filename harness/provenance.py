"""Where a run came from: code version, software, hardware."""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import shutil
import subprocess
from importlib import metadata

PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "torch", "numpy", "scipy", "optuna", "mlflow")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_model() -> str:
    if not shutil.which("nvidia-smi"):
        return "none"
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "; ".join(line.split(" (UUID")[0] for line in out.splitlines() if line) or "none"


@functools.cache
def collect() -> dict[str, str]:
    """Provenance as flat string tags (``harness.*``), gathered once per process."""
    import keras

    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    tags = {
        "git_commit": (commit + ("+dirty" if dirty else "")) or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": str(os.cpu_count()),
        "gpu": _gpu_model(),
        "keras_backend": keras.backend.backend(),
    }
    for package in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[f"version.{package}"] = metadata.version(package)
    return tags

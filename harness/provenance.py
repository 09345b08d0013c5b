"""Where a run came from: code version, software, hardware."""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]  # the harness's own checkout (its commit, not the working folder's)
PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "torch", "numpy", "scipy", "optuna", "mlflow")
# instruction-set features that pick a CPU kernel path (oneDNN dispatches on them at run time)
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
)


def checkout() -> Path | None:
    """The git checkout the harness runs from: its source folder (editable install), else the working folder."""
    for folder in (SOURCE, Path.cwd()):
        if (folder / ".git").exists() and (folder / "harness").is_dir():
            return folder
    return None


def portable(text: str) -> str:
    """``text`` without this machine's folders: the working folder and the harness checkout become relative
    (``sqlite:////home/me/harness/runs/x.db`` → ``sqlite:///runs/x.db``), the home folder ``~`` (for reports)."""
    for folder in dict.fromkeys(str(f) for f in (Path.cwd(), checkout()) if f is not None and str(f) != "/"):
        text = text.replace(folder + "/", "")
    home = str(Path.home())
    return text.replace(home + "/", "~/") if home != "/" else text


def git(*args: str) -> str:
    """A git command's output in the harness's checkout ("" when there is none)."""
    folder = checkout()
    if folder is None:
        return ""
    try:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
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


def cpu_features() -> str:
    """The CPU's kernel-relevant instruction-set features, e.g. ``avx avx2 fma sse4_2`` (Linux; else "unknown")."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), None)
    except OSError:
        flags = None
    return " ".join(f for f in ISA_FLAGS if f in flags) if flags is not None else "unknown"


def onednn() -> str:
    """TensorFlow's oneDNN setting: ``TF_ENABLE_ONEDNN_OPTS`` (on by default on x86) and an ISA cap if set."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return setting + (f", ONEDNN_MAX_CPU_ISA={cap}" if cap else "")


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

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"))  # code, not results
    tags = {
        "git_commit": (commit + ("+dirty" if dirty else "")) or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": str(os.cpu_count()),
        "cpu_features": cpu_features(),
        "onednn": onednn(),
        "gpu": _gpu_model(),
        "keras_backend": keras.backend.backend(),
    }
    for package in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[f"version.{package}"] = metadata.version(package)
    return tags

"""Where dataset files are found, how they are verified, and the error when they are not.

Search order: an explicit path (the loader's argument, or ``harness --data-dir``, which
reaches trial processes as ``HARNESS_EXPLICIT_DATA_DIR``), ``$HARNESS_DATA_DIR``, system locations a package
manager installs to, the Keras cache, and only then a download through Keras
(skipped when ``HARNESS_OFFLINE=1``). Content is verified by the SHA-256 of the
decompressed bytes, so re-compressed copies of the same data are accepted.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


class DataError(RuntimeError):
    """Data that cannot be found or does not match its expected content."""


@dataclass(frozen=True)
class DataFile:
    name: str
    sha256: str  # of the decompressed content


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    subdir: str  # folder name under a data dir and under the Keras cache's datasets/
    files: tuple[DataFile, ...]
    system_dirs: tuple[str, ...]
    download_base: str
    how_to_get: str


@dataclass(frozen=True)
class Located:
    directory: Path
    source: str  # which place it came from, e.g. "$HARNESS_DATA_DIR"


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def cache_dir() -> Path:
    """Where loaders keep decoded arrays: ``$HARNESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/harness``."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harness"
    return Path(os.environ.get("HARNESS_CACHE_DIR", default))


def candidates(spec: DatasetSpec, explicit: str | Path | None = None) -> list[tuple[str, Path]]:
    """Every place to look, in order, as (label, directory)."""
    places: list[tuple[str, Path]] = []
    explicit = explicit or os.environ.get("HARNESS_EXPLICIT_DATA_DIR")
    if explicit:
        places += [("explicit path", Path(explicit) / spec.subdir), ("explicit path", Path(explicit))]
    if os.environ.get("HARNESS_DATA_DIR"):
        root = Path(os.environ["HARNESS_DATA_DIR"])
        places += [("$HARNESS_DATA_DIR", root / spec.subdir), ("$HARNESS_DATA_DIR", root)]
    places += [("system location", Path(d)) for d in spec.system_dirs]
    places.append(("Keras cache", keras_cache_dir() / spec.subdir))
    return places


def _complete(directory: Path, spec: DatasetSpec) -> bool:
    return all((directory / f.name).is_file() for f in spec.files)


def _download(spec: DatasetSpec) -> Path:
    import keras  # only here: finding local files must not import the backend

    for data_file in spec.files:
        keras.utils.get_file(
            data_file.name,
            origin=spec.download_base + data_file.name,
            cache_dir=str(keras_cache_dir().parent),
            cache_subdir=f"datasets/{spec.subdir}",
        )
    return keras_cache_dir() / spec.subdir


def locate(spec: DatasetSpec, explicit: str | Path | None = None) -> Located:
    """The first place holding every file of ``spec``; else download; else one clear error."""
    looked = []
    for label, directory in candidates(spec, explicit):
        if _complete(directory, spec):
            return Located(directory, label)
        looked.append(f"{label}: {directory}")
    if os.environ.get("HARNESS_OFFLINE") == "1":
        reason = "download skipped (HARNESS_OFFLINE=1)"
    else:
        try:
            return Located(_download(spec), f"download ({spec.download_base})")
        except Exception as error:
            reason = f"download from {spec.download_base} failed: {type(error).__name__}: {error}"
    places = "\n".join(f"  - {place}" for place in looked)
    files = ", ".join(f.name for f in spec.files)
    raise DataError(
        f"{spec.name} not found. Looked for {files} in:\n{places}\n  - {reason}\nTo get it: {spec.how_to_get}"
    )


def read_verified(located: Located, data_file: DataFile) -> bytes:
    """Decompress one file and check its SHA-256; a mismatch names the file and both digests."""
    path = located.directory / data_file.name
    try:
        with gzip.open(path) if path.suffix == ".gz" else open(path, "rb") as handle:
            content = handle.read()
    except (OSError, EOFError) as error:
        raise DataError(
            f"{path}: cannot be read ({error}); expected sha256 {data_file.sha256} "
            "of its decompressed content. Replace the file."
        ) from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != data_file.sha256:
        raise DataError(
            f"{path}: checksum mismatch — decompressed content has sha256 {digest}, "
            f"expected {data_file.sha256}. The file is corrupt or a different dataset; replace it."
        )
    return content


def dataset_digest(spec: DatasetSpec) -> str:
    """One digest for the whole dataset: SHA-256 over its files' expected digests."""
    return hashlib.sha256("".join(f.sha256 for f in spec.files).encode()).hexdigest()


def describe_place(label: str, path: Path) -> str:
    """Where data was found, relative to the root that found it and never as this machine's path:
    ``$HARNESS_DATA_DIR/fashion-mnist``, ``Keras cache/cifar-10-batches-py``, ``debian package: fashion-mnist``."""
    roots = {"$HARNESS_DATA_DIR": os.environ.get("HARNESS_DATA_DIR"), "Keras cache": str(keras_cache_dir())}
    if root := roots.get(label):
        try:
            relative = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
            return label if relative == "." else f"{label}/{relative}"
        except ValueError:
            pass
    return f"{label}: {path if label == 'explicit path' else Path(path).name}"  # a path the user gave stays

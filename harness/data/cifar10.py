"""CIFAR-10 as ``keras.datasets.cifar10.load_data`` gives it: uint8 NHWC RGB images, labels 0..9.

Sources, in order, in each place :func:`harness.data.sources.candidates` lists and then the
Keras cache root itself:

1. the original python batches: a ``cifar-10-batches-py/`` folder (also as Keras extracts
   it, one level deeper) or the tarball ``cifar-10-python.tar.gz``;
2. the JPEG copy: a ``cifar10/{train,test}/<class>/*.jpg`` tree or ``cifar10-jpeg.tar.gz``.
   These are quality-75 re-encodings, so pixels differ from the originals by JPEG error:
   ``lossy`` is True and ``source`` says so. Images are ordered class by class (``CLASSES``
   order), files by name within a class.

A place that is itself a tarball counts as the JPEG copy when its name says ``jpeg``/``jpg``.
With nothing found the original tarball is downloaded through Keras (unless
``HARNESS_OFFLINE=1``). Counts per class are checked; decoded arrays are cached as ``.npy``
files under ``cache_dir()/cifar10/<key>/``, keyed by the source's digest.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import uuid
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.data.dataset import Dataset
from harness.data.sources import DataError, DatasetSpec, cache_dir, candidates, describe_place, keras_cache_dir

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")  # Keras order
SPLITS = ("train", "test")
PER_CLASS = {"train": 5000, "test": 1000}
FORMAT_VERSION = 1  # bump when decoding changes: old caches are then not reused
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
BATCH_DIR, BATCH_TARBALL = "cifar-10-batches-py", "cifar-10-python.tar.gz"
JPEG_DIR, JPEG_TARBALL = "cifar10", "cifar10-jpeg.tar.gz"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SPEC = DatasetSpec(
    name="CIFAR-10",
    subdir="cifar10",
    files=(),
    system_dirs=(),
    download_base=URL,
    how_to_get=(
        f"set HARNESS_DATA_DIR to a folder holding the original {BATCH_TARBALL} or {BATCH_DIR}/, or the lossy "
        f"JPEG copy {JPEG_TARBALL} (see shared/datasets/README.md), or allow the download (unset HARNESS_OFFLINE)."
    ),
)
_LOSSY = (
    "JPEG quality-75 re-encodings of CIFAR-10 "
    "(lossy: results close to, not identical with, the original python batches)"
)
_PICKLE_GLOBALS = frozenset(  # all a CIFAR batch needs; anything else is refused
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
    }
)


@dataclass(frozen=True)
class _Source:
    kind: str  # "batches_folder" | "batches_tarball" | "jpeg_folder" | "jpeg_tarball"
    path: Path
    label: str  # which place it came from

    @property
    def lossy(self) -> bool:
        return self.kind.startswith("jpeg")

    def digest(self) -> str:
        """Tarball: sha256 of its bytes; batches folder: of its batch files; JPEG tree: of its listing with sizes."""
        sha = hashlib.sha256()
        try:
            if self.kind == "jpeg_folder":
                files = (p for p in self.path.rglob("*") if p.is_file())
                sha.update("\n".join(sorted(f"{p.relative_to(self.path)}:{p.stat().st_size}" for p in files)).encode())
            elif self.kind == "batches_folder":
                for path in (self.path / name for batch in BATCHES.values() for name in batch):
                    sha.update(path.name.encode() + (path.read_bytes() if path.is_file() else b""))
            else:
                with open(self.path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        sha.update(block)
        except OSError as error:
            raise DataError(f"{self.path}: cannot be read ({error})") from None
        return sha.hexdigest()

    def describe(self) -> str:
        kind = _LOSSY if self.lossy else "original CIFAR-10 python batches"
        return f"{describe_place(self.label, self.path)} ({kind})"


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _in_place(label: str, place: Path) -> _Source | None:
    """The best CIFAR-10 copy in one place: original batches first, then the JPEG copy."""
    if place.is_file() and place.name.endswith((".tar.gz", ".tgz", ".tar")):
        jpeg = "jpeg" in place.name.lower() or "jpg" in place.name.lower()
        return _Source("jpeg_tarball" if jpeg else "batches_tarball", place, label)
    for folder in (place / BATCH_DIR / BATCH_DIR, place / f"{BATCH_DIR}-target" / BATCH_DIR, place / BATCH_DIR):
        if folder.is_dir():  # the first two: as Keras extracts the tarball
            return _Source("batches_folder", folder, label)
    if (place / BATCHES["test"][0]).is_file():  # the place is a batches folder itself
        return _Source("batches_folder", place, label)
    if (place / BATCH_TARBALL).is_file():
        return _Source("batches_tarball", place / BATCH_TARBALL, label)
    if any((place / JPEG_DIR / split).is_dir() for split in SPLITS):
        return _Source("jpeg_folder", place / JPEG_DIR, label)
    if (place / JPEG_TARBALL).is_file():
        return _Source("jpeg_tarball", place / JPEG_TARBALL, label)
    return None


def _find(explicit: str | Path | None) -> _Source:
    looked: list[str] = []
    for label, place in dict.fromkeys([*candidates(SPEC, explicit), ("Keras cache", keras_cache_dir())]):
        found = _in_place(label, place)
        if found is not None:
            return found
        looked.append(f"{label}: {place}")
    if os.environ.get("HARNESS_OFFLINE") == "1":
        reason = "download skipped (HARNESS_OFFLINE=1)"
    else:
        try:
            import keras  # only here: loading local files must not import the backend

            cache = str(keras_cache_dir().parent)
            folder = Path(keras.utils.get_file(BATCH_DIR, origin=URL, untar=True, cache_dir=cache))
            nested = folder / BATCH_DIR  # Keras 3 extracts the tarball's top folder inside ``folder``
            return _Source("batches_folder", nested if nested.is_dir() else folder, f"download ({URL})")
        except Exception as error:
            reason = f"download from {URL} failed: {type(error).__name__}: {error}"
    listed = "\n".join(f"  - {place}" for place in looked)
    raise DataError(
        f"{SPEC.name} not found. Looked for {BATCH_DIR}/, {BATCH_TARBALL}, {JPEG_DIR}/{{train,test}}/ or "
        f"{JPEG_TARBALL} in:\n{listed}\n  - {reason}\nTo get it: {SPEC.how_to_get}"
    )


def _read_tar(path: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """The members ``wanted`` accepts, read from the tar stream (no extraction)."""
    members: dict[str, bytes] = {}
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        with gzip.open(path) if compressed else open(path, "rb") as stream:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    if member.isfile() and wanted(member.name):
                        members[member.name] = archive.extractfile(member).read()
            while stream.read(1 << 20):  # to the end: a truncated gzip stream raises here
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise DataError(
            f"{path}: cannot be read as a tarball ({type(error).__name__}: {error}); "
            "it is truncated or corrupt — replace it"
        ) from None
    return members


def _check_counts(where: Path, labels: dict[str, np.ndarray]) -> None:
    """Exactly ``PER_CLASS[split]`` images of every class in each split."""
    for split in SPLITS:
        counts = np.bincount(labels[split], minlength=len(CLASSES))
        if len(counts) != len(CLASSES) or (counts != PER_CLASS[split]).any():
            found = ", ".join(f"{name} {count}" for name, count in zip(CLASSES, counts, strict=False))
            raise DataError(
                f"{where}: {split} split holds {counts.sum()} images ({found}); CIFAR-10 has "
                f"{PER_CLASS[split]} per class ({PER_CLASS[split] * len(CLASSES)} in all) — the copy is incomplete"
            )


def _parse_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch → (NHWC images, labels), converted as Keras's ``cifar10.load_data`` does."""
    try:
        batch = _Unpickler(io.BytesIO(raw), encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    except Exception as error:  # garbage makes the unpickler raise almost anything
        raise DataError(f"{where}: not a CIFAR-10 python batch ({type(error).__name__}: {error}); replace it") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != data.shape[:1]:
        raise DataError(
            f"{where}: not a CIFAR-10 python batch: data is {data.dtype} {data.shape} (want uint8 [n, 3072]), "
            f"labels {labels.shape}"
        )
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DataError(f"{where}: labels must be integers 0..{len(CLASSES) - 1}, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels.astype(np.int64)


def _from_batches(source: _Source) -> dict[str, np.ndarray]:
    names = [name for batch in BATCHES.values() for name in batch]
    if source.kind == "batches_folder":
        raw = {name: (source.path / name).read_bytes() for name in names if (source.path / name).is_file()}
        where = {name: str(source.path / name) for name in names}
    else:
        members = _read_tar(source.path, lambda member: member.rsplit("/", 1)[-1] in names)
        raw = {member.rsplit("/", 1)[-1]: content for member, content in members.items()}
        where = {name: f"{source.path}: member {BATCH_DIR}/{name}" for name in names}
    arrays = {}
    for split, batch_names in BATCHES.items():
        missing = [where[name] for name in batch_names if name not in raw]
        if missing:
            raise DataError(f"{missing[0]} is missing; the copy is incomplete — it needs {', '.join(names)}")
        parsed = [_parse_batch(raw[name], where[name]) for name in batch_names]
        arrays[f"x_{split}"] = np.concatenate([x for x, _ in parsed])
        arrays[f"y_{split}"] = np.concatenate([y for _, y in parsed])
    _check_counts(source.path, {split: arrays[f"y_{split}"] for split in SPLITS})
    return arrays


def _jpeg_class(name: str, where: Path) -> tuple[str, int] | None:
    """``cifar10/train/cat/0001.jpg`` → ``("train", 3)``; other names → None; an unknown class folder is an error."""
    parts = name.split("/")
    if len(parts) < 3 or parts[-3] not in SPLITS or not parts[-1].lower().endswith((".jpg", ".jpeg")):
        return None
    if parts[-2] not in CLASSES:
        raise DataError(f"{where}: unknown class folder {parts[-2]!r} ({name}); expected one of {', '.join(CLASSES)}")
    return parts[-3], CLASSES.index(parts[-2])


def _decode_jpeg(content: bytes, where: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(content)) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{where}: not a decodable image ({type(error).__name__}: {error}); replace it") from None
    if pixels.shape != (32, 32, 3):
        raise DataError(f"{where}: image is {pixels.shape[1]}×{pixels.shape[0]}; CIFAR-10 images are 32×32")
    return pixels


def _from_jpegs(source: _Source) -> dict[str, np.ndarray]:
    if source.kind == "jpeg_folder":
        files = [p for split in SPLITS if (source.path / split).is_dir() for p in (source.path / split).glob("*/*")]
        names = {p.relative_to(source.path.parent).as_posix(): p for p in files if p.is_file()}
        members = {name: path.read_bytes() for name, path in names.items() if _jpeg_class(name, source.path)}
        where = {name: str(path) for name, path in names.items()}
    else:
        members = _read_tar(source.path, lambda name: _jpeg_class(name, source.path) is not None)
        where = {name: f"{source.path}: member {name}" for name in members}
    groups: dict[str, list[list[str]]] = {split: [[] for _ in CLASSES] for split in SPLITS}
    for name in sorted(members):
        split, label = _jpeg_class(name, source.path)
        groups[split][label].append(name)
    labels = {split: np.repeat(np.arange(len(CLASSES)), [len(g) for g in groups[split]]) for split in SPLITS}
    _check_counts(source.path, labels)  # before the slow part
    arrays = {}
    for split in SPLITS:
        ordered = [name for group in groups[split] for name in group]
        x = np.empty((len(ordered), 32, 32, 3), np.uint8)
        for row, name in enumerate(ordered):
            x[row] = _decode_jpeg(members[name], where[name])
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, labels[split].astype(np.int64)
    return arrays


def _read_cache(folder: Path, meta: dict) -> dict[str, np.ndarray] | None:
    """The cached arrays if whole, valid and made from this very source; else None."""
    try:
        if json.loads((folder / "source.json").read_text()) != meta:
            return None
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ARRAYS}
        for split in SPLITS:
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
            if x.dtype != np.uint8 or x.shape != (len(y), 32, 32, 3) or y.dtype != np.int64 or y.ndim != 1:
                return None
        _check_counts(folder, {split: arrays[f"y_{split}"] for split in SPLITS})
    except (OSError, ValueError, DataError):
        return None
    return arrays


def _write_cache(folder: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write into a temporary sibling, then rename it into place: readers see a whole cache or none."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        temporary.chmod(0o755)  # mkdtemp's 0o700 would hide a shared cache from other users
    except OSError as error:
        warnings.warn(f"CIFAR-10 cache not written ({error}); the next load decodes again", stacklevel=3)
        return
    try:
        for name in ARRAYS:
            np.save(temporary / f"{name}.npy", arrays[name])
        (temporary / "source.json").write_text(json.dumps(meta))
        if folder.exists():  # damaged or stale: move it aside first (a directory rename cannot overwrite)
            aside = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.old")
            with contextlib.suppress(FileNotFoundError):
                os.replace(folder, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(temporary, folder)
    except OSError as error:
        if not (folder / "source.json").is_file():  # else a concurrent writer won: theirs is as good
            warnings.warn(f"CIFAR-10 cache not written to {folder} ({error})", stacklevel=3)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


@functools.cache
def load(path: str | None = None) -> Dataset:
    """Train and test images and labels; decoded once per source, then read from the ``.npy`` cache."""
    source = _find(path)
    digest = source.digest()
    meta = {"digest": digest, "kind": source.kind, "format_version": FORMAT_VERSION}
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:24]
    folder = cache_dir() / "cifar10" / key
    arrays = _read_cache(folder, meta)
    if arrays is None:
        arrays = (_from_jpegs if source.lossy else _from_batches)(source)
        _write_cache(folder, arrays, meta)
    return Dataset.from_arrays(
        arrays,
        num_classes=len(CLASSES),
        kind="images",
        source=source.describe(),
        digest=digest,
        lossy=source.lossy,
    )

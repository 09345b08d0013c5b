"""IMDB sentiment (Maas et al. 2011) as Keras-imdb-style integer sequences.

Sources, in order: the raw Large Movie Review layout ``aclImdb/{train,test}/{pos,neg}/*.txt``
as a folder or as a tarball (``aclImdb_v1-labeled.tar.gz`` or the official
``aclImdb_v1.tar.gz``) in the places :func:`harness.data.sources.candidates` lists plus
the Keras cache; then Keras's own pre-tokenized ``imdb.npz`` in the Keras cache; then a
download of the official tarball through ``keras.utils.get_file``.

Tokenization of the raw text (documented because Keras's ``imdb.npz`` uses its own):

1. lower-case; every ``<br />`` (also ``<br>``, ``<br/>``) becomes a space;
2. tokens are runs of letters and digits, with inner apostrophes kept
   (``don't`` is one token); all other punctuation separates tokens and is dropped;
3. the word index ranks words by their count in the *training* split only (ties by
   the word's spelling); id 0 = padding, 1 = start of review, 2 = out of vocabulary,
   the most frequent word is 3, the next 4, and so on;
4. each review is ``[1] + ids``; ids ``>= num_words`` become 2; the result is cut and
   padded to ``maxlen`` as ``keras.utils.pad_sequences`` does by default (both at the
   front: the *last* ``maxlen`` tokens are kept).

From ``imdb.npz`` the same reserved ids are used (Keras's ranks shifted so the most
frequent word is 3). The padded arrays are cached under ``$HARNESS_CACHE_DIR`` (default
``~/.cache/harness``), keyed by the source's digest and the settings.
"""

from __future__ import annotations

import collections
import functools
import gzip
import hashlib
import io
import json
import os
import pickle
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.dataset import Dataset
from harness.data.sources import DataError, DatasetSpec, cache_dir, candidates, describe_place, keras_cache_dir

TOKENIZER_VERSION = 1  # bump when tokenization changes: old caches are then not reused
PAD, START, OOV, FIRST_WORD = 0, 1, 2, 3
SPLITS, LABELS = ("train", "test"), (("neg", 0), ("pos", 1))
TARBALLS = ("aclImdb_v1-labeled.tar.gz", "aclImdb_v1.tar.gz")
KERAS_NPZ = "imdb.npz"
URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
SPEC = DatasetSpec(
    name="IMDB (Large Movie Review Dataset v1.0)",
    subdir="imdb",
    files=(),
    system_dirs=(),
    download_base=URL,
    how_to_get=(
        f"set HARNESS_DATA_DIR to a folder holding {TARBALLS[0]}, {TARBALLS[1]} or an aclImdb/ folder, "
        "or allow the download (unset HARNESS_OFFLINE)."
    ),
)
_BREAK = re.compile(r"<br\s*/?>")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of one review (see the module docstring)."""
    return _TOKEN.findall(_BREAK.sub(" ", text.lower()))


@dataclass(frozen=True)
class _Source:
    kind: str  # "folder" | "tarball" | "keras_npz" | "download"
    path: Path
    label: str  # which place it came from

    def digest(self) -> str:
        if self.kind == "folder":
            listing = sorted(f"{p.relative_to(self.path)}:{p.stat().st_size}" for p in _review_files(self.path))
            return hashlib.sha256("\n".join(listing).encode()).hexdigest()
        sha = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
        return sha.hexdigest()

    def describe(self) -> str:
        how = (
            "Keras's tokenization (imdb.npz)" if self.kind == "keras_npz" else f"harness tokenizer v{TOKENIZER_VERSION}"
        )
        return f"{describe_place(self.label, self.path)} ({how})"


def _review_files(folder: Path) -> Iterator[Path]:
    for split in SPLITS:
        for label, _ in LABELS:
            yield from (folder / split / label).glob("*.txt")


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _find(explicit: str | Path | None) -> _Source:
    places = [*candidates(SPEC, explicit), ("Keras cache", keras_cache_dir())]
    looked: list[str] = []
    for label, place in dict.fromkeys(places):
        if place.is_file() and place.name.endswith((".tar.gz", ".tgz", ".tar")):
            return _Source("tarball", place, label)
        for folder in (place / "aclImdb", place):
            if (folder / "train").is_dir() or (folder / "test").is_dir():
                return _Source("folder", folder, label)
        for name in TARBALLS:
            if (place / name).is_file():
                return _Source("tarball", place / name, label)
        looked.append(f"{label}: {place}")
    if (keras_cache_dir() / KERAS_NPZ).is_file():
        return _Source("keras_npz", keras_cache_dir() / KERAS_NPZ, "Keras cache")
    if os.environ.get("HARNESS_OFFLINE") == "1":
        reason = "download skipped (HARNESS_OFFLINE=1)"
    else:
        try:
            import keras

            path = keras.utils.get_file(TARBALLS[1], origin=URL, cache_dir=str(keras_cache_dir().parent))
            return _Source("tarball", Path(path), f"download ({URL})")
        except Exception as error:
            reason = f"download from {URL} failed: {type(error).__name__}: {error}"
    listed = "\n".join(f"  - {place}" for place in [*looked, f"Keras cache: {keras_cache_dir() / KERAS_NPZ}"])
    raise DataError(
        f"{SPEC.name} not found. Looked for an aclImdb/ folder, {' or '.join(TARBALLS)} in:\n{listed}\n"
        f"  - {reason}\nTo get it: {SPEC.how_to_get}"
    )


def _split_of(name: str) -> tuple[str, int] | None:
    """``aclImdb/train/pos/1_7.txt`` → ``("train", 1)``; other members → None."""
    parts = name.split("/")
    if len(parts) < 4 or not parts[-1].endswith(".txt"):
        return None
    split, label = parts[-3], parts[-2]
    return (split, dict(LABELS)[label]) if split in SPLITS and label in dict(LABELS) else None


def _read_raw(source: _Source) -> dict[str, list[tuple[str, str, int]]]:
    """Reviews per split as (name, text, label), in name order; checks splits and empty files."""
    reviews: dict[str, list[tuple[str, str, int]]] = {split: [] for split in SPLITS}

    def add(name: str, raw: bytes) -> None:
        found = _split_of(name)
        if found is None:
            return
        text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            raise DataError(f"{source.path}: review file {name} is empty; the copy is damaged — replace it")
        reviews[found[0]].append((name, text, found[1]))

    if source.kind == "folder":
        for path in _review_files(source.path):
            add(path.relative_to(source.path.parent).as_posix(), path.read_bytes())
    else:
        try:
            with open(source.path, "rb") as raw:
                compressed = raw.read(2) == b"\x1f\x8b"
            with gzip.open(source.path) if compressed else open(source.path, "rb") as stream:
                with tarfile.open(fileobj=stream, mode="r|") as archive:
                    for member in archive:
                        if member.isfile() and _split_of(member.name):
                            add(member.name, archive.extractfile(member).read())
                while stream.read(1 << 20):  # to the end: a truncated gzip stream raises here
                    pass
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DataError(
                f"{source.path}: cannot be read as a tarball ({type(error).__name__}: {error}); "
                "it is truncated or corrupt — download it again"
            ) from None
    for split in SPLITS:
        for label, value in LABELS:
            if not any(y == value for _, _, y in reviews[split]):
                raise DataError(
                    f"{source.path}: no reviews in aclImdb/{split}/{label}/ — the copy is missing a split; "
                    "it needs aclImdb/{train,test}/{pos,neg}/*.txt"
                )
        reviews[split].sort()
    return reviews


def word_index(train_tokens: list[list[str]]) -> dict[str, int]:
    """Words of the training split ranked by count (ties by spelling): most frequent → 3."""
    counts = collections.Counter(word for tokens in train_tokens for word in tokens)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {word: FIRST_WORD + rank for rank, (word, _) in enumerate(ranked)}


def pad(sequences: list[list[int]], maxlen: int) -> np.ndarray:
    """As ``keras.utils.pad_sequences(sequences, maxlen)``: keep the last tokens, pad in front."""
    out = np.zeros((len(sequences), maxlen), np.int32)
    for row, sequence in enumerate(sequences):
        kept = sequence[-maxlen:]
        if kept:
            out[row, maxlen - len(kept) :] = kept
    return out


def _encode(sequences: list[list[int]], num_words: int, maxlen: int) -> np.ndarray:
    return pad([[START] + [i if i < num_words else OOV for i in ids] for ids in sequences], maxlen)


def _from_raw(source: _Source, num_words: int, maxlen: int) -> dict[str, np.ndarray]:
    reviews = _read_raw(source)
    tokens = {split: [tokenize(text) for _, text, _ in reviews[split]] for split in SPLITS}
    index = word_index(tokens["train"])
    arrays = {}
    for split in SPLITS:
        ids = [[index.get(word, OOV) for word in review] for review in tokens[split]]
        arrays[f"x_{split}"] = _encode(ids, num_words, maxlen)
        arrays[f"y_{split}"] = np.array([y for _, _, y in reviews[split]], np.int64)
    return arrays


class _ArraysOnly(pickle.Unpickler):
    """Unpickles NumPy arrays (of lists of numbers) and nothing else: no other class, no code."""

    ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),  # NumPy 1's spelling
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a NumPy array: refused")


def _read_ragged_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """An ``.npz`` whose object arrays (Keras's ragged ``imdb.npz``) are unpickled with :class:`_ArraysOnly`."""
    from numpy.lib import format as npy

    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for key in keys:
            with archive.open(f"{key}.npy") as member:
                stream = io.BytesIO(member.read())
            version = npy.read_magic(stream)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"{key}.npy has .npy format version {version}, not 1.0 or 2.0")
            read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            _, _, dtype = read_header(stream)
            if dtype.hasobject:
                arrays[key] = _ArraysOnly(stream).load()
            else:
                stream.seek(0)
                arrays[key] = npy.read_array(stream, allow_pickle=False)
    return arrays


def _from_keras_npz(source: _Source, num_words: int, maxlen: int) -> dict[str, np.ndarray]:
    try:
        raw = _read_ragged_npz(source.path, ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError) as error:
        raise DataError(f"{source.path}: not a readable Keras imdb.npz ({error}); delete it") from None
    shift = FIRST_WORD - 1  # Keras ranks words from 1
    arrays = {}
    for split in SPLITS:
        ids = [[int(i) + shift for i in review] for review in raw[f"x_{split}"]]
        arrays[f"x_{split}"] = _encode(ids, num_words, maxlen)
        arrays[f"y_{split}"] = np.asarray(raw[f"y_{split}"], np.int64)
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(buffer.getvalue())
    os.replace(temporary, path)  # atomic: a reader sees the whole file or none


@functools.cache
def load(path: str | None = None, num_words: int = 20000, maxlen: int = 80) -> Dataset:
    """Train and test sequences; tokenized once per (source, settings), then read from the cache."""
    num_words, maxlen = _positive_int("num_words", num_words), _positive_int("maxlen", maxlen)
    source = _find(path)
    digest = source.digest()
    key = {
        "digest": digest,
        "kind": source.kind,
        "tokenizer": TOKENIZER_VERSION,
        "num_words": num_words,
        "maxlen": maxlen,
    }
    cached = cache_dir() / "imdb" / (hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24] + ".npz")
    arrays = None
    if cached.is_file():
        try:
            with np.load(cached) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (OSError, ValueError):
            arrays = None  # a damaged cache is rebuilt
    if arrays is None:
        build = _from_keras_npz if source.kind == "keras_npz" else _from_raw
        arrays = build(source, num_words, maxlen)
        _write_cache(cached, arrays)
    return Dataset.from_arrays(
        arrays,
        num_classes=len(LABELS),
        kind="tokens",
        source=source.describe(),
        digest=digest,
        vocabulary_size=num_words,
    )

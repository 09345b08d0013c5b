"""CIFAR-10 loader: python batches and JPEG copy, search order, verification, cache."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.data import cifar10
from harness.data.sources import DataError
from tests.conftest import ROOT

SMALL = {"train": 3, "test": 2}  # images per class in the generated copies
REAL_PER_CLASS = dict(cifar10.PER_CLASS)


def _real_jpeg_tarball() -> Path | None:
    for base in (os.environ.get("HARNESS_DATA_DIR"), ROOT.parent / "shared" / "datasets"):
        if base and (Path(base) / cifar10.JPEG_TARBALL).is_file():
            return Path(base) / cifar10.JPEG_TARBALL
    return None


REAL_JPEG = _real_jpeg_tarball()  # before the fixtures below unset HARNESS_DATA_DIR


def _dataset(seed: int = 0) -> dict[str, np.ndarray]:
    """Shuffled labels and blocky random images (8×8 blocks survive JPEG well), as Keras returns them."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in SMALL.items():
        arrays[f"y_{split}"] = rng.permutation(np.repeat(np.arange(10), n)).astype(np.int64)
        blocks = rng.integers(0, 256, (10 * n, 4, 4, 3), dtype=np.uint8)
        arrays[f"x_{split}"] = blocks.repeat(8, axis=1).repeat(8, axis=2)
    return arrays


def _batch_files(data: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The original layout: pickled dicts with R, G, B planes per row, five training batches."""

    def batch(x: np.ndarray, y: np.ndarray) -> bytes:
        planes = x.transpose(0, 3, 1, 2).reshape(len(x), 3072)
        return pickle.dumps({b"batch_label": b"generated", b"labels": y.tolist(), b"data": planes}, protocol=2)

    names = cifar10.BATCHES["train"]
    parts = zip(np.array_split(data["x_train"], 5), np.array_split(data["y_train"], 5), strict=True)
    files = {f"cifar-10-batches-py/{name}": batch(x, y) for name, (x, y) in zip(names, parts, strict=True)}
    files["cifar-10-batches-py/test_batch"] = batch(data["x_test"], data["y_test"])
    files["cifar-10-batches-py/batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in cifar10.CLASSES]})
    return files


def _jpeg_files(data: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The JPEG copy's layout: ``cifar10/<split>/<class>/NNNN.jpg``, numbered in batch order."""
    files = {}
    for split in cifar10.SPLITS:
        seen = [0] * 10
        for x, y in zip(data[f"x_{split}"], data[f"y_{split}"], strict=True):
            buffer = io.BytesIO()
            Image.fromarray(x).save(buffer, "JPEG", quality=75)
            files[f"cifar10/{split}/{cifar10.CLASSES[y]}/{seen[y]:04d}.jpg"] = buffer.getvalue()
            seen[y] += 1
    return files


def _class_major(data: dict[str, np.ndarray], split: str) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(data[f"y_{split}"], kind="stable")
    return data[f"x_{split}"][order], data[f"y_{split}"][order]


def _write(root: Path, files: dict[str, bytes], form: str) -> Path:
    """``files`` as a folder tree under ``root`` or as ``root/<tarball>``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    if form == "folder":
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        return root
    jpeg = any(name.startswith("cifar10/") for name in files)
    with tarfile.open(root / (cifar10.JPEG_TARBALL if jpeg else cifar10.BATCH_TARBALL), "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return root


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real data, no Keras cache, no download, a private array cache, few images per class."""
    monkeypatch.delenv("HARNESS_EXPLICIT_DATA_DIR", raising=False)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cifar10, "PER_CLASS", dict(SMALL))
    cifar10.load.cache_clear()
    yield
    cifar10.load.cache_clear()


@pytest.mark.parametrize("form", ["tarball", "folder"])
def test_python_batches_load_exactly_as_keras_arranges_them(tmp_path, form):
    data = _dataset()
    _write(tmp_path / "data", _batch_files(data), form)
    loaded = cifar10.load()
    for name, expected in data.items():
        xy, split = name.split("_")
        got = getattr(getattr(loaded, split), xy)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    assert (loaded.num_classes, loaded.kind, loaded.input_shape) == (10, "images", (32, 32, 3))
    assert not loaded.lossy and "original CIFAR-10 python batches" in loaded.source
    assert loaded.source.startswith("$HARNESS_DATA_DIR/")
    from harness.workloads.components import CIFAR10

    assert CIFAR10.loader == "harness.data.cifar10:load"


def test_keras_extracted_batches_in_the_keras_cache_are_found(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_DATA_DIR")
    data = _dataset()
    _write(tmp_path / "keras-home" / "datasets" / "cifar-10-batches-py", _batch_files(data), "folder")
    loaded = cifar10.load()
    np.testing.assert_array_equal(loaded.test.x, data["x_test"])
    assert loaded.source.startswith("Keras cache/") and "cifar-10-batches-py/cifar-10-batches-py" in loaded.source


@pytest.mark.parametrize("form", ["tarball", "folder"])
def test_jpeg_copy_is_close_lossy_and_class_major(tmp_path, form):
    data = _dataset()
    _write(tmp_path / "data", _jpeg_files(data), form)
    loaded = cifar10.load()
    assert loaded.lossy and "JPEG quality-75 re-encodings of CIFAR-10" in loaded.source
    for split in cifar10.SPLITS:
        x, y = _class_major(data, split)
        np.testing.assert_array_equal(getattr(loaded, split).y, y)
        got = getattr(loaded, split).x
        assert got.dtype == np.uint8 and got.shape == x.shape
        assert np.abs(got.astype(int) - x).mean() < 20


def test_original_batches_win_over_the_jpeg_copy_in_the_same_place(tmp_path):
    data = _dataset()
    _write(tmp_path / "data", _jpeg_files(data), "tarball")
    _write(tmp_path / "data", _jpeg_files(data), "folder")
    _write(tmp_path / "data", _batch_files(data), "tarball")
    loaded = cifar10.load()
    assert not loaded.lossy and loaded.source.endswith(f"{cifar10.BATCH_TARBALL} (original CIFAR-10 python batches)")


def test_wrong_counts_name_the_source_and_the_counts(tmp_path, monkeypatch):
    files = _jpeg_files(_dataset())
    del files["cifar10/test/cat/0001.jpg"]
    _write(tmp_path / "data", files, "tarball")
    with pytest.raises(DataError, match=r"cifar10-jpeg.tar.gz: test split holds 19 images \(.*bird 2, cat 1, deer 2"):
        cifar10.load()
    _write(tmp_path / "batches", _batch_files(_dataset()), "folder")
    monkeypatch.setattr(cifar10, "PER_CLASS", {"train": 4, "test": 2})
    with pytest.raises(DataError, match=r"batches/cifar-10-batches-py: train split holds 30 images .* 4 per class"):
        cifar10.load(str(tmp_path / "batches"))


@pytest.mark.parametrize("form", ["tarball", "folder"])
@pytest.mark.parametrize(
    "content, message",
    [(b"garbage", r"not a decodable image"), ("big", r"image is 40×32; CIFAR-10 images are 32×32")],
)
def test_bad_jpeg_names_the_member(tmp_path, form, content, message):
    if content == "big":
        buffer = io.BytesIO()
        Image.new("RGB", (40, 32)).save(buffer, "JPEG")
        content = buffer.getvalue()
    files = {**_jpeg_files(_dataset()), "cifar10/train/dog/0001.jpg": content}
    _write(tmp_path / "data", files, form)
    where = "cifar10-jpeg.tar.gz: member cifar10" if form == "tarball" else "data/cifar10"
    with pytest.raises(DataError, match=rf"{where}/train/dog/0001.jpg: {message}"):
        cifar10.load()


def test_unknown_class_folder_is_named(tmp_path):
    _write(tmp_path / "data", {**_jpeg_files(_dataset()), "cifar10/train/plane/0000.jpg": b"x"}, "tarball")
    with pytest.raises(DataError, match=r"unknown class folder 'plane' \(cifar10/train/plane/0000.jpg\)"):
        cifar10.load()


@pytest.mark.parametrize("files", [_jpeg_files, _batch_files])
def test_truncated_tarball_is_named_and_writes_no_cache(tmp_path, files):
    whole = _write(tmp_path / "data", files(_dataset()), "tarball")
    tarball = next(whole.glob("*.tar.gz"))
    tarball.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 2])
    with pytest.raises(DataError, match=rf"{tarball.name}: cannot be read as a tarball .* truncated or corrupt"):
        cifar10.load()
    assert not (tmp_path / "cache").exists()


def _labels_out_of_range(content: bytes) -> bytes:
    batch = pickle.loads(content, encoding="bytes")
    return pickle.dumps({**batch, b"labels": [10] * len(batch[b"labels"])}, protocol=2)


def _wrong_shape(content: bytes) -> bytes:
    batch = pickle.loads(content, encoding="bytes")
    return pickle.dumps({**batch, b"data": batch[b"data"][:, :3000]}, protocol=2)


@pytest.mark.parametrize(
    "name, damage, message",
    [
        ("data_batch_3", lambda _: b"not a pickle", r"not a CIFAR-10 python batch \(UnpicklingError"),
        ("test_batch", _labels_out_of_range, r"labels must be integers 0..9, found 10..10"),
        ("data_batch_1", _wrong_shape, r"data is uint8 \(6, 3000\)"),
        ("data_batch_2", lambda _: pickle.dumps(print), r"refusing to load builtins.print"),
    ],
)
def test_bad_python_batch_names_the_file(tmp_path, name, damage, message):
    files = _batch_files(_dataset())
    files[f"cifar-10-batches-py/{name}"] = damage(files[f"cifar-10-batches-py/{name}"])
    _write(tmp_path / "data", files, "folder")
    with pytest.raises(DataError, match=rf"cifar-10-batches-py/{name}: .*{message}"):
        cifar10.load()


def test_missing_python_batch_is_named(tmp_path):
    files = _batch_files(_dataset())
    del files["cifar-10-batches-py/data_batch_5"]
    _write(tmp_path / "data", files, "tarball")
    with pytest.raises(DataError, match=r"member cifar-10-batches-py/data_batch_5 is missing"):
        cifar10.load()


def test_second_load_reads_the_cache(tmp_path, monkeypatch):
    _write(tmp_path / "data", _jpeg_files(_dataset()), "tarball")
    first = cifar10.load()
    cifar10.load.cache_clear()
    monkeypatch.setattr(cifar10, "_decode_jpeg", lambda *a: pytest.fail("decoded again despite the cache"))
    second = cifar10.load()
    for split in ("train", "test"):
        np.testing.assert_array_equal(getattr(first, split).x, getattr(second, split).x)
        np.testing.assert_array_equal(getattr(first, split).y, getattr(second, split).y)
    (cached,) = (tmp_path / "cache" / "cifar10").iterdir()
    assert sorted(p.name for p in cached.iterdir()) == ["source.json", *sorted(f"{a}.npy" for a in cifar10.ARRAYS)]
    assert json.loads((cached / "source.json").read_text())["digest"] == first.digest


@pytest.mark.parametrize("form", ["tarball", "folder"])
def test_new_source_content_rebuilds_the_cache(tmp_path, form):
    _write(tmp_path / "data", _batch_files(_dataset(seed=1)), form)
    old = cifar10.load()
    _write(tmp_path / "data", _batch_files(new := _dataset(seed=2)), form)  # same names and sizes
    cifar10.load.cache_clear()
    loaded = cifar10.load()
    assert loaded.digest != old.digest
    np.testing.assert_array_equal(loaded.train.x, new["x_train"])
    assert len(list((tmp_path / "cache" / "cifar10").iterdir())) == 2


@pytest.mark.parametrize("damage", ["other digest", "truncated npy", "missing npy"])
def test_damaged_or_foreign_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    data = _dataset()
    _write(tmp_path / "data", _jpeg_files(data), "tarball")
    expected = cifar10.load()
    (cached,) = (tmp_path / "cache" / "cifar10").iterdir()
    if damage == "other digest":
        meta = json.loads((cached / "source.json").read_text())
        (cached / "source.json").write_text(json.dumps({**meta, "digest": "0" * 64}))
    elif damage == "truncated npy":
        (cached / "x_train.npy").write_bytes((cached / "x_train.npy").read_bytes()[:500])
    else:
        (cached / "y_test.npy").unlink()
    calls = []
    decode = cifar10._decode_jpeg
    monkeypatch.setattr(cifar10, "_decode_jpeg", lambda *a: calls.append(1) or decode(*a))
    cifar10.load.cache_clear()
    loaded = cifar10.load()
    assert len(calls) == 10 * sum(SMALL.values())
    np.testing.assert_array_equal(loaded.train.x, expected.train.x)
    assert json.loads((cached / "source.json").read_text())["digest"] == expected.digest
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary or stale folders left


def test_not_found_lists_every_place_and_the_fix(tmp_path):
    with pytest.raises(DataError) as caught:
        cifar10.load(str(tmp_path / "nowhere"))
    text = str(caught.value)
    for place in (
        f"explicit path: {tmp_path / 'nowhere' / 'cifar10'}",
        f"$HARNESS_DATA_DIR: {tmp_path / 'data'}",
        f"Keras cache: {tmp_path / 'keras-home' / 'datasets' / 'cifar10'}",
        f"Keras cache: {tmp_path / 'keras-home' / 'datasets'}\n",
    ):
        assert place in text
    assert "HARNESS_OFFLINE=1" in text and "To get it" in text and "cifar-10-python.tar.gz" in text


def _fake_keras(get_file) -> types.SimpleNamespace:
    return types.SimpleNamespace(utils=types.SimpleNamespace(get_file=get_file))


def test_download_goes_through_keras_get_file(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_OFFLINE")
    data, calls = _dataset(), []

    def get_file(fname, origin, untar, cache_dir):  # as Keras 3: extracts inside datasets/<fname>/
        calls.append((fname, origin, untar, cache_dir))
        return str(_write(Path(cache_dir) / "datasets" / fname, _batch_files(data), "folder"))

    monkeypatch.setitem(sys.modules, "keras", _fake_keras(get_file))
    loaded = cifar10.load()
    assert calls == [("cifar-10-batches-py", cifar10.URL, True, str(tmp_path / "keras-home"))]
    np.testing.assert_array_equal(loaded.train.x, data["x_train"])
    assert loaded.source.startswith(f"download ({cifar10.URL}): ") and not loaded.lossy
    cifar10.load.cache_clear()
    assert cifar10.load().source.startswith("Keras cache/")  # found locally from now on


def test_failed_download_is_reported(monkeypatch):
    monkeypatch.delenv("HARNESS_OFFLINE")

    def get_file(*_, **__):
        raise RuntimeError("no network")

    monkeypatch.setitem(sys.modules, "keras", _fake_keras(get_file))
    with pytest.raises(DataError, match=r"download from .*cifar-10-python.tar.gz failed: RuntimeError: no network"):
        cifar10.load()


def test_loading_local_files_does_not_import_keras(tmp_path):
    _write(tmp_path / "data", _batch_files(_dataset()), "tarball")
    script = (
        "import sys; from harness.data import cifar10\n"
        f"cifar10.PER_CLASS = {SMALL!r}\n"
        "cifar10.load()\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'imported keras'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, env=os.environ.copy(), timeout=60)


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cifar-cache")


@pytest.mark.skipif(REAL_JPEG is None, reason=f"{cifar10.JPEG_TARBALL} not found: set HARNESS_DATA_DIR (see README)")
def test_real_jpeg_copy(monkeypatch, real_cache):
    monkeypatch.setattr(cifar10, "PER_CLASS", REAL_PER_CLASS)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(real_cache))
    data = cifar10.load(str(REAL_JPEG))
    assert data.train.x.shape == (50000, 32, 32, 3) and data.test.x.shape == (10000, 32, 32, 3)
    assert data.train.x.dtype == data.test.x.dtype == np.uint8
    assert data.train.y.dtype == data.test.y.dtype == np.int64
    assert np.bincount(data.train.y).tolist() == [5000] * 10 and np.bincount(data.test.y).tolist() == [1000] * 10
    np.testing.assert_allclose(data.train.x.reshape(-1, 3).mean(axis=0), [125.3, 123.0, 113.9], atol=1.0)
    assert data.lossy and "JPEG quality-75" in data.source

import gzip
import hashlib
import types

import numpy as np
import pytest

from harness.data import fashion_mnist as fm
from harness.data.dataset import Split
from harness.data.sources import DataError, DataFile, DatasetSpec, locate, read_verified


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def fake_spec(tmp_path):
    """Four tiny IDX files and a spec whose digests match them."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(30) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(10) % 10,
    }
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    files = []
    for name, array in arrays.items():
        content = _idx(array)
        (folder / name).write_bytes(gzip.compress(content))
        files.append(DataFile(name, hashlib.sha256(content).hexdigest()))
    spec = DatasetSpec(
        "Fake", "fashion-mnist", tuple(files), ("/nonexistent/system",), "https://example.invalid/", "get it"
    )
    return spec, folder


def test_search_order_and_error_names_every_place(tmp_path, monkeypatch, fake_spec):
    spec, folder = fake_spec
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    assert locate(spec).source == "$HARNESS_DATA_DIR"
    assert locate(spec, explicit=folder).source == "explicit path"
    monkeypatch.setenv("HARNESS_EXPLICIT_DATA_DIR", str(tmp_path))  # harness campaign --data-dir
    assert locate(spec).source == "explicit path"
    monkeypatch.delenv("HARNESS_EXPLICIT_DATA_DIR")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataError) as error:
        locate(spec, explicit=tmp_path / "nowhere")
    message = str(error.value)
    for place in ("nowhere", "empty", "/nonexistent/system", str(tmp_path / "keras"), "HARNESS_OFFLINE=1", "get it"):
        assert place in message


def test_checksum_mismatch_names_file_and_expected_digest(fake_spec, monkeypatch):
    spec, folder = fake_spec
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    target = folder / spec.files[1].name
    target.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc"))
    located = locate(spec, explicit=folder)
    with pytest.raises(DataError, match=rf"{target.name}.*expected {spec.files[1].sha256}"):
        read_verified(located, spec.files[1])


def test_truncated_gzip_is_a_clear_error(fake_spec):
    spec, folder = fake_spec
    target = folder / spec.files[0].name
    target.write_bytes(target.read_bytes()[:50])
    with pytest.raises(DataError, match=target.name):
        read_verified(locate(spec, explicit=folder), spec.files[0])


def test_parse_idx_rejects_wrong_sizes():
    with pytest.raises(DataError, match="header says"):
        fm.parse_idx(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "x")


def test_task_split_relabels_and_counts():
    y = np.array([0, 1, 2, 3, 9, 2, 0, 5, 2, 8])
    split = Split(np.arange(10, dtype=np.float32)[:, None], y)
    a = fm.task_a(split, (0, 2))
    assert a.y.tolist() == [0, 1, 7, 3, 6]  # 1→0, 3→1, 9→7, 5→3, 8→6
    b = fm.task_b(split, (0, 2), size=3)
    assert b.x[:, 0].tolist() == [0, 2, 5] and b.y.tolist() == [0, 1, 1]  # Pullover (2) = 1


def test_book_split_on_the_real_data(data_dir):
    data = fm.load()
    assert (len(data.train), len(data.test), data.num_classes, data.kind) == (60000, 10000, 10, "images")
    data = types.SimpleNamespace(train=data.train.head(55000), test=data.test)  # the book: the last 5,000 validate
    assert data.train.x.dtype == np.float32 and data.train.x.min() >= 0.0 and data.train.x.max() <= 1.0
    a = fm.task_a(data.train, (0, 2))
    assert sorted(np.unique(a.y)) == list(range(8)) and len(a) == 55000 - int(np.isin(data.train.y, (0, 2)).sum())
    b = fm.task_b(data.train, (0, 2), 200)
    assert len(b) == 200 and set(np.unique(b.y)) == {0, 1}
    first_200 = np.flatnonzero(np.isin(data.train.y, (0, 2)))[:200]
    assert np.array_equal(b.y, (data.train.y[first_200] == 2).astype(int))
    test_b = fm.task_b(data.test, (0, 2))
    assert len(test_b) == 2000 and test_b.y.sum() == 1000

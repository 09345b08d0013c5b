"""IMDB loader: tokenization, word index, padding, sources, cache, and every bad input."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from harness.data import imdb
from harness.data.sources import DataError

REVIEWS = {
    "train/pos/0_9.txt": "Great movie!<br /><br />Great acting, don't miss it.",
    "train/pos/1_8.txt": "great GREAT fun",
    "train/neg/0_1.txt": "Awful. Just awful... I don't like it",
    "train/neg/1_2.txt": "boring movie",
    "test/pos/0_10.txt": "great unseenword",
    "test/neg/0_3.txt": "awful boring",
}


def _folder(root: Path, reviews: dict[str, str] = REVIEWS) -> Path:
    for name, text in reviews.items():
        path = root / "aclImdb" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _tarball(path: Path, reviews: dict[str, str] = REVIEWS) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in reviews.items():
            data = text.encode()
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real data, no Keras cache, no download, a private tokenization cache."""
    for name in ("HARNESS_DATA_DIR", "HARNESS_EXPLICIT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    imdb.load.cache_clear()
    yield
    imdb.load.cache_clear()


def test_tokenization_is_documented_behaviour():
    assert imdb.tokenize("Great movie!<br /><br />Don't MISS it, ok?<br>x") == [
        "great", "movie", "don't", "miss", "it", "ok", "x",
    ]  # fmt: skip
    assert imdb.tokenize("café--naïve 1990s") == ["café", "naïve", "1990s"]


def test_word_index_ranks_training_words_by_count_then_spelling():
    index = imdb.word_index([["b", "a", "b"], ["c", "a", "b"]])
    assert index == {"b": 3, "a": 4, "c": 5}


def test_padding_matches_keras_pad_sequences():
    from keras.utils import pad_sequences

    sequences = [[5, 6, 7, 8], [9], [], [1, 2, 3]]
    np.testing.assert_array_equal(imdb.pad(sequences, 3), pad_sequences(sequences, maxlen=3))


def test_folder_and_tarball_give_the_same_keras_style_sequences(tmp_path):
    from_folder = imdb.load(str(_folder(tmp_path / "f")), num_words=6, maxlen=5)
    imdb.load.cache_clear()
    from_tarball = imdb.load(str(_tarball(tmp_path / "t.tar.gz")), num_words=6, maxlen=5)
    for a, b in ((from_folder.train, from_tarball.train), (from_folder.test, from_tarball.test)):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
    # train counts: great 4, awful 2, don't 2, it 2, movie 2 → ids 3..7 (ties by spelling)
    great, awful = 3, 4
    test = from_tarball.test
    assert test.y.tolist() == [0, 1]  # sorted by file name: neg before pos
    assert test.x[0].tolist() == [0, 0, imdb.START, awful, imdb.OOV]  # "boring" ranks past num_words=6
    assert test.x[1].tolist() == [0, 0, imdb.START, great, imdb.OOV]  # a word only in test is out of vocabulary
    assert from_folder.source.endswith("f/aclImdb (harness tokenizer v1)")
    assert from_tarball.source.endswith("t.tar.gz (harness tokenizer v1)")


def test_second_load_reads_the_cache(tmp_path, monkeypatch):
    source = str(_tarball(tmp_path / "t.tar.gz"))
    first = imdb.load(source, num_words=50, maxlen=7)
    imdb.load.cache_clear()
    monkeypatch.setattr(imdb, "_from_raw", lambda *a: pytest.fail("tokenized again despite the cache"))
    second = imdb.load(source, num_words=50, maxlen=7)
    np.testing.assert_array_equal(first.train.x, second.train.x)
    assert len(list((tmp_path / "cache" / "imdb").glob("*.npz"))) == 1


def test_other_settings_or_source_do_not_reuse_the_cache(tmp_path):
    source = tmp_path / "t.tar.gz"
    imdb.load(str(_tarball(source)), num_words=50, maxlen=7)
    imdb.load(str(source), num_words=50, maxlen=8)
    _tarball(source, {**REVIEWS, "test/neg/1_1.txt": "new review"})
    imdb.load.cache_clear()  # the in-process memo; the file cache must notice the new digest by itself
    assert len(imdb.load(str(source), num_words=50, maxlen=7).test) == 3
    assert len(list((tmp_path / "cache" / "imdb").glob("*.npz"))) == 3


def test_keras_imdb_npz_in_the_keras_cache_is_a_source(tmp_path):
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1, 2, 30], [4]
    np.savez(cache / "imdb.npz", x_train=ragged, y_train=np.array([1, 0]), x_test=ragged, y_test=np.array([0, 1]))
    data = imdb.load(num_words=10, maxlen=4)
    # Keras ranks words from 1: shifted so the most frequent word is 3; ids >= num_words → OOV
    assert data.train.x.tolist() == [[imdb.START, 3, 4, imdb.OOV], [0, 0, imdb.START, 6]]
    assert "Keras's tokenization (imdb.npz)" in data.source


def test_raw_reviews_win_over_keras_npz(tmp_path, monkeypatch):
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "imdb.npz").write_bytes(b"not used")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(_folder(tmp_path / "data")))
    assert "$HARNESS_DATA_DIR" in imdb.load(num_words=50, maxlen=5).source


def test_not_found_names_every_place_and_the_fix(tmp_path):
    with pytest.raises(DataError) as caught:
        imdb.load(str(tmp_path / "nowhere"))
    text = str(caught.value)
    assert "explicit path" in text and "Keras cache" in text and "HARNESS_OFFLINE=1" in text
    assert "aclImdb_v1.tar.gz" in text and "To get it" in text


def test_missing_split_names_the_folder(tmp_path):
    partial = {k: v for k, v in REVIEWS.items() if not k.startswith("test/neg")}
    with pytest.raises(DataError, match=r"no reviews in aclImdb/test/neg/"):
        imdb.load(str(_tarball(tmp_path / "t.tar.gz", partial)))


def test_empty_review_names_the_file(tmp_path):
    with pytest.raises(DataError, match=r"review file aclImdb/train/neg/1_2.txt is empty"):
        imdb.load(str(_folder(tmp_path, {**REVIEWS, "train/neg/1_2.txt": "  \n"})))


def test_truncated_tarball_is_an_error_and_writes_no_cache(tmp_path):
    whole = _tarball(tmp_path / "whole.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut.tar.gz: cannot be read as a tarball .* truncated or corrupt"):
        imdb.load(str(cut))
    assert not list((tmp_path / "cache").rglob("*.npz"))


@pytest.mark.parametrize("field, value", [("num_words", 0), ("maxlen", -5), ("maxlen", 2.5), ("num_words", "many")])
def test_settings_must_be_positive_integers(tmp_path, field, value):
    with pytest.raises(ValueError, match=f"{field} must be a positive integer, got {value!r}"):
        imdb.load(str(_folder(tmp_path)), **{field: value})


def test_full_dataset_counts(monkeypatch):
    from tests.conftest import real_data_dir

    base = real_data_dir()
    if base is None or not (base / imdb.TARBALLS[0]).is_file():
        pytest.skip("the IMDB tarball is not on this machine: set HARNESS_DATA_DIR (see README)")
    monkeypatch.delenv("HARNESS_CACHE_DIR")  # share the real cache with the campaigns
    data = imdb.load(str(base), num_words=20000, maxlen=80)
    assert data.train.x.shape == data.test.x.shape == (25000, 80)
    assert data.train.y.sum() == data.test.y.sum() == 12500
    assert data.train.x.max() == 19999 and (data.train.x[:, -1] > imdb.OOV).mean() > 0.95


class _Payload:
    """What a malicious pickle would run on load."""

    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_keras_npz_holding_anything_but_arrays_is_refused_without_running_it(tmp_path, monkeypatch):
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    hostile = np.empty(1, dtype=object)
    hostile[0] = _Payload()
    np.savez(cache / "imdb.npz", x_train=hostile, y_train=np.array([1]), x_test=hostile, y_test=np.array([0]))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"imdb.npz: not a readable Keras imdb.npz \(posix.system is not a NumPy"):
        imdb.load(num_words=10, maxlen=4)
    assert not (tmp_path / "pwned.txt").exists()

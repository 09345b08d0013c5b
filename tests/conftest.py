from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def real_data_dir() -> Path | None:
    """The Fashion-MNIST files if this machine has them (dev and CI: ../shared/datasets)."""
    for base in (os.environ.get("HARNESS_DATA_DIR"), ROOT.parent / "shared" / "datasets"):
        if base and (Path(base) / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
            return Path(base)
    return None


@pytest.fixture
def data_dir(monkeypatch) -> Path:
    found = real_data_dir()
    if found is None:
        pytest.skip("Fashion-MNIST files not found: set HARNESS_DATA_DIR (see README)")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(found))
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    return found


@pytest.fixture
def workspace(tmp_path, monkeypatch, data_dir) -> Path:
    """A fresh runs/ and reports/ for a campaign, with the project's suites."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_SUITES_DIR", str(ROOT / "suites"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("HARNESS_RUNS_DIR", raising=False)
    return tmp_path

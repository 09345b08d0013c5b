from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def mutated_suite(tmp_path: Path, source: Path, mutate) -> Path:
    """``source`` loaded, changed in place by ``mutate``, written to ``tmp_path``."""
    data = yaml.safe_load(source.read_text())
    mutate(data)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(data))
    return path


def suite_problems(tmp_path: Path, source: Path, mutate) -> list[str]:
    """The problems loading the mutated suite raises; the error names the file."""
    from harness.suites import SuiteError, load

    path = mutated_suite(tmp_path, source, mutate)
    with pytest.raises(SuiteError) as error:
        load(str(path))
    assert str(path) in str(error.value)
    return error.value.problems


def real_data_dir() -> Path | None:
    """The Fashion-MNIST files if this machine has them (dev and CI: ../shared/datasets)."""
    for base in (os.environ.get("HARNESS_DATA_DIR"), ROOT.parent / "shared" / "datasets"):
        if base and (Path(base) / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
            return Path(base).resolve()  # absolute: tests change directory
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


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 ($HARNESS_TEST_POSTGRES if set, else started here)."""
    if os.environ.get("HARNESS_TEST_POSTGRES"):
        yield os.environ["HARNESS_TEST_POSTGRES"]
        return
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql); multi-worker test skipped")
    data = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own account
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    run(str(binaries / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "harness")
    options = f"-h 127.0.0.1 -p {port} -k {data}"
    run(str(binaries / "pg_ctl"), "-D", str(data / "db"), "-o", options, "-l", str(data / "log"), "-w", "start")
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "harness", "harness")
        yield f"postgresql://harness@127.0.0.1:{port}/harness"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


FLOAT16_PROBE = """
import harness, keras, numpy as np
keras.config.set_dtype_policy("mixed_float16")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.compile("sgd", "mse")
model.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
"""


@pytest.fixture(scope="session")
def float16_kernels() -> None:
    """Skip unless this machine's backend trains a float16 layer. TensorFlow's oneDNN, capped at AVX2 by
    the harness, has no float16 kernels on some CPUs and aborts the process, so a child process asks
    (runs there train in float32: ``harness.training.dtype_policy_for``)."""
    probe = subprocess.run([sys.executable, "-c", FLOAT16_PROBE], capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        pytest.skip(
            f"no float16 kernels on this CPU under ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'AVX2')} "
            f"(a float16 Dense layer exits with {probe.returncode})"
        )

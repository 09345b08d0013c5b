"""Choosing the Keras backend: one clear line when it cannot be used, before anything is recorded."""

import importlib.util

import pytest

from harness import backends
from harness.cli import main


def test_selected_follows_the_environment_then_keras_json(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert backends.selected() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert backends.selected() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert backends.selected() == "torch"


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("jax", "KERAS_BACKEND asks for Keras backend 'jax', but jax is not installed: pip install jax"),
        ("jaxx", "KERAS_BACKEND asks for Keras backend 'jaxx' (did you mean 'jax'?), which the harness cannot train"),
        ("numpy", "KERAS_BACKEND asks for Keras backend 'numpy', which the harness cannot train with"),
    ],
)
def test_unusable_backend_is_one_line_before_any_run_is_recorded(workspace, monkeypatch, capsys, backend, expected):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    monkeypatch.setenv("KERAS_BACKEND", backend)
    assert main(["campaign", "fashion", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {expected}") and "\n" not in err
    assert not (workspace / "runs").exists()  # nothing opened, nothing recorded

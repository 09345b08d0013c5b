"""Per backend: the same seed gives identical numbers in separate processes (run under each tested backend)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

TRIAL = """
import json, sys
from harness.suites import load
from harness.trial import TrialSpec, run_trial
suite = load(sys.argv[1])
settings = suite.settings_dict("smoke", "transfer")
result = run_trial(TrialSpec(suite.name, "smoke", "transfer", 0, 1234, suite.workload.name, settings))
import keras
print(json.dumps({"backend": keras.backend.backend(), "status": result.status, "metrics": result.metrics,
                  "history": result.history}))
"""


@pytest.mark.slow
def test_same_seed_same_numbers_in_two_processes(data_dir):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def once() -> dict:
        done = subprocess.run(
            [sys.executable, "-c", TRIAL, str(ROOT / "suites" / "fashion.yaml")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    first, second = once(), once()
    assert first["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow") and first["status"] == "ok"
    assert first["metrics"] == second["metrics"] and first["history"] == second["history"]  # bit for bit
    assert {"test_accuracy", "val_accuracy"} <= first["metrics"].keys()

"""Every benchmark script runs in its tiny mode (``--smoke``: one repetition on a slice, nothing recorded).

So that no script can rot unnoticed; the figures themselves come from full runs, in reports/benchmarks.md.
"""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name != "record.py")
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_in_smoke_mode(script, data_dir):
    before = (ROOT / "reports" / "benchmarks.md").read_text()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HARNESS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (ROOT / "reports" / "benchmarks.md").read_text() == before  # smoke mode records nothing

"""The supervised workload reproduces the pre-migration workloads' numbers (smoke profiles, seed 0).

``golden/smoke_before_migration.json`` holds every arm's seed-0 metrics of the smoke
profiles as the hand-built workloads (``vision``, ``sentiment``, the flat ``transfer``) gave
them at commit 9637a7a on TensorFlow's CPU build, with the machine's CPU flags. On a CPU with
the same flags the numbers must be bitwise identical; elsewhere TensorFlow's kernels may
round differently (e.g. without AVX-512), so they must agree within 0.05.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from harness.seeds import confirmation_seed
from harness.suites import load
from harness.trial import TrialSpec, run_trial
from tests.conftest import ROOT

GOLDEN = json.loads((Path(__file__).with_name("golden") / "smoke_before_migration.json").read_text())


def cpu_flags() -> str:
    """A digest of the CPU's model name and feature flags (what TensorFlow's CPU kernels depend on)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    wanted = sorted({line.split(":", 1)[1].strip() for line in lines if line.startswith(("flags", "model name"))})
    return hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]


def _trial_metrics(key: str) -> dict[str, float]:
    name, profile, arm, index = key.split("/")
    suite = load(ROOT / "suites" / f"{name}.yaml")
    seed = confirmation_seed(suite.root_seed, int(index))
    spec = TrialSpec(name, profile, arm, int(index), seed, suite.workload.name, suite.settings_dict(profile, arm))
    return run_trial(spec, threads=1).metrics


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(GOLDEN["trials"]))
def test_smoke_trial_matches_the_pre_migration_numbers(key, data_dir):
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the golden numbers are TensorFlow's")
    # a fresh process, as a campaign runs a trial: threads and Keras state of earlier tests would change the sums
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        metrics = pool.submit(_trial_metrics, key).result()
    expected = GOLDEN["trials"][key]
    got = {metric: metrics.get(metric) for metric in expected}
    if cpu_flags() == GOLDEN["cpu_flags"]:
        assert got == expected  # bitwise
    else:
        assert got == pytest.approx(expected, abs=0.05)

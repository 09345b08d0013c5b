"""``runs.csv``: one row per run of a report (every status), enough to recompute every interval in it.

Columns: the run's identity (kind, variant, arm, seed index and seed), its status (``ok``,
``diverged``, ``failed``, ``pruned``), ``current`` (its settings hash is the one the suite
file gives today: only current runs enter the report), the settings hash, wall time, MLflow
run id, provenance (commit, backend, package versions, CPU and its instruction sets, oneDNN,
threads) and then every final metric, one ``metric:NAME`` column each (empty: not logged).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.studies import PRUNED_AT, UNTUNED
from harness.tracking import TrialRecord

METRIC_PREFIX = "metric:"
IDENTITY = ("suite", "profile", "kind", "variant", "arm", "seed_index", "seed", "status", "current", "reason")
RUN = ("settings_hash", "wall_time_s", "mlflow_run_id")
PLATFORM = (  # what decides whether a run's numbers come out bitwise the same elsewhere (with ``threads``)
    "keras_backend",
    "version.keras",
    "version.tensorflow",
    "version.jax",
    "version.torch",
    "version.numpy",
    "cpu",
    "cpu_features",
    "onednn",
)
PROVENANCE = ("git_commit", *PLATFORM, "threads", "data_source", "data_digest")


def _status(record: TrialRecord) -> str:
    return "pruned" if f"info.{PRUNED_AT}" in record.tags else record.status


def rows(
    suite: str, profile: str, records: Iterable[TrialRecord], current: Callable[[TrialRecord], bool]
) -> list[dict[str, str]]:
    """One row per run (confirmation trials and sweep trials), sorted by kind, variant, arm and seed index."""
    out = []
    for record in records:
        kind = record.tags.get("kind", "trial")
        row = {
            "suite": suite,
            "profile": profile,
            "kind": kind,
            "variant": record.tags.get("variant", UNTUNED) if kind == "trial" else "sweep",
            "arm": record.arm,
            "seed_index": str(record.seed_index),
            "seed": str(record.seed),
            "status": _status(record),
            "current": str(current(record)).lower(),
            "reason": record.reason,
            "settings_hash": record.params_hash,
            "wall_time_s": repr(record.wall_time_s),
            "mlflow_run_id": record.run_id,
            **{key: record.tags.get(key, "") for key in PROVENANCE},
            **{METRIC_PREFIX + name: repr(value) for name, value in record.metrics.items()},
        }
        out.append(row)
    return sorted(out, key=lambda r: (r["kind"], r["variant"], r["arm"], int(r["seed_index"]), r["mlflow_run_id"]))


def to_csv(table: list[dict[str, str]]) -> str:
    """The table as CSV text; floats are written with ``repr`` (round-trip exact)."""
    metrics = sorted({key for row in table for key in row if key.startswith(METRIC_PREFIX)})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*IDENTITY, *RUN, *PROVENANCE, *metrics], lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def read(path: Path) -> list[dict[str, str]]:
    """A report's ``runs.csv`` as rows of strings."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def metric(row: dict[str, str], name: str) -> float | None:
    """A row's final value of ``name`` (None when not logged)."""
    value = row.get(METRIC_PREFIX + name, "")
    return float(value) if value else None

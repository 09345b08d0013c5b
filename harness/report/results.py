"""``results.json``: written from and read through one pydantic model, its schema version checked on read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

SCHEMA_VERSION = 4  # 4: runs.csv beside it, the verdicts' mode (fixed or sequential), CPU provenance


class ResultsError(ValueError):
    """A results.json this harness cannot read: another schema version, or not a harness report."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(_Strict):
    value: float
    low: float | None  # None: unbounded (a young confidence sequence)
    high: float | None
    n: int
    method: str
    confidence: float


class Verdict(_Strict):
    label: str
    meaning: str
    claimed: float | None
    seeds_needed: int | None
    needed_for: str | None = None
    interval: Interval


class Comparison(BaseModel):
    """One comparison under one protocol; the statistics beside the verdict stay open (``extra``)."""

    model_config = ConfigDict(extra="allow")
    baseline: str
    treatment: str
    protocol: str
    metric: str
    claimed_effect: float | None
    margin: float | None
    n_pairs: int
    effect: Interval
    verdict: Verdict
    missing_pairs: list[dict[str, Any]]
    incomplete: bool
    per_seed: list[dict[str, float | int]]


class Mode(_Strict):
    kind: Literal["fixed", "sequential"]
    interval: str
    max_seeds: int | None = None


class Results(_Strict):
    schema_version: Literal[4]
    suite: str
    title: str
    profile: str
    profile_description: str
    changes_protocol: str | None
    claim: dict[str, Any]
    settings: dict[str, dict[str, Any]]
    root_seed: str | None
    seeds: dict[str, int]
    protocols: dict[str, dict[str, Any]]
    arms: dict[str, dict[str, Any]]
    comparison: Comparison | None
    comparisons: list[Comparison]
    multiplicity: dict[str, Any]
    mode: Mode
    grid: dict[str, Any] | None
    stability: list[dict[str, Any]]
    provenance: dict[str, list[str]]
    total_wall_time_s: float
    campaign_commands: list[str]
    report_command: str
    tuning: dict[str, Any]
    keras_backend: str
    robustness: list[dict[str, Any]]
    torture_configs: dict[str, Any] | None
    variant: str
    untuned: dict[str, Any] | None = None
    role: Literal["evidence", "plumbing", "search"] | None = None  # the profile's (harness.suites.Suite.role)
    mlflow: dict[str, str] | None = None  # experiment_id and campaign_run_id in the store the report was read from
    scale: dict[str, str] | None = None  # speed claims: {kind: log_ratio, axis}; None: differences
    speed: dict[str, Any] | None = None  # per time-to-target metric: its target and each arm's times
    ranking: dict[str, Any] | None = None  # every arm's mean of the suite's ranking metric, best first
    checks: list[dict[str, Any]] = []  # facts every run must show: the worst run against a bound
    in_progress: dict[str, Any] | None = None  # made while the campaign ran: planned and finished runs per arm


def dump(results: dict[str, Any]) -> str:
    """The JSON text of a report's results, checked against the model (a writer's mistake fails here)."""
    Results.model_validate(results)
    return json.dumps(results, indent=2, allow_nan=False)


def load(path: Path) -> Results:
    """Read a report's results.json: its schema version first, then every field."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not readable as JSON ({error})") from None
    found = data.get("schema_version") if isinstance(data, dict) else None
    if found != SCHEMA_VERSION:
        raise ResultsError(
            f"{path}: results schema version {found!r}, this harness reads version {SCHEMA_VERSION}; rebuild it with "
            "`harness report SUITE --profile PROFILE` from its MLflow store, or rerun the campaign"
        )
    try:
        return Results.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        raise ResultsError(f"{path}: not a harness results file ({problems})") from None

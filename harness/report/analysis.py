"""From finished trial records to every number a report shows (JSON-ready)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy import stats as st

from harness import stats
from harness.suites import Suite
from harness.tracking import TrialRecord
from harness.trial import DIVERGED, FAILED, OK
from harness.verdict import judge

SCHEMA_VERSION = 1
CURVE_KEYS = ("val_accuracy", "loss", "pretrain_val_accuracy")
PROVENANCE_KEYS = (
    "git_commit",
    "keras_backend",
    "version.keras",
    "version.tensorflow",
    "version.tensorflow-cpu",
    "version.jax",
    "version.torch",
    "version.numpy",
    "version.scipy",
    "version.mlflow",
    "python",
    "platform",
    "cpu",
    "cpu_count",
    "gpu",
    "data_source",
    "data_digest",
    "suite_digest",
)


class NoResults(LookupError):
    """No finished trials match the suite's current definition."""


def _band(runs: list[list[float]]) -> dict:
    """Per-epoch mean with a 95% t-interval across runs (n per epoch: runs that reached it)."""
    length = max(len(r) for r in runs)
    mean, low, high, counts = [], [], [], []
    for epoch in range(length):
        values = np.array([r[epoch] for r in runs if len(r) > epoch and np.isfinite(r[epoch])])
        counts.append(int(values.size))
        if values.size == 0:
            mean.append(None), low.append(None), high.append(None)
            continue
        centre = float(values.mean())
        half = (
            float(st.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
            if values.size > 1
            else 0.0
        )
        mean.append(centre), low.append(centre - half), high.append(centre + half)
    return {"mean": mean, "low": low, "high": high, "n": counts}


def analyse(suite: Suite, profile: str, records: list[TrialRecord], hashes: dict[str, str]) -> dict:
    """Summaries per arm, the paired effect with its CI, the verdict, and learning curves."""
    claim, metric = suite.claim, suite.claim.metric
    current = [r for r in records if hashes.get(r.arm) == r.params_hash]
    if not current:
        raise NoResults(
            f"no finished trials of suite '{suite.name}', profile '{profile}' match the suite file's "
            f"current settings ({len(records)} trial(s) of earlier settings found); run the campaign first"
        )
    by_arm: dict[str, dict[int, TrialRecord]] = defaultdict(dict)
    for record in sorted(current, key=lambda r: r.status != FAILED):  # a finished run wins over a failed one
        by_arm[record.arm][record.seed_index] = record

    arms = {}
    for arm in suite.arms:
        runs = by_arm.get(arm, {})
        scored = [r for r in runs.values() if r.status in (OK, DIVERGED) and metric in r.metrics]
        values = [r.metrics[metric] for r in scored]
        arms[arm] = {
            "description": suite.arms[arm].description,
            "n_runs": len(runs),
            "n_ok": sum(r.status == OK for r in runs.values()),
            "n_diverged": sum(r.status == DIVERGED for r in runs.values()),
            "n_failed": sum(r.status == FAILED for r in runs.values()),
            "failures": sorted({r.reason for r in runs.values() if r.status == FAILED}),
            "metric": stats.mean_ci(values).as_dict() if values else None,
            "wall_time_s": float(np.mean([r.wall_time_s for r in runs.values()])) if runs else None,
            "curves": {
                key: _band([r.history[key] for r in scored if r.history.get(key)])
                for key in CURVE_KEYS
                if any(r.history.get(key) for r in scored)
            },
        }

    base, treat = claim.baseline.arm, claim.treatment.arm
    paired_seeds = sorted(
        i
        for i in by_arm.get(base, {})
        if i in by_arm.get(treat, {})
        and all(by_arm[a][i].status in (OK, DIVERGED) and metric in by_arm[a][i].metrics for a in (base, treat))
    )
    comparison = None
    if len(paired_seeds) >= 2:
        b = np.array([by_arm[base][i].metrics[metric] for i in paired_seeds])
        t = np.array([by_arm[treat][i].metrics[metric] for i in paired_seeds])
        oriented = claim.direction * stats.paired_differences(t, b)
        effect = stats.mean_ci(oriented)
        paired_sd = float(np.std(oriented, ddof=1))
        best = int(np.argmax(oriented))
        comparison = {
            "baseline": base,
            "treatment": treat,
            "n_pairs": len(paired_seeds),
            "claimed_effect": claim.claimed_effect,
            "effect": effect.as_dict(),
            "paired_sd": paired_sd,
            "prob_treatment_better": stats.prob_greater(claim.direction * t, claim.direction * b).as_dict(),
            "share_at_least_claimed": stats.share_at_least(oriented, claim.claimed_effect).as_dict(),
            "best_seed": {"seed_index": paired_seeds[best], "effect": float(oriented[best])},
            "verdict": judge(effect, claim.claimed_effect, paired_sd).as_dict(),
            "per_seed": [
                {"seed_index": i, "seed": by_arm[base][i].seed, base: float(bv), treat: float(tv)}
                for i, bv, tv in zip(paired_seeds, b, t, strict=True)
            ],
        }

    provenance: dict[str, list[str]] = defaultdict(list)
    for record in current:
        for key in PROVENANCE_KEYS:
            value = record.tags.get(key)
            if value and value not in provenance[key]:
                provenance[key].append(value)
    commands = list(
        dict.fromkeys(r.tags["command"] for r in sorted(current, key=lambda r: r.seed_index) if r.tags.get("command"))
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "campaign_commands": commands,
        "suite": suite.name,
        "title": suite.title,
        "profile": profile,
        "profile_description": suite.profiles[profile].description,
        "changes_protocol": suite.profiles[profile].changes_protocol,
        "claim": claim.model_dump(mode="json") | {"claimed_effect": claim.claimed_effect},
        "settings": {arm: suite.settings(profile, arm).model_dump(mode="json") for arm in suite.arms},
        "root_seed": next(iter(r.tags.get("root_seed") for r in current), None),
        "arms": arms,
        "comparison": comparison,
        "provenance": dict(provenance),
        "total_wall_time_s": float(sum(r.wall_time_s for r in current)),
    }

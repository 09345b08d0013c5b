"""``harness verify``: re-run a few seeds of a committed report and compare every final metric.

Nothing is written to the campaign's stores: the chosen runs are trained again in this
process, on the seeds, settings and thread count the report's ``runs.csv`` records, and
compared value by value. Bitwise equality is expected when the backend, package versions
and CPU kernel path (instruction sets, oneDNN setting, threads) are those of the report;
elsewhere the differences are measured and their effect on the headline interval shown.
"""

from __future__ import annotations

import math
import os
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import stats
from harness.console import Console
from harness.report import RUNS_FILE, runs
from harness.report.results import Results, load
from harness.suites import Suite

NOT_COMPARED = (  # timings, not results
    "wall_time_s",
    "train_images_per_s",
    "train_examples_per_s",
    "epoch_time_s",
    "train_s",
    "step_eval_s",
    "at_seconds",
    "step.at_seconds",
)
WORKLOAD_CODE = ("harness/workloads", "harness/models", "harness/data", "harness/optimizers", "harness/training.py")


class VerifyError(ValueError):
    """A report that cannot be verified (missing, without per-run data, of another suite file)."""


@dataclass
class Rerun:
    arm: str
    seed_index: int
    committed: dict[str, float]
    now: dict[str, float]
    status: tuple[str, str]

    timings: tuple[str, ...] = ()  # this suite's derived metrics counted in seconds

    def differences(self) -> dict[str, float]:
        return {
            name: abs(self.now[name] - value) if name in self.now else math.inf
            for name, value in self.committed.items()
            if name not in NOT_COMPARED + self.timings
            and not (math.isnan(value) and math.isnan(self.now.get(name, 0.0)))
        }


def _report(suite: Suite, profile: str, reports_dir: Path) -> tuple[Results, list[dict[str, str]]]:
    folder = reports_dir / suite.name / profile
    if not (folder / "results.json").is_file():
        raise VerifyError(
            f"no report of {suite.name}/{profile} in {folder}: this profile was never run here or its report is not "
            f"committed — run `harness campaign {suite.name} --profile {profile}` first"
        )
    results = load(folder / "results.json")
    if not (folder / RUNS_FILE).is_file():
        raise VerifyError(
            f"{folder} has no per-run data ({RUNS_FILE}): the report predates it; rebuild it with `harness report "
            f"{suite.name} --profile {profile}` from its MLflow store, or rerun the campaign"
        )
    digests = results.provenance.get("suite_digest", [])
    if suite.digest not in digests:
        differing = []
        for arm, reported in results.settings.items():
            tuned = (results.tuning["arms"].get(arm) or {}).get("best_params") or {}
            now = suite.settings_dict(profile, arm, 0, tuned) if arm in suite.arms else {}
            differing += [
                f"{arm}.{k}: report {v!r}, file {now.get(k)!r}" for k, v in reported.items() if now.get(k) != v
            ]
        what = "; ".join(differing[:5]) or "the arms' settings are equal, other parts of the file changed"
        raise VerifyError(
            f"{suite.path} (digest {suite.digest[:12]}) is not the suite file the report was made from (digest "
            f"{', '.join(d[:12] for d in digests) or 'unrecorded'}): {what} — verify with the report's suite file"
        )
    return results, runs.read(folder / RUNS_FILE)


def _candidates(results: Results, table: list[dict[str, str]]) -> dict[int, dict[str, dict[str, str]]]:
    """Seed index → arm → row, for seeds whose current runs finished in every arm of the report's variant."""
    by_seed: dict[int, dict[str, dict[str, str]]] = {}
    for row in table:
        if row["kind"] == "trial" and row["variant"] == results.variant and row["current"] == "true":
            by_seed.setdefault(int(row["seed_index"]), {})[row["arm"]] = row
    return {i: arms for i, arms in by_seed.items() if set(arms) >= set(results.settings)}


def _code_changes(commits: list[str]) -> str | None:
    """How this checkout differs from the report's commit, naming commits that touched workload code."""
    from harness.provenance import git

    head = git("rev-parse", "HEAD").strip()
    recorded = [c.removesuffix("+dirty") for c in commits]
    if not head or not recorded or all(c == head for c in recorded):
        return None if head else "this checkout is not a git repository: cannot compare with the report's commit"
    base = recorded[0]
    touched = git("log", "--oneline", f"{base}..{head}", "--", *WORKLOAD_CODE).strip().splitlines()
    listed = "; ".join(touched[:10]) + (f" (+{len(touched) - 10} more)" if len(touched) > 10 else "")
    return (
        f"the code differs from the report's commit {base[:10]} (now {head[:10]}); commits in between that touched "
        f"workload code: {listed or 'none'}"
    )


def verify(suite: Suite, profile: str, *, seeds: int, pick: int | None, reports_dir: Path, console: Console) -> int:
    """Re-run ``seeds`` random seeds (every arm) of the committed report; 0 when the numbers agree or the
    platform explains the difference, 1 when the report's own platform gives other numbers."""
    from harness import provenance
    from harness.trial import TrialSpec, run_trial

    results, table = _report(suite, profile, reports_dir)
    candidates = _candidates(results, table)
    if not candidates:
        raise VerifyError(f"the report of {suite.name}/{profile} lists no finished paired runs to re-run")
    pick = secrets.randbelow(2**31) if pick is None else pick
    chosen = sorted(random.Random(pick).sample(sorted(candidates), min(seeds, len(candidates))))
    arms = ", ".join(results.settings)
    console.info(f"verify {suite.name}/{profile}: seed indices {chosen} (picked with --pick {pick}), arms {arms}")
    if changes := _code_changes(results.provenance.get("git_commit", [])):
        console.info(changes)
    here = provenance.collect()
    reruns, platform_differs = [], set()
    for index in chosen:
        for arm, row in sorted(candidates[index].items()):
            tuned = results.tuning["arms"][arm]["best_params"] if results.variant == "tuned" else {}
            settings = suite.settings_dict(profile, arm, index, tuned or {})
            spec = TrialSpec(suite.name, profile, arm, index, int(row["seed"]), suite.workload.name, settings)
            if spec.params_hash != row["settings_hash"]:
                console.info(
                    f"{arm} seed {index}: the settings hash differs from the report's (the code derives "
                    "settings differently now)"
                )
            threads = (
                int(row["threads"])
                if row.get("threads")
                else max(1, (os.cpu_count() or 1) // suite.profiles[profile].jobs)
            )
            result = run_trial(spec, threads=threads)
            committed = {
                k.removeprefix(runs.METRIC_PREFIX): float(v)
                for k, v in row.items()
                if k.startswith(runs.METRIC_PREFIX) and v
            }
            final = {name: curve[-1] for name, curve in result.history.items() if curve}  # as MLflow keeps a series
            now = final | result.metrics | _derived(suite, results, result)
            reruns.append(Rerun(arm, index, committed, now, (row["status"], result.status), _timings(suite)))
            platform_differs |= {k for k in runs.PLATFORM if row.get(k, "") != here.get(k, "")}
    return _conclude(results, reruns, platform_differs, here, console)


def _derived(suite: Suite, results: Results, result) -> dict[str, float]:
    """The re-run's derived metrics, against the report's own targets (a relative one as the report computed it)."""
    from harness.derived import compute

    targets = {name: found["target"].get("value") for name, found in (results.speed or {}).items()}
    values = {}
    for name, spec in suite.derived.items():
        found = compute(spec, result.history, result.metrics, targets.get(name))
        values |= {name + suffix: value for suffix, value in found.items()}
    return values


def _timings(suite: Suite) -> tuple[str, ...]:
    """Derived metrics measured in seconds: timings, like wall time, not results."""
    return tuple(name for name, spec in suite.derived.items() if spec.axis == "seconds")


def _conclude(results: Results, reruns: list[Rerun], platform_differs: set[str], here: dict, console: Console) -> int:
    """Print the largest difference per metric and what it means; the exit status."""
    largest: dict[str, float] = {}
    for rerun in reruns:
        for name, difference in rerun.differences().items():
            largest[name] = max(largest.get(name, 0.0), difference)
    identical = all(d == 0 for d in largest.values()) and all(r.status[0] == r.status[1] for r in reruns)
    for name, difference in sorted(largest.items()):
        console.info(f"  {name}: largest |committed − now| = {difference:.6g} over {len(reruns)} runs")
    if identical:
        console.result(f"identical: every final metric of {len(reruns)} re-run runs equals the committed value bitwise")
        return 0
    moved = _headline_moves(results, reruns)
    if moved:
        console.info(moved)
    if not platform_differs:
        console.error(
            "the report's own platform (backend, versions, CPU instruction sets, oneDNN, threads) gave different "
            "numbers: these runs are not reproducible here"
        )
        return 1
    shown = ", ".join(f"{k} (now {here.get(k) or 'unset'})" for k in sorted(platform_differs))
    console.result(
        f"not identical, and the platform differs from the report's in: {shown} — expected; see README "
        "'What is bitwise reproducible'"
    )
    return 0


def _headline_moves(results: Results, reruns: list[Rerun]) -> str | None:
    """The headline interval with the re-run values in place of the committed ones."""
    headline = results.comparison
    if headline is None:
        return None
    now = {(r.arm, r.seed_index): r.now.get(headline.metric) for r in reruns}
    pairs = []
    for row in headline.per_seed:
        index = int(row["seed_index"])
        values = [now.get((arm, index), row[arm]) for arm in (headline.baseline, headline.treatment)]
        if None in values:
            return None
        pairs.append(values)
    direction = 1 if (results.claim.get("higher_is_better", True)) else -1
    shape = np.log if results.scale else np.asarray  # a speed claim's effect is the log ratio
    differences = direction * np.array([shape(t) - shape(b) for b, t in pairs])
    before, after = headline.effect, stats.t_ci(differences)
    return (
        f"headline {headline.treatment} − {headline.baseline} ({headline.metric}): 95% CI {before.low:+.5f} to "
        f"{before.high:+.5f} committed, {after.low:+.5f} to {after.high:+.5f} with the re-run values"
    )

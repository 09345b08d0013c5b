"""Campaign orchestration: plan paired trials, run what is not finished, report.

Resuming is the same command again: finished trials are found in MLflow by their
key (suite, profile, arm, seed, settings hash) and not re-run.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from harness.console import Console
from harness.seeds import confirmation_seed
from harness.suites import Suite
from harness.trial import TrialResult, TrialSpec, run_trial


class TrialProcessDied(RuntimeError):
    """A worker process of a parallel campaign ended abnormally."""


def campaign_key(suite: Suite, profile: str, root_seed: int) -> str:
    return f"{suite.name}/{profile}/root={root_seed}"


def plan(suite: Suite, profile: str, seeds: int, root_seed: int) -> list[TrialSpec]:
    """Every (seed, arm) trial; child seed *i* is the same for every arm."""
    settings = {arm: suite.settings(profile, arm).model_dump(mode="json") for arm in suite.arms}
    return [
        TrialSpec(
            suite.name, profile, arm, index, confirmation_seed(root_seed, index), suite.workload.name, settings[arm]
        )
        for index in range(seeds)
        for arm in suite.arms
    ]


def _threads_per_trial(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def execute(specs: list[TrialSpec], jobs: int) -> Iterator[TrialResult]:
    """Run trials, ``jobs`` at a time in separate processes (in this one when ``jobs == 1``)."""
    threads = _threads_per_trial(jobs)
    if jobs == 1:
        for spec in specs:
            yield run_trial(spec, threads)
        return
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))
    try:
        pending = {pool.submit(run_trial, spec, threads) for spec in specs}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    except BrokenProcessPool:
        raise TrialProcessDied(
            "a trial process died (killed, or out of memory); finished trials are saved — "
            "run the same command to resume, with fewer --jobs if memory is short"
        ) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user typed it (nox sets ``HARNESS_INVOKED_AS``), for reports."""
    own = "harness " + shlex.join(sys.argv[1:] if argv is None else argv)
    invoked = os.environ.get("HARNESS_INVOKED_AS")
    return f"{invoked}  (ran: {own})" if invoked else own


def run_campaign(
    suite: Suite,
    profile: str | None,
    *,
    seeds: int | None = None,
    jobs: int | None = None,
    root_seed: int | None = None,
    reports_dir: Path = Path("reports"),
    console: Console | None = None,
    command: str | None = None,
) -> Path:
    """Run (or resume) a campaign and write its report; returns the report folder."""
    from harness import provenance
    from harness.registry import DATASETS
    from harness.report import write_report
    from harness.tracking import Tracker

    console = console or Console()
    profile, spec = suite.profile(profile)
    seeds, jobs = seeds or spec.seeds, jobs or spec.jobs
    root = suite.root_seed if root_seed is None else root_seed
    trials = plan(suite, profile, seeds, root)
    settings = suite.settings(profile, next(iter(suite.arms)))
    DATASETS.get(settings.dataset)(**settings.data_arguments())  # missing data: fail before recording
    tracker = Tracker()
    experiment = tracker.experiment(suite.name)
    key = campaign_key(suite, profile, root)
    command = command or command_line()
    tags = {
        **provenance.collect(),
        "suite": suite.name,
        "profile": profile,
        "root_seed": str(root),
        "suite_digest": suite.digest,
        "command": command,
    }
    parent = tracker.campaign_run(
        experiment,
        key,
        f"{suite.name}-{profile}",
        tags,
        {
            "suite": suite.name,
            "profile": profile,
            "root_seed": root,
            "seeds": seeds,
            "claim": suite.claim.model_dump(mode="json"),
        },
    )
    done = tracker.finished_keys(experiment, key)
    todo = [t for t in trials if t.key not in done]
    console.info(
        f"{suite.name}/{profile}: {seeds} paired seeds × {len(suite.arms)} arms; "
        f"{len(trials) - len(todo)} finished earlier, {len(todo)} to run, {jobs} at a time; "
        f"MLflow: {tracker.uri}"
    )
    try:
        with console.progress(len(todo), f"{suite.name}/{profile}") as advance:
            for result in execute(todo, jobs):
                tracker.log_trial(experiment, parent, key, result, tags)
                value = result.metrics.get(suite.claim.metric)
                shown = f"{suite.claim.metric}={value:.4f}" if value is not None else result.reason
                advance(
                    f"{result.spec.arm} seed {result.spec.seed_index}: {result.status} {shown} "
                    f"({result.wall_time_s:.1f}s)"
                )
    except BaseException:
        tracker.end_campaign(parent, "KILLED")
        raise
    tracker.end_campaign(parent)
    return write_report(
        suite, profile, root, reports_dir=reports_dir, tracker=tracker, command=command, console=console
    )

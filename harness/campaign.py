"""Campaign orchestration: sweep every arm, confirm on fresh paired seeds, report.

The work itself is done by :class:`harness.worker.Worker` s sharing the campaign's Optuna
storage: in this process (``--jobs 1``), in ``--jobs`` local processes, or by
``harness worker`` on other machines. Resuming is the same command again: finished
trials are in the storage (and in MLflow) and are not run again.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from harness.console import Console
from harness.signals import exit_code, stop_like_ctrl_c
from harness.studies import (
    NUMBER,
    ROUNDS_OVER,
    SEEDS_TARGET,
    SEQUENTIAL_TAG,
    STATUS,
    CampaignStudies,
    best_params,
    done,
    open_storage,
    shown,
)
from harness.suites import Suite
from harness.worker import ARM, SEED_INDEX, VARIANT


class TrialProcessDied(RuntimeError):
    """A worker process of a parallel campaign ended abnormally."""


class OptionError(ValueError):
    """Campaign options that cannot work together."""


def _check_rounds(seeds: int, until_decided: int | None) -> None:
    """A sequential campaign's maximum must allow its first round and a bounded confidence sequence."""
    from harness.verdict import MIN_PAIRS

    if until_decided is not None and until_decided < max(seeds, MIN_PAIRS):
        raise OptionError(
            f"--until-decided {until_decided} is below the first round's {seeds} paired seeds (--seeds, or the "
            f"profile's) or below the {MIN_PAIRS} a verdict needs; give a maximum of at least {max(seeds, MIN_PAIRS)}"
        )


def _threads_per_trial(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user typed it (nox sets ``HARNESS_INVOKED_AS``), for reports: no machine folders."""
    from harness.provenance import portable

    own = "harness " + shlex.join(sys.argv[1:] if argv is None else argv)
    invoked = os.environ.get("HARNESS_INVOKED_AS")
    return portable(f"{invoked}  (ran: {own})" if invoked else own)


def _worker_process(studies: CampaignStudies, storage_url: str, parent: str, tags: dict, threads: int, confirm: bool):
    """Entry point of a local worker process (spawned: a fresh interpreter)."""
    from harness.console import follow_library_log
    from harness.tracking import Tracker
    from harness.worker import Worker

    follow_library_log()
    with stop_like_ctrl_c():  # the parent stops its workers with SIGTERM
        tracker = Tracker()
        experiment = tracker.experiment(studies.suite.name)
        try:
            Worker(studies, open_storage(storage_url), tracker, experiment, parent, tags, threads, confirm).run()
        except KeyboardInterrupt as interrupt:
            sys.exit(exit_code(interrupt))


def _all_studies(studies: CampaignStudies, storage) -> dict:
    named = {f"sweep {arm}": studies.sweep(storage, arm) for arm in studies.suite.arms}
    return {**named, "confirm": studies.confirmation(storage)}


def _progress(named: dict, seen: set) -> list[str]:
    """Messages for trials finished since the last call (any worker, any machine)."""
    messages = []
    for name, study in named.items():
        for trial in done(study.get_trials(deepcopy=False)):
            if (name, trial.number) in seen:
                continue
            seen.add((name, trial.number))
            attrs = trial.user_attrs
            if name == "confirm":
                what = f"confirm {attrs.get(VARIANT)} {attrs.get(ARM)} seed {attrs.get(SEED_INDEX)}"
            else:
                what = f"{name} #{attrs.get(NUMBER, trial.number)}"
            value = f" {trial.value:.4f}" if trial.value is not None else ""
            messages.append(f"{what}: {attrs.get(STATUS, trial.state.name.lower())}{value}")
    return messages


def _run_local_workers(jobs: int, ready: Prepared, confirm: bool, advance) -> None:
    context = get_context("spawn")
    threads = _threads_per_trial(jobs)
    studies, storage = ready.studies, ready.storage
    arguments = (studies, ready.storage_url, ready.parent, ready.tags, threads, confirm)
    workers = [context.Process(target=_worker_process, args=arguments) for _ in range(jobs)]
    for worker in workers:
        worker.start()
    named, seen = _all_studies(studies, storage), set()
    _progress(named, seen)  # what finished before this run is not news
    try:
        while any(w.is_alive() for w in workers):
            time.sleep(2)
            for message in _progress(named, seen):
                advance(message)
        for message in _progress(named, seen):
            advance(message)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    if any(w.exitcode != 0 for w in workers):
        raise TrialProcessDied(
            f"a worker process ended abnormally (exit codes {[w.exitcode for w in workers]}); finished trials are "
            "saved — run the same command to resume, with fewer --jobs if memory is short"
        )


def _remaining(studies: CampaignStudies, storage, confirm: bool) -> int:
    """Trials still to run in this round: sweeps, then confirmation runs up to the seeds target."""
    sweeps = sum(
        max(0, studies.budget - len(done(studies.sweep(storage, arm).get_trials(deepcopy=False))))
        for arm in studies.suite.arms
    )
    confirmed = sum(
        "harness.arm" in t.user_attrs for t in done(studies.confirmation(storage).get_trials(deepcopy=False))
    )
    target = studies.seeds_target(studies.confirmation(storage))
    planned = target * len(studies.suite.arms) * len(studies.variants())
    return sweeps + (max(0, planned - confirmed) if confirm else 0)


@dataclass
class Prepared:
    """A campaign ready for workers: its studies, storage, MLflow parent run and run tags."""

    studies: CampaignStudies
    storage: object
    storage_url: str
    tracker: object
    experiment: str
    parent: str
    tags: dict[str, str]
    repaired: str | None = None  # what harness.reconcile found and did, if the stores disagreed


def prepare(
    suite: Suite,
    profile: str,
    seeds: int,
    root: int,
    storage_url: str | None,
    command: str,
    until_decided: int | None = None,
) -> Prepared:
    """Open the storage and create (or join) the studies, check the data, open the MLflow parent run.

    Every check that can fail does so here, before any training: missing data, an
    unreachable storage, a campaign of other settings in the storage, an unusable MLflow store.
    """
    from harness import provenance
    from harness.reconcile import reconcile
    from harness.studies import check_storage
    from harness.tracking import Tracker

    _check_rounds(seeds, until_decided)
    storage_url = check_storage(storage_url)  # seconds, before the data (a minute on a loaded machine)
    for arm in suite.arms:  # a missing or corrupt dataset fails here (loaders cache what they read)
        suite.trial_settings(profile, arm).load_data()
    storage = open_storage(storage_url)
    studies = CampaignStudies(suite, profile, root, seeds, until_decided)
    for arm in suite.arms:
        studies.sweep(storage, arm)
    studies.confirmation(storage)
    tracker = Tracker()
    experiment = tracker.experiment(
        suite.name, f"{suite.title}. {suite.claim.statement} (Source: {suite.claim.source})"
    )
    repaired = reconcile(studies, storage, tracker, experiment)
    tags = {
        **provenance.collect(),
        "suite": suite.name,
        "profile": profile,
        "root_seed": str(root),
        "suite_digest": suite.digest,
        "command": command,
    } | ({SEQUENTIAL_TAG: str(until_decided)} if until_decided else {})
    params = {
        "suite": suite.name,
        "profile": profile,
        "root_seed": root,
        "seeds": seeds,
        "until_decided": until_decided,
        "budget": studies.budget,
        "claim": suite.claim.model_dump(mode="json"),
    }
    parent = tracker.campaign_run(experiment, studies.key, f"{suite.name}-{profile}", tags, params)
    return Prepared(studies, storage, storage_url, tracker, experiment, parent, tags, repaired)


def run_campaign(
    suite: Suite,
    profile: str | None,
    *,
    seeds: int | None = None,
    until_decided: int | None = None,
    jobs: int | None = None,
    root_seed: int | None = None,
    reports_dir: Path | None = None,
    console: Console | None = None,
    command: str | None = None,
    storage_url: str | None = None,
    confirm: bool = True,
) -> Path | None:
    """Run (or resume) a campaign; with ``confirm`` also its confirmation runs and report.

    ``until_decided``: confirm in rounds of ``seeds`` paired seeds, re-reading the headline
    verdict on its confidence sequence after each, until it is decided or this many seeds ran.
    """
    console = console or Console()
    profile, spec = suite.profile(profile)
    seeds, jobs = seeds or spec.seeds, jobs or spec.jobs
    root = suite.root_seed if root_seed is None else root_seed
    command = command or command_line()
    if reports_dir is None:
        from harness.report import reports_home

        reports_dir = reports_home(suite, profile)
    _quiet_libraries(console, suite, profile)
    ready = prepare(suite, profile, seeds, root, storage_url, command, until_decided)
    if ready.repaired:
        console.warn(ready.repaired)
    studies, storage = ready.studies, ready.storage
    confirmation = studies.confirmation(storage)
    if until_decided and SEEDS_TARGET not in confirmation.user_attrs:
        confirmation.set_user_attr(SEEDS_TARGET, seeds)
    rounds = (
        f"rounds of {seeds} paired seeds until the verdict is decided (at most {until_decided})"
        if until_decided
        else f"{seeds} paired seeds"
    )
    todo = _remaining(studies, storage, confirm)
    console.info(
        f"{suite.name}/{profile}: tuning budget {spec.budget} trials per arm, then {rounds} × "
        f"{len(suite.arms)} arms ({', '.join(studies.variants())}); {todo} trials "
        f"to run, {jobs} at a time; Optuna: {shown(ready.storage_url)}; MLflow: {ready.tracker.uri}"
    )
    try:
        while True:
            _run_round(ready, jobs, confirm, console, todo)
            if not confirm:
                break
            out = _report(suite, profile, root, reports_dir, ready, command, console)
            if not until_decided or studies.rounds_over(confirmation):
                break
            if not _next_round(out, studies, confirmation, console):
                break
            todo = _remaining(studies, storage, confirm)
    except BaseException:
        with contextlib.suppress(Exception):  # the store may be what failed (a full or read-only disk)
            ready.tracker.end_run(ready.parent, "KILLED")
        raise
    ready.tracker.end_run(ready.parent)
    if not confirm:
        for arm in suite.arms:
            console.result(f"{arm}: best params {best_params(studies.sweep(storage, arm))}")
        return None
    _finish(out, ready, console)
    return out


def _quiet_libraries(console: Console, suite: Suite, profile: str) -> None:
    """On a terminal, library messages (TensorFlow retracing warnings…) go to a log file, not into the progress bar."""
    if console.interactive:
        from harness.console import route_library_logs
        from harness.tracking import runs_dir

        path = route_library_logs(runs_dir() / "logs" / f"{suite.name}-{profile}.log")
        console.info(f"library messages (TensorFlow, MLflow, Optuna): {path}")


def _finish(out: Path, ready: Prepared, console: Console) -> None:
    """The verdict, where the report is, and how to look at the runs."""
    from harness.report.markdown import headline_sentence
    from harness.report.results import load

    console.result(headline_sentence(load(out / "results.json").model_dump()))
    console.result(f"report: {out / 'report.html'} (and report.md); every run: {out / 'runs.csv'}")
    console.result(
        f"runs in the MLflow UI: nox -s mlflow-ui (http://127.0.0.1:5000, experiment '{ready.studies.suite.name}', "
        f"campaign run {ready.parent}); trials in optuna-dashboard: nox -s dashboard"
    )


def _run_round(ready: Prepared, jobs: int, confirm: bool, console: Console, todo: int) -> None:
    """Run the ``todo`` trials of the current round: in this process, or in ``jobs`` processes."""
    from harness.worker import Worker

    studies, storage = ready.studies, ready.storage
    with console.progress(todo, f"{studies.suite.name}/{studies.profile}") as advance:
        if jobs == 1:
            threads = _threads_per_trial(1)
            Worker(
                studies,
                storage,
                ready.tracker,
                ready.experiment,
                ready.parent,
                ready.tags,
                threads,
                confirm,
                on_finished=advance,
            ).run()
        else:
            _run_local_workers(jobs, ready, confirm, advance)


def _report(suite: Suite, profile: str, root: int, reports_dir: Path, ready: Prepared, command: str, console) -> Path:
    from harness.report import write_report

    return write_report(
        suite,
        profile,
        root,
        reports_dir=reports_dir,
        tracker=ready.tracker,
        command=command,
        console=console,
        in_campaign=True,
    )


def _next_round(report: Path, studies: CampaignStudies, confirmation, console: Console) -> bool:
    """After a look: raise the seeds target for another round; False when decided or at the maximum."""
    from harness.report.results import load
    from harness.verdict import DECIDED, Label

    headline = load(report / "results.json").comparison
    label = headline.verdict.label if headline else "no comparison yet"
    decided = headline is not None and Label(label) in DECIDED
    target = studies.seeds_target(confirmation)
    if decided or target >= studies.until_decided:
        why = "decided" if decided else f"the maximum of {studies.until_decided} seeds is reached"
        console.info(f"look at {target} seeds: {label} — {why}; no further rounds")
        confirmation.set_user_attr(ROUNDS_OVER, True)
        return False
    following = min(target + studies.seeds, studies.until_decided)
    console.info(f"look at {target} seeds: {label} — adding seeds up to {following}")
    confirmation.set_user_attr(SEEDS_TARGET, following)
    return True


def run_worker(
    suite: Suite,
    profile: str | None,
    *,
    seeds: int | None = None,
    until_decided: int | None = None,
    root_seed: int | None = None,
    storage_url: str | None = None,
    console: Console | None = None,
    command: str | None = None,
) -> int:
    """One worker of a (possibly multi-machine) campaign, in this process; returns trials it ran.

    A sequential campaign's worker (``until_decided``) stays for every round the campaign
    adds and leaves when the campaign has stopped adding them.
    """
    from harness.worker import Worker

    console = console or Console()
    profile, spec = suite.profile(profile)
    root = suite.root_seed if root_seed is None else root_seed
    command = command or command_line()
    _quiet_libraries(console, suite, profile)
    ready = prepare(suite, profile, seeds or spec.seeds, root, storage_url, command, until_decided)
    console.info(f"worker joined {ready.studies.key} at {shown(ready.storage_url)}; MLflow: {ready.tracker.uri}")
    if ready.repaired:
        console.warn(ready.repaired)
    worker = Worker(
        ready.studies,
        ready.storage,
        ready.tracker,
        ready.experiment,
        ready.parent,
        ready.tags,
        threads=os.cpu_count(),
        on_finished=console.info,
        follow_rounds=until_decided is not None,
    )
    ran = worker.run()
    console.info(
        f"every budget of {ready.studies.key} is met ({ran} trials run by this worker); "
        f"`harness report {suite.name} --profile {profile}` writes the report"
    )
    return ran

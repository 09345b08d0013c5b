"""Sweeps and workers on real Optuna storages: exact budgets, resume after kill -9, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.results import load as load_results
from harness.studies import CampaignStudies, done, in_budget, open_storage
from harness.suites import load
from harness.tracking import KIND_SWEEP, KIND_TRIAL, Tracker
from tests.conftest import ROOT

SUITES = ROOT / "tests" / "suites"
pytestmark = pytest.mark.slow


@pytest.fixture
def synthetic(tmp_path, monkeypatch) -> Path:
    """A workspace with the synthetic suite, fast heartbeats, and no MLflow/Optuna from outside."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_SUITES_DIR", str(SUITES))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("HARNESS_RUNS_DIR", raising=False)
    return tmp_path


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HARNESS_HEARTBEAT_S": "1", "HARNESS_GRACE_S": "3", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _check_exact(workspace: Path, suite_name: str, profile: str, storage: str | None = None) -> dict:
    """Budgets met exactly in Optuna and in MLflow, with no duplicate (arm, seed, params)."""
    suite = load(suite_name)
    spec = suite.profiles[profile]
    studies = CampaignStudies(suite, profile, suite.root_seed, spec.seeds)
    store = open_storage(storage or f"sqlite:///{workspace / 'runs' / 'optuna.db'}")
    for arm in suite.arms:
        trials = studies.sweep(store, arm).get_trials(deepcopy=False)
        assert len(in_budget(trials)) == len(done(trials)) == spec.budget
    confirmations = studies.confirmation(store).get_trials(deepcopy=False)
    planned = spec.seeds * len(suite.arms) * len(studies.variants())
    assert len(in_budget(confirmations)) == len(done(confirmations)) == planned
    tracker = Tracker(f"sqlite:///{workspace / 'runs' / 'mlflow.db'}")
    experiment = tracker.experiment(suite.name)
    counts = {}
    for kind, expected in ((KIND_SWEEP, spec.budget * len(suite.arms)), (KIND_TRIAL, planned)):
        runs = tracker.client.search_runs([experiment], f"tags.`harness.kind` = '{kind}'", max_results=5000)
        runs = [run for run in runs if run.info.status in ("FINISHED", "FAILED")]  # not KILLED: interrupted
        keys = Counter(run.data.tags["harness.trial_key"] for run in runs)  # (arm, seed, settings hash)
        assert len(runs) == expected and max(keys.values(), default=1) == 1, (
            kind,
            len(runs),
            expected,
            keys.most_common(2),
        )
        counts[kind] = len(runs)
    return counts


def _sampled(workspace: Path, root: int | None = None) -> list[tuple]:
    suite = load("synthetic")
    studies = CampaignStudies(suite, "smoke", suite.root_seed if root is None else root, 3)
    store = open_storage(f"sqlite:///{workspace / 'runs' / 'optuna.db'}")
    return [
        (arm, t.number, tuple(sorted(t.params.items())))
        for arm in suite.arms
        for t in studies.sweep(store, arm).get_trials(deepcopy=False)
    ]


def test_same_root_seed_gives_the_same_sampled_params(synthetic, tmp_path_factory, monkeypatch):
    assert main(["sweep", "synthetic"]) == 0
    first = _sampled(synthetic)
    again = tmp_path_factory.mktemp("again")
    monkeypatch.chdir(again)
    assert main(["sweep", "synthetic"]) == 0
    assert _sampled(again) == first and len(first) == 8
    other = tmp_path_factory.mktemp("other")
    monkeypatch.chdir(other)
    assert main(["sweep", "synthetic", "--root-seed", "8"]) == 0
    assert [p for *_, p in _sampled(other, 8)] != [p for *_, p in first]


def test_campaign_reports_tuning_and_the_untuned_effect(synthetic):
    assert main(["campaign", "synthetic"]) == 0
    assert _check_exact(synthetic, "synthetic", "smoke") == {KIND_SWEEP: 8, KIND_TRIAL: 12}
    results = json.loads((synthetic / "runs" / "reports" / "synthetic" / "smoke" / "results.json").read_text())
    tuning = results["tuning"]
    assert tuning["budget"] == 4 and results["variant"] == "tuned"
    for arm in ("baseline", "treatment"):
        summary = tuning["arms"][arm]
        assert summary["n_trials"] == 4 and summary["n_complete"] + summary["n_pruned"] + summary["n_failed"] == 4
        statuses = [t["status"] for t in summary["trials"]]  # every trial, pruned ones too (for the landscape)
        assert len(statuses) == 4 and statuses.count("pruned") == summary["n_pruned"]
        assert all((t["value"] is None) == (t["status"] in ("pruned", "failed")) for t in summary["trials"])
        assert results["settings"][arm]["learning_rate"] == summary["best_params"]["learning_rate"]
        curve = summary["expected_max"]
        assert len(curve["k"]) == summary["n_complete"] and curve["mean"][-1] == pytest.approx(summary["best_value"])
    assert results["untuned"]["comparisons"][0]["n_pairs"] == 3
    report = (synthetic / "runs" / "reports" / "synthetic" / "smoke" / "report.md").read_text()
    assert "**4 Optuna trials per arm**" in report and "Tuned effect next to the untuned one" in report
    assert (synthetic / "runs" / "reports" / "synthetic" / "smoke" / "budget.png").is_file()
    configs = results["torture_configs"]  # best of m treatment sweep settings, scored on the claim's metric
    assert (
        configs["n"] == tuning["arms"]["treatment"]["n_complete"]
        and len(configs["prob_reaches_claimed"]) == configs["n"]
    )
    assert (
        "## The torture meter" in report
        and (synthetic / "runs" / "reports" / "synthetic" / "smoke" / "torture.png").is_file()
    )
    _headline_from_runs_csv_alone(synthetic / "runs" / "reports" / "synthetic" / "smoke", results)


def _headline_from_runs_csv_alone(folder: Path, results: dict) -> None:
    """runs.csv has every run; the report's headline interval is recomputed from it and nothing else."""
    import csv

    import numpy as np

    from harness import stats

    with (folder / "runs.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert Counter(row["kind"] for row in table) == {"sweep": 8, "trial": 12}
    assert {row["status"] for row in table} <= {"ok", "diverged", "failed", "pruned"}
    assert all(row["mlflow_run_id"] and row["settings_hash"] and row["git_commit"] for row in table)
    scores = {
        (row["arm"], int(row["seed_index"])): float(row["metric:test_accuracy"])
        for row in table
        if row["kind"] == "trial"
        and row["variant"] == results["variant"]
        and row["current"] == "true"
        and row["status"] in ("ok", "diverged")
    }
    seeds = sorted(i for arm, i in scores if arm == "baseline" and ("treatment", i) in scores)
    differences = np.array([scores["treatment", i] - scores["baseline", i] for i in seeds])
    assert stats.t_ci(differences).as_dict() == results["comparison"]["effect"]
    assert load_results(folder / "results.json").comparison.effect.low == results["comparison"]["effect"]["low"]


def test_report_all_suites_writes_html_md_and_the_index(synthetic, capsys):
    assert main(["campaign", "synthetic", "--profile", "grid"]) == 0
    folder = synthetic / "reports" / "synthetic" / "grid"
    (folder / "report.html").unlink()
    (folder / "report.md").unlink()
    assert main(["report", "--format", "md"]) == 0  # every suite and profile with results
    assert (folder / "report.md").is_file() and not (folder / "report.html").exists()
    assert "synthetic/smoke: no finished trials" in capsys.readouterr().err
    index = (synthetic / "reports" / "index.md").read_text()
    assert "`synthetic`" in index and "grid/report.md" in index and (synthetic / "reports" / "index.html").is_file()
    assert main(["report", "synthetic", "--profile", "grid", "--format", "html"]) == 0
    assert "<figure>" in (folder / "report.html").read_text()


def test_grid_profile_runs_every_point_on_paired_seeds(synthetic):
    """Torture mode: run i uses grid point i mod 3, the same in both arms; the report groups by point."""
    assert main(["campaign", "synthetic", "--profile", "grid"]) == 0
    tracker = Tracker(f"sqlite:///{synthetic / 'runs' / 'mlflow.db'}")
    runs = tracker.client.search_runs([tracker.experiment("synthetic")], "tags.`harness.kind` = 'trial'")
    assert len(runs) == 12
    for run in runs:
        index = int(run.data.tags["harness.seed_index"])
        assert float(run.data.params["mean"]) == [0.7, 0.8, 0.9][index % 3]
    results = json.loads((synthetic / "reports" / "synthetic" / "grid" / "results.json").read_text())
    grid = results["grid"]
    assert (grid["n_points"], grid["n_runs"]) == (3, 6)
    assert sorted(p["point"]["mean"] for p in grid["per_point"]) == [0.7, 0.8, 0.9]
    assert all(p["effect"]["n"] == 2 for p in grid["per_point"])
    effects = [row["treatment"] - row["baseline"] for row in results["comparison"]["per_seed"]]
    assert grid["quantiles"]["max"] == pytest.approx(max(effects)) == pytest.approx(grid["best_run"]["effect"])
    assert (
        "## The author's search, run in full"
        in (synthetic / "reports" / "synthetic" / "grid" / "report.md").read_text()
    )


def test_two_local_workers_share_sqlite_and_meet_budgets_exactly(synthetic):
    assert main(["campaign", "synthetic", "--jobs", "2"]) == 0
    _check_exact(synthetic, "synthetic", "smoke")


def test_kill_9_mid_campaign_then_resume_is_exact(synthetic):
    command = [sys.executable, "-m", "harness", "campaign", "synthetic", "--profile", "slow"]
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and process.poll() is None and done < 3:  # kill after a few trials
        line = process.stderr.readline()
        done += line.startswith("[")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert done >= 3, "the campaign did not get going"
    resumed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _check_exact(synthetic, "synthetic", "slow")


def test_unreachable_storage_is_one_line_before_anything_runs(synthetic, capsys):
    url = "postgresql://harness:secret@127.0.0.1:9/nowhere"
    assert main(["campaign", "synthetic", "--storage", url]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "postgresql://harness:***@127.0.0.1:9/nowhere" in error
    assert "secret" not in error and "cannot be opened" in error
    assert not (synthetic / "runs" / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("foo://harness:secret@host/db", "Optuna storage foo://harness:***@host/db: unknown database 'foo'"),
        ("not a url", "Optuna storage not a url: not a database URL (e.g. sqlite:///runs/optuna.db"),
        (
            "postgresql://harness:secret@127.0.0.1:9/nowhere",
            "Optuna storage postgresql://harness:***@127.0.0.1:9/nowhere cannot be",
        ),
    ],
)
def test_a_bad_storage_is_one_line_before_any_data_is_loaded(synthetic, capsys, monkeypatch, url, expected):
    from harness.workloads.components import WorkloadSettings

    loaded = []
    monkeypatch.setattr(WorkloadSettings, "load_data", lambda self: loaded.append(self))
    for command in ("campaign", "worker"):
        assert main([command, "synthetic", "--storage", url]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith(f"error: {expected}") and "\n" not in error and "secret" not in error, error
    assert not loaded and not (synthetic / "runs").exists()


def test_a_sqlite_storage_in_a_missing_folder_is_refused_not_created(synthetic, capsys):
    url = f"sqlite:///{synthetic / 'no' / 'such' / 'optuna.db'}"
    assert main(["campaign", "synthetic", "--storage", url]) == 2
    assert f"the folder {synthetic / 'no' / 'such'} does not exist" in capsys.readouterr().err
    assert not (synthetic / "no").exists()


def test_worker_with_a_different_suite_file_refuses_to_join(synthetic, capsys, monkeypatch):
    assert main(["sweep", "synthetic"]) == 0
    changed = synthetic / "suites"
    changed.mkdir()
    text = (SUITES / "synthetic.yaml").read_text().replace("budget: 4", "budget: 5")
    (changed / "synthetic.yaml").write_text(text)
    monkeypatch.setenv("HARNESS_SUITES_DIR", str(changed))
    assert main(["worker", "synthetic"]) == 2
    error = capsys.readouterr().err
    assert "refusing to join" in error and "suite_digest" in error and "budget: campaign has 4, this worker 5" in error
    # The changed file on purpose: the error names how to start over, and doing so lets it run.
    url = f"sqlite:///{synthetic / 'runs' / 'optuna.db'}"
    assert f"optuna delete-study --storage {url} --study-name NAME" in error and "synthetic/smoke/root=" in error
    import optuna

    for study in optuna.get_all_study_names(url):
        optuna.delete_study(study_name=study, storage=url)
    assert main(["sweep", "synthetic"]) == 0


def test_two_workers_on_postgresql_meet_budgets_exactly(workspace, postgres_url):
    """Two `harness worker` processes on one fashion smoke campaign through PostgreSQL, then the report."""
    command = [sys.executable, "-m", "harness", "worker", "fashion", "--profile", "smoke", "--storage", postgres_url]
    workers = [subprocess.Popen(command, env=_env(), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=600)[1] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-1500:] + outputs[1][-1500:]
    ran = [int(out.rsplit("(", 1)[1].split(" trials run")[0]) for out in outputs]
    assert min(ran) > 0 and sum(ran) == 16, ran  # both worked; 4 sweep + 12 confirmation trials in all
    assert _check_exact(workspace, "fashion", "smoke", postgres_url) == {KIND_SWEEP: 4, KIND_TRIAL: 12}
    assert main(["report", "fashion", "--profile", "smoke"]) == 0
    assert (workspace / "runs" / "reports" / "fashion" / "smoke" / "report.md").is_file()


def _pop_queued(url: str, results) -> None:
    """Worker process: take queued trials until none is left; report the numbers taken."""
    import optuna

    study = optuna.load_study(study_name="queue", storage=open_storage(url))
    taken = []
    try:
        while True:
            trial = study.ask()
            if "index" not in trial.user_attrs:  # nothing was queued: a fresh trial
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                break
            taken.append(trial.number)
            study.tell(trial, 1.0)  # fails if the other process finished the same trial first
    except Exception as error:
        taken.append(f"{type(error).__name__}: {error}")
    results.put(taken)


def test_sqlite_storage_gives_each_queued_trial_to_one_process(tmp_path):
    """Two processes popping 300 queued trials at once: none may get the same trial."""
    import multiprocessing

    import optuna

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="queue", storage=open_storage(url))
    for index in range(300):
        study.enqueue_trial({}, user_attrs={"index": index})
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_pop_queued, args=(url, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    taken = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert not [t for t in taken[0] + taken[1] if isinstance(t, str)]
    assert all(taken) and not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == list(range(300))


def test_grid_sampler_runs_every_point_once_per_arm_and_the_report_shows_robustness(synthetic):
    """Two workers on a 4-point grid: each arm tries each point exactly once; the report's stability
    section has the spread across seeds and the robustness table over the grid."""
    import yaml

    data = yaml.safe_load((SUITES / "synthetic.yaml").read_text())
    data["tuning"]["sampler"] = {"kind": "grid"}
    data["tuning"]["search_space"] = {"learning_rate": {"choices": [0.0003, 0.001, 0.003, 0.01]}}
    data["tuning"]["pruner"] = {"kind": "none"}
    del data["arms"]["treatment"]["search_space"]
    data["profiles"] = {"smoke": data["profiles"]["smoke"]}  # budget 4 = the grid's size
    data["stability"] = [{"baseline": "baseline", "treatment": "treatment", "reported_sd": {"baseline": 0.01}}]
    path = synthetic / "grid.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["campaign", str(path), "--profile", "smoke", "--jobs", "2"]) == 0
    suite = load(str(path))
    studies = CampaignStudies(suite, "smoke", suite.root_seed, 3)
    store = open_storage(f"sqlite:///{synthetic / 'runs' / 'optuna.db'}")
    for arm in suite.arms:
        tried = sorted(t.params["learning_rate"] for t in studies.sweep(store, arm).get_trials(deepcopy=False))
        assert tried == [0.0003, 0.001, 0.003, 0.01]
    results = json.loads((synthetic / "runs" / "reports" / "synthetic" / "smoke" / "results.json").read_text())
    [robust], [spread] = results["robustness"], results["stability"]
    assert [row["params"]["learning_rate"] for row in robust["points"]] == [0.0003, 0.001, 0.003, 0.01]
    assert spread["n_pairs"] == 3 and spread["reported_sd"] == {"baseline": 0.01}
    report = (synthetic / "runs" / "reports" / "synthetic" / "smoke" / "report.md").read_text()
    assert "**Robustness of `treatment` vs `baseline`**" in report and "| learning_rate | `baseline` |" in report


def test_report_finds_every_run_after_a_resume_with_another_jobs(synthetic):
    """Sweeps with one worker, confirmations with two: workers and report resolve settings in one place,
    so every finished run carries the hash the report expects."""
    assert main(["sweep", "synthetic", "--jobs", "1"]) == 0
    assert main(["campaign", "synthetic", "--jobs", "2"]) == 0
    results = json.loads((synthetic / "runs" / "reports" / "synthetic" / "smoke" / "results.json").read_text())
    suite = load("synthetic")
    assert {arm: results["arms"][arm]["n_runs"] for arm in suite.arms} == {arm: 3 for arm in suite.arms}
    assert results["untuned"]["comparisons"][0]["n_pairs"] == 3
    best = results["tuning"]["arms"]["treatment"]["best_params"]
    assert results["settings"]["treatment"] == suite.settings_dict("smoke", "treatment", 0, best)


def _confirmed_seeds(workspace: Path) -> Counter:
    tracker = Tracker(f"sqlite:///{workspace / 'runs' / 'mlflow.db'}")
    runs = tracker.client.search_runs([tracker.experiment("synthetic")], "tags.`harness.kind` = 'trial'")
    return Counter(int(run.data.tags["harness.seed_index"]) for run in runs)


def test_sequential_campaign_adds_rounds_until_decided_and_resumes_without_new_runs(synthetic, capsys):
    """Rounds of 3 seeds: undecided at 3 (the confidence sequence is still unbounded), decided at 6."""
    assert main(["campaign", "synthetic", "--profile", "sequential", "--until-decided", "12"]) == 0
    out = capsys.readouterr().err
    assert "look at 3 seeds: inconclusive — adding seeds up to 6" in out
    assert "look at 6 seeds: replicated — decided; no further rounds" in out
    assert _confirmed_seeds(synthetic) == Counter({i: 2 for i in range(6)})  # both arms, each seed once
    results = json.loads((synthetic / "reports" / "synthetic" / "sequential" / "results.json").read_text())
    assert results["mode"]["kind"] == "sequential" and results["mode"]["max_seeds"] == 12
    interval = results["comparison"]["verdict"]["interval"]
    effect = results["comparison"]["effect"]
    assert interval["method"].startswith("t-mixture") and interval["n"] == 6
    assert interval["low"] < effect["low"] and interval["high"] > effect["high"]  # wider than the fixed-n t interval
    report = (synthetic / "reports" / "synthetic" / "sequential" / "report.md").read_text()
    assert "Mode: **sequential**" in report and "confidence sequence" in report
    assert (
        main(["campaign", "synthetic", "--profile", "sequential", "--until-decided", "12"]) == 0
    )  # resume: nothing new
    assert _confirmed_seeds(synthetic) == Counter({i: 2 for i in range(6)})


def test_sequential_campaign_stops_at_its_maximum_and_a_remote_worker_follows_the_rounds(synthetic):
    options = ["synthetic", "--profile", "sequential", "--until-decided", "4"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "harness", "worker", *options], env=_env(), stderr=subprocess.PIPE, text=True
    )
    try:
        campaign = subprocess.run(
            [sys.executable, "-m", "harness", "campaign", *options], env=_env(), capture_output=True, text=True
        )
        assert campaign.returncode == 0, campaign.stderr[-2000:]
        assert worker.wait(timeout=120) == 0  # it leaves once the campaign stops adding rounds
    finally:
        worker.kill()
    assert "look at 3 seeds" in campaign.stderr and "look at 4 seeds" in campaign.stderr
    assert _confirmed_seeds(synthetic) == Counter({i: 2 for i in range(4)})  # the second round is cut to the maximum


def test_until_decided_below_the_first_round_is_one_line_before_anything_runs(synthetic, capsys):
    assert main(["campaign", "synthetic", "--profile", "sequential", "--until-decided", "2"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--until-decided 2" in error and "at least 3" in error
    assert not (synthetic / "runs").exists()


def test_verify_reruns_committed_seeds_and_catches_a_changed_number(synthetic, capsys):
    assert main(["campaign", "synthetic", "--profile", "sequential", "--until-decided", "3"]) == 0
    capsys.readouterr()
    assert main(["verify", "synthetic", "--profile", "sequential", "--seeds", "2", "--pick", "5"]) == 0
    out = "".join(capsys.readouterr())
    assert "(picked with --pick 5)" in out and "identical: every final metric of 4 re-run runs" in out
    import csv

    table = synthetic / "reports" / "synthetic" / "sequential" / "runs.csv"
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # every committed test accuracy nudged: the same platform now disagrees
        row["metric:test_accuracy"] = repr(float(row["metric:test_accuracy"]) + 1e-9)
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["verify", "synthetic", "--profile", "sequential", "--seeds", "1", "--pick", "5"]) == 1
    out = "".join(capsys.readouterr())
    assert "test_accuracy: largest |committed − now| = 1e-09" in out and "not reproducible here" in out
    assert "headline treatment − baseline (test_accuracy): 95% CI" in out


def test_verify_bad_input_is_one_line(synthetic, capsys, monkeypatch):
    assert main(["verify", "synthetic", "--profile", "smoke"]) == 2
    assert "this profile was never run here" in capsys.readouterr().err
    assert main(["campaign", "synthetic", "--profile", "sequential", "--until-decided", "3"]) == 0
    folder = synthetic / "reports" / "synthetic" / "sequential"
    (folder / "runs.csv").rename(folder / "kept.csv")
    capsys.readouterr()
    assert main(["verify", "synthetic", "--profile", "sequential"]) == 2
    assert "has no per-run data (runs.csv)" in capsys.readouterr().err
    (folder / "kept.csv").rename(folder / "runs.csv")
    changed = synthetic / "suites"
    changed.mkdir()
    text = (SUITES / "synthetic.yaml").read_text().replace("overrides: {sd: 0.002}", "overrides: {sd: 0.003}")
    (changed / "synthetic.yaml").write_text(text)
    monkeypatch.setenv("HARNESS_SUITES_DIR", str(changed))
    assert main(["verify", "synthetic", "--profile", "sequential"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "is not the suite file the report was made from" in error
    assert "baseline.sd: report 0.002, file 0.003" in error


def _per_seed_effects(workspace: Path) -> list:
    results = json.loads((workspace / "runs" / "reports" / "synthetic" / "smoke" / "results.json").read_text())
    return [(row["seed_index"], row["effect"]) for row in results["comparison"]["per_seed"]]


def test_lost_mlflow_store_is_run_again_and_ends_complete(synthetic):
    assert main(["campaign", "synthetic"]) == 0
    effects = _per_seed_effects(synthetic)
    (synthetic / "runs" / "mlflow.db").unlink()
    command = [sys.executable, "-m", "harness", "campaign", "synthetic"]  # a new process, as a user runs it
    again = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "the Optuna storage and MLflow disagreed: 20 trial(s) finished in Optuna have no result" in again.stderr
    assert "20 trials to run" in again.stderr  # 4 sweep trials × 2 arms, 3 seeds × 2 arms × 2 variants
    _check_exact(synthetic, "synthetic", "smoke")
    assert _per_seed_effects(synthetic) == effects  # the same trials, the same seeds: the same results
    agreed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert agreed.returncode == 0 and "disagreed" not in agreed.stderr and "0 trials to run" in agreed.stderr


def test_a_run_deleted_from_either_store_is_repaired_not_lost_nor_repeated(synthetic, capsys):
    import optuna

    assert main(["campaign", "synthetic"]) == 0
    tracker = Tracker(f"sqlite:///{synthetic / 'runs' / 'mlflow.db'}")
    experiment = tracker.experiment("synthetic")
    (confirmation,) = tracker.client.search_runs([experiment], "tags.`harness.kind` = 'trial'", max_results=1)
    tracker.client.delete_run(confirmation.info.run_id)  # one result gone from MLflow
    # Optuna has no call that deletes one trial (an SQL delete breaks its numbering): one arm's sweep study goes.
    storage = f"sqlite:///{synthetic / 'runs' / 'optuna.db'}"
    (sweep,) = [name for name in optuna.get_all_study_names(storage) if name.endswith("/sweep/treatment")]
    optuna.delete_study(study_name=sweep, storage=storage)
    capsys.readouterr()
    assert main(["campaign", "synthetic"]) == 0
    err = capsys.readouterr().err
    assert "1 trial(s) finished in Optuna have no result in MLflow: queued to run again" in err
    assert "4 finished sweep run(s) in MLflow had no Optuna trial: recorded back into Optuna" in err
    assert "1 trials to run" in err, err  # only the lost confirmation run; no sweep trial is drawn again
    _check_exact(synthetic, "synthetic", "smoke")


def test_a_disk_fault_is_one_line_and_the_same_command_completes_after(synthetic, capsys, monkeypatch):
    import sqlite3

    import sqlalchemy.exc

    import harness.tracking

    real_log, calls = harness.tracking.Tracker.log_trial, []

    def read_only_at_the_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # what SQLite raises, through SQLAlchemy, when runs/ turns read-only
            orig = sqlite3.OperationalError("attempt to write a readonly database")
            raise sqlalchemy.exc.OperationalError("UPDATE runs SET status=?", (), orig)
        return real_log(self, *args, **kwargs)

    monkeypatch.setattr(harness.tracking.Tracker, "log_trial", read_only_at_the_third)
    assert main(["campaign", "synthetic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot write the run stores (Optuna: sqlite:///") and "Traceback" not in err
    assert "Read-only file system (EROFS); nothing unfinished was marked finished" in err[-1]
    monkeypatch.setattr(harness.tracking.Tracker, "log_trial", real_log)
    assert main(["campaign", "synthetic"]) == 0
    _check_exact(synthetic, "synthetic", "smoke")


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def test_a_real_full_runs_folder(synthetic):
    """runs/ on a small tmpfs, filled mid-campaign, then freed. (A read-only remount is refused while the
    campaign holds its files open, so the read-only case is the injected fault above.)"""
    runs = synthetic / "runs"
    runs.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=64m", "tmpfs", str(runs)):
        pytest.skip("needs root and mount (a tmpfs for runs/)")
    try:
        command = [sys.executable, "-m", "harness", "campaign", "synthetic", "--profile", "slow"]
        process = subprocess.Popen(command, env=_env(), stderr=subprocess.PIPE, text=True)
        lines = []
        for line in process.stderr:
            lines.append(line)
            if line.startswith("[2/"):
                break
        filler = runs / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True)  # until ENOSPC
        lines += process.stderr.readlines()
        process.wait(timeout=300)
        assert process.returncode == 2 and "No space left on device (ENOSPC)" in lines[-1], "".join(lines)[-3000:]
        assert not any(line.startswith("Traceback") for line in lines), "".join(lines)[-3000:]
        filler.unlink()
        resumed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        _check_exact(synthetic, "synthetic", "slow")
    finally:
        subprocess.run(["umount", "-l", str(runs)], capture_output=True)


def test_the_landscape_draws_pruned_trials_as_crosses(tmp_path, monkeypatch):
    import matplotlib.axes

    from harness.report.figures import landscape_plot

    space = {"lr": {"low": 1e-4, "high": 1e-1, "log": True}, "wd": {"low": 1e-6, "high": 1e-2, "log": True}}
    trials = [{"params": {"lr": 10.0**-k, "wd": 1e-4}, "value": 0.5 + k / 10, "status": "ok"} for k in (1, 2, 3)]
    trials.append({"params": {"lr": 0.05, "wd": 1e-3}, "value": None, "status": "pruned"})
    arm = {"search_space": space, "trials": trials, "best_params": trials[2]["params"]}
    results = {"tuning": {"objective": "val_accuracy", "higher_is_better": True, "arms": {"adamw": arm}}}
    drawn = []
    original = matplotlib.axes.Axes.scatter
    monkeypatch.setattr(
        matplotlib.axes.Axes, "scatter", lambda ax, x, y, **kw: drawn.append((list(x), kw)) or original(ax, x, y, **kw)
    )
    assert landscape_plot(results, tmp_path / "landscape.png") and (tmp_path / "landscape.png").stat().st_size > 5_000
    [crosses] = [x for x, kw in drawn if kw.get("marker") == "x"]
    assert crosses == [0.05]  # the pruned trial, at its learning rate
    assert [x for x, kw in drawn if "cmap" in kw] == [[0.1, 0.01, 0.001]]  # only trials with a value are coloured

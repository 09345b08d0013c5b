"""End to end on the smoke profile: MLflow runs, report, resume after Ctrl-C and SIGKILL."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import pytest

from harness.cli import main
from harness.report.results import SCHEMA_VERSION
from harness.tracking import Tracker
from tests.conftest import ROOT

SMOKE = ["campaign", "fashion", "--profile", "smoke"]
pytestmark = pytest.mark.slow


def _trial_runs(workspace, kind: str = "trial", status: str = "FINISHED"):
    """The campaign's runs of one kind in one state (an interrupted trial's run is KILLED when it runs again)."""
    tracker = Tracker(f"sqlite:///{workspace / 'runs' / 'mlflow.db'}")
    experiment = tracker.experiment("fashion")
    query = f"tags.`harness.kind` = '{kind}' and attributes.status = '{status}'"
    runs = tracker.client.search_runs([experiment], query)
    parents = tracker.client.search_runs([experiment], "tags.`harness.kind` = 'campaign'")
    return runs, parents


def _smoke_reports(workspace):
    return workspace / "runs" / "reports" / "fashion" / "smoke"  # a plumbing profile: not the committed reports/


def _per_seed(workspace) -> list[dict]:
    results = json.loads((_smoke_reports(workspace) / "results.json").read_text())
    assert results["schema_version"] == SCHEMA_VERSION
    return results["comparison"]["per_seed"]


def test_smoke_campaign_records_runs_reports_and_resumes(workspace, capsys, monkeypatch):
    import harness.worker

    real_run_trial, calls = harness.worker.run_trial, []

    def interrupted_after_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_run_trial(*args, **kwargs)

    monkeypatch.setattr(harness.worker, "run_trial", interrupted_after_two)
    assert main(SMOKE) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    sweeps, _ = _trial_runs(workspace, "sweep")
    assert len(sweeps) == 2 and not (_smoke_reports(workspace) / "report.md").exists()
    abandoned, _ = _trial_runs(workspace, "sweep", "KILLED")  # opened, then interrupted before it trained
    assert len(abandoned) == 1 and "harness.status" not in abandoned[0].data.tags
    assert not _trial_runs(workspace, "sweep", "RUNNING")[0]

    monkeypatch.setattr(harness.worker, "run_trial", real_run_trial)
    assert main(SMOKE) == 0
    assert "14 trials to run" in capsys.readouterr().err  # 2 of 4 sweep trials were done; 12 confirmations
    sweeps, _ = _trial_runs(workspace, "sweep")
    runs, parents = _trial_runs(workspace)
    killed, _ = _trial_runs(workspace, "sweep", "KILLED")
    assert [run.info.run_id for run in killed] == [abandoned[0].info.run_id]  # its trial ran again in a new run
    assert not _trial_runs(workspace, "sweep", "RUNNING")[0] and not _trial_runs(workspace, "trial", "RUNNING")[0]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    keys = [run.data.tags["harness.trial_key"] for run in runs]
    assert len(keys) == len(set(keys)) == 12  # 3 seeds x 2 arms x (tuned, untuned), none repeated
    assert len({run.data.tags["harness.trial_key"] for run in sweeps}) == len(sweeps) == 4  # budget 2 per arm
    assert all(run.info.status == "FINISHED" and run.data.tags["harness.status"] == "ok" for run in runs)
    assert all(run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for run in runs)
    from harness.seeds import confirmation_seed, tuning_seed

    for run in runs:  # paired: seed i is the same for every arm; tuning seeds are another branch
        assert run.data.tags["harness.seed"] == str(
            confirmation_seed(20261121, int(run.data.tags["harness.seed_index"]))
        )
    assert {r.data.tags["harness.seed"] for r in sweeps} == {str(tuning_seed(20261121, i)) for i in range(2)}
    one = runs[0].data
    assert {
        "harness.git_commit",
        "harness.cpu",
        "harness.data_digest",
        "harness.seed",
        "harness.version.keras",
        "harness.keras_backend",
        "harness.profile",
    } <= set(one.tags)
    assert "test_accuracy" in one.metrics and one.params["batch_size"] == "32"

    report = (_smoke_reports(workspace) / "report.md").read_text()
    assert "## Verdict: **" in report and "95% CI" in report and "n = 3" in report
    assert (_smoke_reports(workspace) / "paired.png").stat().st_size > 10_000
    assert not (workspace / "reports").exists()  # committed evidence is never touched by a plumbing run

    _campaign_run_holds_the_result(workspace, parents[0].info.run_id)
    _trial_runs_are_complete_mlflow_runs(workspace, runs)

    assert main(SMOKE) == 0  # everything finished: nothing re-runs
    out, err = capsys.readouterr()
    assert "0 trials to run" in err
    assert out.splitlines()[0].startswith(
        json.loads((_smoke_reports(workspace) / "results.json").read_text())["comparison"]["verdict"][
            "label"
        ].capitalize()
        + ":"
    )  # the run ends with its verdict…
    assert "nox -s mlflow-ui" in out and "report.html" in out  # …and says where to look
    first = _per_seed(workspace)
    (_smoke_reports(workspace) / "report.md").unlink()
    assert main(["report", "fashion", "--profile", "smoke"]) == 0  # rebuilt from MLflow alone
    assert "Report rebuilt from MLflow by: `harness report" in (_smoke_reports(workspace) / "report.md").read_text()
    assert _per_seed(workspace) == first


def _campaign_run_holds_the_result(workspace, run_id: str) -> None:
    """The verdict, the effect's interval and n, and the report's files are on the campaign run."""
    tracker = Tracker(f"sqlite:///{workspace / 'runs' / 'mlflow.db'}")
    run = tracker.client.get_run(run_id)
    results = json.loads((_smoke_reports(workspace) / "results.json").read_text())
    headline = results["comparison"]
    assert run.data.tags["harness.verdict"] == headline["verdict"]["label"]
    assert run.data.tags["mlflow.note.content"].startswith(headline["verdict"]["label"].capitalize() + ":")
    effect = headline["effect"]
    assert run.data.metrics["effect"] == pytest.approx(effect["value"])
    assert (run.data.metrics["effect_low"], run.data.metrics["effect_high"]) == pytest.approx(
        (effect["low"], effect["high"])
    )
    assert run.data.metrics["n_pairs"] == headline["n_pairs"] == 3
    assert run.data.metrics[f"transfer-vs-scratch.{headline['protocol']}.effect"] == pytest.approx(effect["value"])
    files = {item.path for item in tracker.client.list_artifacts(run_id)}
    assert {"report.md", "report.html", "results.json", "runs.csv", "paired.png"} <= files
    assert results["mlflow"] == {"experiment_id": run.info.experiment_id, "campaign_run_id": run_id}
    assert tracker.client.get_experiment(run.info.experiment_id).tags["mlflow.note.content"].startswith("Transfer")


def _trial_runs_are_complete_mlflow_runs(workspace, runs) -> None:
    """Real durations, per-epoch timestamps, the dataset as an input, MLflow's source tags, unique names, and
    the Optuna trials name their metric and point at their MLflow runs."""
    import optuna

    tracker = Tracker(f"sqlite:///{workspace / 'runs' / 'mlflow.db'}")
    names = [run.info.run_name for run in runs]
    assert len(set(names)) == len(names) == 12 and "transfer-seed2-tuned" in names and "transfer-seed2-untuned" in names
    for run in runs:
        assert run.info.end_time - run.info.start_time >= 1000 * run.data.metrics["wall_time_s"] - 5
        points = sorted(tracker.client.get_metric_history(run.info.run_id, "val_accuracy"), key=lambda m: m.step)
        stamps = [point.timestamp for point in points]
        assert len(points) == 4 and stamps == sorted(stamps) and len(set(stamps)) == 4  # one time per epoch
        assert run.info.start_time <= stamps[0] and stamps[-1] <= run.info.end_time
        (dataset,) = run.inputs.dataset_inputs
        assert dataset.dataset.name == "fashion_mnist"
        assert dataset.dataset.digest == run.data.tags["harness.data_digest"][:36]
        sizes = json.loads({tag.key: tag.value for tag in dataset.tags}["harness.split_sizes"])
        pretrained = 2000 if run.data.tags["harness.arm"] == "transfer" else 0
        assert sizes == {"n_train_a": pretrained, "n_train_b": 200, "n_valid_b": 400, "n_test_b": 400}
        assert run.data.tags["mlflow.source.git.commit"] and run.data.tags["mlflow.user"]
        assert run.data.params["seed_index"] == run.data.tags["harness.seed_index"]
    storage = f"sqlite:///{workspace / 'runs' / 'optuna.db'}"
    studies = {
        name: optuna.load_study(study_name=name, storage=storage) for name in optuna.get_all_study_names(storage)
    }
    assert all(study.metric_names for study in studies.values())
    (confirm,) = [study for name, study in studies.items() if name.endswith("/confirm")]
    assert "none is best" in confirm.metric_names[0]
    linked = {t.user_attrs.get("mlflow_run_id") for t in confirm.trials if t.state.name == "COMPLETE"}
    assert {run.info.run_id for run in runs} <= linked


def test_sigkill_mid_campaign_then_resume_is_exact_and_deterministic(workspace, tmp_path_factory):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "HARNESS_HEARTBEAT_S": "1"}
    command = [sys.executable, "-m", "harness", *SMOKE]
    process = subprocess.Popen(command, cwd=workspace, env=env, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("[6/16]"):  # in the confirmation runs, after the sweeps
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    runs, _ = _trial_runs(workspace)
    assert len([r for r in runs if r.info.status == "FINISHED"]) == 2

    resumed = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    to_run = int(resumed.stderr.split(" trials to run")[0].rsplit(" ", 1)[1])
    assert to_run in (10, 11)  # 11 if the kill fell between the 6th run's MLflow write and its Optuna tell
    sweeps, _ = _trial_runs(workspace, "sweep")
    assert len({r.data.tags["harness.trial_key"] for r in sweeps}) == len(sweeps) == 4
    runs, _ = _trial_runs(workspace)
    finished = [r.data.tags["harness.trial_key"] for r in runs if r.info.status == "FINISHED"]
    assert len(finished) == len(set(finished)) == 12

    # Same root seed, fresh store, another process: identical metrics, seed by seed.
    other = tmp_path_factory.mktemp("again")
    again = subprocess.run(command, cwd=other, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _per_seed(other) == _per_seed(workspace)


def test_missing_data_fails_before_anything_is_recorded(workspace, monkeypatch, capsys):
    from harness.data import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "SPEC", dataclasses.replace(fashion_mnist.SPEC, system_dirs=()))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(workspace / "no-data-here"))
    monkeypatch.setenv("KERAS_HOME", str(workspace / "keras-home"))
    fashion_mnist.load.cache_clear()
    try:
        assert main(SMOKE) == 2
    finally:
        fashion_mnist.load.cache_clear()
    err = capsys.readouterr().err
    assert "Fashion-MNIST not found" in err and "no-data-here" in err and "keras-home" in err
    assert not (workspace / "runs").exists()  # neither the Optuna storage nor the MLflow store


def test_unopenable_mlflow_store_is_one_line(workspace, monkeypatch, capsys):
    blocker = workspace / "a-file"
    blocker.write_text("not a folder")
    uri = f"sqlite:///{blocker / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(SMOKE) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot open the MLflow store at {uri}") and "\n" not in err


def test_imdb_smoke_campaign_reports_every_comparison_and_protocol(workspace):
    assert main(["campaign", "imdb", "--profile", "smoke"]) == 0
    out = workspace / "runs" / "reports" / "imdb" / "smoke"
    results = json.loads((out / "results.json").read_text())
    assert results["schema_version"] == SCHEMA_VERSION and (out / "runs.csv").is_file()
    assert len(results["comparisons"]) == 6  # 3 comparisons x 2 protocols
    assert {c["n_pairs"] for c in results["comparisons"]} == {2}
    assert all(arm["n_ok"] == 2 and arm["test_selection_inflation"]["value"] >= 0 for arm in results["arms"].values())
    report = (out / "report.md").read_text()
    assert "## Every comparison, every protocol" in report and "## What selecting on the test set adds" in report
    assert "aclImdb" in report  # the data source is named
    assert all((out / name).is_file() for name in ("paired.png", "effects.png", "curves.png"))


def test_cifar_smoke_campaign_reports_spread_and_names_the_jpeg_copy(workspace):
    assert main(["campaign", "cifar", "--profile", "smoke"]) == 0
    out = workspace / "runs" / "reports" / "cifar" / "smoke"
    results = json.loads((out / "results.json").read_text())
    assert len(results["comparisons"]) == 6  # 3 comparisons x 2 protocols
    assert all(arm["n_runs"] == 3 for arm in results["arms"].values())
    assert [(s["treatment"], s["n_pairs"]) for s in results["stability"]] == [
        ("lookahead_sgd", 3),
        ("lookahead_adam", 3),
    ]
    assert results["robustness"] == []  # untuned: no grid (tests/test_sweeps.py runs one)
    report = (out / "report.md").read_text()
    assert "## Stability: spread across seeds, robustness across the tuning grid" in report
    assert "JPEG quality-75 re-encodings of CIFAR-10" in report.split("## Verdict")[0]  # named at the top
    assert (out / "stability.png").stat().st_size > 10_000
    schedule = results["arms"]["sgd"]["schedule"]  # lr x1 to epoch 1, then x0.2 (the smoke profile's one decay)
    steps, rates = schedule["at_updates"], schedule["lr"]
    assert rates[0] == pytest.approx(0.1) and rates[-1] == pytest.approx(0.02) and sorted(rates, reverse=True) == rates
    assert len(steps) == len(rates) and (out / "schedules.png").is_file() and "schedules.png" in report


def _optuna_states(workspace) -> dict[str, int]:
    import optuna

    storage = f"sqlite:///{workspace / 'runs' / 'optuna.db'}"
    counts: dict[str, int] = {}
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        for trial in study.get_trials(deepcopy=False):
            counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c(workspace, capsys, monkeypatch, signum, code):
    import harness.worker

    real_run_trial, calls = harness.worker.run_trial, []

    def stopped_in_the_seventh(*args, **kwargs):  # after the 4 sweep trials and 2 confirmation runs
        calls.append(1)
        if len(calls) == 7:
            signal.raise_signal(signum)  # what a scheduler (SIGTERM) or a closed terminal (SIGHUP) sends
        return real_run_trial(*args, **kwargs)

    monkeypatch.setattr(harness.worker, "run_trial", stopped_in_the_seventh)
    handler = signal.getsignal(signum)
    assert main(SMOKE) == code
    assert signal.getsignal(signum) == handler  # the former handler is back
    err = capsys.readouterr().err.strip().splitlines()
    name = signal.Signals(signum).name
    assert err[-1] == f"error: stopped by {name}; finished trials are saved — run the same command to resume"
    _, (parent,) = _trial_runs(workspace)
    assert parent.info.status == "KILLED"
    killed, _ = _trial_runs(workspace, "trial", "KILLED")
    assert len(killed) == 1 and not _trial_runs(workspace, "trial", "RUNNING")[0]
    assert _optuna_states(workspace) == {"COMPLETE": 6, "FAIL": 1, "WAITING": 9}  # the stopped one fails: reruns

    # A report made while the campaign runs (here: its run set back to RUNNING) says it is provisional.
    Tracker(f"sqlite:///{workspace / 'runs' / 'mlflow.db'}").client.update_run(parent.info.run_id, "RUNNING")
    assert main(["report", "fashion", "--profile", "smoke"]) == 0
    progress = json.loads((_smoke_reports(workspace) / "results.json").read_text())["in_progress"]
    assert progress["planned_per_arm"] == 3 and set(progress["finished"]) == {"scratch", "transfer"}
    assert sum(progress["finished"].values()) <= 2
    report = (_smoke_reports(workspace) / "report.md").read_text()
    assert "**Provisional: the campaign is still running.**" in report
    assert f"`scratch` {progress['finished']['scratch']} of 3" in report

    monkeypatch.setattr(harness.worker, "run_trial", real_run_trial)
    assert main(SMOKE) == 0
    assert "10 trials to run" in capsys.readouterr().err
    runs, _ = _trial_runs(workspace)
    keys = [run.data.tags["harness.trial_key"] for run in runs]
    assert len(keys) == len(set(keys)) == 12
    assert json.loads((_smoke_reports(workspace) / "results.json").read_text()).get("in_progress") is None
    assert "Provisional" not in (_smoke_reports(workspace) / "report.md").read_text()


def test_sigterm_stops_the_local_workers_too(workspace):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "harness", *SMOKE, "--jobs", "2"]
    process = subprocess.Popen(command, cwd=workspace, env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("[2/16]"):
            process.send_signal(signal.SIGTERM)
            break
    lines += process.stderr.readlines()
    process.wait(timeout=120)
    assert process.returncode == 143, "".join(lines)[-2000:]
    assert lines[-1].startswith("error: stopped by SIGTERM; finished trials are saved"), lines[-3:]
    _, (parent,) = _trial_runs(workspace)
    assert parent.info.status == "KILLED"
    assert not _trial_runs(workspace, "sweep", "RUNNING")[0] and not _trial_runs(workspace, "trial", "RUNNING")[0]
    assert "RUNNING" not in _optuna_states(workspace)  # each worker failed its running trial and left

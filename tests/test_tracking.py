"""A trial's MLflow run: opened before training, live progress while it trains, results and real times at the end."""

from __future__ import annotations

import time

from harness.tracking import LIVE, Tracker
from harness.trial import OK, TrialResult, TrialSpec

SPEC = TrialSpec("demo", "smoke", "arm", 0, 1234, "synthetic", {"epochs": 3})


def _tracker(tmp_path) -> tuple[Tracker, str, str]:
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = tracker.experiment("demo", "A claim to re-run.")
    parent = tracker.campaign_run(experiment, "demo/key", "demo-smoke", {"git_commit": "abc"}, {})
    return tracker, experiment, parent


def test_a_trial_run_is_open_while_it_trains_and_finished_with_its_real_times(tmp_path):
    tracker, experiment, parent = _tracker(tmp_path)
    run_id = tracker.start_trial(experiment, parent, "demo/key", SPEC, {"variant": "untuned"})
    running = tracker.client.get_run(run_id)
    assert running.info.status == "RUNNING" and running.info.run_name == "arm-seed0-untuned"
    assert tracker.trial_records(experiment, "demo/key") == []  # no result until the trial ends

    live = tracker.live_progress(run_id, interval_s=0.0)
    epoch_times = []
    for epoch in range(3):
        time.sleep(0.05)
        epoch_times.append(time.time())
        live(epoch + 1, {"loss": 1.0 / (epoch + 1), "note": "not a number"})
    progress = tracker.client.get_metric_history(run_id, LIVE + "epoch")
    assert [m.value for m in progress] == [1.0, 2.0, 3.0]
    assert LIVE + "note" not in tracker.client.get_run(run_id).data.metrics

    started = running.info.start_time / 1000
    result = TrialResult(
        SPEC,
        OK,
        metrics={"test_accuracy": 0.9},
        history={"val_accuracy": [0.5, 0.6, 0.7]},
        wall_time_s=time.time() - started,
        started_at=started,
        epoch_times=epoch_times,
    )
    assert tracker.log_trial(experiment, parent, "demo/key", result, {"variant": "untuned"}, run_id=run_id) == run_id
    done = tracker.client.get_run(run_id)
    assert done.info.status == "FINISHED" and done.info.end_time == int(result.ended_at * 1000)
    points = sorted(tracker.client.get_metric_history(run_id, "val_accuracy"), key=lambda m: m.step)
    assert [m.timestamp for m in points] == [int(t * 1000) for t in epoch_times]
    (record,) = tracker.trial_records(experiment, "demo/key")
    assert record.history == {"val_accuracy": [0.5, 0.6, 0.7]} and record.run_id == run_id
    assert not [name for name in record.metrics if name.startswith(LIVE)]  # progress, not results: not in runs.csv


def test_live_progress_writes_at_most_once_per_interval(tmp_path):
    tracker, experiment, parent = _tracker(tmp_path)
    run_id = tracker.start_trial(experiment, parent, "demo/key", SPEC, {})
    live = tracker.live_progress(run_id, interval_s=3600.0)
    for epoch in range(5):
        live(epoch + 1, {"loss": 0.5})
    assert tracker.client.get_metric_history(run_id, LIVE + "epoch") == []  # a short trial writes no live points


def test_an_abandoned_run_is_killed_when_its_trial_runs_again(tmp_path):
    tracker, experiment, parent = _tracker(tmp_path)
    first = tracker.start_trial(experiment, parent, "demo/key", SPEC, {})  # its worker died here
    assert tracker.finished_result(experiment, "demo/key", SPEC, "trial") is None  # so the trial runs again
    second = tracker.start_trial(experiment, parent, "demo/key", SPEC, {"git_commit": "abc+dirty"})
    assert tracker.client.get_run(first).info.status == "KILLED"
    assert tracker.client.get_run(second).info.status == "RUNNING"
    experiment_tags = tracker.client.get_experiment(experiment).tags
    assert experiment_tags["mlflow.note.content"] == "A claim to re-run."
    assert tracker.client.get_run(second).data.tags["mlflow.source.git.commit"] == "abc"

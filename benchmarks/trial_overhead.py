"""Harness overhead per trial versus a bare Keras script of the same protocol (target ≤ 3%).

Both sides train the same model on the same arrays for the same epochs with the same
``steps_per_execution``; the harness side is a whole trial as a campaign runs it
(``run_trial``: seeding, settings, paired batch order, divergence check, evaluation) plus
writing its MLflow child run. Repetitions are interleaved; the figure is the median ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
from record import smoke_option, write_section

from harness.data.fashion_mnist import load, task_a, task_b
from harness.seeds import confirmation_seed
from harness.suites import load as load_suite
from harness.tracking import Tracker
from harness.trial import TrialSpec, run_trial


def bare_trial(settings: dict, seed: int) -> float:
    """The book's protocol in plain Keras: model A, then model B (from scratch or on A)."""
    keras.utils.set_random_seed(seed)
    data = load()
    cut = len(data.train) - settings["validation_size"]
    train, valid = data.train.head(cut), data.train.take(slice(cut, None))
    classes = tuple(settings["task_b_classes"])
    b_train, b_valid, b_test = task_b(train, classes, 200), task_b(valid, classes), task_b(data.test, classes)

    def mlp(outputs: int, activation: str) -> keras.Sequential:
        hidden = [keras.layers.Dense(100, "relu", kernel_initializer="he_normal") for _ in range(3)]
        return keras.Sequential(
            [keras.Input((28, 28)), keras.layers.Flatten(), *hidden, keras.layers.Dense(outputs, activation)]
        )

    def compile_(model: keras.Model, loss: str) -> None:
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.001),
            loss=loss,
            metrics=["accuracy"],
            steps_per_execution=settings["steps_per_execution"],
        )

    common = {"batch_size": 32, "validation_batch_size": 512, "verbose": 0}
    model_b = mlp(1, "sigmoid")
    if settings["transfer"]:
        a_train, a_valid = task_a(train, classes), task_a(valid, classes)
        model_a = mlp(8, "softmax")
        compile_(model_a, "sparse_categorical_crossentropy")
        epochs_a = settings["pretrain_epochs"]
        model_a.fit(a_train.x, a_train.y, epochs=epochs_a, validation_data=(a_valid.x, a_valid.y), **common)
        for source, target in zip(model_a.layers[:-1], model_b.layers[:-1], strict=True):
            target.set_weights(source.get_weights())
        for layer in model_b.layers[:-1]:
            layer.trainable = False
        compile_(model_b, "binary_crossentropy")
        frozen = settings["frozen_epochs"]
        model_b.fit(b_train.x, b_train.y, epochs=frozen, validation_data=(b_valid.x, b_valid.y), **common)
        for layer in model_b.layers[:-1]:
            layer.trainable = True
    compile_(model_b, "binary_crossentropy")
    start = settings["frozen_epochs"] if settings["transfer"] else 0
    valid = (b_valid.x, b_valid.y)
    model_b.fit(b_train.x, b_train.y, epochs=settings["epochs"], initial_epoch=start, validation_data=valid, **common)
    return model_b.evaluate(b_test.x, b_test.y, batch_size=512, verbose=0, return_dict=True)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per trial (a 2-job campaign uses 1)")
    smoke_option(parser)
    args = parser.parse_args()
    profile = "smoke" if args.smoke else "quick"  # smoke: the smoke profile's epochs (the bare side: full data)
    if args.smoke:
        args.repeats = 1
    suite = load_suite("fashion")
    tracker = Tracker(f"sqlite:///{tempfile.mkdtemp()}/mlflow.db")
    experiment = tracker.experiment("overhead")
    parent = tracker.campaign_run(experiment, "bench", "bench", {}, {})
    trials = {
        arm: [
            TrialSpec(
                suite.name,
                profile,
                arm,
                i,
                confirmation_seed(suite.root_seed, i),
                suite.workload.name,
                suite.settings_dict(profile, arm, i),
            )
            for i in range(args.repeats + 1)
        ]
        for arm in suite.arms
    }
    for arm in suite.arms:  # warm-up: data decoding, graph tracing; fixes the thread pools for both sides
        run_trial(trials[arm][0], args.threads)
        bare_trial(trials[arm][0].settings, 0)
    times: dict[str, dict[str, list[float]]] = {arm: {"harness": [], "bare": [], "mlflow": []} for arm in suite.arms}
    for rep in range(1, args.repeats + 1):
        for arm in suite.arms:
            spec = trials[arm][rep]
            start = time.perf_counter()  # as a campaign worker does: open the run, train with live progress, finish
            run_id = tracker.start_trial(experiment, parent, "bench", spec, {})
            opened = time.perf_counter()
            result = run_trial(spec, args.threads, on_epoch=tracker.live_progress(run_id))
            logged = time.perf_counter()
            tracker.log_trial(experiment, parent, "bench", result, {}, run_id=run_id)
            end = time.perf_counter()
            times[arm]["harness"].append(end - start)
            times[arm]["mlflow"].append((opened - start) + (end - logged))
            start = time.perf_counter()
            bare_trial(spec.settings, spec.seed)
            times[arm]["bare"].append(time.perf_counter() - start)
    rows = []
    for arm, measured in times.items():
        ratios = [h / b for h, b in zip(measured["harness"], measured["bare"], strict=True)]
        overhead = statistics.median(ratios) - 1
        rows.append(
            f"| `{arm}` | {statistics.median(measured['bare']):.2f} s | {statistics.median(measured['harness']):.2f} s "
            f"| {overhead:+.1%} | {min(ratios) - 1:+.1%} to {max(ratios) - 1:+.1%} "
            f"| {min(measured['harness']) / min(measured['bare']) - 1:+.1%} "
            f"| {statistics.median(measured['mlflow']):.2f} s | {'meets' if overhead <= 0.03 else 'MISSES'} |"
        )
    body = (
        f"Fashion quick protocol (full data, 20 + 20 epochs), {args.repeats} interleaved repetitions per arm, "
        f"TensorFlow backend, {args.threads} CPU thread(s) per trial. Overhead = harness / bare − 1 for each "
        "interleaved pair; the target applies to the median. Identical runs on this machine vary by up to ±30% "
        "in wall time, so the range over pairs is wide; min-vs-min is the least noisy estimate. The harness side "
        "opens the trial's MLflow run before training, writes live progress at most every 10 s while it trains, "
        "and writes results, curves and times at the end, as a campaign worker does; *MLflow writes* = opening "
        "plus finishing the run.\n\n"
        "| arm | bare script (median) | harness trial + MLflow write (median) | median overhead | range over pairs "
        "| min vs min | of which MLflow writes (median) | target ≤ 3% |\n"
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |\n" + "\n".join(rows)
    )
    write_section("Harness overhead per trial", body)


if __name__ == "__main__":
    main()

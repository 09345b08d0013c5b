"""What validation every N steps costs: the fashion MLP with and without ``eval_every_steps: 200``.

The target: wall time with it minus wall time without it ≤ the measured time of its validation
passes (``step_eval_s``, timed by the training clock around each pass) + 3% of the run without
it — the step curves cost what their evaluations cost and nothing more. Runs are interleaved
(without, with, without, …); figures are medians over the pairs and min-vs-min. Training time
(``train_s``) excludes every evaluation, so it should match between the two.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from record import smoke_option, write_section

from harness.trial import OK, TrialSpec, run_trial

EVERY = 200


def settings(eval_every: int | None, smoke: bool) -> dict:
    training = {"batch_size": 32, "epochs": 1 if smoke else 3, "test_each_epoch": False}
    if eval_every:
        training["eval_every_steps"] = eval_every
    data = {"name": "fashion_mnist", "validation": {"size": 500 if smoke else 5000, "draw": "last"}}
    if smoke:
        data["limit_train"] = 3000
    return {
        "data": data,
        "model": {"name": "mlp", "hidden_units": [100, 100, 100]},
        "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.01}},
        "training": training,
    }


def trial(eval_every: int | None, seed: int, smoke: bool, threads: int):
    spec = TrialSpec("bench", "eval-every", "mlp", 0, seed, "supervised", settings(eval_every, smoke))
    result = run_trial(spec, threads)
    if result.status != OK:
        raise SystemExit(f"the benchmark trial did not finish: {result.status} {result.reason}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    smoke_option(parser)
    args = parser.parse_args()
    every = 20 if args.smoke else EVERY
    if args.smoke:
        args.repeats = 1
    trial(None, 0, args.smoke, args.threads)  # warm-up: data decoding, thread pools
    pairs = []
    for rep in range(1, args.repeats + 1):
        plain = trial(None, rep, args.smoke, args.threads)
        scored = trial(every, rep, args.smoke, args.threads)
        pairs.append((plain, scored))
    excess = [(s.wall_time_s - s.metrics["step_eval_s"]) / p.wall_time_s - 1 for p, s in pairs]
    train_ratio = [s.metrics["train_s"] / p.metrics["train_s"] for p, s in pairs]
    plain_min = min(p.wall_time_s for p, _ in pairs)
    scored_min = min(s.wall_time_s - s.metrics["step_eval_s"] for _, s in pairs)
    overhead = statistics.median(excess)
    scored = pairs[0][1]
    body = (
        f"The fashion MLP (3 × 100 units, SGD, batch 32, {scored.metrics['epochs_run']:.0f} epochs on "
        f"{scored.extra['n_train']} examples, {scored.metrics['updates']:.0f} updates), with and without validation "
        f"on {scored.extra['n_valid']} examples every {every} updates ({len(scored.history['step.at_updates'])} "
        f"passes), {args.repeats} interleaved pairs, TensorFlow, {args.threads} thread(s). *Excess* = (wall with − "
        "its measured validation passes) ÷ wall without − 1: what the step curves cost beyond their own "
        "evaluations. Target: ≤ +3%.\n\n"
        "| wall without (median) | wall with (median) | validation passes (median) | excess (median) | "
        "excess range | excess, min vs min | training time with ÷ without (median) | target |\n"
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |\n"
        f"| {statistics.median(p.wall_time_s for p, _ in pairs):.2f} s "
        f"| {statistics.median(s.wall_time_s for _, s in pairs):.2f} s "
        f"| {statistics.median(s.metrics['step_eval_s'] for _, s in pairs):.2f} s "
        f"| {overhead:+.1%} | {min(excess):+.1%} to {max(excess):+.1%} | {scored_min / plain_min - 1:+.1%} "
        f"| {statistics.median(train_ratio):.3f} | {'meets' if overhead <= 0.03 else 'MISSES'} |"
    )
    write_section(f"Validation every {EVERY} steps: what the step curves cost", body)


if __name__ == "__main__":
    main()

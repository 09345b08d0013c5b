"""Optimizer step time on the IMDB quick profile's model (harness pooled model: Embedding(20000, 64) → mean → Dense(1)).

Targets: LazyAdam's step ≤ Adam's (it touches only the rows in the batch); Lookahead's and MaskedLazy's
overhead ≤ 5% of the step time of their inner optimizer. The token ids are the IMDB training
reviews as a trial reads them (batch 32, sequences of 80; synthetic uniform ids, which touch
far more rows per batch, if the data is not found); deterministic ops as in every trial (so
Keras's ``jit_compile="auto"`` is off on TensorFlow, as there) and one thread, as a campaign's
trial runs; interleaved repetitions: each overhead is the median over repetitions of the ratio
of two runs made one after the other. The ratios are of process CPU time, which the other
tenants of a shared machine (CPU steal) move far less than wall time; wall time is shown beside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from record import smoke_option, write_section

from harness.models.text import build_pooled
from harness.optimizers import LazyAdam, Lookahead, MaskedLazy
from harness.seeds import make_deterministic

VOCAB, DIM, LENGTH, BATCH, STEPS_PER_EXECUTION = 20000, 64, 80, 32, 32  # suites/imdb.yaml, quick
OPTIMIZERS = {
    "Adam": lambda: keras.optimizers.Adam(1e-3),
    "LazyAdam": lambda: LazyAdam(1e-3),
    "MaskedLazy(Adam)": lambda: MaskedLazy(keras.optimizers.Adam(1e-3)),
    "Lookahead(Adam), k=5": lambda: Lookahead(keras.optimizers.Adam(1e-3), k=5),
    "SGD": lambda: keras.optimizers.SGD(0.01),
    "Lookahead(SGD), k=5": lambda: Lookahead(keras.optimizers.SGD(0.01), k=5),
}


def model_for(optimizer) -> keras.Model:
    model = build_pooled((LENGTH,), 1, seed=0, vocabulary_size=VOCAB, embedding_dim=DIM)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", steps_per_execution=args.steps_per_execution)
    return model


def token_ids(count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """IMDB training reviews as a trial tokenizes them, or uniform synthetic ids if the data is absent."""
    from harness.data import imdb
    from harness.data.sources import DataError

    try:
        data = imdb.load(num_words=VOCAB, maxlen=LENGTH)
        x, y = data.train.x[:count], data.train.y[:count]
        return np.asarray(x, np.int32), np.asarray(y, "float32").reshape(-1, 1), "IMDB training reviews"
    except DataError:
        rng = np.random.default_rng(0)
        x = rng.integers(1, VOCAB, size=(count, LENGTH), dtype=np.int32)
        return x, rng.integers(0, 2, size=(count, 1)).astype("float32"), "synthetic uniform ids (IMDB not found)"


def rows_per(x: np.ndarray, batches: int) -> float:
    """Mean number of distinct token ids in windows of ``batches`` consecutive batches."""
    window = BATCH * batches
    return statistics.mean(len(np.unique(x[i : i + window])) for i in range(0, len(x) - window + 1, window))


def main() -> None:
    make_deterministic(0, threads=1)
    x, y, source = token_ids(args.steps * BATCH)
    models = {name: model_for(make()) for name, make in OPTIMIZERS.items()}
    for model in models.values():  # warm-up: tracing
        model.fit(x[: BATCH * 64], y[: BATCH * 64], batch_size=BATCH, epochs=1, verbose=0)
    times: dict[str, list[float]] = {name: [] for name in models}  # CPU ms per step
    walls: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            start, cpu = time.perf_counter(), time.process_time()
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
            times[name].append((time.process_time() - cpu) / args.steps * 1000)
            walls[name].append((time.perf_counter() - start) / args.steps * 1000)
    median = {name: statistics.median(values) for name, values in times.items()}
    lines = [
        "| optimizer | median step, CPU (ms) | wall (ms) | vs its reference: median of the paired CPU-time ratios "
        "(range; min vs min) |",
        "| --- | ---: | ---: | --- |",
    ]
    checks = {
        "LazyAdam": ("Adam", 0.0),
        "Lookahead(Adam), k=5": ("Adam", 0.05),
        "Lookahead(SGD), k=5": ("SGD", 0.05),
        "MaskedLazy(Adam)": ("Adam", 0.05),
    }
    for name, value in median.items():
        reference = checks.get(name)
        note = ""
        if reference:
            base, limit = reference
            ratios = [mine / theirs for mine, theirs in zip(times[name], times[base], strict=True)]  # same round
            change = statistics.median(ratios) - 1
            verdict = (" — meets" if change <= limit else " — MISSES") + f" ≤ {limit:+.0%}"
            floor = min(times[name]) / min(times[base]) - 1
            spread = f"{min(ratios) - 1:+.0%} to {max(ratios) - 1:+.0%}; {floor:+.1%}"
            note = f"{change:+.1%} vs {base} ({spread}){verdict}"
        lines.append(f"| {name} | {value:.2f} | {statistics.median(walls[name]):.2f} | {note} |")
    body = (
        f"`model.fit` on {args.steps} batches of {BATCH} × {LENGTH} token ids ({source}), {args.repeats} "
        f"interleaved repetitions, steps_per_execution={args.steps_per_execution}, deterministic ops and one "
        f"thread as in a trial, backend {keras.backend.backend()}.\n\n" + "\n".join(lines) + "\n\n"
        f"Rows a Lookahead sync (k=5) gathers from both tables and writes to both: {rows_per(x, 5):.0f} on "
        f"average, the distinct ids of 5 batches; an SGD step updates {rows_per(x, 1):.0f} distinct rows "
        f"({BATCH * LENGTH} slices)."
    )
    write_section("Optimizer step time (IMDB quick model shape)", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps-per-execution", type=int, default=STEPS_PER_EXECUTION)
    smoke_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.repeats = 5, 1
    main()

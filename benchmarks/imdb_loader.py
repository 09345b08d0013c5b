"""IMDB loader: first tokenization of the 50,000 reviews (target ≤ 60 s) and a cached load (≤ 2 s).

Each measurement is a fresh interpreter (import + load), with its own empty cache for
the first tokenization and the filled cache for the cached load. Data from
``$HARNESS_DATA_DIR`` (run from the project root, e.g. ``HARNESS_DATA_DIR=../shared/datasets``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]
LOAD = (
    "from harness.data.imdb import load; d = load(num_words=20000, maxlen=80); "
    "print(len(d.train), len(d.test), d.source)"
)


def _timed(cache: str) -> tuple[float, str]:
    env = {**os.environ, "HARNESS_CACHE_DIR": cache, "HARNESS_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    smoke_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.repeats = 1
    first, cached = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            seconds, shown = _timed(cache)
            first.append(seconds)
            cached += [_timed(cache)[0] for _ in range(2)]
    n_train, n_test, source = shown.split(" ", 2)
    rows = [
        ("first load: read + tokenize + index + cache", first, 60.0),
        ("cached load", cached, 2.0),
    ]
    table = "\n".join(
        f"| {label} | {statistics.median(times):.2f} s | {max(times):.2f} s | "
        f"{'meets' if max(times) <= target else 'MISSES'} ≤ {target:.0f} s |"
        for label, times, target in rows
    )
    body = (
        f"`harness.data.imdb.load(num_words=20000, maxlen=80)` in a fresh interpreter (import included): "
        f"{n_train} training + {n_test} test reviews from {source}. First load with an empty cache "
        f"{len(first)}×, cached load {len(cached)}×.\n\n"
        "| measurement | median | worst | target |\n| --- | ---: | ---: | --- |\n" + table
    )
    write_section("IMDB loader: tokenization and cached load", body)


if __name__ == "__main__":
    main()

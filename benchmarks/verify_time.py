"""`harness verify` wall time against the committed fashion smoke report (target ≤ 2 min on 2 cores).

A fresh process, as a user runs it: imports, the report's per-run data, ``--seeds`` paired seeds
re-trained in every arm and compared. ``--smoke``: one seed, printed only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="fashion")
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target-s", type=float, default=120.0)
    smoke_option(parser)
    args = parser.parse_args()
    seeds = 1 if args.smoke else args.seeds
    command = ["harness", "verify", args.suite, "--profile", args.profile, "--seeds", str(seeds), "--pick", "0"]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    last = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:]
    body = (
        f"`{' '.join(command)}` in a fresh process: **{wall:.0f} s** "
        f"({'meets' if wall <= args.target_s else 'MISSES'} ≤ {args.target_s:.0f} s); exit {done.returncode}: "
        f"{' '.join(last)}"
    )
    write_section(f"`harness verify`: {args.suite} / {args.profile}", body)
    if done.returncode not in (0,):
        sys.exit(done.stderr[-2000:])


if __name__ == "__main__":
    main()

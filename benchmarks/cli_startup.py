"""`harness ls` and `harness validate` of every suite: wall time (target ≤ 1.5 s: no Keras import)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]

COMMANDS = {"harness ls": ["ls"]} | {
    f"harness validate {path.relative_to(ROOT)}": ["validate", str(path.relative_to(ROOT))]
    for path in sorted((ROOT / "suites").glob("*.yaml"))
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    smoke_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.repeats = 1
    rows = []
    for label, argv in COMMANDS.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "harness", *argv], check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
        verdict = "meets" if max(times) <= 1.5 else "MISSES"
        rows.append(f"| `{label}` | {statistics.median(times):.2f} s | {max(times):.2f} s | {verdict} ≤ 1.5 s |")
    body = (
        f"Whole process, `python -m harness …`, {args.repeats} runs each (a fresh interpreter every time).\n\n"
        "| command | median | worst | target |\n| --- | ---: | ---: | --- |\n" + "\n".join(rows)
    )
    write_section("CLI start-up: `harness ls` and `harness validate`", body)


if __name__ == "__main__":
    main()

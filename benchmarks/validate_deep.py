"""`harness validate --deep` of every suite: wall time of the whole command and per (profile, arm) checked."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from record import REPORT, smoke_option, write_section

ROOT = REPORT.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    smoke_option(parser)
    args = parser.parse_args()
    suites = [ROOT / "suites" / "fashion.yaml"] if args.smoke else sorted((ROOT / "suites").glob("*.yaml"))
    rows = []
    for path in suites:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "harness", "validate", "--deep", str(path.relative_to(ROOT))],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        seconds = time.perf_counter() - start
        checked = (done.stdout + done.stderr).count("one step ok")
        outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}"
        each = seconds / max(checked, 1)
        rows.append(f"| `{path.relative_to(ROOT)}` | {checked} | {seconds:.0f} s | {each:.1f} s | {outcome} |")
    body = (
        "One fresh process per suite (Keras import and data loading included). Each (profile, arm) builds its "
        "data slice (two batches of at most 8 examples), model and optimizer and trains one batch in graph mode, "
        "as a trial would; two profiles whose miniature runs are identical are checked once.\n\n"
        "| suite | (profile, arm) checked | whole command | per combination | result |\n"
        "| --- | ---: | ---: | ---: | --- |\n" + "\n".join(rows)
    )
    write_section("`harness validate --deep`", body)


if __name__ == "__main__":
    main()

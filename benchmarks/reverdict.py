"""Committed reports judged again: each comparison's per-seed pairs through today's ``verdict.assess``.

``python benchmarks/reverdict.py [reports/…/results.json …]`` prints, per comparison, the
verdict the report was written with and the one the current statistics give on the same
paired numbers (the claim's own comparison at 95%, every other one on the report's
Bonferroni level, as ``harness report`` does). No MLflow store is needed: a report's
``comparisons[*].per_seed`` holds the pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import stats  # noqa: E402
from harness.suites import load  # noqa: E402
from harness.verdict import assess  # noqa: E402


def reverdict(path: Path) -> list[dict]:
    results = json.loads(path.read_text())
    direction = load(results["suite"]).claim.direction
    headline, rows = results["comparison"] or {}, []
    simultaneous = 1 - (1 - stats.CONFIDENCE) / len(results["comparisons"])
    for c in results["comparisons"]:
        own = all(c[k] == headline.get(k) for k in ("baseline", "treatment", "protocol"))
        pairs = c["per_seed"]
        baseline, treatment = [p[c["baseline"]] for p in pairs], [p[c["treatment"]] for p in pairs]
        new = assess(
            baseline,
            treatment,
            c["claimed_effect"],
            c["margin"],
            higher_is_better=direction == 1,
            confidence=stats.CONFIDENCE if own else simultaneous,
        )["verdict"]
        rows.append(
            {
                "report": str(path.parent.relative_to(ROOT / "reports")),
                "comparison": f"{c['treatment']} − {c['baseline']}" + (" (claim)" if own else ""),
                "protocol": c["protocol"],
                "n": len(pairs),
                "before": c["verdict"]["label"],
                "after": new["label"],
                "interval": new["interval"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="results.json files (default: every committed report)")
    parser.add_argument("--smoke", action="store_true", help="the same (it is quick); accepted for CI's uniform call")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "reports").glob("*/*/results.json"))
    print("| report | comparison | protocol | n | verdict before | verdict now | interval now (level) |")
    print("| --- | --- | --- | ---: | --- | --- | --- |")
    for path in files:
        for row in reverdict(path.resolve()):
            i = row["interval"]
            changed = "**" if row["before"] != row["after"] else ""
            print(
                f"| {row['report']} | {row['comparison']} | {row['protocol']} | {row['n']} | {row['before']} "
                f"| {changed}{row['after']}{changed} | {i['low']:+.4f} to {i['high']:+.4f} ({i['confidence']:.2%}) |"
            )


if __name__ == "__main__":
    main()

"""One index over every report folder: ``reports/index.md`` and its self-contained ``index.html``."""

from __future__ import annotations

import json
import math
from pathlib import Path

from harness.report.html import to_html, write_text_atomic
from harness.report.markdown import claimed_text
from harness.report.results import SCHEMA_VERSION
from harness.report.units import Formatter

TITLE = "Reproducibility reports"
MISSING = "—"


SECTIONS = (
    (
        "evidence",
        "Evidence about the claims",
        "Each claim re-run on many paired seeds: these verdicts are the results.",
    ),
    (
        "search",
        "The author's search, run in full",
        "Every setting the author could have tried, averaged honestly — how good a search can make a claim look.",
    ),
    (
        "plumbing",
        "Plumbing checks",
        "Tiny slices and few seeds that prove the machinery runs; their numbers say nothing about the claims.",
    ),
)
HEADER = "| suite | claim | profile: what it tests | verdict | effect (95% CI; n) | claimed | report |"


def write_index(reports_dir: Path) -> tuple[Path, Path]:
    """Summarise every ``reports_dir/<suite>/<profile>/results.json`` in ``index.md`` and ``index.html``:
    evidence, protocol searches and plumbing checks in separate tables."""
    reports_dir = Path(reports_dir)
    rows: dict[str, list[str]] = {role: [] for role, _, _ in SECTIONS}
    unreadable = []
    for path in sorted(reports_dir.glob("*/*/results.json")):
        folder = path.parent.relative_to(reports_dir).as_posix()
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(results, dict):
                raise ValueError(f"expected a JSON object, found {type(results).__name__}")
            rows[role_of(results, folder)].append(index_row(results, path.parent, folder))
        except (OSError, ValueError, TypeError, AttributeError) as error:  # JSONDecodeError is a ValueError
            unreadable.append(f"- `{folder}/results.json`: {_cell(str(error) or type(error).__name__)}")
    lines = [f"# {TITLE}", ""]
    if any(rows.values()):
        lines += [
            "One row per suite and profile: the headline comparison's verdict and measured effect "
            "(mean paired difference, 95% CI, n paired seeds) against the claimed effect.",
            "",
        ]
        for role, heading, meaning in SECTIONS:
            if rows[role]:
                lines += [f"## {heading}", "", meaning, "", HEADER, "| --- " * 7 + "|", *rows[role], ""]
    else:
        lines += ["No readable reports yet.", ""]
    if unreadable:
        lines += ["## Unreadable results", "", *unreadable, ""]
    markdown = "\n".join(lines).rstrip() + "\n"
    md_path = write_text_atomic(reports_dir / "index.md", markdown)
    html_path = write_text_atomic(reports_dir / "index.html", to_html(markdown, reports_dir, TITLE))
    return md_path, html_path


def role_of(results: dict, folder: str) -> str:
    """The report's role as written, else as the suite would decide it (grid: search; ``smoke``: plumbing)."""
    role = results.get("role")
    if role in {r for r, _, _ in SECTIONS}:
        return role
    if results.get("grid"):
        return "search"
    return "plumbing" if (results.get("profile") or folder.split("/")[-1]) == "smoke" else "evidence"


def index_row(results: dict, folder: Path, link: str) -> str:
    """One Markdown table row for a report folder's ``results.json`` (``link``: the folder relative to the index)."""
    parts = link.split("/")
    claim = results.get("claim") or {}
    comparison = results.get("comparison") or {}
    metric = comparison.get("metric") or claim.get("metric") or ""
    claimed = comparison.get("claimed_effect", claim.get("claimed_effect"))
    verdict = (comparison.get("verdict") or {}).get("label")
    profile = f"`{results.get('profile') or parts[-1]}`"
    if results.get("profile_description"):
        profile += f": {results['profile_description']}"
    speed = bool(results.get("scale"))
    cells = [
        f"`{results.get('suite') or parts[0]}`",
        results.get("title") or MISSING,
        profile,
        (f"**{verdict}**" if verdict else ("no comparison" if not comparison else MISSING))
        + _others(results)
        + _older(results),
        format_effect(comparison.get("effect"), metric, speed),
        _claimed_cell(results, comparison, claimed, metric, speed),
        f"[report]({link}/report.md)",
    ]
    return "| " + " | ".join(_cell(str(cell)) for cell in cells) + " |"


def _claimed_cell(results: dict, comparison: dict, claimed, metric: str, speed: bool) -> str:
    """The claimed effect; a direction or an equivalence in the report's own words (with its margin)."""
    if not comparison:
        return MISSING
    if _finite(claimed) and not (comparison.get("equivalence_claim") or comparison.get("non_inferiority_claim")):
        return format_delta(claimed, metric, speed)
    fmt = Formatter.row(comparison, Formatter(metric, (results.get("scale") or {}).get("axis")))
    return claimed_text(comparison, fmt) if comparison.get("margin") else "direction"


def _others(results: dict) -> str:
    """The suite's other verdicts, its stability claims and its checks, in a few words each (a suite may
    hold several claims)."""
    headline = results.get("comparison") or {}
    said = [
        f"`{c['treatment']}` − `{c['baseline']}` ({c['protocol']}): {c['verdict']['label']}"
        for c in results.get("comparisons") or []
        if (c["baseline"], c["treatment"], c["metric"])
        != tuple(headline.get(k) for k in ("baseline", "treatment", "metric"))
    ]
    said += [
        f"`{s['treatment']}` vs `{s['baseline']}` spread across seeds ({s['metric']}): {s['verdict']}"
        for s in results.get("stability") or []
    ]
    said += [
        f"check {check['name']}: {'holds' if check['holds'] else 'undecided' if check['holds'] is None else 'FAILS'}"
        + (f" ({check['n_pass']} of {check['n_runs']} runs)" if "n_pass" in check else "")
        for check in results.get("checks") or []
    ]
    return f" — also: {'; '.join(said)}" if said else ""


def _older(results: dict) -> str:
    """A note for a report written by an earlier results schema (statistics of its day, no runs.csv)."""
    version = results.get("schema_version")
    if version == SCHEMA_VERSION:
        return ""
    return f" (results schema {version}: earlier statistics, no per-run data — rebuild with `harness report`)"


def format_effect(effect: dict | None, metric: str, speed: bool = False) -> str:
    """``+0.85 points (95% CI +0.27 to +1.49; n = 50)`` for accuracies; 4 significant digits otherwise;
    speed-ups (log ratios) as ``×2.31``."""
    if not isinstance(effect, dict) or not _finite(effect.get("value")):
        return MISSING
    text = format_delta(effect["value"], metric, speed)
    low, high, n = effect.get("low"), effect.get("high"), effect.get("n")
    details = []
    if _finite(low) and _finite(high):
        details.append(f"95% CI {_number(low, metric, speed)} to {_number(high, metric, speed)}")
    if n is not None:
        details.append(f"n = {n}")
    return f"{text} ({'; '.join(details)})" if details else text


def format_delta(value: float, metric: str, speed: bool = False) -> str:
    """A difference in the metric's units: percentage points for accuracies; a speed-up for a log ratio."""
    if speed:
        return f"{_number(value, metric, speed)} speed-up"
    return f"{_number(value, metric)} points" if _is_accuracy(metric) else _number(value, metric)


def _number(value: float, metric: str, speed: bool = False) -> str:
    if speed:
        return f"×{math.exp(value):.3g}"
    return f"{value * 100:+.2f}" if _is_accuracy(metric) else f"{value:+.4g}"


def _is_accuracy(metric: str) -> bool:
    return "accuracy" in (metric or "").lower()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")

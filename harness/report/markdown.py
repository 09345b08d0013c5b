"""The Markdown report: verdict first, every number with its n and 95% CI."""

from __future__ import annotations

import math

from harness.report.analysis import MAX_MISSING_SHARE
from harness.report.range_test import REGIONS, SUGGESTIONS
from harness.report.torture import headline_curves
from harness.report.units import Formatter

AXIS_TITLES = {
    "updates": "Updates",
    "grad_evals": "Gradient evaluations",
    "epochs": "Epochs",
    "seconds": "Training seconds",
}


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _share(estimate: dict) -> str:
    return f"{estimate['value']:.0%} (95% CI {estimate['low']:.0%} to {estimate['high']:.0%}; n = {estimate['n']})"


def claimed_text(comparison: dict, fmt: Formatter) -> str:
    if comparison.get("non_inferiority_claim"):
        margin = comparison["margin"]
        if fmt.axis:
            return f"not slower (beyond ×{math.exp(-margin):.3g})"
        return f"not worse (by more than {fmt.magnitude(margin)})"
    if comparison.get("equivalence_claim"):
        margin = comparison["margin"]
        if fmt.axis:
            return f"the same speed (within ×{math.exp(-margin):.3g} to ×{math.exp(margin):.3g})"
        return f"the same (within ±{fmt.magnitude(margin)})"
    if comparison["claimed_effect"] is not None:
        return fmt.delta(comparison["claimed_effect"])
    if fmt.axis:
        margin = comparison["margin"]
        return f"faster (no size; ×{math.exp(-margin):.3g} to ×{math.exp(margin):.3g} = no difference)"
    return f"better (no size; ±{fmt.magnitude(comparison['margin'])} = no difference)"


def _dotted(settings: dict, prefix: str = "") -> dict:
    """Nested settings as one row per leaf (``optimizer.config.learning_rate``)."""
    rows = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            rows |= _dotted(value, f"{prefix}{key}.")
        else:
            rows[f"{prefix}{key}"] = value
    return rows


def _reported(claim: dict, fmt: Formatter) -> str:
    if claim.get("claimed_ratio"):
        return (
            f"- Claimed: `{claim['treatment']['arm']}` reaches the target {claim['claimed_ratio']:g}× faster than "
            f"`{claim['baseline']['arm']}` (no interval given)"
        )
    if claim.get("non_inferiority"):
        return (
            f"- Claimed: `{claim['treatment']['arm']}` is not worse than `{claim['baseline']['arm']}` by more than "
            f"{fmt.magnitude(claim['margin'])} (non-inferiority, judged by the 95% CI's lower end: a "
            "one-sided test at 2.5%)"
        )
    if claim.get("equivalence"):
        return (
            f"- Claimed: `{claim['treatment']['arm']}` and `{claim['baseline']['arm']}` do not differ by more than "
            f"±{fmt.magnitude(claim['margin'])} (equivalence, judged by two one-sided tests)"
        )
    if claim["claimed_effect"] is None:
        margin = fmt.magnitude(claim["margin"])
        return (
            f"- Claimed: `{claim['treatment']['arm']}` better than `{claim['baseline']['arm']}`, no size given "
            f"(a direction; differences within ±{margin} count as none)"
        )
    return (
        f"- Reported: `{claim['baseline']['arm']}` {fmt.value(claim['baseline']['reported'])}, "
        f"`{claim['treatment']['arm']}` {fmt.value(claim['treatment']['reported'])} "
        f"(claimed effect {fmt.delta(claim['claimed_effect'])}; single runs, no interval given)"
    )


def _p(value: float) -> str:
    return f"{value:.2g}" if value >= 0.001 else "< 0.001"


def _p_is(value: float, name: str = "p") -> str:
    """``p = 0.04`` or ``p < 0.001``, for prose."""
    shown = _p(value)
    return f"{name} {shown}" if shown.startswith("<") else f"{name} = {shown}"


def _d(estimate: dict | None) -> str:
    return "—" if estimate is None else f"{estimate['value']:.2f} ({estimate['low']:.2f} to {estimate['high']:.2f})"


def _judged_on(c: dict, fmt: Formatter) -> str:
    """The verdict's own interval when it is not the row's 95% paired t interval (None ends: unbounded)."""
    interval = c["verdict"].get("interval")
    if not interval or interval["method"] == "degenerate":
        return ""
    if (interval["confidence"], interval["method"]) == (c["effect"]["confidence"], "t"):
        return ""
    what = "confidence sequence" if interval["method"].startswith("t-mixture") else "CI"
    if interval["low"] is None:
        return f" (on its {interval['confidence']:.1%} {what}, still unbounded at n = {interval['n']})"
    low, high = fmt.delta(interval["low"]), fmt.delta(interval["high"])
    return f" (on its {interval['confidence']:.1%} {what} {low} to {high})"


def _mode_lines(results: dict) -> list[str]:
    """Which mode made the verdicts: fixed n (t intervals) or sequential (confidence sequences)."""
    mode = results.get("mode") or {"kind": "fixed"}
    if mode["kind"] != "sequential":
        return []
    return [
        f"Mode: **sequential** — paired seeds were added in rounds until the verdict was decided, at most "
        f"{mode['max_seeds']}. Verdicts read the {mode['interval']}: a 95% sequence covers the true effect at every "
        "number of seeds at once, so stopping when it decides keeps the error rate at 5%. The paired t and BCa "
        "intervals, P(treatment better) and p-values beside it are fixed-n figures, shown for description only.",
        "",
    ]


def _multiplicity(results: dict) -> str:
    family = results.get("multiplicity")
    if not family:
        return "(not recorded in this report)"
    return f"at {family['confidence']:.2%} (Bonferroni over {family['family']} comparisons × protocols)"


def _missing(c: dict, fmt) -> list[str]:
    """Pairs lost to failed runs, and the verdict with each failed run scored as its arm's worst."""
    if not c.get("missing_pairs"):
        return []
    listed = "; ".join(
        f"seed {m['seed_index']} (`{c['treatment']}`: {m[c['treatment']]}, `{c['baseline']}`: {m[c['baseline']]})"
        for m in c["missing_pairs"]
    )
    line = f"- Pairs missing from `{c['treatment']}` − `{c['baseline']}`, {c['protocol']}: {listed}."
    if c["incomplete"]:
        line += f" **Incomplete**: more than {MAX_MISSING_SHARE:.0%} of the pairs are missing."
    if sensitivity := c.get("sensitivity"):
        line += (
            f" With each failed run scored as the worst outcome of its arm ({sensitivity['n_filled']} pairs "
            f"added): {fmt.ci(sensitivity['effect'], delta=True)}, *{sensitivity['verdict']['label']}*."
        )
    return [line]


def _verdict_table(results: dict, fmt: Formatter) -> list[str]:
    """Every comparison under every protocol: a compact headline table, then every statistic of its verdict."""
    rows = results["comparisons"]
    if not rows:
        return []
    formats = [Formatter.row(c, fmt) for c in rows]
    units = {f.unit for f in formats}
    unit = f", {units.pop()}" if len(units) == 1 and "" not in units else ""

    def effect(c: dict, f: Formatter) -> str:  # with its unit where the rows' units differ
        return f.compact(c["effect"]) + (f" {f.unit.split(',')[0]}" if f.unit and not unit else "")

    lines = [
        "## Every comparison, every protocol",
        "",
        _row("comparison", "protocol", f"effect{unit} (95% CI; n)", "claimed", "verdict"),
        _row(*["---"] * 5),
    ]
    for c, f in zip(rows, formats, strict=True):
        lines.append(
            _row(
                f"`{c['treatment']}` − `{c['baseline']}`",
                c["protocol"],
                effect(c, f),
                claimed_text(c, f),
                f"**{c['verdict']['label']}**",
            )
        )
    lines += [
        "",
        "Details:",
        "",
        _row(
            "comparison",
            "protocol",
            f"BCa bootstrap 95% CI{unit}",
            "P(treatment better) (95% CI)",
            "d_z (95% CI)",
            "p (sign-flip; BH-adjusted)",
            "seeds for 80% power",
            "note",
        ),
        _row(*["---"] * 8),
    ]
    for c, f in zip(rows, formats, strict=True):
        needed = f"~{c['verdict']['seeds_needed']} seeds to decide" if c["verdict"]["seeds_needed"] else ""
        note = (needed + _judged_on(c, f)).strip() or "—"
        bca = c["effect_bca"]
        suffix = " points" if unit else ""  # the header names the unit, or the upper end does
        lines.append(
            _row(
                f"`{c['treatment']}` − `{c['baseline']}`",
                c["protocol"],
                f"{f.delta(bca['low']).removesuffix(' points')} to {f.delta(bca['high']).removesuffix(suffix)}",
                f"{_share(c['prob_treatment_better'])}: {c['outperforming']}",
                _d(c["d_z"]),
                f"{_p(c['p_value'])} ({_p(c['p_adjusted'])})",
                c["seeds_for_power"] or "—",
                note,
            )
        )
    lines += [
        "",
        "- *effect*: mean paired difference, oriented so that the claimed direction is positive, with its 95% "
        "paired t interval (nominal coverage at these seed counts; see `reports/calibration.md`). The claim's own "
        "comparison is judged on that interval; every other row is judged on a simultaneous interval "
        + _multiplicity(results)
        + ", so that the other rows together assert a false effect at most 5% of the time.",
        "- *P(treatment better)*: share of seeds where the treatment wins (ties ½), exact Clopper–Pearson CI; "
        "*significant* when the CI's lower end exceeds 50% (possible only from 6 pairs), *meaningful* when its "
        "upper end also exceeds γ = 75% (Bouthillier et al. 2021).",
        "- *d_z*: mean over SD of the paired differences (exact noncentral-t CI). *p*: paired sign-flip "
        f"permutation test; *adjusted*: Benjamini–Hochberg over the {len(rows)} comparisons of this report.",
        "- *seeds for 80% power*: paired seeds for an 80% chance that the CI excludes 0 if the true effect "
        "is the claimed one (or the margin, for direction-only claims), at the observed paired SD.",
    ]
    for c, f in zip(rows, formats, strict=True):
        if c["equivalence"]:
            e = c["equivalence"]
            within = f"within ±{f.magnitude(e['margin'])}"
            if f.axis:
                within = f"within ×{math.exp(-e['margin']):.3g} to ×{math.exp(e['margin']):.3g}"
            if e["equivalent"] is None:
                outcome = "cannot be tested: the paired differences have no spread"
            elif e["p"] is None:
                outcome = (
                    f"{'shown' if e['equivalent'] else 'not shown'} (the 95% confidence sequence inside the margin)"
                )
            else:
                outcome = f"{'shown' if e['equivalent'] else 'not shown'} ({_p_is(e['p'])}"
                outcome += ", two one-sided tests at 2.5%: the 95% CI inside the margin)"
            lines.append(
                f"- Equivalence (TOST) of `{c['treatment']}` − `{c['baseline']}`, {c['protocol']}: equivalence "
                f"{within} {outcome}, n = {e['n']}."
            )
            if c.get("non_inferiority_claim") and e.get("p_not_worse") is not None:
                bound = f"×{math.exp(-e['margin']):.3g}" if f.axis else f"−{f.magnitude(e['margin'])}"
                shown = "shown" if e["p_not_worse"] < 0.025 else "not shown"
                lines.append(
                    f"- Non-inferiority of `{c['treatment']}` − `{c['baseline']}`, {c['protocol']}: the difference "
                    f"above {bound} {shown} ({_p_is(e['p_not_worse'], 'one-sided p')} at 2.5%: the 95% CI's lower "
                    f"end above {bound}), n = {e['n']}."
                )
    for c, f in zip(rows, formats, strict=True):
        lines += _missing(c, f)
    for name, protocol in results["protocols"].items():
        flag = " **Selects on the test set.**" if protocol["selects_on_test"] else ""
        said = "" if protocol["description"] == name else f": {protocol['description']}"
        lines.append(f"- *{name}*: scored on `{protocol['metric']}`{said}.{flag}")
    whys = [c for c in rows if c["why"]]
    lines += [
        f"- `{c['treatment']}` − `{c['baseline']}`: {c['why']}."
        for c in dict(((c["baseline"], c["treatment"]), c) for c in whys).values()
    ]
    lines.append("")
    return lines


def _speed(results: dict, fmt: Formatter) -> list[str]:
    """Times to target: the targets, each arm's censored share and median, the speed-ups with censoring."""
    if not results.get("speed"):
        return []
    lines = [
        "## Speed: time to target",
        "",
        "A run that never reaches the target is **censored**: it counts at its budget (the planned end of the "
        "axis), is never dropped and never counted as reaching it. A speed-up is baseline time ÷ treatment time per "
        "seed; its geometric mean and 95% CI come from the paired t interval of the log ratios, and the verdict "
        "reads that interval. Where only the baseline is censored the seed's speed-up is understated (the "
        "interval errs against a claim that the treatment is faster); where the treatment is censored it is "
        "overstated — such pairs are counted below.",
        "",
    ]
    for metric, found in results["speed"].items():
        target, axis = found["target"], found["target"].get("axis", fmt.axis or "updates")
        timer = Formatter(metric, axis)
        sign = "≥" if target.get("rises", True) else "≤"
        if target.get("value") is None:
            said = "none (the reference arm has no finite final value): every run is censored"
        elif target.get("relative_to"):
            mean = target["final_mean"]
            base = Formatter(target["curve"]).ci(mean) if mean else f"{target['n_finite']} run(s)"
            said = (
                f"`{target['curve']}` {sign} {target['value']:.4g} = {target['fraction']:g} × the mean final value of "
                f"`{target['relative_to']}`'s runs, {base} ({target['n_runs']} runs, {target['n_finite']} finite)"
            )
        else:
            said = f"`{target['curve']}` {sign} {target['value']:.4g}"
        lines += [
            f"**`{metric}`**: {AXIS_TITLES[axis]} until {said}.",
            "",
            _row("arm", "runs", "reached", "censored (95% CI, Clopper–Pearson)", "median time to target"),
            _row("---", "---:", "---:", "---", "---:"),
        ]
        for arm, summary in found["arms"].items():
            if not summary["n"]:
                lines.append(_row(f"`{arm}`", 0, "—", "—", "—"))
                continue
            median = timer.value(summary["median"]) if summary["median"] is not None else "not reached by half"
            lines.append(_row(f"`{arm}`", summary["n"], summary["reached"], _share(summary["censored"]), median))
        lines.append("")
        rows = [c for c in results["comparisons"] if c["metric"] == metric]
        if rows:
            lines += [
                _row(
                    "comparison",
                    "speed-up (95% CI; n)",
                    "P(treatment first) (95% CI)",
                    "censored pairs: baseline only / treatment only / both",
                    "claimed",
                    "verdict",
                ),
                _row(*["---"] * 6),
            ]
            for c in rows:
                censored = c.get("censored_pairs") or {}
                lines.append(
                    _row(
                        f"`{c['treatment']}` vs `{c['baseline']}`",
                        timer.compact(c["effect"]),
                        _share(c["prob_treatment_better"]),
                        " / ".join(str(censored.get(k, 0)) for k in ("baseline_only", "treatment_only", "both")),
                        claimed_text(c, timer),
                        f"**{c['verdict']['label']}**",
                    )
                )
            lines.append("")
    return lines


def _torture(results: dict, fmt: Formatter) -> list[str]:
    """What a search over seeds, test-set epochs or configurations would have reported."""
    headline = results["comparison"]
    threshold = headline and headline.get("torture_threshold", headline["claimed_effect"])
    if threshold is None:  # an equivalence or non-inferiority claim: no effect to reach
        return []
    claimed = threshold
    reaching = (
        f"the claimed {fmt.delta(claimed)}"
        if headline["claimed_effect"] is not None
        else f"`{headline['treatment']}` ahead by more than the margin, {fmt.delta(claimed)} (the statement as a "
        "direction: no size was claimed)"
    )
    curves = headline_curves(results)
    if not curves:
        return []
    lines = [
        "## The torture meter",
        "",
        f"From the runs above: the effect of `{headline['treatment']}` over `{headline['baseline']}` that a "
        "researcher would report after keeping the best of a search of size k (expected value, Tang et al. "
        "unbiased estimator, with its bootstrap spread — not a confidence interval: it covers the true value "
        "less and less as k nears n, see `reports/calibration.md`), and the chance that such a search finds "
        f"{reaching} by luck.",
        "",
        _row("search", "k = 1", "k = n (all)", "P(best of all n reaches the claim)", "smallest k expected to reach it"),
        _row("---", "---", "---", "---", "---"),
    ]
    for name, curve in curves:
        first, last = 0, len(curve["k"]) - 1
        lines.append(
            _row(
                name,
                f"{fmt.delta(curve['mean'][first])} ({fmt.delta(curve['low'][first])} to "
                f"{fmt.delta(curve['high'][first])})",
                f"{fmt.delta(curve['mean'][last])} (n = {curve['n']})",
                f"{curve['prob_reaches_claimed'][last]:.0%}",
                curve["k_expected_to_reach_claimed"] or f"not within {curve['n']}",
            )
        )
    lines += [
        "",
        "A claimed effect that a search of modest size reaches by luck is what such a search produces, "
        "whether or not the method helps.",
        "",
    ]
    return lines


def _inflation(results: dict, fmt: Formatter) -> list[str]:
    """How much choosing the epoch on the test set adds, per arm."""
    arms = {name: arm["test_selection_inflation"] for name, arm in results["arms"].items()}
    if not any(arms.values()):
        return []
    protocols = list(results["protocols"])
    selected = next(n for n, p in results["protocols"].items() if p["selects_on_test"])
    lines = [
        "## What selecting on the test set adds",
        "",
        f"Per run, *{selected}* minus *{protocols[0]}* (the same training run scored two ways):",
        "",
        _row("arm", *(f"mean, {p}" for p in protocols), "inflation (95% CI)"),
        _row("---", *("---" for _ in protocols), "---"),
    ]
    for name, arm in results["arms"].items():
        means = [fmt.ci(arm["protocols"][p]) if arm["protocols"][p] else "—" for p in protocols]
        gap = fmt.ci(arms[name], delta=True) if arms[name] else "—"
        lines.append(_row(f"`{name}`", *means, gap))
    lines.append("")
    return lines


def _space(spec: dict) -> str:
    if "choices" in spec:
        return "one of " + ", ".join(map(str, spec["choices"]))
    kind = "integers" if spec.get("integer") else "log-uniform" if spec.get("log") else "uniform"
    step = f", step {spec['step']:g}" if spec.get("step") else ""
    return f"{kind} [{spec['low']:g}, {spec['high']:g}]{step}"


def _grid(results: dict, fmt: Formatter) -> list[str]:
    """Torture profiles: the effect over the author's whole search, point by point."""
    grid = results.get("grid")
    if not grid:
        return []
    q, best = grid["quantiles"], grid["best_run"]
    shown = ", ".join(grid["settings"])

    def point(p: dict) -> str:
        return ", ".join(f"{k}={v}" for k, v in p.items())

    lines = [
        "## The author's search, run in full",
        "",
        f"Every combination of {shown} ({grid['n_points']}), {grid['n_runs'] // grid['n_points']} seeds each: "
        f"{grid['n_runs']} paired runs. Per-run effects range from {fmt.delta(q['min'])} to {fmt.delta(q['max'])} "
        f"(10th percentile {fmt.delta(q['p10'])}, median {fmt.delta(q['median'])}, 90th {fmt.delta(q['p90'])}); "
        f"{_share(grid['share_negative'])} of runs go the wrong way"
        + (f", {_share(grid['share_reaching_claim'])} reach the claimed effect" if grid["share_reaching_claim"] else "")
        + f". The best run found: **{fmt.delta(best['effect'])}** ({point(best['point'])}, seed index "
        f"{best['seed_index']}) — what a search of this size lets an author report.",
        "",
        _row(shown, "mean effect (95% CI, t; n seeds)"),
        _row("---", "---"),
    ]
    lines += [_row(point(p["point"]), fmt.ci(p["effect"], delta=True)) for p in grid["per_point"]]
    lines.append("")
    if trend := grid.get("trend"):
        per = (
            f"per doubling of `{trend['setting']}`"
            if trend["per"] == "doubling"
            else f"per unit of `{trend['setting']}`"
        )
        lines += [
            f"Trend: the effect changes by {fmt.ci(trend['slope'], delta=True)} {per} (least-squares slope over "
            f"every run, t interval; {_p_is(trend['p'])} for no trend).",
            "",
        ]
    return lines


def _sd(fmt: Formatter, estimate: dict) -> str:
    def show(x: float | None) -> str:
        return "?" if x is None else fmt.magnitude(x)

    return (
        f"{show(estimate['value'])} (95% CI {show(estimate['low'])} to {show(estimate['high'])}; n = {estimate['n']})"
    )


def _ratio(estimate: dict) -> str:
    def show(x: float | None) -> str:
        return "?" if x is None else f"{x:.2f}"

    interval = f"95% CI {show(estimate['low'])} to {show(estimate['high'])}"
    return f"{show(estimate['value'])} ({interval}; n = {estimate['n']} pairs)"


def _spread_metrics(results: dict, spreads: list[dict]) -> str:
    """What the spread rows measure: the claim's metric, or each row's own where a pair names one."""
    claim = results["claim"]
    named = {pair.get("metric", claim["metric"]) for pair in spreads}
    return claim["metric_label"] if named == {claim["metric"]} else "each row's metric"


def _stability(results: dict, fmt: Formatter) -> list[str]:
    """Spread across seeds (SD and SD ratio) and robustness across the tuning grid."""
    spreads, robust = results.get("stability") or [], results.get("robustness") or []
    if not spreads and not robust:
        return []
    lines = ["## Stability: spread across seeds, robustness across the tuning grid", ""]
    if spreads:
        lines += [
            f"Standard deviation across seeds of {_spread_metrics(results, spreads)} (BCa bootstrap CIs), and the "
            "ratio SD(treatment) / SD(baseline) on the seeds both finished (seeds resampled in pairs). "
            "The Pitman–Morgan test checks equal variances of paired samples (exact under normality).",
            "",
            _row(
                "treatment vs baseline",
                "SD treatment",
                "SD baseline",
                "SD ratio",
                "Pitman–Morgan p",
                "verdict",
                "reported",
            ),
            _row("---", "---", "---", "---", "---:", "---", "---"),
        ]
        for pair in spreads:
            base, treat, reported = pair["baseline"], pair["treatment"], pair["reported_sd"]
            own = Formatter(pair["metric"]) if "metric" in pair else fmt
            said = ", ".join(f"`{arm}` {own.magnitude(sd)}" for arm, sd in reported.items())
            if pair["reported_ratio"] is not None:
                said += f"; ratio {pair['reported_ratio']:.2f}"
            lines.append(
                _row(
                    f"`{treat}` vs `{base}`" + (f" (`{pair['metric']}`)" if "metric" in pair else ""),
                    _sd(own, pair["sd"][treat]),
                    _sd(own, pair["sd"][base]),
                    _ratio(pair["ratio"]),
                    _p(pair["pitman_morgan_p"]),
                    pair["verdict"],
                    said or "—",
                )
            )
        lines.append("")
    for found in robust:
        base, treat = found["baseline"], found["treatment"]
        objective = Formatter(found["objective"])
        settings = list(found["points"][0]["params"])
        lines += [
            f"**Robustness of `{treat}` vs `{base}`**: the tuning objective `{found['objective']}` at every "
            f"grid point both arms tried (one tuning seed per point, so each cell is a single run). Across the "
            f"{len(found['points'])} points `{treat}` − `{base}` averages "
            f"{objective.ci(found['advantage'], delta=True)} (t interval over grid points). Worst point: "
            f"`{treat}` {objective.value(found['worst'][treat])}, `{base}` {objective.value(found['worst'][base])}; "
            f"best − worst: `{treat}` {objective.magnitude(found['range'][treat])}, "
            f"`{base}` {objective.magnitude(found['range'][base])}.",
            "",
            _row(*settings, f"`{base}`", f"`{treat}`", "difference"),
            _row(*["---"] * len(settings), "---:", "---:", "---:"),
        ]
        for row in found["points"]:
            lines.append(
                _row(
                    *row["params"].values(),
                    objective.value(row[base]),
                    objective.value(row[treat]),
                    objective.delta(row[treat] - row[base]),
                )
            )
        lines.append("")
    return lines


def _range_tests(results: dict) -> list[str]:
    """Each arm's range-test suggestions (geometric mean, 95% CI on log10) and the regions per seed."""
    arms = {name: arm["range_test"] for name, arm in results["arms"].items() if arm.get("range_test")}
    if not arms:
        return []
    lines = [
        "## The learning-rate range test",
        "",
        "Suggested learning rates: geometric mean across seeds with the 95% t interval of log10, and the SD "
        "of log10 (decades). Regions: in how many seeds each appeared (read from the centred moving average).",
        "",
        _row("arm", *SUGGESTIONS.values(), *REGIONS.values()),
        _row("---", *["---"] * len(SUGGESTIONS), *["---:"] * len(REGIONS)),
    ]
    for name, found in arms.items():
        cells = []
        for estimate in found["suggestions"].values():
            if estimate is None:
                cells.append("—")
                continue
            sd = f"; SD {estimate['sd_log10']:.2g} dec" if estimate["sd_log10"] is not None else ""
            missing = f"; {estimate['n_missing']} without one" if estimate["n_missing"] else ""
            cells.append(
                f"{estimate['value']:.3g} (95% CI {estimate['low']:.3g} to {estimate['high']:.3g}; "
                f"n = {estimate['n']}{sd}{missing})"
            )
        regions = [f"{count['k']} of {count['n']}" for count in found["regions"].values()]
        lines.append(_row(f"`{name}`", *cells, *regions))
    stopped = {name: found["stopped_early"] for name, found in arms.items() if found["stopped_early"]}
    if stopped:
        listed = ", ".join(f"`{name}` {count}" for name, count in stopped.items())
        lines += ["", f"Tests stopped before the last rate (loss not finite or past the divergence bound): {listed}."]
    return [*lines, ""]


def _ranking(results: dict) -> list[str]:
    """Every arm by its mean of the ranking metric, best first; a tuned report sets the untuned ranking beside."""
    ranking = results.get("ranking")
    if not ranking:
        return []
    fmt = Formatter(ranking["metric"])
    untuned = (results.get("untuned") or {}).get("ranking")
    place = {row["arm"]: i + 1 for i, row in enumerate(untuned["arms"])} if untuned else {}
    means = {row["arm"]: row["mean"] for row in untuned["arms"]} if untuned else {}
    order = "highest" if ranking["higher_is_better"] else "lowest"
    lines = [
        "## Ranking of the arms",
        "",
        f"Every arm by its mean `{ranking['metric']}` across seeds, {order} first, with its 95% t interval. Arms whose "
        "intervals overlap are not shown to differ by this table (the comparisons above test the claimed pairs)."
        + (
            " Beside it: the same arms with the claim's own (untuned) settings, on the same confirmation seeds — "
            "a ranking that changes under equal tuning is the reason to tune."
            if untuned
            else ""
        ),
        "",
    ]
    if untuned:
        lines += [_row("rank", "arm", "tuned mean (95% CI; n)", "untuned rank", "untuned mean (95% CI; n)")]
        lines.append(_row("---:", "---", "---", "---:", "---"))
    else:
        lines += [_row("rank", "arm", "mean (95% CI; n)"), _row("---:", "---", "---")]
    for i, row in enumerate(ranking["arms"], 1):
        cells = [i, f"`{row['arm']}`", fmt.ci(row["mean"])]
        if untuned:
            arm = row["arm"]
            cells += [place.get(arm, "—"), fmt.ci(means[arm]) if arm in means else "—"]
        lines.append(_row(*cells))
    return [*lines, ""]


def _checks(results: dict) -> list[str]:
    """Facts every run must show (the worst run against the bound), or a bound on each arm's spread."""
    found = results.get("checks") or []
    if not found:
        return []
    lines = [
        "## Checks: facts every run must show",
        "",
        "Not an average: a check on each run holds only if every run of its arms is within the bound (the "
        "worst run is shown); a check on the spread holds only if each arm's SD across seeds is within the bound "
        "with 95% confidence (BCa interval). A run with no value (a failed run) is not checked, and is counted.",
        "",
        _row("check", "metric", "bound", "result", "holds"),
        _row("---", "---", "---", "---", "---"),
    ]
    for check in found:
        (side, bound), spread = next(iter(check["bound"].items())), check.get("of") == "sd_across_seeds"
        shown = f"{'SD across seeds ' if spread else ''}{'<' if side == 'below' else '>'} {bound:g}"
        if spread:
            result = "; ".join(
                f"`{a['arm']}` {_bounded(a['sd'])}" if a["sd"] else f"`{a['arm']}` no SD (n = {a['n']})"
                for a in check["per_arm"]
            )
        else:
            worst = check["worst"]
            result = f"{check['n_pass']} of {check['n_runs']} runs within it" + (
                f"; worst {worst['value']:.3g} (`{worst['arm']}`, seed index {worst['seed_index']})" if worst else ""
            )
        holds = {True: "**yes**", False: "**no**", None: "undecided" if spread else "not checked (no runs)"}
        lines.append(_row(check["name"], f"`{check['metric']}`", shown, result or "—", holds[check["holds"]]))
    lines.append("")
    for check in found:
        if check["why"]:
            lines.append(f"- *{check['name']}*: {check['why']}.")
        if check.get("failing"):
            listed = "; ".join(f"`{f['arm']}` seed index {f['seed_index']}: {f['value']:.3g}" for f in check["failing"])
            more = " …" if check["n_runs"] - check["n_pass"] > len(check["failing"]) else ""
            lines.append(f"- *{check['name']}* fails in: {listed}{more}.")
        if check["unchecked"]:
            listed = "; ".join(f"`{u['arm']}` seed index {u['seed_index']} ({u['status']})" for u in check["unchecked"])
            lines.append(f"- *{check['name']}*: not checked (no value): {listed}.")
    return [*lines, ""]


def _bounded(sd: dict) -> str:
    return f"{sd['value']:.3g} (95% CI {sd['low']:.3g} to {sd['high']:.3g}; n = {sd['n']})"


def _tuning(results: dict, fmt: Formatter) -> list[str]:
    """The tuning budget, each arm's sweep and best params; the untuned effect beside the tuned one."""
    tuning = results.get("tuning")
    if not tuning:
        return []
    if not tuning["tuned"]:
        return [
            "## Tuning: untuned",
            "",
            "Tuning budget 0: every arm runs the claim's own settings, as written in the suite file.",
            "",
        ]
    sampler, pruner = tuning["sampler"], tuning["pruner"]
    sampler_text = (
        "grid (every grid point once, in a seeded order)"
        if sampler["kind"] == "grid"
        else ", ".join(f"{k}={v}" for k, v in sampler.items())
    )
    lines = [
        "## Tuning",
        "",
        f"Equal budget: **{tuning['budget']} Optuna trials per arm**, on tuning seeds disjoint from the "
        f"confirmation seeds, maximising{'' if tuning['higher_is_better'] else ' (minimising)'} "
        f"`{tuning['objective']}` (validation data; the test set is never used to choose). Sampler "
        + sampler_text
        + "; pruner "
        + (", ".join(f"{k}={v}" for k, v in pruner.items()) if pruner["kind"] != "none" else "none")
        + ". The confirmation runs below use each arm's best params.",
        "",
        _row("arm", "trials (complete / pruned / failed)", f"best {tuning['objective']}", "best params", "searched"),
        _row("---", "---", "---:", "---", "---"),
    ]
    for name, arm in tuning["arms"].items():
        best = "—" if arm["best_value"] is None else f"{arm['best_value']:.4f}"
        lines.append(
            _row(
                f"`{name}`",
                f"{arm['n_trials']} ({arm['n_complete']} / {arm['n_pruned']} / {arm['n_failed']})",
                best,
                ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in (arm["best_params"] or {}).items()
                ),
                "; ".join(f"{k} {_space(v)}" for k, v in arm["search_space"].items()),
            )
        )
    lines.append("")
    untuned = {
        (c["baseline"], c["treatment"], c["protocol"]): c for c in results.get("untuned", {}).get("comparisons", [])
    }
    if untuned:
        lines += [
            "Tuned effect next to the untuned one (the claim's own settings, same confirmation seeds):",
            "",
            _row("comparison", "protocol", "tuned effect (95% CI)", "verdict", "untuned effect (95% CI)", "verdict"),
            _row("---", "---", "---", "---", "---", "---"),
        ]
        for c in results["comparisons"]:
            u, f = untuned.get((c["baseline"], c["treatment"], c["protocol"])), Formatter.row(c, fmt)
            lines.append(
                _row(
                    f"`{c['treatment']}` − `{c['baseline']}`",
                    c["protocol"],
                    f.ci(c["effect"], delta=True),
                    c["verdict"]["label"],
                    f.ci(u["effect"], delta=True) if u else "—",
                    u["verdict"]["label"] if u else "—",
                )
            )
        lines.append("")
    return lines


def backend_lines(backend: str, provenance: dict[str, list[str]]) -> list[str]:
    """The report's line on the Keras backend (with versions) and any GPU the runs used."""
    if backend.startswith("pooled"):
        return [f"> **Keras backend: {backend}** — pooled because the report was asked to (`--pool-backends`).", ""]
    if not backend:
        return []
    versions = ", ".join(
        f"{name} {'; '.join(provenance[f'version.{name}'])}"
        for name in ("keras", backend, f"{backend}-cpu")
        if provenance.get(f"version.{name}")
    )
    gpus = [gpu for gpu in provenance.get("gpu", []) if gpu not in ("none", "unknown")]
    on = f" on **{'; '.join(gpus)}**" if gpus else ""
    lines = [f"Keras backend: **{backend}** ({versions}){on}.", ""]
    if provenance.get("cpu"):  # what decides whether CPU numbers are bitwise reproducible elsewhere
        shown = {
            key: "; ".join(provenance.get(key, [])) or "not recorded" for key in ("cpu_features", "onednn", "threads")
        }
        lines += [
            f"CPU: {'; '.join(provenance['cpu'])} (instruction sets: {shown['cpu_features']}; TensorFlow oneDNN: "
            f"{shown['onednn']}; threads per trial: {shown['threads']}).",
            "",
        ]
    return lines


MLFLOW_UI = "http://127.0.0.1:5000"  # where `nox -s mlflow-ui` serves the store


def headline_sentence(results: dict) -> str:
    """The verdict in one sentence (plain text: the report's top line, the MLflow run's description, the terminal)."""
    comparison = results["comparison"]
    if not comparison:
        return "No verdict yet: fewer than 2 seeds have finished in both arms."
    fmt, verdict = Formatter.of(results), comparison["verdict"]
    provisional = "Provisional (the campaign is still running) — " if results.get("in_progress") else ""
    return provisional + (
        f"{verdict['label'].capitalize()}: {comparison['treatment']} over {comparison['baseline']} on "
        f"{results['claim']['metric_label']}, {fmt.ci(comparison['effect'], delta=True)}, claimed "
        f"{claimed_text(comparison, fmt)} — {verdict['meaning']}."
    )


def _badge(label: str) -> str:
    """The verdict as a coloured badge in HTML (plain bold text where raw HTML is not shown)."""
    return f'<span class="badge verdict-{label.replace(" ", "-").replace(",", "")}">{label}</span>'


def _links(results: dict) -> str:
    """Where the data behind the report is: its files, the index, the commit and the MLflow runs."""
    links = [
        "[results.json](results.json)",
        "[runs.csv](runs.csv) (every run, to download)",
        "[all reports](../../index.md)",
    ]
    commits = results["provenance"].get("git_commit", [])
    if commits:
        links.append("commit " + ", ".join(f"`{c}`" for c in commits))
    mlflow = results.get("mlflow")
    if mlflow:
        experiment, run = mlflow["experiment_id"], mlflow["campaign_run_id"]
        url = f"{MLFLOW_UI}/#/experiments/{experiment}/runs/{run}"
        links.append(
            f"MLflow: experiment {experiment}, campaign run [`{run}`]({url}) "
            "(`nox -s mlflow-ui`; every run's id is in runs.csv)"
        )
    return " · ".join(links)


def _per_seed(comparison: dict, fmt: Formatter) -> list[str]:
    """The claim's paired values seed by seed, folded away in HTML."""
    base, treat = comparison["baseline"], comparison["treatment"]
    change = "speed-up" if fmt.axis else f"`{treat}` − `{base}`"
    lines = [
        "<details>",
        f"<summary>Per-seed results of the claim's comparison ({len(comparison['per_seed'])} pairs)</summary>",
        "",
        _row("seed index", "seed", f"`{base}`", f"`{treat}`", change),
        _row("---:", "---:", "---:", "---:", "---:"),
    ]
    for row in comparison["per_seed"]:
        effect = row["effect"] if fmt.axis else row[treat] - row[base]
        lines.append(
            _row(row["seed_index"], row["seed"], fmt.value(row[base]), fmt.value(row[treat]), fmt.delta(effect))
        )
    return [*lines, "", "</details>", ""]


def _in_progress(results: dict) -> list[str]:
    """The warning atop a report made while its campaign still runs."""
    progress = results.get("in_progress")
    if not progress:
        return []
    planned = progress["planned_per_arm"]
    counts = ", ".join(f"`{arm}` {n} of {planned}" for arm, n in progress["finished"].items())
    return [
        f"> **Provisional: the campaign is still running.** Finished confirmation runs per arm: {counts} "
        "(per variant). The verdict reads only these and will change; make the report again when the "
        "campaign has ended.",
        "",
    ]


def render(results: dict, figures: list[tuple[str, str]]) -> str:
    claim, comparison = results["claim"], results["comparison"]
    fmt = Formatter.of(results)
    label = comparison["verdict"]["label"] if comparison else "no verdict yet"
    lines = [
        f"# {results['title']}",
        "",
        *_in_progress(results),
        f"{_badge(label)} {headline_sentence(results)}",
        "",
        _links(results),
        "",
        f"Suite `{results['suite']}`, profile `{results['profile']}` — {results['profile_description']}.",
        "",
        "Runs made by: " + (", then (resumed) ".join(f"`{c}`" for c in results["campaign_commands"]) or "?"),
        "",
    ]
    if results["report_command"] not in results["campaign_commands"]:
        lines += [f"Report rebuilt from MLflow by: `{results['report_command']}`", ""]
    lines += backend_lines(results.get("keras_backend", ""), results["provenance"])
    lines += _mode_lines(results)
    sources = results["provenance"].get("data_source", [])
    if sources:
        lines += ["Data: " + "; ".join(sources) + ".", ""]
    if results["changes_protocol"]:
        lines += [f"> **This profile departs from the claim's protocol:** {results['changes_protocol']}.", ""]
    if comparison:
        verdict = comparison["verdict"]
        lines += [
            f"## Verdict: **{verdict['label']}**",
            "",
            f"Measured effect of `{comparison['treatment']}` over `{comparison['baseline']}` on "
            f"{claim['metric_label']}: **{fmt.ci(comparison['effect'], delta=True)}** paired seeds (paired t); "
            f"claimed: {claimed_text(comparison, fmt)}.{_judged_on(comparison, fmt)} "
            f"The verdict is *{verdict['label']}* "
            f"because {verdict['meaning']}.",
        ]
        if comparison.get("incomplete"):
            lines.append(
                f" **Incomplete:** {len(comparison['missing_pairs'])} pairs are missing to failed runs (more than "
                f"{MAX_MISSING_SHARE:.0%}); see the worst-case line under the table."
            )
        if verdict["seeds_needed"]:
            lines.append(
                f" About **{verdict['seeds_needed']} paired seeds** would give 80% power "
                f"{verdict.get('needed_for') or 'to detect the claimed effect'} at the observed paired SD."
            )
        lines.append("")
    else:
        lines += ["## Verdict: none yet", "", "Fewer than 2 seeds have finished in both arms.", ""]
    lines += _verdict_table(results, fmt)
    lines += _speed(results, fmt)
    lines += _torture(results, fmt)
    lines += _grid(results, fmt)
    lines += _stability(results, fmt)
    lines += _checks(results)
    lines += _range_tests(results)
    lines += _ranking(results)
    lines += _tuning(results, fmt)
    lines += [
        "## The claim",
        "",
        f"- Source: {claim['source']}",
        f"- Statement: {claim['statement']}",
        _reported(claim, fmt),
    ]
    if claim.get("notes"):
        lines.append(f"- Notes: {claim['notes']}")
    lines += [
        "",
        "## Results per arm",
        "",
        _row(
            "arm",
            "runs",
            "ok",
            "diverged",
            "failed",
            f"mean {claim['metric_label']} (95% CI, t)",
            "mean wall time",
        ),
        _row("---", "---:", "---:", "---:", "---:", "---", "---:"),
    ]
    for name, arm in results["arms"].items():
        mean = fmt.ci(arm["metric"]) if arm["metric"] else "—"
        wall = f"{arm['wall_time_s']:.1f} s" if arm["wall_time_s"] is not None else "—"
        lines.append(_row(f"`{name}`", arm["n_runs"], arm["n_ok"], arm["n_diverged"], arm["n_failed"], mean, wall))
    lines += [
        "",
        "Diverged runs (non-finite loss) are kept, scored as the model stood when training stopped; "
        "failed runs (errors) have no score and are listed below if any.",
        "",
    ]
    for name, arm in results["arms"].items():
        for reason in arm["failures"]:
            lines.append(f"- `{name}` failed: {reason}")
    lines += _inflation(results, fmt)
    if comparison:
        base, treat = comparison["baseline"], comparison["treatment"]
        claimed, best = claimed_text(comparison, fmt), comparison["best_seed"]
        protocol = f", protocol *{comparison['protocol']}*" if len(results["protocols"]) > 1 else ""
        lines += [f"## Paired comparison (the claim{protocol})", "", _row("quantity", "value"), _row("---", "---")]
        what = f"mean difference `{treat}` − `{base}` (paired t)"
        if fmt.axis:
            what = f"geometric-mean speed-up of `{treat}` over `{base}` (paired t on the log ratios)"
        spread = f"{comparison['paired_sd']:.3g} (log ratio)" if fmt.axis else fmt.delta(comparison["paired_sd"])
        lines += [
            _row(what, fmt.ci(comparison["effect"], delta=True)),
            _row("the same, BCa bootstrap", fmt.ci(comparison["effect_bca"], delta=True)),
            _row("SD of the paired differences", spread.lstrip("+")),
            _row(
                f"P(`{treat}` better than `{base}`) over seeds (ties ½; exact Clopper–Pearson CI)",
                f"{_share(comparison['prob_treatment_better'])}: {comparison['outperforming']}",
            ),
            _row(
                "standardized effect (95% CI)",
                f"d_z {_d(comparison['d_z'])}; Hedges-corrected g_z {_d(comparison['g_z'])}",
            ),
            _row(
                "p, paired sign-flip permutation test (BH-adjusted)",
                f"{_p(comparison['p_value'])} ({_p(comparison['p_adjusted'])})",
            ),
            *(
                [
                    _row(
                        f"seeds whose own difference reaches the claimed {claimed} (Clopper–Pearson)",
                        _share(comparison["share_at_least_claimed"]),
                    )
                ]
                if comparison["share_at_least_claimed"]
                else []
            ),
            _row(
                "largest single-seed difference (what one hand-picked run could show)",
                f"{fmt.delta(best['effect'])} (seed index {best['seed_index']})",
            ),
            "",
        ]
        lines += _per_seed(comparison, fmt)
    for figure, caption in figures:
        lines += [f"![{caption}]({figure})", "", f"*{caption}*", ""]
    lines += [
        "## Protocol as run",
        "",
        "| setting | " + " | ".join(f"`{a}`" for a in results["settings"]) + " |",
        "| --- |" + " --- |" * len(results["settings"]),
    ]
    flat = {arm: _dotted(settings) for arm, settings in results["settings"].items()}
    for key in dict.fromkeys(key for settings in flat.values() for key in settings):
        lines.append(f"| {key} | " + " | ".join(str(s.get(key, "—")) for s in flat.values()) + " |")
    lines += [
        "",
        f"Root seed {results['root_seed']}; child seed *i* is shared by every arm (paired design). "
        f"Total training time over all trials: {results['total_wall_time_s'] / 60:.1f} min.",
        "",
        "## Provenance",
        "",
        "| item | value |",
        "| --- | --- |",
        f"| seeds | root {results['root_seed']}; confirmation seeds by index: "
        + ", ".join(f"{i}: {seed}" for i, seed in results["seeds"].items())
        + " |",
    ]
    for key, values in results["provenance"].items():
        lines.append(f"| {key} | {'; '.join(values)} |")
    lines += [
        "",
        "Every number here is in `results.json`, and every run behind it (failed, diverged and pruned ones too, "
        "with its metrics, settings hash, provenance and MLflow run id) in `runs.csv`; `harness report "
        f"{results['suite']} --profile {results['profile']}` rebuilds this report from MLflow, and `harness verify "
        f"{results['suite']} --profile {results['profile']}` re-runs a few of its seeds and compares.",
        "",
    ]
    return "\n".join(lines)

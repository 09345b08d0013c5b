"""PNG figures from a report's results (every plotted number is in results.json)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from harness.report.torture import headline_curves

COLOURS = (  # one per arm: a suite may compare ten
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def colour(i: int) -> str:
    """The i-th colour, cycling."""
    return COLOURS[i % len(COLOURS)]


CURVE_TITLES = {
    "loss": "training loss",
    "val_accuracy": "validation accuracy",
    "epoch_test_accuracy": "test accuracy (shown, never used to choose)",
    "pretrain_val_accuracy": "pre-training (model A): validation accuracy",
}


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def paired_plot(results: dict, path: Path, scale: float) -> None:
    """Left: each seed's baseline → treatment; right: per-seed differences, mean, CI, claim."""
    comparison = results["comparison"]
    base, treat = comparison["baseline"], comparison["treatment"]
    direction = 1 if results["claim"]["higher_is_better"] else -1
    rows = comparison["per_seed"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})
    for row in rows:
        left.plot([0, 1], [row[base] * scale, row[treat] * scale], color="0.6", lw=0.8, marker="o", ms=3)
    left.set_xticks([0, 1], [base, treat])
    left.set_xlim(-0.3, 1.3)
    left.set_ylabel(results["claim"]["metric_label"] + (" (%)" if scale == 100 else ""))
    left.set_title(f"per seed (n = {len(rows)} pairs)")
    diffs = [direction * (row[treat] - row[base]) * scale for row in rows]
    right.scatter(diffs, [0.1 * ((i % 7) - 3) for i in range(len(diffs))], s=12, color="0.4", label="one seed")
    effect = comparison["effect"]
    right.errorbar(
        [effect["value"] * scale],
        [-0.6],
        xerr=[[(effect["value"] - effect["low"]) * scale], [(effect["high"] - effect["value"]) * scale]],
        fmt="o",
        color=COLOURS[0],
        capsize=5,
        label="mean, 95% CI",
    )
    right.axvline(0, color="black", lw=0.8)
    if comparison["claimed_effect"] is not None:
        right.axvline(comparison["claimed_effect"] * scale, color=COLOURS[1], ls="--", label="claimed effect")
    right.set_yticks([])
    right.set_ylim(-1, 0.6)
    right.set_xlabel(
        f"{treat} − {base}"
        + (" (points)" if scale == 100 else "")
        + ("" if direction == 1 else " (sign flipped: lower is better)")
    )
    right.set_title(f"paired difference: {comparison['verdict']['label']}")
    right.legend(loc="upper left", fontsize=8, frameon=False)
    _save(fig, path)


def curves_plot(results: dict, path: Path) -> bool:
    """Per-epoch mean and 95% band per arm for each recorded curve; False if none."""
    keys = sorted({key for arm in results["arms"].values() for key in arm["curves"]})
    if not keys:
        return False
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        scale = 100.0 if "accuracy" in key else 1.0  # accuracies in %, as the tables give them
        for i, (name, arm) in enumerate(results["arms"].items()):
            shade = colour(i)
            band = arm["curves"].get(key)
            if not band:
                continue
            epochs = [i + 1 for i, m in enumerate(band["mean"]) if m is not None]
            pick = [i - 1 for i in epochs]
            label = f"{name} (n={max(band['n'])})"
            ax.plot(epochs, [band["mean"][i] * scale for i in pick], color=shade, label=label)
            low, high = ([band[end][i] * scale for i in pick] for end in ("low", "high"))
            ax.fill_between(epochs, low, high, color=shade, alpha=0.25)
        ax.set_title(CURVE_TITLES.get(key, key))
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)" if scale == 100.0 else key.replace("_", " "))
        ax.legend(fontsize=8, frameon=False)
    _save(fig, path)
    return True


def range_plot(results: dict, path: Path) -> bool:
    """Each arm's range test: the smoothed loss against the learning rate (mean and 95% band across
    seeds), the steepest-descent suggestion's 95% CI shaded; False if no arm ran one."""
    arms = {
        i: (name, arm["range_test"]) for i, (name, arm) in enumerate(results["arms"].items()) if arm.get("range_test")
    }
    if not arms:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, (name, found) in arms.items():  # each arm in its colour of the other figures
        band, shade = found["smoothed"], colour(i)
        steps = [j for j, m in enumerate(band["mean"]) if m is not None]
        rates = [found["lr"][j] for j in steps]
        ax.plot(rates, [band["mean"][j] for j in steps], color=shade, label=f"{name} (n={max(band['n'])})")
        ax.fill_between(
            rates, [band["low"][j] for j in steps], [band["high"][j] for j in steps], color=shade, alpha=0.25
        )
        if steepest := found["suggestions"]["range_steepest_lr"]:
            ax.axvspan(steepest["low"], steepest["high"], color=shade, alpha=0.12)
            ax.axvline(steepest["value"], color=shade, lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (centred moving average)")
    ax.set_title(
        "range test: mean and 95% band across seeds;\ndashed: steepest descent, shaded: its 95% CI", fontsize=9
    )
    ax.legend(fontsize=8, frameon=False)
    _save(fig, path)
    return True


def schedule_plot(results: dict, path: Path) -> bool:
    """Each arm's learning rate (and cycled momentum) over its planned updates; False if no arm has a schedule."""
    arms = {name: arm["schedule"] for name, arm in results["arms"].items() if arm.get("schedule")}
    if not arms:
        return False
    keys = [key for key in ("lr", "momentum") if any(key in schedule for schedule in arms.values())]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for i, (name, schedule) in enumerate(arms.items()):
            if key in schedule:
                ax.plot(schedule["at_updates"], schedule[key], color=colour(i), label=name)
        ax.set_xlabel("optimizer updates")
        ax.set_ylabel("learning rate" if key == "lr" else "momentum (β₁)")
        ax.set_title("learning-rate schedule" if key == "lr" else "momentum schedule")
        ax.legend(fontsize=8, frameon=False)
    _save(fig, path)
    return True


def landscape_plot(results: dict, path: Path) -> bool:
    """Each arm's sweep over two numeric settings: every trial at its (x, y), coloured by the tuning
    objective, pruned trials as grey crosses, the best ringed; False unless some arm searched exactly
    two numeric settings."""
    tuning = results.get("tuning") or {}
    panels = {}
    for name, arm in (tuning.get("arms") or {}).items():
        space = {k: v for k, v in arm["search_space"].items() if "low" in v}
        placed = [t for t in arm["trials"] if all(k in t["params"] for k in space)]
        trials = [t for t in placed if t["value"] is not None]
        pruned = [t for t in placed if t.get("status") == "pruned"]
        if len(space) == 2 and len(arm["search_space"]) == 2 and len(trials) >= 2:
            panels[name] = (space, trials, pruned, arm["best_params"])
    if not panels:
        return False
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.8 * columns + 1, 4.2 * rows), squeeze=False, layout="constrained"
    )
    values = [t["value"] for _, trials, _, _ in panels.values() for t in trials]
    # The colours resolve the better three quarters of all trials; the worst quarter (diverged
    # settings, typically) shares the far end of the scale, marked on the colour bar.
    higher = tuning.get("higher_is_better", True)
    low, high = (np.percentile(values, 25), max(values)) if higher else (min(values), np.percentile(values, 75))
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (name, (space, trials, pruned, best)) in zip(axes.flat, panels.items(), strict=False):
        (x, x_spec), (y, y_spec) = space.items()
        if pruned:
            ax.scatter(
                [t["params"][x] for t in pruned], [t["params"][y] for t in pruned], marker="x", c="grey", label="pruned"
            )
        drawn = ax.scatter(
            [t["params"][x] for t in trials],
            [t["params"][y] for t in trials],
            c=[t["value"] for t in trials],
            cmap="viridis",
            vmin=low,
            vmax=high,
            s=36,
        )
        if best:
            ax.scatter([best[x]], [best[y]], s=140, facecolors="none", edgecolors="red", label="best")
        if best or pruned:
            ax.legend(fontsize=8, frameon=False)
        ax.set_xscale("log" if x_spec.get("log") else "linear")
        ax.set_yscale("log" if y_spec.get("log") else "linear")
        ax.set_xlim(x_spec["low"], x_spec["high"])  # the whole searched range
        ax.set_ylim(y_spec["low"], y_spec["high"])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{name} ({len(trials)} trials" + (f", {len(pruned)} pruned)" if pruned else ")"))
    fig.colorbar(drawn, ax=axes.ravel().tolist(), label=tuning["objective"], extend="min" if higher else "max")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def effects_plot(results: dict, path: Path, scale: float) -> bool:
    """Every comparison's mean effect with its 95% CI, one colour per protocol, one panel per scale
    (differences; speed-ups on a log axis); False if only one comparison."""
    rows = results["comparisons"]
    if len(rows) < 2:
        return False
    report_axis = (results.get("scale") or {}).get("axis")
    panels: dict[bool, list[dict]] = {}
    for c in rows:
        panels.setdefault(bool(c.get("axis", report_axis)), []).append(c)
    protocols = list(dict.fromkeys(c["protocol"] for c in rows))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.2 + 0.5 * len(rows) + 0.5 * len(panels)), squeeze=False)
    for ax, (speed, members) in zip(axes[:, 0], sorted(panels.items()), strict=True):
        for y, c in enumerate(members):
            k, e = protocols.index(c["protocol"]), c["effect"]
            factor = scale if "axis" not in c else (100.0 if "accuracy" in c["metric"] else 1.0)
            value, low, high = (math.exp(x) if speed else x * factor for x in (e["value"], e["low"], e["high"]))
            ax.errorbar(
                [value],
                [-y],
                xerr=[[value - low], [high - value]],
                fmt="o",
                color=colour(k),
                capsize=4,
            )
            if c["claimed_effect"] is not None:
                claimed = math.exp(c["claimed_effect"]) if speed else c["claimed_effect"] * factor
                ax.plot([claimed], [-y], marker="x", color="black", ms=7)
        ax.axvline(1 if speed else 0, color="black", lw=0.8)
        ax.set_yticks(
            [-y for y in range(len(members))],
            [
                f"{c['treatment']} − {c['baseline']}" + (f" ({c['protocol']})" if len(protocols) > 1 else "")
                for c in members
            ],
        )
        if speed:
            ax.set_xscale("log")
            ax.set_xlabel("speed-up, baseline time ÷ treatment time (log scale); × = claimed")
        else:
            ax.set_xlabel("paired difference" + (" (points)" if factor == 100 else "") + "; × = claimed effect")
    axes[0, 0].set_title(f"every comparison (n = {rows[0]['n_pairs']} pairs), mean and 95% CI")
    _save(fig, path)
    return True


def budget_plot(results: dict, path: Path) -> bool:
    """Expected best validation score as a function of the number of tuning trials, per arm."""
    arms = {name: arm["expected_max"] for name, arm in results["tuning"]["arms"].items() if arm["expected_max"]}
    if not arms:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for i, (name, curve) in enumerate(arms.items()):
        shade = colour(i)
        ax.plot(curve["k"], curve["mean"], color=shade, marker="o", ms=3, label=f"{name} (n={len(curve['k'])})")
        ax.fill_between(curve["k"], curve["low"], curve["high"], color=shade, alpha=0.2)
    ax.set_xlabel("tuning trials k")
    ax.set_ylabel(f"expected best {results['tuning']['objective']}")
    ax.set_title("tuning budget: expected best of k trials (Tang et al. 2020)")
    ax.legend(fontsize=8, frameon=False)
    _save(fig, path)
    return True


def torture_plot(results: dict, path: Path, scale: float) -> bool:
    """Left: expected best effect of a search of size k, with bands; right: chance it reaches the claim."""
    headline = results["comparison"]
    threshold = headline and headline.get("torture_threshold", headline["claimed_effect"])
    if threshold is None:  # an equivalence or non-inferiority claim: no effect to reach
        return False
    curves = headline_curves(results)
    if not curves:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (label, curve) in enumerate(curves):
        shade = colour(i)
        left.plot(curve["k"], [m * scale for m in curve["mean"]], color=shade, label=f"{label}, n={curve['n']}")
        left.fill_between(
            curve["k"], [v * scale for v in curve["low"]], [v * scale for v in curve["high"]], color=shade, alpha=0.2
        )
        right.plot(curve["k"], curve["prob_reaches_claimed"], color=shade, label=label)
    what = "claimed effect" if headline["claimed_effect"] is not None else "margin (a direction: no size claimed)"
    left.axhline(threshold * scale, color="black", ls="--", lw=1, label=what)
    left.axhline(0, color="0.5", lw=0.8)
    left.set_xlabel("search size k")
    left.set_ylabel("reported effect" + (" (points)" if scale == 100 else ""))
    left.set_title("expected best effect of a search (bootstrap spread, not a CI)")
    left.legend(fontsize=7, frameon=False)
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylim(-0.02, 1.02)
    right.set_xlabel("search size k")
    right.set_ylabel(f"P(best ≥ {what.split(' (')[0]})")
    right.set_title(f"chance a search finds the {what.split(' (')[0]}")
    _save(fig, path)
    return True


def grid_plot(results: dict, path: Path, scale: float) -> bool:
    """Torture profiles: each grid point's runs (dots) and mean (bar), best on top; False without a grid."""
    grid = results.get("grid")
    if not grid:
        return False
    comparison = results["comparison"]
    base, treat = comparison["baseline"], comparison["treatment"]
    direction = 1 if results["claim"]["higher_is_better"] else -1
    n_points = grid["n_points"]
    runs: dict[int, list[float]] = {}
    for row in comparison["per_seed"]:
        runs.setdefault(row["seed_index"] % n_points, []).append(direction * (row[treat] - row[base]) * scale)
    order = sorted(runs, key=lambda g: -sum(runs[g]) / len(runs[g]))
    labels = {g: ", ".join(map(str, grid["points"][g].values())) for g in order}
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.2 * n_points))
    for row, g in enumerate(order):
        ax.scatter(runs[g], [-row] * len(runs[g]), s=10, color="0.5")
        ax.plot([sum(runs[g]) / len(runs[g])] * 2, [-row - 0.35, -row + 0.35], color=COLOURS[0], lw=2)
    ax.axvline(0, color="black", lw=0.8)
    if comparison["claimed_effect"] is not None:
        ax.axvline(comparison["claimed_effect"] * scale, color=COLOURS[1], ls="--", label="claimed effect")
    ax.set_yticks([-row for row in range(len(order))], [labels[g] for g in order], fontsize=7)
    ax.set_xlabel(f"{treat} − {base}" + (" (points)" if scale == 100 else "") + "; dots: runs, bars: mean")
    ax.set_title(f"{', '.join(grid['settings'])}: {grid['n_runs']} paired runs over {n_points} settings")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _save(fig, path)
    return True


def stability_plot(results: dict, path: Path, scale: float) -> bool:
    """Left: each arm's SD across seeds with its CI; right: the tuning objective across the grid per arm."""
    spreads, robust = results.get("stability") or [], results.get("robustness") or []
    if not spreads and not robust:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    sds = {arm: sd for pair in spreads for arm, sd in pair["sd"].items()}
    for i, sd in enumerate(sds.values()):
        low, high = (sd["value"] if sd[end] is None else sd[end] for end in ("low", "high"))
        left.errorbar(
            [i],
            [sd["value"] * scale],
            yerr=[[(sd["value"] - low) * scale], [(high - sd["value"]) * scale]],
            fmt="o",
            capsize=5,
            color=colour(i),
        )
    for pair in spreads:
        for arm, reported in pair["reported_sd"].items():
            left.scatter([list(sds).index(arm)], [reported * scale], marker="x", color="black", zorder=3)
    left.set_xticks(range(len(sds)), list(sds), rotation=15)
    left.set_ylabel("SD across seeds" + (" (points)" if scale == 100 else ""))
    left.set_title("spread across seeds (95% CI; x = reported)")
    drawn: set[str] = set()
    for found in robust:
        for arm in (found["baseline"], found["treatment"]):
            if arm in drawn:
                continue
            drawn.add(arm)
            points = found["points"]
            xs = [next(iter(p["params"].values())) for p in points]
            numeric = all(isinstance(x, (int, float)) and x > 0 for x in xs)
            right.plot(
                xs if numeric else range(len(xs)),
                [p[arm] * scale for p in points],
                marker="o",
                label=arm,
                color=colour(len(drawn) - 1),
            )
            if numeric:
                right.set_xscale("log")
            else:
                right.set_xticks(range(len(xs)), [str(x) for x in xs])
            right.set_xlabel(next(iter(points[0]["params"])))
    if robust:
        right.set_ylabel(robust[0]["objective"] + (" (%)" if scale == 100 else ""))
        right.set_title("tuning grid, one run per point")
        right.legend(fontsize=8)
    else:
        right.set_visible(False)
    _save(fig, path)
    return True


def speed_plot(results: dict, path: Path) -> bool:
    """Per time-to-target metric: the share of each arm's seeds that reached the target by each time,
    with pointwise exact 95% bands (censored runs never reach); False if the suite has none."""
    speed = results.get("speed") or {}
    if not speed:
        return False
    fig, axes = plt.subplots(1, len(speed), figsize=(5.2 * len(speed), 3.8), squeeze=False)
    for ax, (metric, found) in zip(axes[0], speed.items(), strict=True):
        for i, (arm, summary) in enumerate(found["arms"].items()):
            shade = colour(i)
            reach = summary.get("reach")
            if not reach or not reach["at"]:
                continue
            xs = [0.0, *reach["at"]]
            ax.step(xs, [0.0, *reach["share"]], where="post", color=shade, label=f"{arm} (n={reach['n']})")
            ax.fill_between(xs, [0.0, *reach["low"]], [0.0, *reach["high"]], step="post", color=shade, alpha=0.2)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{metric}: reached the target by")
        ax.set_xlabel(found["target"].get("axis", "updates").replace("_", " "))
        ax.set_ylabel("share of seeds")
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    _save(fig, path)
    return True

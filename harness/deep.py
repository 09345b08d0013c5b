"""``harness validate --deep``: build and step every (profile, arm) of a suite on a few examples."""

from __future__ import annotations

from collections.abc import Callable

from harness.suites import Suite
from harness.workloads.components import axis_key


def deep_problems(suite: Suite, on_checked: Callable[[str], None] = lambda where: None) -> list[str]:
    """Each (profile, arm) loads its data, builds its model and optimizer and trains one batch of a
    miniature run (a few examples, one epoch); what fails is one line naming the suite path."""
    from harness.registry import WORKLOADS
    from harness.seeds import make_deterministic
    from harness.training import StopAfterFirstBatch

    run, problems, checked = WORKLOADS.get(suite.workload.name), [], {}
    for profile in suite.profiles:
        for arm in suite.arms:
            where = f"profiles.{profile} × arms.{arm}"
            miniature = suite.trial_settings(profile, arm).miniature()
            named = {suite.claim.metric, *(p.metric for p in suite.all_protocols().values())} - set(suite.derived)
            curves = {key for spec in suite.derived.values() for key in (spec.curve, axis_key(spec.curve, spec.axis))}
            key = miniature.model_dump_json()
            if key in checked:  # another profile's miniature is the same run
                problems += [f"{where}: {line.split(': ', 1)[1]}" for line in checked[key]]
                on_checked(where)
                continue
            before = len(problems)
            try:
                make_deterministic(0)
                outcome = run(miniature, 0, callbacks=[StopAfterFirstBatch()])
            except Exception as error:  # anything a trial would fail with
                message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                problems.append(f"{where}: {type(error).__name__}: {message}")
            else:
                absent = sorted(named - outcome.metrics.keys())
                if absent:
                    problems.append(f"{where}: the run produced no {', '.join(absent)} (the suite names it)")
                unrecorded = sorted(curves - outcome.history.keys())
                if unrecorded:
                    problems.append(f"{where}: the run recorded no curve {', '.join(unrecorded)} (derived: reads it)")
                on_checked(where)
            checked[key] = problems[before:]
    return problems

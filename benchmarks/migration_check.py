"""Per-seed metrics of untuned trials, one fresh process per trial (the migration regression check).

``python benchmarks/migration_check.py OUT.json [SUITE/PROFILE ...]`` runs, for each
suite/profile, every arm on the profile's seeds (smoke) or its first ``$QUICK_SEEDS`` (default 3) with
the claim's own settings, and writes status, metrics and curves per trial; trials already in
OUT.json are kept and not run again (an interrupted check resumes). Compare two
files with ``--compare OLD.json NEW.json`` (metric names mapped where the migration renamed them).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from pathlib import Path

PLAN = [("fashion", "smoke"), ("fashion", "quick"), ("imdb", "smoke"), ("imdb", "quick"),
        ("cifar", "smoke"), ("cifar", "quick")]  # fmt: skip
RENAMED = {  # metric names before the supervised workload → after
    "imdb": {
        "test_accuracy": "test_accuracy_at_best_val",
        "published_test_accuracy": "best_test_accuracy",
        "final_test_accuracy": "test_accuracy",
        "chosen_epoch": "best_val_epoch",
        "published_epoch": "best_test_epoch",
    },
    "cifar": {"best_epoch_test_accuracy": "best_test_accuracy", "best_test_epoch": "best_test_epoch"},
}


def specs(only: list[str], quick_seeds: int = 3) -> list:
    from harness.seeds import confirmation_seed
    from harness.suites import load
    from harness.trial import TrialSpec

    found = []
    for name, profile in PLAN:
        if only and f"{name}/{profile}" not in only:
            continue
        suite = load(name)
        seeds = suite.profiles[profile].seeds if profile == "smoke" else quick_seeds
        for index in range(seeds):
            for arm in suite.arms:
                settings = suite.settings_dict(profile, arm, index)
                seed = confirmation_seed(suite.root_seed, index)
                found.append(TrialSpec(name, profile, arm, index, seed, suite.workload.name, settings))
    return found


def trial_key(spec) -> str:
    return f"{spec.suite}/{spec.profile}/{spec.arm}/{spec.seed_index}"


def one(spec) -> tuple[str, dict]:
    from harness.trial import run_trial

    result = run_trial(spec, threads=1)
    return trial_key(spec), {"status": result.status, "reason": result.reason, "metrics": result.metrics,
                 "history": result.history, "wall_s": result.wall_time_s}  # fmt: skip


def compare(old_path: str, new_path: str) -> int:
    old, new = (json.loads(Path(path).read_text()) for path in (old_path, new_path))
    same = differ = 0
    for key, before in sorted(old.items()):
        after, renamed = new.get(key), RENAMED.get(key.split("/")[0], {})
        if after is None:
            print(f"{key}: missing after")
            differ += 1
            continue
        for name, value in before["metrics"].items():
            if name in ("train_images_per_s",):
                continue
            now = after["metrics"].get(renamed.get(name, name))
            ok = now == value
            same, differ = same + ok, differ + (not ok)
            if not ok:
                print(f"{key} {name}: {value!r} -> {now!r}")
        for name, curve in before["history"].items():
            if name != "epoch_time_s" and after["history"].get(name) != curve:
                print(f"{key} curve {name} differs")
                differ += 1
    print(f"{same} metric values identical, {differ} differ, over {len(old)} trials")
    return 1 if differ else 0


def smoke() -> int:
    """``--smoke``: the first fashion smoke trial, written and compared with itself."""
    import tempfile

    key, value = one(specs(["fashion/smoke"])[0])
    path = Path(tempfile.mkdtemp()) / "smoke.json"
    path.write_text(json.dumps({key: value}))
    return compare(str(path), str(path))


if __name__ == "__main__":
    if sys.argv[1] == "--smoke":
        sys.exit(smoke())
    if sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    out = Path(sys.argv[1])
    results = json.loads(out.read_text()) if out.exists() else {}
    with multiprocessing.get_context("spawn").Pool(2, maxtasksperchild=1) as pool:
        todo = [s for s in specs(sys.argv[2:], int(os.environ.get("QUICK_SEEDS", "3"))) if trial_key(s) not in results]
        for key, value in pool.imap_unordered(one, todo):
            results[key] = value
            print(key, value["status"], value["metrics"].get("test_accuracy"), round(value["wall_s"], 1), flush=True)
            with open(out, "w") as handle:
                json.dump(results, handle, indent=1, sort_keys=True)

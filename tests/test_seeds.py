from harness.seeds import confirmation_seed, derive, tuning_seed
from harness.suites import load
from tests.conftest import ROOT


def test_children_are_distinct_and_branches_disjoint():
    confirmation = {confirmation_seed(1, i) for i in range(500)}
    tuning = {tuning_seed(1, i) for i in range(500)}
    assert len(confirmation) == 500 and len(tuning) == 500
    assert not confirmation & tuning


def test_same_root_same_children_and_named_streams():
    assert [confirmation_seed(7, i) for i in range(5)] == [confirmation_seed(7, i) for i in range(5)]
    assert confirmation_seed(7, 0) != confirmation_seed(8, 0)
    assert derive(5, "init", "hidden", 0) == derive(5, "init", "hidden", 0)
    assert len({derive(5, "init", "hidden", i) for i in range(3)} | {derive(5, "order", "task_b")}) == 4


def test_plan_pairs_every_arm_on_the_same_seeds():
    from harness.campaign import plan

    suite = load(ROOT / "suites" / "fashion.yaml")
    trials = plan(suite, "quick", 4, suite.root_seed)
    by_arm = {arm: [t.seed for t in trials if t.arm == arm] for arm in suite.arms}
    assert by_arm["scratch"] == by_arm["transfer"] == [confirmation_seed(suite.root_seed, i) for i in range(4)]
    assert len({t.key for t in trials}) == len(trials) == 8

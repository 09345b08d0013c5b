from harness.seeds import confirmation_seed, derive, tuning_seed


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

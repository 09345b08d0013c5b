import subprocess
import sys

import pytest
import yaml

from harness.suites import SuiteError, load
from tests.conftest import ROOT

FASHION = ROOT / "suites" / "fashion.yaml"


def _write(tmp_path, mutate) -> str:
    data = yaml.safe_load(FASHION.read_text())
    mutate(data)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _problems(tmp_path, mutate) -> list[str]:
    with pytest.raises(SuiteError) as error:
        load(_write(tmp_path, mutate))
    assert str(tmp_path / "suite.yaml") in str(error.value)  # the file is named
    return error.value.problems


def test_shipped_suites_are_valid():
    suite = load("fashion") if (ROOT / "suites").samefile("suites") else load(FASHION)
    assert suite.claim.claimed_effect == pytest.approx(0.02)
    assert suite.settings("quick", "transfer").transfer is True


def test_unknown_key_with_did_you_mean(tmp_path):
    problems = _problems(tmp_path, lambda d: d["claim"].update(metrc="x"))
    assert problems == ["claim.metrc: unknown key 'metrc' (did you mean 'metric'?)"]


def test_unknown_setting_named_where_it_was_written(tmp_path):
    problems = _problems(tmp_path, lambda d: d["profiles"]["smoke"]["overrides"].update(epochz=3))
    assert problems == ["profiles.smoke.overrides.epochz: unknown key 'epochz' (did you mean 'epochs'?)"]


def test_wrong_type_names_path_and_value(tmp_path):
    problems = _problems(tmp_path, lambda d: d["workload"]["settings"].update(batch_size="big"))
    assert len(problems) == 1 and problems[0].startswith("workload.settings.batch_size:") and "'big'" in problems[0]


def test_unknown_arm_model_dataset_all_listed_at_once(tmp_path):
    def mutate(d):
        d["claim"]["treatment"]["arm"] = "transfr"
        d["workload"]["settings"]["model"] = "mpl"
        d["workload"]["settings"]["dataset"] = "fashion_mnst"
        d["profiles"]["quick"]["seeds"] = 0

    problems = _problems(tmp_path, mutate)
    text = "\n".join(problems)
    assert "claim.treatment.arm: unknown arm 'transfr' (did you mean 'transfer'?)" in text
    assert "workload.settings.model: unknown model 'mpl' (did you mean 'mlp'?)" in text
    assert "workload.settings.dataset: unknown dataset 'fashion_mnst' (did you mean 'fashion_mnist'?)" in text
    assert "profiles.quick.seeds:" in text
    assert len(problems) == 4


def test_unknown_workload_and_unknown_suite_name(tmp_path):
    problems = _problems(tmp_path, lambda d: d["workload"].update(name="transfr"))
    assert problems == [
        "workload.name: unknown workload 'transfr' (did you mean 'transfer'?); "
        "known: sentiment, synthetic, transfer, vision"
    ]
    with pytest.raises(SuiteError, match="did you mean 'fashion'"):
        load("fashon")


def test_claim_must_report_an_improvement(tmp_path):
    problems = _problems(tmp_path, lambda d: d["claim"]["treatment"].update(reported=0.5))
    assert any("not better than the reported baseline" in p for p in problems)


def test_ls_and_validate_do_not_import_tensorflow_or_mlflow():
    code = (
        "import sys; from harness.cli import main; main(['ls']); main(['validate', 'suites/fashion.yaml']);"
        "heavy = [m for m in ('tensorflow', 'keras', 'mlflow', 'optuna') if m in sys.modules];"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out and "fashion" in out


def test_validate_exit_code(tmp_path, capsys):
    from harness.cli import main

    bad = _write(tmp_path, lambda d: d.update(colour="red"))
    assert main(["validate", bad]) == 1
    assert "unknown key 'colour'" in capsys.readouterr().err
    assert main(["validate", str(FASHION)]) == 0


IMDB = ROOT / "suites" / "imdb.yaml"


def _imdb_problems(tmp_path, mutate) -> list[str]:
    data = yaml.safe_load(IMDB.read_text())
    mutate(data)
    path = tmp_path / "imdb.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SuiteError) as error:
        load(str(path))
    return error.value.problems


def test_imdb_suite_comparisons_and_protocols():
    suite = load(IMDB)
    pairs = [(c.baseline, c.treatment, suite.claimed_effect(c)) for c in suite.all_comparisons()]
    assert pairs == [
        ("adam", "masked_lazy_adam", pytest.approx(0.012)),
        ("adam", "lazy_adam", 0.012),
        ("lazy_adam", "masked_lazy_adam", None),  # direction only
    ]
    assert list(suite.all_protocols()) == ["honest", "as_published"]  # the claim's metric first
    assert suite.settings("quick", "masked_lazy_adam").model == "pooled"
    assert suite.settings("paper", "adam").model == "lstm"


def test_comparison_and_protocol_mistakes_are_named(tmp_path):
    def mutate(d):
        d["comparisons"][1]["treatment"] = "lazy_adamm"
        d["comparisons"][2]["baseline"] = "masked_lazy_adam"
        d["comparisons"][0]["claimed_effect"] = -0.01
        d["claim"]["metric"] = "final_test_accuracy"

    problems = _imdb_problems(tmp_path, mutate)
    assert "comparisons.1.treatment: unknown arm 'lazy_adamm' (did you mean 'lazy_adam'?)" in problems
    assert "comparisons.2.treatment: must differ from the baseline" in problems
    assert any(p.startswith("comparisons.0.claimed_effect: Input should be greater than 0") for p in problems)
    assert any(p.startswith("claim.metric: 'final_test_accuracy' is not the metric of any protocol") for p in problems)


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("workload.settings", "num_words", 0),
        ("workload.settings", "maxlen", "long"),
        ("arms.adam.params", "optimizer", "sgd"),
    ],
)
def test_imdb_settings_must_be_valid(tmp_path, where, key, value):
    def mutate(d):
        section = d
        for part in where.split("."):
            section = section[part]
        section[key] = value

    problems = _imdb_problems(tmp_path, mutate)
    assert len(problems) == 1 and problems[0].startswith(f"{where}.{key}:") and repr(value) in problems[0]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["tuning"]["search_space"].update(learning_rate={"low": 0.1, "high": 0.01}),
            "tuning.search_space.learning_rate: empty or inverted range: low (0.1) must be below high (0.01)",
        ),
        (
            lambda d: d["tuning"]["search_space"].update(momentum={"choices": []}),
            "tuning.search_space.momentum: choices is empty",
        ),
        (
            lambda d: d["arms"]["transfer"]["search_space"].update(frozen_epoch={"low": 0, "high": 3}),
            "arms.transfer.search_space.frozen_epoch: unknown parameter 'frozen_epoch' for workload 'transfer' "
            "(did you mean 'frozen_epochs'?)",
        ),
        (
            lambda d: d["arms"]["scratch"].update(search_space={"learning_rate": {"low": 0.001, "high": 0.01}}),
            "arms.scratch.search_space.learning_rate: 'learning_rate' is shared (tuning.search_space)",
        ),
        (lambda d: d["tuning"].update(objective="test_accuracy"), "tuning: objective 'test_accuracy' is a test-set"),
        (lambda d: d["profiles"]["smoke"].update(budget=-1), "profiles.smoke.budget: Input should be greater than"),
    ],
)
def test_search_space_mistakes_are_named(tmp_path, mutate, expected):
    assert any(p.startswith(expected) for p in _problems(tmp_path, mutate)), _problems(tmp_path, mutate)

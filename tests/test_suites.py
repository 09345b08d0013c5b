import subprocess
import sys

import pytest
import yaml

from harness.suites import SuiteError, load
from tests.conftest import ROOT, mutated_suite, suite_problems

FASHION = ROOT / "suites" / "fashion.yaml"


def _write(tmp_path, mutate) -> str:
    return str(mutated_suite(tmp_path, FASHION, mutate))


def _problems(tmp_path, mutate) -> list[str]:
    return suite_problems(tmp_path, FASHION, mutate)


def test_shipped_suites_are_valid():
    suite = load("fashion") if (ROOT / "suites").samefile("suites") else load(FASHION)
    assert suite.claim.claimed_effect == pytest.approx(0.02)
    assert suite.trial_settings("quick", "transfer").transfer is True


@pytest.mark.parametrize(
    "path",
    sorted([*(ROOT / "suites").glob("*.yaml"), *(ROOT / "tests" / "suites").glob("*.yaml")]),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_every_suite_file_validates_and_matches_the_schema(path):
    """Every suite file: harness validation and the JSON Schema editors use (a new file needs no new test)."""
    import jsonschema

    from harness.schema import suite_schema

    suite = load(path)
    jsonschema.validate(yaml.safe_load(path.read_text()), suite_schema())
    for profile in suite.profiles:
        for arm in suite.arms:
            assert suite.trial_settings(profile, arm).metrics()  # every combination resolves


def test_settings_merge_layers_with_dotted_keys_and_component_switches():
    from harness.suites import merge

    base = {"optimizer": {"class_name": "SGD", "config": {"momentum": 0.9, "learning_rate": 0.1}}, "vars": {"a": 1}}
    assert merge(base, {"optimizer.config.learning_rate": 0.01})["optimizer"]["config"] == {
        "momentum": 0.9,
        "learning_rate": 0.01,
    }
    switched = merge(base, {"optimizer": {"class_name": "Nadam", "config": {"learning_rate": 0.002}}})
    assert switched["optimizer"] == {"class_name": "Nadam", "config": {"learning_rate": 0.002}}  # momentum gone
    assert merge(base, {"vars": {"b": 2}})["vars"] == {"a": 1, "b": 2}


def test_schema_command_writes_json(tmp_path):
    import json

    from harness.cli import main

    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    schema = json.loads((tmp_path / "s.json").read_text())
    assert {"supervised_settings", "transfer_settings", "MLP", "OptimizerSpec"} <= set(schema["$defs"])


def test_unknown_key_with_did_you_mean(tmp_path):
    problems = _problems(tmp_path, lambda d: d["claim"].update(metrc="x"))
    assert problems == ["claim.metrc: unknown key 'metrc' (did you mean 'metric'?)"]


def test_unknown_setting_named_where_it_was_written(tmp_path):
    problems = _problems(tmp_path, lambda d: d["profiles"]["smoke"]["overrides"].update(epochz=3))
    assert len(problems) == 1
    assert problems[0].startswith("profiles.smoke.overrides.epochz: unknown key 'epochz' (did you mean 'epochs'?)")


def test_wrong_type_names_path_and_value(tmp_path):
    problems = _problems(tmp_path, lambda d: d["workload"]["settings"].update(batch_size="big"))
    assert len(problems) == 1 and problems[0].startswith("workload.settings.batch_size:") and "'big'" in problems[0]


def test_unknown_arm_model_dataset_all_listed_at_once(tmp_path):
    def mutate(d):
        d["claim"]["treatment"]["arm"] = "transfr"
        d["workload"]["settings"]["model"]["name"] = "mpl"
        d["workload"]["settings"]["dataset"] = "fashion_mnst"
        d["profiles"]["quick"]["seeds"] = 0

    problems = _problems(tmp_path, mutate)
    text = "\n".join(problems)
    assert "claim.treatment.arm: unknown arm 'transfr' (did you mean 'transfer'?)" in text
    assert "workload.settings.model.name: unknown name 'mpl' (did you mean 'mlp'?)" in text
    assert "workload.settings.dataset: Input should be 'fashion_mnist' or 'cifar10' (got 'fashion_mnst')" in text
    assert "profiles.quick.seeds:" in text
    assert len(problems) == 4


def test_unknown_workload_and_unknown_suite_name(tmp_path):
    problems = _problems(tmp_path, lambda d: d["workload"].update(name="transfr"))
    assert problems == [
        "workload.name: unknown workload 'transfr' (did you mean 'transfer'?); known: supervised, synthetic, transfer"
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
    return suite_problems(tmp_path, IMDB, mutate)


def test_imdb_suite_comparisons_and_protocols():
    suite = load(IMDB)
    pairs = [(c.baseline, c.treatment, suite.claimed_effect(c)) for c in suite.all_comparisons()]
    assert pairs == [
        ("adam", "masked_lazy_adam", pytest.approx(0.012)),
        ("adam", "lazy_adam", 0.012),
        ("lazy_adam", "masked_lazy_adam", None),  # direction only
    ]
    assert list(suite.all_protocols()) == ["honest", "as_published"]  # the claim's metric first
    assert suite.trial_settings("quick", "masked_lazy_adam").model.name == "pooled"
    assert suite.trial_settings("paper", "adam").model.name == "lstm"


def test_a_comparison_says_equivalence_or_non_inferiority_and_the_claim_lends_its_own_kind():
    suite = load(ROOT / "suites" / "sgdr.yaml")
    claim, generalization = suite.all_comparisons()
    assert suite.is_equivalence(claim) and not suite.is_non_inferiority(claim)  # "about as fast"
    assert suite.is_non_inferiority(generalization) and not suite.is_equivalence(generalization)  # "keeps"
    assert suite.margin(generalization) == 0.01 and suite.claimed_effect(generalization) is None


def test_comparison_and_protocol_mistakes_are_named(tmp_path):
    def mutate(d):
        d["comparisons"][1]["treatment"] = "lazy_adamm"
        d["comparisons"][2]["baseline"] = "masked_lazy_adam"
        d["comparisons"][0]["claimed_effect"] = -0.01
        d["claim"]["metric"] = "test_accuracy"

    problems = _imdb_problems(tmp_path, mutate)
    assert "comparisons.1.treatment: unknown arm 'lazy_adamm' (did you mean 'lazy_adam'?)" in problems
    assert "comparisons.2.treatment: must differ from the baseline" in problems
    assert any(p.startswith("comparisons.0.claimed_effect: Input should be greater than 0") for p in problems)
    assert any(p.startswith("claim.metric: 'test_accuracy' is not the metric of any protocol") for p in problems)


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("workload.settings.data", "num_words", 0),
        ("workload.settings.data", "maxlen", "long"),
        ("arms.adam.params", "optimizer", "sgd"),
        ("arms.adam.params", "optimizer.class_name", "Adamm"),
        ("arms.adam.params", "optimizer.config.beta1", 0.9),
        ("arms.adam.params", "model.units", 3),
    ],
)
def test_imdb_settings_must_be_valid(tmp_path, where, key, value):
    def mutate(d):
        section = d
        for part in where.split("."):
            section = section[part]
        section[key] = value

    problems = _imdb_problems(tmp_path, mutate)
    assert len(problems) == 1 and problems[0].startswith(f"{where}.{key}:"), problems
    assert repr(value) in problems[0] or f"'{key.split('.')[-1]}'" in problems[0] or f"'{value}'" in problems[0]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["tuning"]["search_space"].update(lr={"low": 0.1, "high": 0.01}),
            "tuning.search_space.lr: empty or inverted range: low (0.1) must be below high (0.01)",
        ),
        (
            lambda d: d["tuning"]["search_space"].update(momentum={"choices": []}),
            "tuning.search_space.momentum: choices is empty",
        ),
        (
            lambda d: d["arms"]["transfer"]["search_space"].update(frozen_epoch={"low": 0, "high": 3}),
            "arms.transfer.search_space.frozen_epoch: unknown key 'frozen_epoch' (did you mean 'frozen_epochs'?)",
        ),
        (
            lambda d: d["arms"]["scratch"].update(
                search_space={"optimizer.config.learning_rate": {"low": 0.001, "high": 0.01}}
            ),
            "arms.scratch.search_space.optimizer.config.learning_rate: 'optimizer.config.learning_rate' is shared",
        ),
        (
            lambda d: d["tuning"]["search_space"].update({"optimizer.config.momentun": {"low": 0.5, "high": 0.9}}),
            "tuning.search_space.optimizer.config.momentun: SGD does not accept 'momentun' (did you mean 'momentum'?)",
        ),
        (lambda d: d["tuning"].update(objective="test_accuracy"), "tuning: objective 'test_accuracy' is a test-set"),
        (lambda d: d["profiles"]["smoke"].update(budget=-1), "profiles.smoke.budget: Input should be greater than"),
    ],
)
def test_search_space_mistakes_are_named(tmp_path, mutate, expected):
    assert any(p.startswith(expected) for p in _problems(tmp_path, mutate)), _problems(tmp_path, mutate)


def _readme_claim() -> str:
    import re

    readme = (ROOT / "README.md").read_text()
    return re.search(r"```yaml\n# suites/nadam.yaml\n(.*?)```", readme, re.S).group(1)


def test_the_readme_claim_validates_and_is_a_direction_claim(tmp_path):
    path = tmp_path / "nadam.yaml"
    path.write_text(_readme_claim())
    suite = load(path)
    (own,) = suite.all_comparisons()
    assert suite.claim.claimed_effect is None and suite.claimed_effect(own) is None and suite.margin(own) == 0.002
    nadam = suite.trial_settings("smoke", "nadam", sampled={"vars.lr": 0.003})
    assert nadam.optimizer.class_name == "Nadam" and nadam.vars == {"lr": 0.003} and nadam.data.limit_train == 2000


@pytest.mark.slow
def test_validate_deep_steps_every_combination_and_names_what_fails(tmp_path, data_dir, capsys):
    from harness.cli import main

    good = tmp_path / "nadam.yaml"
    good.write_text(_readme_claim())
    assert main(["validate", "--deep", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(_readme_claim().replace("activation: relu", "activation: relux"))
    assert main(["validate", str(bad)]) == 0  # only Keras knows its activations ...
    capsys.readouterr()
    assert main(["validate", "--deep", str(bad)]) == 1  # ... so --deep finds it, before any campaign
    err = capsys.readouterr().err
    assert "profiles.smoke × arms.adam: ValueError:" in err and "relux" in err


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path):
    text = FASHION.read_text()
    path = tmp_path / "twice.yaml"
    path.write_text(text + "name: fashion-again\n")  # a second `name:` would silently rename the suite
    with pytest.raises(SuiteError) as error:
        load(str(path))
    first = next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith("name:"))
    assert error.value.problems == [
        f"key 'name' is given twice in one mapping, on lines {first} and {len(text.splitlines()) + 1} "
        "(YAML would silently keep the last): delete one"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfename: x\n", "not a UTF-8 text file (byte 0xff at offset 0)"),
        (b"name: x\n\x00\x01\x02", "not a text file (it holds NUL bytes)"),
    ],
)
def test_a_binary_or_non_utf8_file_is_one_error_before_anything_heavy_is_imported(tmp_path, content, expected):
    import subprocess
    import sys

    path = tmp_path / "suite.yaml"
    path.write_bytes(content)
    probe = (
        "import sys; from harness.cli import main; rc = main(['campaign', sys.argv[1]]); "
        "print(rc, sorted(m for m in ('optuna', 'mlflow', 'keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "2 []", done.stdout + done.stderr
    assert done.stderr.startswith(f"error: {path}: 1 problem(s):") and expected in done.stderr
    assert "Traceback" not in done.stderr

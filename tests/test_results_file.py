"""results.json is read through one model: another schema version or a foreign file is one clear error."""

import json

import pytest

from harness.report.results import SCHEMA_VERSION, ResultsError, load


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"schema_version": 2, "suite": "fashion"}, "results schema version 2, this harness reads version"),
        ({"suite": "fashion"}, "results schema version None"),
        ([1, 2, 3], "results schema version None"),
        ({"schema_version": SCHEMA_VERSION, "suite": "fashion"}, "not a harness results file (title: Field required"),
    ],
)
def test_old_or_foreign_results_are_one_line(tmp_path, content, expected):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ResultsError) as error:
        load(path)
    assert expected in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_unreadable_results_are_one_line(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(ResultsError, match="not readable as JSON"):
        load(path)

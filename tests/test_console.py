"""What the terminal says: the ETA, options typed before the command, suites looked up from another folder."""

from __future__ import annotations

import logging
import warnings

from harness.cli import main, misplaced_options
from harness.console import eta, route_library_logs
from harness.stats import Estimate, outperforming


def test_eta_from_the_second_finished_item():
    assert eta(30.0, 0, 10) == eta(30.0, 1, 10) == "…"
    assert eta(60.0, 2, 10) == "0:04:00"  # 30 s each, 8 to go
    assert eta(7200.0, 2, 4) == "2:00:00"


def test_options_before_the_command_say_where_they_go(capsys):
    assert misplaced_options(["campaign", "fashion", "--profile", "smoke"]) is None
    assert misplaced_options(["--help"]) is None
    assert main(["--profile", "smoke", "campaign", "fashion"]) == 2
    err = capsys.readouterr().err
    assert "options go after the command: harness campaign fashion --profile smoke" in err
    assert "invalid choice" not in err


def test_ls_outside_the_project_says_where_suites_are_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_SUITES_DIR", raising=False)
    assert main(["ls"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert str(tmp_path / "suites") in err and "./suites of the current folder" in err
    assert "HARNESS_SUITES_DIR" in err


def test_library_messages_go_to_the_log_file(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_LIBRARY_LOG", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        path = route_library_logs(tmp_path / "logs" / "campaign.log")
        logging.getLogger("tensorflow").warning("5 out of the last 6 calls triggered tf.function retracing")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a library warning", UserWarning, stacklevel=1)
        for handler in root.handlers:
            handler.flush()
        text = path.read_text()
        assert "retracing" in text and "a library warning" in text
    finally:
        logging.captureWarnings(False)
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_significantly_worse_treatment_is_said_so():
    assert outperforming(Estimate(0.05, 0.01, 0.2, 20, "clopper-pearson")) == "significantly worse"
    assert outperforming(Estimate(0.45, 0.3, 0.6, 20, "clopper-pearson")) == "not significant"


def test_commands_in_reports_carry_no_machine_folders(tmp_path, monkeypatch):
    from pathlib import Path

    from harness.provenance import portable

    monkeypatch.chdir(tmp_path)
    typed = f"harness campaign fashion --storage sqlite:///{tmp_path}/runs/quick/optuna.db"
    assert portable(typed) == "harness campaign fashion --storage sqlite:///runs/quick/optuna.db"
    assert portable(f"--data-dir {Path.home()}/datasets") == "--data-dir ~/datasets"

"""Sessions: tests, tests-torch, tests-jax, lint, suite-<name> (one per suites/*.yaml), calibrate,
report, mlflow-ui, dashboard.

`nox` alone runs lint, tests, tests-torch and tests-jax (the README's test command). Data comes
from $HARNESS_DATA_DIR; when it is unset and ../shared/datasets exists (dev and CI
machines), that folder is used.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "tests-torch", "tests-jax"]
nox.options.reuse_venv = "yes"

ROOT = Path(__file__).parent
SHARED_DATA = ROOT.parent / "shared" / "datasets"


def _env(**extra: str) -> dict[str, str]:
    env = dict(extra)
    if "HARNESS_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        env["HARNESS_DATA_DIR"] = str(SHARED_DATA)
    return env


# pytest-xdist: one test process per core, at most 4 (each imports a Keras backend); the slow
# end-to-end tests are handed to whichever process is free. `nox -s tests -- -n 0` runs serially.
PARALLEL = ("--numprocesses=auto", "--maxprocesses=4", "--dist=worksteal")


def _install(session: nox.Session, extras: str = "cpu") -> None:
    session.install(f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and the end-to-end smoke campaign (pytest), then `harness verify` of the fashion smoke report."""
    _install(session, "cpu,dev")
    session.run("pytest", *PARALLEL, *session.posargs, env=_env())
    if not session.posargs:  # the committed fashion smoke report, re-run on 3 seeds and compared (harness verify)
        session.run("harness", "verify", "fashion", "--profile", "smoke", "--seeds", "3", env=_env())


# What must also hold on a backend other than TensorFlow: the optimizers, per-backend determinism,
# the backend check and the smoke campaigns of fashion and imdb end to end.
OTHER_BACKEND_TESTS = (
    "tests/optimizers",
    "tests/test_keras_config.py",
    "tests/test_backends.py",
    "tests/test_determinism.py",
    "tests/test_campaign.py::test_smoke_campaign_records_runs_reports_and_resumes",
    "tests/test_campaign.py::test_imdb_smoke_campaign_reports_every_comparison_and_protocol",
)


def _other_backend(session: nox.Session, backend: str, package: str) -> None:
    """OTHER_BACKEND_TESTS under KERAS_BACKEND=backend, with ``package`` and without TensorFlow."""
    session.install(".[dev]", package)
    session.run("pytest", *PARALLEL, *(session.posargs or OTHER_BACKEND_TESTS), env=_env(KERAS_BACKEND=backend))


@nox.session(name="tests-torch")
def tests_torch(session: nox.Session) -> None:
    """The tests of OTHER_BACKEND_TESTS under KERAS_BACKEND=torch (CPU PyTorch, no TensorFlow)."""
    _other_backend(session, "torch", "torch==2.13.0")


@nox.session(name="tests-jax")
def tests_jax(session: nox.Session) -> None:
    """The tests of OTHER_BACKEND_TESTS under KERAS_BACKEND=jax (CPU JAX, no TensorFlow)."""
    _other_backend(session, "jax", "jax==0.10.2")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


def _suite_session(name: str) -> None:
    @nox.session(name=f"suite-{name}")
    def suite(session: nox.Session) -> None:
        _install(session)
        args = session.posargs
        invoked = f"nox -s suite-{name}" + (f" -- {shlex.join(args)}" if args else "")
        session.run("harness", "campaign", name, *args, env=_env(HARNESS_INVOKED_AS=invoked))

    suite.__doc__ = f"Run (or resume) the `{name}` campaign: -- --profile P --seeds N --jobs J"


for _file in sorted((ROOT / "suites").glob("*.yaml")):
    _suite_session(_file.stem)


@nox.session
def calibrate(session: nox.Session) -> None:
    """The statistics against known truth (synthetic suites, no Keras) → reports/calibration.md."""
    session.install(".")
    invoked = "nox -s calibrate" + (f" -- {shlex.join(session.posargs)}" if session.posargs else "")
    session.run("python", "-m", "harness.calibration", *session.posargs, env={"HARNESS_INVOKED_AS": invoked})


@nox.session
def report(session: nox.Session) -> None:
    """Rebuild every suite's reports (Markdown + HTML) and reports/index from MLflow: -- [SUITE] [--format md]"""
    _install(session)
    invoked = "nox -s report" + (f" -- {shlex.join(session.posargs)}" if session.posargs else "")
    session.run("harness", "report", *session.posargs, env={"HARNESS_INVOKED_AS": invoked})


@nox.session(name="mlflow-ui")
def mlflow_ui(session: nox.Session) -> None:
    """MLflow UI on the local store, bound to 127.0.0.1 (-- --port N to change the port)."""
    session.install("mlflow>=3,<4")
    store = f"sqlite:///{ROOT / 'runs' / 'mlflow.db'}"
    session.run(
        "mlflow",
        "ui",
        "--host",
        "127.0.0.1",
        "--backend-store-uri",
        os.environ.get("MLFLOW_TRACKING_URI", store),
        *session.posargs,
    )


@nox.session
def dashboard(session: nox.Session) -> None:
    """optuna-dashboard on the local Optuna storage, bound to 127.0.0.1 (-- --port N to change the port)."""
    session.install("optuna-dashboard>=0.17", "optuna>=5,<6")
    storage = os.environ.get("HARNESS_STORAGE", f"sqlite:///{ROOT / 'runs' / 'optuna.db'}")
    session.run("optuna-dashboard", storage, "--host", "127.0.0.1", *session.posargs)

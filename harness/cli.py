"""The ``harness`` command: ls, validate, campaign (alias run), sweep, worker, report.

Imports are lazy: ``ls`` and ``validate`` never import Keras, TensorFlow or MLflow.
Known failures (bad suite, missing data, unusable store) end in one clear message.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.faults import disk_fault, quiet_thread_faults
from harness.signals import Terminated, exit_code, stop_like_ctrl_c


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description="Re-run deep-learning training claims honestly.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ls", help="list suites and their claims")
    validate = commands.add_parser("validate", help="check suite files, listing every mistake")
    validate.add_argument("files", nargs="+", help="suite names or YAML paths")
    validate.add_argument(
        "--deep", action="store_true", help="also build and train one batch of every (profile, arm) on a few examples"
    )
    verify = commands.add_parser("verify", help="re-run a few seeds of a committed report and compare every metric")
    verify.add_argument("suite", help="suite name or YAML path")
    verify.add_argument("--profile", help="profile name (default: the suite's default_profile)")
    verify.add_argument("--seeds", type=_positive, default=3, help="paired seeds to re-run, every arm (default 3)")
    verify.add_argument("--pick", type=int, help="seed of the random choice of seeds (default: drawn and printed)")
    verify.add_argument("--reports-dir", type=Path, default=Path("reports"))
    verify.add_argument("--data-dir", type=Path, help="where the datasets are (searched first)")
    html = commands.add_parser("html", help="render report.html/index.html from the committed Markdown and figures")
    html.add_argument("--reports-dir", type=Path, default=Path("reports"))
    schema = commands.add_parser("schema", help="write the JSON Schema of suite files (editor completion)")
    schema.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    for name, aliases, text in (
        ("campaign", ["run"], "sweep every arm, confirm on fresh seeds, write the report (resumes)"),
        ("sweep", [], "only the equal-budget Optuna sweeps of every arm (resumes)"),
        ("worker", [], "join a campaign's storage and run its trials until every budget is met"),
        ("report", [], "rebuild a campaign's report from MLflow"),
    ):
        sub = commands.add_parser(name, aliases=aliases, help=text)
        if name == "report":
            sub.add_argument("suite", nargs="?", help="suite name or YAML path (default: every suite with results)")
            sub.add_argument(
                "--format", choices=FORMATS, action="append", help="md and/or html (default: both); repeatable"
            )
            sub.add_argument("--backend", help="report the runs of this Keras backend only (tensorflow, jax, torch)")
            sub.add_argument(
                "--pool-backends", action="store_true", help="pool runs of several Keras backends (said in the report)"
            )
        else:
            sub.add_argument("suite", help="suite name (see `harness ls`) or YAML path")
        sub.add_argument("--profile", help="profile name (default: the suite's default_profile)")
        sub.add_argument("--root-seed", type=int, help="override the suite's root seed")
        if name in ("campaign", "report"):
            sub.add_argument(
                "--reports-dir",
                type=Path,
                help="where reports go (default: reports/, or runs/reports for a plumbing profile such as smoke)",
            )
        if name != "report":
            sub.add_argument("--data-dir", type=Path, help="where the datasets are (searched first)")
            sub.add_argument("--seeds", type=_positive, help="paired confirmation seeds (default: the profile's)")
            if name in ("campaign", "worker"):
                sub.add_argument(
                    "--until-decided",
                    type=_positive,
                    metavar="MAX",
                    help="add rounds of --seeds paired seeds until the verdict is decided, at most MAX seeds "
                    "(verdicts on an anytime-valid confidence sequence)",
                )
            sub.add_argument(
                "--storage", help="Optuna storage URL, e.g. postgresql://user:pw@host/db (default: runs/optuna.db)"
            )
        if name in ("campaign", "sweep"):
            sub.add_argument("--jobs", type=_positive, help="local worker processes (default: the profile's)")
    return parser


FORMATS = ("md", "html")


def _reports(args, command: str, console) -> None:
    """``harness report [SUITE]``: one suite's report, or every suite's (each profile with results)."""
    from harness.report import reports_home, write_report
    from harness.report.analysis import MixedBackends, NoResults
    from harness.suites import load, suite_files

    options = {
        "formats": tuple(dict.fromkeys(args.format or FORMATS)),
        "backend": args.backend,
        "pool_backends": args.pool_backends,
    }
    if args.suite:
        suite = load(args.suite)
        profile, _ = suite.profile(args.profile)
        root = suite.root_seed if args.root_seed is None else args.root_seed
        where = args.reports_dir or reports_home(suite, profile)
        write_report(suite, profile, root, reports_dir=where, command=command, console=console, **options)
        return
    written = 0
    for path in suite_files():
        suite = load(path)
        for profile in [p for p in suite.profiles if p == args.profile or not args.profile]:
            root = suite.root_seed if args.root_seed is None else args.root_seed
            where = args.reports_dir or reports_home(suite, profile)
            try:
                write_report(suite, profile, root, reports_dir=where, command=command, console=console, **options)
                written += 1
            except MixedBackends:
                raise
            except NoResults:
                console.info(f"{suite.name}/{profile}: no finished trials, no report")
    if not written:
        raise NoResults("no suite has finished trials in this MLflow store; run a campaign first")


def _ls(console) -> int:
    from harness.suites import SuiteError, describe_suites_dir, read_yaml, suite_files

    files = suite_files()
    if not files:
        console.error(f"no suite files in {describe_suites_dir()}")
        return 1
    for path in files:
        try:
            data, _ = read_yaml(path)
            claim = data.get("claim", {})
            profiles = ", ".join(
                f"{k} ({v.get('cost') or v.get('description', '')})" for k, v in data.get("profiles", {}).items()
            )
            base, treat = claim.get("baseline", {}), claim.get("treatment", {})
            said = (
                f"{base.get('arm')} {base.get('reported')} → {treat.get('arm')} {treat.get('reported')}"
                if base.get("reported") is not None
                else f"{treat.get('arm')} better than {base.get('arm')} (direction)"
            )
            console.result(
                f"{data.get('name', path.stem)}: {data.get('title', '')}\n"
                f"    claim: {claim.get('metric_label', '?')}: {said}\n    profiles: {profiles}\n    file: {path}"
            )
        except (SuiteError, AttributeError) as error:
            console.result(f"{path.stem}: unreadable ({error}); run `harness validate {path}`")
    return 0


def _validate(files: list[str], deep: bool, console) -> int:
    from harness.suites import SuiteError, load

    failed = 0
    for name in files:
        try:
            suite = load(name)
            if deep:
                from harness.backends import check
                from harness.deep import deep_problems

                check()
                path = suite.path
                problems = deep_problems(suite, lambda where, path=path: console.info(f"{path}: {where}: one step ok"))
                if problems:
                    raise SuiteError(suite.path or name, problems)
            console.result(f"{suite.path}: ok ({len(suite.arms)} arms, profiles: {', '.join(suite.profiles)})")
        except SuiteError as error:
            console.error(str(error))
            failed += 1
    return 1 if failed else 0


def misplaced_options(argv: list[str]) -> str | None:
    """Options typed before the command (``harness --profile smoke campaign fashion``): what to type instead."""
    commands = {"ls", "validate", "verify", "html", "schema", "campaign", "run", "sweep", "worker", "report"}
    if not argv or not argv[0].startswith("-") or argv[0] in ("-h", "--help"):
        return None
    at = next((i for i, word in enumerate(argv) if word in commands), None)
    if at is None:
        return None
    fixed = " ".join([argv[at], *argv[at + 1 :], *argv[:at]])
    return f"options go after the command: harness {fixed}  (not harness {' '.join(argv)})"


def main(argv: list[str] | None = None) -> int:
    with stop_like_ctrl_c(), quiet_thread_faults():
        return _command(argv)


def _command(argv: list[str] | None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    misplaced = misplaced_options(sys.argv[1:] if argv is None else argv)
    if misplaced:
        print(f"harness: error: {misplaced}", file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    from harness.backends import BackendError
    from harness.console import Console

    console = Console()
    if args.command == "ls":
        return _ls(console)
    if args.command == "validate":
        try:
            return _validate(args.files, args.deep, console)
        except BackendError as error:
            console.error(str(error))
            return 2
    if args.command == "schema":
        from harness.schema import write_schema

        write_schema(args.output)
        return 0
    if args.command == "html":
        from harness.report.html import write_all

        written = write_all(args.reports_dir)
        console.info(f"{len(written)} HTML page(s) written under {args.reports_dir}")
        return 0 if written else 1

    if args.command in ("campaign", "run", "sweep", "worker", "verify"):
        from harness.backends import check

        try:
            check()  # before anything imports Keras or records a run
        except BackendError as error:
            console.error(str(error))
            return 2

    from harness.registry import UnknownName
    from harness.suites import SuiteError, load

    if args.command != "report":
        try:  # the suite file first: its mistakes are reported before anything heavy is imported
            suite = load(args.suite)
        except (SuiteError, UnknownName) as error:
            console.error(str(error))
            return 2

    from harness.campaign import OptionError, TrialProcessDied, command_line
    from harness.data.sources import DataError
    from harness.report.analysis import NoResults
    from harness.report.results import ResultsError
    from harness.studies import StorageError
    from harness.tracking import TrackingError
    from harness.verify import VerifyError

    command = command_line(argv)
    if getattr(args, "data_dir", None):
        os.environ["HARNESS_EXPLICIT_DATA_DIR"] = str(args.data_dir.resolve())

    try:
        if args.command == "report":
            _reports(args, command, console)
            return 0
        if args.command == "verify":
            from harness.verify import verify

            profile, _ = suite.profile(args.profile)
            return verify(
                suite, profile, seeds=args.seeds, pick=args.pick, reports_dir=args.reports_dir, console=console
            )
        if args.command in ("campaign", "run", "sweep"):
            from harness.campaign import run_campaign

            run_campaign(
                suite,
                args.profile,
                seeds=args.seeds,
                until_decided=getattr(args, "until_decided", None),
                jobs=args.jobs,
                root_seed=args.root_seed,
                reports_dir=getattr(args, "reports_dir", None),
                console=console,
                command=command,
                storage_url=args.storage,
                confirm=args.command != "sweep",
            )
        else:
            from harness.campaign import run_worker

            run_worker(
                suite,
                args.profile,
                seeds=args.seeds,
                until_decided=args.until_decided,
                root_seed=args.root_seed,
                storage_url=args.storage,
                console=console,
                command=command,
            )
    except KeyboardInterrupt as interrupt:
        by = f"stopped by {interrupt}" if isinstance(interrupt, Terminated) else "interrupted"
        console.error(f"{by}; finished trials are saved — run the same command to resume")
        return exit_code(interrupt)
    except (
        SuiteError,
        DataError,
        UnknownName,
        TrialProcessDied,
        TrackingError,
        NoResults,
        StorageError,
        OptionError,
        VerifyError,
        ResultsError,
    ) as error:
        console.error(str(error))
        return 2
    except Exception as error:  # a full or read-only disk: one line, not SQLite's traceback
        fault = disk_fault(error, _stores(args))
        if fault is None:
            raise
        console.error(fault)
        return 2
    return 0


def _stores(args) -> str:
    """Where the campaign writes: the Optuna storage and the MLflow store."""
    from harness.studies import default_storage, shown
    from harness.tracking import tracking_uri

    optuna = shown(getattr(args, "storage", None) or default_storage())
    return f"the run stores (Optuna: {optuna}; MLflow: {tracking_uri()})"


if __name__ == "__main__":
    sys.exit(main())

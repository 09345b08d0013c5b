"""The one object through which the harness talks to the user.

A rich progress bar with ETA on a terminal; plain, line-per-event output otherwise
(CI logs, pipes). Nothing below the CLI prints except through a :class:`Console`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

ETA_FROM = 2  # finished items before an ETA is shown: one trial says little about the rest


def route_library_logs(path: Path) -> Path:
    """Send library log records and Python warnings (TensorFlow retracing, MLflow and Optuna notices) to
    ``path`` instead of the terminal, in this process and the processes it spawns afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["HARNESS_LIBRARY_LOG"] = str(path)
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # else MLflow adds its own stderr handler
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(processName)s %(name)s %(levelname)s: %(message)s"))
    logging.basicConfig(handlers=[handler], level=logging.INFO, force=True)  # TensorFlow then adds no handler
    for name in ("tensorflow", "mlflow", "optuna", "alembic", "absl"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)
    return path


def follow_library_log() -> None:
    """In a spawned worker process: the same log file as the process that started it, if any."""
    path = os.environ.get("HARNESS_LIBRARY_LOG")
    if path:
        route_library_logs(Path(path))


def eta(elapsed: float, done: int, total: int) -> str:
    """Remaining time at the mean pace so far, from the ``ETA_FROM``-th finished item on."""
    if done < ETA_FROM:
        return "…"
    seconds = round(elapsed / done * (total - done))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Advance(Protocol):
    def __call__(self, message: str) -> None: ...


class Console:
    def __init__(self, interactive: bool | None = None) -> None:
        from rich.console import Console as RichConsole

        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._err = RichConsole(stderr=True, highlight=False, soft_wrap=True)
        self._out = RichConsole(highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        self._err.print(message, markup=False)

    def warn(self, message: str) -> None:
        self._err.print(f"warning: {message}", style="yellow", markup=False)

    def error(self, message: str) -> None:
        self._err.print(f"error: {message}", style="bold red", markup=False)

    def result(self, message: str) -> None:
        """Output the user asked for (listings, paths): stdout, no markup."""
        self._out.print(message, markup=False)

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[Advance]:
        """Yields ``advance(message)``, to be called once per finished item."""
        if self.interactive:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta {task.fields[eta]}"),
                TextColumn("{task.fields[last]}"),
            )
            start, done = time.monotonic(), 0
            with Progress(*columns, console=self._err, transient=False) as bar:
                task = bar.add_task(description, total=total, last="", eta="…")

                def update(message: str) -> None:
                    nonlocal done
                    done += 1
                    bar.update(task, advance=1, last=message, eta=eta(time.monotonic() - start, done, total))

                yield update
            return
        start, done = time.monotonic(), 0

        def advance(message: str) -> None:
            nonlocal done
            done += 1
            elapsed = time.monotonic() - start
            remaining = eta(elapsed, done, total)
            self._err.print(f"[{done}/{total}] {message} (elapsed {elapsed:.0f}s, eta {remaining})", markup=False)

        self.info(f"{description}: {total} to run")
        yield advance

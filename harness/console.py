"""The one object through which the harness talks to the user.

A rich progress bar with ETA on a terminal; plain, line-per-event output otherwise
(CI logs, pipes). Nothing below the CLI prints except through a :class:`Console`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


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
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[last]}"),
            )
            with Progress(*columns, console=self._err, transient=False) as bar:
                task = bar.add_task(description, total=total, last="")
                yield lambda message: bar.update(task, advance=1, last=message)
            return
        start, done = time.monotonic(), 0

        def advance(message: str) -> None:
            nonlocal done
            done += 1
            elapsed = time.monotonic() - start
            eta = elapsed / done * (total - done)
            self._err.print(f"[{done}/{total}] {message} (elapsed {elapsed:.0f}s, eta {eta:.0f}s)", markup=False)

        self.info(f"{description}: {total} to run")
        yield advance

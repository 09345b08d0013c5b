"""SIGTERM and SIGHUP stop a campaign the way Ctrl-C does.

A scheduler, ``docker stop`` or ``systemctl`` sends SIGTERM; a closed terminal sends SIGHUP.
Raised as :class:`Terminated` (a ``KeyboardInterrupt``), either signal takes Ctrl-C's path: the
running trial is marked failed (Optuna retries it), its MLflow run and the campaign run KILLED,
and the process exits with 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import signal
import threading

STOPPING = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, _frame) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def stop_like_ctrl_c():
    """Inside, SIGTERM and SIGHUP raise :class:`Terminated`; the former handlers come back after."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    former = {signum: signal.signal(signum, _raise) for signum in STOPPING}
    try:
        yield
    finally:
        for signum, handler in former.items():
            signal.signal(signum, handler)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return interrupt.exit_code if isinstance(interrupt, Terminated) else 128 + signal.SIGINT

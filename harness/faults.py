"""A full or read-only disk under ``runs/`` (or a report folder), said in one line instead of a traceback.

Such a fault surfaces deep inside SQLite (through SQLAlchemy, MLflow or Optuna) or as an
``OSError``; :func:`disk_fault` walks the exception's chain for it. Nothing is marked finished
that did not finish: a trial whose result could not be written is run (or found in MLflow)
again when the same command is run after the fault is cleared.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading

DISK_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO}
SQLITE_DISK = {  # SQLite's messages for these faults, and the errno each stands for
    "attempt to write a readonly database": errno.EROFS,
    "database or disk is full": errno.ENOSPC,
    "unable to open database file": errno.EACCES,
    "disk I/O error": errno.EIO,
}


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__


def disk_fault(error: BaseException, stores: str) -> str | None:
    """One line naming the path (or ``stores``, SQLite's files) and the errno, if ``error`` is a disk fault."""
    for cause in _chain(error):
        if isinstance(cause, OSError) and cause.errno in DISK_ERRNOS:
            where = cause.filename or stores
            number = cause.errno
        elif isinstance(cause, sqlite3.OperationalError) and str(cause) in SQLITE_DISK:
            where, number = stores, SQLITE_DISK[str(cause)]
        else:
            continue
        return (
            f"cannot write {where}: {os.strerror(number)} ({errno.errorcode[number]}); nothing unfinished was "
            "marked finished — free space or make it writable, then run the same command to resume"
        )
    return None


@contextlib.contextmanager
def quiet_thread_faults():
    """Inside, a library thread (Optuna's heartbeat) that dies of a disk fault prints no traceback:
    the main thread meets the same fault and says it in one line."""
    former = threading.excepthook

    def hook(args) -> None:
        if args.exc_value is None or disk_fault(args.exc_value, "") is None:
            former(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = former

"""Name → object registries that import lazily and suggest close names on typos.

Entries are ``"module:attribute"`` strings, so listing and validating suites never
imports Keras or TensorFlow; the object is imported only when it is first used.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from typing import Any


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class UnknownName(LookupError, ValueError):
    """A name that is not in a registry (a ValueError too, so pydantic reports it in place)."""


class Registry:
    """Maps names to lazily imported objects (``"package.module:attribute"``)."""

    def __init__(self, kind: str, entries: dict[str, str]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def check(self, name: str) -> None:
        """Raise :class:`UnknownName` with a did-you-mean unless ``name`` is known."""
        if name not in self._entries:
            raise UnknownName(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._entries)}; known: {', '.join(self.names())}"
            )

    def get(self, name: str) -> Any:
        self.check(name)
        module_name, _, attribute = self._entries[name].partition(":")
        return getattr(importlib.import_module(module_name), attribute)


WORKLOADS = Registry(
    "workload",
    {
        "supervised": "harness.workloads.supervised:run",
        "synthetic": "harness.workloads.synthetic:run",
        "transfer": "harness.workloads.transfer:run",
    },
)
WORKLOAD_SETTINGS = Registry(
    "workload",
    {
        "supervised": "harness.workloads.supervised_settings:SupervisedSettings",
        "synthetic": "harness.workloads.synthetic_settings:SyntheticSettings",
        "transfer": "harness.workloads.transfer_settings:TransferSettings",
    },
)

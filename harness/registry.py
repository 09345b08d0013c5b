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


def known(registry: Registry):
    """A pydantic validator: the value must be a name in ``registry``."""
    from pydantic import AfterValidator

    def check(name: str) -> str:
        registry.check(name)
        return name

    return AfterValidator(check)


DATASETS = Registry(
    "dataset",
    {
        "cifar10": "harness.data.cifar10:load",
        "fashion_mnist": "harness.data.fashion_mnist:load",
        "imdb": "harness.data.imdb:load",
        "none": "harness.workloads.synthetic:load_nothing",
    },
)
MODELS = Registry(
    "model",
    {
        "mlp": "harness.models.mlp:build_mlp",
        "lstm": "harness.models.text:build_lstm",
        "pooled": "harness.models.text:build_pooled",
        "resnet18": "harness.models.cnn:build_resnet18",
        "small_cnn": "harness.models.cnn:build_small_cnn",
    },
)
WORKLOADS = Registry(
    "workload",
    {
        "transfer": "harness.workloads.transfer:run",
        "sentiment": "harness.workloads.sentiment:run",
        "synthetic": "harness.workloads.synthetic:run",
        "vision": "harness.workloads.vision:run",
    },
)
WORKLOAD_SETTINGS = Registry(
    "workload",
    {
        "transfer": "harness.workloads.transfer_settings:TransferSettings",
        "sentiment": "harness.workloads.sentiment_settings:SentimentSettings",
        "synthetic": "harness.workloads.synthetic_settings:SyntheticSettings",
        "vision": "harness.workloads.vision_settings:VisionSettings",
    },
)

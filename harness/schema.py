"""The JSON Schema of suite files, for editor completion (``harness schema``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from harness.registry import WORKLOAD_SETTINGS
from harness.suites import Suite


def suite_schema() -> dict[str, Any]:
    """Suite files, with ``workload.settings`` described per workload (keys a profile or arm may leave
    to another layer are not required)."""
    schema = Suite.model_json_schema()
    definitions = schema.setdefault("$defs", {})
    choices = []
    for name in WORKLOAD_SETTINGS.names():
        settings = WORKLOAD_SETTINGS.get(name).model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(settings.pop("$defs", {}))
        settings.pop("required", None)
        definitions[f"{name}_settings"] = settings
        choices.append(
            {
                "type": "object",
                "properties": {"name": {"const": name}, "settings": {"$ref": f"#/$defs/{name}_settings"}},
                "required": ["name"],
                "additionalProperties": False,
            }
        )
    definitions["Workload"] = {"anyOf": choices, "description": "the training program and its settings"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def write_schema(path: Path | None) -> None:
    text = json.dumps(suite_schema(), indent=1) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")

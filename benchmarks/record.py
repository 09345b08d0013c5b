"""Write one benchmark's section into reports/benchmarks.md (replacing its earlier figures)."""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import sys
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "reports" / "benchmarks.md"
SMOKE = "--smoke" in sys.argv  # one tiny repetition on a slice: printed, nothing recorded (CI runs every script so)
HEADER = "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`; each section says how it was made.\n"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from harness.provenance import cpu_features

    return f"{cpu} ({cpu_features()}), {os.cpu_count()} cores, Python {platform.python_version()}"


def smoke_option(parser) -> None:
    """``--smoke``: the script's tiny mode (``SMOKE``), so that no benchmark script can rot unnoticed."""
    parser.add_argument("--smoke", action="store_true", help="one tiny repetition on a slice; printed, not recorded")


def write_section(title: str, body: str) -> None:
    """Replace (or append) the section ``## title`` with ``body`` plus provenance (``--smoke``: print only)."""
    if SMOKE:
        print(f"## {title} (--smoke: not recorded)\n\n{body.strip()}")
        return
    command = "python " + shlex.join(sys.argv)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"## {title}\n\n{body.strip()}\n\nMeasured {stamp} on {machine()} with `{command}`.\n"
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text.rstrip() + "\n", encoding="utf-8")
    print(section)

"""The self-contained HTML report and the reports index; a real headless Chromium proves the figures load."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.html import external_resources, to_html, write_html
from harness.report.index import format_effect, write_index

REPORT_MD = """# A claim

## Verdict: **smaller than claimed**

| comparison | effect | verdict |
| --- | ---: | --- |
| `transfer` − `scratch` | +0.85 points | smaller than claimed |
| `other` − `scratch` | -0.10 points | not replicated |

## Results per arm

| arm | runs |
| --- | ---: |
| `scratch` | 50 |

![Per-seed results and paired differences](paired.png)

*Per-seed results and paired differences*

![Learning curves](curves.png)

*Learning curves*
"""


def _png(path: Path, color: str = "tab:blue") -> Path:
    """A small real PNG figure drawn with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(2, 1.5), dpi=50)
    axes.plot([0, 1, 2], [0, 1, 0.5], color=color)
    figure.savefig(path)
    plt.close(figure)
    return path


@pytest.fixture
def report_folder(tmp_path) -> Path:
    folder = tmp_path / "fashion" / "quick"
    folder.mkdir(parents=True)
    _png(folder / "paired.png")
    _png(folder / "curves.png", "tab:red")
    (folder / "report.md").write_text(REPORT_MD, encoding="utf-8")
    return folder


class _Dom(HTMLParser):
    """Tables (id, class, rows of cell texts), images (attributes) and body attributes of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.images: list[dict[str, str | None]] = []
        self.figures = 0
        self.body: dict[str, str | None] = {}
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.tables.append({"id": attributes.get("id"), "class": attributes.get("class"), "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "figure":
            self.figures += 1
        elif tag == "body":
            self.body = attributes

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


# ---------------------------------------------------------------- unit tests


def test_images_become_data_uris_inside_figures(report_folder):
    html = to_html(REPORT_MD, report_folder, "A claim")
    dom = _Dom(html)
    assert len(dom.images) == 2 and dom.figures == 2
    for image, name in zip(dom.images, ("paired.png", "curves.png"), strict=True):
        assert image["src"].startswith("data:image/png;base64,")
        assert name not in html  # the file name is not referenced any more
    assert "<figcaption>Per-seed results and paired differences</figcaption>" in html
    assert "<em>Per-seed results and paired differences</em>" not in html  # caption shown once, not twice
    assert "<title>A claim</title>" in html and "<style>" in html and "figuresOk" in html


def test_no_external_resources(report_folder):
    html = to_html(REPORT_MD, report_folder, "A claim")
    assert external_resources(html) == []
    assert not re.search(r"""<(?:img|script|link)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert external_resources('<img src="https://example.org/x.png"><link href="//cdn.example/x.css">') == [
        "<img src=https://example.org/x.png>",
        "<link href=//cdn.example/x.css>",
    ]
    with pytest.raises(ValueError, match="not a local file"):
        to_html("![remote](https://example.org/x.png)\n", report_folder, "t")
    with pytest.raises(ValueError, match="external resources"):
        to_html('<script src="https://example.org/x.js"></script>\n', report_folder, "t")


def test_missing_image_raises_naming_it(report_folder):
    with pytest.raises(FileNotFoundError, match=r"budget\.png"):
        to_html(REPORT_MD + "\n![Tuning budget](budget.png)\n", report_folder, "t")


def test_tables_get_ids_and_the_verdict_table_a_class(report_folder):
    dom = _Dom(to_html(REPORT_MD, report_folder, "t"))
    assert [t["id"] for t in dom.tables] == ["table-1", "table-2"]
    assert [t["class"] for t in dom.tables] == ["verdict", None]
    # the verdict table is the first one under the "Every comparison" heading, even when another comes first
    text = "## Results\n\n| a |\n| - |\n| 1 |\n\n## Every comparison, every protocol\n\n| b |\n| - |\n| 2 |\n"
    dom = _Dom(to_html(text, report_folder, "t"))
    assert [t["class"] for t in dom.tables] == [None, "verdict"]


def test_write_html_writes_atomically(report_folder):
    path = write_html(report_folder, "A claim")
    assert path == report_folder / "report.html"
    assert _Dom(path.read_text(encoding="utf-8")).figures == 2
    assert sorted(p.name for p in report_folder.iterdir()) == ["curves.png", "paired.png", "report.html", "report.md"]


def _results(suite: str, profile: str, metric: str, effect: dict | None, **extra) -> dict:
    comparison = None
    if effect is not None:
        comparison = {"metric": metric, "effect": effect, "claimed_effect": 0.02, "verdict": {"label": "replicated"}}
    return {
        "suite": suite,
        "title": f"{suite} | claim",
        "profile": profile,
        "claim": {"metric": metric, "metric_label": metric.replace("_", " "), "claimed_effect": 0.02},
        "comparison": comparison,
        **extra,
    }


def test_index_rows(tmp_path, report_folder):
    reports = report_folder.parent.parent
    (report_folder / "results.json").write_text(
        json.dumps(
            _results(
                "fashion",
                "quick",
                "test_accuracy",
                {"value": 0.00847, "low": 0.00271, "high": 0.01493, "n": 50},
                report_command="harness report fashion --profile quick",
            )
        )
    )
    write_html(report_folder, "fashion")
    other = reports / "regress" / "smoke"
    other.mkdir(parents=True)
    (other / "results.json").write_text(
        json.dumps(
            _results("regress", "smoke", "test_loss", {"value": -0.0123456, "low": -0.02, "high": -0.001, "n": 3})
        )
    )
    headless = reports / "nocomp" / "smoke"
    headless.mkdir(parents=True)
    (headless / "results.json").write_text(json.dumps(_results("nocomp", "smoke", "test_accuracy", None)))
    broken = reports / "broken" / "quick"
    broken.mkdir(parents=True)
    (broken / "results.json").write_text("{not json")

    md_path, html_path = write_index(reports)
    assert (md_path, html_path) == (reports / "index.md", reports / "index.html")
    text = md_path.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == {"`fashion`", "`regress`", "`nocomp`"}
    fashion = rows["`fashion`"]
    assert "+0.85 points (95% CI +0.27 to +1.49; n = 50)" in fashion
    assert "+2.00 points" in fashion and "**replicated**" in fashion
    assert "[report](fashion/quick/report.md)" in fashion
    assert "fashion \\| claim" in fashion  # a pipe in a title does not split the row
    # evidence first, plumbing (smoke) profiles in a table of their own
    evidence, plumbing = text.index("## Evidence about the claims"), text.index("## Plumbing checks")
    assert evidence < text.index(fashion) < plumbing < text.index(rows["`regress`"])
    regress = rows["`regress`"]
    assert "-0.01235 (95% CI -0.02 to -0.001; n = 3)" in regress and "+0.02" in regress
    assert "no comparison" in rows["`nocomp`"]
    assert "## Unreadable results" in text and "`broken/quick/results.json`" in text

    html = html_path.read_text(encoding="utf-8")
    dom = _Dom(html)
    assert dom.tables[0]["class"] == "verdict" and len(dom.tables[0]["rows"]) == 2  # header + the evidence row
    assert len(dom.tables[1]["rows"]) == 3  # header + 2 plumbing rows
    assert dom.tables[0]["rows"][1][:3] == ["fashion", "fashion | claim", "quick"]  # escaped pipe renders as one
    assert 'href="fashion/quick/report.html"' in html  # the HTML index links the HTML reports
    assert dom.images == []
    assert not list(reports.rglob("*.tmp"))


def test_format_effect():
    effect = {"value": 0.0085, "low": 0.0027, "high": 0.0149, "n": 50}
    assert format_effect(effect, "test_accuracy") == "+0.85 points (95% CI +0.27 to +1.49; n = 50)"
    assert format_effect({"value": 1.23456, "low": 1.0, "high": 2.0, "n": 5}, "loss") == (
        "+1.235 (95% CI +1 to +2; n = 5)"
    )
    assert format_effect(None, "loss") == "—"


# ---------------------------------------------------------------- real browser


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must install it (see .ci/run)")
        pytest.skip("chromium not installed: the real-browser check of the HTML report is skipped locally")
    return found


def _dump_dom(page: Path, profile: Path, extra: list[str] | None = None) -> str:
    """The DOM after load, as headless Chromium sees it (scripts run, images decoded)."""
    command = [
        _chromium(),
        *(extra or []),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


def test_browser_loads_every_figure(report_folder, tmp_path):
    page = write_html(report_folder, "A claim")
    dom = _Dom(_dump_dom(page, tmp_path / "chromium-profile"))
    verdict = [t for t in dom.tables if t["class"] == "verdict"]
    assert len(verdict) == 1 and verdict[0]["id"] == "table-1"
    assert verdict[0]["rows"] == [
        ["comparison", "effect", "verdict"],
        ["transfer − scratch", "+0.85 points", "smaller than claimed"],
        ["other − scratch", "-0.10 points", "not replicated"],
    ]
    assert len(dom.images) == REPORT_MD.count("![") == dom.figures == 2
    assert [image.get("data-loaded") for image in dom.images] == ["true", "true"]
    assert dom.body.get("data-figures-ok") == "true"


def test_browser_flags_a_corrupt_figure(report_folder, tmp_path):
    """Negative control: the same check fails for an image the browser cannot decode."""
    html = to_html(REPORT_MD, report_folder, "A claim")
    first = re.search(r'src="data:image/png;base64,[^"]+"', html)
    assert first is not None
    page = tmp_path / "corrupt.html"
    page.write_text(html[: first.start()] + 'src="data:image/png;base64,AAAA"' + html[first.end() :], encoding="utf-8")
    dom = _Dom(_dump_dom(page, tmp_path / "chromium-profile"))
    assert [image.get("data-loaded") for image in dom.images] == ["false", "true"]
    assert dom.body.get("data-figures-ok") == "false"


def test_html_pages_are_rebuilt_from_the_committed_markdown_and_figures(tmp_path, report_folder):
    """`harness html`: each report.html from report.md and its PNGs alone, titled by the report's heading."""
    from harness.cli import main

    markdown = (report_folder / "report.md").read_text()
    title = next(line[2:] for line in markdown.splitlines() if line.startswith("# "))
    assert main(["html", "--reports-dir", str(tmp_path)]) == 0
    assert (report_folder / "report.html").read_text() == to_html(markdown, report_folder, title)


def _committed_results() -> list[Path]:
    from harness.report.results import SCHEMA_VERSION

    found = sorted(Path(__file__).resolve().parents[1].glob("reports/*/*/results.json"))
    return [p for p in found if json.loads(p.read_text()).get("schema_version") == SCHEMA_VERSION]


@pytest.mark.parametrize("results_path", _committed_results(), ids=lambda p: f"{p.parent.parent.name}-{p.parent.name}")
def test_browser_headline_table_fits_1280_px(results_path, tmp_path):
    """A committed report rendered by today's code: the headline table needs no horizontal scroll at 1280 px,
    the verdict badge and the per-seed table are there, and every figure loads."""
    from harness.report.markdown import render

    results = json.loads(results_path.read_text())
    folder = tmp_path / "report"
    shutil.copytree(results_path.parent, folder)
    figures = [(png.name, png.stem) for png in sorted(folder.glob("*.png"))]
    (folder / "report.md").write_text(render(results, figures), encoding="utf-8")
    page = write_html(folder, results["title"])
    html = page.read_text(encoding="utf-8")
    assert f'class="badge verdict-{results["comparison"]["verdict"]["label"].replace(" ", "-")}' in html
    assert "<details>" in html and 'href="runs.csv"' in html and 'href="../../index.html"' in html
    command = [_chromium(), "--window-size=1280,900"]
    dom = _Dom(_dump_dom(page, tmp_path / "chromium-profile", extra=command[1:]))
    assert dom.body.get("data-figures-ok") == "true"
    assert dom.body.get("data-headline-fits") == "true"


def test_browser_flags_a_headline_table_too_wide(report_folder, tmp_path):
    """Negative control: a headline table with very long unbreakable cells overflows at 1280 px."""
    wide = REPORT_MD.replace("+0.85 points", "+0.85" + "_" * 400)
    (report_folder / "report.md").write_text(wide, encoding="utf-8")
    page = write_html(report_folder, "A claim")
    dom = _Dom(_dump_dom(page, tmp_path / "chromium-profile", extra=["--window-size=1280,900"]))
    assert dom.body.get("data-headline-fits") == "false"


def test_index_states_a_direction_or_an_equivalence_claim_with_its_margin():
    from harness.report.index import index_row

    def row(**comparison):
        base = {"metric": "test_accuracy", "claimed_effect": None, "margin": 0.01, "verdict": {"label": "x"}}
        results = {"suite": "s", "profile": "quick", "comparison": base | comparison}
        return index_row(results, Path("."), "s/quick")

    assert "| the same (within ±1.00 points) |" in row(equivalence_claim=True)
    assert "| not worse (by more than 1.00 points) |" in row(non_inferiority_claim=True)
    assert "| better (no size; ±1.00 points = no difference) |" in row()
    assert "| +2.00 points |" in row(claimed_effect=0.02)
    assert "| direction |" in row(margin=None)  # a results file from before margins were recorded

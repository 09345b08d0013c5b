"""The committed reports and benchmark notes carry no machine paths."""

import re

from tests.conftest import ROOT

MACHINE_PATH = re.compile(
    r"(?<![\w$.:/])/(?:home|tmp|work|Users|root|var|mnt|opt|srv|private|scratch|run|media)/"  # absolute POSIX
    r"|\b[A-Za-z]:\\"  # a Windows drive (C:\ in Markdown, C:\\ in JSON)
    r"|\.\./"  # a path relative to the machine's working folder
)
EMBEDDED = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")  # figures inside the HTML
INDEX_LINK = re.compile(r"\(\.\./\.\./index\.md\)|href=\"\.\./\.\./index\.html\"")  # a report's link to the index


def _scanned(text: str) -> str:
    return INDEX_LINK.sub("", EMBEDDED.sub("", text))


def test_no_machine_paths_in_committed_reports():
    found = []
    for path in sorted((ROOT / "reports").rglob("*")):
        if path.suffix not in (".md", ".json", ".csv", ".html"):
            continue
        text = _scanned(path.read_text(encoding="utf-8"))
        for number, line in enumerate(text.splitlines(), 1):
            if match := MACHINE_PATH.search(line):
                found.append(
                    f"{path.relative_to(ROOT)}:{number}: …{line[max(0, match.start() - 40) : match.end() + 40]}…"
                )
    assert not found, "\n".join(found[:20])


def test_the_check_finds_what_it_looks_for():
    for leaked in (
        "source: /home/ci/data/x.npz",
        "in /tmp/report-time-abc/",
        "$HARNESS_DATA_DIR: ../shared/x",
        "C:\\data",
    ):
        assert MACHINE_PATH.search(_scanned(leaked)), leaked
    assert MACHINE_PATH.search(_scanned("[data](../../shared/datasets)"))  # only the index link is let through
    for clean in ("$HARNESS_DATA_DIR/fashion-mnist", "https://example.org/home/page", "Keras cache/cifar-10"):
        assert not MACHINE_PATH.search(_scanned(clean)), clean
    assert not MACHINE_PATH.search(_scanned('[all reports](../../index.md) · <a href="../../index.html">'))

"""A report's Markdown as one self-contained HTML page: figures embedded, styles inline, nothing fetched."""

from __future__ import annotations

import base64
import mimetypes
import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

# Headings whose first table is the verdict table (``## Verdict: …``, ``## Every comparison, every protocol``).
VERDICT_HEADINGS = ("verdict", "every comparison")

STYLE = """
body { max-width: 75rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; }
h1, h2, h3 { line-height: 1.25; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .3em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow-x: auto; max-width: 100%;
  width: max-content; }
th, td { border: 1px solid #d0d7de; padding: .35em .7em; vertical-align: top; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fbfcfd; }
table.verdict { border: 2px solid #57606a; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em;
  background: #f6f8fa; padding: .1em .3em; border-radius: 4px; }
pre code { display: block; padding: .8em; overflow-x: auto; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-style: italic; color: #57606a; margin-top: .4em; }
.badge { display: inline-block; padding: .15em .6em; border-radius: 1em; font-weight: 600; color: #fff;
  background: #6e7781; }
.verdict-replicated, .verdict-larger-than-claimed { background: #1a7f37; }
.verdict-smaller-than-claimed, .verdict-positive-size-undetermined, .verdict-incomplete { background: #9a6700; }
.verdict-not-replicated, .verdict-contradicted { background: #cf222e; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: 600; }
"""

# After load, mark every image as loaded or not, and the page as a whole: the browser test reads these.
SCRIPT = """
window.addEventListener("load", function () {
  var ok = true;
  Array.prototype.forEach.call(document.images, function (img) {
    var loaded = img.complete && img.naturalWidth > 0;
    img.setAttribute("data-loaded", loaded ? "true" : "false");
    ok = ok && loaded;
  });
  document.body.dataset.figuresOk = ok ? "true" : "false";
  var verdict = document.querySelector("table.verdict");
  if (verdict) {  // the headline table fits the window: no horizontal scroll inside it or on the page
    var fits = verdict.scrollWidth <= verdict.clientWidth + 1 &&
      document.documentElement.scrollWidth <= window.innerWidth + 1;
    document.body.dataset.headlineFits = fits ? "true" : "false";
  }
});
"""

# Elements and attributes that make a browser fetch something.
_FETCHING = {"src", "href", "srcset", "data", "poster", "background", "action", "formaction"}
_LINKS_ONLY = {"a", "area"}  # their href is navigation, not a resource


def to_html(markdown_text: str, folder: Path, title: str) -> str:
    """Render a report's Markdown to one HTML document whose local images (read from ``folder``) are data URIs.

    Raises ``FileNotFoundError`` for a referenced image that is missing and ``ValueError`` for anything that
    would make the page load an external resource.
    """
    md = MarkdownIt("commonmark").enable("table")
    md.add_render_rule("image", _render_figure)
    tokens = md.parse(markdown_text)
    _annotate(tokens, Path(folder))
    body = md.renderer.render(tokens, md.options, {})
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escapeHtml(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
    external = external_resources(page)
    if external:
        raise ValueError(f"the report would load external resources: {', '.join(external)}")
    return page


def write_html(folder: Path, title: str) -> Path:
    """Read ``folder/report.md`` and write ``folder/report.html`` atomically; return its path."""
    folder = Path(folder)
    page = to_html((folder / "report.md").read_text(encoding="utf-8"), folder, title)
    return write_text_atomic(folder / "report.html", page)


def write_all(reports_dir: Path) -> list[Path]:
    """``report.html`` for every ``report.md`` under ``reports_dir``, and ``index.html`` for ``index.md``:
    rebuilt from the committed Markdown and figures, no MLflow needed (git keeps only those)."""
    written = []
    for markdown in sorted(Path(reports_dir).glob("**/*.md")):
        if markdown.name not in ("report.md", "index.md"):
            continue
        text = markdown.read_text(encoding="utf-8")
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), markdown.stem)
        page = to_html(text, markdown.parent, title)
        written.append(write_text_atomic(markdown.with_suffix(".html"), page))
    return written


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def external_resources(html: str) -> list[str]:
    """URLs in ``html`` that a browser would fetch from elsewhere (anything but data: URIs and relative links)."""
    finder = _ResourceFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def _annotate(tokens: list[Token], folder: Path) -> None:
    """Number the tables, mark the verdict table, embed images, and turn image paragraphs into figure blocks."""
    heading, verdict_marked, tables, first_table = "", False, 0, None
    waiting_for_verdict = False
    previous_caption: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[i + 1].content.strip().lower()
            waiting_for_verdict = not verdict_marked and heading.startswith(VERDICT_HEADINGS)
        elif token.type == "table_open":
            tables += 1
            token.attrSet("id", f"table-{tables}")
            if first_table is None:
                first_table = token
            if waiting_for_verdict:
                token.attrSet("class", "verdict")
                verdict_marked, waiting_for_verdict = True, False
        elif token.type == "inline" and token.children:
            for child in token.children:  # the HTML pages link each other, like the Markdown ones do
                href = str(child.attrGet("href") or "") if child.type == "link_open" else ""
                if href.endswith(".md") and "://" not in href:
                    child.attrSet("href", href.removesuffix(".md") + ".html")
            images = [child for child in token.children if child.type == "image"]
            for image in images:
                image.attrSet("src", _data_uri(folder, str(image.attrGet("src") or "")))
            if images and _is_paragraph(tokens, i):
                tokens[i - 1].tag = tokens[i + 1].tag = "div"
                tokens[i - 1].attrSet("class", "figures")
                previous_caption = {" ".join(_alt(image).split()) for image in images}
                continue
            if previous_caption and _is_paragraph(tokens, i) and _only_emphasis(token) in previous_caption:
                tokens[i - 1].hidden = tokens[i + 1].hidden = True  # the figcaption already says it
                token.children, token.content = [], ""
        if token.type not in ("paragraph_open", "paragraph_close"):
            previous_caption = set()
    if first_table is not None and not verdict_marked:
        first_table.attrSet("class", "verdict")


def _is_paragraph(tokens: list[Token], i: int) -> bool:
    """Whether ``tokens[i]`` is the whole content of a paragraph."""
    inside = 0 < i < len(tokens) - 1
    return inside and tokens[i - 1].type == "paragraph_open" and tokens[i + 1].type == "paragraph_close"


def _alt(image: Token) -> str:
    return "".join(child.content for child in image.children or [] if child.type in ("text", "code_inline"))


def _only_emphasis(inline: Token) -> str | None:
    """The text of a paragraph that is nothing but one ``*emphasis*``, else None."""
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    if len(children) < 3 or children[0].type != "em_open" or children[-1].type != "em_close":
        return None
    inner = children[1:-1]
    if any(c.type not in ("text", "code_inline") for c in inner):
        return None
    return " ".join("".join(c.content for c in inner).split())


def _data_uri(folder: Path, src: str) -> str:
    """The image at ``src`` (relative to ``folder``) as a base64 data URI."""
    if src.startswith("data:"):
        return src
    if "://" in src or src.startswith("//"):
        raise ValueError(f"report image {src!r} is not a local file: a self-contained report cannot load it")
    path = folder / unquote(src.split("#", 1)[0].split("?", 1)[0])
    if not path.is_file():
        raise FileNotFoundError(f"report image {src!r} not found: {path}")
    mime = mimetypes.guess_type(path.name)[0]
    if not mime or not mime.startswith("image/"):
        raise ValueError(f"report image {src!r} is not an image file type: {path}")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _render_figure(self, tokens: list[Token], idx: int, options, env) -> str:
    """Render an image as ``<figure><img …><figcaption>alt</figcaption></figure>``."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return (
        f'<figure><img src="{escapeHtml(str(token.attrGet("src")))}" alt="{escapeHtml(alt)}"{title_attr}>'
        f"<figcaption>{escapeHtml(alt)}</figcaption></figure>"
    )


class _ResourceFinder(HTMLParser):
    """Collects attribute URLs that point outside the document (http, https, protocol-relative, file, …)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name not in _FETCHING or not value or (tag in _LINKS_ONLY and name == "href"):
                continue
            for url in value.split(",") if name == "srcset" else [value]:
                url = url.strip().lower()
                if url and not url.startswith(("data:", "#")) and ("://" in url or url.startswith("//")):
                    self.found.append(f"<{tag} {name}={url[:80]}>")

    handle_startendtag = handle_starttag

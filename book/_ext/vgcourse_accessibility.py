"""Pages that pass an accessibility audit (axe-core, ``tests/test_browser.py``).

A local Sphinx extension (``_config.yml``).

* Every figure's image gets a text alternative that says what it shows: its caption's text
  (MyST-NB's glued and executed images otherwise carry only their file name as ``alt``). An
  image that already has an ``alt`` keeps it, and one outside a figure keeps what its author
  wrote.
* Two buttons of the theme (pydata-sphinx-theme) whose accessible name leaves out the text they
  show (axe-core's ``label-content-name-mismatch``): the search field's button, named "Search"
  while it shows "Search Ctrl+K", is named by what it shows; the colour-mode button's icons
  lose their ``title`` (their text, "Light", "Dark", "System Settings", is not in the button's
  name "Color mode") and are hidden from assistive technology. The pages' HTML is rewritten at
  the end of the build; a rewrite that no longer finds its text fails the build, so a theme
  update cannot silently undo it.
* MyST-NB's code-cell toggles (``<summary>`` named "Toggle hidden content" while it shows
  "Show code cell source") are named by what they show; the bibliography's citation list
  loses ``role="list"`` (its children are not list items, axe-core's
  ``aria-required-children``) and its entries their ``doc-biblioentry`` role with it.
* Code is highlighted with the theme's high-contrast styles (``pygments_light_style`` and
  ``pygments_dark_style`` in ``_config.yml``): the default's comments fail the contrast ratio.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: The longest text alternative: a screen reader reads it in one breath, the caption follows.
ALT_MAX_CHARS = 400


def caption_alt(figure: nodes.figure) -> str | None:
    """The text alternative of ``figure``'s images: its caption, whitespace collapsed (cut at a
    sentence end before ``ALT_MAX_CHARS`` where it is longer)."""
    captions = list(figure.findall(nodes.caption))
    if not captions:
        return None
    text = " ".join(captions[0].astext().split())
    if len(text) > ALT_MAX_CHARS:
        cut = text.rfind(". ", 0, ALT_MAX_CHARS)
        text = text[: cut + 1] if cut > 0 else text[:ALT_MAX_CHARS].rstrip() + "…"
    return f"Figure: {text}"


def add_figure_alts(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: every image in a captioned figure without an ``alt`` gets one."""
    for figure in doctree.findall(nodes.figure):
        alt = caption_alt(figure)
        if alt is None:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = alt


#: (pattern, replacement) pairs applied to every HTML page the theme writes.
THEME_FIXES = (
    # the search field's button: named by the text it shows ("Search Ctrl+K")
    (re.compile(r'(<button class="btn search-button-field search-button__button[^"]*"'
                r' title="Search") aria-label="Search"'), r"\1"),
    # the colour-mode button's icons: no title text outside the button's name
    (re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+") +title="[^"]*"'),
     r'\1 aria-hidden="true"'),
    # MyST-NB's "Show code cell source" toggles: named by the text they show
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # the bibliography (docutils' citation list): a list whose items are not all list items
    # (axe-core's aria-required-children) reads as the plain blocks it is drawn as
    (re.compile(r'<div role="list" class="citation-list">'), '<div class="citation-list">'),
    (re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry">'), r"\1>"),
)


def note_written(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: the pages this build writes (an incremental build skips some)."""
    app.env.vgcourse_written = getattr(app.env, "vgcourse_written", set()) | {pagename}


def fix_theme_html(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: apply ``THEME_FIXES`` to every page this build wrote; when it wrote
    them all, each fix must have applied somewhere."""
    if exception is not None or app.builder.format != "html":
        return
    written = getattr(app.env, "vgcourse_written", set())
    app.env.vgcourse_written = set()
    used = [0] * len(THEME_FIXES)
    for name in sorted(written):
        page = Path(app.outdir) / f"{name}.html"
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        new = text
        for i, (pattern, replacement) in enumerate(THEME_FIXES):
            new, n = pattern.subn(replacement, new)
            used[i] += n
        if new != text:
            page.write_text(new, encoding="utf-8")
    unused = [THEME_FIXES[i][0].pattern for i, n in enumerate(used) if n == 0]
    if unused and set(app.env.found_docs) <= written:
        raise ExtensionError(f"vgcourse_accessibility: the theme changed, no page has {unused}")


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", add_figure_alts)
    app.connect("html-page-context", note_written)
    app.connect("build-finished", fix_theme_html)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

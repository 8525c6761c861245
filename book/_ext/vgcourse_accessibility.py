"""Pages that pass an accessibility audit (axe-core, ``tests/test_browser.py``).

A local Sphinx extension (``_config.yml``). Every figure's image gets a text alternative that
says what it shows: its caption's text (MyST-NB's glued and executed images otherwise carry
only their file name as ``alt``). An image that already has an ``alt`` keeps it, and one
outside a figure keeps what its author wrote.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx

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


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", add_figure_alts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

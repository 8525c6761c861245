"""Interactive figures drawn in the reader's browser, with no server and no network.

A local Sphinx extension (``_config.yml``). A chapter shows an interactive figure with
``vgcourse.interactive_figure(chart, description)``: its output is HTML that holds a Vega-Lite
specification as JSON (``div.vgcourse-interactive``). On every page that has one, this
extension adds the script that draws it, ``_static/vgcourse-interactive.js``, which loads the
npm builds of Vega, Vega-Lite and vega-embed (``_static/vendor/vega``), all served by the book, so
that the page works offline and from a download. Pages without an interactive figure load none
of them.

Cells tagged ``book-only`` (the ones that build these figures with Altair) are left out of the
chapter downloads by ``vgcourse_downloads``: a download runs where only torch, numpy,
matplotlib and the course package are installed.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _JavaScript

#: The script an interactive page loads; it loads Vega, Vega-Lite and vega-embed in that order
#: (each needs the one before; Sphinx does not keep the order of scripts added per page).
SCRIPT = "vgcourse-interactive.js"
#: The class ``vgcourse.interactive`` gives a figure's element.
MARKER = 'class="vgcourse-interactive"'


def add_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: the drawing scripts, on the pages that show an interactive figure."""
    if MARKER not in (context.get("body") or ""):
        return
    # a new list for this page only (app.add_js_file would change the builder's own list)
    context["script_files"] = [*context["script_files"],
                               _JavaScript(f"_static/{SCRIPT}", priority=800)]


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", add_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

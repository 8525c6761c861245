"""Pages that render offline and load without console errors.

A local Sphinx extension (``_config.yml``). It

* serves MathJax 3 from the book itself: it copies the MathJax files shipped by the
  ``django-static-mathjax`` wheel into ``_static/mathjax/`` (``mathjax_path`` in
  ``_config.yml`` points there), so math renders without a CDN;
* keeps the pages free of console errors: a favicon (also in the redirecting ``index.html``),
  a valid colour mode, and no script included twice.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: Where the MathJax files go inside the HTML output.
MATHJAX_DIR = "_static/mathjax"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: copy the parts of MathJax's es5 build the book uses (once), with
    the copier the feedback pages use too (``coursekit.feedback.copy_mathjax``)."""
    if exception is not None or app.builder.format != "html":
        return
    try:
        from coursekit.feedback import copy_mathjax as copy
        copy(Path(app.outdir) / MATHJAX_DIR)
    except ImportError as err:
        raise ExtensionError(
            "MathJax is served from the book: install django-static-mathjax "
            f"(it is in requirements.txt): {err}"
        ) from err


def configure_theme(app: Sphinx, config) -> None:
    """``config-inited``: a favicon, so that browsers do not ask for ``/favicon.ico`` (a 404)."""
    if not config.html_favicon:
        config.html_favicon = str(Path(__file__).with_name("favicon.svg"))


def clean_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: no console error from the theme's own scripts.

    * Jupyter Book 1.x registers sphinx-thebe's inline ``const THEBE_JS_URL = ...`` twice; the
      second copy is a SyntaxError ("Identifier 'THEBE_JS_URL' has already been declared").
      Identical scripts are kept once.
    * pydata-sphinx-theme's layout sets the page's colour mode from ``default_mode``, which
      nothing defines, and then logs "Got invalid theme mode" and falls back to ``auto``:
      ``auto`` is set here (the same behaviour, without the error).
    """
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        # an inline script is registered with filename None by some extensions, "" by others
        key = (getattr(script, "filename", script) or "", repr(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def link_favicon_in_redirect(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: give sphinx-external-toc's redirecting ``index.html`` the favicon.

    That one-line page names no icon, so a browser asks for ``/favicon.ico`` (a 404 in the
    console) unless the redirect wins the race.
    """
    if exception is not None or app.builder.format != "html" or not app.config.html_favicon:
        return
    index = Path(app.outdir) / "index.html"
    if not index.is_file():
        return
    text = index.read_text(encoding="utf-8")
    if 'http-equiv="Refresh"' in text and 'rel="icon"' not in text:
        icon = f"_static/{Path(app.config.html_favicon).name}"
        index.write_text(f'<link rel="icon" href="{icon}" />\n{text}', encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", configure_theme)
    app.connect("html-page-context", clean_page_context, priority=900)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", link_favicon_in_redirect, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

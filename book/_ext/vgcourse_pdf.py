"""The PDF of the whole book, offered for download by the HTML.

A local Sphinx extension (``_config.yml``). ``make pdf`` builds the book with Jupyter Book's
LaTeX builder (``jupyter-book build book/ --builder pdflatex``: Sphinx writes LaTeX, latexmk
runs Debian's pdflatex, offline) into ``_build/latex/vanishing-gradients.pdf``, then builds the
HTML again. The ``{vgcourse-pdf}`` directive (on the landing page) then links the PDF, which
this extension copies into the HTML output next to the pages. Without a PDF (a plain
``make book``), the directive says how to build one instead of linking nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

#: The PDF's file name, in ``_build/latex/`` and in the HTML output (``latex_documents``).
PDF_NAME = "vanishing-gradients.pdf"


def latex_pdf(app: Sphinx) -> Path:
    """Where the LaTeX build leaves the PDF: ``_build/latex`` beside ``_build/html``."""
    return Path(app.outdir).parent / "latex" / PDF_NAME


class PdfDirective(Directive):
    """``{vgcourse-pdf}``: a paragraph linking the book's PDF (or saying how to build it)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        if env.app.builder.format != "html":
            return []  # the PDF does not link itself
        pdf = latex_pdf(env.app)
        env.note_dependency(str(pdf))  # re-read this page when the PDF appears or changes
        para = nodes.paragraph()
        if pdf.is_file():
            size = f"{pdf.stat().st_size / 1e6:.1f} MB"
            para += nodes.Text("The whole book as one PDF, for reading offline or printing: ")
            para += nodes.reference("", PDF_NAME, refuri=PDF_NAME)
            para += nodes.Text(f" ({size}). Its figures are the static ones; the interactive "
                               "figures are described in words there.")
        else:
            para += nodes.Text("A PDF of the whole book is built with ")
            para += nodes.literal("", "make pdf")
            para += nodes.Text(" (it is then offered for download here).")
        return [para]


def copy_pdf(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: the PDF into the HTML output, where the directive links it."""
    if exception is not None or app.builder.format != "html":
        return
    pdf = latex_pdf(app)
    if pdf.is_file():
        shutil.copy2(pdf, Path(app.outdir) / PDF_NAME)


def setup(app: Sphinx) -> dict:
    app.add_directive("vgcourse-pdf", PdfDirective)
    app.connect("build-finished", copy_pdf)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

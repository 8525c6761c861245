"""The PDF of the whole book (``make pdf``), built offline and read back.

The session's book build (``book_build``, the HTML) is followed, in the same output folder (so
the chapters' execution cache is reused), by Jupyter Book's LaTeX builder, ``--builder
pdflatex``: Sphinx writes LaTeX and latexmk runs Debian's XeLaTeX, with no network. Then the HTML
is built again, which copies the PDF next to the pages and links it from the landing page.

The PDF is read back with poppler (``pdfinfo``, ``pdftotext``): it has a page per few hundred
words of the book, every chapter's title, an equation's text, a figure's caption, a table's
cells and the bibliography's citations. Its pages with an equation, a figure and a table are
rendered to PNG (``pdftoppm``) in ``benchmarks/results/pdf/`` for a person to look at.

Without TeX Live or poppler the tests skip with the reason; with ``VGCOURSE_REQUIRE_PDF=1``
(set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BookBuild, jupyter_book_build

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "vanishing-gradients.pdf"
PAGES_DIR = ROOT / "benchmarks" / "results" / "pdf"
REQUIRE = os.environ.get("VGCOURSE_REQUIRE_PDF", "") == "1"
TOOLS = ("xelatex", "latexmk", "pdftotext", "pdfinfo", "pdftoppm")


@pytest.fixture(scope="module")
def pdf_build(book_build: BookBuild) -> tuple[BookBuild, Path]:
    """The LaTeX build and the PDF's path, then the HTML again (which offers the PDF)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        message = (f"PDF test not run: {missing} not installed (apt: texlive-latex-recommended "
                   "texlive-latex-extra texlive-fonts-recommended texlive-xetex "
                   "fonts-freefont-otf latexmk poppler-utils)")
        if REQUIRE:
            pytest.fail(message + "; VGCOURSE_REQUIRE_PDF=1 requires it", pytrace=False)
        pytest.skip(message)
    output = book_build.html.parents[1]
    latex = jupyter_book_build(ROOT / "book", output, "--builder", "pdflatex")
    pdf = output / "_build" / "latex" / PDF_NAME
    assert latex.returncode == 0 and pdf.is_file(), (
        f"the LaTeX build failed (exit {latex.returncode}), no {pdf}:\n{latex.log[-6000:]}")
    html = jupyter_book_build(ROOT / "book", output)
    assert html.returncode == 0, f"the HTML build after the PDF failed:\n{html.log[-6000:]}"
    return latex, pdf


def _pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", "-layout", *args, str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def _page_with(pdf: Path, pages: int, needle: str) -> int:
    """The first page whose text holds ``needle`` (whitespace collapsed)."""
    for page in range(1, pages + 1):
        text = " ".join(_pdftotext(pdf, "-f", str(page), "-l", str(page)).split())
        if needle in text:
            return page
    raise AssertionError(f"no page of the PDF holds {needle!r}")


def test_pdf_holds_the_book(pdf_build, capsys):
    latex, pdf = pdf_build
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    text = " ".join(_pdftotext(pdf).split())
    words = len(text.split())
    assert pages >= 60 and words / pages < 700, f"{pages} pages for {words} words"
    expected = {
        "a chapter title": "Why sigmoid gradients vanish",
        "another chapter": "Gradients through time",
        "an equation (the sigmoid's derivative)": "σ(x) (1 − σ(x))",
        "a figure's caption": "The product of n sigmoid derivatives on a log scale",
        "a table's cell (the instructor guide)": "What the autograder does",
        "a citation, resolved": "Glorot",
        "an interactive figure, in words": "Interactive figure, in the online book",
    }
    missing = {what: needle for what, needle in expected.items() if needle not in text}
    assert not missing, f"the PDF's text lacks {missing}"
    assert "??" not in text, "an unresolved reference (??) in the PDF"
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    shown = {}
    for what, needle in [("equation", expected["an equation (the sigmoid's derivative)"]),
                         ("figure", expected["a figure's caption"]),
                         ("table", expected["a table's cell (the instructor guide)"])]:
        page = _page_with(pdf, pages, needle)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(PAGES_DIR / what)], check=True)
        shown[what] = page
    with capsys.disabled():
        print(f"\nPDF: {pages} pages, LaTeX build {latex.seconds:.0f} s; pages {shown} "
              f"rendered in {PAGES_DIR}")


def test_site_offers_the_pdf(pdf_build, built_book: Path):
    """After the PDF, the HTML holds it and the landing page links it."""
    _, pdf = pdf_build
    served = built_book / PDF_NAME
    assert served.is_file() and served.stat().st_size == pdf.stat().st_size
    intro = (built_book / "intro.html").read_text(encoding="utf-8")
    assert f'href="{PDF_NAME}"' in intro, "the landing page does not link the PDF"

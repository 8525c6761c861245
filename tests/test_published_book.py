"""What the built book publishes: student versions of the assignments, notebook downloads, MathJax.

Uses the session's single book build (the ``built_book`` fixture of ``tests/conftest.py``,
the path of ``_build/html``). What a marker is comes from ``coursekit.cells.LEAK_MARKERS`` (the
vocabulary); which lines are secret is computed here from the instructors' source notebooks in
``exercises/source/``, independently of ``coursekit.cells.secret_lines`` and of the extension
that generates the releases (``book/_ext/vgcourse_releases.py``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from coursekit.assignments import discover_assignments
from coursekit.cells import LEAK_MARKERS

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SOURCES = ROOT / "exercises" / "source"

#: A secret line shorter than this (after collapsing whitespace) is too generic to look for.
MIN_SECRET_CHARS = 20
#: Files in the HTML output that are text (everything else is an image, a font or a zip).
TEXT_SUFFIXES = {".html", ".js", ".css", ".txt", ".md", ".ipynb", ".py", ".json", ".inv", ".svg"}


def _norm(line: str) -> str:
    return " ".join(line.split())


def assignments() -> list[str]:
    return [a.name for a in discover_assignments(SOURCES)]


def chapters() -> list[str]:
    """The toc's pages that are notebooks (jupytext front matter with a kernelspec)."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    out = []
    for stem in files:
        text = (BOOK / f"{stem}.md").read_text()
        if text.startswith("---") and "kernelspec" in text.split("---", 2)[1]:
            out.append(stem)
    return out


def _split(source: str, begin: str, end: str) -> tuple[list[list[str]], list[str]]:
    """The regions strictly between ``begin`` and ``end`` marker lines, and the other lines."""
    regions, outside, current = [], [], None
    for line in source.splitlines():
        if begin in line:
            current = []
        elif end in line and current is not None:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
        else:
            outside.append(line)
    return regions, outside


def secret_blocks(notebook: Path) -> tuple[list[list[str]], set[str]]:
    """The solution code, hidden tests and model answers of a source notebook.

    Returns the secret blocks (each a list of normalized lines) and the notebook's public
    lines (every line outside those blocks), both computed from the source alone.
    """
    nb = nbformat.read(notebook, as_version=4)
    blocks: list[list[str]] = []
    public: set[str] = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        lines = cell.source.splitlines()
        if meta.get("solution") and cell.cell_type == "markdown" and (
            "BEGIN SOLUTION" not in cell.source
        ):
            blocks.append(lines)  # a written answer: the whole model answer is secret
            continue
        for begin, end in (
            ("BEGIN SOLUTION", "END SOLUTION"),
            ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
            ("BEGIN MARK SCHEME", "END MARK SCHEME"),
        ):
            regions, lines = _split("\n".join(lines), begin, end)
            blocks += regions
        public |= {_norm(line) for line in lines}
    return [[_norm(line) for line in block] for block in blocks], public


def published_text(path: Path) -> str:
    """A published file's text with whitespace collapsed; HTML without its tags."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    elif path.suffix == ".ipynb":
        nb = json.loads(text)
        text = "\n".join("".join(cell.get("source", "")) for cell in nb.get("cells", []))
    return _norm(text)


@pytest.fixture(scope="module")
def published(built_book: Path) -> dict[Path, str]:
    return {
        path: published_text(path)
        for path in sorted(built_book.rglob("*"))
        if path.is_file() and path.suffix in TEXT_SUFFIXES
        and "mathjax" not in path.relative_to(built_book).parts
    }


def test_the_course_has_assignments_and_chapters():
    assert len(assignments()) >= 1, f"no assignment notebooks in {SOURCES}"
    numbered = [c for c in chapters() if re.match(r"\d\d_", c)]
    assert len(numbered) == len(assignments()), (
        f"expected one numbered chapter per assignment {assignments()}, got {numbered}")


@pytest.mark.parametrize("name", assignments())
def test_every_assignment_is_published_as_its_student_version(built_book: Path, name: str):
    released = built_book / "exercises" / f"{name}.ipynb"
    assert released.is_file(), f"{name}: no student version at {released}"
    student = nbformat.read(released, as_version=4)
    nbformat.validate(student)
    source = nbformat.read(SOURCES / name / f"{name}.ipynb", as_version=4)

    # The book adds a cell that installs the course package (book/_ext/vgcourse_downloads.py).
    installs = [c for c in student.cells if "install-course-package" in c.metadata.get("tags", [])]
    assert len(installs) == 1 and "%pip install" in installs[0].source, name
    student.cells.remove(installs[0])

    def grade_ids(nb):
        return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]

    # The same cells, in the same order, as the source: it is this assignment's release ...
    assert grade_ids(student) == grade_ids(source)
    # ... with every answer cell stubbed and every output cleared.
    for s_cell, cell in zip(source.cells, student.cells, strict=True):
        meta = s_cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "NotImplementedError" in cell.source, f"{name}:{meta['grade_id']} not stubbed"
        if meta.get("solution") and cell.cell_type == "markdown":
            assert cell.source != s_cell.source, f"{name}:{meta['grade_id']} kept the answer"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    # The Exercises page links it for download, with its points (summed here from the source).
    page = (built_book / "exercises.html").read_text()
    assert f'href="exercises/{name}.ipynb"' in page, f"exercises.html does not link {name}"
    graded = [m for c in source.cells if (m := c.metadata.get("nbgrader", {})).get("grade")]
    auto = sum(m["points"] for m in graded if not m.get("solution"))
    manual = sum(m["points"] for m in graded if m.get("solution"))
    row = page[page.index(f'href="exercises/{name}.ipynb"'):].split("</tr>")[0]
    assert f"{auto:g} points" in row and f"{manual:g} points" in row, row


def test_no_published_file_contains_solutions_or_hidden_tests(published: dict[Path, str]):
    """Walk the whole HTML output: no marker, no line of a solution, hidden test or model answer.

    A secret line that also occurs in what the students are shown anyway (the visible part of
    any assignment: a signature, a seed, `with torch.no_grad():`, a formula in the task text)
    or, verbatim, in a chapter's source (code the chapter teaches) is not a secret; but no
    published file may hold every distinctive line of one secret block.
    """
    # What any assignment shows its students, and what the chapters teach, as one text each
    public = "\n".join(
        line for n in assignments() for line in secret_blocks(SOURCES / n / f"{n}.ipynb")[1]
    )
    chapters_text = "\n".join(_norm(md.read_text()) for md in BOOK.glob("*.md"))
    leaks = []
    for path, text in published.items():
        found = LEAK_MARKERS.search(text)
        if found:
            leaks.append(f"{path.name}: contains the nbgrader marker {found.group(0)!r}")
    for name in assignments():
        blocks, _ = secret_blocks(SOURCES / name / f"{name}.ipynb")
        assert blocks, f"{name}: no solution or hidden-test region found in its source"
        for block in blocks:
            distinctive = [
                line for line in block if len(line) >= MIN_SECRET_CHARS and line not in public
            ]
            unique = [line for line in distinctive if line not in chapters_text]
            for path, text in published.items():
                leaked = [line for line in unique if line in text]
                if leaked:
                    leaks.append(f"{path.name}: {name} secret line {leaked[0]!r}")
                if len(distinctive) >= 2 and all(line in text for line in distinctive):
                    leaks.append(f"{path.name}: holds a whole secret block of {name}")
    assert not leaks, "published files leak the instructors' notebooks:\n" + "\n".join(leaks)


#: How the course's five source documents were named before they had bibliography entries
#: ("seed 000" ... "seed 004"): words a reader never sees a file for, which collide with random
#: seeds. Chapters and exercises cite them by name.
SOURCE_NUMBER = re.compile(r"\bseeds?\s+0\d\d\b", re.IGNORECASE)


def test_no_page_or_notebook_names_a_source_by_its_number(published: dict[Path, str]):
    """Every published page and notebook (chapters, downloads, student exercises) cites the
    source documents by name, never as "seed 00N"."""
    found = [f"{path.name}: {m.group(0)!r}" for path, text in published.items()
             if path.suffix in (".html", ".ipynb") and (m := SOURCE_NUMBER.search(text))]
    assert not found, "published files name a source document by its number:\n" + "\n".join(found)
    assert SOURCE_NUMBER.search("as Seed 002 does") and not SOURCE_NUMBER.search("seed=0")


def test_the_leak_check_would_see_a_leak(tmp_path: Path):
    """The check above would find a secret line in a notebook and in Sphinx-highlighted HTML."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    for name in assignments():
        source = SOURCES / name / f"{name}.ipynb"
        blocks, public = secret_blocks(source)
        public_text = "\n".join(public)
        lines = [line for b in blocks for line in b if len(line) >= MIN_SECRET_CHARS]
        lines = [line for line in lines if line not in public_text]
        assert lines, f"{name}: no distinctive solution line to look for"
        assert all(line in published_text(source) for line in lines)
        page = tmp_path / f"{name}.html"
        code = "\n".join(lines)
        page.write_text(f"<html><body>{highlight(code, PythonLexer(), HtmlFormatter())}</body>")
        assert all(line in published_text(page) for line in lines), name


@pytest.mark.parametrize("stem", chapters())
def test_every_chapter_offers_the_notebook_and_binder(built_book: Path, stem: str):
    page = (built_book / f"{stem}.html").read_text()
    assert f'href="_sources/{stem}.ipynb"' in page, f"{stem}.html has no .ipynb download"
    binder = re.search(
        r'href="(https://mybinder\.org/v2/gh/[^"]+\?urlpath=lab/tree/book/' + stem + r'\.md)"',
        page,
    )
    assert binder, f"{stem}.html has no Binder (JupyterLab) launch link"


@pytest.mark.parametrize("stem", chapters())
def test_chapter_download_is_the_chapter_as_a_notebook(built_book: Path, stem: str):
    """The .ipynb offered for download is valid and holds the chapter's code, in order.

    Its first cell installs the course package; ``myst_nb``'s glue is ``vgcourse.glue``'s;
    and a ``show_glued`` cell shows each glued figure where the chapter does
    (tests/test_student_env.py runs it where myst_nb is not installed).
    """
    download = built_book / "_sources" / f"{stem}.ipynb"
    nb = nbformat.read(download, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "install-course-package" in nb.cells[0].metadata.get("tags", [])
    chapter = jupytext.read(BOOK / f"{stem}.md")
    expected = [  # a cell tagged book-only (an interactive figure) stays in the book
        c.source.strip().replace("from myst_nb import glue", "from vgcourse.glue import glue")
        for c in chapter.cells if c.cell_type == "code"
        and "book-only" not in c.metadata.get("tags", [])
    ]
    added = {"install-course-package", "show-glued", "import-show-glued"}
    actual = [c.source.strip() for c in nb.cells if c.cell_type == "code"
              and not added & set(c.metadata.get("tags", []))]
    assert actual == expected
    figures = re.findall(r"^```\{glue:figure\} (\S+)", (BOOK / f"{stem}.md").read_text(), re.M)
    shown = re.findall(r'show_glued\("([^"]+)"\)', "\n".join(c.source for c in nb.cells))
    assert shown == figures


def test_mathjax_is_served_by_the_book(built_book: Path):
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    external = re.compile(
        r'<script[^>]*\bsrc="(https?:)?//|<link[^>]*rel="stylesheet"[^>]*href="(https?:)?//'
    )
    pages_with_math = 0
    for page in sorted(built_book.glob("*.html")):
        text = page.read_text()
        found = external.search(text)
        assert found is None, f"{page.name} loads {found.group(0)!r} from the network"
        if 'class="math' in text:
            pages_with_math += 1
            assert '_static/mathjax/tex-mml-chtml.js' in text, f"{page.name}: no local MathJax"
    assert pages_with_math >= 1, "no page has math, so MathJax is untested"

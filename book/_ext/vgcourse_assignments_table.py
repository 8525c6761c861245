"""The ``{assignments}`` directive: a table of every assignment of the course.

A local Sphinx extension (``_config.yml``). One row per assignment: its chapter (``psN_*``
belongs to ``book/0N_*.md``), the download link of its student version (published by
``vgcourse_releases``), and its points, autograded and graded by hand, read from the nbgrader
metadata of the source notebook, so the Exercises page cannot go stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.util import logging
from vgcourse_releases import EXERCISES_URL_DIR, assignment_names, exercises_root

from coursekit.cells import nbmeta, points, read_notebook

logger = logging.getLogger(__name__)

HEADERS = ("Chapter", "Assignment (student version)", "Autograded", "By hand")
WIDTHS = (34, 34, 16, 16)


def assignment_summary(notebook: Path) -> dict:
    """Points and cell counts of a source notebook, from its nbgrader metadata."""
    auto = manual = 0.0
    tests = written = 0
    for cell in read_notebook(notebook).cells:
        if not nbmeta(cell).get("grade"):
            continue
        if nbmeta(cell).get("solution"):  # a graded answer cell: marked by hand
            manual += points(cell)
            written += 1
        else:  # a test cell: autograded
            auto += points(cell)
            tests += 1
    return {"auto": auto, "manual": manual, "tests": tests, "written": written}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _chapter_of(name: str, docnames: list[str]) -> str | None:
    """The chapter of an assignment: ``psN_*`` belongs to ``0N_*``."""
    number = re.match(r"ps(\d+)_", name)
    if not number:
        return None
    prefix = f"{int(number.group(1)):02d}_"
    return next((d for d in docnames if d.startswith(prefix)), None)


def _pending_doc_ref(target: str, fromdoc: str) -> nodes.Node:
    """A ``{doc}`` reference to ``target`` that Sphinx resolves (and titles) at write time."""
    from sphinx.addnodes import pending_xref

    ref = pending_xref(
        "", refdomain="std", reftype="doc", reftarget=f"/{target}", refexplicit=False,
        refdoc=fromdoc, refwarn=True,
    )
    ref += nodes.inline("", target, classes=["xref", "std", "std-doc"])
    return ref


def _has_data(folder: Path) -> bool:
    """Whether the assignment's folder holds more than its notebook (then a zip is published)."""
    files = [p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts)]
    return len(files) > 1


def _download(name: str, folder: Path) -> nodes.Node:
    para = nodes.paragraph()
    href = f"{EXERCISES_URL_DIR}/{name}.ipynb"
    para += nodes.raw(
        "",
        f'<a class="reference download vgcourse-assignment" href="{href}" download>'
        f'<code class="docutils literal notranslate">{name}.ipynb</code></a>',
        format="html",
    )
    if _has_data(folder):
        para += nodes.raw(
            "",
            f' (with its data: <a class="reference download" '
            f'href="{EXERCISES_URL_DIR}/{name}.zip" download>{name}.zip</a>)',
            format="html",
        )
    return para


def _row(*cells: nodes.Node) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", cell)
    return row


def _assignment_row(name: str, root: Path, chapter: str | None, fromdoc: str) -> nodes.row:
    folder = root / "source" / name
    summary = assignment_summary(folder / f"{name}.ipynb")
    chapter_cell = nodes.paragraph()  # a cross-reference resolved by Sphinx (a missing one warns)
    chapter_cell += _pending_doc_ref(chapter, fromdoc) if chapter else nodes.Text("(no chapter)")
    return _row(
        chapter_cell,
        _download(name, folder),
        nodes.paragraph(text=f"{summary['auto']:g} points, {_plural(summary['tests'], 'test')}"),
        nodes.paragraph(
            text=f"{summary['manual']:g} points, {_plural(summary['written'], 'answer')}"),
    )


def _table(rows: list[nodes.row]) -> nodes.table:
    table = nodes.table(classes=["vgcourse-assignments"])
    group = nodes.tgroup(cols=len(HEADERS))
    table += group
    for width in WIDTHS:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row(*(nodes.paragraph(text=text) for text in HEADERS))
    group += head
    body = nodes.tbody()
    for row in rows:
        body += row
    group += body
    return table


class AssignmentsDirective(Directive):
    """A table: chapter, assignment download, autograded and hand-graded points."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        root = exercises_root(env.app)
        names = assignment_names(root)
        for name in names:  # the page is rebuilt when an assignment's points change
            env.note_dependency(str(root / "source" / name / f"{name}.ipynb"))
        if not names:
            logger.warning(f"[vgcourse] no assignments found in {root / 'source'}",
                           location=(env.docname, self.lineno))
            return []
        docnames = sorted(env.found_docs)
        return [_table([_assignment_row(name, root, _chapter_of(name, docnames), env.docname)
                        for name in names])]


def setup(app: Sphinx) -> dict:
    app.setup_extension("vgcourse_releases")  # vgcourse_exercises_dir and the downloads
    app.add_directive("assignments", AssignmentsDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

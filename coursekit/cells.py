"""The nbgrader cell vocabulary of the course: cell kinds, region markers and leaks.

nbgrader (``nbgrader.utils``) decides what a cell is from its ``metadata.nbgrader``: ``grade``
(scored), ``solution`` (the student edits it), ``locked``. The course uses three kinds (the
formats are in CONTRIBUTING.md):

* an **answer** cell: code, a solution, not itself graded; its solution sits between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* a **test** cell: code, graded, not a solution; hidden tests sit between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
* a **written** answer: markdown, graded and a solution (marked by hand); its model answer is
  replaced in the release.

What may not reach a student's release: any region marker (:data:`LEAK_MARKERS`) and any
secret line (the test suite's check, ``harness.secret_lines`` and ``release_leaks``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
#: A region marker as nbgrader's ClearSolutions / ClearHiddenTests / ClearMarkScheme see it
#: (``### BEGIN SOLUTION``, ``=== END MARK SCHEME ===``, ...). nbgrader removes the regions and
#: their markers from a release, so a match in a release or a published page is a leak (prose
#: that names a marker, like "the `BEGIN SOLUTION` line", is not one).
LEAK_MARKERS = re.compile(
    r"#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)|=+\s*(BEGIN|END)\s+MARK SCHEME\s*=+"
)
#: The note nbgrader adds to a test cell it put back into a submission that had deleted it.
MISSING_CELL_NOTE = "was missing from the submission"


def nbmeta(cell: Any) -> dict:
    """A cell's ``metadata.nbgrader`` (empty for a cell nbgrader does not know, or whose
    metadata a submission mangled)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Any) -> str | None:
    return nbmeta(cell).get("grade_id")


def is_answer(cell: Any) -> bool:
    """An autograded answer cell: code, solution, not itself graded."""
    m = nbmeta(cell)
    return cell.cell_type == "code" and bool(m.get("solution")) and not m.get("grade")


def is_test(cell: Any) -> bool:
    """An autograded test cell: code, graded, not a solution."""
    m = nbmeta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


def is_written(cell: Any) -> bool:
    """A manually graded written answer: markdown, graded and a solution."""
    m = nbmeta(cell)
    return cell.cell_type == "markdown" and bool(m.get("grade")) and bool(m.get("solution"))


def points(cell: Any) -> float:
    return float(nbmeta(cell).get("points", 0))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def strip_solution_markers(source: str) -> str:
    """The answer a student who got everything right would submit."""
    lines = [ln for ln in source.splitlines() if ln.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines)


def solutions(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> the solution of every answer cell, markers stripped."""
    return {grade_id(c): strip_solution_markers(c.source) for c in source_nb.cells if is_answer(c)}


def marker_leak(text: str) -> str | None:
    """The first region marker in ``text`` (a published file's text), or None."""
    found = LEAK_MARKERS.search(text)
    return found.group(0) if found else None

"""Notebook hygiene: the formats of CONTRIBUTING.md that the build and the autograder rely on.

* every chapter (``book/NN_*.md`` and any page with a ``{code-cell}``) has the jupytext MyST
  front matter (without ``text_representation`` its code cells silently do not run);
* every assignment source notebook (``exercises/source/*/*.ipynb`` and the test fixture) has no
  outputs or execution counts, notebook metadata limited to the kernelspec and nbgrader's own,
  cell metadata limited to nbgrader's, readable and unique grade ids, a docstring opening every
  test cell, and answer cells whose ``def`` line and docstring stay outside the solution block.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from graders import assignments_under_test

from coursekit.assignments import REPO, SOURCE_ROOT
from coursekit.cells import (
    HIDDEN_MARKERS,
    SOLUTION_MARKERS,
    grade_id,
    is_answer,
    is_test,
    is_written,
    nbmeta,
)
from harness import misnamed_folders

BOOK = REPO / "book"
CHAPTERS = sorted(
    p for p in BOOK.glob("*.md")
    if re.match(r"\d\d_", p.name) or "{code-cell}" in p.read_text(encoding="utf-8")
)
NOTEBOOKS = [a.notebook for a in assignments_under_test()]
READABLE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # a function or class name


def test_every_notebook_folder_is_an_assignment():
    """A folder of exercises/source/ with notebooks but no <folder>.ipynb would be skipped."""
    assert not misnamed_folders(SOURCE_ROOT), (
        "each assignment is exercises/source/<name>/<name>.ipynb; these folders are not: "
        f"{[d.name for d in misnamed_folders(SOURCE_ROOT)]}"
    )


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, f"{path.name}: no YAML front matter (--- ... ---) at the top"
    return yaml.safe_load(match.group(1)) or {}


def test_there_are_chapters():
    assert CHAPTERS, "no chapter found in book/"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_has_jupytext_myst_front_matter(chapter):
    meta = _front_matter(chapter)
    rep = (meta.get("jupytext") or {}).get("text_representation") or {}
    assert rep.get("extension") == ".md", f"{chapter.name}: jupytext.text_representation.extension"
    assert rep.get("format_name") == "myst", f"{chapter.name}: text_representation.format_name"
    assert rep.get("format_version"), f"{chapter.name}: text_representation.format_version"
    kernel = meta.get("kernelspec") or {}
    assert kernel.get("name") == "python3" and kernel.get("language") == "python", (
        f"{chapter.name}: kernelspec must be python3, got {kernel}"
    )


def _ids(paths):
    return [p.parent.name for p in paths]


def _read(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_source_notebook_has_no_outputs(path):
    nb = _read(path)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_source_notebook_metadata_is_limited(path):
    nb = _read(path)
    assert nb.nbformat == 4
    extra = set(nb.metadata) - {"kernelspec", "nbgrader"}
    assert not extra, f"{path.name}: notebook metadata beyond kernelspec/nbgrader: {sorted(extra)}"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", nb.metadata.get("kernelspec")
    for i, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - {"nbgrader"}
        assert not extra, f"{path.name}: cell {i} metadata beyond nbgrader: {sorted(extra)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_grade_ids_are_readable_and_unique(path):
    nb = _read(path)
    ids = [grade_id(c) for c in nb.cells if nbmeta(c)]
    assert all(ids), f"{path.name}: an nbgrader cell without grade_id"
    unreadable = [g for g in ids if not READABLE_ID.fullmatch(g) or re.fullmatch(r"cell-\w+", g)]
    assert not unreadable, f"{path.name}: grade ids must be readable names: {unreadable}"
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade ids {ids}"
    for cell in nb.cells:
        meta = nbmeta(cell)
        if meta:
            assert meta.get("schema_version") == 3, f"{grade_id(cell)}: schema_version 3"
            if meta.get("grade"):
                assert float(meta.get("points", 0)) > 0, f"{grade_id(cell)}: no points"
    setup = [c for c in nb.cells if grade_id(c) == "setup"]
    assert setup and nbmeta(setup[0]).get("locked"), f"{path.name}: no locked 'setup' cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_test_cell_opens_with_a_docstring(path):
    nb = _read(path)
    tests = [c for c in nb.cells if is_test(c)]
    assert tests, f"{path.name}: no test cell"
    for cell in tests:
        gid = grade_id(cell)
        assert gid.startswith("test_"), f"{gid}: test cells are named test_<function>[_what]"
        body = ast.parse(cell.source).body
        assert body and isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant
        ) and isinstance(body[0].value.value, str), f"{gid}: does not open with a docstring"
        begin = cell.source.count(HIDDEN_MARKERS[0])
        assert begin == cell.source.count(HIDDEN_MARKERS[1]), f"{gid}: unbalanced hidden tests"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_answer_cells_keep_def_and_docstring_outside_the_solution(path):
    nb = _read(path)
    answers = [c for c in nb.cells if is_answer(c)]
    assert answers, f"{path.name}: no answer cell"
    test_ids = [grade_id(c) for c in nb.cells if is_test(c)]
    for cell in answers:
        gid = grade_id(cell)
        src = cell.source
        assert SOLUTION_MARKERS[0] in src and SOLUTION_MARKERS[1] in src, (
            f"{gid}: no ### BEGIN SOLUTION / ### END SOLUTION block"
        )
        head = src.split(SOLUTION_MARKERS[0])[0]
        assert re.search(rf"^(def|class) {re.escape(gid)}\b", head, re.M), (
            f"{gid}: the line `def {gid}(...)` (or `class {gid}`) must come before "
            "### BEGIN SOLUTION"
        )
        assert '"""' in head or "'''" in head, f"{gid}: the docstring must precede the solution"
        assert any(t == f"test_{gid}" or t.startswith(f"test_{gid}_") for t in test_ids), (
            f"{gid}: no test cell test_{gid}[...]"
        )
    for cell in nb.cells:
        if is_written(cell):
            assert grade_id(cell).startswith("written_"), grade_id(cell)

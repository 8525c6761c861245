"""coursekit.worker.restore_cells on small in-memory notebooks (no kernel, no nbgrader run).

Every branch: a duplicated grade_id with and without a copy matching the release; nbgrader
metadata the student stripped, restored on the cell with the same cell id or the same source;
a deleted marked cell put back right after the marked cell before it (so a test cell still runs
after the function it tests), or first when nothing marked comes before it. The expected
notebooks are written out by hand from the release.
"""

from __future__ import annotations

import copy

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursekit.cells import nbmeta
from coursekit.worker import restore_cells


def _cell(kind: str, gid: str, source: str, cell_id: str, **flags):
    make = new_markdown_cell if kind == "markdown" else new_code_cell
    cell = make(source, metadata={"nbgrader": {"grade_id": gid, "schema_version": 3, **flags}})
    cell["id"] = cell_id
    return cell


def release():
    """setup, f, test_f, g, test_g, written: the release of a small assignment."""
    return new_notebook(cells=[
        new_markdown_cell("# A small assignment"),
        _cell("code", "setup", "import numpy as np", "c-setup", locked=True),
        _cell("code", "f", "def f(x):\n    raise NotImplementedError()", "c-f", solution=True),
        _cell("code", "test_f", '"""Check f."""\nassert f(2) == 4', "c-test-f", grade=True,
              locked=True, points=1),
        _cell("code", "g", "def g(x):\n    raise NotImplementedError()", "c-g", solution=True),
        _cell("code", "test_g", '"""Check g."""\nassert g(2) == 8', "c-test-g", grade=True,
              locked=True, points=2),
        _cell("markdown", "written", "YOUR ANSWER HERE", "c-written", grade=True,
              solution=True, points=1),
    ])


def grade_ids(nb) -> list[str | None]:
    return [nbmeta(c).get("grade_id") for c in nb.cells]


def test_an_untouched_submission_is_left_as_it_is():
    nb = release()
    before = copy.deepcopy(nb)
    assert restore_cells(nb, release()) == []
    assert nb == before


def test_a_duplicated_grade_id_keeps_the_copy_matching_the_release():
    nb = release()
    pasted = copy.deepcopy(nb.cells[3])
    pasted.source = '"""Check f."""\nassert True  # my own check'
    nb.cells.insert(3, pasted)  # the edited copy comes first
    reasons = restore_cells(nb, release())
    assert reasons == ["cell 'test_f' appeared 2 times (a copied cell); one copy was graded, "
                       "the others ran as ordinary cells"]
    kept = [c for c in nb.cells if nbmeta(c).get("grade_id") == "test_f"]
    assert [c.source for c in kept] == [release().cells[3].source]
    assert "nbgrader" not in nb.cells[3].metadata and nb.cells[3].source == pasted.source


def test_a_duplicated_grade_id_without_a_match_keeps_the_first():
    nb = release()
    first, second = copy.deepcopy(nb.cells[2]), copy.deepcopy(nb.cells[2])
    first.source, second.source = "def f(x):\n    return x * x", "def f(x):\n    return x ** 2"
    nb.cells[2:3] = [first, second]
    reasons = restore_cells(nb, release())
    assert len(reasons) == 1 and "'f' appeared 2 times" in reasons[0]
    assert nbmeta(nb.cells[2])["grade_id"] == "f" and nb.cells[2].source.endswith("x * x")
    assert "nbgrader" not in nb.cells[3].metadata


def test_stripped_metadata_is_restored_on_the_cell_with_the_same_id():
    nb = release()
    answer = nb.cells[4]
    answer.metadata.pop("nbgrader")
    answer.source = "def g(x):\n    return x ** 3"  # the student's answer: not the release's
    reasons = restore_cells(nb, release())
    assert reasons == ["cell 'g' had lost its nbgrader metadata; it was restored"]
    assert nbmeta(nb.cells[4]) == nbmeta(release().cells[4])
    assert nb.cells[4].source == "def g(x):\n    return x ** 3"
    assert grade_ids(nb) == grade_ids(release())


def test_stripped_metadata_is_restored_on_the_cell_with_the_same_source():
    nb = release()
    test = nb.cells[5]
    test.metadata.pop("nbgrader")
    test["id"] = "renamed-by-a-copy-paste"
    written = nb.cells[6]
    written.metadata.pop("nbgrader")
    written["id"] = "another-id"
    written.cell_type = "raw"  # the student changed the cell's type too
    reasons = restore_cells(nb, release())
    assert sorted(reasons) == ["cell 'test_g' had lost its nbgrader metadata; it was restored",
                               "cell 'written' had lost its nbgrader metadata; it was restored"]
    assert nbmeta(nb.cells[5]) == nbmeta(release().cells[5])
    assert nbmeta(nb.cells[6]) == nbmeta(release().cells[6])
    assert nb.cells[6].cell_type == "markdown"
    assert len(nb.cells) == len(release().cells)


def test_a_deleted_test_cell_goes_back_right_after_the_cell_before_it():
    nb = release()
    del nb.cells[5]  # test_g
    nb.cells.insert(5, new_code_cell("print(g(3))"))  # a scratch cell of the student's
    reasons = restore_cells(nb, release())
    assert reasons == ["cell 'test_g' was missing from the submission; it was put back"]
    assert grade_ids(nb) == [None, "setup", "f", "test_f", "g", "test_g", None, "written"]
    assert nb.cells[5].source == release().cells[5].source


def test_deleted_cells_go_back_in_the_releases_order():
    nb = release()
    del nb.cells[3:6]  # test_f, g, test_g
    reasons = restore_cells(nb, release())
    assert [r.split("'")[1] for r in reasons] == ["test_f", "g", "test_g"]
    assert grade_ids(nb) == grade_ids(release())


def test_a_deleted_first_marked_cell_goes_back_first():
    nb = release()
    del nb.cells[1]  # setup: no marked cell before it
    restore_cells(nb, release())
    assert grade_ids(nb) == ["setup", None, "f", "test_f", "g", "test_g", "written"]

"""A small released class for the batch, Dask, PostgreSQL and export tests.

``make_class(root, n)`` builds a course of the fixture assignment (NumPy only, so a kernel is
quick) with the course's own ``exercises/nbgrader_config.py``, runs the real
``nbgrader generate_assignment`` and writes ``n`` submissions cycling through: the full solution,
the blank release, a partial solution (first answer only), a submission whose first test cell was
edited, and a truncated (invalid JSON) notebook. Each gets nbgrader's ``timestamp.txt``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from coursekit.assignments import COURSE_CONFIG, FIXTURE_SOURCE_ROOT
from coursekit.cells import grade_id, is_answer, is_test, read_notebook
from coursekit.nbgrader_run import run_nbgrader as nbgrader
from coursekit.submissions import solved

ASSIGNMENT = "fixture_ps"
KINDS = ("full", "blank", "partial", "edited", "invalid")


def _submission(kind: str, source, release):
    if kind == "full":
        return solved(release, source)
    if kind == "blank":
        return release
    if kind == "partial":
        first = next(grade_id(c) for c in source.cells if is_answer(c))
        return solved(release, source, {gid: c.source for c in release.cells
                                        if is_answer(c) and (gid := grade_id(c)) != first})
    if kind == "edited":
        nb = solved(release, source)
        next(c for c in nb.cells if is_test(c)).source = '"""Edited."""\npass\n'
        return nb
    text = nbformat.writes(solved(release, source))
    return text[: len(text) // 2]


def make_class(root: Path, n: int, *, config_extra: str = "", assignment: str = ASSIGNMENT,
               source_root: Path = FIXTURE_SOURCE_ROOT) -> tuple[Path, dict[str, str]]:
    """(course folder, {student: kind}) of a released class of ``n`` submissions."""
    course = root / "course"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG.read_text() + config_extra)
    shutil.copytree(source_root / assignment, course / "source" / assignment)
    done = nbgrader(["generate_assignment", assignment, "--force"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    name = f"{assignment}.ipynb"
    source = read_notebook(course / "source" / assignment / name)
    release = read_notebook(course / "release" / assignment / name)
    kinds = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        student = f"s{i:03d}_{kind}"
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        content = _submission(kind, source, release)
        if isinstance(content, str):
            (folder / name).write_text(content)
        else:
            nbformat.write(content, str(folder / name))
        (folder / "timestamp.txt").write_text(f"2026-12-01 10:{i % 60:02d}:00.000000 UTC")
        kinds[student] = kind
    return course, kinds



# ---------------------------------------------------------------------------------------------
# Shared by the batch, Dask and PostgreSQL tests: one released class, and plain nbgrader's grades
# ---------------------------------------------------------------------------------------------
#: Submissions in the shared class (two of each kind).
CLASS_SIZE = 10


def gradebook_scores(url: str, assignment: str = ASSIGNMENT) -> dict[str, dict[str, tuple]]:
    """student -> {grade_id: (auto_score, max_score)} of every submission in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return {sub.student.id: {g.name: (g.auto_score, float(g.max_score))
                                 for nb in sub.notebooks for g in nb.grades}
                for sub in gb.assignment_submissions(assignment)}


def copy_course(course: Path, dest: Path) -> Path:
    """A copy of a course folder (to grade the same class again, independently)."""
    shutil.copytree(course, dest / "course")
    return dest / "course"


@pytest.fixture(scope="session")
def released_class(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """(course, {student: kind}): the shared class, released, not graded. Copy before use."""
    return make_class(tmp_path_factory.mktemp("class"), CLASS_SIZE)


@pytest.fixture(scope="session")
def plain_grades(released_class, tmp_path_factory):
    """(scores, log, course) of ONE plain ``nbgrader autograde ASSIGNMENT --create`` on a copy:
    the reference every other way of grading must equal."""
    course = copy_course(released_class[0], tmp_path_factory.mktemp("plain"))
    done = nbgrader(["autograde", ASSIGNMENT, "--create"], course)
    graded = {d.parent.name for d in (course / "autograded").glob(f"*/{ASSIGNMENT}")}
    scores = {s: v for s, v in gradebook_scores(f"sqlite:///{course / 'gradebook.db'}").items()
              if s in graded}
    return scores, done.stdout + done.stderr, course

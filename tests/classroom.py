"""A small released class for the batch, Dask, PostgreSQL and export tests.

``make_class(root, n)`` builds a course of the fixture assignment (NumPy only, so a kernel is
quick) with the course's own ``exercises/nbgrader_config.py`` (``harness.make_course``),
runs the real ``nbgrader generate_assignment`` and writes ``n`` submissions cycling through: the
full solution, the blank release, a partial solution (first answer only), a submission whose first
test cell was edited, and a truncated (invalid JSON) notebook. Each gets nbgrader's
``timestamp.txt``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from coursekit.cells import grade_id, is_answer, is_test, read_notebook
from coursekit.nbgrader_run import run_nbgrader as nbgrader
from harness import (
    FIXTURE_SOURCE_ROOT,
    find_assignment,
    gradebook_scores,
    make_course,
    solved,
    write_submission,
)

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


def make_class(root: Path, n: int) -> tuple[Path, dict[str, str]]:
    """(course folder, {student: kind}) of a released class of ``n`` submissions."""
    course = make_course(root, find_assignment(ASSIGNMENT, FIXTURE_SOURCE_ROOT),
                         loop_timeout_s=None)
    done = nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    name = f"{ASSIGNMENT}.ipynb"
    source = read_notebook(course / "source" / ASSIGNMENT / name)
    release = read_notebook(course / "release" / ASSIGNMENT / name)
    kinds = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        student = f"s{i:03d}_{kind}"
        write_submission(course, student, ASSIGNMENT, name, _submission(kind, source, release))
        (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").write_text(
            f"2026-12-01 10:{i % 60:02d}:00.000000 UTC")
        kinds[student] = kind
    return course, kinds


# ---------------------------------------------------------------------------------------------
# Shared by the batch, Dask and PostgreSQL tests: one released class, and plain nbgrader's grades
# ---------------------------------------------------------------------------------------------
#: Submissions in the shared class (two of each kind).
CLASS_SIZE = 10


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
    scores = {s: v for s, v in gradebook_scores(f"sqlite:///{course / 'gradebook.db'}",
                                                ASSIGNMENT).items()
              if s in graded}
    return scores, done.stdout + done.stderr, course

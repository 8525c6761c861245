"""coursekit.batch on a real released class: the same grades as plain nbgrader, one writer,
resume, forced re-grading, a worker that dies, and no false checksum warnings.

The reference is ONE plain ``nbgrader autograde fixture_ps --create`` of a copy of the class
(``classroom.plain_grades``); the batch grades another copy with 2 worker processes.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from classroom import (
    ASSIGNMENT,
    copy_course,
)

from coursekit import batch, exports
from harness import gradebook_scores

pytestmark = pytest.mark.slow
CHECKSUM_WARNING = re.compile(r"Attribute 'checksum' for cell (\S+) has changed!")


def db(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def batch_run(released_class, tmp_path_factory):
    """(course, results, printed output) of the batch with 2 workers on a copy of the class."""
    course = copy_course(released_class[0], tmp_path_factory.mktemp("batch"))
    out = io.StringIO()
    results = batch.grade_class(course, jobs=2, out=out, progress=False)
    return course, results, out.getvalue()


def test_batch_gives_plain_nbgrader_scores(batch_run, plain_grades, released_class):
    course, results, _ = batch_run
    reference = plain_grades[0]
    kinds = released_class[1]
    assert set(reference) == {s for s, k in kinds.items() if k != "invalid"}
    assert gradebook_scores(db(course), ASSIGNMENT) == reference
    by_student = {r.student: r for r in results}
    for student, cells in reference.items():
        tests = [c for c in by_student[student].cells if c.kind == "autograded"]
        assert by_student[student].score == sum(cells[c.grade_id][0] for c in tests)


def test_each_submission_written_once_with_a_log_line(batch_run, released_class):
    course, results, printed = batch_run
    kinds = released_class[1]
    assert sorted(r.student for r in results) == sorted(kinds)
    for student in kinds:
        assert len(re.findall(rf"^{student} ", printed, re.M)) == 1, printed
    assert "mean score" in printed and f"{len(kinds)} graded now" in printed
    from nbgrader.api import Gradebook

    with Gradebook(db(course)) as gb:
        subs = gb.assignment_submissions(ASSIGNMENT)
        assert sorted(s.student.id for s in subs) == sorted(
            s for s, k in kinds.items() if k != "invalid")
        cells = len(gb.find_assignment(ASSIGNMENT).notebooks[0].grade_cells)
        assert all(len(s.notebooks[0].grades) == cells for s in subs)
    for r in results:
        assert (r.status == "failed") == (kinds[r.student] == "invalid"), r
        if r.status == "failed":
            assert any("JSONDecodeError" in why for why in r.reasons), r.reasons


def plain_total(cells: dict[str, tuple]) -> tuple[str, str]:
    """(score, max_score) of one student from plain nbgrader's per-cell scores, as the export
    prints them (a written answer awaiting the grader counts 0, as in nbgrader's own total)."""
    return (f"{sum(auto or 0.0 for auto, _ in cells.values()):g}",
            f"{sum(top for _, top in cells.values()):g}")


def test_export_one_row_per_submission_with_status(batch_run, released_class, plain_grades):
    course, _, _ = batch_run
    kinds = released_class[1]
    table = exports.rows(course)
    assert sorted((r["assignment"], r["student"]) for r in table) == sorted(
        (ASSIGNMENT, s) for s in kinds)
    by_student = {r["student"]: r for r in table}
    for student, kind in kinds.items():
        row = by_student[student]
        assert row["timestamp"].startswith("2026-12-01 10:"), row
        if kind == "invalid":
            assert row["status"] == "failed" and row["score"] == "" and row["reason"], row
            continue
        assert (row["score"], row["max_score"]) == plain_total(plain_grades[0][student]), row
        if kind in ("full", "partial", "edited"):  # a written answer awaits the grader
            assert row["status"] == "needs manual grading", row
    roster = exports.rows(course, roster=["nobody", *kinds])
    missing = [r for r in roster if r["status"] == "missing"]
    assert [(r["student"], r["score"]) for r in missing] == [("nobody", "")]


def test_the_grades_csv_reads_back_with_nbgraders_scores_timestamps_and_a_manual_grade(
        batch_run, released_class, plain_grades, tmp_path):
    """What ``make grades`` writes (``python -m coursekit.exports``), read back with csv: the
    header, every score equal to plain nbgrader's, each submission's timestamp (in the CSV and
    in the gradebook, where nbgrader's late penalty reads it), and a written answer graded by
    hand counted in the score."""
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    course = copy_course(batch_run[0], tmp_path)
    kinds = released_class[1]
    full = next(s for s, k in kinds.items() if k == "full")
    with Gradebook(db(course)) as gb:
        stamps = {s.student.id: s.timestamp for s in gb.assignment_submissions(ASSIGNMENT)}
        written = next(g for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, full).grades
                       if g.auto_score is None)
        written.manual_score = float(written.max_score)
        written.needs_manual_grade = False
        bonus = float(written.max_score)
        gb.db.commit()
    for student, stamp in stamps.items():
        text = (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").read_text()
        assert stamp == parse_utc(text), student
    out = tmp_path / "grades.csv"
    assert exports.main(["--course", str(course), "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    assert header == list(exports.COLUMNS)
    by_student = {r["student"]: r for r in rows}
    assert sorted(by_student) == sorted(kinds)
    for student, kind in kinds.items():
        row = by_student[student]
        stamp = (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").read_text()
        assert row["timestamp"] == stamp.strip(), row
        if kind == "invalid":
            assert (row["status"], row["score"]) == ("failed", ""), row
            continue
        score, top = plain_total(plain_grades[0][student])
        if student == full:  # the written answer, graded by hand, counts in the score
            assert row["status"] == "graded", row
            score = f"{float(score) + bonus:g}"
        assert (row["score"], row["max_score"]) == (score, top), row


def test_untouched_submissions_log_no_checksum_warning(plain_grades, released_class):
    """The plain nbgrader run with the course's config: only the edited test cells warn."""
    log = plain_grades[1]
    edited = [s for s, k in released_class[1].items() if k == "edited"]
    warned = CHECKSUM_WARNING.findall(log)
    assert warned == ["test_sigmoid"] * len(edited), warned


def test_resume_skips_graded_and_force_regrades(batch_run):
    course, first, _ = batch_run
    scores = gradebook_scores(db(course), ASSIGNMENT)
    again = batch.grade_class(course, jobs=2, out=io.StringIO(), progress=False)
    assert sorted(r.student for r in again) == sorted(r.student for r in first
                                                     if r.status == "failed")
    resubmitted = next(r.student for r in first if r.status == "graded")
    stamp = course / "submitted" / resubmitted / ASSIGNMENT / "timestamp.txt"
    stamp.write_text("2026-12-02 09:00:00.000000 UTC")
    again = batch.grade_class(course, jobs=2, out=io.StringIO(), progress=False)
    assert sorted(r.student for r in again) == sorted(
        [resubmitted] + [r.student for r in first if r.status == "failed"])
    forced = batch.grade_class(course, jobs=2, force=True, out=io.StringIO(), progress=False)
    assert len(forced) == len(first)
    assert gradebook_scores(db(course), ASSIGNMENT) == scores


def die_first_time(course: str, assignment: str, student: str, sandbox: bool = True) -> dict:
    """A task whose worker process dies mid-submission: once for every student, always for a
    student named ``*_blank``."""
    marker = Path(course).parent / "died" / student
    if student.endswith("_blank") or not marker.exists():
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
        os._exit(9)
    return batch.default_grade(course, assignment, student, sandbox)


def test_dead_worker_retried_once_then_reported(released_class, plain_grades, tmp_path):
    course = copy_course(released_class[0], tmp_path)
    keep = {"s000_full", "s001_blank", "s002_partial"}
    for folder in (course / "submitted").iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder)
    results = batch.grade_class(course, jobs=2, grade=die_first_time, out=io.StringIO(),
                                progress=False)
    by_student = {r.student: r for r in results}
    assert sorted(by_student) == sorted(keep)
    assert by_student["s001_blank"].status == "failed"
    assert "worker process died (2 tries)" in by_student["s001_blank"].reasons[0]
    scores = gradebook_scores(db(course), ASSIGNMENT)
    assert scores == {s: plain_grades[0][s] for s in ("s000_full", "s002_partial")}

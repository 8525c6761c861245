"""The grading stages after the worker, on hand-built results, without a kernel (seconds).

A :class:`coursekit.result.SubmissionResult` is built by hand for each case and handed to the
stage under test: the result's JSON form (what a worker returns), the gradebook writer on a
temporary SQLite gradebook made through nbgrader's own ``Gradebook`` API, the grades CSV written
and read back with :mod:`csv`, the feedback page, and the batch's log line and summary. The
references are independent of the code under test: nbgrader's ``Gradebook`` read directly, the
CSV read by the standard library, scores summed here from the numbers the test chose.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from datetime import datetime

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursekit import batch, exports, feedback, gradebook
from coursekit import result as res
from coursekit.nbgrader_run import venv_on_path
from coursekit.result import CellResult, Record, SubmissionResult

A = "ps"
HIDDEN = "assert f(7) == 49  # a hidden check"
STAMPS = {"ada": "2026-12-01 10:00:00.000000 UTC", "bob": "2026-12-01 10:05:00.000000 UTC",
          "cy": "2026-12-01 10:09:00.000000 UTC"}


def _meta(gid: str, **flags) -> dict:
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, **flags}}


def _graded_notebook() -> str:
    """A graded notebook: an answer, a test cell with a hidden test, a written answer."""
    nb = new_notebook(cells=[
        new_code_cell("def f(x):\n    return x * x\n",
                      metadata=_meta("f", solution=True, grade=False, locked=False)),
        new_code_cell(f'"""Check f."""\nassert f(2) == 4\n{HIDDEN}\n',
                      metadata=_meta("test_a", grade=True, solution=False, locked=True,
                                     points=2)),
        new_code_cell('"""Check f again."""\nassert f(3) == 9\n',
                      metadata=_meta("test_b", grade=True, solution=False, locked=True,
                                     points=3)),
        new_markdown_cell("My answer: $x^2$ grows.",
                          metadata=_meta("written_x", grade=True, solution=True, locked=False,
                                         points=1)),
    ])
    return nbformat.writes(nb)


GRADED = _graded_notebook()


def cells(a: float, b: float, *, message_b: str = "", written: float | None = None):
    return [CellResult(A, "test_a", res.AUTOGRADED, a, 2.0),
            CellResult(A, "test_b", res.AUTOGRADED, b, 3.0, message_b),
            CellResult(A, "written_x", res.MANUAL, written, 1.0)]


def results() -> dict[str, SubmissionResult]:
    """ada graded (a written answer waits), bob flagged, cy failed."""
    nb = {f"{A}.ipynb": GRADED}
    ada = res.scored(res.new(A, "ada", STAMPS["ada"]), cells(2.0, 3.0)).replace(
        autograded=nb, seconds=4.5)
    bob = res.scored(res.new(A, "bob", STAMPS["bob"]),
                     cells(2.0, 0.0, message_b="AssertionError: f(3): expected 9, got 6"),
                     flagged=True).replace(autograded=nb, reasons=("flagged: it imports os",))
    cy = res.failed(A, "cy", "not graded: ps.ipynb is not a valid notebook", seconds=0.5)
    return {"ada": ada, "bob": bob, "cy": cy}


@pytest.fixture(scope="module")
def _course(tmp_path_factory):
    """A course folder: its config, a SQLite gradebook holding the assignment (through
    nbgrader's API) and three submissions with their ``timestamp.txt``."""
    tmp_path = tmp_path_factory.mktemp("course")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    from nbgrader.api import Gradebook

    with venv_on_path(), Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment(A)
        gb.add_notebook(A, A)
        gb.add_grade_cell("test_a", A, A, max_score=2, cell_type="code")
        gb.add_grade_cell("test_b", A, A, max_score=3, cell_type="code")
        gb.add_grade_cell("written_x", A, A, max_score=1, cell_type="markdown")
    for student, stamp in STAMPS.items():
        folder = tmp_path / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / f"{A}.ipynb").write_text(GRADED)
        (folder / "timestamp.txt").write_text(stamp)
    return tmp_path


@pytest.fixture(scope="module")
def _written(_course, tmp_path_factory):
    """A copy of the course after the writer wrote the three results."""
    course = shutil.copytree(_course, tmp_path_factory.mktemp("written") / "course")
    with venv_on_path(), gradebook.Writer(course) as writer:
        for r in results().values():
            writer.write(r)
    return course


@pytest.fixture
def written(_written, tmp_path):
    """A fresh copy of the written course, for a test that changes it."""
    return shutil.copytree(_written, tmp_path / "course")


# ---------------------------------------------------------------------------------------------
# The result's JSON form
# ---------------------------------------------------------------------------------------------
def worker_dict() -> dict:
    """The dict ``coursekit.worker.grade_submission`` returns, typed out as the worker builds
    it (not through the type under test)."""
    return {"student": "ada", "assignment": A, "status": "graded", "reasons": ["a reason"],
            "score": 5.0, "max_score": 5.0, "needs_manual_grading": True,
            "cells": [{"notebook": A, "grade_id": "test_a", "kind": "autograded",
                       "auto_score": 2.0, "max_score": 2.0, "message": ""},
                      {"notebook": A, "grade_id": "written_x", "kind": "manual",
                       "auto_score": None, "max_score": 1.0, "message": ""}],
            "autograded": {f"{A}.ipynb": "{}"}, "timestamp": STAMPS["ada"], "seconds": 1.25}


def test_a_workers_dict_reads_back_unchanged():
    data = worker_dict()
    r = SubmissionResult.from_json(json.loads(json.dumps(data)))
    assert r.to_json() == data
    assert r.cells[1].auto_score is None and r.is_scored and r.needs_manual_grading
    assert SubmissionResult.from_json(r.to_json()) == r


@pytest.mark.parametrize("path, value, field", [
    (("status",), "done", "status"),
    (("score",), "5", "score"),
    (("score",), True, "score"),
    (("reasons",), "one reason", "reasons"),
    (("needs_manual_grading",), 1, "needs_manual_grading"),
    (("timestamp",), 12, "timestamp"),
    (("autograded",), {"ps.ipynb": 3}, "autograded"),
    (("cells", 0, "kind"), "hidden", "cells[0].kind"),
    (("cells", 0, "auto_score"), None, "cells[0].auto_score"),
    (("cells", 1, "grade_id"), None, "cells[1].grade_id"),
])
def test_from_json_names_the_wrong_field(path, value, field):
    data = worker_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=rf"^{re.escape(field)}: expected"):
        SubmissionResult.from_json(data)


def test_from_json_names_a_missing_or_unexpected_field():
    data = worker_dict()
    del data["seconds"]
    with pytest.raises(ValueError, match=r"^seconds: missing"):
        SubmissionResult.from_json(data)
    with pytest.raises(ValueError, match=r"^flagged_by: unexpected field"):
        SubmissionResult.from_json({**worker_dict(), "flagged_by": "me"})
    with pytest.raises(ValueError, match=r"result: expected a JSON object"):
        SubmissionResult.from_json([1, 2])


def test_constructors_derive_status_and_totals():
    r = results()
    assert (r["ada"].status, r["ada"].score, r["ada"].max_score) == ("graded", 5.0, 5.0)
    assert r["ada"].needs_manual_grading
    assert (r["bob"].status, r["bob"].score) == ("flagged", 2.0)
    assert (r["cy"].status, r["cy"].score, r["cy"].cells, r["cy"].is_scored) == (
        "failed", 0.0, (), False)
    with pytest.raises(ValueError, match="reason: expected a sentence"):
        res.failed(A, "cy", "")
    with pytest.raises(ValueError, match="status: expected one of graded, flagged, failed"):
        SubmissionResult("ada", A, "done")


def test_a_record_holds_no_notebook_and_reads_back():
    record = Record(results()["ada"], "ab" * 32)
    data = record.to_json()
    assert "autograded" not in data and data["submission_sha256"] == "ab" * 32
    back = Record.from_json(json.loads(json.dumps(data)))
    assert back.result == results()["ada"].replace(autograded={})
    with pytest.raises(ValueError, match="submission_sha256: missing"):
        Record.from_json({k: v for k, v in data.items() if k != "submission_sha256"})


# ---------------------------------------------------------------------------------------------
# The gradebook writer
# ---------------------------------------------------------------------------------------------
def test_writer_writes_scores_timestamps_flags_and_records(written):
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    with venv_on_path(), Gradebook(f"sqlite:///{written / 'gradebook.db'}") as gb:
        subs = {s.student.id: s for s in gb.assignment_submissions(A)}
        assert sorted(subs) == ["ada", "bob"]  # a failed result writes no rows
        for student, want in (("ada", {"test_a": 2.0, "test_b": 3.0, "written_x": None}),
                              ("bob", {"test_a": 2.0, "test_b": 0.0, "written_x": None})):
            got = {g.name: g.auto_score for nb in subs[student].notebooks for g in nb.grades}
            assert got == want, student
            assert subs[student].timestamp == parse_utc(STAMPS[student])
            assert isinstance(subs[student].timestamp, datetime)
        assert [nb.flagged for nb in subs["bob"].notebooks] == [True]
        assert [nb.flagged for nb in subs["ada"].notebooks] == [False]
        manual = {g.name: g.needs_manual_grade for nb in subs["ada"].notebooks for g in nb.grades}
        assert manual == {"test_a": False, "test_b": False, "written_x": True}
    for student, r in results().items():
        record = gradebook.read_record(written, A, student)
        assert record == Record(r.replace(autograded={}),
                                gradebook.submission_hash(written, A, student))
    folder = written / "autograded" / "ada" / A
    assert (folder / f"{A}.ipynb").read_text() == GRADED
    assert (folder / "timestamp.txt").read_text() == STAMPS["ada"]
    assert not (written / "autograded" / "cy").exists()
    assert gradebook.is_done(written, A, "ada") and gradebook.is_done(written, A, "bob")
    assert not gradebook.is_done(written, A, "cy")
    (written / "submitted" / "ada" / A / "timestamp.txt").write_text(STAMPS["cy"])
    assert not gradebook.is_done(written, A, "ada")  # resubmitted


def test_a_damaged_record_names_its_file_and_field(written):
    path = gradebook.record_path(written, A, "ada")
    data = json.loads(path.read_text())
    data["status"] = "done"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"ada\.json: status: expected one of"):
        gradebook.read_record(written, A, "ada")


# ---------------------------------------------------------------------------------------------
# The grades export, written and read back
# ---------------------------------------------------------------------------------------------
def _grade_by_hand(course, student: str, scores: dict[str, float]) -> None:
    """What the instructor does in the formgrader: manual scores, through nbgrader's API."""
    from nbgrader.api import Gradebook

    with venv_on_path(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for gid, score in scores.items():
            grade = gb.find_grade(gid, A, A, student)
            grade.manual_score = score
            grade.needs_manual_grade = False
        gb.db.commit()


def read_csv(path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_grades_csv_has_the_header_every_score_and_timestamp(written):
    out = written / "grades.csv"
    with venv_on_path():
        exports.write_csv(written, out, roster=["ada", "bob", "cy", "dee"])
    header, rows = read_csv(out)
    assert header == list(exports.COLUMNS)
    by = {r["student"]: r for r in rows}
    assert sorted(by) == ["ada", "bob", "cy", "dee"]
    assert {s: by[s]["timestamp"] for s in STAMPS} == STAMPS
    assert (by["ada"]["status"], by["ada"]["score"], by["ada"]["max_score"]) == (
        "needs manual grading", "5", "6")
    assert (by["ada"]["autograded_score"], by["ada"]["autograded_max"]) == ("5", "5")
    assert (by["bob"]["status"], by["bob"]["score"], by["bob"]["reason"]) == (
        "flagged for review", "2", "flagged: it imports os")
    assert (by["cy"]["status"], by["cy"]["score"], by["cy"]["max_score"]) == ("failed", "", "")
    assert "not a valid notebook" in by["cy"]["reason"]
    assert (by["dee"]["status"], by["dee"]["score"], by["dee"]["timestamp"]) == (
        "missing", "", "")


def test_a_manual_grade_overrides_the_autograded_score_in_the_export(written):
    _grade_by_hand(written, "ada", {"written_x": 1.0, "test_b": 1.5})
    out = written / "grades.csv"
    with venv_on_path():
        exports.write_csv(written, out)
    _, rows = read_csv(out)
    ada = next(r for r in rows if r["student"] == "ada")
    # 2 (test_a, autograded) + 1.5 (test_b, overridden by hand) + 1 (written, by hand)
    assert (ada["status"], ada["score"], ada["max_score"]) == ("graded", "4.5", "6")
    assert (ada["autograded_score"], ada["autograded_max"]) == ("5", "5")


def test_a_resubmission_is_not_graded_yet(written):
    (written / "submitted" / "ada" / A / "timestamp.txt").write_text(STAMPS["cy"])
    with venv_on_path():
        ada = next(r for r in exports.rows(written) if r["student"] == "ada")
    assert (ada["status"], ada["score"], ada["reason"]) == (
        "not graded yet", "", "resubmitted after grading")


# ---------------------------------------------------------------------------------------------
# The feedback page
# ---------------------------------------------------------------------------------------------
def test_feedback_shows_each_outcome_and_message_never_a_hidden_test():
    bob = results()["bob"]
    page = feedback.feedback_html(bob)
    assert HIDDEN not in page and "assert f(3) == 9" not in page
    assert "def f(x):" in page and "My answer:" in page
    assert "<b>test_a</b>: passed, 2 / 2 points" in page
    assert "<b>test_b</b>: failed, 0 / 3 points" in page
    assert "AssertionError: f(3): expected 9, got 6" in page
    assert "<b>written_x</b>: graded by the instructor (1 points)" in page
    assert "Score: 2 / 5 (autograded)" in page
    assert "held for review" in page and "it imports os" not in page
    instructor = feedback.feedback_html(bob, instructor=True)
    assert "flagged: it imports os" in instructor and HIDDEN not in instructor


def test_feedback_fails_a_full_score_cell_that_reported_a_message():
    r = results()["ada"]
    noisy = r.replace(cells=(CellResult(A, "test_a", res.AUTOGRADED, 2.0, 2.0,
                                                  "wrote to stderr: careful"), *r.cells[1:]))
    page = feedback.feedback_html(noisy)
    assert "<b>test_a</b>: failed, 2 / 2 points" in page and "careful" in page


# ---------------------------------------------------------------------------------------------
# The batch's log, summary and what it accepts from a worker
# ---------------------------------------------------------------------------------------------
def test_log_lines_say_score_status_and_reasons():
    r = results()
    assert batch.log_line(r["ada"]).split() == [
        "ada", A, "5/5", "4.5", "s", "graded", "(written", "answers", "to", "grade", "by",
        "hand)"]
    assert batch.log_line(r["bob"]).endswith("2/5    0.0 s  flagged: flagged: it imports os")
    assert batch.log_line(r["cy"]).split()[2] == "-"
    assert batch.log_line(r["cy"]).endswith("failed: not graded: ps.ipynb is not a valid notebook")


def test_summary_counts_each_outcome():
    r = results()
    table = batch.summary_table(list(r.values()), [batch.Task(A, "dee")], wall_s=60.0,
                                write_s=0.3)
    lines = table.splitlines()
    assert lines[0].split() == ["assignment", "graded", "manual", "flagged", "failed",
                                "skipped", "mean", "score", "worker", "s"]
    # graded 1, manual 2 (ada and bob have a written answer), flagged 1, failed 1, skipped 1,
    # mean (5 + 2) / 2, worker seconds 4.5 + 0 + 0.5
    assert lines[1].split() == [A, "1", "2", "1", "1", "1", "3.50/5", "5.0"]
    assert lines[2].startswith("3 graded now, 1 skipped") and "3.0 submissions/min" in lines[2]
    assert lines[3] == "gradebook writer: 0.30 s in all, 100 ms per submission"


def test_the_batch_turns_a_malformed_worker_result_into_a_failure():
    task = batch.Task(A, "ada")
    good = batch.arrived(task, worker_dict())
    assert good == SubmissionResult.from_json(worker_dict())
    broken = copy.deepcopy(worker_dict())
    broken["cells"][0]["max_score"] = "2"
    bad = batch.arrived(task, broken)
    assert bad.status == "failed" and "cells[0].max_score: expected a number" in bad.reasons[0]
    other = batch.arrived(batch.Task(A, "bob"), worker_dict())
    assert other.status == "failed" and "ada/ps" in other.reasons[0]

"""Grades an instructor can trust: one row per student per assignment handed in.

``nbgrader export`` writes a row for every student x every assignment in the gradebook, with a
zero for each assignment a student never handed in (60 rows for 24 submissions). This export
starts from what was handed in (``submitted/<student>/<assignment>/``) and never invents a
score. Each row has a ``status``:

- ``graded``: every cell is scored (autograded, and written answers graded by hand);
- ``needs manual grading``: autograded, written answers still to grade (formgrader);
- ``flagged for review``: the grader did not trust the submission (see ``reason``);
- ``failed``: it could not be graded (the reason says why); no score;
- ``not graded yet``: handed in, no autograde run on it since;
- ``missing``: a student of the roster (``--roster``, one student id a line, or the
  gradebook's students with ``--roster gradebook``) who handed nothing in; no score.

The score is nbgrader's (a manual score overrides the autograded one) from the gradebook;
status, reason and the autograder's result come from ``grading/<assignment>/<student>.json``
(``coursekit.gradebook``). ``python -m coursekit.exports [--course exercises] [--out grades.csv]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from coursekit import gradebook
from coursekit import result as res
from coursekit.assignments import COURSE
from coursekit.result import Record
from coursekit.sanitize import csv_cell, parse_timestamp

COLUMNS = ("student", "assignment", "status", "score", "max_score", "autograded_score",
           "autograded_max", "timestamp", "reason")


def _gradebook_scores(url: str) -> dict[tuple[str, str], dict]:
    """(assignment, student) -> score, max_score and whether a cell awaits manual grading."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(url) as gb:
        for assignment in gb.assignments:
            for sub in gb.assignment_submissions(assignment.name):
                grades = [g for nb in sub.notebooks for g in nb.grades]
                out[(assignment.name, sub.student.id)] = {
                    "score": sum(g.score for g in grades),
                    "max_score": sum(g.max_score for g in grades),
                    "needs_manual": any(g.needs_manual_grade for g in grades),
                }
    return out


def _status(record: Record | None, row: dict | None, current: bool) -> tuple[str, str]:
    """The row's status (one of ``coursekit.result.ROW_STATUSES``) and reason."""
    if record is None or not current:
        return res.ROW_NOT_GRADED_YET, ("resubmitted after grading" if record else "")
    reason = "; ".join(record.result.reasons)
    if record.result.status == res.FAILED:
        return res.ROW_FAILED, reason
    if record.result.status == res.FLAGGED:
        return res.ROW_FLAGGED, reason
    if row is not None and row["needs_manual"]:
        return res.ROW_NEEDS_MANUAL, reason
    return res.ROW_GRADED, reason


def rows(course: Path, roster: list[str] | None = None) -> list[dict]:
    """The export's rows (see the module docstring), sorted by assignment then student."""
    course = Path(course)
    scores = _gradebook_scores(gradebook.db_url(course))
    handed_in = {(d.name, d.parent.name) for d in (course / "submitted").glob("*/*") if d.is_dir()}
    out = []
    for assignment, student in sorted(handed_in):
        record = gradebook.read_record(course, assignment, student)
        current = (record is not None and record.submission_sha256
                   == gradebook.submission_hash(course, assignment, student))
        row = scores.get((assignment, student))
        status, reason = _status(record, row, current)
        scored = status in res.ROW_SCORED
        out.append({
            "student": student, "assignment": assignment, "status": status,
            "score": f"{row['score']:g}" if scored and row else "",
            "max_score": f"{row['max_score']:g}" if scored and row else "",
            "autograded_score": f"{record.result.score:g}" if scored else "",
            "autograded_max": f"{record.result.max_score:g}" if scored else "",
            "timestamp": ((record.result.timestamp if record else None)
                          or _timestamp(course, assignment, student)),
            "reason": reason,
        })
    assignments = sorted({a for a, _ in handed_in})
    for student in sorted(set(roster or [])):
        out += [dict(dict.fromkeys(COLUMNS, ""), student=student, assignment=a,
                     status=res.ROW_MISSING, reason="nothing handed in")
                for a in assignments if (a, student) not in handed_in]
    return sorted(out, key=lambda r: (r["assignment"], r["student"]))


def _timestamp(course: Path, assignment: str, student: str) -> str:
    """The submission's own ``timestamp.txt`` when it holds a timestamp, else ``""``."""
    stamp = course / "submitted" / student / assignment / "timestamp.txt"
    if not stamp.is_file():
        return ""
    return parse_timestamp(stamp.read_text(encoding="utf-8", errors="replace")[:4096]) or ""


def _roster(course: Path, spec: str | None) -> list[str] | None:
    if not spec:
        return None
    if spec == "gradebook":
        from nbgrader.api import Gradebook

        with Gradebook(gradebook.db_url(course)) as gb:
            return [s.id for s in gb.students]
    return [ln.strip() for ln in Path(spec).read_text().splitlines() if ln.strip()]


def write_csv(course: Path, out: Path, roster: list[str] | None = None) -> list[dict]:
    """Write :func:`rows` to ``out`` as CSV, every text cell that a spreadsheet would read as
    a formula neutralised (``coursekit.sanitize.csv_cell``); return the rows."""
    table = rows(course, roster)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in table)
    return table


def main(argv: list[str] | None = None) -> int:
    """``python -m coursekit.exports``: write the grades CSV."""
    parser = argparse.ArgumentParser(description="Write the course's grades CSV.")
    parser.add_argument("--course", type=Path, default=COURSE)
    parser.add_argument("--out", type=Path, default=None,
                        help="default: <course>/grades.csv")
    parser.add_argument("--roster", default=os.environ.get("ROSTER") or None,
                        help="file of student ids, or 'gradebook': adds 'missing' rows")
    args = parser.parse_args(argv)
    out = args.out or args.course / "grades.csv"
    table = write_csv(args.course, out, _roster(args.course, args.roster))
    counts = {s: sum(r["status"] == s for r in table) for s in sorted({r["status"] for r in table})}
    print(f"Grades: {out} ({len(table)} rows: "
          + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The single writer of a course's grades: worker results -> gradebook rows and autograded/.

Workers (``coursekit.worker.grade_submission``) never touch the course; the coordinating process
(``coursekit.batch``) hands each result (a ``coursekit.result.SubmissionResult``) to
:meth:`Writer.write`, one at a time, and nothing else writes the gradebook or ``autograded/``.
Per submission it writes, in this order:

1. the gradebook rows through nbgrader's ``Gradebook`` API, in one transaction (SQLite by
   default, or the config's ``CourseDirectory.db_url``, e.g. PostgreSQL);
2. ``autograded/<student>/<assignment>/<notebook>.ipynb`` (+ ``timestamp.txt``), which
   ``nbgrader generate_feedback`` reads and the formgrader shows the instructor: made inert
   first (``coursekit.sanitize.sanitize_notebook``: no output or markdown of the student's
   runs script in the instructor's browser);
3. the record ``grading/<assignment>/<student>.json`` (a ``coursekit.result.Record``: the result
   without notebooks, plus the submitted files' hash): what exports read and what a resumed
   batch trusts.

A batch interrupted between two steps re-grades that submission; every step is an
update-or-create, so nothing is duplicated.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

from coursekit.nbgrader_run import venv_on_path
from coursekit.result import FLAGGED, Record, SubmissionResult
from coursekit.sanitize import parse_timestamp, sanitize_notebook_text

RECORDS = "grading"


def db_url(course: Path) -> str:
    """The gradebook URL of ``course``: its nbgrader_config.py's ``CourseDirectory.db_url``,
    else the SQLite file ``gradebook.db`` in the course folder (relative SQLite paths are
    taken from the course folder)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    url = config.CourseDirectory.get("db_url") or f"sqlite:///{Path(course).resolve()}/gradebook.db"
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_absolute():
        url = f"sqlite:///{Path(course).resolve() / url[len('sqlite:///'):]}"
    return url


def submission_hash(course: Path, assignment: str, student: str) -> str:
    """sha256 over the submitted files (names and bytes): a resubmission changes it."""
    digest = hashlib.sha256()
    folder = Path(course) / "submitted" / student / assignment
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def record_path(course: Path, assignment: str, student: str) -> Path:
    return Path(course) / RECORDS / assignment / f"{student}.json"


def read_record(course: Path, assignment: str, student: str) -> Record | None:
    """The record of the last grading of this submission, or ``None``; a record that does not
    read as one raises ``ValueError`` naming its file and the field."""
    path = record_path(course, assignment, student)
    if not path.is_file():
        return None
    try:
        return Record.from_json(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def is_done(course: Path, assignment: str, student: str) -> bool:
    """Graded (or flagged) earlier from exactly the files submitted now."""
    record = read_record(course, assignment, student)
    return (record is not None and record.result.is_scored
            and record.submission_sha256 == submission_hash(course, assignment, student))


def _write_rows(gb, result: SubmissionResult) -> None:
    from nbgrader.utils import parse_utc

    a, s = result.assignment, result.student
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's autoflush
        gb.update_or_create_student(s)
        extra = {"timestamp": parse_utc(result.timestamp)} if result.timestamp else {}
        submission = gb.update_or_create_submission(a, s, **extra)
        for cell in result.cells:
            grade = gb.find_grade(cell.grade_id, cell.notebook, a, s)
            grade.auto_score = cell.auto_score
            grade.needs_manual_grade = (grade.manual_score is not None
                                        or grade.auto_score is None)
        for notebook in submission.notebooks:
            notebook.flagged = result.status == FLAGGED
        gb.db.commit()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Writer:
    """The single writer of one batch: the gradebook opened once (a database that cannot be
    reached fails the batch before any work), then :meth:`write` for each result."""

    def __init__(self, course: Path, url: str | None = None) -> None:
        from nbgrader.api import Gradebook

        self.course = Path(course)
        with venv_on_path():  # nbgrader runs its `alembic` when it creates the database
            self.gradebook = Gradebook(url or db_url(self.course))

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.gradebook.close()

    def write(self, result: SubmissionResult) -> None:
        """Write one worker result into the course (see the module docstring); a failed result
        writes only its record (no gradebook rows, no invented zeros). A write that fails is
        rolled back, so the next one starts clean."""
        course = self.course
        a, s = result.assignment, result.student
        if result.is_scored:
            notebooks = {name: sanitize_notebook_text(text)
                         for name, text in result.autograded.items()}
            try:
                _write_rows(self.gradebook, result)
            except Exception:
                self.gradebook.db.rollback()
                raise
            folder = course / "autograded" / s / a
            for name, text in notebooks.items():
                _atomic_write(folder / name, text)
            stamp = course / "submitted" / s / a / "timestamp.txt"
            when = (parse_timestamp(stamp.read_text(encoding="utf-8", errors="replace")[:4096])
                    if stamp.is_file() else None)
            if when:
                _atomic_write(folder / "timestamp.txt", when)
        record = Record(result, submission_hash(course, a, s))
        _atomic_write(record_path(course, a, s), json.dumps(record.to_json(), indent=1))

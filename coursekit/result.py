"""The grading result: what grading one submission yields, as a named type.

A worker grades one submission and returns it as JSON (:meth:`SubmissionResult.to_json`: plain
dicts, lists, strings and numbers, so it crosses process pools and Dask as it is); the batch
turns what arrives back into a :class:`SubmissionResult` with :meth:`SubmissionResult.from_json`,
which checks every field and raises ``ValueError`` naming the one that is wrong. From there the
gradebook writer (``coursekit.gradebook``), the export (``coursekit.exports``), the feedback
pages (``coursekit.feedback``) and the batch's log (``coursekit.batch``) read the same fields.
The writer keeps each result as a :class:`Record` (the result without its notebooks, plus the
hash of the files it was graded from) in ``grading/<assignment>/<student>.json``.

Fields of a :class:`SubmissionResult`:

- ``student``, ``assignment``: the submission, ``submitted/<student>/<assignment>/``;
- ``status``: :data:`GRADED` (scored), :data:`FLAGGED` (scored, held for the instructor's
  review) or :data:`FAILED` (not graded; no score, the reasons say why);
- ``reasons``: sentences for the instructor (what was restored, cut, stopped or flagged);
- ``score``, ``max_score``: the autograded points and their maximum;
- ``needs_manual_grading``: a written answer waits for the instructor;
- ``cells``: one :class:`CellResult` per graded cell, in the notebook's order;
- ``autograded``: notebook file name -> the graded notebook's JSON text;
- ``timestamp``: the submission's ``timestamp.txt`` (first line), or ``None``;
- ``seconds``: how long grading it took.

A grades export row has one of the :data:`ROW_STATUSES` (the export's own vocabulary, derived
from a record and the gradebook by ``coursekit.exports``).

>>> r = failed("ps1_sigmoid_decay", "ada", "not graded: no ps1_sigmoid_decay.ipynb")
>>> r.status, r.is_scored, SubmissionResult.from_json(r.to_json()) == r
('failed', False, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: A submission's status: scored.
GRADED = "graded"
#: Scored, but the grader does not trust it: held for the instructor's review.
FLAGGED = "flagged"
#: Not graded (unreadable, crashed, not written): no score, the reasons say why.
FAILED = "failed"
STATUSES = (GRADED, FLAGGED, FAILED)
#: The statuses whose scores are written into the gradebook.
SCORED = frozenset({GRADED, FLAGGED})

#: A cell's kind: a test cell scored by the autograder, or a written answer graded by hand.
AUTOGRADED = "autograded"
MANUAL = "manual"
CELL_KINDS = (AUTOGRADED, MANUAL)

#: The statuses of a row of the grades export.
ROW_GRADED = "graded"
ROW_NEEDS_MANUAL = "needs manual grading"
ROW_FLAGGED = "flagged for review"
ROW_FAILED = "failed"
ROW_NOT_GRADED_YET = "not graded yet"
ROW_MISSING = "missing"
ROW_STATUSES = (ROW_GRADED, ROW_NEEDS_MANUAL, ROW_FLAGGED, ROW_FAILED, ROW_NOT_GRADED_YET,
                ROW_MISSING)
#: Export rows that carry a score.
ROW_SCORED = frozenset({ROW_GRADED, ROW_NEEDS_MANUAL, ROW_FLAGGED})


# ---------------------------------------------------------------------------------------------
# Field checks: each names the field, what was received and what was expected
# ---------------------------------------------------------------------------------------------
def _str(data: Mapping, key: str, where: str, *, optional: bool = False) -> str | None:
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}{key}: expected a string{' or None' if optional else ''}, "
                         f"received {value!r}")
    return value


def _number(data: Mapping, key: str, where: str, *, optional: bool = False) -> float | None:
    value = data[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}{key}: expected a number{' or None' if optional else ''}, "
                         f"received {value!r}")
    return float(value)


def _choice(data: Mapping, key: str, where: str, choices: tuple[str, ...]) -> str:
    value = data[key]
    if value not in choices:
        raise ValueError(f"{where}{key}: expected one of {', '.join(choices)}, received {value!r}")
    return value


def _keys(data: Any, names: tuple[str, ...], where: str) -> Mapping:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where or 'result'}: expected a JSON object (dict), "
                         f"received {type(data).__name__}")
    missing = [k for k in names if k not in data]
    extra = sorted(str(k) for k in data if k not in names)
    if missing:
        raise ValueError(f"{where}{missing[0]}: missing (expected the fields {', '.join(names)})")
    if extra:
        raise ValueError(f"{where}{extra[0]}: unexpected field (expected only {', '.join(names)})")
    return data


# ---------------------------------------------------------------------------------------------
# The types
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellResult:
    """One graded cell: a test cell (``kind`` :data:`AUTOGRADED`) or a written answer
    (:data:`MANUAL`, whose ``auto_score`` is ``None`` while it waits for the instructor, as in
    nbgrader). ``notebook`` is the notebook's stem; ``message`` the first line of what made a
    test cell fail, or ``''``."""

    notebook: str | None
    grade_id: str
    kind: str
    auto_score: float | None
    max_score: float
    message: str = ""

    @property
    def passed(self) -> bool:
        """A test cell that scored all its points and reported nothing."""
        return (self.kind == AUTOGRADED and self.auto_score is not None
                and self.auto_score >= self.max_score and not self.message)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> CellResult:
        """A cell from its JSON form; ``ValueError`` names the field that is wrong."""
        data = _keys(data, tuple(f.name for f in dataclasses.fields(cls)), where)
        kind = _choice(data, "kind", where, CELL_KINDS)
        auto = _number(data, "auto_score", where, optional=kind == MANUAL)
        return cls(notebook=_str(data, "notebook", where, optional=True),
                   grade_id=_str(data, "grade_id", where), kind=kind, auto_score=auto,
                   max_score=_number(data, "max_score", where),
                   message=_str(data, "message", where))


@dataclass(frozen=True)
class SubmissionResult:
    """What grading one submission yields (the fields are listed in the module docstring)."""

    student: str
    assignment: str
    status: str
    reasons: tuple[str, ...] = ()
    score: float = 0.0
    max_score: float = 0.0
    needs_manual_grading: bool = False
    cells: tuple[CellResult, ...] = ()
    autograded: Mapping[str, str] = field(default_factory=dict)
    timestamp: str | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: expected one of {', '.join(STATUSES)}, "
                             f"received {self.status!r}")
        for name in ("reasons", "cells"):
            if not isinstance(getattr(self, name), tuple):
                object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def is_scored(self) -> bool:
        """Whether its scores go into the gradebook (:data:`GRADED` or :data:`FLAGGED`)."""
        return self.status in SCORED

    def replace(self, **changes: Any) -> SubmissionResult:
        """A copy with ``changes`` (the type is frozen)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: exactly the dict ``coursekit.worker.grade_submission`` returns."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["reasons"] = list(self.reasons)
        out["cells"] = [c.to_json() for c in self.cells]
        out["autograded"] = dict(self.autograded)
        return out

    @classmethod
    def from_json(cls, data: Any) -> SubmissionResult:
        """A result from its JSON form (a worker's return value); ``ValueError`` names the
        field that is missing, unexpected or of the wrong type."""
        data = _keys(data, tuple(f.name for f in dataclasses.fields(cls)), "")
        reasons, cells, autograded = data["reasons"], data["cells"], data["autograded"]
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise ValueError(f"reasons: expected a list of strings, received {reasons!r:.200}")
        if not isinstance(cells, list):
            raise ValueError(f"cells: expected a list, received {cells!r:.200}")
        if not isinstance(autograded, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in autograded.items()):
            raise ValueError("autograded: expected a dict of notebook name -> notebook text, "
                             f"received {autograded!r:.200}")
        if not isinstance(data["needs_manual_grading"], bool):
            raise ValueError("needs_manual_grading: expected true or false, received "
                             f"{data['needs_manual_grading']!r}")
        return cls(student=_str(data, "student", ""), assignment=_str(data, "assignment", ""),
                   status=_choice(data, "status", "", STATUSES), reasons=tuple(reasons),
                   score=_number(data, "score", ""), max_score=_number(data, "max_score", ""),
                   needs_manual_grading=data["needs_manual_grading"],
                   cells=tuple(CellResult.from_json(c, f"cells[{i}].")
                               for i, c in enumerate(cells)),
                   autograded=dict(autograded),
                   timestamp=_str(data, "timestamp", "", optional=True),
                   seconds=_number(data, "seconds", ""))


@dataclass(frozen=True)
class Record:
    """What the gradebook writer keeps of a result (``grading/<assignment>/<student>.json``):
    the result without its graded notebooks, and the sha256 of the files it was graded from
    (``coursekit.gradebook.submission_hash``), so a resubmission is graded again."""

    result: SubmissionResult
    submission_sha256: str

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json()
        del out["autograded"]
        out["submission_sha256"] = self.submission_sha256
        return out

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """A record from its JSON form; ``ValueError`` names the field that is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"record: expected a JSON object (dict), received "
                             f"{type(data).__name__}")
        rest = {k: v for k, v in data.items() if k != "submission_sha256"}
        if "autograded" in rest:
            raise ValueError("autograded: unexpected field (a record holds no notebooks)")
        sha = _str(data, "submission_sha256", "") if "submission_sha256" in data else None
        if sha is None:
            raise ValueError("submission_sha256: missing (expected the submitted files' hash)")
        return cls(SubmissionResult.from_json({**rest, "autograded": {}}), sha)


# ---------------------------------------------------------------------------------------------
# Constructors: every result starts here
# ---------------------------------------------------------------------------------------------
def new(assignment: str, student: str, timestamp: str | None = None) -> SubmissionResult:
    """The result of a submission before grading: :data:`FAILED`, no reasons yet, no score."""
    return SubmissionResult(student=student, assignment=assignment, status=FAILED,
                            timestamp=timestamp)


def failed(assignment: str, student: str, reason: str, *, seconds: float = 0.0,
           timestamp: str | None = None) -> SubmissionResult:
    """A submission that could not be graded, and why (no score, no gradebook rows)."""
    if not isinstance(reason, str) or not reason:
        raise ValueError(f"reason: expected a sentence saying why, received {reason!r}")
    return SubmissionResult(student=student, assignment=assignment, status=FAILED,
                            reasons=(reason,), timestamp=timestamp, seconds=float(seconds))


def scored(result: SubmissionResult, cells: list[CellResult] | tuple[CellResult, ...],
           *, flagged: bool = False) -> SubmissionResult:
    """``result`` graded with ``cells``: its status, totals (of the autograded cells) and
    whether a written answer waits for the instructor, all derived from the cells."""
    auto = [c for c in cells if c.kind == AUTOGRADED]
    return result.replace(status=FLAGGED if flagged else GRADED, cells=tuple(cells),
                          score=float(sum(c.auto_score or 0.0 for c in auto)),
                          max_score=float(sum(c.max_score for c in auto)),
                          needs_manual_grading=any(c.kind == MANUAL for c in cells))

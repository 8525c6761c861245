"""Grades back into the LMS: a Canvas gradebook import CSV and a Moodle grade import CSV.

Both are written from the rows of ``grades.csv`` (``coursekit.exports``, one row per student
per assignment handed in, with a ``status``) and a **roster** the instructor keeps,
``<course>/lms_roster.csv``, which maps each course student id (the folder name in
``submitted/``) to the LMS's identities. Its header is a subset of :data:`ROSTER_COLUMNS`, with
``student`` required::

    student,name,canvas_id,sis_user_id,sis_login_id,section,email,idnumber
    doejane,"Doe, Jane",12345,S0012345,jdoe,Section 1,jane.doe@example.edu,20240001

``python -m coursekit.lms roster ASSIGNMENT`` fills it from an LMS download collected with
``coursekit.collect`` (``downloaded/<assignment>/archive/``): Canvas names each file
``<name>_<Canvas user id>_<attachment id>_<file>`` (``_LATE`` after the name when late), which
gives ``student`` and ``canvas_id``; Moodle names each folder ``<Full Name>_<participant
id>_assignsubmission_file_``, which gives ``student`` (the participant id) and ``name``. A
field already filled is never overwritten; the rest (SIS ids, email or ID number) the
instructor copies from the LMS's own gradebook export.

An optional ``<course>/lms_assignments.csv`` (``assignment,canvas_id,canvas_name,moodle_item``)
names each assignment as the LMS knows it; without it the course's assignment name is used
(Canvas then creates a new assignment of that name on import).

**Canvas** (``lms/canvas_grades.csv``): the leading columns of Canvas's gradebook export,
``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment named
``<name> (<Canvas assignment id>)`` as Canvas's export names it, and the export's second row,
``Points Possible``, holding each assignment's maximum score. Canvas matches a row by its
``ID`` or ``SIS User ID``; a roster student without either is not written (and is reported).

- Canvas Instructor Guide, "How do I import grades in the Gradebook?",
  https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
  and "How do I export grades in the Gradebook?" (the import format is the export format);
- The Ohio State University, "Import a CSV File to Carmen Grades",
  https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
  (required columns: Student or ID or SIS User ID, SIS Login ID, Section, then assignments);
- VCU, "Gradebook Action Menu",
  https://ts.vcu.edu/askit/teaching-and-learning/canvas/faculty/grading-faculty/gradebook-action-menu-faculty/
  (read-only columns are ignored on import).

**Moodle** (``lms/moodle_grades.csv``): ``ID number``, ``Email address`` and ``Full name``,
then one column per grade item. On *Import > CSV file*, set *Identify user by* to "ID number"
-> "useridnumber" (or "Email address" -> "useremail", which Moodle compares case-sensitively)
and map each item column to its grade item. A roster student without an ID number or an email
is not written (and is reported).

- MoodleDocs, "Grade import", https://docs.moodle.org/405/en/Grade_import
  (CSV import, column mapping, "Map from" / "Map to").

**Nothing becomes a silent zero.** Only a ``graded`` submission gets a number; a submission
that is ``needs manual grading``, ``flagged for review``, ``failed``, ``not graded yet``, or
``missing`` (a roster student who handed nothing in) gets an empty cell, and is listed with
its reason in ``lms/not_exported.txt`` and on stdout, as are roster students the LMS could not
match and students who handed in but are not on the roster.

Every text cell is neutralised against formula injection (:func:`neutralise`); numbers stay
numbers. ``python -m coursekit.lms export [--course exercises]``; ``make grades`` runs it after
``grades.csv`` when the roster exists.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

from coursekit.assignments import COURSE

ROSTER = "lms_roster.csv"
ASSIGNMENTS = "lms_assignments.csv"
OUT = "lms"
ROSTER_COLUMNS = ("student", "name", "canvas_id", "sis_user_id", "sis_login_id", "section",
                  "email", "idnumber")
ASSIGNMENT_COLUMNS = ("assignment", "canvas_id", "canvas_name", "moodle_item")
CANVAS_LEADING = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS = "    Points Possible"
MOODLE_LEADING = ("ID number", "Email address", "Full name")
#: The one status whose score goes into the LMS.
GRADED = "graded"

#: A cell a spreadsheet would read as a formula starts with one of these (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

#: LMS download names (a zip member or a path inside ``extracted/``).
CANVAS_NAME = re.compile(
    r"^(?P<student>[^_/]+)_(?:[Ll][Aa][Tt][Ee]_)?(?P<canvas_id>\d+)_\d+_[^/]+$")
MOODLE_NAME = re.compile(
    r"^(?P<name>[^/_]+)_(?P<student>\d+)_assignsubmission_[a-z]+_(?:/|[^/]*$)")


def neutralise(value: object) -> object:
    """``value`` safe for a spreadsheet: text starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'``; numbers (``int``, ``float`` or numeric text) are unchanged.

    >>> neutralise("=HYPERLINK(1)"), neutralise("-2.5"), neutralise(3)
    ("'=HYPERLINK(1)", '-2.5', 3)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise TypeError(f"neutralise: value must be str, int or float, received "
                        f"{type(value).__name__} {value!r}")
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _read_table(path: Path, columns: tuple[str, ...], key: str, what: str) -> list[dict]:
    """Rows of a CSV whose header is a subset of ``columns`` holding ``key``; every cell
    stripped, missing columns empty."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        unknown = sorted(set(header) - set(columns))
        if key not in header or unknown:
            raise ValueError(f"{what} {path}: header must hold {key!r} and only columns of "
                             f"{list(columns)}; received {header}")
        rows = [{h.strip(): (v or "").strip() for h, v in row.items() if h} for row in reader]
    out = [dict(dict.fromkeys(columns, ""), **row) for row in rows if row.get(key)]
    dup = sorted(k for k, n in Counter(r[key] for r in out).items() if n > 1)
    if dup:
        raise ValueError(f"{what} {path}: each {key!r} may appear once; received duplicates {dup}")
    return out


def read_roster(path: Path) -> list[dict]:
    """The roster's rows (see the module docstring), one per student id."""
    return _read_table(Path(path), ROSTER_COLUMNS, "student", "roster")


def read_assignments(path: Path | None) -> dict[str, dict]:
    """assignment -> its LMS names (``lms_assignments.csv``); empty when there is no file."""
    if path is None or not Path(path).is_file():
        return {}
    return {r["assignment"]: r for r in _read_table(Path(path), ASSIGNMENT_COLUMNS,
                                                    "assignment", "LMS assignment map")}


def read_grades(path: Path) -> list[dict]:
    """The rows of ``grades.csv`` (``coursekit.exports``)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    needed = {"student", "assignment", "status", "score", "max_score", "reason"}
    if rows and not needed <= set(rows[0]):
        raise ValueError(f"grades {path}: expected the columns {sorted(needed)}, received "
                         f"{sorted(rows[0])}")
    return rows


def _cells(grades: list[dict], roster: list[dict]) -> tuple[list[str], dict, list[dict]]:
    """(assignments, (student, assignment) -> score text or "", rows that are not a grade);
    roster students who handed nothing in become ``missing`` rows."""
    assignments = sorted({r["assignment"] for r in grades})
    seen = {(r["student"], r["assignment"]) for r in grades}
    rows = list(grades) + [
        {"student": s["student"], "assignment": a, "status": "missing", "score": "",
         "max_score": "", "reason": "nothing handed in"}
        for s in roster for a in assignments if (s["student"], a) not in seen]
    cells, not_grades = {}, []
    for row in rows:
        graded = row["status"] == GRADED and _NUMBER.fullmatch(row["score"].lstrip("'"))
        cells[(row["student"], row["assignment"])] = row["score"].lstrip("'") if graded else ""
        if not graded:
            not_grades.append(row)
    return assignments, cells, not_grades


def _points(grades: list[dict], assignment: str) -> str:
    """The maximum score of ``assignment`` most of its graded rows give ("" if none)."""
    found = Counter(r["max_score"].lstrip("'") for r in grades
                    if r["assignment"] == assignment and r["status"] == GRADED and r["max_score"])
    return found.most_common(1)[0][0] if found else ""


def canvas_rows(grades: list[dict], roster: list[dict], names: dict[str, dict]
                ) -> tuple[list[list], list[str]]:
    """(the Canvas CSV as rows, header first; roster students it could not write)."""
    assignments, cells, _ = _cells(grades, roster)
    columns = []
    for a in assignments:
        lms = names.get(a, {})
        title = lms.get("canvas_name") or a
        columns.append(f"{title} ({lms['canvas_id']})" if lms.get("canvas_id") else title)
    table = [list(CANVAS_LEADING) + columns,
             [CANVAS_POINTS, "", "", "", ""] + [_points(grades, a) for a in assignments]]
    skipped = []
    for s in roster:
        if not (s["canvas_id"] or s["sis_user_id"]):
            skipped.append(f"{s['student']}: no canvas_id or sis_user_id in the roster "
                           "(Canvas could not match the row): not in the Canvas file")
            continue
        table.append([s["name"], s["canvas_id"], s["sis_user_id"], s["sis_login_id"],
                      s["section"]] + [cells.get((s["student"], a), "") for a in assignments])
    return table, skipped


def moodle_rows(grades: list[dict], roster: list[dict], names: dict[str, dict]
                ) -> tuple[list[list], list[str]]:
    """(the Moodle CSV as rows, header first; roster students it could not write)."""
    assignments, cells, _ = _cells(grades, roster)
    items = [names.get(a, {}).get("moodle_item") or a for a in assignments]
    table, skipped = [list(MOODLE_LEADING) + items], []
    for s in roster:
        if not (s["idnumber"] or s["email"]):
            skipped.append(f"{s['student']}: no idnumber or email in the roster (Moodle could "
                           "not match the row): not in the Moodle file")
            continue
        table.append([s["idnumber"], s["email"], s["name"]]
                     + [cells.get((s["student"], a), "") for a in assignments])
    return table, skipped


def report_lines(grades: list[dict], roster: list[dict], skipped: list[str]) -> list[str]:
    """What the LMS files do not carry as a grade, one line each."""
    _, _, not_grades = _cells(grades, roster)
    on_roster = {s["student"] for s in roster}
    lines = [f"{r['student']} {r['assignment']}: {r['status']}"
             + (f" ({r['reason']})" if r.get("reason") else "") + ": cell left empty"
             for r in sorted(not_grades, key=lambda r: (r["assignment"], r["student"]))
             if r["student"] in on_roster]
    lines += [f"{s}: handed in but not on the LMS roster: in no LMS file"
              for s in sorted({r["student"] for r in grades} - on_roster)]
    return lines + sorted(set(skipped))


def _write_csv(path: Path, table: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[neutralise(v) for v in row] for row in table])


def write_lms(course: Path, roster_path: Path, grades_path: Path | None = None,
              assignments_path: Path | None = None) -> dict[str, Path | list[str]]:
    """Write ``lms/canvas_grades.csv``, ``lms/moodle_grades.csv`` and ``lms/not_exported.txt``
    under ``course``; return their paths and the report's lines."""
    course = Path(course)
    grades = read_grades(grades_path or course / "grades.csv")
    roster = read_roster(roster_path)
    names = read_assignments(assignments_path or course / ASSIGNMENTS)
    canvas, skipped_c = canvas_rows(grades, roster, names)
    moodle, skipped_m = moodle_rows(grades, roster, names)
    out = {"canvas": course / OUT / "canvas_grades.csv",
           "moodle": course / OUT / "moodle_grades.csv",
           "report": course / OUT / "not_exported.txt"}
    _write_csv(out["canvas"], canvas)
    _write_csv(out["moodle"], moodle)
    lines = report_lines(grades, roster, skipped_c + skipped_m)
    head = ("Not exported as a grade (the LMS cell is empty; nothing counts as zero):"
            if lines else "Every roster student's every assignment is exported as a grade.")
    out["report"].write_text("\n".join([head, *lines]) + "\n", encoding="utf-8")
    return {**out, "lines": lines}


def parse_download_name(name: str) -> dict[str, str] | None:
    """The roster fields an LMS download name gives (see the module docstring), or None.

    >>> parse_download_name("doejane_LATE_12345_678901_ps1_sigmoid_decay.ipynb")
    {'student': 'doejane', 'canvas_id': '12345'}
    >>> parse_download_name("Jane Doe_1234_assignsubmission_file_/ps1_sigmoid_decay.ipynb")
    {'name': 'Jane Doe', 'student': '1234'}
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be str, received {type(name).__name__} {name!r}")
    for pattern in (MOODLE_NAME, CANVAS_NAME):
        found = pattern.match(name)
        if found:
            return found.groupdict()
    return None


def _download_names(course: Path, assignment: str) -> list[str]:
    """Every member name of the zips in ``downloaded/<assignment>/archive/`` and every path
    inside ``downloaded/<assignment>/extracted/`` (without the folder named after a zip)."""
    root = Path(course) / "downloaded" / assignment
    names = []
    for archive in sorted((root / "archive").glob("*.zip")):
        with zipfile.ZipFile(archive) as zf:
            names += [n for n in zf.namelist() if not n.endswith("/")]
    stems = {a.stem for a in (root / "archive").glob("*")}
    for path in sorted((root / "extracted").rglob("*")):
        parts = path.relative_to(root / "extracted").parts
        if path.is_file():
            names.append("/".join(parts[1:] if len(parts) > 1 and parts[0] in stems else parts))
    return names


def fill_roster(course: Path, assignment: str, roster_path: Path) -> tuple[int, int]:
    """Add to ``roster_path`` what the download of ``assignment`` tells about each student
    (never overwriting a filled field); (students added, fields filled)."""
    roster = read_roster(roster_path) if Path(roster_path).is_file() else []
    by_id = {r["student"]: r for r in roster}
    added = filled = 0
    for name in _download_names(course, assignment):
        found = parse_download_name(name)
        if not found:
            continue
        row = by_id.get(found["student"])
        if row is None:
            row = by_id[found["student"]] = dict.fromkeys(ROSTER_COLUMNS, "")
            row["student"] = found["student"]
            added += 1
        for key, value in found.items():
            if not row[key]:
                row[key], filled = value, filled + 1
    table = [list(ROSTER_COLUMNS)] + [[r[c] for c in ROSTER_COLUMNS]
                                       for _, r in sorted(by_id.items())]
    _write_csv(Path(roster_path), table)
    return added, filled


def roster_path(course: Path, given: str | os.PathLike | None = None) -> Path:
    """The roster: ``given``, else ``$LMS_ROSTER``, else ``<course>/lms_roster.csv``."""
    return Path(given or os.environ.get("LMS_ROSTER") or Path(course) / ROSTER)


def after_grades(argv: list[str]) -> int:
    """``make grades``: write the LMS files when the roster exists (else say how to)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--course", type=Path, default=COURSE)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_known_args(argv)[0]
    path = roster_path(args.course)
    if not path.is_file():
        print(f"LMS files: none (no roster at {path}; see `python -m coursekit.lms --help`)")
        return 0
    return _export(args.course, path, args.out)


def _export(course: Path, path: Path, grades: Path | None) -> int:
    out = write_lms(course, path, grades)
    print(f"LMS files: {out['canvas']} (Canvas), {out['moodle']} (Moodle); "
          f"{len(out['lines'])} not exported as a grade, listed in {out['report']}")
    for line in out["lines"]:
        print(f"  {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m coursekit.lms export|roster``."""
    parser = argparse.ArgumentParser(description="Canvas and Moodle grade imports from "
                                     "grades.csv and the LMS roster.")
    parser.add_argument("--course", type=Path, default=COURSE)
    parser.add_argument("--roster", default=None, help=f"default: $LMS_ROSTER or <course>/{ROSTER}")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write lms/canvas_grades.csv, lms/moodle_grades.csv")
    export.add_argument("--grades", type=Path, default=None, help="default: <course>/grades.csv")
    fill = sub.add_parser("roster", help="fill the roster from an LMS download of ASSIGNMENT")
    fill.add_argument("assignment")
    args = parser.parse_args(argv)
    path = roster_path(args.course, args.roster)
    if args.command == "roster":
        added, filled = fill_roster(args.course, args.assignment, path)
        print(f"Roster {path}: {added} students added, {filled} fields filled from "
              f"{args.course}/downloaded/{args.assignment}/")
        return 0
    if not path.is_file():
        print(f"ERROR: no LMS roster at {path}", file=sys.stderr)
        return 1
    return _export(args.course, path, args.grades)


if __name__ == "__main__":
    raise SystemExit(main())

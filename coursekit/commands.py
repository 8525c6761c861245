"""The instructor commands (``python -m coursekit COMMAND``; the Makefile's targets call them).

Each runs the real nbgrader command line in the course folder (``exercises/`` by default, with
its ``nbgrader_config.py``), once per assignment (``discover_assignments``),
prints what it does and returns the exit status.
"""

from __future__ import annotations

import json
from pathlib import Path

from .assignments import COURSE, discover_assignments
from .nbgrader_cli import run_nbgrader


def _assignments(course: Path) -> list[str]:
    return [a.name for a in discover_assignments(course / "source", mutant_root=None)]


def _nbgrader(course: Path, *args: str) -> int:
    print(f"== nbgrader {' '.join(args)}", flush=True)
    return run_nbgrader(list(args), course, limit_s=None, capture=False).returncode


def invalid_submissions(course: Path) -> list[str]:
    """One line per submitted notebook that is not valid JSON (nbgrader cannot grade it)."""
    lines = []
    for path in sorted(course.glob("submitted/*/*/*.ipynb")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            lines.append(f"NOT A VALID NOTEBOOK (cannot be graded): {path}: {err}")
    return lines


def release(course: Path = COURSE) -> int:
    """``nbgrader generate_assignment NAME --force`` for every assignment; stops at a failure."""
    names = _assignments(course)
    if not names:
        print(f"No assignment in {course / 'source'}/")
        return 1
    for name in names:
        if _nbgrader(course, "generate_assignment", name, "--force") != 0:
            return 1
    print(f"Student versions: {course / 'release'}/<assignment>/ "
          f"(assignments recorded in {course / 'gradebook.db'})")
    return 0


def autograde(course: Path = COURSE) -> int:
    """``nbgrader autograde NAME --create`` for every assignment with submissions.

    A notebook that is not valid JSON is listed first; nbgrader then logs it by student, grades
    everyone else and exits 1, and so does this command.
    """
    if not any(p.is_dir() for p in course.glob("submitted/*/*")):
        print(f"No submissions: put them in "
              f"{course / 'submitted'}/<student>/<assignment>/<assignment>.ipynb")
        return 1
    for line in invalid_submissions(course):
        print(line)
    status = 0
    for name in _assignments(course):
        if not any(course.glob(f"submitted/*/{name}")):
            continue
        print(f"== nbgrader autograde {name} (every student in {course / 'submitted'}/)",
              flush=True)
        if run_nbgrader(["autograde", name, "--create"], course, limit_s=None,
                        capture=False).returncode != 0:
            status = 1
    if status:
        print("Some submissions could not be graded (named above, see the ERROR lines); "
              "every other one was graded.")
    return status


def feedback(course: Path = COURSE) -> int:
    """``nbgrader generate_feedback NAME --force`` for every autograded assignment."""
    for name in _assignments(course):
        if not any(course.glob(f"autograded/*/{name}")):
            continue
        if _nbgrader(course, "generate_feedback", name, "--force") != 0:
            return 1
    print(f"Feedback: {course / 'feedback'}/<student>/<assignment>/<assignment>.html")
    return 0


def grades(course: Path = COURSE) -> int:
    """``nbgrader export --to grades.csv``: one row per student per assignment."""
    status = _nbgrader(course, "export", "--to", "grades.csv")
    if status == 0:
        print(f"Grades: {course / 'grades.csv'} (one row per student per assignment)")
    return status


#: command name -> function(course) -> exit status.
COMMANDS = {"release": release, "autograde": autograde, "feedback": feedback, "grades": grades}

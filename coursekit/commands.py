"""The instructor commands (``python -m coursekit COMMAND``; the Makefile's targets call them).

Each works on the course folder (``exercises/`` by default, with its ``nbgrader_config.py``),
prints what it does and returns the exit status: ``release`` runs the real ``nbgrader
generate_assignment`` once per assignment (``discover_assignments``); ``autograde`` is the
sandboxed, parallel batch (``coursekit.batch``), which calls nbgrader's Python API in its
workers; ``feedback``, ``grades`` and ``collect`` are ``coursekit.feedback``,
``coursekit.exports`` and ``coursekit.collect``.
"""

from __future__ import annotations

import argparse
import json
import os
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
    """``nbgrader generate_assignment NAME --force`` for every assignment, then the reference
    run of its solution (the expected values the grader judges by, kept in ``expected/``, never
    in ``release/``); stops at a failure. The reference run (the instructor's own code) is
    sandboxed where the sandbox runs, unless ``SANDBOX=off``."""
    from coursekit.judge import ReferenceRunError
    from coursekit.sandbox import sandbox_available
    from coursekit.worker import record_expected

    names = _assignments(course)
    if not names:
        print(f"No assignment in {course / 'source'}/")
        return 1
    sandbox = os.environ.get("SANDBOX", "") != "off" and sandbox_available()[0]
    for name in names:
        if _nbgrader(course, "generate_assignment", name, "--force") != 0:
            return 1
        try:
            record_expected(course, name, sandbox=sandbox)
        except ReferenceRunError as err:
            print(f"{name}: {err}")
            return 1
    print(f"Student versions: {course / 'release'}/<assignment>/ "
          f"(assignments recorded in {course / 'gradebook.db'}; expected values of the tests "
          f"in {course / 'expected'}/)")
    return 0


def autograde(argv: list[str]) -> int:
    """Grade every submission, concurrently, each in its own sandbox (``coursekit.batch``).

    A notebook that is not valid JSON is listed first; it is graded ``failed`` with that
    reason and everyone else is graded.
    """
    from . import batch

    course = _course_of(argv)
    for line in invalid_submissions(course):
        print(line)
    return batch.main(argv)


def feedback(argv: list[str]) -> int:
    """Feedback HTML for every graded submission, without the hidden tests' source.

    ``feedback/<student>/<assignment>/<assignment>.html`` goes back to the student;
    ``feedback/instructor/...`` adds the reasons a submission was flagged for review.
    """
    from . import gradebook
    from .feedback import write_feedback

    course = _course_of(argv)
    records = sorted((course / gradebook.RECORDS).glob("*/*.json"))
    written = 0
    for path in records:
        result = json.loads(path.read_text(encoding="utf-8"))
        if result["status"] not in ("graded", "flagged"):
            continue
        folder = course / "autograded" / result["student"] / result["assignment"]
        result["autograded"] = {nb.name: nb.read_text(encoding="utf-8")
                                for nb in sorted(folder.glob("*.ipynb"))}
        sub = Path(result["student"]) / result["assignment"]
        write_feedback(result, course / "feedback" / sub)
        write_feedback(result, course / "feedback" / "instructor" / sub, instructor=True)
        written += 1
    if not written:
        print(f"No graded submission in {course / gradebook.RECORDS}/: run `make autograde` first")
        return 1
    print(f"Feedback: {course / 'feedback'}/<student>/<assignment>/<assignment>.html "
          f"({written} submissions; the instructor's copies in feedback/instructor/)")
    return 0


def grades(argv: list[str]) -> int:
    """The grades CSV: one row per student per assignment handed in (``coursekit.exports``)."""
    from . import exports

    return exports.main(argv)


def collect(argv: list[str]) -> int:
    """Collect an LMS download into ``submitted/`` (``coursekit.collect``)."""
    from . import collect as lms

    return lms.main(argv)


def _course_of(argv: list[str]) -> Path:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--course", type=Path, default=COURSE)
    return parser.parse_known_args(argv)[0].course.resolve()


def _release(argv: list[str]) -> int:
    """``nbgrader generate_assignment`` for every assignment (the student versions)."""
    return release(_course_of(argv))


#: command name -> function(argv) -> exit status.
COMMANDS = {"release": _release, "autograde": autograde, "feedback": feedback, "grades": grades,
            "collect": collect}

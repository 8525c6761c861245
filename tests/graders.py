"""Harness that grades the graders: builds a throw-away nbgrader course per assignment.

For one assignment it copies ``exercises/nbgrader_config.py`` (only the looping cell of the
infinite-loop case gets a short timeout) and the assignment's source folder into a temporary
course, runs ``nbgrader generate_assignment`` once, writes every test submission (the cases of
``harness.CASES`` and each mutant of the assignment's bank) into
``submitted/<student>/<assignment>/``, grades them with plain ``nbgrader autograde`` and reads
the per-cell scores from the gradebook. The class is split into :data:`SHARDS` copies of the
released course (same config, release and gradebook, a share of the submissions each), graded by
that many ``nbgrader autograde`` processes at once: plain nbgrader on every submission, the
machine's cores in use. The machinery is ``coursekit``; this file holds what only the tests
need.

Authors: ``.venv/bin/python -m tests.graders ps1_sigmoid_decay`` (from the repository's root)
prints every case's scores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from coursekit.assignments import Assignment, discover_assignments
from coursekit.cells import grade_id, is_test, points, read_notebook
from coursekit.nbgrader_run import run_nbgrader
from harness import (
    FIXTURE_MUTANT_ROOT,
    FIXTURE_SOURCE_ROOT,
    build_submissions,
    gradebook_scores,
    load_mutants,
    make_course,
    mutant_bank_problems,
    write_submission,
)

#: Concurrent ``nbgrader autograde`` processes per assignment (``VGCOURSE_TEST_SHARDS``, default
#: the CPU count).
SHARDS = int(os.environ.get("VGCOURSE_TEST_SHARDS") or 0) or os.cpu_count() or 1
#: assignment -> seconds of each step, filled by grade_assignment (printed by conftest.py).
TIMINGS: dict[str, dict[str, float]] = {}


def assignments_under_test() -> list[Assignment]:
    """The fixture assignment, then every assignment of ``exercises/source/``."""
    return discover_assignments(FIXTURE_SOURCE_ROOT, FIXTURE_MUTANT_ROOT) + discover_assignments()


@dataclass
class GradedCourse:
    """Everything one autograde batch produced for one assignment."""

    assignment: Assignment
    course: Path
    source: nbformat.NotebookNode
    mutants: list[dict]
    generate: subprocess.CompletedProcess
    release: nbformat.NotebookNode | None = None
    submissions: dict[str, Any] = field(default_factory=dict)
    autograde: subprocess.CompletedProcess | None = None
    scores: dict[str, dict[str, tuple[float | None, float]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def test_cells(self) -> dict[str, float]:
        """grade_id -> points of every autograded test cell."""
        return {grade_id(c): points(c) for c in self.source.cells if is_test(c)}

    def autograded(self, student: str) -> tuple[float, float]:
        """(autograded score, autograded maximum) of a student, test cells only."""
        cells = self.scores[student]
        got = sum((cells[g][0] or 0.0) for g in self.test_cells if g in cells)
        return got, sum(self.test_cells.values())

    def autograded_notebook(self, student: str) -> nbformat.NotebookNode:
        path = (self.course / "autograded" / student / self.assignment.name
                / self.assignment.notebook.name)
        return read_notebook(path)

    def log(self) -> str:
        parts = [self.generate.stdout, self.generate.stderr]
        if self.autograde is not None:
            parts += [self.autograde.stdout, self.autograde.stderr]
        return "\n".join(parts)


def grade_assignment(assignment: Assignment, root: Path) -> GradedCourse:
    """Build the temporary course, release, submit every case, autograde once, read scores."""
    try:
        mutants = load_mutants(assignment.mutant_bank)
    except FileNotFoundError:
        mutants = []  # reported by the mutant-bank test; the rest is still checked
    mutants = [m for m in mutants if isinstance(m.get("name"), str) and m.get("cell")]
    course = make_course(root, assignment)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    generate = run_nbgrader(["generate_assignment", assignment.name, "--force"], course)
    seconds["generate_assignment"] = time.perf_counter() - t0
    g = GradedCourse(assignment=assignment, course=course, mutants=mutants, generate=generate,
                     source=read_notebook(assignment.notebook), seconds=seconds)
    release_path = course / "release" / assignment.name / assignment.notebook.name
    if generate.returncode != 0 or not release_path.exists():
        return g
    g.release = read_notebook(release_path)

    g.submissions = build_submissions(g.source, g.release, mutants)
    for student, content in g.submissions.items():
        write_submission(course, student, assignment.name, assignment.notebook.name, content,
                         data_from=assignment.source_dir)

    t0 = time.perf_counter()
    g.autograde, g.scores = autograde_in_shards(course, assignment.name, sorted(g.submissions),
                                                root / "shards")
    seconds["autograde"] = time.perf_counter() - t0
    seconds["submissions"] = len(g.submissions)
    TIMINGS[assignment.name] = seconds
    return g


def autograde_in_shards(course: Path, assignment: str, students: list[str], root: Path,
                        shards: int = SHARDS
                        ) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    """Plain ``nbgrader autograde ASSIGNMENT --create --force`` of every student, run in
    ``shards`` copies of the released ``course`` at once (student i in copy i mod shards).
    Returns the runs' outcome as one process (the worst return code, the logs joined) and every
    student's scores; the graded notebooks are gathered in ``course/autograded/``."""
    copies = []
    for k in range(max(1, min(shards, len(students)))):
        copy = root / f"shard{k}"
        shutil.copytree(course, copy, ignore=shutil.ignore_patterns("submitted"))
        for student in students[k::shards]:
            shutil.copytree(course / "submitted" / student / assignment,
                            copy / "submitted" / student / assignment)
        copies.append(copy)
    args = ["autograde", assignment, "--create", "--force"]
    with ThreadPoolExecutor(len(copies)) as pool:
        runs = list(pool.map(lambda copy: run_nbgrader(args, copy), copies))
    scores: dict[str, dict] = {}
    for copy in copies:
        scores.update(gradebook_scores(f"sqlite:///{copy / 'gradebook.db'}", assignment))
        if (copy / "autograded").is_dir():
            shutil.copytree(copy / "autograded", course / "autograded", dirs_exist_ok=True)
    run = subprocess.CompletedProcess(
        runs[0].args, max(r.returncode for r in runs),
        "\n".join(r.stdout for r in runs), "\n".join(r.stderr for r in runs))
    return run, scores


def _score_line(g: GradedCourse, student: str, fails: dict[str, set[str]]) -> str:
    if student not in g.scores:
        return f"{student:40s} NOT GRADED"
    got, total = g.autograded(student)
    cells = ", ".join(
        f"{gid}={'-' if auto is None else f'{auto:g}'}/{mx:g}"
        + ("!" if gid in fails.get(student, ()) and auto is not None and auto >= mx else "")
        for gid, (auto, mx) in sorted(g.scores[student].items())
    )
    return f"{student:40s} {got:g}/{total:g}  {cells}"


def main(argv: list[str] | None = None) -> int:
    """``python tests/graders.py ASSIGNMENT``: grade one assignment with every test case and print
    each student's per-cell scores (what tests/test_autograder.py asserts on), for authors."""
    import argparse
    import tempfile

    known = {a.name: a for a in assignments_under_test()}
    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("assignment", choices=sorted(known))
    assignment = known[parser.parse_args(argv).assignment]
    for problem in mutant_bank_problems(assignment):
        print(f"mutant bank: {problem}")
    with tempfile.TemporaryDirectory(prefix=f"grade_{assignment.name}_") as tmp:
        g = grade_assignment(assignment, Path(tmp))
        if g.release is None:
            print(g.log()[-6000:])
            return 1
        fails = {f"mutant_{m['name']}": set(m.get("fails", [])) for m in g.mutants}
        for student in sorted(g.submissions):
            print(_score_line(g, student, fails))
        print(f"seconds: {g.seconds}  ('!' marks a cell a mutant should have failed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

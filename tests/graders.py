"""Harness that grades the graders: builds a throw-away nbgrader course per assignment.

For one assignment it copies ``exercises/nbgrader_config.py`` (only the looping cell of the
infinite-loop case gets a short timeout) and the assignment's source folder into a temporary
course, runs ``nbgrader generate_assignment`` once, writes every test submission (full
solution, blank release, each mutant of the assignment's mutant bank, the broken cases) into
``submitted/<student>/<assignment>/``, runs ONE ``nbgrader autograde`` for all of them and
reads the per-cell scores from the gradebook.

The formats it relies on (answer, test and written cells; mutant banks) are in CONTRIBUTING.md.
Authors: ``.venv/bin/python tests/graders.py ps1_sigmoid_decay`` prints every case's scores.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[1]
COURSE_CONFIG = REPO / "exercises" / "nbgrader_config.py"
SOURCE_ROOT = REPO / "exercises" / "source"
MUTANT_ROOT = REPO / "tests" / "mutants"
FIXTURE_SOURCE_ROOT = REPO / "tests" / "fixtures" / "course" / "source"
FIXTURE_MUTANT_ROOT = REPO / "tests" / "fixtures" / "mutants"

#: Cell timeout of the looping cell in the test course: short, so the infinite-loop case costs
#: little. Every other cell keeps the course's own ``Execute.timeout`` (a loaded CI machine
#: can take over 15 s to ``import torch``).
TEST_CELL_TIMEOUT_S = 10
LOOP_MARKER = "# a forgotten infinite loop"
#: assignment -> seconds of each step, filled by grade_assignment (printed by conftest.py).
TIMINGS: dict[str, dict[str, float]] = {}
#: Wall-clock limit of one nbgrader command.
NBGRADER_CALL_LIMIT_S = 1200

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MISSING_CELL_NOTE = "was missing from the submission"

# The broken submissions every assignment is graded with (student ids).
SOURCE = "source_notebook"  # the instructor's source notebook, submitted as it is
SOLUTION = "solution"  # the release with every answer cell filled from the source
SOLUTION_AGAIN = "solution_again"  # the same file again: grading must be deterministic
BLANK = "blank_release"  # the release, unchanged
RAISES = "broken_raises"  # solution plus a scratch cell that raises
LOOP = "broken_infinite_loop"  # solution whose first answer cell ends in `while True: pass`
EDITED = "broken_edited_tests"  # blank release whose test cells were replaced by `pass`
DELETED_ONE = "broken_deleted_test"  # solution with its first test cell deleted
DELETED_ALL = "broken_deleted_all_tests"  # blank release with every test cell deleted
INVALID = "broken_invalid_json"  # a truncated .ipynb file


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment: its source folder, notebook and mutant bank."""

    name: str
    source_dir: Path
    mutant_bank: Path

    @property
    def notebook(self) -> Path:
        own = self.source_dir / f"{self.name}.ipynb"
        if own.exists():
            return own
        found = sorted(self.source_dir.glob("*.ipynb"))
        if len(found) != 1:
            raise FileNotFoundError(
                f"assignment {self.name}: expected {own.relative_to(REPO)} "
                f"(one notebook per assignment), found {[p.name for p in found]}"
            )
        return found[0]

    def __str__(self) -> str:
        return self.name


def discover_assignments() -> list[Assignment]:
    """The fixture assignment plus every folder in ``exercises/source/`` holding a notebook."""
    found = [
        Assignment(d.name, d, FIXTURE_MUTANT_ROOT / f"{d.name}.py")
        for d in sorted(FIXTURE_SOURCE_ROOT.iterdir())
        if d.is_dir()
    ]
    if SOURCE_ROOT.is_dir():
        found += [
            Assignment(d.name, d, MUTANT_ROOT / f"{d.name}.py")
            for d in sorted(SOURCE_ROOT.iterdir())
            if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.ipynb"))
        ]
    return found


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------
def nbmeta(cell: Any) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: Any) -> str | None:
    return nbmeta(cell).get("grade_id")


def is_answer(cell: Any) -> bool:
    """An autograded answer cell: code, solution, not itself graded."""
    m = nbmeta(cell)
    return cell.cell_type == "code" and bool(m.get("solution")) and not m.get("grade")


def is_test(cell: Any) -> bool:
    """An autograded test cell: code, graded, not a solution."""
    m = nbmeta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


def is_written(cell: Any) -> bool:
    """A manually graded written answer: markdown, graded and a solution."""
    m = nbmeta(cell)
    return cell.cell_type == "markdown" and bool(m.get("grade")) and bool(m.get("solution"))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def strip_solution_markers(source: str) -> str:
    """The answer a student who got everything right would submit."""
    lines = [ln for ln in source.splitlines() if ln.strip() not in SOLUTION_MARKERS]
    return "\n".join(lines)


def _hidden_and_shown(source: str) -> tuple[list[str], list[str]]:
    """(lines inside a solution or hidden-test block, lines outside both), stripped."""
    hidden, shown, depth = [], [], 0
    for raw in source.splitlines():
        line = raw.strip()
        if line in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
            depth += 1
        elif line in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1]):
            depth = max(depth - 1, 0)
        elif line:
            (hidden if depth else shown).append(line)
    return hidden, shown


def secret_lines(source_nb: nbformat.NotebookNode) -> dict[str, set[str]]:
    """Per grade_id, the lines of solutions, hidden tests and model answers that the student is
    shown nowhere else in the source notebook (so no release line may equal one of them).

    A line that also stands outside every hidden block (a visible test's ``)``, a ``with
    torch.no_grad():`` the student sees anyway) is public, not secret.
    """
    public: set[str] = set()
    secret: dict[str, set[str]] = {}
    for cell in source_nb.cells:
        if is_written(cell):
            secret[grade_id(cell)] = {ln.strip() for ln in cell.source.splitlines() if ln.strip()}
            continue
        hidden, shown = _hidden_and_shown(cell.source)
        public.update(shown)
        if hidden:
            secret[grade_id(cell) or f"cell {cell.get('id')}"] = set(hidden)
    return {k: v - public for k, v in secret.items()}


def release_leaks(source_nb: nbformat.NotebookNode, release_nb: nbformat.NotebookNode
                  ) -> dict[str, list[str]]:
    """Per grade_id, the secret lines (see :func:`secret_lines`) that a release line equals."""
    shown = {ln.strip() for cell in release_nb.cells for ln in cell.source.splitlines()}
    leaks = {gid: sorted(lines & shown) for gid, lines in secret_lines(source_nb).items()}
    return {gid: lines for gid, lines in leaks.items() if lines}


# ---------------------------------------------------------------------------------------------
# Mutant banks
# ---------------------------------------------------------------------------------------------
def load_mutants(bank: Path) -> list[dict]:
    """``MUTANTS`` of a mutant bank file, each with its ``source`` dedented and stripped."""
    if not bank.exists():
        raise FileNotFoundError(
            f"no mutant bank: {bank.relative_to(REPO)} is missing (format: CONTRIBUTING.md)"
        )
    spec = importlib.util.spec_from_file_location(f"mutants_{bank.stem}", bank)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutants = getattr(module, "MUTANTS", None)
    if not isinstance(mutants, list):
        raise TypeError(f"{bank.relative_to(REPO)}: MUTANTS must be a list of dicts")
    out = []
    for m in mutants:
        m = dict(m)
        if "source" in m:
            m["source"] = textwrap.dedent(m["source"]).strip()
        out.append(m)
    return out


def apply_mutant(mutant: dict, solution: str) -> str:
    """The answer cell a mutant makes from the solution cell's source (markers stripped).

    A mutant either names its edits, ``"replace": [(old, new), ...]``, applied in order, each
    ``old`` required to occur exactly once in the cell as it stands; or, for a real rewrite,
    gives the whole cell as ``"source"``.
    """
    if "source" in mutant:
        if "replace" in mutant:
            raise ValueError(f"mutant {mutant.get('name')!r}: give 'replace' or 'source', not both")
        return mutant["source"]
    edits = mutant.get("replace")
    if not isinstance(edits, list | tuple) or not edits:
        raise ValueError(
            f"mutant {mutant.get('name')!r}: 'replace' must be a non-empty list of (old, new) "
            f"pairs, got {edits!r}"
        )
    text = solution
    for old, new in edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(
                f"mutant {mutant.get('name')!r}: the text to replace {old!r} occurs {count} times "
                f"in cell {mutant.get('cell')!r} (expected exactly once)"
            )
        text = text.replace(old, new)
    if text == solution:
        raise ValueError(f"mutant {mutant.get('name')!r}: its edits leave the solution unchanged")
    return text


def mutant_bank_problems(assignment: Assignment) -> list[str]:
    """Everything wrong with an assignment's mutant bank (empty when it is valid)."""
    try:
        mutants = load_mutants(assignment.mutant_bank)
    except Exception as err:  # noqa: BLE001 (reported as a test failure)
        return [f"{type(err).__name__}: {err}"]
    nb = read_notebook(assignment.notebook)
    answers = [grade_id(c) for c in nb.cells if is_answer(c)]
    solution_sources = {
        grade_id(c): strip_solution_markers(c.source) for c in nb.cells if is_answer(c)
    }
    tests = {grade_id(c) for c in nb.cells if is_test(c)}
    problems = []
    names = [m.get("name") for m in mutants]
    for m in mutants:
        name = m.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
            problems.append(f"mutant name {name!r} is not [a-z0-9_]+")
        if names.count(name) > 1:
            problems.append(f"mutant name {name!r} is used more than once")
        if m.get("cell") not in answers:
            problems.append(
                f"mutant {name!r}: cell {m.get('cell')!r} is not an answer cell {answers}"
            )
        fails = m.get("fails")
        if not isinstance(fails, list) or not fails:
            problems.append(f"mutant {name!r}: 'fails' must list at least one test cell")
        else:
            problems += [
                f"mutant {name!r}: {f!r} in 'fails' is not a test cell {sorted(tests)}"
                for f in fails
                if f not in tests
            ]
        if m.get("cell") in answers:
            try:
                if not apply_mutant(m, solution_sources[m["cell"]]).strip():
                    problems.append(f"mutant {name!r}: empty source")
            except ValueError as err:
                problems.append(str(err))
    for answer in answers:
        n = sum(m.get("cell") == answer for m in mutants)
        if n < 2:
            problems.append(f"answer cell {answer!r} has {n} mutant(s); at least 2 are required")
    return sorted(set(problems), key=problems.index)


# ---------------------------------------------------------------------------------------------
# Building submissions
# ---------------------------------------------------------------------------------------------
def solved(release: nbformat.NotebookNode, source: nbformat.NotebookNode,
           replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The release with every answer and written cell filled from the source notebook, except
    the cells in ``replace`` (grade_id -> new source)."""
    replace = replace or {}
    by_id = {grade_id(c): c for c in source.cells if grade_id(c)}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in replace:
            cell.source = replace[gid]
        elif gid and (is_answer(cell) or is_written(cell)):
            cell.source = strip_solution_markers(by_id[gid].source)
    return nb


def scratch_cell(source: str) -> nbformat.NotebookNode:
    """A code cell a student added (no nbgrader metadata)."""
    return nbformat.v4.new_code_cell(source)


def build_submissions(source: nbformat.NotebookNode, release: nbformat.NotebookNode,
                      mutants: list[dict]) -> dict[str, nbformat.NotebookNode | str]:
    """Student id -> notebook (or raw file text) for every case the tests check."""
    subs: dict[str, nbformat.NotebookNode | str] = {}
    full = solved(release, source)
    subs[SOURCE] = copy.deepcopy(source)
    subs[SOLUTION] = full
    subs[SOLUTION_AGAIN] = copy.deepcopy(full)
    subs[BLANK] = copy.deepcopy(release)

    solutions = {
        grade_id(c): strip_solution_markers(c.source) for c in source.cells if is_answer(c)
    }
    for m in mutants:
        subs[f"mutant_{m['name']}"] = solved(
            release, source, {m["cell"]: apply_mutant(m, solutions[m["cell"]])}
        )

    raises = copy.deepcopy(full)
    first_answer = next(i for i, c in enumerate(raises.cells) if is_answer(c))
    raises.cells.insert(
        first_answer, scratch_cell('raise RuntimeError("a scratch cell the student left broken")')
    )
    subs[RAISES] = raises

    loop = copy.deepcopy(full)
    cell = next(c for c in loop.cells if is_answer(c))
    cell.source = cell.source + f"\n\nwhile True:  {LOOP_MARKER}\n    pass\n"
    subs[LOOP] = loop

    edited = copy.deepcopy(release)
    for cell in edited.cells:
        if is_test(cell):
            cell.source = '"""Edited by the student."""\npass\n'
    subs[EDITED] = edited

    deleted_one = copy.deepcopy(full)
    first_test = next(i for i, c in enumerate(deleted_one.cells) if is_test(c))
    del deleted_one.cells[first_test]
    subs[DELETED_ONE] = deleted_one

    deleted_all = copy.deepcopy(release)
    deleted_all.cells = [c for c in deleted_all.cells if not is_test(c)]
    subs[DELETED_ALL] = deleted_all

    text = nbformat.writes(full)
    subs[INVALID] = text[: len(text) // 2]  # cut mid-way: not valid JSON
    return subs


# ---------------------------------------------------------------------------------------------
# Running nbgrader
# ---------------------------------------------------------------------------------------------
def nbgrader(args: list[str], course: Path, limit_s: int = NBGRADER_CALL_LIMIT_S
             ) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in the course folder (the .venv's nbgrader)."""
    # nbgrader runs `alembic` from PATH when it opens the gradebook: put the venv's bin first.
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PYTHONHASHSEED="0",
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course, env=env, capture_output=True, text=True, timeout=limit_s,
    )


def make_course(root: Path, assignment: Assignment, *,
                loop_timeout_s: int | None = TEST_CELL_TIMEOUT_S) -> Path:
    """A temporary course: the course's nbgrader_config.py and a copy of the assignment's source
    folder. With ``loop_timeout_s``, the cell of the infinite-loop case (and only it) times out
    after that many seconds (``Execute.timeout_func``); the others keep ``Execute.timeout``."""
    course = root / "course"
    (course / "source").mkdir(parents=True)
    config = COURSE_CONFIG.read_text()
    if loop_timeout_s is not None:
        config += (
            "\n# Test course: the infinite-loop case's cell times out quickly.\n"
            f"_course_timeout = c.Execute.timeout\n"
            f"c.Execute.timeout_func = lambda cell: ({int(loop_timeout_s)} if {LOOP_MARKER!r} "
            "in cell.get('source', '') else _course_timeout)\n"
        )
    (course / "nbgrader_config.py").write_text(config)
    shutil.copytree(assignment.source_dir, course / "source" / assignment.name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return course


def write_submission(course: Path, student: str, assignment: str, notebook_name: str,
                     content: nbformat.NotebookNode | str, data_from: Path | None = None) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    if data_from is not None:  # data files the notebook needs sit beside it
        for f in data_from.iterdir():
            if f.is_file() and f.suffix != ".ipynb":
                shutil.copy2(f, folder / f.name)
    path = folder / notebook_name
    if isinstance(content, str):
        path.write_text(content)
    else:
        nbformat.write(content, str(path))


def read_scores(course: Path, assignment: str) -> dict[str, dict[str, tuple[float | None, float]]]:
    """student -> {grade_id: (auto_score, max_score)} from the gradebook, for every submission
    of ``assignment``."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, tuple[float | None, float]]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            cells: dict[str, tuple[float | None, float]] = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[g.name] = (g.auto_score, float(g.max_score))
            out[sub.student.id] = cells
    return out


@dataclass
class GradedCourse:
    """Everything one autograde batch produced for one assignment."""

    assignment: Assignment
    course: Path
    source: nbformat.NotebookNode
    release: nbformat.NotebookNode | None
    mutants: list[dict]
    submissions: dict[str, Any]
    generate: subprocess.CompletedProcess
    autograde: subprocess.CompletedProcess | None
    scores: dict[str, dict[str, tuple[float | None, float]]]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def test_cells(self) -> dict[str, float]:
        """grade_id -> points of every autograded test cell."""
        return {grade_id(c): float(nbmeta(c)["points"]) for c in self.source.cells if is_test(c)}

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
    source = read_notebook(assignment.notebook)
    try:
        mutants = load_mutants(assignment.mutant_bank)
    except FileNotFoundError:
        mutants = []  # reported by the mutant-bank test; the rest is still checked
    mutants = [m for m in mutants if isinstance(m.get("name"), str) and m.get("cell")]
    course = make_course(root, assignment)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    generate = nbgrader(["generate_assignment", assignment.name, "--force"], course)
    seconds["generate_assignment"] = time.perf_counter() - t0
    release_path = course / "release" / assignment.name / assignment.notebook.name
    if generate.returncode != 0 or not release_path.exists():
        return GradedCourse(assignment, course, source, None, mutants, {}, generate, None, {},
                            seconds)
    release = read_notebook(release_path)

    submissions = build_submissions(source, release, mutants)
    for student, content in submissions.items():
        write_submission(course, student, assignment.name, assignment.notebook.name, content,
                         data_from=assignment.source_dir)

    t0 = time.perf_counter()
    autograde = nbgrader(["autograde", assignment.name, "--create", "--force"], course)
    seconds["autograde"] = time.perf_counter() - t0
    seconds["submissions"] = len(submissions)
    scores = read_scores(course, assignment.name)
    TIMINGS[assignment.name] = seconds
    return GradedCourse(assignment, course, source, release, mutants, submissions, generate,
                        autograde, scores, seconds)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)


def main(argv: list[str] | None = None) -> int:
    """``python tests/graders.py ASSIGNMENT``: grade one assignment with every test case and print
    each student's per-cell scores (what tests/test_autograder.py asserts on), for authors."""
    import argparse
    import tempfile

    names = [a.name for a in discover_assignments()]
    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("assignment", choices=names)
    args = parser.parse_args(argv)
    assignment = next(a for a in discover_assignments() if a.name == args.assignment)
    for problem in mutant_bank_problems(assignment):
        print(f"mutant bank: {problem}")
    with tempfile.TemporaryDirectory(prefix=f"grade_{assignment.name}_") as tmp:
        g = grade_assignment(assignment, Path(tmp))
        if g.release is None:
            print(g.log()[-6000:])
            return 1
        fails = {f"mutant_{m['name']}": set(m.get("fails", [])) for m in g.mutants}
        for student in sorted(g.submissions):
            if student not in g.scores:
                print(f"{student:40s} NOT GRADED")
                continue
            got, total = g.autograded(student)
            cells = ", ".join(
                f"{gid}={'-' if auto is None else f'{auto:g}'}/{mx:g}"
                + ("!" if gid in fails.get(student, ()) and auto is not None and auto >= mx
                   else "")
                for gid, (auto, mx) in sorted(g.scores[student].items())
            )
            print(f"{student:40s} {got:g}/{total:g}  {cells}")
        print(f"seconds: {g.seconds}  ('!' marks a cell a mutant should have failed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

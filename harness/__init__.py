"""The test-and-benchmark harness of the grader (as ``numpy.testing`` is NumPy's).

A top-level package of the repository that nothing installs (neither ``pyproject.toml`` nor
``coursekit/pyproject.toml`` lists it): only ``tests/`` and ``benchmarks/`` import it, and
nothing of the grader, the instructor commands or the book does (``tests/test_shape.py``). It
is importable where the repository's root is on the path: pytest adds it (``pythonpath`` in
``pyproject.toml``), and the benchmarks are run from the root as modules
(``python -m benchmarks.bench_grading``). Tests and benchmarks build classes and read scores
through it alike. It holds:

- the course's fixture assignment and the submissions every assignment is graded with: broken
  cases (:data:`CASES`) and mutant banks (:func:`apply_mutant`, :func:`mutant_bank_problems`);
- the one class builder (:func:`make_course`, :func:`write_submission`) and the one score
  reader (:func:`gradebook_scores`), independent of the worker's own reading of the gradebook;
- the leak check on a release (:func:`secret_lines`, :func:`release_leaks`) and the rule checks
  on an assignment folder (:func:`misnamed_folders`, :func:`find_assignment`).

Every assignment is graded with the same table of cases (:data:`CASES`, student id -> how that
submission is made from the source notebook, its release and the full solution) plus one
student per mutant of the assignment's mutant bank (format: CONTRIBUTING.md). A mutant names
the edit it makes to one answer cell's solution (:func:`apply_mutant`); a whole new cell
(``"source"``) is kept for real rewrites.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import nbformat

from coursekit.assignments import (
    COURSE_CONFIG,
    REPO,
    SOURCE_ROOT,
    Assignment,
    candidate_folders,
    discover_assignments,
)
from coursekit.cells import (
    HIDDEN_MARKERS,
    SOLUTION_MARKERS,
    grade_id,
    is_answer,
    is_test,
    is_written,
    read_notebook,
    solutions,
    strip_solution_markers,
)

#: A small assignment of the test suite, with its own bank.
FIXTURE_SOURCE_ROOT = REPO / "tests" / "fixtures" / "course" / "source"
FIXTURE_MUTANT_ROOT = REPO / "tests" / "fixtures" / "mutants"
#: Marks the looping cell of the infinite-loop case (see :func:`make_course`).
LOOP_MARKER = "# a forgotten infinite loop"
#: Cell timeout of that looping cell in a test course: short, so the case costs little. Every
#: other cell keeps the course's own ``Execute.timeout`` (a loaded machine can take over 15 s
#: to ``import torch``).
TEST_CELL_TIMEOUT_S = 10

# The student ids of the cases.
SOURCE = "source_notebook"
SOLUTION = "solution"
SOLUTION_AGAIN = "solution_again"
BLANK = "blank_release"
RAISES = "broken_raises"
LOOP = "broken_infinite_loop"
EDITED = "broken_edited_tests"
DELETED_ONE = "broken_deleted_test"
DELETED_ALL = "broken_deleted_all_tests"
INVALID = "broken_invalid_json"

Notebook = nbformat.NotebookNode


def solved(release: Notebook, source: Notebook, replace: dict[str, str] | None = None) -> Notebook:
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


def _raises(source: Notebook, release: Notebook, full: Notebook) -> Notebook:
    """The solution plus a scratch cell (no nbgrader metadata) that raises."""
    nb = copy.deepcopy(full)
    first_answer = next(i for i, c in enumerate(nb.cells) if is_answer(c))
    nb.cells.insert(first_answer, nbformat.v4.new_code_cell(
        'raise RuntimeError("a scratch cell the student left broken")'))
    return nb


def _loop(source: Notebook, release: Notebook, full: Notebook) -> Notebook:
    """The solution whose first answer cell ends in ``while True: pass``."""
    nb = copy.deepcopy(full)
    cell = next(c for c in nb.cells if is_answer(c))
    cell.source = cell.source + f"\n\nwhile True:  {LOOP_MARKER}\n    pass\n"
    return nb


def _edited(source: Notebook, release: Notebook, full: Notebook) -> Notebook:
    """The blank release whose test cells were replaced by ``pass``."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_test(cell):
            cell.source = '"""Edited by the student."""\npass\n'
    return nb


def _deleted_one(source: Notebook, release: Notebook, full: Notebook) -> Notebook:
    """The solution with its first test cell deleted."""
    nb = copy.deepcopy(full)
    del nb.cells[next(i for i, c in enumerate(nb.cells) if is_test(c))]
    return nb


def _deleted_all(source: Notebook, release: Notebook, full: Notebook) -> Notebook:
    """The blank release with every test cell deleted."""
    nb = copy.deepcopy(release)
    nb.cells = [c for c in nb.cells if not is_test(c)]
    return nb


def _invalid(source: Notebook, release: Notebook, full: Notebook) -> str:
    """The solution's file cut mid-way: not valid JSON."""
    text = nbformat.writes(full)
    return text[: len(text) // 2]


#: student id -> (source, release, full solution) -> the submitted notebook (or file text).
CASES: dict[str, Callable[[Notebook, Notebook, Notebook], Notebook | str]] = {
    SOURCE: lambda source, release, full: copy.deepcopy(source),  # submitted as it is
    SOLUTION: lambda source, release, full: copy.deepcopy(full),
    SOLUTION_AGAIN: lambda source, release, full: copy.deepcopy(full),  # must grade the same
    BLANK: lambda source, release, full: copy.deepcopy(release),
    RAISES: _raises,
    LOOP: _loop,
    EDITED: _edited,
    DELETED_ONE: _deleted_one,
    DELETED_ALL: _deleted_all,
    INVALID: _invalid,
}


def build_submissions(source: Notebook, release: Notebook,
                      mutants: list[dict]) -> dict[str, Notebook | str]:
    """Student id -> notebook (or raw file text): every case of :data:`CASES`, then one
    ``mutant_<name>`` per mutant."""
    full = solved(release, source)
    subs = {student: make(source, release, full) for student, make in CASES.items()}
    answers = solutions(source)
    for m in mutants:
        subs[f"mutant_{m['name']}"] = solved(
            release, source, {m["cell"]: apply_mutant(m, answers[m["cell"]])}
        )
    return subs


# ---------------------------------------------------------------------------------------------
# Mutant banks
# ---------------------------------------------------------------------------------------------
def load_mutants(bank: Path) -> list[dict]:
    """``MUTANTS`` of a mutant bank file, each with its ``source`` dedented and stripped."""
    if not bank.exists():
        raise FileNotFoundError(f"no mutant bank: {bank} is missing (format: CONTRIBUTING.md)")
    spec = importlib.util.spec_from_file_location(f"mutants_{bank.stem}", bank)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutants = getattr(module, "MUTANTS", None)
    if not isinstance(mutants, list):
        raise TypeError(f"{bank}: MUTANTS must be a list of dicts, got {type(mutants).__name__}")
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


def _mutant_problems(m: dict, names: list, answers: dict[str, str], tests: set[str]) -> list[str]:
    """What is wrong with one mutant of a bank."""
    name, cell, fails = m.get("name"), m.get("cell"), m.get("fails")
    problems = []
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
        problems.append(f"mutant name {name!r} is not [a-z0-9_]+")
    if names.count(name) > 1:
        problems.append(f"mutant name {name!r} is used more than once")
    if cell not in answers:
        problems.append(f"mutant {name!r}: cell {cell!r} is not an answer cell {list(answers)}")
    if not isinstance(fails, list) or not fails:
        problems.append(f"mutant {name!r}: 'fails' must list at least one test cell")
    else:
        problems += [f"mutant {name!r}: {f!r} in 'fails' is not a test cell {sorted(tests)}"
                     for f in fails if f not in tests]
    if cell in answers:
        try:
            if not apply_mutant(m, answers[cell]).strip():
                problems.append(f"mutant {name!r}: empty source")
        except ValueError as err:
            problems.append(str(err))
    return problems


def mutant_bank_problems(assignment: Assignment) -> list[str]:
    """Everything wrong with an assignment's mutant bank (empty when it is valid): names,
    cells, ``fails``, edits that do not apply, answer cells with fewer than 2 mutants."""
    try:
        mutants = load_mutants(assignment.mutant_bank)
    except Exception as err:  # noqa: BLE001 (reported as a test failure)
        return [f"{type(err).__name__}: {err}"]
    nb = read_notebook(assignment.notebook)
    answers = solutions(nb)
    tests = {grade_id(c) for c in nb.cells if is_test(c)}
    names = [m.get("name") for m in mutants]
    problems = [p for m in mutants for p in _mutant_problems(m, names, answers, tests)]
    for answer in answers:
        n = sum(m.get("cell") == answer for m in mutants)
        if n < 2:
            problems.append(f"answer cell {answer!r} has {n} mutant(s); at least 2 are required")
    return sorted(set(problems), key=problems.index)


# ---------------------------------------------------------------------------------------------
# The class builder and the score reader
# ---------------------------------------------------------------------------------------------
def _loop_timeout_config(loop_timeout_s: int) -> str:
    return (
        "\n# Test course: the infinite-loop case's cell times out quickly.\n"
        "_course_timeout = c.Execute.timeout\n"
        f"c.Execute.timeout_func = lambda cell: ({int(loop_timeout_s)} if {LOOP_MARKER!r} "
        "in cell.get('source', '') else _course_timeout)\n"
    )


def make_course(root: Path, assignment: Assignment, *,
                loop_timeout_s: int | None = TEST_CELL_TIMEOUT_S,
                config: Path = COURSE_CONFIG) -> Path:
    """A temporary course in ``root/course``: the course's nbgrader_config.py and a copy of the
    assignment's source folder. With ``loop_timeout_s``, the cell of the infinite-loop case
    (and only it) times out after that many seconds (``Execute.timeout_func``); the others keep
    ``Execute.timeout``."""
    course = root / "course"
    (course / "source").mkdir(parents=True)
    text = config.read_text()
    if loop_timeout_s is not None:
        text += _loop_timeout_config(loop_timeout_s)
    (course / "nbgrader_config.py").write_text(text)
    shutil.copytree(assignment.source_dir, course / "source" / assignment.name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return course


def write_submission(course: Path, student: str, assignment: str, notebook_name: str,
                     content: nbformat.NotebookNode | str, data_from: Path | None = None) -> None:
    """``submitted/<student>/<assignment>/<notebook_name>`` (a notebook, or raw file text),
    with the data files of ``data_from`` beside it."""
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


def gradebook_scores(url: str, assignment: str) -> dict[str, dict[str, tuple]]:
    """student -> {grade_id: (auto_score, max_score)} of every submission of ``assignment`` in
    the gradebook at ``url``, read through nbgrader's own ``Gradebook`` API."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return {sub.student.id: {g.name: (g.auto_score, float(g.max_score))
                                 for nb in sub.notebooks for g in nb.grades}
                for sub in gb.assignment_submissions(assignment)}


# ---------------------------------------------------------------------------------------------
# The leak check and the assignment-folder rules
# ---------------------------------------------------------------------------------------------
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


def misnamed_folders(source_root: Path = SOURCE_ROOT) -> list[Path]:
    """Folders of ``source_root`` holding notebooks but not ``<folder name>.ipynb``."""
    return [d for d in candidate_folders(source_root)
            if any(d.glob("*.ipynb")) and not (d / f"{d.name}.ipynb").is_file()]


def find_assignment(name: str, source_root: Path = SOURCE_ROOT) -> Assignment:
    """The assignment called ``name``; ValueError naming the known ones otherwise."""
    found = {a.name: a for a in discover_assignments(source_root)}
    if name not in found:
        raise ValueError(
            f"assignment must be one of {sorted(found)} (folders of {source_root} holding "
            f"<name>.ipynb), received {name!r}"
        )
    return found[name]


def leftover_processes(uid: int) -> list[str]:
    """Processes of user ``uid`` still running a kernel, a kernel template or what the hostile
    cases start (``sleep 600``): what a batch must not leave behind."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or proc.stat().st_uid != uid:
                continue
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "ipykernel" in cmd or "kernel_template" in cmd or "sleep 600" in cmd:
            found.append(f"{proc.name}: {cmd[:80]}")
    return found

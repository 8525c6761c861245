"""Tests that grade the graders: every assignment in exercises/source/ plus the fixture.

For each assignment ONE temporary nbgrader course is built, released once and autograded by plain
nbgrader (in concurrent shards of the class) with every case below as a separate student (see
tests/graders.py); scores are read from the
gradebook, never from ``nbgrader validate``'s exit code. What nbgrader 0.9.6 does with broken
submissions, as asserted here:

* a cell that raises: its error output is kept, the other cells still run and are graded;
* an infinite loop: the cell is interrupted after its timeout (``Execute.timeout``; 10 s for the
  looping cell here, via ``Execute.timeout_func`` in the test course) and gets a
  ``KeyboardInterrupt`` and a ``CellTimeoutError`` output; the kernel survives, the cells after
  it run and are graded (a test cell that times out scores 0), the batch goes on;
* an edited test cell: restored from the gradebook (checksum mismatch logged), so it scores
  what the unedited test gives;
* a deleted test cell: added back from the gradebook with a "was missing from the submission"
  note (``OverwriteCells.add_missing_cells = True``) and run, so deleting a test gains nothing;
* a notebook that is not valid JSON: nbgrader logs the student's name, leaves that student's
  submission with no autograded score (0 in the export), grades every other student, and exits 1.
"""

from __future__ import annotations

import json

import pytest
from graders import GradedCourse, assignments_under_test, grade_assignment

from coursekit.cells import (
    MISSING_CELL_NOTE,
    grade_id,
    is_answer,
    is_test,
    read_notebook,
)
from harness import (
    BLANK,
    DELETED_ALL,
    DELETED_ONE,
    EDITED,
    INVALID,
    LOOP,
    RAISES,
    SOLUTION,
    SOLUTION_AGAIN,
    SOURCE,
    load_mutants,
    mutant_bank_problems,
    release_leaks,
)

ASSIGNMENTS = assignments_under_test()
IDS = [a.name for a in ASSIGNMENTS]


def _mutant_cases() -> list:
    cases = []
    for a in ASSIGNMENTS:
        try:
            names = [m["name"] for m in load_mutants(a.mutant_bank)]
        except Exception:  # noqa: BLE001 (the bank test reports it)
            names = []
        cases += [pytest.param(a, n, id=f"{a.name}-{n}") for n in names]
    return cases


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """assignment -> GradedCourse, computed once per assignment per session."""
    cache: dict[str, GradedCourse | BaseException] = {}

    def get(assignment) -> GradedCourse:
        if assignment.name not in cache:
            try:
                cache[assignment.name] = grade_assignment(
                    assignment, tmp_path_factory.mktemp(assignment.name)
                )
            except BaseException as err:  # noqa: BLE001 (re-raised in every test)
                cache[assignment.name] = err
        result = cache[assignment.name]
        if isinstance(result, BaseException):
            raise result
        return result

    return get


def _ready(g: GradedCourse) -> GradedCourse:
    """The graded course, failing with nbgrader's log if release or autograde did not run."""
    assert g.release is not None, f"generate_assignment failed:\n{g.log()[-6000:]}"
    assert g.autograde is not None
    return g


def _score(g: GradedCourse, student: str) -> tuple[float, float]:
    assert student in g.scores, (
        f"{student} has no submission in the gradebook; autograde log:\n{g.log()[-6000:]}"
    )
    return g.autograded(student)


# ---------------------------------------------------------------------------------------------
# 0. the assignment and its mutant bank are well formed
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_mutant_bank_is_valid_and_covers_every_answer_cell(assignment):
    problems = mutant_bank_problems(assignment)
    assert not problems, f"{assignment.mutant_bank.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_assignment_has_answer_and_test_cells(assignment):
    nb = read_notebook(assignment.notebook)
    assert any(is_answer(c) for c in nb.cells), "no autograded answer cell"
    assert any(is_test(c) for c in nb.cells), "no autograded test cell"


# ---------------------------------------------------------------------------------------------
# 1-3. source, release, blank release
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_generate_assignment_succeeds(graded, assignment):
    g = graded(assignment)
    assert g.generate.returncode == 0, g.log()[-6000:]
    _ready(g)


def test_leak_check_finds_secret_lines_and_ignores_public_ones():
    """The release check flags a solution or hidden-test line that reaches the release, and
    not a line (like a closing bracket) that the student is shown anyway."""
    import nbformat

    meta = {"nbgrader": {"grade_id": "test_f", "grade": True, "solution": False,
                         "locked": True, "points": 1, "schema_version": 3}}
    source = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                                  "    ### END SOLUTION", metadata={"nbgrader": {
                                      "grade_id": "f", "solution": True, "grade": False,
                                      "locked": False, "schema_version": 3}}),
        nbformat.v4.new_code_cell('"""Check f."""\nassert f(\n    1\n) == 2\n'
                                  "### BEGIN HIDDEN TESTS\nassert f(\n    3\n) == 6\n"
                                  "### END HIDDEN TESTS", metadata=meta),
    ])
    clean = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def f(x):\n    raise NotImplementedError()"),
        nbformat.v4.new_code_cell('"""Check f."""\nassert f(\n    1\n) == 2\n'),
    ])
    assert release_leaks(source, clean) == {}
    leaky = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def f(x):\n    return 2 * x"),
        nbformat.v4.new_code_cell('"""Check f."""\nassert f(\n    3\n) == 6\n'),
    ])
    assert release_leaks(source, leaky) == {"f": ["return 2 * x"], "test_f": [") == 6", "3"]}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_release_holds_no_solution_or_hidden_test(graded, assignment):
    g = _ready(graded(assignment))
    text = json.dumps([c.source for c in g.release.cells])
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"the release still contains '{marker}'"
    leaks = release_leaks(g.source, g.release)
    assert not leaks, f"solution / hidden-test / model-answer lines in the release: {leaks}"
    for cell in g.release.cells:
        if is_answer(cell):
            assert "NotImplementedError" in cell.source, f"{grade_id(cell)} lost its stub"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
@pytest.mark.parametrize("student", [SOURCE, SOLUTION])
def test_solution_scores_full_marks(graded, assignment, student):
    g = _ready(graded(assignment))
    got, total = _score(g, student)
    lost = {k: v for k, v in g.scores[student].items() if k in g.test_cells and v[0] != v[1]}
    assert total > 0
    assert got == total, f"{student} scored {got}/{total}; cells losing points: {lost}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_blank_release_scores_zero(graded, assignment):
    g = _ready(graded(assignment))
    got, total = _score(g, BLANK)
    earned = {k: v for k, v in g.scores[BLANK].items() if k in g.test_cells and v[0]}
    assert got == 0, f"the unchanged release scored {got}/{total}: {earned}"
    # written answers left as "YOUR ANSWER HERE" are scored 0 automatically
    for gid, (auto, _) in g.scores[BLANK].items():
        assert auto == 0, f"{gid} of the blank release scored {auto}"


# ---------------------------------------------------------------------------------------------
# 4. mutants
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "mutant"), _mutant_cases())
def test_mutant_loses_points_on_its_cells(graded, assignment, mutant):
    g = _ready(graded(assignment))
    m = next(m for m in g.mutants if m["name"] == mutant)
    student = f"mutant_{mutant}"
    got, total = _score(g, student)
    cells = g.scores[student]
    survived = [f for f in m["fails"] if cells[f][0] is None or cells[f][0] >= cells[f][1]]
    assert not survived, (
        f"mutant {mutant} (replacing {m['cell']}) kept full marks on {survived}; "
        f"it scored {got}/{total}: {cells}"
    )


# ---------------------------------------------------------------------------------------------
# 5. broken submissions
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_a_scratch_cell_that_raises_costs_nothing(graded, assignment):
    g = _ready(graded(assignment))
    got, total = _score(g, RAISES)
    assert got == total, f"{RAISES}: {g.scores[RAISES]}"
    nb = g.autograded_notebook(RAISES)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert any(o.ename == "RuntimeError" for o in errors), "the raising cell left no error output"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_an_infinite_loop_times_out_and_the_rest_is_graded(graded, assignment):
    g = _ready(graded(assignment))
    got, total = _score(g, LOOP)
    nb = g.autograded_notebook(LOOP)
    looped = next(c for c in nb.cells if is_answer(c))
    enames = [o.ename for o in looped.outputs if o.output_type == "error"]
    assert "CellTimeoutError" in enames, f"no timeout recorded on the looping cell: {enames}"
    # The def before the loop ran, the kernel was interrupted, not killed: every test still ran.
    assert got == total, f"{LOOP}: {g.scores[LOOP]}"
    assert "Interrupting kernel" in g.log()


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_editing_the_tests_gains_nothing(graded, assignment):
    g = _ready(graded(assignment))
    got, total = _score(g, EDITED)
    assert got == 0, f"blank answers with tests replaced by `pass` scored {got}/{total}"
    nb = g.autograded_notebook(EDITED)
    by_id = {grade_id(c): c.source for c in g.source.cells if is_test(c)}
    for cell in nb.cells:
        if is_test(cell):
            assert "Edited by the student" not in cell.source
            assert cell.source.splitlines()[0] == by_id[grade_id(cell)].splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_a_deleted_test_is_added_back_and_graded(graded, assignment):
    g = _ready(graded(assignment))
    got, total = _score(g, DELETED_ONE)
    assert got == total, f"{DELETED_ONE}: {g.scores[DELETED_ONE]}"
    assert MISSING_CELL_NOTE in json.dumps(g.autograded_notebook(DELETED_ONE).cells)
    got, total = _score(g, DELETED_ALL)
    assert got == 0, f"blank answers with every test deleted scored {got}/{total}"
    assert set(g.test_cells) <= set(g.scores[DELETED_ALL])
    assert all(g.scores[DELETED_ALL][t][0] == 0 for t in g.test_cells)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_invalid_json_is_reported_by_name_and_the_batch_goes_on(graded, assignment):
    g = _ready(graded(assignment))
    log = g.log()
    assert f"for student '{INVALID}'" in log, "the broken notebook is not reported by name"
    assert "NotJSONError" in log
    assert g.autograde.returncode != 0, "nbgrader should flag the batch as having failures"
    # No autograded score for the broken notebook (the export gives it 0) ...
    assert all(auto is None for auto, _ in g.scores.get(INVALID, {}).values())
    assert not (g.course / "autograded" / INVALID).exists()
    # ... and every other student was graded.
    others = set(g.submissions) - {INVALID}
    assert others <= set(g.scores)
    for student in others:
        assert all(g.scores[student][t][0] is not None for t in g.test_cells), student


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_the_sandboxed_grader_agrees_with_nbgrader(graded, assignment, sandbox):
    """What ``make autograde`` runs, each submission in its sandbox (``grade_submission``),
    gives the solution and the blank release the per-cell scores plain nbgrader gives them."""
    from coursekit.worker import grade_submission

    g = _ready(graded(assignment))
    for student in (SOLUTION, BLANK):
        result = grade_submission(g.course, assignment.name, student, sandbox=True)
        assert result["status"] == "graded", (student, result["reasons"])
        sandboxed = {c["grade_id"]: c["auto_score"] for c in result["cells"]
                     if c["kind"] == "autograded"}
        plain = {gid: g.scores[student][gid][0] for gid in g.test_cells}
        assert sandboxed == plain, student


# ---------------------------------------------------------------------------------------------
# 6. determinism
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_grading_the_same_submission_twice_gives_the_same_scores(graded, assignment):
    g = _ready(graded(assignment))
    assert g.scores[SOLUTION] == g.scores[SOLUTION_AGAIN]


# ---------------------------------------------------------------------------------------------
# the warnings policy (exercises/nbgrader_config.py), on the fixture's warning test cell
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_userwarning_in_a_test_cell_does_not_zero_it(graded):
    fixture = next(a for a in ASSIGNMENTS if a.name == "fixture_ps")
    g = _ready(graded(fixture))
    cell = next(c for c in g.autograded_notebook(SOLUTION).cells
                if grade_id(c) == "test_sigmoid_derivative")
    assert "warnings.warn(" in cell.source
    shown = [o for o in cell.outputs if o.output_type == "stream" and "UserWarning" in o.text]
    assert shown and all(o.name == "stdout" for o in shown), cell.outputs
    assert g.scores[SOLUTION]["test_sigmoid_derivative"] == (3.0, 3.0)

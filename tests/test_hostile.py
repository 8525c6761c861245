"""Hostile and honest submissions: the grader's judgement stays out of every student's reach.

ONE batch grades ps1_sigmoid_decay (the fastest assignment) through the batch ``make autograde``
runs, for an honest and a blank control, the hostile students (each a group of attacks of one
kind) and the honest students who write in unusual styles:

- ``files``: reads ``source/``, another student's submission and the gradebook, writes and
  locks the gradebook, appends to ``nbgrader_config.py``, edits ``vgcourse/grading.py`` on
  disk, opens network connections, and ships its own ``vgcourse/grading.py`` beside the
  notebook (answers: the blank release);
- ``kernel``: arbitrary code in the student's process (string.Formatter, functools,
  ``np.ctypeslib``, pickles through ``np.load`` and ``torch.load``), then the check helpers,
  NumPy, torch, IPython's hooks and the kernel's execute handler rewritten, and forged
  observations with huge tolerances (answers: stubs);
- ``resources``: the solution, plus after its first test cell a cell that detaches processes,
  prints 1 MB on one line, forks until the process limit, SIGKILLs its parent; and later a
  memory bomb;
- ``flood``: the solution, plus a cell that fills the socket folder and floods every later test
  cell with observations;
- ``message``: the solution, plus a cell that sends one 400 MB message;
- ``clock``: the solution with a cell that never ends (the per-submission wall clock);
- ``copied``: an honest solution with a copy-pasted test cell (duplicate grade_id) and a locked
  cell whose nbgrader metadata was removed;
- ``style_*``: honest solutions in the styles real students write (scratch cells, imports in
  answers, plots, magics, help(), dataclasses, their own exception class...): full marks.

No attack scores more than the blank control on any cell; the controls and every honest style
score as they deserve; the course folder (except the grader's own outputs) and ``vgcourse/``
are unchanged; no process outlives the batch.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from pathlib import Path

import nbformat
import pytest

from coursekit import sandbox as sb
from coursekit import worker
from coursekit.assignments import discover_assignments
from coursekit.cells import grade_id, is_test, read_notebook
from coursekit.nbgrader_run import run_nbgrader
from harness import (
    leftover_processes,
    make_course,
    secret_lines,
    solved,
    write_submission,
)

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps1_sigmoid_decay"
HOSTILE = Path(__file__).resolve().parent / "hostile"
HONEST, BLANK = "honest", "blank"
#: The hostile students, each a group of attacks (see the module docstring).
ATTACKERS = ("files", "kernel", "resources", "flood", "message", "clock")
COPIED = "copied"
#: The wall clock of the ``clock`` student's submission (every other one keeps the default).
CLOCK_WALL_S = 90.0


# ---------------------------------------------------------------------------------------------
# The one batch
# ---------------------------------------------------------------------------------------------
def _grade(course: str, assignment: str, student: str, sandbox: bool = True) -> dict:
    """The batch's task in this suite: ``make autograde``'s own (``batch.default_grade``), with
    a shorter wall clock for the ``clock`` student, so the suite stays short."""
    from coursekit.batch import use_venv_bin

    use_venv_bin()
    limits = sb.Limits(wall_s=CLOCK_WALL_S) if student == "clock" else None
    return worker.grade_submission(Path(course), assignment, student, sandbox=sandbox,
                                   limits=limits)


def grade_batch(course: Path) -> dict:
    """Grade every submission of ``course`` through the batch ``make autograde`` runs
    (``coursekit.batch.grade_class``: two worker processes, the coordinator the only writer of
    the gradebook); student -> result dict."""
    from coursekit.batch import grade_class

    results = grade_class(course, jobs=2, grade=_grade, out=io.StringIO(), progress=False)
    return {r.student: r.to_json() for r in results}


def _tree_hash(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(skip) and "__pycache__" not in rel:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory, sandbox):
    """The course, the submissions, hashes before and after, the results of one batch."""
    assignment = next(a for a in discover_assignments() if a.name == ASSIGNMENT)
    course = make_course(tmp_path_factory.mktemp("hostile"), assignment)
    done = run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    source = read_notebook(assignment.notebook)
    release = read_notebook(course / "release" / ASSIGNMENT / assignment.notebook.name)
    subs = build_hostile(source, release, course)
    for student, nb in subs.items():
        write_submission(course, student, ASSIGNMENT, assignment.notebook.name, nb,
                           data_from=assignment.source_dir)
    ship = course / "submitted" / "files" / ASSIGNMENT / "vgcourse"
    ship.mkdir()
    (ship / "__init__.py").write_text("SHADOWED = True\n")
    (ship / "grading.py").write_text((HOSTILE / "shadow_grading.py").read_text())
    # what the batch writes: the gradebook, the graded notebooks and records, and the expected
    # values of the reference run of the instructor's solution
    grader_outputs = ("gradebook.db", "autograded/", "grading/", "expected/")
    before = _tree_hash(course, skip=grader_outputs), _tree_hash(REPO / "vgcourse")
    order = [HONEST, BLANK, *ATTACKERS, COPIED, *(f"style_{k}" for k in HONEST_STYLES)]
    results = grade_batch(course)
    assert sorted(results) == sorted(order)
    # the same honest submission, outside the sandbox (a control, not a batch)
    unsandboxed = worker.grade_submission(course, ASSIGNMENT, HONEST, sandbox=False)
    after = _tree_hash(course, skip=grader_outputs), _tree_hash(REPO / "vgcourse")
    seconds = {s: r["seconds"] for s, r in results.items()}
    print(f"\nhostile batch seconds: {seconds}; honest without sandbox: "
          f"{unsandboxed['seconds']} s")
    for student, res in results.items():
        print(f"  {student:10s} {res['status']:8s} {res['score']:g}/{res['max_score']:g} "
              f"{res['reasons'][:3]}")
    return {"course": course, "results": results, "unsandboxed": unsandboxed,
            "before": before, "after": after, "leftover": leftover_processes(sb.SANDBOX_UID)}


def _insert_after(nb, gid: str, source: str) -> None:
    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))


def build_hostile(source, release, course: Path) -> dict:
    """Student id -> notebook for the controls and every attacker of the batch."""
    honest = solved(release, source)
    files = copy.deepcopy(release)
    _insert_after(files, "setup",
                  (HOSTILE / "files_attack.py").read_text().replace("{course}", str(course)))
    kernel = copy.deepcopy(release)
    _insert_after(kernel, "setup", (HOSTILE / "kernel_attack.py").read_text())
    resources = copy.deepcopy(honest)
    _insert_after(resources, "test_sigmoid", (HOSTILE / "resources_attack.py").read_text())
    _insert_after(resources, "test_sigmoid_derivative",
                  "blocks = []\nwhile True:  # a memory bomb\n    blocks.append(b'x' * 2**26)\n")
    clock = copy.deepcopy(honest)
    _insert_after(clock, "test_sigmoid_overflow",
                  "import time\nfor _ in range(10**9):  # never ends\n    time.sleep(1)\n")
    flood = copy.deepcopy(honest)
    _insert_after(flood, "test_sigmoid", (HOSTILE / "flood_attack.py").read_text())
    message = copy.deepcopy(honest)
    _insert_after(message, "test_sigmoid", "from IPython.display import publish_display_data\n"
                  "publish_display_data({'text/plain': 'y' * 400_000_000})")
    copied = copy.deepcopy(honest)
    at = next(i for i, c in enumerate(copied.cells) if grade_id(c) == "test_sigmoid")
    paste = copy.deepcopy(copied.cells[at])
    paste["id"] = "pasted-copy"
    copied.cells.insert(at + 1, paste)  # JupyterLab's copy keeps the nbgrader metadata
    del next(c for c in copied.cells if grade_id(c) == "setup").metadata["nbgrader"]
    styles = {f"style_{name}": honest_style(honest, edits) for name, edits in HONEST_STYLES.items()}
    return {HONEST: honest, BLANK: copy.deepcopy(release), "files": files, "kernel": kernel,
            "resources": resources, "flood": flood, "message": message, "clock": clock,
            COPIED: copied, **styles}


#: Honest solutions in the styles students write: (where, grade_id, code) edits of the honest
#: solution: a new cell after a cell, or lines put before an answer's solution.
HONEST_STYLES = {
    "scratch_cells": [("after", "sigmoid", "x = np.linspace(-3, 3, 7)\nsigmoid(x)"),
                      ("after", "chain_factor", "y = chain_factor(0.0, np.arange(1, 4))\ny")],
    "imports_in_answers": [("before", "sigmoid", "import math\nimport numpy as np\n"),
                           ("before", "chain_factor", "import sys\nimport numpy\n")],
    "plots": [("after", "sigmoid", "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
               "xs = np.linspace(-6, 6, 101)\nplt.plot(xs, sigmoid(xs))\nplt.title('sigmoid')\n"
               "plt.show()")],
    "magics_and_help": [("after", "sigmoid", "%timeit -n 3 -r 1 sigmoid(np.zeros(10))"),
                        ("after", "sigmoid_derivative", "help(sigmoid_derivative)"),
                        ("after", "chain_factor", "import sys\nprint(sys.version_info[:2])")],
    "future_and_dataclass": [("before", "layers_until_vanished",
                              "from __future__ import annotations\n"
                              "from dataclasses import dataclass\n\n\n@dataclass\n"
                              "class Setting:\n    x: float\n    threshold: float\n\n"
                              "    def __post_init__(self) -> None:\n"
                              "        self.x = float(self.x)\n\n\n")],
    "own_exception_and_warnings": [("before", "layers_until_vanished",
                                    "import warnings\n\n\nclass ThresholdError(ValueError):\n"
                                    "    \"\"\"A threshold that is not positive.\"\"\"\n\n\n"),
                                   ("after", "sigmoid", "import sys\nprint('checking', "
                                    "file=sys.stderr)\nwarnings_seen = []")],
    "torch_answer": [("replace", "sigmoid",
                      "import torch\n\n\ndef sigmoid(x):\n"
                      "    \"\"\"The logistic sigmoid, by torch in float64.\"\"\"\n"
                      "    t = torch.as_tensor(np.asarray(x, dtype=np.float64))\n"
                      "    return torch.sigmoid(t).numpy()\n")],
}


def honest_style(honest, edits):
    """The honest solution with one style's edits applied."""
    nb = copy.deepcopy(honest)
    for where, gid, code in edits:
        at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)
        if where == "after":
            nb.cells.insert(at + 1, nbformat.v4.new_code_cell(code))
        elif where == "before":
            nb.cells[at].source = code + nb.cells[at].source
        else:
            nb.cells[at].source = code
    return nb


def _cell(result: dict, grade_id: str) -> dict:
    return next(c for c in result["cells"] if c["grade_id"] == grade_id)


def _graded_cells(result: dict):
    text = next(iter(result["autograded"].values()))
    return nbformat.reads(text, as_version=4).cells


# ---------------------------------------------------------------------------------------------
# The batch's verdicts
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_controls_score_as_they_deserve(batch):
    honest, blank = batch["results"][HONEST], batch["results"][BLANK]
    assert honest["status"] == "graded", honest["reasons"]
    assert honest["score"] == honest["max_score"] > 0, honest["cells"]
    assert honest["reasons"] == []
    assert blank["status"] == "graded" and blank["score"] == 0.0, blank["cells"]
    assert batch["unsandboxed"]["score"] == honest["score"]
    assert honest["needs_manual_grading"] is True


@pytest.mark.slow
@pytest.mark.parametrize("attacker", ["files", "kernel"])
def test_an_attack_with_stub_answers_scores_no_more_than_the_blank_control(batch, attacker):
    res, blank = batch["results"][attacker], batch["results"][BLANK]
    assert res["status"] == "graded", res["reasons"]
    assert res["score"] <= blank["score"], res["cells"]
    for cell in res["cells"]:
        if cell["kind"] == "autograded":
            assert cell["auto_score"] <= _cell(blank, cell["grade_id"])["auto_score"], cell


@pytest.mark.slow
def test_arbitrary_code_in_the_kernel_ran_and_earned_nothing(batch):
    """The kernel attack did take over its process (the pickle ran), and the forged
    observations it handed out were refused or judged wrong, with a reason."""
    res = batch["results"]["kernel"]
    cells = _graded_cells(res)
    printed = "".join(o.get("text", "") for c in cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "kernel attack installed: True True" in printed, printed[:2000]
    for cell in res["cells"]:
        if cell["kind"] == "autograded":
            assert cell["auto_score"] == 0.0 and cell["message"].startswith("TestFailed"), cell


@pytest.mark.slow
@pytest.mark.parametrize("style", sorted(HONEST_STYLES))
def test_an_honest_student_in_any_style_scores_full_marks(batch, style):
    res, honest = batch["results"][f"style_{style}"], batch["results"][HONEST]
    assert res["status"] == "graded", res["reasons"]
    assert res["score"] == honest["score"] == honest["max_score"], res["cells"]


@pytest.mark.slow
def test_floods_are_cut_with_a_reason_and_the_rest_is_graded(batch):
    res = batch["results"]["flood"]
    assert res["status"] == "graded", res["reasons"]
    assert _cell(res, "test_sigmoid")["auto_score"] == _cell(res, "test_sigmoid")["max_score"]
    later = [c for c in res["cells"] if c["kind"] == "autograded" and c["grade_id"] not in
             ("test_sigmoid",)]
    assert later and all(c["auto_score"] == 0.0 for c in later), later
    assert any("more than" in c["message"] and "observations" in c["message"] for c in later)
    printed = "".join(o.get("text", "") for c in _graded_cells(res) if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "the socket folder took" in printed and "OSError" in printed, printed[:2000]


@pytest.mark.slow
def test_a_message_over_the_limit_stops_the_submission_with_a_reason(batch):
    res = batch["results"]["message"]
    assert res["status"] == "graded", res["reasons"]
    assert _cell(res, "test_sigmoid")["auto_score"] == _cell(res, "test_sigmoid")["max_score"]
    assert any("message over the grader's size limit" in r for r in res["reasons"]), res
    later = [c for c in res["cells"] if c["kind"] == "autograded" and c["grade_id"] not in
             ("test_sigmoid",)]
    assert later and all(c["auto_score"] == 0.0 for c in later), later


def test_the_graders_sockets_refuse_an_oversized_message_unread():
    """ZeroMQ's MAXMSGSIZE on the grader's context: a message over the limit never arrives."""
    import zmq

    ctx = zmq.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, 1024)
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    big, small = zmq.Context().socket(zmq.PUSH), zmq.Context().socket(zmq.PUSH)
    big.connect(f"tcp://127.0.0.1:{port}")
    big.send(b"x" * 10_000)
    assert not pull.poll(1000)  # refused, and its sender disconnected
    small.connect(f"tcp://127.0.0.1:{port}")
    small.send(b"small")
    assert pull.poll(5000) and pull.recv() == b"small"
    assert sb.client_context(4096).getsockopt(zmq.MAXMSGSIZE) == 4096


@pytest.mark.slow
def test_the_sandbox_denies_everything_outside_the_notebook(batch):
    cells = _graded_cells(batch["results"]["files"])
    out = "".join(o.get("text", "") for c in cells if c.cell_type == "code"
                  for o in c.get("outputs", []))
    line = next(ln for ln in out.splitlines() if ln.startswith("HOSTILE-REPORT "))
    report = json.loads(line.removeprefix("HOSTILE-REPORT "))
    assert report.pop("grading_module") == "real", "the shipped vgcourse/grading.py was imported"
    assert report.pop("uid") == sb.SANDBOX_UID
    allowed = {k: v for k, v in report.items() if not v.startswith("denied")}
    assert allowed == {}, allowed


@pytest.mark.slow
def test_nothing_outside_the_sandbox_changed(batch):
    course, vgcourse = batch["before"]
    assert batch["after"][1] == vgcourse, "vgcourse/ changed during the batch"
    changed = {k for k in course.keys() | batch["after"][0].keys()
               if course.get(k) != batch["after"][0].get(k)}
    assert changed == set(), changed
    assert not Path("/tmp/pwned").exists() and not Path("/work/pwned").exists()
    assert batch["leftover"] == []


@pytest.mark.slow
def test_the_gradebook_holds_each_student_as_graded(batch):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        for student, res in batch["results"].items():
            sub = gb.find_submission(ASSIGNMENT, student)
            assert sub.score == pytest.approx(res["score"]), student


@pytest.mark.slow
def test_limits_end_a_submission_with_a_grade_and_reasons(batch):
    res = batch["results"]["resources"]
    assert res["status"] == "graded", res["reasons"]
    assert _cell(res, "test_sigmoid")["auto_score"] == _cell(res, "test_sigmoid")["max_score"]
    text = "\n".join(res["reasons"])
    assert "kernel died while running cell" in text and "memory limit" in text, text
    assert "output truncated" in text, text
    cells = _graded_cells(res)
    bomb = next(i for i, c in enumerate(cells) if "a memory bomb" in c.source)
    # the kernel lived through the fork bomb and the kill of its parent, and died at the bomb
    assert f"kernel died while running cell {bomb} " in text, (bomb, text)
    attack = next(c for c in cells if "fork bomb" in c.source)
    assert [o.get("text") for o in attack.outputs][-1].startswith("[output truncated")


@pytest.mark.slow
def test_the_wall_clock_stops_a_submission_and_keeps_what_completed(batch):
    res = batch["results"]["clock"]
    assert res["status"] == "graded", res["reasons"]
    for gid in ("test_sigmoid", "test_sigmoid_overflow"):
        assert _cell(res, gid)["auto_score"] == _cell(res, gid)["max_score"], res["cells"]
    assert _cell(res, "test_layers_until_vanished")["auto_score"] == 0.0
    assert any("wall clock" in r for r in res["reasons"]), res["reasons"]
    assert res["seconds"] < CLOCK_WALL_S + worker.NBGRADER_OVERHEAD_S


@pytest.mark.slow
def test_a_copied_test_cell_and_a_stripped_locked_cell_are_graded(batch):
    res, honest = batch["results"][COPIED], batch["results"][HONEST]
    assert res["status"] == "graded", res["reasons"]
    assert res["score"] == honest["score"]
    text = "\n".join(res["reasons"])
    assert "'test_sigmoid' appeared 2 times" in text and "'setup' had lost" in text, text


@pytest.mark.slow
def test_feedback_shows_outcomes_never_hidden_tests_and_renders_math_offline(batch, tmp_path):
    from coursekit import feedback
    from coursekit.result import SubmissionResult

    assignment = next(a for a in discover_assignments() if a.name == ASSIGNMENT)
    source = read_notebook(assignment.notebook)
    hidden = {line for cell in source.cells if is_test(cell)
              for line in secret_lines(source).get(grade_id(cell), set())}
    assert hidden, "the assignment has hidden tests to keep out of the feedback"
    for student in (HONEST, BLANK, "resources"):
        page = feedback.write_feedback(SubmissionResult.from_json(batch["results"][student]),
                                       tmp_path / student)
        text = page.read_text()
        leaked = sorted(line for line in hidden if line in text)
        assert leaked == [], (student, leaked)
        assert (page.parent / "mathjax" / "tex-mml-chtml.js").is_file()
        assert "src='mathjax/tex-mml-chtml.js'" in text and "://" not in text.split("<body>")[0]
    blank = (tmp_path / BLANK / f"{ASSIGNMENT}.html").read_text()
    assert "test_sigmoid</b>: failed" in blank and "NotImplementedError" in blank
    honest = (tmp_path / HONEST / f"{ASSIGNMENT}.html").read_text()
    assert "test_sigmoid</b>: passed" in honest and "$" in honest

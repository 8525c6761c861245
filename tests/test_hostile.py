"""Hostile submissions (issue 13): every attack a student's notebook can try on the grader.

ONE batch grades ps1_sigmoid_decay (the fastest assignment) for an honest control, a blank
control and a few hostile students, each grouping the attacks of one kind:

- ``files``: reads ``source/``, another student's submission and the gradebook, writes and
  locks the gradebook, appends to ``nbgrader_config.py``, edits ``vgcourse/grading.py`` on
  disk, opens network connections, and ships its own ``vgcourse/grading.py`` beside the
  notebook (answers: the blank release);
- ``kernel``: rebinds the check helpers, patches ``np.allclose``/``torch.allclose``/
  ``np.testing``, installs an IPython input transformer, a custom exception handler and a
  silent ``showtraceback``, and answers with an object that reads the expected value off the
  caller's frame (answers otherwise: the blank release);
- ``resources``: the solution, plus after its first test cell a cell that detaches processes,
  prints 50 MB on one line, forks until the process limit, SIGKILLs its parent; and later a
  memory bomb;
- ``clock``: the solution with a cell that never ends (the per-submission wall clock);
- ``copied``: an honest solution with a copy-pasted test cell (duplicate grade_id) and a locked
  cell whose nbgrader metadata was removed (graded, not dropped, not flagged).

Every attack scores at most the blank control or is flagged; the controls score as they
deserve; the course folder (except the grader's own outputs) and ``vgcourse/`` are unchanged;
no process outlives the batch. :func:`grade_batch` is the ONE place the suite grades: it
runs the batch that ``make autograde`` runs (``coursekit.batch.grade_class``), two sandboxed
submissions at a time.
The static scan of every honest submission of every bank is checked without a kernel.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit import sandbox as sb
from coursekit import tamper, worker
from coursekit.assignments import discover_assignments
from coursekit.cells import (
    grade_id,
    is_answer,
    is_test,
    read_notebook,
    strip_solution_markers,
)
from coursekit.nbgrader_run import run_nbgrader
from coursekit.testing import (
    apply_mutant,
    load_mutants,
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
ATTACKERS = ("files", "kernel", "resources", "clock")
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
    return {r["student"]: r for r in results}


def _tree_hash(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(skip) and "__pycache__" not in rel:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _leftover_processes() -> list[str]:
    """Processes of the sandbox's user still running what the attacks started."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or proc.stat().st_uid != sb.SANDBOX_UID:
                continue
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "ipykernel" in cmd or "sleep 600" in cmd:
            found.append(f"{proc.name}: {cmd[:80]}")
    return found


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
    grader_outputs = ("gradebook.db", "autograded/", "grading/")  # what the batch writes
    before = _tree_hash(course, skip=grader_outputs), _tree_hash(REPO / "vgcourse")
    order = [HONEST, BLANK, *ATTACKERS, COPIED]
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
            "before": before, "after": after, "leftover": _leftover_processes()}


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
    copied = copy.deepcopy(honest)
    at = next(i for i, c in enumerate(copied.cells) if grade_id(c) == "test_sigmoid")
    paste = copy.deepcopy(copied.cells[at])
    paste["id"] = "pasted-copy"
    copied.cells.insert(at + 1, paste)  # JupyterLab's copy keeps the nbgrader metadata
    del next(c for c in copied.cells if grade_id(c) == "setup").metadata["nbgrader"]
    return {HONEST: honest, BLANK: copy.deepcopy(release), "files": files, "kernel": kernel,
            "resources": resources, "clock": clock, COPIED: copied}


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
def test_an_attack_scores_at_most_the_blank_control_or_is_flagged(batch, attacker):
    res, blank = batch["results"][attacker], batch["results"][BLANK]
    assert res["score"] <= blank["score"] or res["status"] == "flagged", res
    for cell in res["cells"]:
        if cell["kind"] == "autograded":
            assert cell["auto_score"] <= _cell(blank, cell["grade_id"])["auto_score"], cell


@pytest.mark.slow
def test_in_kernel_tricks_are_flagged_with_reasons(batch):
    res = batch["results"]["kernel"]
    assert res["status"] == "flagged"
    text = "\n".join(res["reasons"])
    for needle in ("'get_ipython'", "'setattr'", "_getframe", "np.allclose", "torch.allclose",
                   "'f_locals'", "rebinds 'check_close'"):
        assert needle in text, (needle, text)


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
    assert batch["results"]["files"]["status"] == "flagged"  # it imports os, socket, sqlite3


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
    assert res["status"] == "flagged"  # the attack cell imports os, subprocess, signal
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
def test_a_copied_test_cell_and_a_stripped_locked_cell_are_graded_not_flagged(batch):
    res, honest = batch["results"][COPIED], batch["results"][HONEST]
    assert res["status"] == "graded", res["reasons"]
    assert res["score"] == honest["score"]
    text = "\n".join(res["reasons"])
    assert "'test_sigmoid' appeared 2 times" in text and "'setup' had lost" in text, text


# ---------------------------------------------------------------------------------------------
# Without a kernel: the static scan on every honest submission and on each attack alone
# ---------------------------------------------------------------------------------------------
def _honest_notebooks(assignment):
    source = read_notebook(assignment.notebook)
    mutants = load_mutants(assignment.mutant_bank)
    solutions = {grade_id(c): strip_solution_markers(c.source)
                 for c in source.cells if is_answer(c)}
    yield "source", source
    yield "solution", solved(source, source)
    for m in mutants:
        answer = apply_mutant(m, solutions[m["cell"]])
        yield m["name"], solved(source, source, {m["cell"]: answer})


@pytest.mark.parametrize("assignment", discover_assignments(), ids=str)
def test_no_honest_submission_of_any_bank_is_flagged(assignment):
    rules = worker.scan_rules(read_notebook(assignment.notebook))
    for name, nb in _honest_notebooks(assignment):
        cells = [(label, src) for label, src, _ in worker.student_cells(nb)]
        assert tamper.scan_cells(cells, rules) == [], name


ATTACKS = {
    "rebind a helper": "check_close = lambda *a, **k: None",
    "patch a helper": "import vgcourse.grading as G\nG.check_close = print",
    "patch through an alias": "import numpy\nt = numpy.testing\nt.assert_allclose = print",
    "patch np.allclose": "np.allclose = lambda *a, **k: True",
    "patch torch.allclose": "torch.allclose = lambda *a, **k: True",
    "patch Tensor": "torch.Tensor.allclose = lambda *a, **k: True",
    "setattr": "setattr(np, 'allclose', print)",
    "input transformer": "get_ipython().input_transformers_post.append(lambda l: [])",
    "custom exception": "ip = get_ipython()\nip.set_custom_exc((Exception,), print)",
    "showtraceback": "from IPython.core.interactiveshell import InteractiveShell",
    "frame": "import sys\ndef sigmoid(x):\n    return sys._getframe(1).f_locals['expected']",
    "inspect": "import inspect\ndef sigmoid(x):\n    return inspect.stack()[1][0]",
    "traceback frame": "try:\n    1/0\nexcept Exception as e:\n    f = e.__traceback__",
    "always equal": "class Yes:\n    def __eq__(self, other):\n        return True",
    "array subclass": "class A(np.ndarray):\n    pass",
    "builtins": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "eval": "eval('1')",
    "dunder globals": "def f(): pass\nf.__globals__['check_close'] = print",
    "magic": "%load_ext foo",
    "shell": "!rm -rf /",
    "on-disk edit": "import os\nos.system('echo > vgcourse/grading.py')",
    "ctypes": "import ctypes",
    "relative import": "from . import grading",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_alone_is_flagged_by_the_static_scan(attack):
    assignment = next(a for a in discover_assignments() if a.name == ASSIGNMENT)
    rules = worker.scan_rules(read_notebook(assignment.notebook))
    assert tamper.scan_cells([("cell 3", ATTACKS[attack])], rules) != []


def test_the_runtime_probe_sees_a_patch_the_scan_would_have_refused():
    """The probe, run in a real IPython shell before and after a patch, reports what changed."""
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "import json, numpy, torch\n"
        "from coursekit import tamper\n"
        "ip = InteractiveShell.instance()\n"
        "ns = {}\n"
        "def probe():\n"
        "    ip.run_cell(tamper.probe_code(), silent=True)\n"
        "    return repr(ip.user_ns.pop('_coursekit_probe'))\n"
        "events = [{'kind': 'probe', 'grade_id': None, 'result': probe()}]\n"
        "events.append({'kind': 'probe', 'grade_id': 't1', 'result': probe()})\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "ip.input_transformers_post.append(lambda lines: lines)\n"
        "events.append({'kind': 'probe', 'grade_id': 't2', 'result': probe()})\n"
        "print(json.dumps(tamper.probe_findings(events)))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout.strip().splitlines()[-1])
    assert [gid for gid, _ in findings] == ["t2"], findings
    assert "numpy.allclose" in findings[0][1] and "ipython" in findings[0][1], findings


@pytest.mark.slow
def test_feedback_shows_outcomes_never_hidden_tests_and_renders_math_offline(batch, tmp_path):
    from coursekit import feedback

    assignment = next(a for a in discover_assignments() if a.name == ASSIGNMENT)
    source = read_notebook(assignment.notebook)
    hidden = {line for cell in source.cells if is_test(cell)
              for line in secret_lines(source).get(grade_id(cell), set())}
    assert hidden, "the assignment has hidden tests to keep out of the feedback"
    for student in (HONEST, BLANK, "resources"):
        page = feedback.write_feedback(batch["results"][student], tmp_path / student)
        text = page.read_text()
        leaked = sorted(line for line in hidden if line in text)
        assert leaked == [], (student, leaked)
        assert (page.parent / "mathjax" / "tex-mml-chtml.js").is_file()
        assert "src='mathjax/tex-mml-chtml.js'" in text and "http" not in text.split("<body>")[0]
    blank = (tmp_path / BLANK / f"{ASSIGNMENT}.html").read_text()
    assert "test_sigmoid</b>: failed" in blank and "NotImplementedError" in blank
    honest = (tmp_path / HONEST / f"{ASSIGNMENT}.html").read_text()
    assert "test_sigmoid</b>: passed" in honest and "$" in honest

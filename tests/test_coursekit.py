"""coursekit's rules and commands on small throw-away courses (no notebook is executed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit.assignments import discover_assignments
from coursekit.commands import invalid_submissions
from coursekit.nbgrader_run import nbgrader_env, venv_env
from harness import find_assignment, misnamed_folders


def _notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), str(path))


def test_an_assignment_is_a_folder_holding_its_own_notebook(tmp_path):
    _notebook(tmp_path / "ps1_a" / "ps1_a.ipynb")
    _notebook(tmp_path / "hw2" / "hw2.ipynb")  # any name, not only ps*
    _notebook(tmp_path / "ps3_b" / "other.ipynb")  # misnamed: not an assignment
    _notebook(tmp_path / ".ipynb_checkpoints" / ".ipynb_checkpoints.ipynb")
    (tmp_path / "empty").mkdir()
    found = discover_assignments(tmp_path, mutant_root=tmp_path / "banks")
    assert [a.name for a in found] == ["hw2", "ps1_a"]
    assert found[1].notebook == tmp_path / "ps1_a" / "ps1_a.ipynb"
    assert found[1].mutant_bank == tmp_path / "banks" / "ps1_a.py"
    assert [d.name for d in misnamed_folders(tmp_path)] == ["ps3_b"]
    assert find_assignment("hw2", tmp_path).name == "hw2"
    try:
        find_assignment("ps3_b", tmp_path)
    except ValueError as err:
        assert "received 'ps3_b'" in str(err) and "['hw2', 'ps1_a']" in str(err)
    else:
        raise AssertionError("a misnamed folder was accepted as an assignment")


def test_the_course_assignments_follow_the_rule():
    assert [a.name for a in discover_assignments()], "no assignment in exercises/source/"
    assert not misnamed_folders()


def test_invalid_json_submissions_are_listed_by_path(tmp_path):
    good = tmp_path / "submitted" / "ann" / "ps1_a" / "ps1_a.ipynb"
    bad = tmp_path / "submitted" / "bob" / "ps1_a" / "ps1_a.ipynb"
    _notebook(good)
    bad.parent.mkdir(parents=True)
    bad.write_text('{"cells": [')
    lines = invalid_submissions(tmp_path)
    assert len(lines) == 1 and str(bad) in lines[0]
    assert lines[0].startswith("NOT A VALID NOTEBOOK (cannot be graded)")


def test_nbgrader_runs_with_the_venv_first_on_path():
    env = nbgrader_env()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["JUPYTER_PLATFORM_DIRS"] == "1" and env["PYTHONHASHSEED"] == "0"
    # the book build keeps the caller's hash seed
    assert venv_env().get("PYTHONHASHSEED") == os.environ.get("PYTHONHASHSEED")


def test_the_trusted_grader_imports_neither_pytorch_nor_matplotlib():
    """A grading process judges decoded values: importing the grader, the course package's
    grading and variant helpers and the package itself leaves PyTorch and Matplotlib (seconds
    of start-up for every grading process) to the kernels that use them."""
    code = ("import sys, coursekit.batch, coursekit.worker, vgcourse, vgcourse.grading, "
            "vgcourse.variants; print(sorted(m for m in ('torch', 'matplotlib', "
            "'rfc3987_syntax') if sys.modules.get(m)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "coursekit", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.kernel  # three runs of the command line, each a fresh Python importing nbgrader
def test_the_cli_refuses_an_empty_course(tmp_path):
    (tmp_path / "source").mkdir()
    done = _cli("release", "--course", str(tmp_path))
    assert done.returncode == 1 and "No assignment in" in done.stdout
    done = _cli("autograde", "--course", str(tmp_path))
    assert done.returncode == 1 and "No submissions: put them in" in done.stdout
    done = _cli("regrade")
    assert done.returncode == 2 and "invalid choice: 'regrade'" in done.stderr

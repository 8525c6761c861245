"""How nbgrader is run: its environment, its configuration, and the scores it wrote.

nbgrader runs the ``alembic`` command from ``PATH`` when it opens a gradebook; ``alembic``
lives beside this Python (``.venv/bin``), which is not on ``PATH`` when the venv is not
activated. This module is the one place that puts it there: every nbgrader call of the project
goes through :func:`run_nbgrader` (a subprocess, :func:`venv_env`) or, in-process, inside
:func:`venv_on_path` (:func:`autograde_in_process`, what a grading worker runs for each
submission without paying nbgrader's start-up again); a whole grading process calls
:func:`use_venv_bin`. (The command line is ``coursekit.commands``.)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

#: Wall-clock limit of one nbgrader command run by the tests and benchmarks.
NBGRADER_CALL_LIMIT_S = 1200


def bin_dir() -> Path:
    """The folder of this Python's scripts (``.venv/bin``): nbgrader, alembic, jupyter-book."""
    return Path(sys.executable).parent


def venv_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess running the venv's tools (nbgrader, jupyter-book): the
    venv's bin first on PATH and Jupyter's platform folders."""
    path = os.pathsep.join([str(bin_dir()), os.environ.get("PATH", "")])
    return dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PATH=path, **extra)


def nbgrader_env() -> dict[str, str]:
    """:func:`venv_env` with a fixed hash seed (grading the same notebook twice gives the same
    scores)."""
    return venv_env(PYTHONHASHSEED="0")


def use_venv_bin() -> None:
    """For a whole grading process (a batch's coordinator or worker): the venv's bin first on
    PATH from now on, and Jupyter's platform folders (:func:`venv_env` does the same for one
    subprocess, :func:`venv_on_path` for one block)."""
    bindir = str(bin_dir())
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


@contextlib.contextmanager
def venv_on_path() -> Iterator[None]:
    """In-process nbgrader (the book extension): the venv's bin first on PATH meanwhile."""
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(bin_dir()), path])
    try:
        yield
    finally:
        os.environ["PATH"] = path


def run_nbgrader(args: list[str], course: Path, *, limit_s: int | None = NBGRADER_CALL_LIMIT_S,
                 capture: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in the course folder with :func:`nbgrader_env`.

    With ``capture=False`` its output goes to this process's stdout and stderr (the CLI).
    """
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course, env=nbgrader_env(), capture_output=capture, text=True, timeout=limit_s,
    )


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """Environment variables set meanwhile (in-process nbgrader reads some of its settings, and
    the sandbox's kernel manager its configuration, from the environment)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def autograde_in_process(course: Path, assignment: str, student: str, extra=None,
                         **env: str) -> tuple[bool, str]:
    """``nbgrader autograde ASSIGNMENT --student STUDENT --create --force`` in this process,
    with the course's ``nbgrader_config.py`` (and nothing of the user's Jupyter config) and the
    traitlets Config ``extra`` laid over it: nbgrader's own ``NbGraderAPI.autograde``. ``env``
    is set meanwhile. Returns (success, nbgrader's log and traceback)."""
    from nbgrader.apps import NbGraderAPI

    config = load_config(Path(course))
    config.CourseDirectory.root = str(course)
    if extra is not None:
        config.merge(extra)
    with venv_on_path(), environ(JUPYTER_PLATFORM_DIRS="1", **env), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's autoflush
        api = NbGraderAPI(config=config)
        done = api.autograde(assignment, student, force=True, create=True)
    return bool(done.get("success")), f"{done.get('log', '')}{done.get('error', '')}"


def load_config(course: Path):
    """The course's ``nbgrader_config.py`` (if any) as a traitlets Config."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course / "nbgrader_config.py").is_file():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    return config


def read_scores(course: Path, assignment: str, student: str | None = None
                ) -> dict[str, dict[str, tuple[float | None, float]]]:
    """student -> {grade_id: (auto_score, max_score)} from the course's ``gradebook.db``, for
    every submission of ``assignment`` (only ``student``'s, when given)."""
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, dict[str, tuple[float | None, float]]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            subs = ([gb.find_submission(assignment, student)] if student is not None
                    else gb.assignment_submissions(assignment))
        except MissingEntry:
            subs = []
        for sub in subs:
            cells: dict[str, tuple[float | None, float]] = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[g.name] = (g.auto_score, float(g.max_score))
            out[sub.student.id] = cells
    return out

"""How nbgrader is run: its environment, its configuration, and a course folder's files.

nbgrader runs the ``alembic`` command from ``PATH`` when it opens a gradebook; ``alembic``
lives beside this Python (``.venv/bin``), which is not on ``PATH`` when the venv is not
activated. Every nbgrader call of the project goes through :func:`run_nbgrader` (a
subprocess) or, in-process, inside :func:`venv_on_path` (:func:`autograde_in_process`, what a
grading worker runs for each submission without paying nbgrader's start-up again).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import nbformat

from .assignments import COURSE_CONFIG, Assignment

#: Wall-clock limit of one nbgrader command run by the tests and benchmarks.
NBGRADER_CALL_LIMIT_S = 1200
#: Marks the looping cell of the infinite-loop case (see :func:`make_course`).
LOOP_MARKER = "# a forgotten infinite loop"
#: Cell timeout of that looping cell in a test course: short, so the case costs little. Every
#: other cell keeps the course's own ``Execute.timeout`` (a loaded machine can take over 15 s
#: to ``import torch``).
TEST_CELL_TIMEOUT_S = 10


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

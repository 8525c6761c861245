"""Shared fixtures: the session's single book build.

``built_book`` builds the whole book ONCE per pytest session with the gate's command,
``jupyter-book build book/ --all -W -n --keep-going``, into a temporary output folder, and returns
the path of its ``_build/html`` folder (used by test_book_build.py, the published-book and the
browser tests). Every ``claim``/``fact``/``agrees`` a chapter makes while it executes is logged
to ``claims.jsonl`` beside ``_build`` (``BookBuild.claims``; read by test_claims.py). If the
build fails, every test that needs it errors with the build's log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from classroom import plain_grades, released_class  # noqa: F401 (session fixtures)

from coursekit.nbgrader_run import bin_dir, venv_env

REPO = Path(__file__).resolve().parents[1]
#: Fixtures that build the book or grade a class through nbgrader and kernels (minutes): a test
#: that uses one, directly or through another fixture, is ``slow``, so the fast lane
#: (``make check``: ``-m "not slow and not kernel and not browser"``) never builds or grades.
SLOW_FIXTURES = frozenset({"book_build", "built_book", "released_class", "plain_grades",
                           "graded", "batch", "batch_run", "dask_cluster", "postgres_url",
                           "sandbox"})
#: The whole book must build well within this (eight chapters of under 60 s each, plus Sphinx).
BOOK_BUILD_LIMIT_S = 1800


@dataclass(frozen=True)
class BookBuild:
    """The result of one ``jupyter-book build``."""

    returncode: int
    log: str
    html: Path
    seconds: float
    claims: Path


def jupyter_book_build(source: Path, output: Path, *extra: str,
                       limit_s: int = BOOK_BUILD_LIMIT_S) -> BookBuild:
    """Run ``jupyter-book build SOURCE --all -W -n --keep-going --path-output OUTPUT``, logging
    the chapters' claims to ``OUTPUT/claims.jsonl`` (see :mod:`vgcourse.claims`)."""
    jb = bin_dir() / "jupyter-book"
    command = [str(jb), "build", str(source), "--all", "-W", "-n", "--keep-going",
               "--path-output", str(output), *extra]
    claims = output / "claims.jsonl"
    output.mkdir(parents=True, exist_ok=True)
    claims.unlink(missing_ok=True)
    env = venv_env(VGCOURSE_CLAIMS_LOG=str(claims))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=limit_s)
    return BookBuild(done.returncode, done.stdout + done.stderr, output / "_build" / "html",
                     time.perf_counter() - start, claims)


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    """The whole book, built once per session with the gate's flags (see module docstring).

    The build's execution cache (``_build/.jupyter_cache``, shared with ``make book``) is
    cleared first: a chapter served from the cache would not run, and its claims would not be
    checked or logged. The build leaves a fresh cache behind.
    """
    shutil.rmtree(REPO / "_build" / ".jupyter_cache", ignore_errors=True)
    return jupyter_book_build(REPO / "book", tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def built_book(book_build: BookBuild) -> Path:
    """Path of the session build's ``_build/html`` folder; errors if the build failed."""
    if book_build.returncode != 0 or not (book_build.html / "index.html").is_file():
        pytest.fail(
            f"jupyter-book build failed (exit {book_build.returncode}):\n{book_build.log[-8000:]}",
            pytrace=False,
        )
    return book_build.html


@pytest.fixture(scope="session")
def sandbox() -> None:
    """Skip, saying why, where the grading sandbox cannot run (bubblewrap, user namespaces,
    cgroups); under ``VGCOURSE_REQUIRE_SANDBOX`` (``.ci/run`` sets it) fail instead."""
    from coursekit.sandbox import sandbox_available

    ok, why = sandbox_available()
    if not ok:
        if os.environ.get("VGCOURSE_REQUIRE_SANDBOX"):
            pytest.fail(f"the sandbox is required here (VGCOURSE_REQUIRE_SANDBOX) but: {why}")
        pytest.skip(f"SKIPPED: the grading sandbox is not available on this machine: {why}")


def pytest_collection_modifyitems(items) -> None:
    """Mark ``slow`` every test that uses a fixture of :data:`SLOW_FIXTURES` (the marker then
    follows the fixture, not a list of test names)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter):
    """Print how long each assignment's autograde batch took (tests/test_autograder.py), and
    each chapter download and blank exercise in the student's environment (test_student_env)."""
    student = getattr(sys.modules.get("test_student_env"), "TIMINGS", None)
    if student:
        terminalreporter.section("run time in the student's environment")
        for name, seconds in student.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")
    graders = sys.modules.get("graders")
    timings = getattr(graders, "TIMINGS", None)
    if not timings:
        return
    terminalreporter.section("autograde time per assignment")
    for name, s in timings.items():
        n = int(s.get("submissions", 0)) or 1
        terminalreporter.write_line(
            f"{name}: generate_assignment {s.get('generate_assignment', 0):.1f} s, "
            f"autograde {s.get('autograde', 0):.1f} s for {n} submissions "
            f"({s.get('autograde', 0) / n:.1f} s each)"
        )


@pytest.fixture(autouse=True, scope="module")
def _templates_end_with_their_module():
    """A module that grades in this process (``grade_submission`` directly) starts a kernel
    template here; it ends with the module, so that the next module's check that no kernel or
    template outlives a batch sees only that batch's."""
    yield
    warm = sys.modules.get("coursekit.warm_kernels")
    if warm is not None:
        warm.close_all()

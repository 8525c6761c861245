"""The gradebook on a real PostgreSQL server: a throw-away server on 127.0.0.1 (``initdb`` in
its own temporary data folder, run as an unprivileged user since postgres refuses root, stopped
at the end); the course's assignment is released into it and a batch is graded into it with two
workers. The scores must equal plain ``nbgrader autograde``'s with SQLite.

Without PostgreSQL server binaries the test is skipped, saying so; under CI (``CI=true``) it
fails instead (.ci/run installs Debian's ``postgresql``).
"""

from __future__ import annotations

import glob
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from classroom import (
    ASSIGNMENT,
    copy_course,
)

from coursekit import batch
from coursekit.nbgrader_run import run_nbgrader as nbgrader
from harness import gradebook_scores

pytestmark = pytest.mark.slow
UNPRIVILEGED = "nobody"


def server_bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (PATH, else Debian's /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(Path(p).parts[-3]))
    return Path(dirs[-1]).parent if dirs else None


def as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", UNPRIVILEGED, "--", *args] if os.geteuid() == 0 else args


@pytest.fixture
def postgres_url():
    bindir = server_bindir()
    if bindir is None:
        message = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                   "`postgresql` package to run the PostgreSQL gradebook test")
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: this test must run in CI)")
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="vgcourse_pg_"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED)
        os.chown(data, user.pw_uid, user.pw_gid)
        os.chown(root, user.pw_uid, user.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = dict(check=True, capture_output=True, text=True, cwd=root)
    subprocess.run(as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "grader",
                                   "--auth=trust", "-E", "UTF8"]), **run)
    subprocess.run(as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "120",
                                   "-l", str(root / "server.log"), "-o",
                                   f"-h 127.0.0.1 -p {port} -k {root}", "start"]), **run)
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres")
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        conn.cursor().execute("CREATE DATABASE vgcourse")
        conn.close()
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/vgcourse"
    finally:
        subprocess.run(as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                       "-w", "stop"]), capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


def test_batch_grades_into_postgresql(postgres_url, released_class, plain_grades, tmp_path):
    course = copy_course(released_class[0], tmp_path)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    (course / "gradebook.db").unlink()
    released = nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    assert released.returncode == 0, released.stdout + released.stderr
    results = batch.grade_class(course, jobs=2, out=io.StringIO(), progress=False)
    assert sorted(r.student for r in results) == sorted(released_class[1])
    assert not (course / "gradebook.db").exists()  # nothing fell back to SQLite
    assert gradebook_scores(postgres_url, ASSIGNMENT) == plain_grades[0]

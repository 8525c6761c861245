"""Grading through a real Dask cluster: a ``dask scheduler`` and two ``dask worker`` processes
on 127.0.0.1 (the commands an HPC or Kubernetes deployment runs), driven by coursekit.batch.

The scores must equal plain ``nbgrader autograde``'s on the same class (classroom.plain_grades);
only the coordinating process writes the gradebook.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from classroom import ASSIGNMENT, copy_course

from coursekit import batch
from harness import gradebook_scores

pytestmark = pytest.mark.slow
DASK = Path(sys.executable).parent / "dask"
START_LIMIT_S = 180


@pytest.fixture
def dask_cluster(tmp_path):
    """The address of a scheduler with two single-threaded workers, all on loopback."""
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", OMP_NUM_THREADS="1",
               PATH=f"{DASK.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert info.exists(), "dask scheduler did not start"
        address = json.loads(info.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard", "--name", f"grader-{i}",
                 "--local-directory", str(tmp_path / f"worker-{i}")],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=START_LIMIT_S) as client:
            client.wait_for_workers(2, timeout=START_LIMIT_S)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_dask_scheduler_and_two_workers_grade_like_nbgrader(dask_cluster, released_class,
                                                             plain_grades, tmp_path):
    course = copy_course(released_class[0], tmp_path)
    out = io.StringIO()
    results = batch.grade_class(course, scheduler=dask_cluster, out=out, progress=False)
    assert sorted(r.student for r in results) == sorted(released_class[1])
    assert gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT) == plain_grades[0]
    assert f"{len(released_class[1])} graded now" in out.getvalue()

"""The sandbox's limit back-ends (coursekit.backends): chosen and reported per machine, and the
hostile resource cases graded on every back-end this machine can run.

- Without a kernel: the choice (``$SANDBOX`` names one, never a silent downgrade), the report of
  ``python -m coursekit.sandbox``, and the cgroup v2 bookkeeping (create, move, kill, remove) on
  a real cgroup2 mount (this machine binds the memory and pids controllers to v1, so the v2
  limits themselves cannot be written here).
- With kernels: ONE batch per back-end, through the batch ``make autograde`` runs, of the
  fixture assignment (NumPy only): two honest students, a blank one, and a memory bomb, a fork
  bomb with detached processes, 50 MB of output, a cell that never ends, a disk filler and a
  CPU hog. ``cgroup1`` grades as root; ``userns`` grades as an ordinary user (created when
  missing; ``.ci/run`` builds the venv from Debian's Python so that such a user can run it).
"""

from __future__ import annotations

import copy
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from coursekit import backends
from coursekit import sandbox as sb
from coursekit.cells import grade_id, read_notebook
from coursekit.nbgrader_run import run_nbgrader
from harness import leftover_processes, solved

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "course" / "source" / "fixture_ps"
ASSIGNMENT = "fixture_ps"
GRADER_USER = "coursekit-grader"
CLOCK_WALL_S = 40.0


# ---------------------------------------------------------------------------------------------
# Without a kernel
# ---------------------------------------------------------------------------------------------
def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match=r"SANDBOX: expected one of auto, cgroup2, .* 'docker'"):
        backends.choose(lambda as_root: None, "docker")


def test_a_named_backend_that_cannot_run_is_an_error_never_a_downgrade():
    def no_bwrap(as_root):
        return "bubblewrap cannot start a sandbox here: denied"

    with pytest.raises(backends.NoBackend, match="userns: bubblewrap cannot start"):
        backends.choose(no_bwrap, "userns")


def test_the_report_names_the_backend_its_limits_and_the_others_passed_over():
    chosen, others = backends.choose(lambda as_root: None, "userns")
    text = backends.describe(chosen, others)
    assert text.startswith("sandbox back-end: userns")
    assert "enforced: memory per process (RLIMIT_DATA)" in text
    assert "not enforced: memory of the whole sandbox" in text
    assert "passed over: container" in text and "passed over: systemd-run --scope" in text


def test_python_m_coursekit_sandbox_says_which_backend_and_why(sandbox):
    done = subprocess.run([sys.executable, "-m", "coursekit.sandbox"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sandbox back-end:" in done.stdout and "passed over: cgroup2" in done.stdout


@pytest.fixture
def cgroup2_mount(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a cgroup2 hierarchy needs root")
    mount = tmp_path / "cgroup2"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "cgroup2", "none", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount cgroup2 here: {done.stderr}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_cgroup2_bookkeeping_creates_moves_kills_and_removes(cgroup2_mount):
    """On a real cgroup2 mount: the submission's cgroup is created, a process moved into it the
    way the sandbox's shell moves itself, killed with everything it forked, and removed."""
    room = backends.Cgroup2(sb.Limits(), cgroup2_mount, require_controllers=False)
    assert room.path.is_dir() and room.path.parent.name == backends.CGROUP_PARENT
    script = f"{backends.join_script(room.procs_files())} && sleep 600 & sleep 600 & wait"
    shell = subprocess.Popen(["/bin/sh", "-c", script], start_new_session=True)
    for _ in range(100):
        if len(room.procs()) >= 2:
            break
        subprocess.run(["sleep", "0.05"])
    inside = room.procs()
    assert inside, "the process did not join the cgroup"
    assert room.destroy() == len(inside)
    assert not room.path.exists()
    for pid in inside:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), pid
    shell.wait(timeout=30)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


# ---------------------------------------------------------------------------------------------
# With kernels: the resource cases on each back-end
# ---------------------------------------------------------------------------------------------
ATTACKS = {
    "memory": ("def bomb():\n    blocks = []\n    while True:\n"
               "        blocks.append(b'x' * 2**26)\n\nbomb()"),
    "processes": (REPO / "tests" / "hostile" / "resources_attack.py").read_text(),
    "clock": "import time\nfor _ in range(10**9):  # never ends\n    time.sleep(1)",
    "output": "print('x' * 50_000_000)",
    "disk": textwrap.dedent("""\
        import os
        for folder in ("/home/student", "/tmp"):
            written = 0
            try:
                with open(os.path.join(folder, "filler"), "wb") as f:
                    while written < 8 * 2**30:
                        f.write(b"x" * 2**24)
                        written += 2**24
            except (OSError, MemoryError) as err:
                print(folder, "stopped after", written, "bytes:", type(err).__name__)
            if os.path.exists(os.path.join(folder, "filler")):
                os.remove(os.path.join(folder, "filler"))"""),
    "cpu": textwrap.dedent("""\
        import threading, time
        def spin(until):
            while time.time() < until:
                pass
        until = time.time() + 20
        threads = [threading.Thread(target=spin, args=(until,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()"""),
}
HONEST = ("honest_a", "honest_b")

DRIVER = textwrap.dedent("""\
    import io, json, sys
    from pathlib import Path
    from coursekit import sandbox as sb
    from coursekit.batch import grade_class, use_venv_bin
    from coursekit.worker import grade_submission

    def grade(course, assignment, student, sandbox=True):
        use_venv_bin()
        limits = sb.Limits(wall_s=%(wall)r) if student == "clock" else None
        return grade_submission(Path(course), assignment, student, limits=limits)

    if __name__ == "__main__":
        results = grade_class(Path(sys.argv[1]), jobs=2, grade=grade, out=io.StringIO(),
                              progress=False)
        Path(sys.argv[2]).write_text(json.dumps({r.student: r.to_json() for r in results}))
    """)


def _user_env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "OMP_NUM_THREADS")}
    return {**keep, "HOME": str(home), "JUPYTER_PLATFORM_DIRS": "1", "PYTHONPATH": "",
            "SANDBOX": "userns", "TMPDIR": "/tmp"}


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(GRADER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        GRADER_USER], check=True, capture_output=True)
        return pwd.getpwnam(GRADER_USER)


def _build_class(root: Path) -> Path:
    course = root / "course"
    (course / "source").mkdir(parents=True)
    shutil.copyfile(REPO / "exercises" / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(FIXTURE, course / "source" / ASSIGNMENT)
    done = run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    source = read_notebook(FIXTURE / f"{ASSIGNMENT}.ipynb")
    release = read_notebook(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    honest = solved(release, source)
    subs = {name: honest for name in HONEST} | {"blank": release}
    for name, code in ATTACKS.items():
        nb = copy.deepcopy(honest)
        at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "test_sigmoid")
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(code))
        subs[name] = nb
    for student, nb in subs.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{ASSIGNMENT}.ipynb"))
    return course


@pytest.fixture(scope="module", params=["cgroup1", "userns"])
def resource_batch(request, tmp_path_factory, sandbox):
    """(back-end, results) of one batch of the resource cases on that back-end."""
    name = request.param
    # the ordinary user of the userns case cannot enter pytest's private temporary folder
    root = (Path(tempfile.mkdtemp(prefix="coursekit-userns-", dir="/tmp")) if name == "userns"
            else tmp_path_factory.mktemp(f"backend_{name}"))
    if name == "userns":
        request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
        root.chmod(0o755)
    course = _build_class(root)
    (root / "driver.py").write_text(DRIVER % {"wall": CLOCK_WALL_S})
    out = root / "results.json"
    if name == "cgroup1":
        problem = backends.probe("cgroup1", sb._bwrap_check)
        if problem:
            pytest.skip(f"SKIPPED: the cgroup1 back-end cannot run here: {problem}")
        env = dict(os.environ, SANDBOX="cgroup1", PYTHONPATH=str(REPO))
        cmd = [sys.executable, str(root / "driver.py"), str(course), str(out)]
        uid = sb.SANDBOX_UID
    else:
        if os.geteuid() != 0:
            pytest.skip("SKIPPED: grading as another user needs root to create and become it")
        user = _ensure_user()
        home = root / "home"
        home.mkdir()
        for path in (root, *root.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid)
        env = _user_env(home)
        probe = subprocess.run(["runuser", "-u", GRADER_USER, "--", sys.executable, "-c",
                                "import coursekit, torch"], env=env, capture_output=True,
                               text=True, timeout=300)
        if probe.returncode != 0:
            pytest.fail(f"the user {GRADER_USER} cannot run this venv's Python ({sys.executable}"
                        f"): build the venv from a Python every user can read, as .ci/run "
                        f"does (PYTHON=/usr/bin/python3): {probe.stderr[-500:]}")
        cmd = ["runuser", "-u", GRADER_USER, "--", sys.executable, str(root / "driver.py"),
               str(course), str(out)]
        uid = user.pw_uid
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500,
                          cwd=root)
    assert done.returncode == 0 and out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    for student, res in sorted(results.items()):
        print(f"  {name} {student:10s} {res['status']:8s} {res['score']:g}/{res['max_score']:g} "
              f"{res['seconds']:.1f} s {res['reasons'][:2]}")
    return name, results, leftover_processes(uid), leftover_processes(sb.SANDBOX_UID)


def _cell(res: dict, gid: str) -> dict:
    return next(c for c in res["cells"] if c["grade_id"] == gid)


def _printed(res: dict) -> str:
    nb = nbformat.reads(next(iter(res["autograded"].values())), as_version=4)
    return "".join(str(o.get("text", "")) + str(o.get("ename", "")) + str(o.get("evalue", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_every_case_is_graded_and_the_honest_students_get_full_marks(resource_batch):
    name, results, _, _ = resource_batch
    assert sorted(results) == sorted([*HONEST, "blank", *ATTACKS])
    for student, res in results.items():
        assert res["status"] == "graded", (name, student, res["reasons"])
        assert _cell(res, "test_sigmoid")["auto_score"] == (0.0 if student == "blank" else 2.0)
    for student in (*HONEST, "cpu"):
        assert results[student]["score"] == results[student]["max_score"], (name, student)


@pytest.mark.slow
def test_each_resource_case_ends_with_a_reason(resource_batch):
    name, results, _, _ = resource_batch
    memory = results["memory"]
    if name == "userns":  # a per-process cap: the allocation fails, the kernel lives on
        assert "MemoryError" in _printed(memory)
    else:
        assert any("memory limit" in r for r in memory["reasons"]), memory["reasons"]
    processes = results["processes"]  # the kernel lives through the fork bomb and the kill
    assert "[output truncated" in _printed(processes)
    assert processes["score"] == processes["max_score"], processes
    assert any("wall clock" in r for r in results["clock"]["reasons"]), results["clock"]
    output = results["output"]  # a 50 MB line: one message over the grader's limit
    assert any("message over the grader's size limit" in r for r in output["reasons"]), output
    disk = results["disk"]  # a file-size cap, or the sandbox's memory (its home is a tmpfs)
    assert "stopped after" in _printed(disk) or any("memory limit" in r for r in disk["reasons"])


@pytest.mark.slow
def test_nothing_outlives_the_batch(resource_batch):
    name, _, grader_left, sandbox_left = resource_batch
    assert grader_left == [] and sandbox_left == [], (name, grader_left, sandbox_left)

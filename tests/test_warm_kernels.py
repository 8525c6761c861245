"""Kernels forked from one warm template (coursekit.warm_kernels) cannot reach each other or the
template: what one submission's kernel plants, the next kernel of the same template does not
find, and the template survives every attempt on it.

Each kernel runs through nbgrader's own execution path (nbclient with the course's
``SandboxKernelManager``), in the sandbox the grader gives a submission (``worker._kernel_room``),
so the same template serves both kernels of a test. The first kernel writes everywhere it can,
leaves a System V shared-memory segment, a listening socket and a detached process, and tries
to trace, read, signal and kill every other process it can see; the second one looks for all of
it. The reference is the template's own process (its pid and start time, from the host) and a
fresh kernel's view.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from coursekit import sandbox as sb
from coursekit import warm_kernels, worker
from coursekit.nbgrader_run import environ

pytestmark = pytest.mark.kernel

ok, why = sb.sandbox_available()
if not ok:
    pytest.skip(f"the sandbox is not available here: {why}", allow_module_level=True)

#: Where the first kernel plants a file (and in the template's folder of every submission's
#: folders, its sockets' grandparent: ``ROOT``).
PATHS = ["/tmp/planted", "/tmp/matplotlib/matplotlibrc", "/dev/shm/planted",
         "/home/student/planted", "/home/student/.ipython/profile_default/startup/00-planted.py",
         "/planted", "/dev/planted", "/usr/planted"]

PLANT = f"PATHS = {PATHS!r}\n" + textwrap.dedent(r'''
    import ctypes, json, os, signal, socket, subprocess
    from ipykernel.connect import get_connection_file
    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(get_connection_file())))
    libc = ctypes.CDLL(None, use_errno=True)
    done = {}
    for path in PATHS + [ROOT + "/planted"]:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("backend: module://planted\n")
            done[path] = "written"
        except OSError as err:
            done[path] = type(err).__name__
    done["shm"] = libc.shmget(0x5eed, 4096, 0o1666)  # IPC_CREAT | 0666
    listener = socket.socket(); listener.bind(("127.0.0.1", 47999)); listener.listen()
    subprocess.Popen(["sleep", "600"], start_new_session=True)
    seen = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    for pid in seen:
        if pid == int(os.readlink("/proc/self")):  # itself, as its /proc numbers it
            continue
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        for what in ("mem", "environ"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    f.read(16)
                done[f"read {pid} {what}"] = cmdline
            except OSError:
                pass
        libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH (a pid of its own namespace, if any)
        # a signal names a pid of the sender's own namespace: with its own /proc, every pid
        # listed but its own threads and the sleeper; with the template's /proc (the cgroup
        # back-ends), a listed number is no process of its namespace that it could reach
        own = os.readlink("/proc/self") == str(os.getpid())
        if own and str(pid) not in os.listdir("/proc/self/task") and "sleep" not in cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    print(json.dumps({"done": done, "pids": seen, "me": os.getpid(),
                      "ppid": os.getppid()}))
''')

LOOK = f"PATHS = {PATHS!r}\n" + textwrap.dedent(r'''
    import ctypes, json, os, socket
    from ipykernel.connect import get_connection_file
    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(get_connection_file())))
    libc = ctypes.CDLL(None, use_errno=True)
    found = [p for p in PATHS + [ROOT + "/planted"]
             if os.path.exists(p)]
    shm = libc.shmget(0x5eed, 4096, 0)
    try:
        socket.create_connection(("127.0.0.1", 47999), timeout=2).close()
        listening = True
    except OSError:
        listening = False
    procs = [open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
             for p in os.listdir("/proc") if p.isdigit()]
    print(json.dumps({"found": found, "shm": shm, "listening": listening,
                      "sleepers": [c for c in procs if c.startswith("sleep")],
                      "home": sorted(os.listdir(os.getcwd())), "me": os.getpid()}))
''')


def _run(code: str, tmp: Path, data: Path) -> dict:
    """Run ``code`` in one sandboxed kernel, the way the grader runs a submission; what it
    printed, as JSON."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    room = tmp / f"room{len(list(tmp.iterdir()))}"
    room.mkdir()
    with worker._kernel_room(room, [data / "data.txt"], data, True, sb.Limits(),
                             "record") as (env, cgroup), environ(**env):
        client = NotebookClient(nb, kernel_manager_class=sb.SandboxKernelManager, timeout=120,
                                startup_timeout=120, allow_errors=True)
        client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    errors = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert not errors, errors
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def two_kernels():
    """The planting kernel's report, the next kernel's, and the template's host pid and start
    time before and after (the same template serves both)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = tmp / "data"
        data.mkdir()
        (data / "data.txt").write_text("the instructor's data\n")
        chosen = sb.backend()
        template = warm_kernels.template(chosen)
        before = (template.pid, _start_time(template.pid))
        planted = _run(PLANT, tmp, data)
        looked = _run(LOOK, tmp, data)
        after = warm_kernels.template(chosen)
        yield planted, looked, before, (after.pid, _start_time(after.pid))


def _start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


@pytest.mark.skipif(not warm_kernels.enabled(), reason="COURSEKIT_KERNELS=fresh")
def test_the_template_survives_and_serves_the_next_kernel(two_kernels):
    """The planting kernel killed nothing of the template: the next kernel came from the same
    process (same host pid, same start time)."""
    _planted, _looked, before, after = two_kernels
    assert before == after


def test_nothing_planted_reaches_the_next_kernel(two_kernels):
    """No file, shared-memory segment, socket or process of the first kernel is found by the
    second, whose home holds only the instructor's data."""
    planted, looked, _before, _after = two_kernels
    assert "written" in planted["done"].values(), planted  # it did plant somewhere
    assert looked["found"] == [], looked
    assert looked["shm"] == -1, "a System V segment of the previous kernel is still there"
    assert not looked["listening"], "the previous kernel's socket is still listening"
    assert looked["sleepers"] == [], looked
    assert set(looked["home"]) - {".ipython"} == {"data.txt"}, looked  # its own IPython profile


def test_the_template_is_out_of_reach(two_kernels):
    """The kernel is the second process of its own pid namespace, as in bubblewrap's (its
    parent, an init, is the first); of the processes it can see,
    it could read the memory or environment of its own only (never the template's, nor its
    parent's, nor bubblewrap's); it could write nowhere in the template's file view. (It also
    signalled every pid it could: the template survived, and its parent too, since the
    kernel finished its cell.)"""
    planted, _looked, _before, _after = two_kernels
    assert (planted["me"], planted["ppid"]) == (2, 1), "not in a pid namespace of its own"
    read = {key: cmd for key, cmd in planted["done"].items() if key.startswith("read")}
    assert not [cmd for cmd in read.values() if "kernel_template" in cmd or "bwrap" in cmd], read
    for path in ("/planted", "/dev/planted", "/usr/planted"):
        assert planted["done"][path] != "written", path

"""Warm kernels: each grading process keeps one kernel template and forks a kernel per
submission from it, instead of starting a new interpreter and importing PyTorch every time.

The template (:mod:`coursekit.kernel_template`, whose docstring says what each child does before
any student code runs) runs in a sandbox of its own, built by the same bubblewrap call as a
fresh kernel's (:func:`coursekit.sandbox.sandbox_command`: read-only system and Python, no
network, its own pid, ipc and uts namespaces, uid 65534 without capabilities), with its whole
file view read-only except ``/tmp`` and the folder :attr:`Template.root`, both of which every
child covers. That folder, a tmpfs of :data:`ROOT_TMPFS_BYTES` when the grader is root, holds
one sub-folder per submission: the instructor's data files and the socket folder, made by the
grader for each submission (:meth:`Template.new_dirs`) and removed after it.

The grader (:meth:`Template.spawn`) finds the child's host pid, moves it into the submission's
cgroup before it goes on (the cgroup back-ends), and hands nbgrader's kernel manager a
:class:`KernelProcess` that signals the child through a pidfd, so a recycled pid is never
signalled. What a child cannot change: the template (not dumpable, in an outer pid namespace,
its folders covered by locked mounts) and therefore the next child. What children share: the
template's network namespace (loopback only; a child's sockets die with it, and children of one
template never run at the same time), and, on the cgroup back-ends, the template's ``/proc``
(the template and the submission's own processes, nothing of the host).
"""

from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from coursekit import backends
from coursekit import sandbox as sb

#: Size of the tmpfs that holds every submission's data files and sockets (root only).
ROOT_TMPFS_BYTES = 256 * 1024 * 1024
#: Seconds the template may take to import what it preloads, or to answer a request.
START_TIMEOUT_S = 180.0
#: Environment variable: ``fresh`` starts a new sandboxed interpreter for every kernel (the
#: slow path, kept for comparison); unset or ``warm`` forks kernels from a template.
KERNELS_ENV = "COURSEKIT_KERNELS"
TEMPLATE_SCRIPT = Path(__file__).with_name("kernel_template.py")

_TEMPLATES: dict[str, Template] = {}
_LOCK = threading.Lock()


def enabled() -> bool:
    """Whether kernels are forked from a template (``$COURSEKIT_KERNELS``: ``warm``, the default,
    or ``fresh``); any other value is an error."""
    value = os.environ.get(KERNELS_ENV, "warm").strip() or "warm"
    if value not in ("warm", "fresh"):
        raise ValueError(f"{KERNELS_ENV}: expected 'warm' or 'fresh', received {value!r}")
    return value == "warm"


def template(chosen: backends.Backend) -> Template:
    """This process's template for back-end ``chosen``, started (or restarted, when it died)
    here; call it from the thread that keeps running (bubblewrap dies with its parent thread)."""
    with _LOCK:
        current = _TEMPLATES.get(chosen.name)
        if current is not None and current.owner != os.getpid():
            current = None  # a forked process's copy of its parent's: the parent's to end
        if current is None or not current.alive():
            if current is not None:
                current.close()
            current = _TEMPLATES[chosen.name] = Template(chosen)
        return current


def by_root(root: str) -> Template:
    """The running template whose folder is ``root`` (what a kernel manager's config names)."""
    for current in _TEMPLATES.values():
        if str(current.root) == root:
            return current
    raise RuntimeError(f"no kernel template of this process has the folder {root}")


def close_all() -> None:
    """End every template this process started (bubblewrap ends them with it too, but only this
    unmounts their folders); run when the process exits, a pool's worker included."""
    with _LOCK:
        for current in _TEMPLATES.values():
            if current.owner == os.getpid():
                current.close()
        _TEMPLATES.clear()


atexit.register(close_all)
multiprocessing.util.Finalize(None, close_all, exitpriority=10)  # os._exit skips atexit


class Template:
    """One sandboxed template process (see the module docstring)."""

    def __init__(self, chosen: backends.Backend) -> None:
        self.backend = chosen
        self.owner = os.getpid()
        self.root = Path(tempfile.mkdtemp(prefix="coursekit-template-"))
        self._children: dict[str, list[KernelProcess]] = {}
        if os.geteuid() == 0:
            sb.mount_tmpfs(self.root, f"size={ROOT_TMPFS_BYTES},mode=0755", "coursekit-template")
        command = sb.template_command(chosen, self.root,
                                      [str(Path(sys.prefix).resolve() / "bin" / "python"),
                                       str(TEMPLATE_SCRIPT)])
        # what the template and its children write to stderr: only their own failures (every
        # kernel's descriptors go to /dev/null), read when the template does not answer
        self._errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._errors, start_new_session=True)
        ready = self._answer()
        if "ready" not in ready:
            self.close()
            raise RuntimeError(f"the kernel template did not start: {ready}")
        self.pid = self._host_pid(int(ready["ready"]), self.process.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _answer(self) -> dict:
        out = self.process.stdout
        ready, _, _ = select.select([out], [], [], START_TIMEOUT_S)
        line = out.readline() if ready else b""
        if not line:
            self._errors.seek(0)
            tail = self._errors.read()[-1500:].decode(errors="replace").strip()
            return {"error": f"the template did not answer ({tail or 'nothing on stderr'})"}
        return json.loads(line)

    @staticmethod
    def _host_pid(ns_pid: int, ancestor: int) -> int:
        """The host pid of the descendant of ``ancestor`` whose pid in its own namespace is
        ``ns_pid`` (``/proc/<pid>/status``: PPid, NSpid)."""
        for _ in range(200):
            parents: dict[int, int] = {}
            found = []
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    fields = dict(line.split(":", 1) for line in
                                  (proc / "status").read_text().splitlines() if ":" in line)
                except OSError:
                    continue
                parents[int(proc.name)] = int(fields["PPid"])
                if int(fields.get("NSpid", "0").split()[-1]) == ns_pid:
                    found.append(int(proc.name))
            for pid in found:
                up = pid
                while up in parents and up != ancestor:
                    up = parents[up]
                if up == ancestor and pid != ancestor:
                    return pid
            time.sleep(0.01)
        raise RuntimeError(f"no process {ns_pid} below {ancestor}")

    def new_dirs(self) -> tuple[Path, Path]:
        """(work, ipc) of a new submission under :attr:`root`: its data files, its sockets
        (owned by the kernel's user on the host: uid 65534 on the cgroup back-ends)."""
        base = self.root / uuid.uuid4().hex
        work, ipc = base / "work", base / "ipc"
        work.mkdir(parents=True)
        ipc.mkdir()
        if os.geteuid() == 0 and self.backend.as_root:
            os.chown(ipc, sb.SANDBOX_UID, sb.SANDBOX_UID)
        return work, ipc

    def spawn(self, config: sb.SandboxConfig, argv: list[str]) -> KernelProcess:
        """Fork a kernel for ``config``'s submission, in its room (see the module docstring).
        ``argv`` is the kernel's command line as its kernel spec gives it
        (``python [options] -m ipykernel_launcher -f CONNECTION_FILE ...``): what follows the
        launcher is the kernel's own arguments (the interpreter's options had their effect when
        the template started)."""
        launcher = next((i for i in range(1, len(argv) - 1)
                         if argv[i:i + 2] == ["-m", "ipykernel_launcher"]), None)
        if launcher is None:
            raise RuntimeError("a warm kernel must be ipykernel (python -m ipykernel_launcher), "
                               f"not {argv[:4]}: set {KERNELS_ENV}=fresh for this kernel spec")
        limits = config.limits()
        request = {"root": str(self.root), "work": config.work, "ipc": config.ipc,
                   "home": sb.SANDBOX_HOME, "argv": argv[launcher + 2:],
                   "env": sb.kernel_env(config), "tmpfs_bytes": limits.memory_bytes,
                   "rlimits": {name: [value, value] for name, value
                               in self.backend.rlimit_values(limits).items()}}
        with _LOCK:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            answer = self._answer()
        if "pid" not in answer:
            raise RuntimeError(f"the kernel template could not fork a kernel: {answer}")
        pid = self._host_pid(int(answer["pid"]), self.pid)
        child = KernelProcess(pid)
        self._children.setdefault(config.work, []).append(child)
        try:
            _wait_stopped(pid)
            backends.join(config.procs_files, pid)
            child.send_signal(signal.SIGCONT)
        except BaseException:
            child.kill()
            raise
        return child

    def finish(self, work: Path) -> None:
        """Kill what is left of the submission's kernels and remove its folders."""
        for child in self._children.pop(str(work), []):
            child.kill()
            child.wait(timeout=30)
        shutil.rmtree(work.parent, ignore_errors=True)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        sb.unmount(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_stopped(pid: int, timeout_s: float = 30.0) -> None:
    """Wait until the child has stopped itself (state T), before it is moved and continued."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("T", "t"):
            return
        time.sleep(0.002)
    raise RuntimeError(f"the kernel template's child {pid} did not stop")


class KernelProcess:
    """What jupyter_client's provisioner holds as the kernel's process (``Popen``'s interface):
    the template's child, signalled through a pidfd."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL  # the exit status belongs to the template
            os.close(self._fd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            select.select([self._fd], [], [], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        return code

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._fd, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

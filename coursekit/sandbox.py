"""The sandbox every submission's notebook kernel runs in.

A submission's kernel is started by :class:`SandboxKernelManager` (a jupyter_client
``AsyncKernelManager``; nbgrader's ``Execute`` preprocessor uses it through
``c.Execute.kernel_manager_class``) as::

    sh (joins the submission's cgroups) -> setpriv (uid/gid 65534, no new privileges, no
    capabilities) -> bwrap (new user, mount, pid, net, ipc, uts and cgroup namespaces,
    --die-with-parent) -> python -m ipykernel_launcher

Inside, the kernel sees the Python environment and the grader's ``vgcourse/`` read-only, a
private work folder (``/home/student``, holding only the instructor's data files, never files a
student shipped beside the notebook), a private ``/tmp`` and the folder of its ZeroMQ ``ipc``
sockets (a new network namespace has only its own loopback, so TCP to the grader is impossible).
That folder is a tmpfs of :data:`IPC_TMPFS_BYTES` mounted by the grader, so the kernel can write
nowhere on the host's disks; and every socket of the grader's client refuses a message over
``Limits.message_bytes`` before reading it (ZeroMQ's ``MAXMSGSIZE``), so no output the kernel
sends can grow the grader's memory past that.
Memory (no swap) and the number of processes are capped by cgroup v1 controllers, and the whole
cgroup is killed when the submission is done, so no process outlives it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager

from vgcourse.grading import MODE_ENV

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The parent cgroup of every submission's cgroup, in each v1 controller used.
CGROUP_PARENT = "coursekit"
CONTROLLERS = ("memory", "pids")
#: The unprivileged user the kernel runs as (``nobody``).
SANDBOX_UID = 65534
#: Where the kernel works inside the sandbox (its cwd and HOME).
SANDBOX_HOME = "/home/student"
#: Environment variable naming the JSON file that tells the kernel manager its sandbox.
CONFIG_ENV = "COURSEKIT_SANDBOX"
GIB = 1024**3
#: Size of the tmpfs that holds the kernel's ZeroMQ sockets (all it may write on the host side).
IPC_TMPFS_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Every size is in bytes, every time in seconds."""

    memory_bytes: int = 2 * GIB  # RAM of the whole sandbox; swap is not allowed on top
    pids: int = 256  # processes and threads of the whole sandbox
    wall_s: float = 600.0  # the whole submission, all cells together
    cell_output_bytes: int = 256 * 1024  # text kept of one cell's outputs
    notebook_output_bytes: int = 2 * 1024 * 1024  # text kept of all outputs together
    result_bytes: int = 8 * 1024 * 1024  # the JSON result of a submission
    message_bytes: int = 32 * 1024 * 1024  # one message part from the kernel, refused unread

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"Limits.{name}: expected a positive number, received {value!r}"
                )


_AVAILABLE: tuple[bool, str] | None = None


def sandbox_available() -> tuple[bool, str]:
    """(True, '') when this machine can run the sandbox, else (False, why not)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = _probe()
    return _AVAILABLE


def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, f"the sandbox needs Linux, this is {sys.platform}"
    for tool, package in ((BWRAP, "bubblewrap"), (SETPRIV, "util-linux")):
        if not os.access(tool, os.X_OK):
            return False, f"{tool} is missing (install the Debian package {package})"
    if os.geteuid() != 0:
        return False, "the sandbox writes cgroup v1 limits and must run as root"
    for controller in CONTROLLERS:
        if not os.access(CGROUP_ROOT / controller, os.W_OK):
            return False, f"no writable cgroup v1 controller at {CGROUP_ROOT / controller}"
    if not (CGROUP_ROOT / "memory" / "memory.memsw.limit_in_bytes").exists():
        return False, "the memory cgroup has no swap accounting (memory.memsw.*)"
    cmd = [BWRAP, *_base_bwrap_args(), "--", SETPRIV, *_setpriv_args(), "/bin/true"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        return False, f"bubblewrap cannot start a sandbox here: {run.stderr.strip()[:300]}"
    return True, ""


# ---------------------------------------------------------------------------------------------
# cgroups
# ---------------------------------------------------------------------------------------------
class Cgroup:
    """One submission's cgroup in the v1 memory and pids controllers."""

    def __init__(self, limits: Limits, name: str | None = None) -> None:
        self.name = name or f"sub-{uuid.uuid4().hex[:12]}"
        self.paths = [CGROUP_ROOT / c / CGROUP_PARENT / self.name for c in CONTROLLERS]
        for path in self.paths:
            path.mkdir(parents=True, exist_ok=True)
        memory, pids = self.paths
        limit = str(int(limits.memory_bytes))
        (memory / "memory.limit_in_bytes").write_text(limit)
        (memory / "memory.memsw.limit_in_bytes").write_text(limit)  # RAM + swap = RAM
        (memory / "memory.swappiness").write_text("0")
        (pids / "pids.max").write_text(str(int(limits.pids)))

    def procs(self) -> list[int]:
        pids: set[int] = set()
        for path in self.paths:
            try:
                pids.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except FileNotFoundError:
                pass
        return sorted(pids)

    def oom_killed(self) -> bool:
        """Whether the memory limit was reached and the kernel's OOM killer killed a process
        (``oom_kill`` of ``memory.oom_control``; ``failcnt`` stays 0 here when swap is 0)."""
        memory = self.paths[0]
        try:
            fields = dict(line.split() for line in
                          (memory / "memory.oom_control").read_text().splitlines())
            if int(fields.get("oom_kill", 0)) > 0:
                return True
            return int((memory / "memory.failcnt").read_text()) > 0
        except (FileNotFoundError, ValueError):
            return False

    def destroy(self) -> int:
        """SIGKILL every process left in the cgroup, remove it; the number of processes killed."""
        killed: set[int] = set()
        for _ in range(200):
            left = self.procs()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for path in self.paths:  # empty once the killed processes have been reaped
            for _ in range(600):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        return len(killed)


# ---------------------------------------------------------------------------------------------
# bubblewrap
# ---------------------------------------------------------------------------------------------
def _setpriv_args() -> list[str]:
    return [f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _base_bwrap_args() -> list[str]:
    """The system part of the sandbox's filesystem, all read-only, and every namespace but the
    user one (bwrap runs as root; the kernel's user is dropped by setpriv inside)."""
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup", "--die-with-parent", "--hostname", "sandbox"]
    for folder in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    for f in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd",
              "/etc/group"):
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    return args + ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chmod", "1777",
                   "/tmp"]


def python_mounts() -> list[Path]:
    """Folders of the Python environment the kernel needs, read-only: the interpreter's
    installation, the venv, and the grader's own ``vgcourse`` package (an editable install)."""
    import vgcourse

    folders = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
               Path(vgcourse.__file__).resolve().parent}
    return sorted(folders)


def sandbox_command(work: Path, ipc: Path, cgroup: str, command: list[str],
                    observe: str = "record") -> list[str]:
    """The command line that runs ``command`` in a submission's sandbox.

    A shell moves itself into the submission's cgroups; bwrap (still root, so that it can bind
    folders below root-only ones: the interpreter lives in /root/.pyenv here) builds the
    namespaces and the file view; inside, setpriv drops to the unprivileged user with no
    capabilities and no new privileges before the kernel starts. ``work`` holds the
    instructor's data files, each bound read-only into the kernel's private (tmpfs) home.
    ``observe`` is what ``vgcourse.grading.observe`` does there (``record`` or ``reference``).
    """
    import vgcourse

    package_root = Path(vgcourse.__file__).resolve().parent.parent
    binds = []
    for folder in python_mounts():
        binds += ["--ro-bind", str(folder), str(folder)]
    for f in sorted(p for p in work.rglob("*") if p.is_file()):
        binds += ["--ro-bind", str(f), f"{SANDBOX_HOME}/{f.relative_to(work)}"]
    binds += ["--bind", str(ipc), str(ipc)]
    dests = {Path(binds[i + 2]) for i in range(0, len(binds), 3)}
    parents = sorted({a for d in dests for a in d.parents if str(a) not in ("/", SANDBOX_HOME)})
    dirs = [arg for d in parents for arg in ("--perms", "0755", "--dir", str(d))]
    joins = " && ".join(
        f"echo $$ > {CGROUP_ROOT / c / CGROUP_PARENT / cgroup / 'cgroup.procs'}"
        for c in CONTROLLERS
    )
    env = {"HOME": SANDBOX_HOME, "PATH": f"{Path(sys.prefix).resolve() / 'bin'}:/usr/bin:/bin",
           "PYTHONPATH": str(package_root), "PYTHONDONTWRITEBYTECODE": "1",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "NBGRADER_EXECUTION": "autograde", "PYTHONHASHSEED": "0", MODE_ENV: observe}
    setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
    bwrap = [BWRAP, *_base_bwrap_args(), "--tmpfs", SANDBOX_HOME, *dirs, *binds,
             "--chmod", "0777", SANDBOX_HOME, "--chdir", SANDBOX_HOME, "--clearenv", *setenv,
             "--"]
    return ["/bin/sh", "-c", f'{joins} && exec "$@"', "coursekit-sandbox", *bwrap, SETPRIV,
            *_setpriv_args(), *command]


@dataclass(frozen=True)
class SandboxConfig:
    """What the trusted grader tells :class:`SandboxKernelManager` (a JSON file in the private
    course, named by ``$COURSEKIT_SANDBOX``)."""

    work: str  # host folder bound as the kernel's /home/student
    ipc: str  # host folder of the ZeroMQ ipc sockets and the connection file
    cgroup: str  # name of the submission's cgroup (created by the grader)
    observe: str = "record"  # $VGCOURSE_OBSERVE in the kernel
    message_bytes: int = Limits.message_bytes  # the largest message part the grader reads

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def from_env(cls) -> SandboxConfig:
        name = os.environ.get(CONFIG_ENV)
        if not name:
            raise RuntimeError(f"${CONFIG_ENV} is not set: the sandbox has no configuration")
        return cls(**json.loads(Path(name).read_text()))


def prepare_dirs(root: Path) -> tuple[Path, Path]:
    """(work, ipc) folders under ``root``: the instructor's data files for the kernel (read
    only to it) and the folder of its sockets, a tmpfs of :data:`IPC_TMPFS_BYTES` owned by the
    sandbox's user (:func:`release_dirs` unmounts it)."""
    work, ipc = root / "work", root / "ipc"
    work.mkdir(parents=True, exist_ok=True)
    ipc.mkdir(parents=True, exist_ok=True)
    options = f"size={IPC_TMPFS_BYTES},nr_inodes=64,mode=0755,uid={SANDBOX_UID},gid={SANDBOX_UID}"
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "coursekit-ipc", str(ipc)],
                         capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        raise RuntimeError(f"could not mount the sandbox's socket folder: {run.stderr.strip()}")
    return work, ipc


def release_dirs(root: Path) -> None:
    """Unmount the socket folder of :func:`prepare_dirs` (if mounted)."""
    ipc = root / "ipc"
    if os.path.ismount(ipc):
        subprocess.run(["umount", "-l", str(ipc)], capture_output=True, timeout=30)


_CLIENT_CONTEXTS: dict[int, zmq.asyncio.Context] = {}


def client_context(message_bytes: int) -> zmq.asyncio.Context:
    """The ZeroMQ context of the grader's kernel clients (one per process and limit): its
    sockets disconnect a peer that sends a message part over ``message_bytes``, unread."""
    if message_bytes not in _CLIENT_CONTEXTS:
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, int(message_bytes))
        _CLIENT_CONTEXTS[message_bytes] = context
    return _CLIENT_CONTEXTS[message_bytes]


def kernel_pids(cgroup: str) -> list[int]:
    """Host pids of the ipykernel processes in a submission's cgroup."""
    found = []
    procs = CGROUP_ROOT / "pids" / CGROUP_PARENT / cgroup / "cgroup.procs"
    for pid in procs.read_text().split() if procs.exists() else []:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ipykernel_launcher" in cmdline and not cmdline[0].endswith(b"bwrap"):
            found.append(int(pid))
    return found


def copy_into_work(files: list[Path], base: Path, work: Path) -> None:
    """Copy the instructor's data files (paths under ``base``) into the kernel's work folder."""
    for f in files:
        dest = work / f.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the submission's sandbox, talking to it
    over ZeroMQ ``ipc`` sockets in a folder bound into the sandbox."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = SandboxConfig.from_env()
        ipc = Path(self.sandbox.ipc)
        self.transport = "ipc"
        self.ip = str(ipc / "kernel")
        self.connection_file = str(ipc / "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return sandbox_command(Path(self.sandbox.work), Path(self.sandbox.ipc),
                               self.sandbox.cgroup, cmd, self.sandbox.observe)

    def client(self, **kwargs):
        """A client whose sockets refuse an oversized message before reading it."""
        kwargs.setdefault("context", client_context(self.sandbox.message_bytes))
        return super().client(**kwargs)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        """The kernel's own stdout and stderr (its start-up banner, whatever the submission
        writes to the file descriptors) go nowhere: the grader reads only the messages."""
        kw.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    async def interrupt_kernel(self) -> None:
        """SIGINT to the kernel process only. jupyter_client would signal the launcher's process
        group, which holds bwrap, and bwrap dies of SIGINT, taking the sandbox with it."""
        for pid in kernel_pids(self.sandbox.cgroup):
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o444)  # the kernel (uid 65534) must read it


def main() -> int:
    """``python -m coursekit.sandbox``: exit 0 if submissions can be sandboxed here, else say
    why and exit 1 (``make autograde`` refuses to grade then, unless ``SANDBOX=off``)."""
    ok, why = sandbox_available()
    print("sandbox: available (bubblewrap + cgroup v1 memory and pids)" if ok
          else f"sandbox: NOT available: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The sandbox every submission's notebook kernel runs in.

A submission's kernel is started by :class:`SandboxKernelManager` (a jupyter_client
``AsyncKernelManager``; nbgrader's ``Execute`` preprocessor uses it through
``c.Execute.kernel_manager_class``) as::

    sh (joins the submission's cgroup) -> bwrap (new mount, pid, net, ipc, uts and cgroup
    namespaces, --die-with-parent) -> setpriv (uid/gid 65534, no new privileges, no
    capabilities) -> python -m ipykernel_launcher

on the cgroup back-ends (root), or, on the ``userns`` back-end (an ordinary user)::

    prlimit (memory, file size, CPU seconds, processes) -> bwrap (a new user namespace too,
    uid 65534 inside, no capabilities) -> python -m ipykernel_launcher

(:mod:`coursekit.backends` says what each back-end bounds.)

Inside, the kernel sees the Python environment and the grader's ``vgcourse/`` read-only, a
private work folder (``/home/student``, holding only the instructor's data files, never files a
student shipped beside the notebook), a private ``/tmp`` and the folder of its ZeroMQ ``ipc``
sockets (a new network namespace has only its own loopback, so TCP to the grader is impossible).
As root that folder is a tmpfs of :data:`IPC_TMPFS_BYTES` mounted by the grader, so the kernel
can write nowhere on the host's disks; and every socket of the grader's client refuses a message
over ``Limits.message_bytes`` before reading it (ZeroMQ's ``MAXMSGSIZE``), so no output the kernel
sends can grow the grader's memory past that.
Memory and processes are capped by the back-end, and when the submission is done every one of
its processes is killed (the cgroup, or the pid namespace), so no process outlives it.

By default the kernel is not a new interpreter: :mod:`coursekit.warm_kernels` forks it from a
template that already imported PyTorch, in a sandbox built by the same bubblewrap call
(:func:`template_command`), and the forked kernel builds the rest of its sandbox itself before
any student code runs (:mod:`coursekit.kernel_template` says how, and what differs).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

from coursekit import backends

BWRAP = "/usr/bin/bwrap"
SETPRIV = "/usr/bin/setpriv"
PRLIMIT = "/usr/bin/prlimit"
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


_CHOSEN: dict[str, tuple[backends.Backend | None, str]] = {}


def backend() -> backends.Backend:
    """The back-end this process grades with (``$SANDBOX`` or the first usable one); raises
    :class:`coursekit.backends.NoBackend` when none can run."""
    chosen, why = _choice()
    if chosen is None:
        raise backends.NoBackend(why)
    return chosen


def _choice() -> tuple[backends.Backend | None, str]:
    key = os.environ.get(backends.CHOICE_ENV, "")
    if key not in _CHOSEN:
        try:
            chosen, others = backends.choose(_bwrap_check)
            _CHOSEN[key] = chosen, backends.describe(chosen, others)
        except (backends.NoBackend, ValueError) as err:
            _CHOSEN[key] = None, str(err)
    return _CHOSEN[key]


def sandbox_available() -> tuple[bool, str]:
    """(True, what the back-end enforces) when this machine can sandbox a submission, else
    (False, why not: each back-end's reason)."""
    chosen, text = _choice()
    return chosen is not None, text


def _bwrap_check(as_root: bool) -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux, this is {sys.platform}"
    tools = ((BWRAP, "bubblewrap"), (SETPRIV, "util-linux")) if as_root else (
        (BWRAP, "bubblewrap"), (PRLIMIT, "util-linux"))
    for tool, package in tools:
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (install the Debian package {package})"
    inner = [SETPRIV, *_setpriv_args(), "/bin/true"] if as_root else ["/bin/true"]
    return backends.run_checked([BWRAP, *_base_bwrap_args(as_root), "--", *inner])


# ---------------------------------------------------------------------------------------------
# bubblewrap
# ---------------------------------------------------------------------------------------------
def _setpriv_args() -> list[str]:
    return [f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _base_bwrap_args(as_root: bool = True) -> list[str]:
    """The system part of the sandbox's filesystem, all read-only, and the namespaces. As root
    every namespace but the user one (the kernel's user is dropped by setpriv inside); as an
    ordinary user a new user namespace too, uid 65534 inside, every capability dropped."""
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--hostname", "sandbox"]
    if not as_root:
        args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                 "--cap-drop", "ALL", "--new-session"]
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


def kernel_env(config: SandboxConfig | None) -> dict[str, str]:
    """The whole environment of a sandboxed kernel: ``config.observe`` is its
    ``$VGCOURSE_OBSERVE``, ``config.variant`` its ``$VGCOURSE_VARIANT`` (the environment of the
    kernel template, which has neither, for ``None``)."""
    import vgcourse  # here, not at the top: what only checks the sandbox never imports PyTorch
    from vgcourse.grading import MODE_ENV
    from vgcourse.variants import VARIANT_ENV

    package_root = Path(vgcourse.__file__).resolve().parent.parent
    env = {"HOME": SANDBOX_HOME, "PATH": f"{Path(sys.prefix).resolve() / 'bin'}:/usr/bin:/bin",
            "PYTHONPATH": str(package_root), "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            "NBGRADER_EXECUTION": "autograde", "PYTHONHASHSEED": "0"}
    if config is not None:
        env[MODE_ENV] = config.observe
        if config.variant:
            env[VARIANT_ENV] = config.variant
    return env


def _bwrap(as_root: bool, binds: list[str], env: dict[str, str], last: list[str]) -> list[str]:
    """bubblewrap's command line: the system (:func:`_base_bwrap_args`), the Python environment
    read-only, a private home, ``binds`` (triples such as ``--ro-bind SRC DEST``), a clean
    environment, then ``last`` (options that must come after every mount)."""
    for folder in python_mounts():
        binds = ["--ro-bind", str(folder), str(folder), *binds]
    dests = {Path(binds[i + 2]) for i in range(0, len(binds), 3)}
    parents = sorted({a for d in dests for a in d.parents if str(a) not in ("/", SANDBOX_HOME)})
    dirs = [arg for d in parents for arg in ("--perms", "0755", "--dir", str(d))]
    setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
    return [BWRAP, *_base_bwrap_args(as_root), "--tmpfs", SANDBOX_HOME, *dirs, *binds,
            "--chmod", "0777", SANDBOX_HOME, "--chdir", SANDBOX_HOME, "--clearenv", *setenv,
            *last, "--"]


def sandbox_command(work: Path, ipc: Path, config: SandboxConfig,
                    command: list[str]) -> list[str]:
    """The command line that runs ``command`` in a submission's sandbox.

    Cgroup back-ends: a shell moves itself into the submission's cgroup; bwrap (still root, so
    that it can bind folders below root-only ones, such as an interpreter under /root) builds
    the namespaces and the file view; inside, setpriv drops to the unprivileged user with no
    capabilities and no new privileges before the kernel starts. ``userns``: prlimit sets the
    resource limits, and bwrap, run by the grader's own user, adds a user namespace. ``work``
    holds the instructor's data files, each bound read-only into the kernel's private (tmpfs)
    home; ``config.observe`` is what ``vgcourse.grading.observe`` does there.
    """
    binds = []
    for f in sorted(p for p in work.rglob("*") if p.is_file()):
        binds += ["--ro-bind", str(f), f"{SANDBOX_HOME}/{f.relative_to(work)}"]
    binds += ["--bind", str(ipc), str(ipc)]
    chosen = backends.BACKENDS[config.backend]
    bwrap = _bwrap(chosen.as_root, binds, kernel_env(config), [])
    if not chosen.as_root:
        return [PRLIMIT, *chosen.rlimits(config.limits()), "--", *bwrap, *command]
    join = backends.join_script(config.procs_files)
    return ["/bin/sh", "-c", f'{join} && exec "$@"', "coursekit-sandbox", *bwrap,
            SETPRIV, *_setpriv_args(), *command]


def template_command(chosen: backends.Backend, root: Path, command: list[str]) -> list[str]:
    """The command line that runs the kernel template (:mod:`coursekit.warm_kernels`): the
    sandbox of :func:`sandbox_command` with ``root`` (every submission's folders) writable, the
    template's script read-only, and the rest of its view read-only (``/tmp`` apart, which every
    kernel covers). Not in any submission's cgroup, without resource limits (each kernel sets
    its own)."""
    script = Path(command[-1])
    binds = ["--ro-bind", str(script), str(script), "--bind", str(root), str(root)]
    bwrap = _bwrap(chosen.as_root, binds, kernel_env(None),
                   ["--dir", "/dev/shm", "--remount-ro", "/dev", "--remount-ro", SANDBOX_HOME,
                    "--remount-ro", "/"])
    if not chosen.as_root:
        return [*bwrap, *command]
    return [*bwrap, SETPRIV, *_setpriv_args(), *command]


@dataclass(frozen=True)
class SandboxConfig:
    """What the trusted grader tells :class:`SandboxKernelManager` (a JSON file in the private
    course, named by ``$COURSEKIT_SANDBOX``)."""

    work: str  # host folder bound as the kernel's /home/student
    ipc: str  # host folder of the ZeroMQ ipc sockets and the connection file
    backend: str  # the name of the back-end (coursekit.backends.BACKENDS)
    procs_files: list[str]  # where a process joins the submission's cgroup (none without one)
    observe: str = "record"  # $VGCOURSE_OBSERVE in the kernel
    limit_values: dict | None = None  # the submission's Limits, as a dict
    template: str = ""  # the folder of the kernel template it forks from ('' : a fresh kernel)
    variant: str = ""  # $VGCOURSE_VARIANT in the kernel (coursekit.variants), '' for none

    def limits(self) -> Limits:
        return Limits(**(self.limit_values or {}))

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def from_env(cls) -> SandboxConfig:
        name = os.environ.get(CONFIG_ENV)
        if not name:
            raise RuntimeError(f"${CONFIG_ENV} is not set: the sandbox has no configuration")
        return cls(**json.loads(Path(name).read_text()))


def prepare_dirs(root: Path, as_root: bool = True) -> tuple[Path, Path]:
    """(work, ipc) folders under ``root``: the instructor's data files for the kernel (read
    only to it) and the folder of its sockets: as root a tmpfs of :data:`IPC_TMPFS_BYTES` owned
    by the kernel's user on the host (uid 65534 for the cgroup back-ends, the grader's own in a
    user namespace; :func:`release_dirs` unmounts it), else an ordinary folder."""
    work, ipc = root / "work", root / "ipc"
    work.mkdir(parents=True, exist_ok=True)
    ipc.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return work, ipc
    owner = SANDBOX_UID if as_root else os.geteuid()
    mount_tmpfs(ipc, f"size={IPC_TMPFS_BYTES},nr_inodes=64,mode=0755,uid={owner},gid={owner}",
                "coursekit-ipc")
    return work, ipc


def mount_tmpfs(target: Path, options: str, name: str) -> None:
    """Mount a tmpfs with ``options`` on ``target`` (root only)."""
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", options, name, str(target)],
                         capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        raise RuntimeError(f"could not mount {name} on {target}: {run.stderr.strip()}")


def unmount(target: Path) -> None:
    """Unmount ``target`` if something is mounted there."""
    if os.path.ismount(target):
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


def release_dirs(root: Path) -> None:
    """Unmount the socket folder of :func:`prepare_dirs` (if mounted)."""
    unmount(root / "ipc")


_CLIENT_CONTEXTS: dict[int, zmq.asyncio.Context] = {}


def client_context(message_bytes: int) -> zmq.asyncio.Context:
    """The ZeroMQ context of the grader's kernel clients (one per process and limit): its
    sockets disconnect a peer that sends a message part over ``message_bytes``, unread."""
    if message_bytes not in _CLIENT_CONTEXTS:
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, int(message_bytes))
        _CLIENT_CONTEXTS[message_bytes] = context
    return _CLIENT_CONTEXTS[message_bytes]


def kernel_pids(connection_file: str) -> list[int]:
    """Host pids of the ipykernel process started with ``connection_file`` (one submission's:
    the file lies in its own socket folder)."""
    found = []
    wanted = connection_file.encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (b"-m" in cmdline and b"ipykernel_launcher" in cmdline and wanted in cmdline
                and not cmdline[0].endswith((b"bwrap", b"prlimit", b"sh"))):
            found.append(int(proc.name))
    return found


def copy_into_work(files: list[Path], base: Path, work: Path) -> None:
    """Copy the instructor's data files (paths under ``base``) into the kernel's work folder."""
    for f in files:
        dest = work / f.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)


class SandboxKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, except that :meth:`wait_for_ready` stops reading
    IOPub at the kernel's idle status for its request, where jupyter_client waits for 0.2 s of
    silence on IOPub (a fifth of a second per submission, spent on nothing)."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel has answered ``kernel_info`` on the shell channel and its
        busy and idle statuses have arrived on IOPub (IOPub is connected, and nothing the kernel
        sent before is left unread); raise ``RuntimeError`` when it died or ``timeout`` seconds
        passed."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and \
                    await self._idle_after(reply["parent_header"].get("msg_id")):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _idle_after(self, msg_id: str | None, silence_s: float = 0.5) -> bool:
        """Read IOPub up to the idle status of request ``msg_id`` (True), or until
        ``silence_s`` seconds pass without a message (False: IOPub was not connected yet)."""
        while True:
            try:
                msg = await self.iopub_channel.get_msg(timeout=silence_s)
            except Empty:
                return False
            if (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id
                    and msg["content"].get("execution_state") == "idle"):
                return True


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the submission's sandbox, talking to it
    over ZeroMQ ``ipc`` sockets in a folder bound into the sandbox."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = SandboxConfig.from_env()
        self.client_factory = SandboxKernelClient
        ipc = Path(self.sandbox.ipc)
        self.transport = "ipc"
        self.ip = str(ipc / "kernel")
        self.connection_file = str(ipc / "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = self.kernel_argv = super().format_kernel_cmd(extra_arguments)
        return sandbox_command(Path(self.sandbox.work), Path(self.sandbox.ipc), self.sandbox,
                               cmd)

    def client(self, **kwargs):
        """A :class:`SandboxKernelClient` whose sockets refuse an oversized message before
        reading it."""
        kwargs.setdefault("context", client_context(self.sandbox.limits().message_bytes))
        return super().client(**kwargs)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        """A warm kernel is forked by the template (:mod:`coursekit.warm_kernels`); a fresh one
        runs ``kernel_cmd``. Either way the kernel's own stdout and stderr (its start-up banner,
        whatever the submission writes to the file descriptors) go nowhere: the grader reads
        only the messages."""
        if not self.sandbox.template:
            kw.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            await self._until_listening()
            return
        from coursekit import warm_kernels

        provisioner = self.provisioner
        provisioner.process = warm_kernels.by_root(self.sandbox.template).spawn(
            self.sandbox, self.kernel_argv)
        provisioner.pid, provisioner.pgid = provisioner.process.pid, None
        self._reconcile_connection_info(provisioner.connection_info)
        await self._until_listening()

    async def _until_listening(self, timeout_s: float = 60.0) -> None:
        """Return once the kernel has bound its five sockets (or has died, or ``timeout_s``
        has passed: nbclient then reports it). A client that connects earlier finds no socket
        and ZeroMQ tries again only 100 ms later."""
        sockets = [Path(f"{self.ip}-{port}") for port in self.ports]
        deadline = time.monotonic() + timeout_s
        while not all(p.exists() for p in sockets) and time.monotonic() < deadline:
            if self.provisioner is None or await self.provisioner.poll() is not None:
                return
            await asyncio.sleep(0.002)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """jupyter_client's wait for the kernel's end, polling every 5 ms rather than 100 ms: a
        submission's kernel is killed, not asked to stop
        (:attr:`coursekit.preprocessors.GuardedExecute.shutdown_kernel`), and ends at once."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def interrupt_kernel(self) -> None:
        """SIGINT to the kernel process only. jupyter_client would signal the launcher's process
        group, which holds bwrap, and bwrap dies of SIGINT, taking the sandbox with it. (A warm
        kernel's parent in the template passes the signal on to the kernel.)"""
        if self.sandbox.template:
            if self.provisioner is not None and self.provisioner.process is not None:
                self.provisioner.process.send_signal(signal.SIGINT)
            return
        for pid in kernel_pids(self.connection_file):
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o444)  # the kernel (uid 65534) must read it


def main() -> int:
    """``python -m coursekit.sandbox``: which back-end grading would use here (``$SANDBOX``
    names one), what it enforces and does not, and why every other one was passed over; exit 1
    when none can isolate a submission (``make autograde`` refuses to grade then, unless
    ``SANDBOX=off``)."""
    from coursekit import warm_kernels

    ok, text = sandbox_available()
    print(text if ok else f"sandbox: NOT available: {text}")
    if ok:
        print("  kernels: " + ("forked from a warm template per grading process "
                               f"(${warm_kernels.KERNELS_ENV}=fresh: a new interpreter for each)"
                               if warm_kernels.enabled() else "a new interpreter for each"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

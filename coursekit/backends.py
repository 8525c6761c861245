"""How a submission's sandbox is held to its limits: the limit back-ends, chosen per machine.

Every back-end runs the kernel under bubblewrap with new mount, pid, network, ipc and uts
namespaces, the Python environment read-only and a private home and ``/tmp``: files and network
are isolated the same way everywhere. What differs is how memory, processes, CPU and the
processes' lifetime are bounded:

=========  ==========================  =====================================================
back-end   needs                       limits
=========  ==========================  =====================================================
cgroup2    a writable cgroup v2 tree   memory.max with memory.swap.max 0 (the whole sandbox),
           with memory and pids        pids.max, cpu.weight, cgroup.kill ends every process;
           (root, or a delegated        the kernel runs as uid 65534 without capabilities
           subtree: $COURSEKIT_CGROUP2)
cgroup1    root and writable cgroup    memory + swap (memsw) of the whole sandbox, pids.max;
           v1 memory and pids          every process killed through the cgroup
userns     bubblewrap and unprivileged  per process: RLIMIT_DATA (memory), RLIMIT_FSIZE (file
           user namespaces; no root,   size), RLIMIT_CPU (CPU seconds); RLIMIT_NPROC counts
           no cgroups                  every process of the grading user; the pid namespace
                                       ends every process when the kernel ends
=========  ==========================  =====================================================

The ``userns`` back-end bounds less well than a cgroup: memory per process, not per sandbox
(a submission that forks N processes may use N times the cap); the process cap counts the
grading user's processes, not the sandbox's; CPU time, not CPU share; and its socket folder is
an ordinary folder of the grader (file size capped, not the folder's total). Containers (Docker,
Podman) and systemd scopes are not back-ends here yet: :func:`report` says why each was passed
over on this machine.

:func:`choose` picks the first usable back-end in the order above, or the one ``$SANDBOX``
names; it never downgrades silently: a named back-end that cannot run is an error.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The parent cgroup of every submission's cgroup.
CGROUP_PARENT = "coursekit"
V1_CONTROLLERS = ("memory", "pids")
#: Environment variable naming a delegated cgroup v2 folder the grader may use.
CGROUP2_ENV = "COURSEKIT_CGROUP2"
#: Environment variable naming the back-end (``cgroup2``, ``cgroup1``, ``userns``); ``auto``,
#: ``on`` or unset choose; ``off`` grades without a sandbox.
CHOICE_ENV = "SANDBOX"
ORDER = ("cgroup2", "cgroup1", "userns")


class NoBackend(RuntimeError):
    """No back-end can isolate a submission here (or the one asked for cannot)."""


# ---------------------------------------------------------------------------------------------
# A submission's room: what holds its processes
# ---------------------------------------------------------------------------------------------
class Cgroup1:
    """One submission's cgroup in the v1 memory and pids controllers (root)."""

    def __init__(self, limits, name: str | None = None) -> None:
        self.name = name or f"sub-{uuid.uuid4().hex[:12]}"
        self.paths = [CGROUP_ROOT / c / CGROUP_PARENT / self.name for c in V1_CONTROLLERS]
        for path in self.paths:
            path.mkdir(parents=True, exist_ok=True)
        memory, pids = self.paths
        limit = str(int(limits.memory_bytes))
        (memory / "memory.limit_in_bytes").write_text(limit)
        (memory / "memory.memsw.limit_in_bytes").write_text(limit)  # RAM + swap = RAM
        (memory / "memory.swappiness").write_text("0")
        (pids / "pids.max").write_text(str(int(limits.pids)))

    def procs_files(self) -> list[str]:
        """The files a process is moved into the cgroup through (its pid written there)."""
        return [str(p / "cgroup.procs") for p in self.paths]

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
        killed = _kill_all(self.procs)
        for path in self.paths:
            _rmdir_when_empty(path)
        return killed


class Cgroup2:
    """One submission's cgroup in a cgroup v2 tree (``root``): memory, swap, pids and CPU weight
    written when the controllers are enabled; ``cgroup.kill`` ends every process at once."""

    def __init__(self, limits, root: Path, name: str | None = None,
                 require_controllers: bool = True) -> None:
        self.name = name or f"sub-{uuid.uuid4().hex[:12]}"
        parent = Path(root) / CGROUP_PARENT
        parent.mkdir(exist_ok=True)
        available = set((Path(root) / "cgroup.controllers").read_text().split())
        wanted = {"memory", "pids", "cpu"} & available
        if require_controllers and not {"memory", "pids"} <= available:
            raise NoBackend(f"the cgroup v2 tree {root} lacks the memory or pids controller")
        if wanted:
            _enable(Path(root), wanted)
            _enable(parent, wanted)
        self.path = parent / self.name
        self.path.mkdir()
        values = {"memory.max": int(limits.memory_bytes), "memory.swap.max": 0,
                  "pids.max": int(limits.pids), "cpu.weight": 100}
        for key, value in values.items():
            if (self.path / key).exists():
                (self.path / key).write_text(str(value))

    def procs_files(self) -> list[str]:
        return [str(self.path / "cgroup.procs")]

    def procs(self) -> list[int]:
        try:
            return sorted(int(p) for p in (self.path / "cgroup.procs").read_text().split())
        except FileNotFoundError:
            return []

    def oom_killed(self) -> bool:
        try:
            events = dict(line.split() for line in
                          (self.path / "memory.events").read_text().splitlines())
            return int(events.get("oom_kill", 0)) > 0
        except (FileNotFoundError, ValueError):
            return False

    def destroy(self) -> int:
        """``cgroup.kill`` (every process at once, forks included), then remove the cgroup;
        the number of processes that were still in it."""
        left = self.procs()
        kill = self.path / "cgroup.kill"
        if left and kill.exists():
            kill.write_text("1")
        _kill_all(self.procs)  # kernels before 5.14 have no cgroup.kill
        _rmdir_when_empty(self.path)
        return len(left)


class Unbounded:
    """The ``userns`` back-end's room: no cgroup; the pid namespace ends every process of the
    sandbox when its kernel ends."""

    name = ""

    def procs_files(self) -> list[str]:
        return []

    def oom_killed(self) -> bool:
        return False

    def destroy(self) -> int:
        return 0


def join_script(procs_files: list[str]) -> str:
    """Shell commands that move the calling shell into a room's cgroup (``true`` without one):
    ``procs_files`` is the room's :meth:`procs_files`."""
    return " && ".join(f"echo $$ > {f}" for f in procs_files) or "true"


def join(procs_files: list[str], pid: int) -> None:
    """Move process ``pid`` (a host pid) into a room's cgroup, if it has one."""
    for f in procs_files:
        Path(f).write_text(str(pid))


def _enable(folder: Path, controllers: set[str]) -> None:
    control = folder / "cgroup.subtree_control"
    present = set(control.read_text().split())
    for c in sorted(controllers - present):
        control.write_text(f"+{c}")


def _kill_all(procs) -> int:
    killed: set[int] = set()
    for _ in range(200):
        left = procs()
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return len(killed)


def _rmdir_when_empty(path: Path) -> None:
    for _ in range(600):  # empty once the killed processes have been reaped
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# The back-ends
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    """A way of holding a sandbox to its limits (see the module docstring)."""

    name: str
    needs: str
    enforces: tuple[str, ...]
    lacks: tuple[str, ...]

    @property
    def as_root(self) -> bool:
        """Whether bwrap runs as root and drops to uid 65534 inside (cgroup back-ends), rather
        than in an unprivileged user namespace."""
        return self.name != "userns"

    def room(self, limits):
        if self.name == "cgroup1":
            return Cgroup1(limits)
        if self.name == "cgroup2":
            return Cgroup2(limits, cgroup2_root())
        return Unbounded()

    def rlimit_values(self, limits) -> dict[str, int]:
        """The resource limits of the kernel's process tree, by ``resource`` name (the userns
        back-end's limits; none on the cgroup back-ends)."""
        if self.as_root:
            return {}
        return {"RLIMIT_DATA": int(limits.memory_bytes), "RLIMIT_NPROC": int(limits.pids) * 4,
                "RLIMIT_FSIZE": 64 * 1024**2, "RLIMIT_CPU": int(limits.wall_s * 2)}

    def rlimits(self, limits) -> list[str]:
        """:meth:`rlimit_values` as ``prlimit`` options."""
        return [f"--{name[len('RLIMIT_'):].lower()}={value}"
                for name, value in self.rlimit_values(limits).items()]


BACKENDS = {
    "cgroup2": Backend(
        "cgroup2", "root or a delegated cgroup v2 subtree with memory and pids",
        ("memory of the whole sandbox, no swap", "processes of the whole sandbox",
         "CPU share (cpu.weight)", "wall clock", "output bytes",
         "every process killed at the end (cgroup.kill)"), ()),
    "cgroup1": Backend(
        "cgroup1", "root and writable cgroup v1 memory (with memsw) and pids controllers",
        ("memory of the whole sandbox, no swap", "processes of the whole sandbox",
         "wall clock", "output bytes", "every process killed at the end"),
        ("CPU share",)),
    "userns": Backend(
        "userns", "bubblewrap with unprivileged user namespaces (no root, no cgroups)",
        ("memory per process (RLIMIT_DATA)", "file size (RLIMIT_FSIZE)",
         "CPU seconds (RLIMIT_CPU)", "wall clock", "output bytes",
         "every process killed at the end (pid namespace)"),
        ("memory of the whole sandbox (each process may take the cap)",
         "processes of the sandbox (RLIMIT_NPROC counts the grading user's processes)",
         "CPU share", "the socket folder's total size")),
}


def cgroup2_root() -> Path:
    """The cgroup v2 folder the grader may use: ``$COURSEKIT_CGROUP2``, else the unified
    hierarchy when it is mounted at ``/sys/fs/cgroup``."""
    named = os.environ.get(CGROUP2_ENV)
    return Path(named) if named else CGROUP_ROOT


def _is_cgroup2(path: Path) -> bool:
    return (path / "cgroup.controllers").is_file() and (path / "cgroup.subtree_control").exists()


def probe(name: str, bwrap_check) -> str | None:
    """None when back-end ``name`` can run here, else why not. ``bwrap_check(as_root)`` tries
    bubblewrap the way the back-end runs it and returns None or why it failed."""
    if name == "cgroup2":
        root = cgroup2_root()
        if not _is_cgroup2(root):
            where = f"${CGROUP2_ENV}={root}" if os.environ.get(CGROUP2_ENV) else str(root)
            return (f"no cgroup v2 tree at {where} (this machine mounts cgroup v1 there; set "
                    f"${CGROUP2_ENV} to a delegated v2 folder)")
        missing = {"memory", "pids"} - set((root / "cgroup.controllers").read_text().split())
        if missing:
            return (f"the cgroup v2 tree {root} has no {' or '.join(sorted(missing))} "
                    "controller (they are bound to the v1 hierarchy here)")
        if not os.access(root, os.W_OK):
            return f"the cgroup v2 tree {root} is not writable by this user"
        return bwrap_check(True) if os.geteuid() == 0 else (
            "the cgroup back-ends run bubblewrap as root")
    if name == "cgroup1":
        if os.geteuid() != 0:
            return "cgroup v1 limits need root"
        for controller in V1_CONTROLLERS:
            if not os.access(CGROUP_ROOT / controller, os.W_OK):
                return f"no writable cgroup v1 controller at {CGROUP_ROOT / controller}"
        if not (CGROUP_ROOT / "memory" / "memory.memsw.limit_in_bytes").exists():
            return "the memory cgroup has no swap accounting (memory.memsw.*)"
        return bwrap_check(True)
    if name == "userns":
        if not shutil.which("prlimit"):
            return "prlimit is missing (Debian package util-linux)"
        return bwrap_check(False)
    raise ValueError(f"name: expected one of {', '.join(ORDER)}, received {name!r}")


def passed_over() -> dict[str, str]:
    """What is not a back-end here, and why (reported beside the real ones)."""
    out = {}
    if Path("/proc/1/comm").exists() and Path("/proc/1/comm").read_text().strip() != "systemd":
        out["systemd-run --scope"] = "not built: systemd is not PID 1 on this machine"
    else:
        out["systemd-run --scope"] = "not built: the cgroup2 back-end covers a delegated tree"
    engines = [e for e in ("podman", "docker") if shutil.which(e)]
    if not engines:
        out["container"] = "not built: neither podman nor docker is installed"
    else:
        out["container"] = (f"not built: {', '.join(engines)} present, but no container back-end "
                            "was tested on this machine")
    return out


def choose(bwrap_check, requested: str | None = None) -> tuple[Backend, dict[str, str]]:
    """(the back-end to use, why each other one was passed over). ``requested`` (default
    ``$SANDBOX``) names one, or is ``auto``/``on``/empty to take the first usable in
    :data:`ORDER`. Raises :class:`NoBackend` when the named one, or every one, cannot run."""
    requested = (os.environ.get(CHOICE_ENV, "") if requested is None else requested).strip()
    if requested in ("", "auto", "on"):
        requested = ""
    elif requested not in BACKENDS:
        raise ValueError(f"{CHOICE_ENV}: expected one of auto, {', '.join(ORDER)} or off, "
                         f"received {requested!r}")
    why: dict[str, str] = {}
    for name in ([requested] if requested else ORDER):
        problem = probe(name, bwrap_check)
        if problem is None:
            return BACKENDS[name], {**{n: w for n, w in why.items()}, **passed_over()}
        why[name] = problem
    raise NoBackend("; ".join(f"{n}: {w}" for n, w in why.items()))


def describe(backend: Backend, others: dict[str, str]) -> str:
    """What ``python -m coursekit.sandbox`` prints."""
    lines = [f"sandbox back-end: {backend.name} ({backend.needs})",
             "  enforced: " + "; ".join(backend.enforces),
             "  not enforced: " + ("; ".join(backend.lacks) or "nothing of the above list")]
    lines += [f"  passed over: {name}: {why}" for name, why in others.items()]
    return "\n".join(lines)


def run_checked(cmd: list[str]) -> str | None:
    """None when ``cmd`` exits 0, else its error output (for :func:`probe`)."""
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{cmd[0]} could not run: {err}"
    if run.returncode != 0:
        return f"bubblewrap cannot start a sandbox here: {run.stderr.strip()[:300]}"
    return None

"""The kernel template: a warm process, inside a sandbox, that forks one fresh kernel per
submission (run as a script by :mod:`coursekit.warm_kernels`; it imports nothing of
``coursekit``, which the sandbox does not hold).

A fresh kernel pays for a new interpreter and for importing PyTorch, NumPy, Matplotlib and
IPython (about 2 CPU-seconds here) before a student's line runs. The template pays that once:
it imports them, with nothing of any student, then waits for requests on its standard input
(one JSON object a line) and answers each on its standard output. For each request it forks a
child that, before any student code runs, builds the submission's own room inside the
template's sandbox:

1. it stops itself until the trusted grader has moved it into the submission's cgroup (the
   cgroup back-ends) and continued it;
2. it enters a new user namespace (no privilege on the host: uid 65534 maps to itself) with new
   mount, pid, ipc and uts namespaces, and makes every mount private, so nothing it mounts is
   seen by the template;
3. it mounts fresh, empty tmpfs over every folder a kernel may write (``/tmp``,
   ``/dev/shm``, its home, into which it copies the instructor's data files) and over the
   grader's folder of all submissions' sockets, in which it binds back its own socket folder
   only;
4. it forks the first process of the new pid namespace (an init, as bubblewrap's: every
   process of the submission dies with it, and it dies with the child, ``PR_SET_PDEATHSIG``),
   which mounts the namespace's own ``/proc`` where the kernel allows it (the user-namespace
   back-end) and forks the kernel;
5. the kernel enters one more user and mount namespace, which locks every mount above so that
   none can be undone to reach the template's folders; it then drops every capability, sets
   no new privileges and the resource limits of the request, and starts ipykernel with the
   request's arguments (its connection file among them).

The template itself keeps no file a child can reach: its sandbox is read-only except ``/tmp``
and the socket root, both covered in every child; it is not dumpable, so no child can trace it
or read its memory. The child that stays in the template's pid namespace only waits for the
kernel and passes on interrupts; the grader kills it when the submission is done (the kernel and
all its processes die with it).
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import resource
import shutil
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522
#: What a kernel of this course imports (ipykernel's start-up imports the debugger, the history
#: database and the rest; IPython's tracebacks, stack_data and Pygments; the course package is
#: :func:`_load_course_package`'s); a module that cannot be imported is left to the kernel.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "debugpy",
           "IPython.core.history", "IPython.core.logger", "IPython.core.ultratb", "pdb", "pydoc",
           "psutil", "stack_data", "pygments.formatters.terminal256", "numpy", "torch",
           "matplotlib", "matplotlib.pyplot")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int, what: str) -> None:
    """A new user namespace (with ``flags``' others) in which uid and gid map to themselves."""
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(flags | CLONE_NEWUSER), what)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {target}")


def _tmpfs(target: str, mode: str, size: int) -> None:
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={size}")


def _drop_capabilities() -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(Header(LINUX_CAPABILITY_VERSION_3, 0)), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no new privileges")


def _copy_tree(src: str, dest: str) -> None:
    for root, _dirs, files in os.walk(src):
        here = os.path.join(dest, os.path.relpath(root, src))
        os.makedirs(here, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(root, name), os.path.join(here, name))


def _room(request: dict) -> None:
    """Steps 2 and 3 of the module docstring. The child is dumpable only while it writes its
    own uid and gid maps, before the kernel exists (a non-dumpable process's ``/proc/self`` is
    not its own)."""
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS, "new namespaces")
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    ipc = os.open(request["ipc"], os.O_PATH | os.O_DIRECTORY)
    size = int(request["tmpfs_bytes"])
    home = request["home"]
    _tmpfs(home, "0777", size)
    _copy_tree(request["work"], home)
    _tmpfs(request["root"], "0755", 1024 * 1024)
    for target in ("/tmp", "/dev/shm"):  # the root may lie below /tmp: covered again
        if os.path.isdir(target):
            _tmpfs(target, "1777", size)
    os.makedirs(request["ipc"], exist_ok=True)
    _mount(f"/proc/self/fd/{ipc}", request["ipc"], None, MS_BIND, None)
    os.close(ipc)
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "not dumpable")


def _wait_for(pid: int) -> int:
    """Wait for child ``pid`` (reaping any other child on the way); its exit code for
    ``os._exit``."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 70
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            return code if 0 <= code < 256 else 128 + (-code)


def _init(request: dict) -> None:
    """The first process of the submission's pid namespace, as bubblewrap's own (never
    returns): it mounts the namespace's ``/proc`` where the kernel allows it (the
    user-namespace back-end), forks the kernel, passes interrupts on to it and reaps every
    orphan until the kernel ends; then the whole namespace ends with it."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV, None)
    except OSError:  # the cgroup back-ends' template /proc is not fully visible: kept
        pass
    kernel = os.fork()
    if kernel == 0:
        try:
            _kernel(request)
        except BaseException as err:  # noqa: BLE001 (reported, then the kernel is gone)
            os.write(2, f"kernel template: kernel: {type(err).__name__}: {err}\n".encode())
        finally:
            os._exit(71)
    signal.signal(signal.SIGINT, lambda *_: os.kill(kernel, signal.SIGINT))
    os._exit(_wait_for(kernel))


def _kernel(request: dict) -> None:
    """Step 5 of the module docstring, then ipykernel (never returns)."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
    os.setsid()
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    _unshare(CLONE_NEWNS, "locking the mounts")
    _drop_capabilities()
    for name, soft_hard in request["rlimits"].items():
        resource.setrlimit(getattr(resource, name), tuple(soft_hard))
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 65536)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["home"])
    sys.path[0] = request["home"]  # as `python -m ipykernel_launcher` started in the home
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = ["ipykernel_launcher", *request["argv"]]
    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    app.start()
    os._exit(0)


def _child(request: dict) -> None:
    """The forked child (never returns): steps 1 to 4, then waits for the namespace's first
    process (:func:`_init`), passing interrupts on."""
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGSTOP)  # until the grader has placed it in its cgroup
        _room(request)
        init = os.fork()
        if init == 0:
            try:
                _init(request)
            except BaseException as err:  # noqa: BLE001 (reported, then the namespace ends)
                os.write(2, f"kernel template: init: {type(err).__name__}: {err}\n".encode())
            finally:
                os._exit(71)
        signal.signal(signal.SIGINT, lambda *_: os.kill(init, signal.SIGINT))
        signal.signal(signal.SIGTERM, lambda *_: os.kill(init, signal.SIGKILL))
        code = _wait_for(init)
    except BaseException as err:  # noqa: BLE001 (the child must never return to the loop)
        try:
            os.write(2, f"kernel template: {type(err).__name__}: {err}\n".encode())
        finally:
            os._exit(72)
    os._exit(code)


def _reap(*_args) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _warm_tracebacks() -> None:
    """Format one traceback of the template's own as IPython does for a failing cell: the
    first one in a process costs tens of milliseconds (stack_data, Pygments), and a submission
    that is not finished fails in most of its cells."""
    from IPython.core.ultratb import AutoFormattedTB

    try:
        raise NotImplementedError("the kernel template's warm-up")
    except NotImplementedError:
        AutoFormattedTB(mode="Context").structured_traceback(*sys.exc_info())


def _load_course_package() -> None:
    """Every public name of the course package (which loads each on first use)."""
    import vgcourse

    for name in vgcourse.__all__:
        getattr(vgcourse, name)


def main() -> int:
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001,S112 (the kernel imports it itself, or reports it)
            continue
    for warm_up in (_warm_tracebacks, _load_course_package):
        try:
            warm_up()
        except Exception:  # noqa: BLE001,S112 (a warm-up only: the kernel loads its own)
            continue
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signal.signal(signal.SIGCHLD, _reap)
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        pid = os.fork()
        if pid == 0:
            _child(request)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

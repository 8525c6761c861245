"""Grading a class: every submission of ``submitted/``, concurrently, one writer.

Each submission is one task, ``coursekit.worker.grade_submission(course, assignment, student)``,
run by a pool of worker processes (``JOBS``, default: the CPU count) that import nbgrader once and
call its Python API in-process, or by a ``dask.distributed`` cluster (``SCHEDULER=local`` for a
``LocalCluster`` on this machine, ``SCHEDULER=tcp://host:8786`` for an existing scheduler). The
pool's workers start at once, each importing what grading imports and starting its kernel
template (:func:`warm_worker`); the reference runs of the instructor's solutions whose expected
values are missing or stale run first, on the same workers, one task per variant
(:func:`record_references`); an assignment whose reference run fails is not graded. Every
task returns a JSON dict, read back here as a ``coursekit.result.SubmissionResult`` (a malformed
one is reported as ``failed``, naming the field); this coordinating process alone writes them
into the gradebook and ``autograded/`` (``coursekit.gradebook``), as they arrive, so two workers
finishing together cannot lose or duplicate a score.

- A worker process that dies mid-submission: that submission is retried once, then reported.
- An interrupted batch, run again: what was graded from the same files is skipped, unless
  ``FORCE=1``.
- Progress bar with ETA (tqdm, on stderr), one line per finished submission and a summary
  table at the end (stdout). Exit status 1 when any submission could not be graded.

``python -m coursekit.batch [--course exercises] [--jobs N] [--scheduler local|tcp://...]
[--force]``; ``make autograde`` runs it with ``JOBS``, ``SCHEDULER`` and ``FORCE`` passed through.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import resource
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from coursekit import backends, gradebook
from coursekit import result as res
from coursekit.assignments import COURSE
from coursekit.nbgrader_run import use_venv_bin
from coursekit.result import SubmissionResult

#: Times a submission is started again after its worker died or raised (then it is reported).
RETRIES = 1


@dataclass(frozen=True, order=True)
class Task:
    """One submission: ``submitted/<student>/<assignment>/``."""

    assignment: str
    student: str


def find_tasks(course: Path) -> list[Task]:
    """Every ``submitted/<student>/<assignment>/`` folder whose assignment has a source."""
    course = Path(course)
    known = {p.name for p in (course / "source").iterdir() if p.is_dir()}
    return sorted(Task(d.name, d.parent.name) for d in (course / "submitted").glob("*/*")
                  if d.is_dir() and d.name in known)


#: The most memory (``RLIMIT_DATA``) a grading worker process may take: whatever a submission
#: hands back, the trusted side stays under it (the sandbox caps the kernel separately).
TRUSTED_MEMORY_BYTES = 3 * 1024**3


def default_grade(course: str, assignment: str, student: str, sandbox: bool = True) -> dict:
    """The task run on a worker (a module-level function, so processes and Dask can ship it).

    The worker process caps its own memory (:data:`TRUSTED_MEMORY_BYTES`) and arms a watchdog:
    past the submission's wall clock plus nbgrader's overhead it ends itself (SIGKILL; bwrap's
    ``--die-with-parent`` takes the sandbox along), and the pool retries, then reports it.
    """
    from coursekit.sandbox import Limits
    from coursekit.worker import NBGRADER_OVERHEAD_S, grade_submission

    use_venv_bin()
    cap_memory(TRUSTED_MEMORY_BYTES)
    watchdog = threading.Timer(Limits().wall_s + NBGRADER_OVERHEAD_S, os.kill,
                               (os.getpid(), signal.SIGKILL))
    watchdog.daemon = True
    watchdog.start()
    try:
        return grade_submission(Path(course), assignment, student, sandbox=sandbox)
    finally:
        watchdog.cancel()


def cap_memory(limit: int) -> None:
    """Lower this process's ``RLIMIT_DATA`` to ``limit`` bytes (never raise it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def reference_run(course: str, assignment: str, variant: int | None,
                  sandbox: bool = True) -> None:
    """A worker's task: the reference run of one variant of an assignment
    (:func:`coursekit.worker.record_expected`), in the worker's own warm sandbox."""
    from coursekit.worker import record_expected

    use_venv_bin()
    record_expected(Path(course), assignment, sandbox=sandbox, variant=variant)


def record_references(course: Path, tasks: list[Task], sandbox: bool, workers,
                      out) -> dict[str, str]:
    """Run, on ``workers``, the reference runs of the assignments among ``tasks`` whose
    expected values are missing or stale (:func:`coursekit.worker.stale_references`), all
    at once; assignment -> why it failed (its first failed variant)."""
    from coursekit.worker import stale_references

    stale, failed = [], {}
    for name in sorted({t.assignment for t in tasks}):
        try:
            stale += [(name, k) for k in stale_references(course, name)]
        except Exception as err:  # noqa: BLE001 (reported; that assignment is not graded)
            failed[name] = err
    errors = workers.call_all(reference_run, [(str(course), name, k, sandbox)
                                              for name, k in stale])
    for (name, _), error in zip(stale, errors, strict=True):
        if error is not None:
            failed.setdefault(name, error)
    whys = {}
    for name, error in sorted(failed.items()):
        whys[name] = ("its worker process died" if isinstance(error, BrokenProcessPool)
                      else f"{type(error).__name__}: {error}")[:2000]
        print(f"{name}: the reference run failed, its submissions are not graded:\n"
              f"{whys[name]}", file=out)
    return whys


def warm_worker(template: bool) -> None:
    """Run once per worker process: import what grading one submission imports and, with
    ``template``, start this process's kernel template (:mod:`coursekit.warm_kernels`), so the
    first submission pays neither. A template that cannot start is reported by the
    submission that needs it."""
    import nbformat  # noqa: F401
    import nbgrader.api  # noqa: F401
    import nbgrader.apps  # noqa: F401

    import coursekit.worker  # noqa: F401
    from coursekit import sandbox, warm_kernels

    if template and warm_kernels.enabled() and sandbox.sandbox_available()[0]:
        try:
            warm_kernels.template(sandbox.backend())
        except Exception:  # noqa: BLE001,S110 (each submission reports why it could not start)
            pass


def failed_result(task: Task, reason: str, seconds: float = 0.0) -> SubmissionResult:
    """The result of a task that could not be graded (``coursekit.result.failed``)."""
    return res.failed(task.assignment, task.student, reason, seconds=seconds)


def arrived(task: Task, raw) -> SubmissionResult:
    """A worker's return value as a :class:`SubmissionResult`; one that does not read as a
    result (``SubmissionResult.from_json`` names the field), or that answers for another
    task, is this task's failure."""
    try:
        result = raw if isinstance(raw, SubmissionResult) else SubmissionResult.from_json(raw)
    except ValueError as err:
        return failed_result(task, f"not graded: the worker's result is malformed: {err}")
    if (result.assignment, result.student) != (task.assignment, task.student):
        return failed_result(task, "not graded: the worker returned the result of "
                                   f"{result.student}/{result.assignment}")
    return result


class LocalWorkers:
    """A pool of ``jobs`` worker processes on this machine, each started by
    :func:`warm_worker` as soon as the pool is made (its imports and kernel template are ready
    while the coordinator does the rest)."""

    def __init__(self, jobs: int, sandbox: bool) -> None:
        self.jobs, self.sandbox = jobs, sandbox
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"),
                                   initializer=warm_worker, initargs=(self.sandbox,))
        for _ in range(self.jobs):  # a spawned pool starts a process per task handed to it
            pool.submit(int)
        return pool

    def _renew(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)  # settles every future in flight
        self.pool = self._new_pool()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def call_all(self, fn: Callable, calls: list[tuple]) -> list[BaseException | None]:
        """Run ``fn(*args)`` for every ``args`` of ``calls`` on the pool; what each raised, or
        None. A pool broken by a worker's death is replaced."""
        futures = [self.pool.submit(fn, *args) for args in calls]
        errors = [f.exception() for f in futures]
        if any(isinstance(e, BrokenProcessPool) for e in errors):
            self._renew()
        return errors

    def results(self, course: Path, tasks: list[Task], grade: Callable,
                sandbox: bool) -> Iterator[tuple[Task, SubmissionResult]]:
        """(task, result) as the pool finishes them.

        At most ``jobs`` tasks are handed to the pool at once, so when a worker dies (the pool
        is then broken) the tasks in flight are exactly the ones that may have been killed:
        each is retried once in a fresh pool, alone (so a second death is its own), then
        reported.
        """
        jobs = self.jobs
        pending, attempts, inflight = list(reversed(tasks)), Counter(), {}
        while pending or inflight:
            while pending and len(inflight) < jobs:
                if any(attempts[t] for t in inflight.values()) or (attempts[pending[-1]]
                                                                    and inflight):
                    break  # a retry runs alone, so a second death is its own
                task = pending.pop()
                inflight[self.pool.submit(grade, str(course), task.assignment, task.student,
                                          sandbox=sandbox)] = task
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                self._renew()
                done = set(inflight)
            for future in done:
                task = inflight.pop(future)
                error = future.exception()
                if error is None:
                    yield task, arrived(task, future.result())
                    continue
                why = ("its worker process died" if isinstance(error, BrokenProcessPool)
                       else f"its worker raised {type(error).__name__}: {error}")
                attempts[task] += 1
                if attempts[task] <= RETRIES:
                    pending.append(task)
                else:
                    yield task, failed_result(task, f"not graded: {why} ({attempts[task]} tries)")


class DaskWorkers:
    """The workers of a Dask cluster: a ``LocalCluster`` of ``jobs`` single-threaded worker
    processes when ``scheduler`` is ``local``, else the scheduler at that address. Workers need
    the course folder at the same path (a shared filesystem). A task whose worker dies is
    rescheduled once (``allowed-failures``) and one that raises is retried once (``retries``).
    Each worker first runs :func:`warm_worker` as a task, in the thread that will grade
    (bubblewrap dies with the thread that started it, and a single-threaded worker keeps its
    thread); a worker that joins later starts its template with its first submission."""

    def __init__(self, scheduler: str, jobs: int, sandbox: bool) -> None:
        import dask
        from distributed import Client, LocalCluster

        self._opened = contextlib.ExitStack()  # closed in reverse: client, cluster, config
        try:
            self._opened.enter_context(
                dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}))
            cluster = (self._opened.enter_context(LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None))
                if scheduler == "local" else None)
            self.client = self._opened.enter_context(Client(cluster or scheduler))
            self.client.gather([self._submit(warm_worker, sandbox, workers=[address],
                                             allow_other_workers=True)  # one that left
                                for address in self.client.scheduler_info()["workers"]])
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._opened.close()

    def _submit(self, fn: Callable, *args, **kwargs):
        return self.client.submit(fn, *args, pure=False, retries=RETRIES,
                                  key=f"{fn.__name__}-{uuid.uuid4().hex}", **kwargs)

    def call_all(self, fn: Callable, calls: list[tuple]) -> list[BaseException | None]:
        """Run ``fn(*args)`` for every ``args`` of ``calls`` on the cluster; what each raised,
        or None."""
        futures = [self._submit(fn, *args) for args in calls]
        return [f.exception() for f in futures]

    def results(self, course: Path, tasks: list[Task], grade: Callable,
                sandbox: bool) -> Iterator[tuple[Task, SubmissionResult]]:
        """(task, result) as the cluster finishes them."""
        from distributed import as_completed

        futures = {self._submit(grade, str(course), t.assignment, t.student, sandbox=sandbox): t
                   for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                raw = future.result()
            except Exception as err:  # noqa: BLE001 (reported)
                yield task, failed_result(task, f"not graded on Dask: "
                                                f"{type(err).__name__}: {err}")
                continue
            yield task, arrived(task, raw)


def log_line(result: SubmissionResult) -> str:
    """``student assignment score seconds status[: reasons]`` for one finished submission."""
    score = f"{result.score:g}/{result.max_score:g}" if result.is_scored else "-"
    status = result.status
    if result.status == res.GRADED and result.needs_manual_grading:
        status = "graded (written answers to grade by hand)"
    line = (f"{result.student:<24} {result.assignment:<28} {score:>9} "
            f"{result.seconds:6.1f} s  {status}")
    if result.status != res.GRADED or result.reasons:
        line += ": " + "; ".join(result.reasons)
    return line


def summary_table(results: list[SubmissionResult], skipped: list[Task], wall_s: float,
                  write_s: float = 0.0) -> str:
    """Per assignment: counts by outcome, mean score, worker seconds; then the throughput and
    the time the single writer spent writing the gradebook."""
    rows = [f"{'assignment':<28} {'graded':>6} {'manual':>6} {'flagged':>7} {'failed':>6} "
            f"{'skipped':>7} {'mean score':>11} {'worker s':>9}"]
    names = sorted({r.assignment for r in results} | {t.assignment for t in skipped})
    for name in names:
        mine = [r for r in results if r.assignment == name]
        count = Counter(r.status for r in mine)
        scored = [r for r in mine if r.is_scored]
        mean = (f"{sum(r.score for r in scored) / len(scored):.2f}/{scored[0].max_score:g}"
                if scored else "-")
        rows.append(f"{name:<28} {count[res.GRADED]:>6} "
                    f"{sum(r.needs_manual_grading for r in scored):>6} "
                    f"{count[res.FLAGGED]:>7} {count[res.FAILED]:>6} "
                    f"{sum(t.assignment == name for t in skipped):>7} {mean:>11} "
                    f"{sum(r.seconds for r in mine):>9.1f}")
    rate = len(results) / wall_s if wall_s > 0 else 0.0
    rows.append(f"{len(results)} graded now, {len(skipped)} skipped (graded before; FORCE=1 "
                f"grades them again), {wall_s:.1f} s wall clock, {rate * 60:.1f} submissions/min")
    if results:
        rows.append(f"gradebook writer: {write_s:.2f} s in all, "
                    f"{1000 * write_s / len(results):.0f} ms per submission")
    return "\n".join(rows)


def grade_class(course: Path, *, jobs: int | None = None, scheduler: str | None = None,
                force: bool = False, sandbox: bool = True, grade: Callable = default_grade,
                out=None, progress: bool = True) -> list[SubmissionResult]:
    """Grade every submission of ``course`` not graded before (all with ``force``); write each
    result through one :class:`coursekit.gradebook.Writer`; return the results."""
    from tqdm import tqdm

    out = out or sys.stdout
    course = Path(course).resolve()
    jobs = jobs or os.cpu_count() or 1
    tasks = find_tasks(course)
    skipped = [] if force else [t for t in tasks
                                if gradebook.is_done(course, t.assignment, t.student)]
    todo = [t for t in tasks if t not in set(skipped)]
    start, results, written, write_s = time.perf_counter(), [], set(), 0.0
    workers = (None if not todo else DaskWorkers(scheduler, jobs, sandbox) if scheduler
               else LocalWorkers(jobs, sandbox))
    try:
        broken = record_references(course, todo, sandbox, workers, out) if todo else {}
        unjudged = [t for t in todo if t.assignment in broken]
        todo = [t for t in todo if t.assignment not in broken]
        with gradebook.Writer(course) as writer, tqdm(
                total=len(todo) + len(unjudged), unit="submission", file=sys.stderr,
                disable=not progress, dynamic_ncols=True) as bar:
            source = workers.results(course, todo, grade, sandbox) if todo else iter(())
            refused = ((t, failed_result(t, "not graded: the reference run of the "
                                            "instructor's solution failed: "
                                            f"{broken[t.assignment]}"[:1000]))
                       for t in unjudged)
            for task, result in itertools.chain(refused, source):
                if task in written:  # a result delivered twice is written once
                    continue
                began = time.perf_counter()
                try:
                    writer.write(result)
                except Exception as err:  # noqa: BLE001 (reported, the batch goes on)
                    result = failed_result(task, f"could not be written to the gradebook: "
                                                 f"{err}", result.seconds)
                    writer.write(result)
                write_s += time.perf_counter() - began
                written.add(task)
                results.append(result)
                bar.write(log_line(result), file=out)
                bar.update()
    finally:
        if workers is not None:
            workers.close()
    print(summary_table(results, skipped, time.perf_counter() - start, write_s), file=out)
    return results


def sandbox_gate(sandbox: bool, out=None) -> bool:
    """Whether grading may start: with the sandbox only where it works; without it only when
    asked explicitly (``SANDBOX=off``), said loudly."""
    from coursekit.sandbox import sandbox_available

    out = out or sys.stdout
    if not sandbox:
        print("WARNING: SANDBOX=off: grading WITHOUT the sandbox. Each submission's code runs "
              "with your rights and can read or change the course: trusted submissions only.",
              file=out)
        return True
    ok, text = sandbox_available()
    if not ok:
        print(f"Refusing to grade: no sandbox back-end can isolate a submission here ({text}). "
              "Install bubblewrap (Debian: apt-get install bubblewrap) and allow unprivileged "
              "user namespaces, or grade trusted submissions with SANDBOX=off.", file=out)
    else:
        print(text.splitlines()[0], file=out)  # the back-end, named in the output
    return ok


def main(argv: list[str] | None = None) -> int:
    """``python -m coursekit.batch``: grade the class (the module docstring); exit 1 if any
    submission could not be graded."""
    env = os.environ
    parser = argparse.ArgumentParser(description="Grade every submission of a course.")
    parser.add_argument("--course", type=Path, default=COURSE)
    parser.add_argument("--jobs", type=int, default=int(env.get("JOBS") or 0) or None,
                        help="worker processes (default: JOBS, else the CPU count)")
    parser.add_argument("--scheduler", default=env.get("SCHEDULER") or None,
                        help="'local' (a Dask LocalCluster) or a Dask scheduler address")
    parser.add_argument("--force", action="store_true",
                        default=env.get("FORCE", "") not in ("", "0"))
    parser.add_argument("--sandbox", choices=("on", "auto", *backends.ORDER, "off"),
                        default=env.get(backends.CHOICE_ENV) or "on",
                        help="a back-end (cgroup2, cgroup1, userns), 'on' for the first that "
                             "runs here, or 'off': WITHOUT the sandbox, trusted submissions only")
    args = parser.parse_args(argv)
    if args.sandbox != "off":  # the workers (processes or Dask) choose by the environment
        os.environ[backends.CHOICE_ENV] = args.sandbox
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"jobs: expected a positive number of workers, got {args.jobs}")
    if not (args.course / "source").is_dir():
        print(f"--course: expected an nbgrader course folder with a source/ folder, received "
              f"{args.course}")
        return 2
    if not sandbox_gate(args.sandbox != "off"):
        return 2
    if not find_tasks(args.course):
        print(f"No submissions: put them in {args.course}/submitted/<student>/<assignment>/")
        return 1
    use_venv_bin()
    results = grade_class(args.course, jobs=args.jobs, scheduler=args.scheduler,
                          force=args.force, sandbox=args.sandbox != "off")
    return 1 if any(r.status == res.FAILED for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Grading a class: plain nbgrader vs coursekit.batch (1 and 2 workers, warm kernels; 2 workers
with fresh kernels) vs a Dask LocalCluster, on classes of 16 and 50 submissions in one run.

A synthetic class of ps1_sigmoid_decay submissions (full solutions, partial ones with the first
half of the answers, blank releases, and broken ones whose first answer cell has a syntax error)
is released once with the real ``nbgrader generate_assignment`` and copied once per way of
grading, which all run in this one invocation, one after another:

- ``plain``: ONE ``nbgrader autograde ps1_sigmoid_decay --create`` for the whole class (what
  ``make autograde`` ran before coursekit.batch);
- ``batch_1`` / ``batch_2``: ``python -m coursekit.batch --jobs 1`` / ``--jobs 2`` (kernels
  forked from a warm template, :mod:`coursekit.warm_kernels`);
- ``batch_2_fresh``: ``--jobs 2`` with ``COURSEKIT_KERNELS=fresh`` (a new sandboxed
  interpreter for every kernel, as before the template);
- ``dask_local``: ``python -m coursekit.batch --scheduler local --jobs 2`` (a LocalCluster).

For each: wall-clock seconds, throughput, CPU-seconds per submission (the whole machine's while
the command ran, from ``/proc/stat``: run it on an idle machine), the seconds the notebook's
cells ran (nbclient's timing of every code cell in the graded notebooks, imports included), the
work per submission (those cell seconds in ``batch_1``, one warm worker alone, where the
imports cost nothing: the student's and the tests' code itself), the fixed cost per submission
(CPU-seconds minus the work: starting the interpreter and its imports, nbgrader, the sandbox,
the gradebook), and whether every per-cell score equals plain nbgrader's.
The import floor is the CPU time of ``python -c "import torch, numpy, vgcourse.grading"``.
Writes benchmarks/results/bench_grading.json (50 submissions) and bench_grading_<n>.json for
another size.
Run: ``.venv/bin/python -m benchmarks.bench_grading [--submissions 16 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coursekit.cells import grade_id, is_answer, is_written, read_notebook
from coursekit.nbgrader_run import venv_env
from harness import (
    find_assignment,
    gradebook_scores,
    make_course,
    solved,
    write_submission,
)

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps1_sigmoid_decay"
RESULTS = REPO / "benchmarks" / "results" / "bench_grading.json"
KINDS = ("full", "partial", "blank", "broken")
#: The class size of bench_grading.json; another size writes bench_grading_<n>.json.
DEFAULT_SUBMISSIONS = 50


def env() -> dict:
    """The benchmark's environment: the venv's tools first on PATH (``venv_env``), one BLAS
    thread, the repository importable."""
    return venv_env(OMP_NUM_THREADS="1",
                    PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


def machine_cpu_s() -> float:
    """CPU-seconds the whole machine has been busy since boot (``/proc/stat``: user, nice,
    system, irq and softirq time of all CPUs)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(args: list[str], cwd: Path, extra_env: dict | None = None) -> dict:
    """Run a command; its wall-clock seconds, CPU-seconds and log.

    The CPU-seconds are the whole machine's while the command ran (run the benchmark on an
    otherwise idle machine): the command's own ``getrusage(RUSAGE_CHILDREN)`` would miss the
    sandboxed kernels, which are reaped inside their PID namespaces and never by the command.
    """
    before = machine_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env={**env(), **(extra_env or {})},
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "cpu_s": machine_cpu_s() - before, "returncode": done.returncode,
            "log": done.stdout + done.stderr}


def submission(kind: str, source, release):
    """One synthetic student's notebook of the given kind, from the release: every answer
    cell filled (``full``, ``broken``: the first answer then ends in an unfinished line, a
    SyntaxError), the first half (``partial``) or none (``blank``); written answers left as
    released."""
    answers = [grade_id(c) for c in release.cells if is_answer(c)]
    fill = {"full": answers, "partial": answers[: len(answers) // 2], "blank": [],
            "broken": answers}[kind]
    keep = {grade_id(c): c.source for c in release.cells
            if is_written(c) or (is_answer(c) and grade_id(c) not in fill)}
    nb = solved(release, source, keep)
    if kind == "broken":
        first = next(c for c in nb.cells if is_answer(c))
        first.source += "\n    return (  # unfinished line: a SyntaxError\n"
    return nb


def make_class(root: Path, n: int) -> Path:
    """A released course of ``n`` synthetic ps1 submissions (kinds in turn), built with the
    harness's class builder (``harness.make_course``, ``write_submission``)."""
    course = make_course(root, find_assignment(ASSIGNMENT), loop_timeout_s=None)
    done = timed([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT,
                  "--force"], course)
    if done["returncode"] != 0:
        raise RuntimeError(f"generate_assignment failed:\n{done['log'][-3000:]}")
    name = f"{ASSIGNMENT}.ipynb"
    source = read_notebook(course / "source" / ASSIGNMENT / name)
    release = read_notebook(course / "release" / ASSIGNMENT / name)
    for i in range(n):
        student = f"student{i:03d}_{KINDS[i % 4]}"
        write_submission(course, student, ASSIGNMENT, name,
                         submission(KINDS[i % 4], source, release))
        (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").write_text(
            f"2026-12-01 10:{i % 60:02d}:00.000000 UTC")
    return course


def scores(course: Path) -> dict:
    """student -> {grade_id: (auto_score, max_score)}: the harness's reader of the gradebook."""
    return gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT)


def cell_seconds(course: Path) -> float:
    """Seconds the code cells of every graded notebook ran (nbclient's ``execution`` timing:
    from ``iopub.execute_input`` to ``shell.execute_reply``)."""
    from datetime import datetime

    total = 0.0
    for path in course.glob(f"autograded/*/{ASSIGNMENT}/*.ipynb"):
        for cell in read_notebook(path).cells:
            timing = cell.get("metadata", {}).get("execution", {})
            start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
            if cell.cell_type == "code" and start and end:
                total += (datetime.fromisoformat(end.replace("Z", "+00:00"))
                          - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    return total


def import_floor(repeats: int = 3) -> float:
    """Mean CPU-seconds of a fresh ``python -c "import torch, numpy, vgcourse.grading"``."""
    runs = [timed([sys.executable, "-c", "import torch, numpy, vgcourse.grading"], REPO)
            for _ in range(repeats)]
    return sum(r["cpu_s"] for r in runs) / repeats


WAYS = ("plain", "batch_2", "batch_1", "batch_2_fresh", "dask_local")


def grade_class(n: int, floor: float) -> None:
    """Every way on one class of ``n``; the record is written after each way."""
    batch = [sys.executable, "-m", "coursekit.batch", "--course", "."]
    ways = {
        "plain": ([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create"], {}),
        "batch_2": (batch + ["--jobs", "2"], {}),
        "batch_1": (batch + ["--jobs", "1"], {}),
        "batch_2_fresh": (batch + ["--jobs", "2"], {"COURSEKIT_KERNELS": "fresh"}),
        "dask_local": (batch + ["--jobs", "2", "--scheduler", "local"], {}),
    }
    load_at_start = os.getloadavg()
    runs, reference = {}, None
    with tempfile.TemporaryDirectory(prefix="bench_grading_") as tmp:
        base = make_class(Path(tmp), n)
        for way in WAYS:
            command, extra_env = ways[way]
            course = Path(tmp) / way
            shutil.copytree(base, course)
            run = timed(command, course, extra_env)
            got = scores(course)
            reference = got if reference is None else reference
            cells = cell_seconds(course) / n
            runs[way] = {
                "wall_s": round(run["wall_s"], 1), "cpu_s": round(run["cpu_s"], 1),
                "graded": len(got), "submissions_per_min": round(60 * n / run["wall_s"], 2),
                "cpu_s_per_submission": round(run["cpu_s"] / n, 2),
                "cpu_s_per_submission_over_import_floor": round(run["cpu_s"] / n / floor, 2),
                "cell_s_per_submission": round(cells, 2),
                "scores_equal_plain": got == reference, "returncode": run["returncode"],
                "checksum_warnings": run["log"].count("Attribute 'checksum'"),
            }
            writer = re.search(r"gradebook writer: [\d.]+ s in all, (\d+) ms", run["log"])
            if writer:
                runs[way]["gradebook_write_ms_per_submission"] = int(writer.group(1))
            print(n, way, json.dumps(runs[way]), flush=True)
            write_record(n, floor, runs, done=len(runs) == len(ways),
                         load_at_start=load_at_start)
    if not all(r["scores_equal_plain"] and r["graded"] == n for r in runs.values()):
        raise SystemExit(f"{n} submissions: a way's scores differ from plain nbgrader's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, nargs="+", default=[16, DEFAULT_SUBMISSIONS])
    args = parser.parse_args(argv)
    floor = import_floor()
    print(f"import floor: {floor:.2f} CPU-s (python -c 'import torch, numpy, vgcourse.grading')")
    for n in args.submissions:
        grade_class(n, floor)
    return 0


def write_record(n: int, floor: float, runs: dict, done: bool,
                 load_at_start: tuple[float, float, float]) -> None:
    """benchmarks/results/bench_grading.json (after every way, so a cut-short run leaves its
    figures, marked ``complete: false``)."""
    speedup = {w: round(runs["plain"]["wall_s"] / r["wall_s"], 2) for w, r in runs.items()}
    scaling = (round(runs["batch_1"]["wall_s"] / runs["batch_2"]["wall_s"], 2)
               if {"batch_1", "batch_2"} <= set(runs) else None)
    template = (round(runs["batch_2_fresh"]["wall_s"] / runs["batch_2"]["wall_s"], 2)
                if {"batch_2", "batch_2_fresh"} <= set(runs) else None)
    # the work: what the cells need when nothing is left to import (one warm worker, alone)
    work = runs["batch_1"]["cell_s_per_submission"] if "batch_1" in runs else None
    for run in runs.values():
        if work is not None:
            run["fixed_cpu_s_per_submission"] = round(run["cpu_s_per_submission"] - work, 2)
    record = {
        "benchmark": "bench_grading", "assignment": ASSIGNMENT, "submissions": n,
        "complete": done, "kinds": list(KINDS), "import_floor_cpu_s": round(floor, 2),
        "runs": runs, "throughput_vs_plain": speedup, "scaling_1_to_2_workers": scaling,
        "warm_vs_fresh_kernels": template, "work_s_per_submission": work,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg()},
        "command": ".venv/bin/python -m benchmarks.bench_grading",
    }
    path = RESULTS if n == DEFAULT_SUBMISSIONS else RESULTS.with_name(f"bench_grading_{n}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({"throughput_vs_plain": speedup, "scaling_1_to_2_workers": scaling,
                      "warm_vs_fresh_kernels": template}))


if __name__ == "__main__":
    raise SystemExit(main())

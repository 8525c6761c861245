"""Measure the course pipeline: book build (cold, cached, incremental) and autograding.

Writes ``benchmarks/results/bench_pipeline.json``. Run with ``make bench`` or
``.venv/bin/python -m benchmarks.bench_pipeline [--students N] [--skip-book]``.

* ``book.cold_s``: ``jupyter-book build book/ --all -W -n --keep-going`` into a fresh output
  folder with an empty execution cache (every chapter executes).
* ``book.cached_s``: the same command again: every page is re-read (``--all``) but the
  chapters' outputs come from the jupyter-cache.
* ``book.incremental_s``: the same command without ``--all`` and nothing changed.
* ``autograde``: per assignment of ``exercises/source/`` (the test fixture when there is none),
  one ``nbgrader autograde`` of N students who all submitted the full solution, with the
  course's real ``nbgrader_config.py``; ``seconds_per_submission`` includes nbgrader's start-up
  divided over the N students.

Timings depend on the machine and on its load: the JSON records the CPU count and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from coursekit import assignments as ck
from coursekit.cells import grade_id, is_test, points, read_notebook
from coursekit.nbgrader_run import bin_dir, run_nbgrader, venv_env
from harness import (
    FIXTURE_SOURCE_ROOT,
    gradebook_scores,
    make_course,
    solved,
    write_submission,
)

REPO = Path(__file__).resolve().parents[1]

RESULTS = REPO / "benchmarks" / "results" / "bench_pipeline.json"


def build_book(book: Path, output: Path, config: Path, *, all_pages: bool) -> dict:
    jb = bin_dir() / "jupyter-book"
    command = [str(jb), "build", str(book), "-W", "-n", "--keep-going",
               "--path-output", str(output), "--config", str(config)]
    if all_pages:
        command.insert(3, "--all")
    env = venv_env()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=3600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print((done.stdout + done.stderr)[-3000:], file=sys.stderr)
    return {"seconds": round(seconds, 2), "returncode": done.returncode}


def bench_book(work: Path, book: Path) -> dict:
    """Cold, cached and incremental builds with a private execution cache."""
    own = book / "_config.yml"
    original = own if own.exists() else REPO / "_config.yml"
    config = yaml.safe_load(original.read_text())
    # The copy lives elsewhere: local Sphinx extensions are found relative to the original.
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in extensions.items():
        extensions[name] = str((original.parent / path).resolve())
    config.setdefault("execute", {})["cache"] = str(work / "jupyter_cache")
    config_path = work / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    output = work / "out"
    cold = build_book(book, output, config_path, all_pages=True)
    cached = build_book(book, output, config_path, all_pages=True)
    incremental = build_book(book, output, config_path, all_pages=False)
    return {
        "book": str(book.relative_to(REPO) if book.is_relative_to(REPO) else book),
        "command": "jupyter-book build BOOK --all -W -n --keep-going",
        "cold_s": cold["seconds"], "cached_s": cached["seconds"],
        "incremental_s": incremental["seconds"],
        "returncodes": [cold["returncode"], cached["returncode"], incremental["returncode"]],
    }


def bench_autograde(work: Path, students: int, only: list[str] | None) -> dict:
    """One autograde per assignment for N students who submitted the solution."""
    course_assignments = ck.discover_assignments()
    everything = ck.discover_assignments(FIXTURE_SOURCE_ROOT) + course_assignments
    if only:  # any of them, the test fixture included
        assignments = [a for a in everything if a.name in only]
        if len(assignments) != len(set(only)):
            unknown = sorted(set(only) - {a.name for a in assignments})
            raise SystemExit(f"--assignment: unknown {unknown}; "
                             f"expected some of {[a.name for a in everything]}")
    else:  # the course's assignments; the fixture when there is none yet
        assignments = course_assignments or everything
    out = {}
    for a in assignments:
        course = make_course(work / a.name, a, loop_timeout_s=None)  # real config
        t0 = time.perf_counter()
        gen = run_nbgrader(["generate_assignment", a.name, "--force"], course)
        gen_s = time.perf_counter() - t0
        if gen.returncode != 0:
            out[a.name] = {"error": "generate_assignment failed",
                           "log": (gen.stdout + gen.stderr)[-2000:]}
            continue
        source = read_notebook(a.notebook)
        release = read_notebook(course / "release" / a.name / a.notebook.name)
        solution = solved(release, source)
        for i in range(students):
            write_submission(course, f"student{i:02d}", a.name, a.notebook.name,
                             solution, data_from=a.source_dir)
        t0 = time.perf_counter()
        done = run_nbgrader(["autograde", a.name, "--create"], course)
        seconds = time.perf_counter() - t0
        scores = gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", a.name)
        tests = {grade_id(c): points(c) for c in source.cells if is_test(c)}
        full = all(
            sum(cells[t][0] or 0.0 for t in tests) == sum(tests.values())
            for cells in scores.values()
        ) and len(scores) == students
        out[a.name] = {
            "students": students,
            "generate_assignment_s": round(gen_s, 2),
            "autograde_s": round(seconds, 2),
            "seconds_per_submission": round(seconds / students, 2),
            "returncode": done.returncode,
            "all_full_marks": full,
        }
        print(f"{a.name}: autograde {seconds:.1f} s for {students} submissions", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3, help="submissions per assignment")
    parser.add_argument("--skip-book", action="store_true", help="only time the autograder")
    parser.add_argument("--assignment", action="append", help="only this assignment (repeat)")
    parser.add_argument("--book", type=Path, default=REPO / "book", help="the book's folder")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    if args.students < 1:
        parser.error(f"--students must be at least 1, received {args.students}")

    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        work = Path(tmp)
        if not args.skip_book:
            (work / "book").mkdir()
            result["book"] = bench_book(work / "book", args.book.resolve())
            print(f"book: {result['book']}", flush=True)
        (work / "grade").mkdir()
        result["autograde"] = bench_autograde(work / "grade", args.students, args.assignment)
        shutil.rmtree(work, ignore_errors=True)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

"""What the sandbox costs: one ps1 submission graded in it and outside it, in turns, in one run.

``coursekit.worker.grade_submission`` grades the same full-marks ps1_sigmoid_decay submission
``--repeats`` times with ``sandbox=True`` (bubblewrap and the back-end's limits) and as
many times with ``sandbox=False`` (nbgrader's own kernel, the instructor's rights), alternating,
in one process after one unmeasured warm-up of each, so both see the same machine and the same
warm nbgrader. For each: the median and range of wall-clock seconds and the whole machine's
CPU-seconds per submission (``/proc/stat``: run it on an idle machine), and whether the scores
agree. Writes benchmarks/results/bench_sandbox.json. Run: ``.venv/bin/python
benchmarks/bench_sandbox.py [--repeats 5]`` (needs root and bubblewrap, as ``make autograde``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench_grading import ASSIGNMENT, REPO, machine_cpu_s, make_class

from coursekit import sandbox as sb
from coursekit import worker

RESULTS = REPO / "benchmarks" / "results" / "bench_sandbox.json"


def grade(course: Path, student: str, sandboxed: bool) -> tuple[float, float, dict]:
    """(wall seconds, machine CPU-seconds, result) of grading the submission once."""
    cpu, start = machine_cpu_s(), time.perf_counter()
    result = worker.grade_submission(course, ASSIGNMENT, student, sandbox=sandboxed)
    return time.perf_counter() - start, machine_cpu_s() - cpu, result


def summary(runs: list[tuple[float, float, dict]]) -> dict:
    walls = [w for w, _, _ in runs]
    return {"wall_s_median": round(statistics.median(walls), 2),
            "wall_s_min": round(min(walls), 2), "wall_s_max": round(max(walls), 2),
            "cpu_s_median": round(statistics.median(c for _, c, _ in runs), 2),
            "scores": sorted({r["score"] for _, _, r in runs}),
            "statuses": sorted({r["status"] for _, _, r in runs})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise ValueError(f"--repeats: expected a positive count, received {args.repeats}")
    ok, why = sb.sandbox_available()
    if not ok:
        raise SystemExit(f"bench_sandbox: the sandbox is not available ({why})")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load_at_start = os.getloadavg()
    runs: dict[bool, list] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="bench_sandbox_") as tmp:
        course = make_class(Path(tmp), 1)  # one submission, of the first kind: "full"
        (student,) = (path.name for path in (course / "submitted").iterdir())
        for sandboxed in (True, False):  # warm-up: imports, caches
            grade(course, student, sandboxed)
        for _ in range(args.repeats):
            for sandboxed in (True, False):
                runs[sandboxed].append(grade(course, student, sandboxed))
    sandboxed, plain = summary(runs[True]), summary(runs[False])
    record = {
        "benchmark": "bench_sandbox", "assignment": ASSIGNMENT, "repeats": args.repeats,
        "sandboxed": sandboxed, "unsandboxed": plain,
        "sandbox_wall_overhead_s": round(sandboxed["wall_s_median"] - plain["wall_s_median"], 2),
        "sandbox_wall_ratio": round(sandboxed["wall_s_median"] / plain["wall_s_median"], 2),
        "same_scores": sandboxed["scores"] == plain["scores"],
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg()},
        "command": f".venv/bin/python benchmarks/bench_sandbox.py --repeats {args.repeats}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0 if record["same_scores"] and sandboxed["statuses"] == ["graded"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

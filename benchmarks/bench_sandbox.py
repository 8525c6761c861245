"""What the sandbox costs: one ps1 submission graded in it and outside it, in turns, in one run.

Every sandbox back-end this machine can run (``coursekit.backends``: cgroup2, cgroup1, userns) is
measured in the same turns; ``sandboxed`` is the one ``make autograde`` would choose here.

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

from benchmarks.bench_grading import ASSIGNMENT, REPO, machine_cpu_s, make_class
from coursekit import backends, worker
from coursekit import sandbox as sb

RESULTS = REPO / "benchmarks" / "results" / "bench_sandbox.json"


def grade(course: Path, student: str, backend: str) -> tuple[float, float, dict]:
    """(wall seconds, machine CPU-seconds, result) of grading the submission once with that
    back-end (``off``: without the sandbox)."""
    if backend != "off":
        os.environ[backends.CHOICE_ENV] = backend
    cpu, start = machine_cpu_s(), time.perf_counter()
    result = worker.grade_submission(course, ASSIGNMENT, student, sandbox=backend != "off")
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
    chosen = sb.backend().name
    usable = [name for name in backends.ORDER
              if backends.probe(name, sb._bwrap_check) is None]
    conditions = [*usable, "off"]
    load_at_start = os.getloadavg()
    runs: dict[str, list] = {name: [] for name in conditions}
    with tempfile.TemporaryDirectory(prefix="bench_sandbox_") as tmp:
        course = make_class(Path(tmp), 1)  # one submission, of the first kind: "full"
        (student,) = (path.name for path in (course / "submitted").iterdir())
        for name in conditions:  # warm-up: imports, caches, the reference run
            grade(course, student, name)
        for _ in range(args.repeats):
            for name in conditions:
                runs[name].append(grade(course, student, name))
    sandboxed, plain = summary(runs[chosen]), summary(runs["off"])
    per_backend = {name: summary(runs[name]) for name in usable}
    record = {
        "benchmark": "bench_sandbox", "assignment": ASSIGNMENT, "repeats": args.repeats,
        "backend": chosen, "sandboxed": sandboxed, "unsandboxed": plain,
        "backends": per_backend,
        "sandbox_wall_overhead_s": round(sandboxed["wall_s_median"] - plain["wall_s_median"], 2),
        "sandbox_wall_ratio": round(sandboxed["wall_s_median"] / plain["wall_s_median"], 2),
        "same_scores": all(r["scores"] == plain["scores"] for r in per_backend.values()),
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg()},
        "command": f".venv/bin/python -m benchmarks.bench_sandbox --repeats {args.repeats}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0 if record["same_scores"] and sandboxed["statuses"] == ["graded"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

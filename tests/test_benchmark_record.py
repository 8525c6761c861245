"""The instructor guide's grading figures are the recorded benchmark's.

``book/instructors.md`` quotes ``benchmarks/results/bench_grading.json`` (50 submissions),
``bench_grading_16.json`` (a class of 16, the size the grading-time target names) and
``bench_sandbox.json`` (one submission in and out of the sandbox). A re-run of the
benchmark that changes a figure fails here until the page says the new figure.
"""

from __future__ import annotations

import json

import pytest

from coursekit.assignments import REPO

#: The page's text with whitespace collapsed, so a figure may sit across a line break.
PAGE = " ".join((REPO / "book" / "instructors.md").read_text().split())
RESULTS = REPO / "benchmarks" / "results"
#: Each way of grading, as the page's table names it.
ROWS = {
    "plain": "plain `nbgrader autograde` (one command for the class)",
    "batch_1": "`make autograde JOBS=1`",
    "batch_2": "`make autograde JOBS=2`",
    "dask_local": "`make autograde SCHEDULER=local JOBS=2`",
}


def record(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


@pytest.mark.parametrize("name", ["bench_grading.json", "bench_grading_16.json"])
def test_the_record_is_complete_with_plain_scores(name):
    """Every way graded the whole class and gave plain nbgrader's per-cell scores."""
    rec = record(name)
    assert rec["complete"], f"{name}: the run was cut short"
    assert set(rec["runs"]) == set(ROWS)
    for way, run in rec["runs"].items():
        assert run["graded"] == rec["submissions"], (name, way, run["graded"])
        assert run["scores_equal_plain"], (name, way)
        assert run["checksum_warnings"] == 0, (name, way)


def test_the_guide_table_is_the_recorded_run():
    """One table row per way, every figure as bench_grading.json records it."""
    rec = record("bench_grading.json")
    for way, label in ROWS.items():
        run = rec["runs"][way]
        row = (f"| {label} | {run['wall_s']:.1f} s | {run['submissions_per_min']:.2f} | "
               f"{rec['throughput_vs_plain'][way]:.2f}x | {run['cpu_s_per_submission']:.2f} | "
               f"{run['cpu_s_per_submission_over_import_floor']:.2f} | yes |")
        assert row in PAGE, f"book/instructors.md lacks the row\n{row}"
    assert f"one synthetic class of {rec['submissions']} ps1_sigmoid_decay" in PAGE
    assert f"cost {rec['import_floor_cpu_s']:.2f} CPU-s per process" in PAGE
    assert f"(load average {rec['machine']['load_average_at_start'][0]:.2f} at the start)" in PAGE
    floor_share = rec["import_floor_cpu_s"] / rec["runs"]["plain"]["cpu_s_per_submission"]
    assert f"about {round(100 * floor_share, -1):.0f}% of each submission's CPU time" in PAGE
    cpu = rec["runs"]["batch_2"]["cpu_s_per_submission"]
    hours = 10_000 * cpu / 3600
    assert f"10,000 submissions x {cpu:.1f} CPU-s = about {hours:.0f} CPU-hours" in PAGE
    scaling = rec["scaling_1_to_2_workers"]
    assert f"From 1 to 2 workers the batch's throughput grew {scaling:.2f}x" in PAGE
    writes = (rec["runs"]["batch_2"]["gradebook_write_ms_per_submission"],
              rec["runs"]["dask_local"]["gradebook_write_ms_per_submission"])
    assert f"took {writes[0]} ms in the coordinating process" in PAGE
    assert f"({writes[1]} ms under Dask)" in PAGE
    assert f"{writes[0]} to {writes[1]} ms per submission" in PAGE


def test_the_guide_quotes_the_class_of_16():
    """The 16-submission ratios the page gives are bench_grading_16.json's."""
    rec = record("bench_grading_16.json")
    assert rec["submissions"] == 16
    ratio = rec["throughput_vs_plain"]
    assert f"`make autograde JOBS=2` was {ratio['batch_2']:.2f}x" in PAGE
    assert f"`LocalCluster` {ratio['dask_local']:.2f}x" in PAGE


def test_the_guide_quotes_the_sandbox_cost():
    """The sandbox's cost the page gives is bench_sandbox.json's, with the same scores."""
    rec = record("bench_sandbox.json")
    assert rec["same_scores"] and rec["sandboxed"]["statuses"] == ["graded"]
    inside, outside = rec["sandboxed"], rec["unsandboxed"]
    for run, where in ((inside, "sandboxed"), (outside, "without the sandbox")):
        quoted = (f"{run['wall_s_median']:.2f} s {where} ({run['wall_s_min']:.2f} to "
                  f"{run['wall_s_max']:.2f} s)")
        assert quoted in PAGE, f"book/instructors.md lacks: {quoted}"
    # "less than the run-to-run noise": the medians differ by less than either range
    gap = abs(inside["wall_s_median"] - outside["wall_s_median"])
    assert gap < min(inside["wall_s_max"] - inside["wall_s_min"],
                     outside["wall_s_max"] - outside["wall_s_min"]), (inside, outside)

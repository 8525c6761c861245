"""What a student controls, neutralised before it leaves the course: CSV cells (OWASP's
CSV-injection rule), ``timestamp.txt`` and the graded notebook's markdown, on hand-built data
(no kernel, no nbgrader run)."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import parse_utc

from coursekit import exports, gradebook
from coursekit.result import Record, SubmissionResult
from coursekit.sanitize import (
    FORMULA_STARTS,
    csv_cell,
    markdown_to_html,
    parse_timestamp,
    sanitize_markdown_source,
    sanitize_notebook,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx",
                                  "\r=x", "-", "-inf", "- 1", "=HYPERLINK(\"http://x\")"])
def test_formula_text_gets_a_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-1.5", "+2", "-3e-4", "-.5", "0", "ok", "a=b", -1.5, 3, None])
def test_numbers_and_plain_text_stay(value):
    assert csv_cell(value) == value


def _course(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    return course


def _hand_in(course, student: str, stamp: str | None, record: dict | None) -> None:
    folder = course / "submitted" / student / "ps1"
    folder.mkdir(parents=True)
    (folder / "ps1.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    if stamp is not None:
        (folder / "timestamp.txt").write_text(stamp)
    if record is not None:
        result = SubmissionResult(student=student, assignment="ps1", status=record["status"],
                                  reasons=tuple(record["reasons"]), score=record["score"],
                                  max_score=record["max_score"])
        record = Record(result, gradebook.submission_hash(course, "ps1", student)).to_json()
        path = gradebook.record_path(course, "ps1", student)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))


def test_export_neutralises_every_text_cell(tmp_path, monkeypatch):
    """Student ids, reasons and timestamps a student controls reach the CSV inert; a
    negative score stays a number; a real timestamp is exported in nbgrader's format."""
    # nbgrader's Gradebook runs `alembic` from the venv's bin
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    course = _course(tmp_path)
    _hand_in(course, "@evil", '=HYPERLINK("http://x","y")', None)
    _hand_in(course, "-bob", "2024-03-01T14:30:00+02:00",
             {"status": "failed", "reasons": ["=1+2 could not grade"], "score": 0,
              "max_score": 3})
    _hand_in(course, "carol", "\t2024", {"status": "flagged", "reasons": ["+flagged: x"],
                                         "score": -1.5, "max_score": 3})
    out = tmp_path / "grades.csv"
    exports.write_csv(course, out)
    with open(out, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    by_student = {row["student"]: row for row in table}
    assert set(by_student) == {"'@evil", "'-bob", "carol"}
    for row in table:
        for column, cell in row.items():
            if cell.startswith(FORMULA_STARTS):
                assert float(cell) < 0, (column, cell)
    assert by_student["'@evil"]["timestamp"] == ""
    assert by_student["'-bob"]["timestamp"] == "2024-03-01 12:30:00.000000 UTC"
    assert by_student["'-bob"]["reason"] == "'=1+2 could not grade"
    assert by_student["carol"]["autograded_score"] == "-1.5"
    assert by_student["carol"]["timestamp"] == ""
    assert by_student["carol"]["reason"] == "'+flagged: x"


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01 12:30:00.123456 UTC", datetime(2024, 3, 1, 12, 30, 0, 123456)),
    ("2024-03-01 12:30:00 UTC\nsecond line", datetime(2024, 3, 1, 12, 30)),
    ("2024-03-01T14:30:00+02:00", datetime(2024, 3, 1, 12, 30)),
    ("  2024-03-01 12:30:00  \n", datetime(2024, 3, 1, 12, 30)),
    ("2024-03-01", datetime(2024, 3, 1)),
])
def test_timestamps_nbgrader_accepts_are_read(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    assert parse_utc(parsed) == expected  # nbgrader reads it back as the same instant


@pytest.mark.parametrize("text", ["", "\n", "=1+1", "-2024-03-01", "5", "2024", "12:30",
                                  "March", "2024-13-45 10:00:00", "garbage 2024-03-01",
                                  "2024-03-01 " + "9" * 80, "@2024-03-01"])
def test_what_is_not_a_timestamp_is_ignored(text):
    assert parse_timestamp(text) is None


def test_bad_arguments_name_themselves():
    for call, name in ((lambda: parse_timestamp(b"2024"), "text"),
                       (lambda: markdown_to_html(1), "source"),
                       (lambda: sanitize_markdown_source(None), "source"),
                       (lambda: sanitize_notebook("nb"), "nb")):
        with pytest.raises(TypeError, match=name):
            call()


@pytest.mark.parametrize("source", [
    "Since $a<b$ and $b<c$, $a<c$.",
    "$$\\sum_{i<n} x_i < \\epsilon$$",
    "\\begin{align} a &< b \\\\ c &> d \\end{align}",
    "Use `x < y` and\n\n```python\nif a < b and c > d:\n    print('<b>')\n```\n",
    "| a | b |\n|---|---|\n| 1 < 2 | *x* |",
    "![plot](attachment:plot.png) and [the book](https://example.org/a?b=1)",
    "# Heading\n\n- item one\n- item **two** > one",
])
def test_honest_markdown_survives_byte_for_byte(source):
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAAB"
           "JRU5ErkJggg==")
    cell = nbformat.v4.new_markdown_cell(source)
    if "attachment:" in source:
        cell.attachments = {"plot.png": {"image/png": png}}
    clean = sanitize_notebook(nbformat.v4.new_notebook(cells=[cell]))
    assert clean.cells[0].source == source


@pytest.mark.parametrize("source", [
    "<img src=x onerror=alert(1)>", "text <b onclick=x()>bold</b>", "[x](javascript:alert(1))",
    "<script>alert(1)</script>", "```mermaid\n<img src=x onerror=alert(1)>\n```",
    '<iframe srcdoc="<script>x()</script>"></iframe>', '<meta http-equiv="refresh" content="0">',
])
def test_raw_html_is_shown_as_text(source):
    fenced = sanitize_markdown_source(source)
    assert source in fenced and fenced.startswith("*This cell held HTML")
    assert sanitize_markdown_source(fenced) == fenced  # the fenced cell is inert as it is
    rendered = markdown_to_html(source)
    assert "<script" not in rendered and "<img" not in rendered and "<iframe" not in rendered


def test_every_assignment_markdown_cell_survives():
    """The course's own markdown (instructions, model written answers) is left as written."""
    paths = sorted((REPO / "exercises" / "source").glob("*/*.ipynb"))
    assert paths
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert sanitize_markdown_source(cell.source, cell.get("attachments")) \
                    == cell.source, (path.name, cell.source[:200])


def test_the_writer_puts_only_sanitized_notebooks_in_autograded(tmp_path):
    """coursekit.gradebook's writer, on a hostile result: autograded/ holds the sanitized
    notebook (no script, handler, iframe or JavaScript output), its honest text intact."""
    from test_inert_outputs import ASSIGNMENT, graded_course, hostile_notebook

    course = graded_course(tmp_path / "course", "http://127.0.0.1:9")
    written = nbformat.read(course / "autograded" / "mallory" / ASSIGNMENT
                            / f"{ASSIGNMENT}.ipynb", as_version=4)
    raw = hostile_notebook("http://127.0.0.1:9")
    expected = sanitize_notebook(raw)
    assert len(written.cells) == len(expected.cells)
    for got, want in zip(written.cells, expected.cells, strict=True):
        assert got.source == want.source and got.get("outputs") == want.get("outputs")
    assert written.cells[0].source == raw.cells[0].source
    assert all(c.source == r.source or c.source.startswith("*This cell held HTML")
               for c, r in zip(written.cells, raw.cells, strict=True) if c.cell_type == "markdown")
    outputs = [out for cell in written.cells for out in cell.get("outputs", [])]
    assert {m for out in outputs for m in out.get("data", {})} <= {"text/plain", "text/html"}
    live = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            live.extend([tag] if tag in ("script", "iframe", "svg", "object", "embed") else [])
            live.extend(f"{tag}[{a}]" for a, _ in attrs if a.startswith("on"))

    for out in outputs:
        Tags().feed(out.get("data", {}).get("text/html", ""))
    assert live == [], live

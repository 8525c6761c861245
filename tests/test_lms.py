"""The Canvas and Moodle grade imports (``coursekit.lms``), parsed as each LMS documents them.

No kernel and no gradebook: each test writes a ``grades.csv`` in the columns of
``coursekit.exports`` and a roster, runs the export, and reads the files back with the ``csv``
module. Expected headers and cells are written out by hand here from the documented formats
(Canvas's gradebook export/import columns; Moodle's CSV grade import), never computed by the
module under test.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import pytest
from test_collect import DOWNLOADS, recipe

from coursekit import commands, lms
from coursekit.exports import COLUMNS

PS1, PS2 = "ps1_sigmoid_decay", "ps2_multiplicative_chains"

#: student id -> roster row: names that need quoting, non-ASCII names, formula-leading text.
ROSTER = [
    {"student": "doejane", "name": "Doe, Jane", "canvas_id": "101", "sis_user_id": "S1",
     "sis_login_id": "jdoe", "section": "Section 1", "email": "jane@example.edu",
     "idnumber": "2024001"},
    {"student": "obrien", "name": 'O"Brien, Pat', "canvas_id": "102", "sis_user_id": "",
     "sis_login_id": "pobrien", "section": "Section 1", "email": "pat@example.edu",
     "idnumber": ""},
    {"student": "zolc", "name": "Żółć, Łukasz", "canvas_id": "103", "sis_user_id": "S3",
     "sis_login_id": "lzolc", "section": "Sekcja 2", "email": "", "idnumber": "2024003"},
    {"student": "lines", "name": "Two\nLines", "canvas_id": "104", "sis_user_id": "S4",
     "sis_login_id": "two", "section": "Section 2", "email": "two@example.edu",
     "idnumber": "2024004"},
    {"student": "evil", "name": '=HYPERLINK("http://evil.example","x")', "canvas_id": "105",
     "sis_user_id": "S5", "sis_login_id": "@evil", "section": "-2+3",
     "email": "+evil@example.edu", "idnumber": "2024005"},
    {"student": "nohand", "name": "Never, Handed", "canvas_id": "106", "sis_user_id": "S6",
     "sis_login_id": "nh", "section": "Section 2", "email": "nh@example.edu",
     "idnumber": "2024006"},
    {"student": "noids", "name": "No, Ids", "canvas_id": "", "sis_user_id": "",
     "sis_login_id": "noids", "section": "Section 2", "email": "", "idnumber": ""},
]

#: (student, assignment, status, score, max_score, reason): grades.csv rows.
GRADES = [
    ("doejane", PS1, "graded", "9.5", "10", ""),
    ("doejane", PS2, "needs manual grading", "7", "12", ""),
    ("obrien", PS1, "graded", "0", "10", ""),
    ("obrien", PS2, "flagged for review", "12", "12", "kernel output could not be trusted"),
    ("zolc", PS1, "failed", "", "", "NotJSONError: not a notebook"),
    ("zolc", PS2, "graded", "11.25", "12", ""),
    ("lines", PS1, "not graded yet", "", "", "resubmitted after grading"),
    ("evil", PS1, "graded", "10", "10", ""),
    ("evil", PS2, "graded", "12", "12", ""),
    ("stranger", PS1, "graded", "8", "10", ""),
    ("noids", PS1, "graded", "5", "10", ""),
]


def write_grades(path: Path, rows=GRADES) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for s, a, status, score, top, reason in rows:
            writer.writerow(dict(dict.fromkeys(COLUMNS, ""), student=s, assignment=a,
                                 status=status, score=score, max_score=top, reason=reason))


def write_roster(path: Path, rows=ROSTER) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=lms.ROSTER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def course(tmp_path) -> Path:
    """A course folder holding grades.csv, lms_roster.csv and lms_assignments.csv."""
    write_grades(tmp_path / "grades.csv")
    write_roster(tmp_path / "lms_roster.csv")
    (tmp_path / "lms_assignments.csv").write_text(
        "assignment,canvas_id,canvas_name,moodle_item\n"
        f"{PS1},12345,,Problem set 1\n", encoding="utf-8")
    return tmp_path


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def by_first(table, column):
    return {row[column]: row for row in table}


def test_canvas_file_has_the_documented_columns_and_the_right_grades(course, monkeypatch):
    monkeypatch.delenv("LMS_ROSTER", raising=False)
    assert lms.after_grades(["--course", str(course)]) == 0
    table = read(course / "lms" / "canvas_grades.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        f"{PS1} (12345)", PS2]
    assert table[1] == ["    Points Possible", "", "", "", "", "10", "12"]
    rows = by_first(table[2:], 1)  # by Canvas user ID
    assert rows["101"] == ["Doe, Jane", "101", "S1", "jdoe", "Section 1", "9.5", ""]
    assert rows["102"] == ['O"Brien, Pat', "102", "", "pobrien", "Section 1", "0", ""]
    assert rows["103"] == ["Żółć, Łukasz", "103", "S3", "lzolc", "Sekcja 2", "", "11.25"]
    assert rows["104"] == ["Two\nLines", "104", "S4", "two", "Section 2", "", ""]
    assert rows["105"] == ['\'=HYPERLINK("http://evil.example","x")', "105", "S5", "'@evil",
                           "'-2+3", "10", "12"]
    assert rows["106"] == ["Never, Handed", "106", "S6", "nh", "Section 2", "", ""]
    assert set(rows) == {"101", "102", "103", "104", "105", "106"}  # noids cannot be matched


def test_moodle_file_has_an_identifier_and_one_column_per_grade_item(course):
    lms.write_lms(course, course / "lms_roster.csv")
    table = read(course / "lms" / "moodle_grades.csv")
    assert table[0] == ["ID number", "Email address", "Full name", "Problem set 1", PS2]
    rows = by_first(table[1:], 2)  # by full name
    assert rows["Doe, Jane"] == ["2024001", "jane@example.edu", "Doe, Jane", "9.5", ""]
    assert rows['O"Brien, Pat'] == ["", "pat@example.edu", 'O"Brien, Pat', "0", ""]
    assert rows["Żółć, Łukasz"] == ["2024003", "", "Żółć, Łukasz", "", "11.25"]
    assert rows["Two\nLines"][3:] == ["", ""]
    assert rows['\'=HYPERLINK("http://evil.example","x")'][:2] == ["2024005",
                                                                    "'+evil@example.edu"]
    assert rows['\'=HYPERLINK("http://evil.example","x")'][3:] == ["10", "12"]
    assert "No, Ids" not in rows and len(table) == 1 + 6


def test_statuses_that_are_not_a_grade_are_empty_and_reported(course, capsys):
    assert lms.main(["--course", str(course), "export"]) == 0
    printed = capsys.readouterr().out
    report = (course / "lms" / "not_exported.txt").read_text(encoding="utf-8")
    expected = [
        f"doejane {PS2}: needs manual grading",
        f"obrien {PS2}: flagged for review (kernel output could not be trusted)",
        f"zolc {PS1}: failed (NotJSONError: not a notebook)",
        f"lines {PS1}: not graded yet (resubmitted after grading)",
        f"lines {PS2}: missing (nothing handed in)",
        f"nohand {PS1}: missing (nothing handed in)",
        f"nohand {PS2}: missing (nothing handed in)",
        f"noids {PS2}: missing (nothing handed in)",
        "stranger: handed in but not on the LMS roster",
        "noids: no canvas_id or sis_user_id in the roster",
        "noids: no idnumber or email in the roster",
    ]
    for line in expected:
        assert line in report, (line, report)
        assert line in printed, (line, printed)
    graded_pairs = [f"doejane {PS1}:", f"zolc {PS2}:", f"evil {PS1}:", f"obrien {PS1}:"]
    assert not [p for p in graded_pairs if p in report]
    assert len(report.strip().splitlines()) == 1 + len(expected)


def test_a_zero_is_a_grade_but_no_status_becomes_zero(course):
    lms.write_lms(course, course / "lms_roster.csv")
    cells = [c for row in read(course / "lms" / "canvas_grades.csv")[2:] for c in row[5:]]
    assert cells.count("0") == 1  # obrien's real zero on ps1, nothing else
    moodle = [c for row in read(course / "lms" / "moodle_grades.csv")[1:] for c in row[3:]]
    assert moodle.count("0") == 1


def test_quoting_is_what_the_csv_module_reads_back(course):
    lms.write_lms(course, course / "lms_roster.csv")
    raw = (course / "lms" / "canvas_grades.csv").read_bytes().decode("utf-8")
    assert '"Doe, Jane"' in raw and '"O""Brien, Pat"' in raw and '"Two\nLines"' in raw
    assert "Żółć, Łukasz".encode() in (course / "lms" / "canvas_grades.csv").read_bytes()


def test_without_a_canvas_id_the_column_is_the_assignment_name(tmp_path):
    write_grades(tmp_path / "grades.csv", GRADES[:1])
    write_roster(tmp_path / "r.csv", ROSTER[:1])
    lms.write_lms(tmp_path, tmp_path / "r.csv")
    assert read(tmp_path / "lms" / "canvas_grades.csv")[0][5:] == [PS1]


def test_make_grades_writes_the_lms_files_after_grades_csv(course, monkeypatch, capsys):
    """``python -m coursekit grades`` (``make grades``): the export, then the LMS files."""
    from coursekit import exports

    monkeypatch.delenv("LMS_ROSTER", raising=False)
    monkeypatch.setattr(exports, "main", lambda argv: 0)  # grades.csv is already in `course`
    assert commands.grades(["--course", str(course)]) == 0
    assert (course / "lms" / "canvas_grades.csv").is_file()
    assert "LMS files:" in capsys.readouterr().out


def test_no_roster_no_lms_files(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LMS_ROSTER", raising=False)
    write_grades(tmp_path / "grades.csv")
    assert lms.after_grades(["--course", str(tmp_path)]) == 0
    assert not (tmp_path / "lms").exists()
    assert "no roster" in capsys.readouterr().out


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("", ""), ("-2.5", "-2.5"),
    ("+3", "+3"), ("1e-3", "1e-3"), (7, 7), (0.5, 0.5), ("Łukasz", "Łukasz"),
])
def test_neutralise(value, expected):
    assert lms.neutralise(value) == expected


def test_bad_arguments_name_what_was_received(tmp_path):
    with pytest.raises(TypeError, match=r"value must be str, int or float, received list"):
        lms.neutralise([1])
    with pytest.raises(TypeError, match=r"name must be str, received int 3"):
        lms.parse_download_name(3)
    (tmp_path / "r.csv").write_text("student,phone\nx,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"roster .*r.csv: header must hold 'student'.*"
                                         r"received \['student', 'phone'\]"):
        lms.read_roster(tmp_path / "r.csv")
    (tmp_path / "d.csv").write_text("student\nx\nx\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"each 'student' may appear once; received "
                                         r"duplicates \['x'\]"):
        lms.read_roster(tmp_path / "d.csv")


def _recipe_regexp(lms_name: str) -> str:
    """The ``named_regexp`` that the instructor guide's collect recipe sets."""

    class Config:
        def __getattr__(self, name):
            value = type(self)()
            object.__setattr__(self, name, value)
            return value

    c = Config()
    exec(recipe(lms_name), {"c": c})  # the guide's own config lines
    return c.FileNameCollectorPlugin.named_regexp


@pytest.mark.parametrize("lms_name", sorted(DOWNLOADS))
def test_download_names_give_the_same_student_ids_as_the_collect_recipes(lms_name):
    regexp = re.compile(_recipe_regexp(lms_name))
    for member, sid in DOWNLOADS[lms_name].items():
        name = re.sub(r" \(\d+\)(?=\.[^./]+$)", "", member)
        if sid is None:
            continue
        assert regexp.match(name).group("student_id") == sid
        assert lms.parse_download_name(member)["student"] == sid, member


def test_roster_is_filled_from_the_download_without_overwriting(tmp_path, capsys):
    archive = tmp_path / "downloaded" / PS1 / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "canvas.zip", "w") as zf:
        for member in DOWNLOADS["canvas"]:
            zf.writestr(member, "{}")
    with zipfile.ZipFile(archive / "moodle.zip", "w") as zf:
        for member in DOWNLOADS["moodle"]:
            zf.writestr(member, "{}")
    write_roster(tmp_path / "lms_roster.csv", [dict(dict.fromkeys(lms.ROSTER_COLUMNS, ""),
                                                    student="doejane", name="Doe, Jane",
                                                    canvas_id="999")])
    assert lms.main(["--course", str(tmp_path), "roster", PS1]) == 0
    assert "students added" in capsys.readouterr().out
    rows = {r["student"]: r for r in lms.read_roster(tmp_path / "lms_roster.csv")}
    assert rows["doejane"]["canvas_id"] == "999"  # the instructor's value stays
    assert rows["smithjo"]["canvas_id"] == "23456" and rows["kimbo"]["canvas_id"] == "45678"
    assert rows["1234"]["name"] == "Jane Doe" and rows["3456"]["name"] == "Bo Kim"
    assert rows["4567"]["name"] == "Vu Nguyen"
    assert set(rows) == {"doejane", "smithjo", "leeann", "kimbo", "nguyenv",
                         "1234", "2345", "3456", "4567"}

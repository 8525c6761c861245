"""The instructor guide's LMS collection recipes, as printed there, on realistic downloads.

Each recipe (a ``# LMS recipe: NAME`` block of book/instructors.md) goes into a course's
``nbgrader_config.py``; a zip named and laid out like the LMS's "download all submissions"
goes into ``downloaded/ps1_sigmoid_decay/archive/``; ``python -m coursekit.collect`` runs the
real ``nbgrader zip_collect``. Every student's notebook must arrive, byte for byte, under
``submitted/<student_id>/ps1_sigmoid_decay/ps1_sigmoid_decay.ipynb``.
"""

from __future__ import annotations

import re
import stat
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit import collect
from coursekit.assignments import COURSE_CONFIG

pytestmark = pytest.mark.kernel  # each test runs the real `nbgrader zip_collect`
REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps1_sigmoid_decay"

#: zip member -> student id the recipe must read from it (None: must be skipped).
DOWNLOADS = {
    "canvas": {
        "doejane_12345_678901_ps1_sigmoid_decay.ipynb": "doejane",
        "smithjo_LATE_23456_789012_ps1_sigmoid_decay.ipynb": "smithjo",
        "leeann_34567_890123_ps1_sigmoid_decay (1).ipynb": "leeann",
        "kimbo_45678_901234_ps1_sigmoid_decay-1.ipynb": "kimbo",
        "nguyenv_late_56789_912345_ps1_sigmoid_decay.ipynb": "nguyenv",
        "doejane_12345_678902_notes.txt": None,
    },
    "moodle": {
        "Jane Doe_1234_assignsubmission_file_/ps1_sigmoid_decay.ipynb": "1234",
        "Ann Lee_2345_assignsubmission_file_/ps1_sigmoid_decay (1).ipynb": "2345",
        "Bo Kim_3456_assignsubmission_file_ps1_sigmoid_decay.ipynb": "3456",
        "Vu Nguyen_4567_assignsubmission_onlinetext_onlinetext.html": None,
    },
}
LATE = {"smithjo", "nguyenv"}


def recipe(name: str) -> str:
    """The config lines of the guide's ``# LMS recipe: NAME`` block."""
    text = (REPO / "book" / "instructors.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    found = [textwrap.dedent(b) for b in blocks if f"# LMS recipe: {name}" in b]
    assert len(found) == 1, f"book/instructors.md: expected one '# LMS recipe: {name}' block"
    return found[0]


def lms_course(root: Path, config: str, members: dict[str, str | None]) -> dict[str, bytes]:
    """A course with the recipe in its config, a release and the LMS zip; member -> bytes."""
    course = root / "course"
    (course / "release" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), str(course / "release" / ASSIGNMENT
                                                  / f"{ASSIGNMENT}.ipynb"))
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG.read_text() + "\n" + config)
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    contents = {}
    with zipfile.ZipFile(archive / "submissions.zip", "w") as zf:
        for member in members:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(member)])
            contents[member] = nbformat.writes(nb).encode()
            zf.writestr(member, contents[member])
    return contents


@pytest.mark.parametrize("lms", sorted(DOWNLOADS))
def test_recipe_collects_every_student(lms, tmp_path, capsys):
    members = DOWNLOADS[lms]
    contents = lms_course(tmp_path, recipe(lms), members)
    course = tmp_path / "course"
    assert collect.main([ASSIGNMENT, "--course", str(course)]) == 0, capsys.readouterr()
    expected = {sid: contents[m] for m, sid in members.items() if sid}
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(expected)
    for sid, data in expected.items():
        folder = submitted / sid / ASSIGNMENT
        assert sorted(p.name for p in folder.iterdir() if p.suffix == ".ipynb") == [
            f"{ASSIGNMENT}.ipynb"]
        assert (folder / f"{ASSIGNMENT}.ipynb").read_bytes() == data
        assert (folder / "timestamp.txt").is_file() == (sid in LATE), sid
    assert f"{len(expected)} files collected" in capsys.readouterr().out


def test_plain_nbgrader_collects_nothing_and_that_is_an_error(tmp_path, capsys):
    """Without the collector plugin nbgrader matches the absolute path: nothing is collected,
    nbgrader exits 0, and coursekit.collect reports the failure."""
    config = "\n".join(ln for ln in recipe("canvas").splitlines() if "collector_plugin" not in ln)
    lms_course(tmp_path, config, DOWNLOADS["canvas"])
    course = tmp_path / "course"
    count, log = collect.collect(course, ASSIGNMENT)
    assert count == 0 and "did not match" in log
    assert collect.main([ASSIGNMENT, "--course", str(course)]) == 1
    assert "no file collected" in capsys.readouterr().err


def _notebook_bytes(text: str) -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(text)])).encode()


def _hostile_download(course: Path) -> dict[str, bytes]:
    """A Canvas zip whose good members sit beside an absolute path, a '..' path, a symlink, a
    member past the size limit, one with a bad CRC and an unsafe student id; plus an archive
    that is not a zip. Returns the good students' notebooks (student id -> bytes)."""
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    good = {sid: _notebook_bytes(sid) for sid in ("doejane", "smithjo")}
    name = "{}_12345_678901_ps1_sigmoid_decay.ipynb"
    with zipfile.ZipFile(archive / "submissions.zip", "w", zipfile.ZIP_STORED) as zf:
        for sid, data in good.items():
            zf.writestr(name.format(sid), data)
        zf.writestr("/" + name.format("absolut"), _notebook_bytes("abs"))
        zf.writestr("../" + name.format("climber"), _notebook_bytes("up"))
        link = zipfile.ZipInfo(name.format("linker"))
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr(name.format("hugebo"), _notebook_bytes("x" * 50_000))
        zf.writestr(name.format("crcbad"), _notebook_bytes("CORRUPTME"))
        zf.writestr(name.format("<img src=x onerror=alert(1)>"), _notebook_bytes("html"))
    data = (archive / "submissions.zip").read_bytes()
    (archive / "submissions.zip").write_bytes(data.replace(b"CORRUPTME", b"CORRUPTED", 1))
    (archive / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    return good


def test_unsafe_members_are_skipped_and_the_class_is_collected(tmp_path, capsys):
    """Every unsafe or unreadable member is skipped with its reason; the others arrive."""
    lms_course(tmp_path, recipe("canvas") + "\nc.SafeExtractor.max_member_bytes = 20_000\n", {})
    course = tmp_path / "course"
    (course / "downloaded" / ASSIGNMENT / "archive" / "submissions.zip").unlink()
    good = _hostile_download(course)
    assert collect.main([ASSIGNMENT, "--course", str(course)]) == 0
    out = capsys.readouterr().out
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(good)
    for sid, data in good.items():
        assert (submitted / sid / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() == data
    assert not (tmp_path / "climber_12345_678901_ps1_sigmoid_decay.ipynb").exists()
    reasons = {
        "absolut": "absolute", "climber": "climbs out", "linker": "symbolic link",
        "hugebo": "too large", "crcbad": "cannot be read", "onerror": "not a plain name",
        "broken.zip": "not a zip or tar archive",
    }
    report = out.split("Collect report", 1)[1]
    for who, why in reasons.items():
        assert any(who in ln and why in ln for ln in report.splitlines()), (who, why, report)
    assert f"{len(good)} files collected" in out


def test_two_files_of_one_student_skip_that_student_only(tmp_path, capsys):
    """One student hands in two files matching the notebook in one attempt: that student is
    skipped with the reason (plain nbgrader aborts the whole class); the rest is collected."""
    members = dict(DOWNLOADS["canvas"])
    members["leeann_34567_890124_ps1_sigmoid_decay-1.ipynb"] = "leeann"
    contents = lms_course(tmp_path, recipe("canvas"), members)
    course = tmp_path / "course"
    assert collect.main([ASSIGNMENT, "--course", str(course)]) == 0
    out = capsys.readouterr().out
    expected = {sid: contents[m] for m, sid in members.items() if sid and sid != "leeann"}
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(expected)
    for sid, data in expected.items():
        assert (submitted / sid / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() == data
    lines = [ln for ln in out.splitlines() if "leeann" in ln and "2 files" in ln]
    assert len(lines) == 2 and all("none of them is collected" in ln for ln in lines), out


def test_unsafe_member_names_and_student_ids():
    """The path and id rules on their own."""
    from coursekit.safe_extract import unsafe_member_name

    for bad in ("/etc/passwd", "../x.ipynb", "a/../../x", "C:/x", "a\\b", ""):
        assert unsafe_member_name(bad), bad
    for fine in ("x.ipynb", "Jane Doe_1_assignsubmission_file_/ps1.ipynb", "a/b/c.ipynb"):
        assert unsafe_member_name(fine) is None, fine
    for bad in ("", ".hidden", "a/b", "<script>", "x" * 101, "jane doe", "a\u202eb", "a\nb"):
        assert collect.unsafe_student_id(bad), bad
    for fine in ("doejane", "1234", "jane.doe@uni.edu", "a-b_c+d", "müllerjö"):
        assert collect.unsafe_student_id(fine) is None, fine

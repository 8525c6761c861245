"""The instructor guide's LMS collection recipes, as printed there, on realistic downloads.

Each recipe (a ``# LMS recipe: NAME`` block of book/instructors.md) goes into a course's
``nbgrader_config.py``; a zip named and laid out like the LMS's "download all submissions"
goes into ``downloaded/ps1_sigmoid_decay/archive/``; ``python -m coursekit.collect`` runs the
real ``nbgrader zip_collect``. Every student's notebook must arrive, byte for byte, under
``submitted/<student_id>/ps1_sigmoid_decay/ps1_sigmoid_decay.ipynb``.
"""

from __future__ import annotations

import re
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

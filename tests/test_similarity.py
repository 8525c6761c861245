"""The similarity report (``coursekit.similarity``) on a planted-copy class of ps1_sigmoid_decay.

Eight students: seven wrote their own solutions by hand in different styles, one handed in a
disguised copy of another's (names changed, helper functions reordered, comments rewritten:
``tests/similarity_class.py``). The copied pair must rank first, well above every honest pair;
code the release gives everyone must not count; student code in the HTML is escaped.
No kernel runs: the release comes from nbgrader's own preprocessors, in process.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from similarity_class import (
    ASSIGNMENT,
    COPIED,
    STYLES,
    make_similarity_class,
    planted_class,
    released_course,
)

from coursekit import commands, similarity

#: The copied pair's score (the larger of its two similarities) must exceed every honest
#: pair's by this much. Measured: 0.94 against at most 0.30 (a margin of 0.63).
MARGIN = 0.4


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(course, report) of the planted class, through ``python -m coursekit similarity``."""
    course, release = released_course(tmp_path_factory.mktemp("planted"))
    make_similarity_class(course, release, planted_class())
    before = sorted(p.relative_to(course) for p in course.rglob("*"))
    assert commands.COMMANDS["similarity"](["--course", str(course),
                                            "--assignment", ASSIGNMENT]) == 0
    after = sorted(p.relative_to(course) for p in course.rglob("*")
                   if p.parts[len(course.parts)] != "similarity")
    assert after == before, "the report must write nothing but similarity/"
    return course, similarity.run(course, ASSIGNMENT)[0]


def test_the_copied_pair_ranks_first_well_above_the_honest_pairs(planted):
    _, report = planted
    assert len(report.students) == 8 and len(report.pairs) == 28
    top, honest = report.pairs[0], report.pairs[1:]
    assert {top.a, top.b} == {"student_copier", "student_helpers"}
    assert min(top.similarity_a, top.similarity_b) > 0.8
    worst = max(p.score for p in honest)
    assert top.score - worst > MARGIN, (top.score, worst)


def test_the_json_ranking_matches_the_html(planted):
    course, report = planted
    ranking = json.loads((course / "similarity" / f"{ASSIGNMENT}.json").read_text())
    assert [(r["a"], r["b"]) for r in ranking] == [(p.a, p.b) for p in report.pairs]
    page = (course / "similarity" / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    assert "No score changes because of it" in page and "no code was sent anywhere" in page
    assert "1. student_copier and student_helpers" in page
    assert page.count("<mark>") > 4  # the matching regions, marked on both sides


def test_code_the_release_gives_everyone_does_not_count(tmp_path):
    course, release = released_course(tmp_path)
    for student in ("blank_a", "blank_b"):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(release, str(folder / f"{ASSIGNMENT}.ipynb"))
    make_similarity_class(course, release, {"honest": STYLES["tanh"]})
    report, _ = similarity.run(course, ASSIGNMENT)
    assert [(p.a, p.b, p.overlap) for p in report.pairs] == [
        ("blank_a", "blank_b", 0), ("blank_a", "honest", 0), ("blank_b", "honest", 0)]


def test_student_code_and_names_are_escaped_and_no_script_runs(tmp_path):
    course, release = released_course(tmp_path)
    hostile = dict(COPIED)
    payload = '</pre><script>alert("x")</script><img src=x onerror=alert(1)>'
    hostile["sigmoid"] = (f"# {payload}\nNOTE = '{payload}'\n\n", COPIED["sigmoid"][1])
    make_similarity_class(course, release, {"<b>eve": hostile,
                                            "helpers": STYLES["helpers"]})
    broken = course / "submitted" / "<i>broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text("{not json")
    report, out = similarity.run(course, ASSIGNMENT)
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "<b>eve" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;eve" in page
    assert "default-src 'none'" in page
    assert report.skipped == {"<i>broken": "not a readable notebook (NotJSONError)"}
    assert "&lt;i&gt;broken: not a readable notebook" in page


def test_bad_arguments_name_what_was_received(tmp_path):
    with pytest.raises(ValueError, match=r"0 < noise <= guarantee; received noise=0, "
                                         r"guarantee=30"):
        similarity.compare({"a": "x = 1\n"}, "", noise=0)
    with pytest.raises(ValueError, match=r"assignment 'ps9': no released notebook in .*release"
                                         r"/ps9/ \(run `make release` first\)"):
        similarity.release_code(tmp_path, "ps9")

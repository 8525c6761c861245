"""Per-student variants: the keyed mapping (``vgcourse.variants``), the assignments' declarations
(``coursekit.variants``), how the grader hands a kernel its variant, and, through the real
sandboxed grader, two students of different variants of ps1 and ps4.

The mapping is checked against HMAC-SHA256 computed here with the standard library's ``hmac``
(the closed form the guide states), never against itself.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
import math
import re
from collections import Counter

import nbformat
import pytest

from coursekit import batch, worker
from coursekit import sandbox as sb
from coursekit import variants as cv
from coursekit.assignments import SOURCE_ROOT, Assignment, discover_assignments
from coursekit.cells import grade_id, read_notebook
from coursekit.nbgrader_run import run_nbgrader
from harness import FIXTURE_SOURCE_ROOT, make_course, solved, write_submission
from vgcourse.variants import VARIANT_ENV, variant_index, variant_params

CONVERTED = ("ps1_sigmoid_decay", "ps4_initialization")


def _reference_index(key: str, assignment: str, student: str, n: int) -> int:
    """The guide's formula, written out: HMAC-SHA256(key, assignment + "/" + id) mod n."""
    mac = hmac.new(key.encode(), f"{assignment}/{student}".encode(), hashlib.sha256)
    return int(mac.hexdigest(), 16) % n


def _source(name: str) -> nbformat.NotebookNode:
    return read_notebook(SOURCE_ROOT / name / f"{name}.ipynb")


# ---------------------------------------------------------------------------------------------
# The mapping (no kernel)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_variant_index_is_the_keyed_hash(n):
    for student in ["jdoe", "ann", "Bo Kim", "1234", "élodie", "x" * 300]:
        for assignment in CONVERTED:
            assert variant_index("k", assignment, student, n) == _reference_index(
                "k", assignment, student, n)


def test_variant_index_is_stable_and_ignores_surrounding_whitespace():
    first = [variant_index("course key", "ps1", f"s{i}", 5) for i in range(50)]
    assert first == [variant_index("course key", "ps1", f"s{i}", 5) for i in range(50)]
    assert variant_index("course key", "ps1", "  jdoe\n", 5) == variant_index(
        "course key", "ps1", "jdoe", 5)


def test_the_key_and_the_assignment_change_the_mapping():
    ids = [f"student{i:03d}" for i in range(200)]
    base = [variant_index("key one", "ps1", s, 4) for s in ids]
    other_key = [variant_index("key two", "ps1", s, 4) for s in ids]
    other_assignment = [variant_index("key one", "ps4", s, 4) for s in ids]
    # independent hashes agree on about a quarter of the ids; identical mappings on all
    assert sum(a != b for a, b in zip(base, other_key, strict=True)) > 100
    assert sum(a != b for a, b in zip(base, other_assignment, strict=True)) > 100


@pytest.mark.parametrize("n", [3, 4, 6])
def test_many_ids_spread_over_every_variant(n):
    counts = Counter(variant_index("vgcourse-2026", "ps1_sigmoid_decay", f"id{i}", n)
                     for i in range(3000))
    assert sorted(counts) == list(range(n))
    expected = 3000 / n
    # a binomial count's std is under sqrt(3000 / n); 5 of them is a generous margin
    assert all(abs(c - expected) < 5 * math.sqrt(expected) for c in counts.values()), counts


@pytest.mark.parametrize(("args", "error", "words"), [
    ((b"k", "ps1", "ann", 3), TypeError, ["key", "str", "bytes"]),
    (("", "ps1", "ann", 3), ValueError, ["key", "non-empty"]),
    (("k", None, "ann", 3), TypeError, ["assignment", "None"]),
    (("k", "ps1", 42, 3), TypeError, ["student_id", "42"]),
    (("k", "ps1", "  ", 3), ValueError, ["student_id", "non-empty"]),
    (("k", "ps1", "ann", 0), ValueError, ["n", ">= 1", "0"]),
    (("k", "ps1", "ann", 2.0), TypeError, ["n", "int", "2.0"]),
    (("k", "ps1", "ann", True), TypeError, ["n", "int", "True"]),
])
def test_variant_index_names_a_bad_argument(args, error, words):
    with pytest.raises(error) as info:
        variant_index(*args)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(("variants", "error", "words"), [
    ([], ValueError, ["variants", "empty"]),
    ("abc", TypeError, ["variants", "list of dicts", "abc"]),
    ([{"x": 1}, 3], TypeError, ["variants[1]", "dict", "3"]),
    ([{1: 2}], TypeError, ["variants[0]", "str keys"]),
])
def test_variant_params_names_bad_variants(variants, error, words, monkeypatch):
    monkeypatch.delenv(VARIANT_ENV, raising=False)
    with pytest.raises(error) as info:
        variant_params("ps1", "ann", variants, key="k")
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_variant_params_uses_the_typed_id_or_the_example(monkeypatch):
    monkeypatch.delenv(VARIANT_ENV, raising=False)
    variants = [{"x": 0.5}, {"x": 1.0}, {"x": 1.5}, {"x": 2.0}]
    for student in ["ann", "bo", "cy", "dee", "eve"]:
        got = variant_params("ps1", student, variants, key="k")
        assert got == variants[_reference_index("k", "ps1", student, 4)]
        got["x"] = -1.0  # a copy: the declaration is not changed
    assert variant_params("ps1", "", variants, key="k") == variants[0]
    assert variants == [{"x": 0.5}, {"x": 1.0}, {"x": 1.5}, {"x": 2.0}]


def test_variant_params_prefers_what_the_grader_hands(monkeypatch):
    variants = [{"x": 0.5}, {"x": 1.0}]
    monkeypatch.setenv(VARIANT_ENV, json.dumps({"assignment": "ps1", "index": 1,
                                                "params": {"x": 1.0}}))
    for typed in ["", "ann", "bo", "someone else"]:
        assert variant_params("ps1", typed, variants, key="k") == {"x": 1.0}
    with pytest.raises(ValueError, match=r"variant of 'ps1', not of 'ps4'"):
        variant_params("ps4", "ann", variants, key="k")
    monkeypatch.setenv(VARIANT_ENV, "{not json")
    with pytest.raises(ValueError, match=r"\$VGCOURSE_VARIANT: expected a JSON object"):
        variant_params("ps1", "ann", variants, key="k")
    monkeypatch.setenv(VARIANT_ENV, "")  # the grader's "no variant"
    assert variant_params("ps1", "", variants, key="k") == {"x": 0.5}


# ---------------------------------------------------------------------------------------------
# The declarations of the converted assignments (no kernel)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONVERTED)
def test_converted_assignments_declare_three_to_six_distinct_variants(name):
    declared = cv.declaration(_source(name), name)
    assert declared is not None
    assert 3 <= len(declared.variants) <= 6
    assert len({json.dumps(v, sort_keys=True) for v in declared.variants}) == len(
        declared.variants)
    assert len({tuple(sorted(v)) for v in declared.variants}) == 1, "the same parameters each"
    for student in ["ann", "bo", "cy"]:
        assert cv.student_variant(_source(name), name, student) == _reference_index(
            declared.key, name, student, len(declared.variants))


def test_assignments_without_a_declaration_have_no_variant():
    others = [a for a in discover_assignments() if a.name not in CONVERTED]
    assert others
    for a in others:
        if cv.declaration(read_notebook(a.notebook), a.name) is None:
            assert cv.student_variant(read_notebook(a.notebook), a.name, "ann") is None


def _with_variants_cell(source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(_source("ps1_sigmoid_decay"))
    cell = next(c for c in nb.cells if grade_id(c) == cv.VARIANTS_CELL)
    cell.source = source
    return nb


@pytest.mark.parametrize(("source", "words"), [
    ('VARIANTS = [{"x": 1}, {"x": 2}]\nparams = variant_params("ps1_sigmoid_decay", "", '
     'VARIANTS, key="k")', "no `VARIANT_KEY = ...` line"),
    ('VARIANT_KEY = "k"\nVARIANTS = [{"x": 1}]\n'
     'params = variant_params("ps1_sigmoid_decay", "", VARIANTS, key="k")', "two or more dicts"),
    ('VARIANT_KEY = "k"\nVARIANTS = [{"x": f(1)}, {"x": 2}]\n', "VARIANTS must be a literal"),
    ('VARIANT_KEY = ""\nVARIANTS = [{"x": 1}, {"x": 2}]\n', "VARIANT_KEY must be a non-empty"),
    ('VARIANT_KEY = "k"\nVARIANTS = [{"x": 1}, {"x": 2}]\n'
     'params = variant_params("ps4_initialization", "", VARIANTS, key=VARIANT_KEY)',
     "expected one call variant_params('ps1_sigmoid_decay', ...)"),
])
def test_a_malformed_declaration_is_named(source, words):
    with pytest.raises(ValueError) as info:
        cv.declaration(_with_variants_cell(source), "ps1_sigmoid_decay")
    assert words in str(info.value)


def test_environment_value_and_its_bad_index():
    nb = _source("ps4_initialization")
    declared = cv.declaration(nb, "ps4_initialization")
    given = json.loads(cv.environment_value(nb, "ps4_initialization", 2))
    assert given == {"assignment": "ps4_initialization", "index": 2,
                     "params": declared.variants[2]}
    with pytest.raises(ValueError, match="has no variant 9"):
        cv.environment_value(nb, "ps4_initialization", 9)


# ---------------------------------------------------------------------------------------------
# How the grader hands the variant to a kernel (no kernel)
# ---------------------------------------------------------------------------------------------
def test_the_sandboxed_kernel_is_started_with_the_variant(tmp_path):
    value = json.dumps({"assignment": "ps1", "index": 1, "params": {"x": 1.0}})
    for variant, wanted in [(value, [VARIANT_ENV, value]), ("", None)]:
        config = sb.SandboxConfig(str(tmp_path), str(tmp_path), "userns", [], "record",
                                  variant=variant)
        command = sb.sandbox_command(tmp_path, tmp_path, config, ["python", "-m", "x"])
        pairs = [command[i + 1:i + 3] for i, a in enumerate(command) if a == "--setenv"]
        assert (wanted in pairs) if wanted else all(p[0] != VARIANT_ENV for p in pairs)
        assert sb.SandboxConfig(**json.loads(json.dumps(config.__dict__))) == config


def test_an_unsandboxed_kernel_inherits_the_variant():
    assert worker._environment(None, "record", "V")[VARIANT_ENV] == "V"
    # no variant: the variable is blanked, so a value left in the grader's environment is not
    # handed on
    assert worker._environment(None, "record")[VARIANT_ENV] == ""


def test_expected_values_are_kept_per_variant(tmp_path):
    assert worker.expected_path(tmp_path, "ps6") == tmp_path / "expected" / "ps6.json"
    assert worker.expected_path(tmp_path, "ps1", 3) == tmp_path / "expected" / "ps1" / "3.json"


# ---------------------------------------------------------------------------------------------
# Two students of different variants, through the real sandboxed grader
# ---------------------------------------------------------------------------------------------
def _typed_answer(name: str, params: dict) -> tuple[str, str]:
    """(answer cell, its source): the number a student who worked out their own variant types
    in, computed here in closed form."""
    if name == "ps1_sigmoid_decay":
        e = math.exp(-abs(params["x"]))
        log_d = math.log(e) - 2.0 * math.log1p(e)
        count = max(1, math.floor(math.log(params["threshold"]) / log_d) + 1)
        return "vanishing_depth", f'def vanishing_depth():\n    """Mine."""\n    return {count}\n'
    gain = {"linear": 1.0, "tanh": 1.0, "relu": math.sqrt(2.0)}[params["activation"]]
    std = gain / math.sqrt(params["fan_in"])
    return "your_weight_std", f'def your_weight_std():\n    """Mine."""\n    return {std!r}\n'


def _two_students(declared, name: str) -> tuple[str, str]:
    """The first two ids (ann, bo, cy, ...) whose variants differ."""
    ids = ["ann", "bo", "cy", "dee", "eve", "fay", "gus", "hal"]
    first = ids[0]
    k = variant_index(declared.key, name, first, len(declared.variants))
    second = next(s for s in ids[1:]
                  if variant_index(declared.key, name, s, len(declared.variants)) != k)
    return first, second


def _printed_numbers(result: dict) -> str:
    nb = nbformat.reads(next(iter(result["autograded"].values())), as_version=4)
    cell = next(c for c in nb.cells if grade_id(c) == cv.VARIANTS_CELL)
    return "".join(o.get("text", "") for o in cell.outputs)


@pytest.mark.kernel
@pytest.mark.parametrize("name", CONVERTED)
def test_each_student_is_judged_at_their_own_variant(tmp_path, sandbox, name):
    """Two students of different variants see different numbers and get full marks for their
    own work; handed in as the other student, the same notebook loses the points of the
    numeric answer (the grader takes the variant from the folder, not the typed id)."""
    assignment = next(a for a in discover_assignments() if a.name == name)
    course = make_course(tmp_path, assignment, loop_timeout_s=None)
    done = run_nbgrader(["generate_assignment", name, "--force"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    source = read_notebook(assignment.notebook)
    release = read_notebook(course / "release" / name / assignment.notebook.name)
    declared = cv.declaration(source, name)
    a, b = _two_students(declared, name)
    work = {}
    for student in (a, b):
        params = declared.variants[variant_index(declared.key, name, student,
                                                 len(declared.variants))]
        cell, text = _typed_answer(name, params)
        nb = solved(release, source, {cell: text})
        typed = next(c for c in nb.cells if c.source.startswith("STUDENT_ID = "))
        typed.source = f"STUDENT_ID = {student!r}"
        work[student] = (nb, params, cell)
        write_submission(course, student, name, assignment.notebook.name, nb,
                         data_from=assignment.source_dir)
    own = {s: worker.grade_submission(course, name, s, sandbox=True) for s in (a, b)}
    for student, result in own.items():
        assert result["status"] == "graded", result["reasons"]
        assert result["score"] == result["max_score"] > 0, result["cells"]
        shown = _printed_numbers(result)
        for value in work[student][1].values():
            assert re.search(rf"\b{re.escape(str(value))}\b", shown), (value, shown)
    assert _printed_numbers(own[a]) != _printed_numbers(own[b])
    records = {s: json.loads(worker.expected_path(course, name, variant_index(
        declared.key, name, s, len(declared.variants))).read_text()) for s in (a, b)}
    test = f"test_{work[a][2]}"
    assert records[a]["cells"][test] != records[b]["cells"][test]
    # each one's notebook, handed in as the other
    for giver, taker in ((a, b), (b, a)):
        folder = course / "submitted" / taker / name
        nbformat.write(work[giver][0], str(folder / assignment.notebook.name))
        swapped = worker.grade_submission(course, name, taker, sandbox=True)
        assert swapped["status"] == "graded", swapped["reasons"]
        lost = {c["grade_id"] for c in swapped["cells"]
                if c["kind"] == "autograded" and c["auto_score"] < c["max_score"]}
        assert lost == {test}, (giver, taker, swapped["cells"])
        assert _printed_numbers(swapped) == _printed_numbers(own[taker])


def test_the_command_lists_each_students_variant(tmp_path, capsys):
    """``python -m coursekit.variants``: named students, or every student of submitted/."""
    name = "ps4_initialization"
    declared = cv.declaration(_source(name), name)
    assert cv.main([name, "ann", "Bo Kim"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{name}: {len(declared.variants)} variants"
    for line, student in zip(lines[1:], ["ann", "Bo Kim"], strict=True):
        k = _reference_index(declared.key, name, student, len(declared.variants))
        assert line == f"{student}\t{k}\t{json.dumps(declared.variants[k])}"
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "source" / name).symlink_to(SOURCE_ROOT / name)
    for student in ("zed", "amy"):
        (course / "submitted" / student / name).mkdir(parents=True)
    assert cv.main([name, "--course", str(course)]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()[1:]] == [
        "amy", "zed"]
    (course / "source" / "fixture_ps").symlink_to(FIXTURE_SOURCE_ROOT / "fixture_ps")
    assert cv.main(["fixture_ps", "--course", str(course)]) == 0
    assert "declares no variants" in capsys.readouterr().out


def _tiny_assignment(folder, variants: list[dict]):
    """An assignment ``tiny`` whose one test observes twice the variant's ``x``."""
    meta = {"grade": False, "solution": False, "locked": True, "schema_version": 3}
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}})
    nb.cells = [
        nbformat.v4.new_code_cell("from vgcourse.grading import observe",
                                  metadata={"nbgrader": {**meta, "grade_id": "setup"}}),
        nbformat.v4.new_code_cell('STUDENT_ID = ""'),
        nbformat.v4.new_code_cell(
            f"from vgcourse.variants import variant_params\nVARIANT_KEY = 'k'\n"
            f"VARIANTS = {variants!r}\n"
            "params = variant_params('tiny', STUDENT_ID, VARIANTS, key=VARIANT_KEY)",
            metadata={"nbgrader": {**meta, "grade_id": "variants"}}),
        nbformat.v4.new_code_cell(
            'def double():\n    """Twice x."""\n    ### BEGIN SOLUTION\n'
            '    return 2 * params["x"]\n    ### END SOLUTION',
            metadata={"nbgrader": {**meta, "locked": False, "solution": True,
                                   "grade_id": "double"}}),
        nbformat.v4.new_code_cell(
            '"""Check double."""\nobserve("double()", double(), expected=abs(2 * params["x"]))',
            metadata={"nbgrader": {**meta, "grade": True, "points": 1,
                                   "grade_id": "test_double"}}),
    ]
    (folder / "tiny").mkdir(parents=True)
    nbformat.write(nb, str(folder / "tiny" / "tiny.ipynb"))
    return Assignment("tiny", folder / "tiny")


@pytest.mark.kernel
def test_the_reference_run_runs_once_per_variant_with_its_parameters(tmp_path):
    """expected/<assignment>/<k>.json holds what variant k's parameters give; a variant the
    solution fails is named in the error."""
    from coursekit.judge import ReferenceRunError

    assignment = _tiny_assignment(tmp_path / "src", [{"x": 1.5}, {"x": 4.0}, {"x": 0.25}])
    course = make_course(tmp_path / "one", assignment, loop_timeout_s=None)
    folder = worker.record_expected(course, "tiny", sandbox=False)
    assert folder == course / "expected" / "tiny"
    for k, x in enumerate([1.5, 4.0, 0.25]):
        record = json.loads(worker.expected_path(course, "tiny", k).read_text())
        assert record["cells"]["test_double"][0]["value"]["value"] == 2 * x
    assert not worker.expected_path(course, "tiny").exists()
    plain = make_course(tmp_path / "plain", Assignment("fixture_ps", FIXTURE_SOURCE_ROOT
                                                       / "fixture_ps"), loop_timeout_s=None)
    with pytest.raises(ValueError, match="variant: fixture_ps declares no variants"):
        worker.record_expected(plain, "fixture_ps", sandbox=False, variant=0)
    bad = _tiny_assignment(tmp_path / "bad", [{"x": 1.0}, {"x": -1.0}])
    course = make_course(tmp_path / "two", bad, loop_timeout_s=None)
    with pytest.raises(ReferenceRunError, match=r"(?s)variant 1 \{'x': -1.0\}: .*disagrees"):
        worker.record_expected(course, "tiny", sandbox=False)


@pytest.mark.kernel
def test_the_batch_runs_each_missing_reference_run_and_refuses_a_failing_one(tmp_path):
    """``grade_class`` runs every missing reference run (a task per variant, on its worker
    processes) before grading; when one fails, no submission of that assignment is graded, each
    says why, the failure is printed once, and the variant that passed is kept."""
    bad = _tiny_assignment(tmp_path / "bad", [{"x": 1.0}, {"x": -1.0}])
    course = make_course(tmp_path / "c", bad, loop_timeout_s=None)
    source = read_notebook(course / "source" / "tiny" / "tiny.ipynb")
    for student in ("ann", "bo"):
        write_submission(course, student, "tiny", "tiny.ipynb", source)
    assert worker.stale_references(course, "tiny") == [0, 1]
    out = io.StringIO()
    results = batch.grade_class(course, jobs=2, sandbox=False, out=out, progress=False)
    assert sorted((r.student, r.status) for r in results) == [("ann", "failed"),
                                                              ("bo", "failed")]
    for result in results:
        assert re.search(r"(?s)reference run of the instructor's solution failed: "
                         r"ReferenceRunError: variant 1 \{'x': -1.0\}: .*disagrees",
                         result.reasons[0]), result.reasons
    assert out.getvalue().count("the reference run failed") == 1, out.getvalue()
    assert worker.stale_references(course, "tiny") == [1]

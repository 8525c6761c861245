"""coursekit.judge and the observation form, without a kernel: what the student's process is
given, what the grader accepts from it, and the verdict on hand-built observations."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from coursekit import judge
from coursekit.assignments import discover_assignments
from coursekit.cells import grade_id, is_test, read_notebook
from vgcourse.grading import compare, decode_value, encode_value

ASSIGNMENTS = discover_assignments()


def _obs(name, value, **kw):
    return judge.Observation(name, encode_value(value), **kw)


# ---------------------------------------------------------------------------------------------
# Every test cell of every assignment is in the observation form
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=str)
def test_every_test_cell_observes_and_keeps_its_references_out(assignment):
    for cell in read_notebook(assignment.notebook).cells:
        if not is_test(cell):
            continue
        judged = judge.judged_source(cell.source)
        ast.parse(judged)  # what the student's process runs must be Python
        assert "observe" in judged, f"{grade_id(cell)}: the test cell observes nothing"
        assert "expected=" not in judged and judge.REFERENCE_MARKERS[0] not in judged
        assert judge.reference_leaks(cell.source) == [], grade_id(cell)


def test_judged_source_drops_expected_arguments_and_reference_blocks():
    source = ("x = make()\n### BEGIN REFERENCE\nref = secret(x)\n### END REFERENCE\n"
              "observe('f(x)', f(x), expected=ref, rtol=1e-9)\n"
              "observe('g', g(x), secret(x))\n")
    judged = judge.judged_source(source)
    assert "secret" not in judged and "ref" not in judged.replace("rtol", "")
    assert "observe('f(x)', f(x), rtol=1e-09)" in judged and "observe('g', g(x))" in judged


def test_a_value_computed_only_for_expected_outside_a_reference_block_is_a_leak():
    assert judge.reference_leaks("want = 2 * 2\nobserve('f', f(2), expected=want)") == ["want"]
    assert judge.reference_leaks("x = 2\nobserve('f', f(x), expected=x * 2)") == []


# ---------------------------------------------------------------------------------------------
# What the grader accepts from the student's process
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload, why", [
    ("not a dict", "JSON object"),
    ({"name": "", "value": {"type": "none"}}, "name"),
    ({"name": "x" * 501, "value": {"type": "none"}}, "name"),
    ({"name": "a", "value": {"type": "pickle", "value": "..."}}, "not an encoded value"),
    ({"name": "a", "value": {"type": "array", "kind": "f", "shape": [3], "data": [1.0]}},
     "do not agree"),
    ({"name": "a", "value": {"type": "float", "value": "1e400"}}, "nan"),
    ({"name": "a", "value": {"type": "none"}, "rtol": 1e300}, "rtol"),
    ({"name": "a", "value": {"type": "none"}, "atol": -1.0}, "atol"),
    ({"name": "a", "value": {"type": "none"}, "raises": "os.system('x')"}, "raises"),
])
def test_a_malformed_observation_is_refused_with_a_reason(payload, why):
    with pytest.raises(ValueError, match=why):
        judge.accept(payload)


@pytest.mark.parametrize("value", [0.25, -3, True, None, "ndarray", np.arange(6).reshape(2, 3),
                                   np.array([1.0, np.nan, np.inf, -np.inf]),
                                   [np.ones(2), np.zeros((1, 2))], {"w": np.ones(3), "n": 2}])
def test_values_travel_as_plain_data_and_come_back_equal(value):
    back = decode_value(encode_value(value))
    assert compare(back, decode_value(encode_value(value)), rtol=0.0) is None


# ---------------------------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------------------------
EXPECTED = [_obs("sigmoid(x)", np.array([0.5, 0.25]), rtol=1e-9), _obs("n", 10, rtol=0.0)]


def test_matching_observations_pass():
    got = [_obs("sigmoid(x)", np.array([0.5, 0.25 + 1e-12])), _obs("n", 10)]
    assert judge.judge_cell(EXPECTED, got) is None


def test_the_tolerance_is_the_reference_runs_not_the_students():
    got = [_obs("sigmoid(x)", np.array([0.5, 0.3]), rtol=1e9, atol=1e9), _obs("n", 10)]
    why = judge.judge_cell(EXPECTED, got)
    assert why.startswith("sigmoid(x): 1 of 2 entries differ") and "received 0.3" in why


def test_a_missing_renamed_or_extra_observation_fails_with_its_reason():
    stopped = judge.judge_cell(EXPECTED, EXPECTED[:1], "NotImplementedError")
    assert stopped == "n: the test stopped before observing it (NotImplementedError)."
    renamed = judge.judge_cell(EXPECTED, [EXPECTED[0], _obs("m", 10)])
    assert "expected an observation of 'n'" in renamed
    assert "1 value(s) more" in judge.judge_cell(EXPECTED, [*EXPECTED, _obs("x", 1)])


def test_a_raised_exception_is_judged_by_the_reference_runs_class():
    want = [judge.Observation("f(-1)", encode_value("ValueError"), raises="ValueError")]
    ok = [_obs("f(-1)", ["ThresholdError", "ValueError", "Exception"], raises="KeyError")]
    assert judge.judge_cell(want, ok) is None
    assert "it returned without raising" in judge.judge_cell(want, [_obs("f(-1)", [])])


def test_the_reference_run_must_agree_with_its_references():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "observe('f', f(), expected=1.0)",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "test_f",
                               "points": 1}})])
    good = judge.Observation("f", encode_value(1.0), expected=encode_value(1.0))
    record = judge.expected_from_run(nb, {"test_f": [good]}, {})
    assert record["cells"]["test_f"][0]["value"] == {"type": "float", "value": 1.0}
    bad = judge.Observation("f", encode_value(2.0), expected=encode_value(1.0))
    with pytest.raises(judge.ReferenceRunError, match="test_f: f: the solution disagrees"):
        judge.expected_from_run(nb, {"test_f": [bad]}, {})
    with pytest.raises(judge.ReferenceRunError, match="test_f: the test cell observes nothing"):
        judge.expected_from_run(nb, {}, {})

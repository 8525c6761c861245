"""Mutants name the edit they make to the solution cell; a stale edit fails loudly."""

import pytest

from harness import apply_mutant

SOLUTION = 'def f(x):\n    """Doc."""\n    return x * 2\n'


def test_edits_apply_in_order():
    m = {"name": "m", "cell": "f", "replace": [("x * 2", "x * 3"), ("3", "4")]}
    assert apply_mutant(m, SOLUTION) == SOLUTION.replace("x * 2", "x * 4")


def test_a_rewrite_keeps_its_source():
    assert apply_mutant({"name": "m", "cell": "f", "source": "pass"}, SOLUTION) == "pass"


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([("x * 5", "x")], "occurs 0 times"),
        ([("x", "y")], "occurs 2 times"),
        ([("x * 2", "x * 2")], "leave the solution unchanged"),
        ([], "non-empty list"),
    ],
)
def test_a_stale_or_ambiguous_edit_fails_loudly(edits, message):
    with pytest.raises(ValueError, match=message):
        apply_mutant({"name": "m", "cell": "f", "replace": edits}, SOLUTION)


def test_replace_and_source_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        apply_mutant({"name": "m", "cell": "f", "replace": [("2", "3")], "source": "x"}, SOLUTION)

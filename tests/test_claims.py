"""vgcourse.claims: a chapter's sentence fails the build, by name, when its numbers stop holding."""

import numpy as np
import pytest
import torch

from vgcourse.claims import ClaimError, claim


def test_a_claim_that_holds_passes_silently(capsys):
    assert claim("a grows", 2.0 > 1.0, a=2.0) is None
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("holds", [np.bool_(True), torch.tensor(True), np.float64(1.0)])
def test_numpy_and_torch_truths_are_accepted(holds):
    claim("holds", holds)


def test_a_broken_claim_names_the_sentence_and_its_figures():
    with pytest.raises(ClaimError) as info:
        claim("the gradient grows about 100x", 3.0 > 100.0, ratio=np.float64(3.0), layers=50,
              kind="tanh")
    message = str(info.value)
    assert '"the gradient grows about 100x"' in message
    assert "ratio=3" in message and "layers=50" in message and "kind='tanh'" in message
    assert isinstance(info.value, AssertionError)


@pytest.mark.parametrize("statement", ["", "   ", None, 3])
def test_the_statement_must_be_a_sentence(statement):
    with pytest.raises(TypeError, match="statement must be a non-empty str"):
        claim(statement, True)


def test_a_callable_condition_is_evaluated_on_the_named_figures():
    seen = []
    claim("the variance stays within 2x of 1", lambda f: seen.append(f.worst) or f.worst < 2.0,
          worst=1.5)
    assert seen == [1.5]
    with pytest.raises(ClaimError, match=r"worst=2\.5"):
        claim("the variance stays within 2x of 1", lambda f: f.worst < 2.0, worst=2.5)

"""vgcourse.claims: a chapter's sentence fails the build, by name, when its numbers stop holding;
and every claim of the book could fail, were its figures otherwise.

The book-wide tests read the claims every chapter logged while the session's single book build
executed it (``claims.jsonl``, see tests/conftest.py): each ``claim`` carries the change of its
figures (scaled by 1/1000 to 1000, a sign flipped, two swapped) that ``vgcourse.claims.falsifier``
found to make it false, or none.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from vgcourse.claims import LOG_VARIABLE, ClaimError, agrees, claim, fact, falsifier

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "book").glob("0[1-9]_*.md"))


def test_a_claim_that_holds_passes_silently(capsys):
    assert claim("a grows", lambda f: f.a > 1.0, a=2.0) is None
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("value", [np.bool_(True), torch.tensor(True), np.float64(1.0)])
def test_numpy_and_torch_truths_are_accepted(value):
    claim("holds", lambda f: f.v, v=value)


def test_a_broken_claim_names_the_sentence_and_its_figures():
    with pytest.raises(ClaimError) as info:
        claim("the gradient grows about 100x", lambda f: f.ratio > 100.0, ratio=np.float64(3.0),
              layers=50, kind="tanh")
    message = str(info.value)
    assert '"the gradient grows about 100x"' in message
    assert "ratio=3" in message and "layers=50" in message and "kind='tanh'" in message
    assert isinstance(info.value, AssertionError)


@pytest.mark.parametrize("statement", ["", "   ", None, 3])
def test_the_statement_must_be_a_sentence(statement):
    with pytest.raises(TypeError, match="statement must be a non-empty str"):
        claim(statement, lambda f: True, a=1.0)


@pytest.mark.parametrize("holds", [True, np.bool_(True), 2.0 > 1.0])
def test_the_boolean_form_is_refused(holds):
    """claim("...", a > b) cannot be re-evaluated on other figures: it is not a claim."""
    with pytest.raises(TypeError, match=r"holds must be a function of the figures.*got bool"):
        claim("a > b", holds, a=2.0, b=1.0)


def test_a_claim_needs_figures():
    with pytest.raises(ValueError, match="got no figures"):
        claim("something", lambda f: True)


@pytest.mark.parametrize(("holds", "figures", "found"), [
    (lambda f: f.ratio > 10, {"ratio": 120.0}, "ratio scaled by 0.001"),
    (lambda f: abs(f.r - 1) < 0.05, {"r": 1.01}, "r scaled by 0.001"),
    (lambda f: f.dead == 0, {"dead": 0}, "dead set to 1"),
    (lambda f: f.n == 16, {"n": 16}, "n scaled by 0.001"),
    (lambda f: f.ok, {"ok": True}, "ok negated"),
    (lambda f: np.all(np.diff(f.x) < 0), {"x": np.array([3.0, 2.0, 1.0])}, "x negated"),
    (lambda f: f.d["a"] < f.d["b"], {"d": {"a": 1.0, "b": 2.0}}, "d['a'] scaled by 2"),
    (lambda f: f.a < f.b, {"a": 1.0, "b": 1.05}, "a scaled by 1.1"),
])
def test_the_falsifier_finds_a_plausible_change(holds, figures, found):
    change = falsifier(holds, figures)
    assert change == found


@pytest.mark.parametrize(("holds", "figures"), [
    (lambda f: f.ratio > 10 or True, {"ratio": 120.0}),  # true whatever the figure
    (lambda f: 0.9 ** 50 < 0.01, {"depth": 50}),  # arithmetic, not a function of the figure
    (lambda f: f.x * 0 == 0, {"x": 3.0}),
    (lambda f: abs(f.a) < 1e6, {"a": 1e-9}),  # a bound no plausible figure can break
])
def test_a_check_that_cannot_fail_has_no_falsifier(holds, figures):
    assert falsifier(holds, figures) is None


def test_fact_and_agrees_check_without_being_claims():
    fact("tanh'(0) = 1", abs(1 - (1 - np.tanh(0.0) ** 2)) < 1e-15)
    fact("a bound", lambda f: f.a < 1, a=0.5)
    with pytest.raises(ClaimError, match="the numbers of the construction"):
        fact("1 = 2", False)
    agrees("two arrays", torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    with pytest.raises(ClaimError, match="the two implementations.*max_abs_difference=0.1"):
        agrees("two arrays", [1.0, 2.0], [1.0, 2.1])
    with pytest.raises(ValueError, match="same shape"):
        agrees("shapes", [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="rtol must be a non-negative number, got -1"):
        agrees("tolerance", 1.0, 1.0, rtol=-1)


def test_every_call_is_logged_with_its_falsifier(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(LOG_VARIABLE, str(log))
    claim("r is large", lambda f: f.r > 10, r=120.0)
    fact("one is one", True)
    agrees("same", 1.0, 1.0)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["kind"] for r in records] == ["claim", "fact", "agrees"]
    assert records[0]["falsified_by"] == "r scaled by 0.001"
    assert records[0]["figures"] == {"r": "120"}


# ---- the book ----------------------------------------------------------------------------------

def _joined_source(path: Path) -> str:
    """A chapter's text with adjacent string literals joined ("ab " "cd" -> "ab cd")."""
    return re.sub(r'"\s*\n\s*"', "", path.read_text())


def _chapter_of(statement: str, sources: dict[str, str]) -> str:
    for name, text in sources.items():
        if statement[:40] in text:
            return name
    return "?"


def test_no_chapter_uses_the_boolean_form():
    """Every claim(...) in a chapter passes its condition as a function of the figures."""
    bad = []
    for path in CHAPTERS:
        for match in re.finditer(r"```\{code-cell\} ipython3\n(.*?)```", path.read_text(), re.S):
            code = "\n".join("#" if line.startswith((":", "%", "!")) else line
                             for line in match.group(1).splitlines())
            for node in ast.walk(ast.parse(code)):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "claim"
                        and (len(node.args) < 2 or not isinstance(node.args[1], ast.Lambda))):
                    bad.append(f"{path.name}: {ast.unparse(node)[:100]}")
    assert not bad, "claims not written as claim(statement, lambda f: ..., **figures):\n" + \
        "\n".join(bad)


@pytest.fixture(scope="module")
def logged(book_build):
    if book_build.returncode != 0 or not book_build.claims.is_file():
        pytest.fail(f"the book build failed or logged no claims:\n{book_build.log[-4000:]}",
                    pytrace=False)
    records = [json.loads(line) for line in book_build.claims.read_text().splitlines()]
    sources = {p.name: _joined_source(p) for p in CHAPTERS}
    for record in records:
        record["chapter"] = _chapter_of(record["statement"], sources)
    return records


@pytest.mark.slow
def test_every_claim_of_the_book_could_fail(logged):
    """For every claim some plausible change of its figures makes it false; one for which none
    exists holds whatever the chapter measures, and must be a fact, an agreement or removed."""
    vacuous = [f"{r['chapter']}: {r['statement']!r} (figures {r['figures']})"
               for r in logged if r["kind"] == "claim" and r["falsified_by"] is None]
    assert not vacuous, "claims that no plausible figures could make false:\n" + \
        "\n".join(vacuous)


@pytest.mark.slow
def test_every_chapter_makes_claims(logged, capsys):
    counts = Counter((r["chapter"], r["kind"]) for r in logged)
    with capsys.disabled():
        print("\nclaims / facts / agreements per chapter:")
        for path in CHAPTERS:
            print(f"  {path.name}: {counts[path.name, 'claim']} / {counts[path.name, 'fact']} / "
                  f"{counts[path.name, 'agrees']}")
    assert not [r for r in logged if r["chapter"] == "?"], "logged statements found in no chapter"
    for path in CHAPTERS:
        assert counts[path.name, "claim"] >= 5, f"{path.name} checks fewer than 5 claims"

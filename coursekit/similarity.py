"""A similarity report between the submissions of an assignment, for the instructor's judgement.

Every pair of ``submitted/<student>/<assignment>/*.ipynb`` is compared on the code the student
wrote: the answer cells (:func:`coursekit.cells.is_answer`) and any code cell the student added
(one without nbgrader metadata). The released notebook's own code (``release/<assignment>/``:
the set-up, the ``def`` lines and docstrings, the visible tests) is boilerplate that does not
count. The comparison is copydetect's (Stephen Gaffney's ``copydetect``, an implementation of
winnowing, Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003): the code is tokenized, every name becomes one symbol (so
renaming a variable changes nothing) and comments are dropped; fingerprints of ``noise``-long
token runs are compared, and a match is guaranteed from ``guarantee`` tokens on. It runs on
this machine; no code is sent anywhere.

For a pair (A, B), ``similarity A`` is the share of A's fingerprinted code found in B; pairs
are ranked by the larger of the two. ``similarity/<assignment>.html`` lists every pair, and
shows the highest ones side by side with the matching regions marked. All student code and
names in it are escaped, and its Content-Security-Policy forbids scripts.

It decides nothing: similar code is a reason to look, not proof of copying (short answers to
the same exercise converge), and no score changes because of it.
``python -m coursekit.similarity [--course exercises] [--assignment NAME]``.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import nbformat

from coursekit.assignments import COURSE
from coursekit.cells import is_answer, nbmeta

NOISE = 25
GUARANTEE = 30
SHOWN = 20


@dataclass
class Pair:
    """Two submissions: each one's similarity to the other (0 to 1), the matching tokens and
    copydetect's matching regions (character slices of each one's code)."""

    a: str
    b: str
    similarity_a: float
    similarity_b: float
    overlap: int
    slices: tuple = field(default=(), repr=False)

    @property
    def score(self) -> float:
        return max(self.similarity_a, self.similarity_b)


@dataclass
class Report:
    """The pairs of one assignment, most similar first, and what could not be compared."""

    assignment: str
    pairs: list[Pair]
    students: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    prints: dict = field(default_factory=dict, repr=False)


def student_code(nb: nbformat.NotebookNode) -> str:
    """The code a student wrote in ``nb``: answer cells and cells without nbgrader metadata,
    in notebook order."""
    cells = [c.source for c in nb.cells
             if c.cell_type == "code" and (is_answer(c) or not nbmeta(c))]
    return "\n\n".join(cells) + "\n"


def release_code(course: Path, assignment: str) -> str:
    """The boilerplate of ``assignment``: each released notebook's answer cells as
    :func:`student_code` joins them (so the joins between stubs count as released too), then
    every code cell of it."""
    folder = Path(course) / "release" / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"assignment {assignment!r}: no released notebook in {folder}/ "
                         "(run `make release` first); expected release/<assignment>/*.ipynb")
    released = [nbformat.read(str(nb), 4) for nb in notebooks]
    return "\n\n".join(student_code(nb) + "\n\n".join(c.source for c in nb.cells
                                                       if c.cell_type == "code")
                       for nb in released) + "\n"


def submissions(course: Path, assignment: str) -> tuple[dict[str, str], dict[str, str]]:
    """(student -> the code they wrote, student -> why it could not be read)."""
    code, skipped = {}, {}
    for folder in sorted((Path(course) / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        try:
            nbs = [nbformat.read(str(p), 4) for p in sorted(folder.glob("*.ipynb"))]
        except Exception as err:  # a hostile or broken file: report it, compare the rest
            skipped[student] = f"not a readable notebook ({type(err).__name__})"
            continue
        if not nbs:
            skipped[student] = "no notebook handed in"
            continue
        code[student] = "".join(student_code(nb) for nb in nbs)
    return code, skipped


def compare(code: dict[str, str], boilerplate: str, *, noise: int = NOISE,
            guarantee: int = GUARANTEE, assignment: str = "") -> Report:
    """Compare every pair of ``code`` (student -> source) with copydetect, ``boilerplate``
    not counting; the pairs most similar first."""
    import numpy as np

    try:
        from copydetect import CodeFingerprint, compare_files
    except ImportError as err:
        raise ImportError("the similarity report needs copydetect (requirements.txt: "
                          "copydetect>=0.5,<0.6); install it in the course's venv") from err

    if not isinstance(noise, int) or not isinstance(guarantee, int) or not 0 < noise <= guarantee:
        raise ValueError(f"noise and guarantee must be integers with 0 < noise <= guarantee; "
                         f"received noise={noise!r}, guarantee={guarantee!r}")
    start = time.perf_counter()
    common = CodeFingerprint("release.py", noise, 1, fp=io.StringIO(boilerplate))
    common_hashes = np.unique(np.array(sorted(common.hashes)))
    prints = {s: CodeFingerprint(f"{s}.py", noise, guarantee - noise + 1, common_hashes,
                                 fp=io.StringIO(src)) for s, src in sorted(code.items())}
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        overlap, (sim_a, sim_b), slices = compare_files(prints[a], prints[b])
        pairs.append(Pair(a, b, float(sim_a), float(sim_b), int(overlap), slices))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return Report(assignment, pairs, sorted(code), seconds=time.perf_counter() - start,
                  prints=prints)


def _mark(fingerprint, slices) -> str:
    """The raw code of ``fingerprint``, escaped, with ``slices`` wrapped in ``<mark>``."""
    from copydetect.utils import highlight_overlap

    if len(slices) == 0 or slices.shape[1] == 0:
        return html.escape(fingerprint.raw_code)
    marked, _ = highlight_overlap(fingerprint.raw_code, slices, "<mark>", "</mark>",
                                  escape_html=True)
    return marked


STYLE = """body{font-family:sans-serif;margin:2em;max-width:110em}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .6em;text-align:left}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:85%}mark{background:#fc6}
.note{border-left:4px solid #c60;padding:.4em 1em;background:#fff8ee}"""

NOTE = ("This report is a tool for your judgement, not a verdict. It ranks pairs of submissions "
        "by how much of their code matches once names, comments and the released notebook's "
        "own code are set aside. Short answers to the same exercise often converge, so a high "
        "rank is a reason to read the pair, never proof of copying. No score changes because "
        "of it. It was computed on this machine by copydetect; no code was sent anywhere.")


def render(report: Report, shown: int = SHOWN) -> str:
    """The report as a self-contained HTML page (every student string escaped; no script)."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{i}</td><td>{e(p.a)}</td><td>{e(p.b)}</td><td>{p.similarity_a:.0%}</td>"
        f"<td>{p.similarity_b:.0%}</td><td>{p.overlap}</td><td>"
        + (f"<a href='#pair-{i}'>side by side</a>" if i <= shown and p.overlap else "")
        + "</td></tr>" for i, p in enumerate(report.pairs, 1))
    details = "".join(
        f"<h3 id='pair-{i}'>{i}. {e(p.a)} and {e(p.b)} ({p.score:.0%})</h3><div class='side'>"
        f"<div><b>{e(p.a)}</b>: {p.similarity_a:.0%} of it matches"
        f"<pre>{_mark(report.prints[p.a], p.slices[0])}</pre></div>"
        f"<div><b>{e(p.b)}</b>: {p.similarity_b:.0%} of it matches"
        f"<pre>{_mark(report.prints[p.b], p.slices[1])}</pre></div></div>"
        for i, p in enumerate(report.pairs[:shown], 1) if p.overlap)
    skipped = "".join(f"<li>{e(s)}: {e(why)}</li>" for s, why in sorted(report.skipped.items()))
    title = e(f"Similarity report: {report.assignment}")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"<p class='note'>{e(NOTE)}</p>"
        f"<p>{len(report.students)} submissions, {len(report.pairs)} pairs, compared in "
        f"{report.seconds:.1f} s. Similarity of A: the share of A's code (after the released "
        "code is removed) that is also in B.</p>"
        + (f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else "")
        + "<table><tr><th>rank</th><th>A</th><th>B</th><th>similarity of A</th>"
        f"<th>similarity of B</th><th>matching tokens</th><th></th></tr>{rows}</table>"
        f"<h2>The {min(shown, len(report.pairs))} most similar pairs</h2>{details}"
        "</body></html>")


def assignments_handed_in(course: Path) -> list[str]:
    return sorted({p.name for p in (Path(course) / "submitted").glob("*/*") if p.is_dir()})


def run(course: Path, assignment: str, out: Path | None = None) -> tuple[Report, Path]:
    """Compare the submissions of ``assignment`` and write ``similarity/<assignment>.html``."""
    code, skipped = submissions(course, assignment)
    report = compare(code, release_code(course, assignment), assignment=assignment)
    report.skipped = skipped
    out = out or Path(course) / "similarity" / f"{assignment}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report), encoding="utf-8")
    ranking = [{"a": p.a, "b": p.b, "similarity_a": round(p.similarity_a, 4),
                "similarity_b": round(p.similarity_b, 4), "overlap": p.overlap}
               for p in report.pairs]
    out.with_suffix(".json").write_text(json.dumps(ranking, indent=1), encoding="utf-8")
    return report, out


def main(argv: list[str] | None = None) -> int:
    """``python -m coursekit.similarity``: one report per assignment handed in."""
    parser = argparse.ArgumentParser(description="Similarity report between submissions "
                                     "(for the instructor's judgement; no score changes).")
    parser.add_argument("--course", type=Path, default=COURSE)
    parser.add_argument("--assignment", default=None, help="default: every assignment")
    args = parser.parse_args(argv)
    names = [args.assignment] if args.assignment else assignments_handed_in(args.course)
    if not names:
        print(f"No submission in {args.course / 'submitted'}/")
        return 1
    for name in names:
        report, out = run(args.course, name)
        top = ", ".join(f"{p.a}/{p.b} {p.score:.0%}" for p in report.pairs[:3])
        print(f"{name}: {len(report.students)} submissions, {len(report.pairs)} pairs in "
              f"{report.seconds:.1f} s; most similar: {top or 'none'}; report: {out}")
        for student, why in sorted(report.skipped.items()):
            print(f"  not compared: {student}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

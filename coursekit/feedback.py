"""Feedback HTML for one graded submission, from its ``coursekit.result.SubmissionResult``.

Unlike ``nbgrader generate_feedback``, which renders the whole graded notebook (and so the
source of every hidden test), a test cell appears here only as its grade_id, its outcome, its
points and the first line of its failure message. Answer cells, cells the student added,
locked cells and markdown are shown as the student wrote or received them, made inert first
(``coursekit.sanitize``: no output or markdown of the student's can run script here). Math is
rendered by the MathJax 3 copy shipped with the page (``mathjax/``, from the
``django-static-mathjax`` wheel, as the book does), so the page needs no network; its
Content-Security-Policy (:data:`CSP`) lets only those files run, and no inline script.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import nbformat

from coursekit.result import FLAGGED, MANUAL, CellResult, SubmissionResult
from coursekit.sanitize import markdown_to_html, sanitize_notebook

#: What ``tex-mml-chtml.js`` loads: TeX extensions (autoloaded), the CommonHTML fonts, the
#: accessibility and menu components (the SVG output and speech-rule maps are left out). The
#: book (``book/_ext/vgcourse_page_fixes.py``) and the feedback pages both copy these.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors")
#: Characters of one cell's outputs shown in the feedback.
MAX_OUTPUT_CHARS = 20_000
#: The page's Content-Security-Policy: scripts only from the page's own folder (MathJax and
#: its configuration), never inline; styles from the page (MathJax inserts its own); images
#: and fonts from the folder or inline data; no connection, frame, object, form or base.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'none'; frame-src 'none'; "
       "object-src 'none'; form-action 'none'; base-uri 'none'")
#: MathJax's configuration, a file beside the page (an inline script would need the CSP to
#: allow inline script); ``ui/safe`` filters the URLs and styles that TeX can ask for.
MATHJAX_CONFIG = """window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']]},
  loader: {load: ['ui/safe']}
};
"""

_STYLE = """
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.5; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.test { border-left: .4rem solid; padding: .3rem .8rem; margin: .8rem 0; }
.passed { border-color: #2da44e; } .failed { border-color: #cf222e; }
.manual { border-color: #9a6700; } .notice { background: #fff8c5; padding: .6rem; }
"""


def copy_mathjax(target: Path) -> Path:
    """Copy MathJax 3 (the django-static-mathjax wheel's es5 build) into ``target``."""
    import mathjax  # the django-static-mathjax distribution

    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (source / "tex-mml-chtml.js").is_file():
        raise FileNotFoundError(f"no MathJax 3 es5 build in {source}")
    if not (target / "tex-mml-chtml.js").is_file():
        for part in MATHJAX_PARTS:
            if (source / part).is_dir():
                shutil.copytree(source / part, target / part, dirs_exist_ok=True)
            else:
                (target / part).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / part, target / part)
    return target


def _outputs(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(str(out.get("text", "")))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    text = "".join(parts)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n[... output cut for the feedback]"
    return f"<pre>{html.escape(text)}</pre>" if text else ""


def _test_block(cell: CellResult) -> str:
    if cell.kind == MANUAL:
        return (f'<div class="test manual"><b>{html.escape(cell.grade_id)}</b>: graded by '
                f'the instructor ({cell.max_score:g} points)</div>')
    outcome = "passed" if cell.passed else "failed"
    message = f"<pre>{html.escape(cell.message)}</pre>" if cell.message else ""
    return (f'<div class="test {outcome}"><b>{html.escape(cell.grade_id)}</b>: {outcome}, '
            f'{cell.auto_score:g} / {cell.max_score:g} points{message}</div>')


def feedback_html(result: SubmissionResult, *, mathjax: str = "mathjax/tex-mml-chtml.js",
                  instructor: bool = False) -> str:
    """The feedback page of one result; ``instructor=True`` adds the tamper findings."""
    graded = {c.grade_id: c for c in result.cells}
    text = next(iter(result.autograded.values()), None)
    cells = sanitize_notebook(nbformat.reads(text, as_version=4)).cells if text else []
    body = [f"<h1>{html.escape(result.assignment)}: {html.escape(result.student)}</h1>",
            f"<p>Score: {result.score:g} / {result.max_score:g} (autograded)</p>"]
    notes = [r for r in result.reasons if instructor or not r.startswith("flagged:")]
    if result.status == FLAGGED and not instructor:
        notes.append("This submission is held for review by the instructor.")
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        body.append(f'<div class="notice"><ul>{items}</ul></div>')
    for cell in cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in graded and cell.cell_type == "code":
            body.append(_test_block(graded[gid]))  # never the test's source or outputs
        elif cell.cell_type == "markdown":
            body.append(markdown_to_html(cell.source, cell.get("attachments")))
            if gid in graded:
                body.append(_test_block(graded[gid]))
        elif cell.cell_type == "code":
            body.append(f"<pre>{html.escape(cell.source)}</pre>{_outputs(cell)}")
    config = html.escape(str(Path(mathjax).parent / "config.js"))
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<title>Feedback: {html.escape(result.assignment)}</title>"
            f"<style>{_STYLE}</style>"
            f"<script src='{config}'></script>"
            f"<script defer src='{html.escape(mathjax)}'></script></head>"
            f"<body>{''.join(body)}</body></html>\n")


def write_feedback(result: SubmissionResult, folder: Path, *, instructor: bool = False) -> Path:
    """Write ``<folder>/<assignment>.html`` and the MathJax it loads (``<folder>/mathjax``)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy_mathjax(folder / "mathjax")
    (folder / "mathjax" / "config.js").write_text(MATHJAX_CONFIG, encoding="utf-8")
    page = folder / f"{result.assignment}.html"
    page.write_text(feedback_html(result, instructor=instructor), encoding="utf-8")
    return page

"""Feedback HTML for one graded submission, from its ``coursekit.result.SubmissionResult``.

Unlike ``nbgrader generate_feedback``, which renders the whole graded notebook (and so the
source of every hidden test), a test cell appears here only as its grade_id, its outcome, its
points and the first line of its failure message. Answer cells, cells the student added,
locked cells and markdown are shown as the student wrote or received them. Math is rendered by
the MathJax 3 copy shipped with the page (``mathjax/``, from the ``django-static-mathjax``
wheel, as the book does), so the page needs no network.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import nbformat

from coursekit.result import FLAGGED, MANUAL, CellResult, SubmissionResult

#: What ``tex-mml-chtml.js`` loads: TeX extensions (autoloaded), the CommonHTML fonts, the
#: accessibility and menu components (the SVG output and speech-rule maps are left out). The
#: book (``book/_ext/vgcourse_page_fixes.py``) and the feedback pages both copy these.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors")
#: Characters of one cell's outputs shown in the feedback.
MAX_OUTPUT_CHARS = 20_000

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


def _markdown(text: str) -> str:
    """Markdown to HTML, TeX left for MathJax (nbconvert's own renderer)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


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
    cells = nbformat.reads(text, as_version=4).cells if text else []
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
            body.append(_markdown(cell.source))
            if gid in graded:
                body.append(_test_block(graded[gid]))
        elif cell.cell_type == "code":
            body.append(f"<pre>{html.escape(cell.source)}</pre>{_outputs(cell)}")
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>Feedback: {html.escape(result.assignment)}</title>"
            f"<style>{_STYLE}</style>"
            "<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']]}};"
            f"</script><script defer src='{html.escape(mathjax)}'></script></head>"
            f"<body>{''.join(body)}</body></html>\n")


def write_feedback(result: SubmissionResult, folder: Path, *, instructor: bool = False) -> Path:
    """Write ``<folder>/<assignment>.html`` and the MathJax it loads (``<folder>/mathjax``)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy_mathjax(folder / "mathjax")
    page = folder / f"{result.assignment}.html"
    page.write_text(feedback_html(result, instructor=instructor), encoding="utf-8")
    return page

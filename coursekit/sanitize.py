"""What a student produced, made inert before a person or a program looks at it.

A graded notebook is the student's: its outputs come from their code (an object's
``_repr_html_``, ``IPython.display.Javascript``, an SVG) and its markdown cells are their text.
The formgrader (nbconvert's ``classic`` template, as nbgrader's ``formgrade`` template extends
it) pastes ``text/html`` outputs and rendered markdown into the instructor's page as they are,
and runs ``application/javascript`` outputs, with the instructor's Jupyter session. So every
notebook is passed through :func:`sanitize_notebook` before it is written into ``autograded/``
(``coursekit.gradebook``) and again before a feedback page is rendered from it
(``coursekit.feedback``):

- outputs keep only text, PNG/JPEG/GIF images (checked to be base64), LaTeX and HTML; HTML
  (and markdown output, rendered first) goes through nh3 (the Rust ``ammonia`` sanitizer):
  no script, style, event handler, ``javascript:`` URL, iframe, form, object/embed, SVG or
  meta refresh survives. Anything else (JavaScript, SVG, widgets) is replaced by a line of
  text saying what was removed; output metadata is dropped;
- a markdown cell that nbconvert would render with raw HTML, a harmful link (``javascript:``)
  or a mermaid block (pasted unescaped) is shown as its source, in a fenced text block, so
  the instructor reads exactly what the student wrote and nothing of it runs; every other
  markdown cell (text, math such as ``$a<b$``, code) is left byte for byte;
- raw cells are sanitized, markdown attachments keep only base64 PNG/JPEG/GIF images, and the
  notebook's widget state is dropped.

The decision "would nbconvert render raw HTML here" is nbconvert's own: the cell is rendered
with nbconvert's markdown renderer as nbconvert renders it and with the same renderer set to
escape HTML and refuse harmful links; a cell whose two renderings differ is fenced.

The same module neutralises the other student-controlled text that leaves the course:
:func:`csv_cell` (OWASP's rule against formula injection in CSV exports) and
:func:`parse_timestamp` (a student folder's ``timestamp.txt``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
from datetime import datetime

import jinja2
import nbformat

__all__ = ["csv_cell", "markdown_to_html", "nbconvert_markdown2html", "parse_timestamp",
           "sanitize_html",
           "sanitize_markdown_source", "sanitize_notebook", "sanitize_notebook_text"]

#: Output MIME types kept; ``text/html`` is sanitized and ``text/markdown`` becomes sanitized
#: ``text/html``. Everything else is dropped.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
TEXT_TYPES = ("text/plain", "text/latex")
#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A ``timestamp.txt`` longer than this is not a timestamp.
MAX_TIMESTAMP_CHARS = 64
#: The format nbgrader writes timestamps in (read back by ``nbgrader.utils.parse_utc``).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"


def sanitize_html(html: str) -> str:
    """``html`` with everything that can run or load script removed (nh3's defaults: no
    script/style content, no event handler, no ``javascript:`` or ``data:`` URL, no iframe,
    form, object, embed, svg, meta or style attribute).

    >>> sanitize_html('<b onclick="x()">hi</b><script>alert(1)</script>')
    '<b>hi</b>'
    """
    import nh3

    if not isinstance(html, str):
        raise TypeError(f"html: expected a str, received {type(html).__name__}")
    return nh3.clean(html)


def _render(source: str, *, safe: bool, attachments: dict | None = None) -> str:
    """``source`` rendered by nbconvert's markdown renderer as nbconvert renders it, or
    (``safe=True``) with raw HTML escaped, harmful links refused and mermaid as code."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class _SafeRenderer(IPythonRenderer):
        def block_mermaidjs(self, code: str) -> str:
            return self.block_code(code)

    renderer = (_SafeRenderer(escape=True, allow_harmful_protocols=False, attachments=attachments)
                if safe else IPythonRenderer(escape=False, attachments=attachments))
    return MarkdownWithMath(renderer=renderer).render(source)


def markdown_to_html(source: str, attachments: dict | None = None) -> str:
    """Markdown to HTML as nbconvert renders it, TeX left for MathJax, with raw HTML shown as
    text, harmful links refused and the result sanitized (:func:`sanitize_html`); a source
    nbconvert cannot render is shown as preformatted text.

    >>> markdown_to_html("$a<b$ and <script>x()</script>")
    '<p>$a&lt;b$ and &lt;script&gt;x()&lt;/script&gt;</p>\\n'
    """
    if not isinstance(source, str):
        raise TypeError(f"source: expected a str, received {type(source).__name__}")
    try:
        return sanitize_html(_render(source, safe=True, attachments=attachments))
    except Exception:  # noqa: BLE001 (e.g. a missing attachment: shown as text)
        return f"<pre>{html.escape(source)}</pre>"


@jinja2.pass_context
def nbconvert_markdown2html(context, source: str) -> str:
    """nbconvert's ``markdown2html`` template filter made safe (:func:`markdown_to_html` with
    the cell's attachments). ``exercises/nbgrader_config.py`` sets it on ``HTMLExporter``, so
    the formgrader (whose ``formgrade`` template renders markdown cells without nbconvert's
    own ``sanitize_html`` switch) and ``nbgrader generate_feedback`` render markdown with it:
    a second layer behind :func:`sanitize_notebook`."""
    cell = context.get("cell") or {}
    return markdown_to_html(source, dict(cell.get("attachments") or {}) or None)


def _fence(source: str) -> str:
    longest = run = 0
    for char in source:
        run = run + 1 if char == "~" else 0
        longest = max(longest, run)
    fence = "~" * max(3, longest + 1)
    return (f"*This cell held HTML or links that were not shown; its text, as written:*\n\n"
            f"{fence}text\n{source}\n{fence}\n")


def sanitize_markdown_source(source: str, attachments: dict | None = None) -> str:
    """``source`` unchanged when nbconvert renders it without raw HTML, harmful links or a
    mermaid block (with the cell's ``attachments``); otherwise the source itself inside a
    fenced text block (read, not run).

    >>> sanitize_markdown_source("$a<b$, `x < y`") == "$a<b$, `x < y`"
    True
    >>> "~~~text" in sanitize_markdown_source('<img src=x onerror="alert(1)">')
    True
    """
    if not isinstance(source, str):
        raise TypeError(f"source: expected a str, received {type(source).__name__}")
    try:
        if (_render(source, safe=False, attachments=attachments)
                == _render(source, safe=True, attachments=attachments)):
            return source
    except Exception:  # noqa: BLE001 (a cell nbconvert cannot render is shown as text)
        pass
    return _fence(source)


def _is_base64(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _sanitize_data(data: dict) -> dict:
    kept, removed = {}, []
    for mime, value in data.items():
        text = "".join(value) if isinstance(value, list) else value
        if mime in TEXT_TYPES and isinstance(text, str):
            kept[mime] = text
        elif mime in IMAGE_TYPES and _is_base64(text):
            kept[mime] = text
        elif mime == "text/html" and isinstance(text, str):
            kept[mime] = sanitize_html(text)
        elif mime == "text/markdown" and isinstance(text, str) and "text/html" not in data:
            kept["text/html"] = markdown_to_html(text)
        else:
            removed.append(str(mime)[:80])
    if removed:
        note = f"[output not shown: {', '.join(sorted(removed))}]"
        kept["text/plain"] = (kept.get("text/plain", "") + "\n" + note).lstrip("\n")
    return kept


def _sanitize_output(out: dict) -> dict | None:
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=str(out.get("text", "")))
    if kind == "error":
        return nbformat.v4.new_output(
            "error", ename=str(out.get("ename", "")), evalue=str(out.get("evalue", "")),
            traceback=[str(line) for line in out.get("traceback", [])])
    if kind in ("execute_result", "display_data"):
        data = _sanitize_data(dict(out.get("data", {})))
        new = nbformat.v4.new_output(kind, data=data)
        if kind == "execute_result":
            new["execution_count"] = out.get("execution_count")
        return new
    return None


def _sanitize_attachments(attachments: dict) -> dict:
    kept = {}
    for name, bundle in attachments.items():
        images = {m: v for m, v in dict(bundle).items() if m in IMAGE_TYPES and _is_base64(v)}
        if images:
            kept[str(name)] = images
    return kept


def sanitize_notebook(nb):
    """A copy of the notebook ``nb`` (nbformat 4) with every output, markdown cell, raw cell
    and attachment made inert (see the module docstring); ``nb`` is left as it was.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("<b onclick=x()>")])
    >>> sanitize_notebook(nb).cells[0].source.startswith("*This cell held HTML")
    True
    """
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(f"nb: expected an nbformat 4 notebook (a dict with a list of cells), "
                        f"received {type(nb).__name__}")
    nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            outputs = (_sanitize_output(o) for o in cell.get("outputs", []) if isinstance(o, dict))
            cell["outputs"] = [o for o in outputs if o is not None]
            continue
        if "attachments" in cell:
            cell["attachments"] = _sanitize_attachments(dict(cell["attachments"]))
        if cell.get("cell_type") == "markdown":
            cell["source"] = sanitize_markdown_source(str(cell.get("source", "")),
                                                      cell.get("attachments"))
        elif cell.get("cell_type") == "raw":
            cell["source"] = sanitize_html(str(cell.get("source", "")))
    return nb


def sanitize_notebook_text(text: str) -> str:
    """:func:`sanitize_notebook` on a notebook's JSON text; the sanitized notebook's JSON.
    Text that is not a notebook raises ``ValueError``."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a notebook's JSON as str, received {type(text).__name__}")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as err:
        raise ValueError(f"text: expected a notebook's JSON, received text that nbformat "
                         f"cannot read ({type(err).__name__}: {err})"[:500]) from None
    return nbformat.writes(sanitize_notebook(nb))


def csv_cell(value):
    """``value`` safe for a CSV cell opened in a spreadsheet: a ``str`` that begins with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's
    CSV-injection rule), unless it is a plain number (``-1.5`` stays a number). Other values
    are returned as they are.

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("-1.5"), csv_cell(-1.5), csv_cell("ok")
    ("'=HYPERLINK(1)", '-1.5', -1.5, 'ok')
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    return value if _is_plain_number(value) else "'" + value


def _is_plain_number(text: str) -> bool:
    """``-1.5``, ``+2``, ``-3e-4``: a sign, then digits (no ``inf``/``nan``, no spaces)."""
    digits = text[2:3] if text[1:2] == "." else text[1:2]
    if text.strip() != text or not digits.isdigit():
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_timestamp(text: str) -> str | None:
    """The timestamp in ``text`` (a ``timestamp.txt``'s content: its first line, in a format
    ``nbgrader.utils.parse_utc`` accepts, with an explicit year, month and day), as UTC in
    nbgrader's own format; ``None`` when it is not one.

    >>> parse_timestamp("2024-03-01 12:30:00.5 UTC")
    '2024-03-01 12:30:00.500000 UTC'
    >>> parse_timestamp("2024-03-01T14:30:00+02:00")
    '2024-03-01 12:30:00.000000 UTC'
    >>> parse_timestamp('=HYPERLINK("http://x")') is None
    True
    """
    from dateutil.parser import parse
    from nbgrader.utils import parse_utc

    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, received {type(text).__name__}")
    lines = text.strip().splitlines()
    line = lines[0].strip() if lines else ""
    if not line or len(line) > MAX_TIMESTAMP_CHARS or not line[0].isdigit():
        return None
    try:
        when = parse_utc(line)
        # a component dateutil filled in from its default (a bare "5" is the 5th of this
        # month) differs between two defaults: such a line names no date
        parts = line.split(" ")
        date = " ".join(parts[:2]) if len(parts) == 3 else line
        one, two = (parse(date, default=datetime(y, m, d), ignoretz=True)
                    for y, m, d in ((2001, 1, 1), (2002, 2, 2)))
    except (ValueError, OverflowError, TypeError, LookupError):
        return None
    if one.date() != two.date() or not 1970 <= when.year <= 9999:
        return None
    return when.strftime(TIMESTAMP_FORMAT)

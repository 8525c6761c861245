"""A hostile submission runs no script where people look at it: headless Chromium over the
feedback page and over the formgrader's view of the submission.

The submission's outputs are what IPython's own display formatter makes of hostile objects
(``HTML`` with ``<script>``, ``<img onerror>``, ``<svg onload>``, ``<iframe srcdoc>``, a
``javascript:`` link, an object with ``_repr_html_``, ``Javascript``, an ``SVG`` with script,
``Markdown`` with raw HTML, an "isolated" HTML output), and its written answer and an added
markdown cell hold raw HTML (script, event handlers, ``javascript:`` links, an iframe, a meta
refresh, a form, an object, CSS that loads a URL, a mermaid block). Every payload, if it ran,
would record itself in ``window.__pwned``, change ``document.title`` and request a URL of a
local HTTP server that records hits; the ones that need no script (meta refresh, CSS) request
that server too.

- **Control**: the unsanitized notebook rendered by plain nbconvert (``HTMLExporter``, the
  classic template the formgrader extends) fires payloads in Chromium: the payloads and the
  detection work.
- **Feedback page** (``coursekit.feedback.write_feedback``, what ``make feedback`` writes),
  opened over HTTP and as a file: nothing fires, the CSP is there, MathJax still typesets the
  written answer's math.
- **Formgrader**: a real Jupyter server with nbgrader's formgrader on 127.0.0.1 (with a token),
  the course's own ``nbgrader_config.py``, the submission written by ``coursekit.gradebook``'s
  writer (which sanitizes), opened at ``/formgrader/submissions/<id>/?index=0`` as the
  instructor does; and a second student whose UNSANITIZED notebook sits in ``autograded/`` (as
  plain ``nbgrader autograde`` leaves it): the config's second layer alone keeps it inert.

Without Chromium the tests skip (fail under ``VGCOURSE_REQUIRE_BROWSER=1``), as
``tests/test_browser.py`` does.
"""

from __future__ import annotations

import http.server
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from test_browser import _chromium

from coursekit.assignments import COURSE_CONFIG
from coursekit.feedback import CSP, write_feedback
from coursekit.gradebook import Writer, db_url
from coursekit.result import SubmissionResult
from coursekit.sanitize import sanitize_notebook

pytestmark = pytest.mark.browser

ASSIGNMENT = "hostile"
MARK = "PWNMARK"
#: An honest written answer: math with "<", a code span and a code block; must survive.
HONEST = ("Since $a<b$ and $$\\frac{1}{2} < 1,$$ the gradient shrinks: `x < y` holds.\n\n"
          "```python\nif a < b:\n    print(a)\n```\n")


class _Hits(http.server.BaseHTTPRequestHandler):
    """Records every path requested (a payload that ran, or a page that loaded a URL)."""

    hits: list[str] = []
    root: Path | None = None

    def do_GET(self):  # noqa: N802 (the base class's name)
        if self.path == "/favicon.ico":
            self.send_response(404)
            self.end_headers()
            return
        if self.root is not None and (self.root / self.path.lstrip("/")).is_file():
            data = (self.root / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            kind = "text/html" if self.path.endswith(".html") else "application/javascript"
            self.send_header("Content-Type", kind)
            self.end_headers()
            self.wfile.write(data)
            return
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def _js(name: str, hit: str) -> str:
    """A payload's script: single quotes only, so it fits in a double-quoted attribute."""
    return (f"window.__pwned=(window.__pwned||[]).concat(['{name}']);"
            f"document.title='{MARK}';(new Image()).src='{hit}/{name}';")


def _payload_outputs(hit: str) -> list[dict]:
    """Outputs as a kernel makes them: IPython's display formatter on hostile objects."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.display import HTML, SVG, Javascript, Markdown

    class Evil:
        def __repr__(self):
            return "Evil()"

        def _repr_html_(self):
            return f'<img src="x:" onerror="{_js("repr_html", hit)}">'

    objects = [
        HTML(f"<script>{_js('html_script', hit)}</script>"),
        HTML(f'<img src="x:" onerror="{_js("html_img", hit)}">'),
        HTML(f'<svg onload="{_js("html_svg", hit)}"><script>{_js("svg_script", hit)}'
             "</script></svg>"),
        HTML(f'<iframe srcdoc="&lt;script&gt;parent.{_js("iframe", hit)}&lt;/script&gt;">'
             "</iframe>"),
        HTML(f'<a id="jslink" href="javascript:{_js("html_link", hit)}">click</a>'),
        HTML(f'<form action="{hit}/form"><button id="formbutton">go</button></form>'
             f'<object data="{hit}/object"></object><embed src="{hit}/embed">'),
        HTML(f"<script>{_js('isolated', hit)}</script>", metadata={"isolated": True}),
        Evil(),
        Javascript(_js("javascript_output", hit)),
        SVG(f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_js("svg_output", hit)}">'
            f"<script>{_js('svg_output_script', hit)}</script></svg>"),
        Markdown(f'<img src="x:" onerror="{_js("markdown_output", hit)}">'),
    ]
    formatter = DisplayFormatter()
    outputs = []
    for obj in objects:
        data, metadata = formatter.format(obj)
        outputs.append(nbformat.v4.new_output("display_data", data=data, metadata=metadata))
    return outputs


def _hostile_markdown(hit: str) -> str:
    return "\n\n".join([
        f'<img src="x:" onerror="{_js("md_img", hit)}">',
        f"<script>{_js('md_script', hit)}</script>",
        f"[a link](javascript:{_js('md_link', hit).replace('(', '%28').replace(')', '%29')})",
        f'<svg><script>{_js("md_svg", hit)}</script></svg>',
        f'<iframe srcdoc="&lt;script&gt;parent.{_js("md_iframe", hit)}&lt;/script&gt;">'
        "</iframe>",
        f'<meta http-equiv="refresh" content="0;url={hit}/md_refresh">',
        f'<form action="{hit}/md_form"><input type="submit"></form>',
        f'<div style="background-image:url({hit}/md_style)">styled</div>'
        f"<style>@import url({hit}/md_import);</style>",
        f'<details open ontoggle="{_js("md_details", hit)}">x</details>',
        f'```mermaid\n<img src="x:" onerror="{_js("md_mermaid", hit)}">\n```',
    ])


def hostile_notebook(hit: str) -> nbformat.NotebookNode:
    """The submission: an answer, a passing test, a written answer and an added markdown cell
    holding raw HTML, an honest markdown cell, and a code cell with every hostile output."""
    def meta(**nbgrader):
        return {"nbgrader": {"schema_version": 3, "locked": False, "solution": False,
                             "grade": False, **nbgrader}}

    answer = nbformat.v4.new_code_cell(
        "def double(x):\n    return 2 * x", metadata=meta(solution=True, grade_id="double"))
    test = nbformat.v4.new_code_cell(
        '"""double doubles."""\nassert double(2) == 4',
        metadata=meta(grade=True, locked=True, points=1, grade_id="test_double"))
    written = nbformat.v4.new_markdown_cell(
        HONEST + "\n\n" + _hostile_markdown(hit),
        metadata=meta(grade=True, solution=True, points=1, grade_id="written_why"))
    shown = nbformat.v4.new_code_cell("show_everything()", outputs=_payload_outputs(hit))
    cells = [nbformat.v4.new_markdown_cell("# Hostile\n\n" + HONEST), answer, test, written,
             nbformat.v4.new_markdown_cell(_hostile_markdown(hit)), shown]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _release_notebook() -> nbformat.NotebookNode:
    """The instructor's source of the assignment (what ``generate_assignment`` records)."""
    nb = hostile_notebook("http://127.0.0.1:9")
    nb.cells[3].source = "Why does it double?"
    nb.cells = nb.cells[:4]
    return nb


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium that reaches only 127.0.0.1 (tests/test_browser.py's), allowed to read
    the feedback page's files when it is opened as a file."""
    yield from _chromium("--allow-file-access-from-files")


@pytest.fixture(scope="module")
def hits(tmp_path_factory):
    """A local HTTP server that serves ``root`` and records every other path; yields
    (base URL, the list of hits, the folder it serves)."""
    root = tmp_path_factory.mktemp("served")
    handler = type("Hits", (_Hits,), {"hits": [], "root": root})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.hits, root
    httpd.shutdown()
    httpd.server_close()


def _open(driver, url: str, hit: str, settle_s: float = 1.5) -> dict:
    """Load ``url``, give handlers time to fire, and report what a payload would change:
    ``pwned`` (payloads that ran), ``title``, ``bad`` (live hostile elements: an event
    handler, ``srcdoc`` or ``javascript:`` URL, a script, or an iframe, object, embed or form
    of the submission's), the page's visible ``text`` and its typeset formulas."""
    driver.get_log("browser")
    driver.get(url)
    time.sleep(settle_s)
    return driver.execute_script("""
        const [mark, hit] = arguments;
        const bad = [];
        for (const el of document.querySelectorAll('*')) {
          for (const a of el.attributes) {
            const name = a.name.toLowerCase(), value = a.value;
            if (value.includes(mark) && (name.startsWith('on') || name === 'srcdoc'
                || value.trim().toLowerCase().startsWith('javascript:')))
              bad.push(el.tagName + '[' + name + ']');
          }
          if (el.tagName === 'SCRIPT' && el.textContent.includes(mark)) bad.push('SCRIPT');
          if (['IFRAME', 'OBJECT', 'EMBED', 'FORM', 'META'].includes(el.tagName)
              && (el.outerHTML.includes(mark) || el.outerHTML.includes(hit)))
            bad.push(el.tagName);
        }
        return {pwned: window.__pwned || [], title: document.title, bad: bad,
                text: document.body ? document.body.innerText : '',
                typeset: document.querySelectorAll('mjx-container').length};
    """, MARK, hit)


def test_control_unsanitized_notebook_runs_its_payloads(chromium, hits):
    """Plain nbconvert on the raw notebook: the payloads fire, so the checks below can see."""
    from nbconvert import HTMLExporter

    base, recorded, root = hits
    page, _ = HTMLExporter(template_name="classic").from_notebook_node(hostile_notebook(base))
    (root / "control.html").write_text(page, encoding="utf-8")
    seen = _open(chromium, f"{base}/control.html", base)
    fired = set(seen["pwned"]) | {h.strip("/") for h in recorded}
    # (application/javascript needs the notebook's jQuery, which the formgrader page has)
    assert {"html_script", "html_img", "html_svg", "iframe", "repr_html", "md_img",
            "md_script", "md_refresh", "md_import"} <= fired, fired
    assert seen["title"] == MARK and seen["bad"]


def _result(nb, student: str) -> SubmissionResult:
    """A grading result for ``nb``: the test passed, the written answer awaits the
    instructor."""
    return SubmissionResult.from_json({
        "assignment": ASSIGNMENT, "student": student, "status": "graded", "score": 1.0,
        "max_score": 2.0, "reasons": [], "timestamp": None, "seconds": 0.1,
        "needs_manual_grading": True,
        "cells": [{"grade_id": "test_double", "notebook": ASSIGNMENT, "kind": "autograded",
                   "auto_score": 1.0, "max_score": 1.0, "message": ""},
                  {"grade_id": "written_why", "notebook": ASSIGNMENT, "kind": "manual",
                   "auto_score": None, "max_score": 1.0, "message": ""}],
        "autograded": {f"{ASSIGNMENT}.ipynb": nbformat.writes(nb)}})


def _assert_inert(seen: dict, recorded: list[str], where: str) -> None:
    assert seen["pwned"] == [], f"{where}: script of the submission ran: {seen['pwned']}"
    assert seen["title"] != MARK, f"{where}: the submission changed the page's title"
    assert seen["bad"] == [], f"{where}: live hostile elements: {seen['bad']}"
    assert recorded == [], f"{where}: the page requested {recorded}"


def test_feedback_page_is_inert(chromium, hits, tmp_path):
    """``write_feedback`` over the hostile result, opened over HTTP and as a file."""
    base, recorded, root = hits
    recorded.clear()
    page = write_feedback(_result(hostile_notebook(base), "mallory"), root / "feedback")
    text = page.read_text(encoding="utf-8")
    assert f'content="{CSP}"' in text and "<script>" not in text
    for url in (f"{base}/feedback/{page.name}", page.as_uri()):
        seen = _open(chromium, url, base, settle_s=2.5)
        _assert_inert(seen, recorded, url)
        assert "x < y" in seen["text"] and "onerror" in seen["text"], seen["text"][:2000]
        assert seen["typeset"] >= 2, f"{url}: MathJax typeset {seen['typeset']} formulas"
        console = [m["message"] for m in chromium.get_log("browser")]
        assert not [m for m in console if "Content Security Policy" in m], console


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PATH=path, **extra)


def graded_course(course: Path, hit: str) -> Path:
    """A course (the repository's nbgrader_config.py) whose gradebook holds the assignment's
    cells (recorded by nbgrader's own SaveCells, as ``nbgrader generate_assignment`` does, in
    this process) and two graded submissions of the hostile notebook: ``mallory``'s written by
    coursekit's gradebook writer, ``control``'s raw notebook then put into autograded/ as
    plain ``nbgrader autograde`` leaves it. No kernel runs."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveCells

    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG.read_text())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", _env()["PATH"])  # a new gradebook runs the venv's `alembic`
        with Gradebook(db_url(course)) as gb:
            gb.update_or_create_assignment(ASSIGNMENT)
    SaveCells().preprocess(_release_notebook(), {"nbgrader": {
        "notebook": ASSIGNMENT, "assignment": ASSIGNMENT, "db_url": db_url(course)}})
    with Writer(course) as writer:
        writer.write(_result(hostile_notebook(hit), "mallory"))
        control = _result(hostile_notebook(hit), "control")
        writer.write(control)
    raw = course / "autograded" / "control" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    raw.write_text(control.autograded[f"{ASSIGNMENT}.ipynb"], encoding="utf-8")
    return course


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory, hits):
    """:func:`graded_course` served by a Jupyter server with the formgrader on 127.0.0.1
    (with a token). Yields (base URL, token, course)."""
    root = tmp_path_factory.mktemp("jupyter")
    course = graded_course(root / "course", hits[0])
    token, port = secrets.token_hex(16), _free_port()
    # only the formgrader: the server starts in a few seconds instead of loading JupyterLab
    others = ("jupyterlab", "notebook", "jupyter_lsp", "jupyterlab_jupytext",
              "jupyter_server_terminals", "nbgrader.server_extensions.assignment_list",
              "nbgrader.server_extensions.course_list",
              "nbgrader.server_extensions.validate_assignment")
    (root / "server_config.py").write_text(
        f"c.ServerApp.jpserver_extensions = {dict.fromkeys(others, False)!r}\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--config={root / 'server_config.py'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=course, env=_env(JUPYTER_RUNTIME_DIR=str(root / "runtime")),
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"))  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, \
                    (root / "server.log").read_text()[-4000:]
                time.sleep(0.3)
        yield url, token, course
    finally:
        server.terminate()
        server.wait(timeout=30)


def _submission_id(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        return gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).id


@pytest.mark.parametrize("student", ["mallory", "control"])
def test_formgrader_view_is_inert(chromium, hits, formgrader, student):
    """The instructor opens the submission in the formgrader: nothing of it runs.
    ``mallory``: written by coursekit (sanitized); ``control``: raw, only the config's layer."""
    url, token, course = formgrader
    recorded = hits[1]
    recorded.clear()
    page = f"{url}/formgrader/submissions/{_submission_id(course, student)}/?index=0&token={token}"
    seen = _open(chromium, page, hits[0], settle_s=2.5)
    assert "Student's answer" in seen["text"] and "x < y" in seen["text"], seen["text"][:3000]
    _assert_inert(seen, recorded, f"formgrader ({student})")


def test_sanitized_notebook_keeps_the_honest_text(hits):
    """The honest markdown cell is byte for byte what the student wrote; the hostile ones
    keep their text (fenced), and no hostile output type is left."""
    nb = hostile_notebook(hits[0])
    clean = sanitize_notebook(nb)
    assert clean.cells[0].source == nb.cells[0].source
    assert nb.cells[4].source in clean.cells[4].source
    assert clean.cells[4].source.startswith("*This cell held HTML")
    kinds = {m for out in clean.cells[5].outputs for m in out.get("data", {})}
    assert kinds <= {"text/plain", "text/html"}, kinds
    live = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            live.extend([tag] if tag in ("script", "iframe", "svg", "object", "embed") else [])
            live.extend(f"{tag}[{a}]" for a, _ in attrs if a.startswith("on"))

    for out in clean.cells[5].outputs:
        Tags().feed(out.get("data", {}).get("text/html", ""))
    assert live == [], live

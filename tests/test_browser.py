"""The built book in a real browser: headless Chromium (Debian's ``chromium``) over every page.

The session's single book build (``built_book``, the path of ``_build/html``) is served on
127.0.0.1 and every page is loaded in Chromium through chromedriver. Each page must load with
no console error, every image must have loaded, the math on pages with math must be typeset by
MathJax (served by the book itself), and the navigation must reach every page of the table of
contents. A full-page screenshot of each page is saved in ``benchmarks/results/screenshots/``.

Each page is also read the way a reader sees it, at a laptop width (1280 px) and a phone width
(390 px): its visible text must hold no raw TeX or MyST markup (``$...$``, ``\\frac``,
``{cite}``, ``{glue:text}``, ``{numref}``, a backtick left from a role), and no prose, table or
math may stick out of its column or be cut off unless a scroll container holds it (code blocks
and wide tables scroll, visibly).

Every page runs with the network off (no host but loopback resolves). The chapters' interactive
figures must be drawn from the book's own scripts and respond to each of their controls, moved
from the keyboard; and every page, at both widths, must pass axe-core (``tests/vendor``) with
no violation of impact serious or critical. Before anything is measured, a page must have
settled: its fonts loaded, its math typeset, its interactive figures drawn and its layout still.

Without Chromium the tests skip with the reason; with ``VGCOURSE_REQUIRE_BROWSER=1`` (set by
``.ci/run``) they fail instead, so CI cannot pass without them.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "benchmarks" / "results" / "screenshots"
#: When this module was imported: a screenshot older than this is from an earlier session.
SESSION_START = time.time()
REQUIRE = os.environ.get("VGCOURSE_REQUIRE_BROWSER", "") == "1"
#: The theme's layout at a common laptop width (the sidebar and the article both visible).
WINDOW = (1366, 900)

TOC = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
TOC_PAGES = [TOC["root"]] + [e["file"] for part in TOC["parts"] for e in part["chapters"]]
#: Every HTML page the build writes at its top level (checked by test_every_page_is_visited).
PAGES = ["index", *TOC_PAGES, "genindex", "search"]


def _missing_browser(reason: str):
    message = (
        f"browser test not run: {reason}. Install it with `apt-get install chromium "
        "chromium-driver` (and `pip install -r requirements.txt` for selenium)."
    )
    if REQUIRE:
        pytest.fail(message + " VGCOURSE_REQUIRE_BROWSER=1 requires this test.", pytrace=False)
    pytest.skip(message)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def server(built_book: Path):
    """``built_book`` served over HTTP on loopback, in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _chromium(*flags: str):
    """Headless Chromium driven by chromedriver (no network, no first-run, a fresh profile),
    with ``flags`` added; a generator that yields the driver and then quits it."""
    chromium = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        _missing_browser("Chromium or chromedriver is not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing_browser("the selenium package is not installed")
    profile = tempfile.mkdtemp(prefix="vgcourse-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}",
        # the network is off: no host but loopback resolves, so the book must serve all it needs
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}", *flags,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """Chromium for the page tests and screenshots (scrollbars hidden, as in a screenshot)."""
    yield from _chromium("--hide-scrollbars")


@pytest.fixture(scope="module")
def reader():
    """Chromium as a reader has it: scrollbars shown, so a block that scrolls shows it does."""
    yield from _chromium()


#: Waits, in the page, for what it needs before anything is measured: the document and its
#: images, the web fonts (``document.fonts.ready``: text measured in a fallback font is wider),
#: MathJax's typesetting (``MathJax.startup.promise``) and the interactive figures (the book's
#: script sets ``data-vgcourse-interactive`` on <html> when all of them are drawn); then the
#: layout must hold still for three animation frames in a row. Resolves with what it waited
#: for and how long, or with the reason it gave up.
_SETTLE_JS = r"""
const done = arguments[arguments.length - 1];
const limit = arguments[0] * 1000;
const start = performance.now();
const seen = [];
const until = (test, what) => new Promise((resolve, reject) => {
  const poll = () => {
    if (test()) { seen.push(`${what} after ${Math.round(performance.now() - start)} ms`);
                  return resolve(); }
    if (performance.now() - start > limit) return reject(new Error(`gave up waiting for ${what}`));
    setTimeout(poll, 50);
  };
  poll();
});
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const layout = () => {
  const d = document.documentElement;
  return [d.scrollWidth, d.scrollHeight, document.querySelectorAll("mjx-container").length,
          document.querySelectorAll(".vgcourse-interactive-view svg").length].join(",");
};
const interactive = document.querySelectorAll("div.vgcourse-interactive").length;
until(() => document.readyState === "complete", "the document")
  .then(() => Promise.all(Array.from(document.images).map((img) => img.complete ? null
        : new Promise((r) => { img.onload = img.onerror = r; }))))
  .then(() => document.fonts.ready).then(() => seen.push(`fonts (${document.fonts.status})`))
  .then(() => until(() => !document.querySelector(".math") || (window.MathJax && MathJax.startup
        && MathJax.startup.promise), "MathJax to start"))
  .then(() => window.MathJax && MathJax.startup && MathJax.startup.promise)
  .then(() => until(() => !interactive || document.documentElement.dataset.vgcourseInteractive,
        `${interactive} interactive figures`))
  .then(async () => {
    let last = layout(), still = 0;
    while (still < 3) {
      await frame();
      const now = layout();
      still = now === last ? still + 1 : 0;
      last = now;
      if (performance.now() - start > limit)
        throw new Error(`the layout never held still (${now})`);
    }
    seen.push(`layout still after ${Math.round(performance.now() - start)} ms`);
  })
  .then(() => done({ok: true, seen: seen,
                    interactive: document.documentElement.dataset.vgcourseInteractive || null}),
        (err) => done({ok: false, seen: seen, error: String(err)}));
"""

#: How long a page may take to settle: generous, so that a loaded machine is slow, not failing.
SETTLE_S = 90


def _settle(driver, url: str) -> dict:
    """Wait for ``_SETTLE_JS``; fail, saying what was seen, if the page never settles."""
    state = driver.execute_async_script(_SETTLE_JS, SETTLE_S)
    assert state["ok"], f"{url}: {state['error']}; it had seen: {state['seen']}"
    assert state["interactive"] in (None, "ready"), (
        f"{url}: the interactive figures were not drawn ({state['interactive']}); "
        f"console: {driver.get_log('browser')}"
    )
    return state


def _load(driver, url: str) -> list[dict]:
    """Open ``url``, wait until it has settled (``_settle``); return the console's messages."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    # index.html is a redirect (<meta http-equiv="Refresh">): wait for the page it leads to
    deadline = time.monotonic() + 60
    while driver.execute_script(
        "return document.querySelector('meta[http-equiv=\"Refresh\"]') !== null;"
    ):
        assert time.monotonic() < deadline, f"{url} never finished redirecting"
        time.sleep(0.1)
    _settle(driver, url)
    return driver.get_log("browser")


def _screenshot(driver, name: str) -> Path:
    """A full-page PNG: the viewport is made as tall as the page (at the same width) first."""
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);"
    )
    height = min(int(height), 16_000)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WINDOW[0], "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        # let the theme lay the taller page out (two animation frames and its transitions)
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.scrollTo(0, 0);"
            "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 400)));"
        )
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@pytest.mark.parametrize("page", PAGES)
def test_page_in_chromium(browser, server, built_book: Path, page: str):
    url = urljoin(server, f"{page}.html")
    assert (built_book / f"{page}.html").is_file(), f"the build wrote no {page}.html"
    console = _load(browser, url)
    errors = [m["message"] for m in console if m["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors:\n" + "\n".join(errors)

    broken = browser.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);"
    )
    assert not broken, f"{page}: images that did not load: {broken}"

    math = browser.execute_script(
        "return {math: document.querySelectorAll('.math').length,"
        " typeset: document.querySelectorAll('mjx-container').length,"
        " errors: document.querySelectorAll('mjx-merror').length,"
        " mathjax: Boolean(window.MathJax && MathJax.version)};"
    )
    if math["math"]:
        assert math["mathjax"], f"{page}: has math but MathJax did not load"
        assert math["typeset"] >= math["math"], f"{page}: math not typeset: {math}"
        assert math["errors"] == 0, f"{page}: MathJax reports {math['errors']} TeX errors"

    shot = _screenshot(browser, page)
    assert shot.stat().st_size > 5_000, f"{page}: the screenshot is blank ({shot})"


#: The widths a page is read at: a laptop (the theme shows its sidebars) and a phone.
READING_WIDTHS = {"laptop": 1280, "phone": 390}

#: Visible text that is markup the build should have turned into something else. Code, math
#: already typeset by MathJax, and form fields are not read.
_RAW_MARKUP_JS = r"""
const root = document.querySelector("article.bd-article") || document.body;
const skip = "pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight";
const patterns = [
  [/\$[^$\s][^$]*\$/, "TeX between dollar signs"],
  [/\\(frac|sqrt|mathbb|mathrm|operatorname|partial|sigma|varepsilon|qquad|text|hat|Big|left|right|cdot)(?![a-z])/,
   "a TeX command"],
  [/\\[()\[\]]/, "a TeX math delimiter"],
  [/\{(cite(:[a-z]+)?|glue(:[a-z]+)?|numref|doc|ref|eq|math|term|download|abbr)\}/, "a MyST role"],
  [/`[^`\n]+`?/, "a backtick left from a role or literal"],
  [/^\s*(:{3,}|`{3,})/, "a directive fence"],
];
const found = [];
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const el = node.parentElement;
  if (!el || el.closest(skip)) continue;
  const style = getComputedStyle(el);
  if (style.visibility === "hidden" || style.display === "none" || !el.getClientRects().length)
    continue;
  for (const [re, what] of patterns) {
    const m = node.textContent.match(re);
    if (m) {
      const text = node.textContent;
      const at = Math.max(0, m.index - 40);
      found.push(what + ": ..." + text.slice(at, m.index + m[0].length + 40).trim() + "...");
      break;
    }
  }
}
return found;
"""

#: Where a wide element may scroll instead of fitting its column: code blocks and their
#: outputs and tables at every width, display math too on a phone. Prose never.
SCROLLABLE = {
    "laptop": "pre, div.highlight, .cell_output, .output, .pst-scrollable-table-container, table",
    "phone": "pre, div.highlight, .cell_output, .output, .pst-scrollable-table-container, table, "
             "div.math, mjx-container[display]",
}

#: Elements that stick out of the article's column, or cut their own content off, unless a
#: scroll container (overflow-x auto or scroll) of a kind in ``arguments[0]`` (a CSS selector)
#: holds them inside the column; with ``arguments[1]``, such a container that scrolls must also
#: show its scrollbar.
_CLIPPED_JS = r"""
const scrollable = arguments[0];
const scrollbars = arguments[1];  // classic scrollbars (a laptop); a phone's are overlays
const root = document.querySelector("article.bd-article") || document.body;
const column = root.getBoundingClientRect();
const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
const held = (el) => {
  for (let a = el; a && a !== root.parentElement; a = a.parentElement) {
    const r = a.getBoundingClientRect();
    if (a.matches(scrollable) && scrolls(a) && r.left >= column.left - 1
        && r.right <= column.right + 1) return true;
  }
  return false;
};
const describe = (el, why) => {
  const name = el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
    ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const text = (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 70);
  return `${name} ${why}: "${text}"`;
};
// How far the content of an element that hides its overflow reaches past its box: its child
// elements' boxes (MathJax's glyph boxes overhang their container's scrollWidth harmlessly, so
// scrollWidth is used only for an element that holds text alone).
const cutBy = (el) => {
  if (!el.children.length) return el.scrollWidth - el.clientWidth;
  const r = el.getBoundingClientRect();
  let worst = 0;
  for (const child of el.children) {
    const c = child.getBoundingClientRect();
    if (c.width > 0) worst = Math.max(worst, c.right - r.right, r.left - c.left);
  }
  return worst;
};
const found = [];
for (const el of root.querySelectorAll("mjx-container[display]")) {
  const box = el.getBoundingClientRect();
  const math = el.firstElementChild ? el.firstElementChild.getBoundingClientRect() : box;
  const cut = Math.max(math.right - box.right, box.left - math.left);
  if (cut > 1 && !(el.matches(scrollable) && scrolls(el))) {
    found.push(describe(el, `hides ${Math.round(cut)} px of its equation (it must fit)`));
  }
}
for (const el of root.querySelectorAll("*")) {
  const tag = el.tagName.toLowerCase();
  if (tag !== "mjx-container" && el.closest("mjx-container")) continue;  // MathJax's inner boxes
  if (tag !== "svg" && el.closest("svg")) continue;
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const style = getComputedStyle(el);
  if (style.visibility === "hidden" || style.position === "fixed") continue;
  // (an inline box has no clientWidth of its own; code blocks are checked by being held)
  if (style.display !== "inline" && ["hidden", "clip"].includes(style.overflowX)
      && !el.closest("pre, div.highlight")) {
    const cut = cutBy(el);
    if (cut > 1) {
      found.push(describe(el, `cuts off ${Math.round(cut)} px of its content`));
      continue;
    }
  }
  const out = Math.max(r.right - column.right, column.left - r.left);
  if (out > 1 && !held(el.parentElement)) {
    found.push(describe(el, `sticks out of the column by ${Math.round(out)} px`));
  }
}
if (scrollbars) {
  for (const el of root.querySelectorAll(scrollable)) {
    if (scrolls(el) && el.scrollWidth > el.clientWidth + 1 && el.offsetHeight <= el.clientHeight)
      found.push(describe(el, "scrolls without a visible scrollbar (scrollWidth "
        + `${el.scrollWidth} > clientWidth ${el.clientWidth}, offsetHeight ${el.offsetHeight} `
        + `<= clientHeight ${el.clientHeight}, fonts ${document.fonts.status})`));
  }
}
const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;
if (page > 1) found.push(`the page itself is ${page} px wider than the window`);
return found;
"""


def _at_width(driver, width: int, url: str) -> None:
    """Load ``url`` in a window ``width`` px wide (a phone's metrics below 600 px)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    _load(driver, url)


@pytest.mark.parametrize("name", list(READING_WIDTHS))
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_cleanly(reader, server, page: str, name: str):
    """No raw TeX or MyST markup in the visible text, and nothing clipped, at a laptop's and
    at a phone's width."""
    width = READING_WIDTHS[name]
    try:
        _at_width(reader, width, urljoin(server, f"{page}.html"))
        raw = reader.execute_script(_RAW_MARKUP_JS)
        clipped = reader.execute_script(_CLIPPED_JS, SCROLLABLE[name], name == "laptop")
        if clipped:  # measured mid-layout? Settle again; report what is still wrong then
            _settle(reader, page)
            clipped = reader.execute_script(_CLIPPED_JS, SCROLLABLE[name], name == "laptop")
    finally:
        reader.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    problems = [f"raw markup, {r}" for r in raw] + [f"clipped, {c}" for c in clipped]
    assert not problems, (
        f"{page} at {width} px: {len(problems)} rendering problems:\n" + "\n".join(problems[:25])
    )


#: The chapters with interactive figures (vgcourse.interactive_figure), and how many each has.
INTERACTIVE = {
    "01_sigmoid_gradient_decay": 1,
    "02_multiplicative_chains": 1,
    "04_initialization": 1,
    "07_gradients_through_time": 1,
}

#: What a figure draws: its SVG's marks (their markup), which a control must change.
_DRAWING_JS = """
return Array.from(document.querySelectorAll("div.vgcourse-interactive")).map((fig) => {
  const svg = fig.querySelector(".vgcourse-interactive-view svg");
  return svg ? Array.from(svg.querySelectorAll("g.mark-line path, g.mark-symbol path, "
    + "g.mark-rule line, g.mark-rule path")).map((p) => p.getAttribute("d")
    || [p.getAttribute("x1"), p.getAttribute("y1"), p.getAttribute("x2"),
        p.getAttribute("y2")].join(",")).join("|") : null;
});
"""

#: Resources the page loaded from anywhere but the book's own server.
_FOREIGN_JS = """
const here = location.origin;
return performance.getEntriesByType("resource").map((e) => e.name)
  .filter((n) => !n.startsWith(here) && !n.startsWith("data:"));
"""


def _wait_for_change(driver, index: int, before: str, seconds: float = 30) -> str:
    """The figure's drawing once it differs from ``before`` (or as it is after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        now = driver.execute_script(_DRAWING_JS)[index]
        if now != before or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


@pytest.mark.parametrize("page", list(INTERACTIVE))
def test_interactive_figures_respond(reader, server, page: str):
    """With the network off, every interactive figure is drawn from the book's own scripts, and
    moving each of its controls from the keyboard changes what it draws, with no console error
    or warning."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url = urljoin(server, f"{page}.html")
    console = _load(reader, url)
    figures = reader.find_elements(By.CSS_SELECTOR, "div.vgcourse-interactive")
    assert len(figures) == INTERACTIVE[page], (
        f"{page}: {len(figures)} interactive figures, expected {INTERACTIVE[page]}")
    foreign = reader.execute_script(_FOREIGN_JS)
    assert not foreign, f"{page}: loaded from outside the book: {foreign}"
    for index, figure in enumerate(figures):
        drawing = reader.execute_script(_DRAWING_JS)[index]
        assert drawing, f"{page}: interactive figure {index + 1} drew no lines or points"
        controls = figure.find_elements(By.CSS_SELECTOR, "input, select")
        assert controls, f"{page}: interactive figure {index + 1} has no control"
        for control in controls:
            name = control.find_element(By.XPATH, "./ancestor::label").text.strip()
            before = control.get_attribute("value")
            reader.execute_script("arguments[0].scrollIntoView({block: 'center'});", control)
            control.send_keys(Keys.ARROW_DOWN if control.tag_name == "select"
                              else Keys.ARROW_RIGHT)
            after = control.get_attribute("value")
            assert after != before, (
                f"{page}, figure {index + 1}: the control '{name}' did not move from the "
                f"keyboard (value {before!r})")
            now = _wait_for_change(reader, index, drawing)
            assert now != drawing, (
                f"{page}, figure {index + 1}: moving '{name}' from {before} to {after} left the "
                f"drawing as it was ({len(drawing)} characters of SVG paths)")
            drawing = now
    console += reader.get_log("browser")
    problems = [m["message"] for m in console if m["level"] in ("SEVERE", "WARNING")]
    assert not problems, f"{page}: console errors or warnings:\n" + "\n".join(problems)


AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
#: The impacts that fail the test (axe's scale: minor, moderate, serious, critical).
AXE_FAILING = ("serious", "critical")


@pytest.mark.parametrize("name", list(READING_WIDTHS))
@pytest.mark.parametrize("page", PAGES)
def test_page_passes_axe(reader, server, page: str, name: str):
    """axe-core (served from tests/vendor, run in the page) finds no violation of impact serious
    or critical, at a laptop's and at a phone's width."""
    width = READING_WIDTHS[name]
    try:
        _at_width(reader, width, urljoin(server, f"{page}.html"))
        reader.execute_script(AXE.read_text(encoding="utf-8"))
        result = reader.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            "  .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact,"
            "    help: v.help, nodes: v.nodes.map((n) => n.target.join(' ') + ': '"
            "      + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 200))}))),"
            "        (err) => done({error: String(err)}));"
        )
    finally:
        reader.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not isinstance(result, dict), f"{page}: axe-core failed to run: {result['error']}"
    failing = [v for v in result if v["impact"] in AXE_FAILING]
    report = [f"{v['impact']} {v['id']} ({v['help']}), {len(v['nodes'])} elements, e.g. "
              + "; ".join(v["nodes"][:3]) for v in failing]
    assert not failing, f"{page} at {width} px: axe-core violations:\n" + "\n".join(report)


def _page_of(href: str) -> str:
    return Path(urlparse(href).path).stem


def test_sidebar_lists_every_page(browser, server):
    """Every page's navigation sidebar links every page of the table of contents."""
    for page in TOC_PAGES:
        _load(browser, urljoin(server, f"{page}.html"))
        hrefs = browser.execute_script(
            "return Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference'))"
            ".map(a => a.href);"
        )
        linked = {_page_of(h) for h in hrefs if h.startswith(server)}
        missing = [p for p in TOC_PAGES if p not in linked and p != page]
        assert not missing, f"{page}: the sidebar does not link {missing}"


def test_next_buttons_walk_through_the_whole_book(browser, server):
    """From the landing page, following "Next" visits every toc page, in the toc's order."""
    _load(browser, server)  # index.html redirects to the root page
    visited = [_page_of(browser.current_url)]
    while len(visited) <= len(TOC_PAGES):
        nxt = browser.execute_script(
            "const a = document.querySelector('a.right-next'); return a ? a.href : null;"
        )
        if nxt is None:
            break
        _load(browser, nxt)
        visited.append(_page_of(browser.current_url))
    assert visited == TOC_PAGES


def test_every_page_is_visited(built_book: Path):
    """The pages above are all the book's pages (no page escapes the browser test)."""
    written = sorted(p.stem for p in built_book.glob("*.html"))
    assert written == sorted(PAGES)


def test_every_page_has_a_screenshot(browser, capsys):
    """Runs after the page tests: each page's screenshot was written by this session (the
    folder is kept between runs, so an older file proves nothing) and is a PNG; says where
    they are."""
    missing = [p for p in PAGES if not (SCREENSHOTS / f"{p}.png").is_file()]
    assert not missing, f"no screenshot of {missing} in {SCREENSHOTS}"
    stale = [p for p in PAGES if (SCREENSHOTS / f"{p}.png").stat().st_mtime < SESSION_START]
    assert not stale, f"screenshots of {stale} were not written by this test session"
    not_png = [p for p in PAGES
               if (SCREENSHOTS / f"{p}.png").read_bytes()[:8] != b"\x89PNG\r\n\x1a\n"]
    assert not not_png, f"screenshots of {not_png} are not PNG files"
    with capsys.disabled():
        print(f"\nbrowser test: {len(PAGES)} page screenshots in {SCREENSHOTS}")

"""The built book in a real browser: headless Chromium (Debian's ``chromium``) over every page.

The session's single book build (``built_book``, the path of ``_build/html``) is served on
127.0.0.1 and every page is loaded in Chromium through chromedriver. Each page must load with
no console error, every image must have loaded, the math on pages with math must be typeset by
MathJax (served by the book itself), and the navigation must reach every page of the table of
contents. A full-page screenshot of each page is saved in ``benchmarks/results/screenshots/``.

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


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by chromedriver (no network, no first-run, a fresh profile)."""
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
        "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _load(driver, url: str) -> list[dict]:
    """Open ``url``, wait for it and its images and math; return the console's messages."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    # index.html is a redirect (<meta http-equiv="Refresh">): wait for the page it leads to
    deadline = time.monotonic() + 60
    while driver.execute_script(
        "return document.querySelector('meta[http-equiv=\"Refresh\"]') !== null;"
    ):
        assert time.monotonic() < deadline, f"{url} never finished redirecting"
        time.sleep(0.1)
    driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const ready = () => document.readyState === "complete";
        const wait = (resolve) => ready() ? resolve() : setTimeout(() => wait(resolve), 50);
        new Promise(wait)
          .then(() => Promise.all(Array.from(document.images).map(img => img.complete ? null
                : new Promise(r => { img.onload = img.onerror = r; }))))
          .then(() => (window.MathJax && MathJax.startup && MathJax.startup.promise)
                ? MathJax.startup.promise : null)
          .then(() => done(true), (err) => done(String(err)));
        """
    )
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
    """Runs after the page tests: each page's screenshot is there; says where they are."""
    missing = [p for p in PAGES if not (SCREENSHOTS / f"{p}.png").is_file()]
    assert not missing, f"no screenshot of {missing} in {SCREENSHOTS}"
    with capsys.disabled():
        print(f"\nbrowser test: {len(PAGES)} page screenshots in {SCREENSHOTS}")

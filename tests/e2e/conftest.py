"""Browser journeys: the real app on a loopback port, its worker, and Debian's Chromium driven by Playwright.

Fixtures (all function-scoped unless noted):

  live_app        the app built from `app_config` (same settings as the `app` fixture, but its own instance:
                  no app context is pushed in the test thread, so it never clashes with `app`)
  live_server     serves live_app on http://127.0.0.1:<free port> (werkzeug, threaded) and runs the background
                  worker (`hrdnet.worker.run_forever(0.2, stop)`) in a second thread, as `make run` does;
                  yields the base URL. SITE_URL is set to it, so links in e-mails point at the live server.
                  Anything logged at ERROR by the app, the server or the worker fails the test at teardown.
  live_mailbox    live_mailbox(to="a@example.com") waits (10 s by default) for a message the worker wrote to
                  MAIL_DIR and returns it as an EmailMessage
  browser         (session) headless Chromium from /usr/bin/chromium; fails, never skips, when it is missing
  page            a fresh browser context (base_url = live_server, ko-KR, 1280x900) and page. Console errors
                  (CSP violations included), uncaught page errors, failed requests, requests to any other
                  origin, static assets answering >= 400 and any 5xx fail the test at teardown;
                  page_problems.ignore(regex) allows an expected one.

  processor       (session) a localstripe process on loopback (the payment processor's stand-in, Stripe.js
                  included); a module takes it with `app_config` overridden by stripe_settings(processor)

Helpers: shot(page, name) saves a full-page PNG as tests/e2e/artifacts/<test>/<nn>-<name>.png and checks the
page's heading and body text were drawn with the Pretendard GOV web font; settle(page) waits for the page's
`load` event and its web fonts (before measuring layout; never `networkidle`, which waits for nothing here).
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = E2E_DIR / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls Google on start; this machine has no network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
WEB_FONT = "Pretendard GOV"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# -- the live site -----------------------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    """Collects ERROR records from any thread while the live server runs."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def live_app(app_config):
    from hrdnet import create_app

    return create_app(app_config)


@pytest.fixture
def live_server(live_app):
    from hrdnet.extensions import db
    from hrdnet.worker import run_forever

    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    live_app.config["SITE_URL"] = base_url  # e-mailed links lead to this server

    def work():
        with live_app.app_context():
            run_forever(0.2, stop)

    stop = threading.Event()
    server_thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="e2e-server", daemon=True
    )
    worker_thread = threading.Thread(target=work, name="e2e-worker", daemon=True)
    server_thread.start()
    worker_thread.start()
    try:
        yield base_url
    finally:
        stop.set()
        worker_thread.join(timeout=15)
        server.shutdown()
        server_thread.join(timeout=15)
        server.server_close()
        with live_app.app_context():
            db.session.remove()
            db.engine.dispose()
        logging.getLogger().removeHandler(errors)
    assert not worker_thread.is_alive(), "the worker thread did not stop"
    assert not server_thread.is_alive(), "the server thread did not stop"
    if errors.records:
        pytest.fail(
            "the live app logged errors:\n"
            + "\n".join(
                f"  {r.name}: {r.getMessage()}"
                + (f"\n{logging.Formatter().formatException(r.exc_info)}" if r.exc_info else "")
                for r in errors.records
            ),
            pytrace=False,
        )


@pytest.fixture
def live_mailbox(live_server, app_config):
    """live_mailbox(to=...) -> the newest message to that address, waiting for the worker to deliver it."""
    folder = Path(app_config["MAIL_DIR"])

    def wait_for(*, to: str, timeout: float = 10.0) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout
        while True:
            files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
            messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
            matching = [m for m in messages if m["To"] == to]
            if matching:
                return matching[-1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no e-mail to {to} in {folder} after {timeout:.0f} s "
                    f"(the worker writes them; {len(messages)} other message(s) there)"
                )
            time.sleep(0.1)

    return wait_for


# -- the payment processor ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def processor():
    try:
        import localstripe  # noqa: F401
    except ImportError as error:
        pytest.skip(f"localstripe cannot be imported ({error})")
    from tests.support.localstripe import running_localstripe

    with running_localstripe(stripe_compat=True) as base:
        yield base


def stripe_settings(processor: str) -> dict:
    """The app settings that pay through the localstripe process at `processor` (its Stripe.js included)."""
    from tests.support.localstripe import TEST_PUBLISHABLE_KEY, TEST_SECRET_KEY

    return {
        "PAYMENT_BACKEND": "stripe",
        "STRIPE_API_BASE": processor,
        "STRIPE_SECRET_KEY": TEST_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": TEST_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": "whsec_e2e",
        "STRIPE_JS_URL": f"{processor}/js.stripe.com/v3/",
    }


# -- the browser -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is required: apt-get install chromium; make test installs it "
            f"({CHROMIUM} is missing; never `playwright install`)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageProblems:
    """What went wrong in the browser during a test; reported at teardown."""

    origin: str
    found: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def ignore(self, pattern: str) -> None:
        """Allow problems matching a regular expression (e.g. the console error of an expected 400)."""
        self.allowed.append(re.compile(pattern))

    def add(self, problem: str) -> None:
        self.found.append(problem)

    def unexpected(self) -> list[str]:
        return [p for p in self.found if not any(a.search(p) for a in self.allowed)]


def _watch(page, problems: PageProblems) -> None:
    origin = problems.origin

    def on_console(message):
        if message.type == "error":
            location = message.location or {}
            problems.add(
                f"console error: {message.text} ({location.get('url', '?')}:{location.get('lineNumber', '?')})"
            )

    def on_request(request):
        url = request.url
        if not (url == origin or url.startswith(origin + "/") or url.startswith(("data:", "blob:", "about:"))):
            problems.add(f"request to another origin: {request.method} {url}")

    def on_request_failed(request):
        # Leaving a page while its static files still load makes Chromium abort them: the browser's doing,
        # not the site's (a static file the server refuses shows up in on_response as 4xx instead).
        if request.failure == "net::ERR_ABORTED" and request.url.startswith(origin + "/static/"):
            return
        problems.add(f"request failed: {request.method} {request.url}: {request.failure}")

    def on_response(response):
        path = response.url[len(origin) :] if response.url.startswith(origin) else response.url
        if response.status >= 500 or (response.status >= 400 and path.startswith("/static/")):
            problems.add(f"HTTP {response.status} for {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.add(f"uncaught page error: {error}"))
    page.on("request", on_request)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)


@pytest.fixture
def page_problems(live_server):
    return PageProblems(origin=live_server)


@pytest.fixture
def page(browser, live_server, page_problems, request):
    context = browser.new_context(
        base_url=live_server,
        viewport=DESKTOP,
        locale="ko-KR",
        timezone_id="Asia/Seoul",
        color_scheme="light",
        reduced_motion="reduce",
    )
    context.set_default_timeout(10_000)
    context.on("page", lambda new_page: _watch(new_page, page_problems))
    tab = context.new_page()
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")  # test_x[sqlite] -> test_x-sqlite
    shutil.rmtree(folder, ignore_errors=True)
    _shots[id(context)] = _Shots(folder)
    try:
        yield tab
    finally:
        _shots.pop(id(context), None)
        context.close()
    problems = page_problems.unexpected()
    if problems:
        pytest.fail("the browser reported problems:\n" + "\n".join(f"  {p}" for p in problems), pytrace=False)


# -- screenshots -------------------------------------------------------------------------------------


@dataclass
class _Shots:
    folder: Path
    taken: int = 0


_shots: dict[int, _Shots] = {}


FONT_FRAMES = 60  # about a second of frames at most


def fonts_used(page, selector: str) -> dict[str, int]:
    """Font family -> glyph count actually drawn for the text directly inside the first match (via CDP)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        document = cdp.send("DOM.getDocument", {"depth": 0})
        node = cdp.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": selector})
        if not node["nodeId"]:
            return {}
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        return {f["familyName"]: f["glyphCount"] for f in fonts}
    finally:
        cdp.detach()


def wait_for_web_fonts(page) -> None:
    """Load every face the page declares, then wait until text is laid out with them.

    `document.fonts.ready` alone resolves at once when a face has not started loading yet (faces load lazily,
    when text first needs them), so under load a heading could still be drawn with the fallback font.
    """
    page.evaluate("() => Promise.all([...document.fonts].map((face) => face.load())).then(() => document.fonts.ready)")


def settle(page) -> None:
    """Wait until the current page is complete: its `load` event (stylesheets, scripts, images) and its web fonts.

    Layout measured before then (widths, bounding boxes, screenshots) can change once a font arrives: a failure
    by chance under load. Explicit conditions, not `networkidle`: that waits a further 500 ms of network silence
    on every page, and these pages fetch nothing once loaded (the autocomplete asks only when typed into).
    """
    page.wait_for_load_state("load")
    wait_for_web_fonts(page)


def assert_web_font(page, selectors=("main h1", ".site-footer__note")) -> None:
    """Korean text of these elements is drawn with Pretendard GOV only (no fallback font for any glyph)."""
    wait_for_web_fonts(page)
    for selector in selectors:
        used = fonts_used(page, selector)
        # A face that has just loaded is used from the next layout on: retry over a bounded number of frames,
        # as expect() retries, instead of judging the frame drawn before it (a failure by chance under load).
        for _ in range(FONT_FRAMES):
            if not used or set(used) == {WEB_FONT}:
                break
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            used = fonts_used(page, selector)
        if used:
            assert set(used) == {WEB_FONT}, f"{selector} on {page.url} drawn with {used}, expected only {WEB_FONT}"


def shot(page, name: str, *, check_font: bool = True) -> Path:
    """Save a full-page screenshot as artifacts/<test>/<nn>-<name>.png, numbered in the order taken."""
    state = _shots[id(page.context)]
    if check_font:
        assert_web_font(page)
    else:
        wait_for_web_fonts(page)
    state.taken += 1
    state.folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^\w.-]+", "-", name)
    path = state.folder / f"{state.taken:02d}-{slug}.png"
    # From the top: KRDS's header sticks to the viewport once scrolled and would be drawn mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path

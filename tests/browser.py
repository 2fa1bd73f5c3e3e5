"""Browser tests' fixtures: headless Debian Chromium (scripts/ensure-browser installs it)
driven by Playwright, with a log of every request the page made and screenshots for the
README.

    def test_console(browser_page, endpoint):
        browser_page.page.goto(f"{endpoint.url}/console/")
        browser_page.screenshot("console-clusters")       # console-clusters.png
        assert browser_page.outside_hosts() == []          # nothing left 127.0.0.1

Screenshots go to the test's tmp_path, and to the README's docs/screenshots/ only with
HARNESS_SCREENSHOTS=1 (so `make test` leaves the committed images alone). HARNESS_CHROMIUM
names another Chromium binary than Debian's /usr/bin/chromium.

Requests to any host but the loopback are logged and then aborted, so a page that would
load something from the internet fails its test instead of reaching the internet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("HARNESS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Schemes that never leave the page (no host to check).
_LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}


def screenshots_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: docs/screenshots/ with HARNESS_SCREENSHOTS=1 (to
    refresh the README's), else under the test's own tmp_path."""
    if os.environ.get("HARNESS_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return tmp_path / "screenshots"


def is_loopback(url: str) -> bool:
    """True for a URL that stays on this machine (127.0.0.1, or no network at all)."""
    parts = urlsplit(url)
    return parts.scheme in _LOCAL_SCHEMES or (parts.hostname or "") in LOOPBACK


@dataclass
class BrowserPage:
    """A headless Chromium page, every request URL it (and any page it opened) made, in
    order, and a screenshot helper."""

    page: object  # playwright.sync_api.Page
    requests: list[str] = field(default_factory=list)
    screenshots: Path = SCREENSHOTS  # the fixture gives screenshots_dir(tmp_path)

    def outside_hosts(self) -> list[str]:
        """The requests made to a host outside 127.0.0.1 (empty when the page kept to the
        loopback)."""
        return [url for url in self.requests if not is_loopback(url)]

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Write the page as it is now to NAME.png in `screenshots`."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


# module scope, not session: while Playwright's sync API is open it runs an asyncio loop in
# the main thread, and every later test calling asyncio.run() would fail
@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, launched headless once per test module through Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found; remedy: run scripts/ensure-browser "
                    "(make test and make integration run it)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium, tmp_path) -> BrowserPage:
    """A fresh headless page (its own context: no cookies or storage from another test)
    whose every request is logged; requests to hosts outside 127.0.0.1 are aborted; its
    screenshots go where screenshots_dir says."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    logged = BrowserPage(page=page, screenshots=screenshots_dir(tmp_path))
    # The context sees the requests of every page it holds (a link opened in a new tab
    # too), including those its service and web workers make; WebSockets are not requests.
    context.on("request", lambda request: logged.requests.append(request.url))
    context.on("page", lambda new: new.on(
        "websocket", lambda ws: logged.requests.append(ws.url)))
    page.on("websocket", lambda ws: logged.requests.append(ws.url))
    context.route(lambda url: not is_loopback(url), lambda route: route.abort())
    try:
        yield logged
    finally:
        context.close()

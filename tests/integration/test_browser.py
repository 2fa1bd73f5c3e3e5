"""The browser tests' fixture (tests/browser.py) drives real headless Chromium, and its
request log holds every request a page makes: the log the console's "no host outside
127.0.0.1" assertion relies on."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.integration

OUTSIDE = "http://example.invalid/tracker.png"
PAGES = {
    "/": ("text/html", f"""<!doctype html><html><head>
<link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>
<body><h1>local page</h1><img src="/logo.svg"><img src="{OUTSIDE}">
<iframe src="/frame.html"></iframe><p id="status">loading</p></body></html>"""),
    "/style.css": ("text/css", "h1 { color: teal; }"),
    "/app.js": ("application/javascript", """
window.addEventListener("load", async () => {
  const state = await (await fetch("/api/state.json")).json();
  document.getElementById("status").textContent = state.status;
});"""),
    "/logo.svg": ("image/svg+xml",
                  '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'),
    "/frame.html": ("text/html", "<p>inner</p>"),
    "/api/state.json": ("application/json", '{"status": "WAITING"}'),
}


@pytest.fixture
def local_site():
    """A tiny site on 127.0.0.1 that records every path it served."""
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            served.append(self.path)
            content_type, body = PAGES.get(self.path, ("text/plain", "not found"))
            self.send_response(200 if self.path in PAGES else 404)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_request_log_holds_every_request_the_page_made(browser_page, local_site, tmp_path):
    base, served = local_site
    page = browser_page.page
    page.goto(f"{base}/")
    # the script's fetch ran: the page shows what the JSON said
    page.wait_for_function("document.getElementById('status').textContent === 'WAITING'")
    assert page.locator("h1").inner_text() == "local page"

    # every request the server answered is in the browser's log, and nothing else local
    local = [url for url in browser_page.requests if url.startswith(base)]
    assert sorted(local) == sorted(f"{base}{path}" for path in served)
    assert set(served) >= set(PAGES)  # the page, its css, script, image, frame and fetch
    # the outside image is logged, named by outside_hosts(), and was never fetched
    assert browser_page.outside_hosts() == [OUTSIDE]

    browser_page.screenshots = tmp_path
    shot = browser_page.screenshot("local-page")
    assert shot == tmp_path / "local-page.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

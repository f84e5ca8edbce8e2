"""A real browser: a page instrumented with the OpenTelemetry web SDK (bundled with esbuild
from web/) is loaded in headless Chromium from a static server on another origin; its
documentLoad spans and an in-page answer reach the receiver through CORS and meet on the
session id."""

from __future__ import annotations

import functools
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.browser import launch, require_browser
from tests.connectors.receive.conftest import query

WEB = Path(__file__).parent / "web"
ESBUILD = WEB / "node_modules" / ".bin" / "esbuild"
PAGE = """<!doctype html><html><head><title>checkout</title>
<script>window.PARALLAX_TEST = {endpoint: "%s", token: "pt", sessionId: "browser-sess-1"};
</script><script src="bundle.js"></script></head><body><h1>Checkout</h1></body></html>"""


@pytest.fixture
def site(tmp_path: Path):
    """(folder, origin): a static server for the bundled page on its own loopback port."""
    require_browser()
    if not ESBUILD.exists():
        pytest.skip("browser test: needs the test page's npm packages "
                    "(`npm ci --prefix tests/connectors/receive/web`)")
    root = tmp_path / "site"
    root.mkdir()
    subprocess.run([str(ESBUILD), str(WEB / "index.js"), "--bundle", "--format=iife",
                    f"--outfile={root / 'bundle.js'}", "--log-level=error"],
                   check=True, cwd=WEB, timeout=60)
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_browser_spans_and_answer_meet_on_the_session(serve, site, db_path):
    from playwright.sync_api import sync_playwright

    root, origin = site
    with serve(token="pt", allowed_origins=(origin,)) as (url, receiver):
        (root / "checkout.html").write_text(PAGE % url)
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page()
                page.goto(f"{origin}/checkout.html")
                page.wait_for_function("window.__parallax_done", timeout=20_000)
                done = page.evaluate("window.__parallax_done")
            finally:
                browser.close()
        assert done["feedback"]["status"] == 200, done
        assert receiver.stats.spans_accepted >= 1
        other = httpx.options(f"{url}/v1/traces", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers
    pages = query(db_path, "SELECT session_id, route, load_ms FROM exposure_pages")
    assert [(s, r) for s, r, _ in pages] == [("browser-sess-1", "/checkout.html")]
    assert pages[0][2] > 0
    joined = query(db_path, "SELECT f.score, f.is_poor, p.route FROM feedback f "
                   "JOIN exposure_pages p USING (session_id)")
    assert joined == [(2.0, True, "/checkout.html")]
    spans = query(db_path, "SELECT DISTINCT service, session_id FROM spans")
    assert spans == [("shop-web", "browser-sess-1")]


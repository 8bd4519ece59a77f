"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright.

One browser per test module, one fresh context per test. Every request that does not go to the
local server is aborted and recorded, and every console error and Content-Security-Policy
violation is recorded; tests assert that all are empty (``Watch.assert_clean``). Screenshots go
to build/screenshots/.

Chromium is installed by ``scripts/setup test`` (CI runs it); when it is missing the tests fail
with that instruction rather than skip, so a green run always means the pages were seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright
from web_support import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
# The flags this machine needs (python.md): no sandbox as root, no GPU, and no background
# connections to Google's hosts, which the closed network would refuse.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


# Records every Content-Security-Policy violation of the page (Chromium also logs them).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


@dataclass
class Watch:
    """What a page did that it should not: requests off this machine, console errors, CSP
    violations (the server's policy allows only what the pages use: web/security.py)."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tab: Page | None = None

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"
        violations = self.tab.evaluate("window.__cspViolations") if self.tab else []
        assert violations == [], f"Content-Security-Policy violations: {violations}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `scripts/setup test` (as root it installs Debian's "
            "chromium) to run the browser tests",
            pytrace=False,
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser, real_live: LiveServer) -> Iterator[tuple[Page, Watch]]:
    watch = Watch()
    context = browser.new_context(base_url=real_live.url, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)

    def guard(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            watch.outside.append(url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watch.errors.append(f"{message.text} ({message.location.get('url', '')})")

    context.route("**/*", guard)
    context.add_init_script(CSP_WATCH)
    tab = context.new_page()
    watch.tab = tab
    tab.on("console", console)
    tab.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    yield tab, watch
    context.close()


def shot(tab: Page, name: str) -> None:
    """A full-page screenshot in build/screenshots/<name>.png."""
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

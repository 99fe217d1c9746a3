"""Browser fixtures: Debian's Chromium driven by Playwright against a real Lex server.

Playwright's own browser download cannot run here, so the tests launch the system Chromium (`make
test` installs it with apt-get when it is missing and it may: as root or with passwordless sudo;
elsewhere these tests are skipped with a note, except under `CI=true`). Screenshots of each state
the tests reach are written to `test-artifacts/page/` (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.support.app_server import fixed_clock, isolated_settings
from tests.support.live_server import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1100, "height": 800}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "page"

ServerFactory = Callable[..., AbstractContextManager[str]]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """The screenshot folder, emptied once per test run so it only holds this run's pictures."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module; each test gets its own context (fresh storage)."""
    if not CHROMIUM.exists():
        missing = (
            f"{CHROMIUM} is missing, so the browser tests cannot run: install Debian's chromium "
            "(`sudo apt-get install chromium`; `make test` does it when it may)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(missing)  # CI must never pass by skipping the page tests
        pytest.skip(missing)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop-sized page in a fresh browser context; page errors fail the test."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def lex_server(tmp_path: Path) -> ServerFactory:
    """Starts Lex on the offline model with its own database (a context manager of its URL).

    The clock is the API tests' fixed Tuesday, so "tomorrow" is 2026-11-25 in every test.
    """

    def start(**overrides: Any) -> AbstractContextManager[str]:
        return serve(create_app(isolated_settings(tmp_path, **overrides), clock=fixed_clock))

    return start

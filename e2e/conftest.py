"""Playwright end-to-end tests against Django's live server, with a real task worker thread."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest

# Playwright runs an event loop in this thread; Django's ORM calls from the test body are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium_path() -> str | None:
    for candidate in (os.environ.get("PLAYWRIGHT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # Playwright's own browser build


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = _chromium_path()
    args = {**browser_type_launch_args}
    if executable:
        args["executable_path"] = executable
    return args


@pytest.fixture(autouse=True)
def _e2e_defaults(page, live_server, settings):
    page.set_default_timeout(10_000)
    settings.THUMBNAIL_SIZE = 128


@pytest.fixture
def task_worker(transactional_db):
    """A real django-tasks database worker, in a thread of this process, sharing the test database."""
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["default"],
        interval=0.1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="e2e-worker",
        excluded_queue_names=[],
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield worker
    worker.running = False
    thread.join(timeout=5)


@pytest.fixture
def signed_in(page, live_server, transactional_db):
    """A page logged in as a fresh user (through the real login form)."""
    from studio.tests.factories import UserFactory

    user = UserFactory(email="e2e@example.com")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/studio/characters/")
    return user


# Console errors that are no fault: Chrome's line for every 4xx answer (the studio answers bad input with a
# 4xx on purpose), and htmx's for a request it aborted itself (hx-sync replaced it, or the page moved on).
_EXPECTED_CONSOLE_ERROR = re.compile(
    r"Failed to load resource: the server responded with a status of 4\d\d|^htmx:(sendAbort|afterRequest), "
)


@pytest.fixture(autouse=True)
def page_problems(page, live_server):
    """Fail the test on any Content-Security-Policy violation, JavaScript error or console error.

    Chrome logs a CSP violation as a console error; the init script reports it too (directive and blocked
    URL), in case a page catches nothing. Only the studio's own pages are judged (not a login provider's).
    A test that expects a problem may inspect and clear the list."""
    problems: list[str] = []
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI); });"
    )

    def on_console(message) -> None:
        if not page.url.startswith(live_server.url):
            return
        if message.type == "error" and not _EXPECTED_CONSOLE_ERROR.search(message.text):
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield problems
    assert problems == [], "the browser reported problems:\n" + "\n".join(problems)

"""Every main page, at 1280 and 390 px, light and dark: no sideways scroll on a phone, no console error, and
no serious or critical axe-core violation (axe-core is vendored in e2e/vendor, injected by the test)."""

from __future__ import annotations

import pytest

from studio.tests.ux_pages import AXE_RUN, AXE_SCRIPT, BLOCKING_IMPACTS, OVERFLOW, seed_ux_demo

pytestmark = pytest.mark.e2e


def _session_cookie(live_server, email: str) -> dict:
    """The demo user's session cookie, made server-side (the login form has its own flow tests)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": live_server.url}


def _check_pages(browser, live_server, demo, cookie: dict, width: int, scheme: str) -> list[str]:
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    # axe is served as if from the site itself: the Content-Security-Policy allows scripts from 'self' only,
    # and stays in force for the pages under test (an inline copy would be blocked).
    context.route(
        f"{live_server.url}/__axe.min.js",
        lambda route: route.fulfill(path=str(AXE_SCRIPT), content_type="application/javascript"),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    problems: list[str] = []
    signed_in = False
    for entry in sorted(demo.pages, key=lambda entry: entry.signed_in):  # the signed-out pages first
        if entry.signed_in and not signed_in:
            context.add_cookies([cookie])
            signed_in = True
        errors.clear()
        response = page.goto(live_server.url + entry.path)
        where = f"{width} px {scheme}, {entry.name}"
        if response.status != entry.status:
            problems.append(f"{where}: HTTP {response.status}, not {entry.status}")
            continue
        if page.locator("html").get_attribute("data-bs-theme") != scheme:
            problems.append(f"{where}: the theme does not follow the system's {scheme} scheme")
        if width <= 400 and (overflow := page.evaluate(OVERFLOW)) > 0:
            problems.append(f"{where}: {overflow} px wider than the screen")
        page.add_script_tag(url=f"{live_server.url}/__axe.min.js")
        problems.extend(
            f"{where}: axe {violation['impact']} {violation['id']} ({violation['help']}) "
            f"x{violation['count']} at {violation['targets']}"
            for violation in page.evaluate(AXE_RUN)
            if violation["impact"] in BLOCKING_IMPACTS
        )
        # Chrome logs an error page's own status as a console error: expected there, and only there.
        expected = f"the server responded with a status of {entry.status}"
        problems.extend(
            f"{where}: console error: {text}"
            for text in errors
            if entry.status == 200 or expected not in text
        )
    context.close()
    return problems


def test_it_shows_every_main_page_without_overflow_console_errors_or_serious_axe_violations(
    browser, live_server, transactional_db
):
    demo = seed_ux_demo()
    cookie = _session_cookie(live_server, demo.email)
    problems = [
        problem
        for width in (1280, 390)
        for scheme in ("light", "dark")
        for problem in _check_pages(browser, live_server, demo, cookie, width, scheme)
    ]
    assert not problems, "\n".join(problems)

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_theme_follows_the_system_until_the_user_picks_one_and_remembers_it(page, live_server):
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/")
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "dark")  # auto: as the system
    page.emulate_media(color_scheme="light")
    expect(html).to_have_attribute("data-bs-theme", "light")  # and it follows a change live

    page.get_by_role("button", name="Theme: auto").click()
    page.get_by_role("button", name="Dark").click()
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.reload()
    expect(html).to_have_attribute("data-bs-theme", "dark")  # remembered over the light system
    expect(page.get_by_role("button", name="Theme: dark")).to_be_visible()

    page.get_by_role("button", name="Theme: dark").click()
    page.get_by_role("button", name="Auto (as the system)").click()
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.reload()
    expect(html).to_have_attribute("data-bs-theme", "light")


@pytest.mark.parametrize("width", [1280, 390])
def test_toasts_sit_below_the_navbar_errors_stay_and_a_later_success_replaces_them(
    page, live_server, signed_in, width
):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/studio/generate/")
    page.get_by_role("button", name="Generate", exact=True).click()  # no prompt written
    error = page.locator("#toasts .toast-error")
    expect(error).to_contain_text("Some prompts need attention")
    navbar = page.locator(".app-navbar").bounding_box()
    assert error.bounding_box()["y"] >= navbar["y"] + navbar["height"], "the toast covers the navbar"
    expect(error).to_have_attribute("data-bs-autohide", "false")

    page.get_by_label("Prompt 1", exact=True).fill("a lighthouse at dusk")
    page.get_by_role("button", name="Generate", exact=True).click()
    success = page.locator("#toasts .toast-success")
    expect(success).to_contain_text("1 prompt queued")
    expect(error).to_have_count(0)  # replaced, not stacked
    expect(success).to_have_count(0, timeout=9_000)  # a success fades by itself


def test_an_expired_htmx_form_says_to_reload_in_its_toast(page, live_server, signed_in, page_problems):
    page.goto(f"{live_server.url}/studio/generate/")
    page.context.clear_cookies(name="csrftoken")  # as when the session behind the open page has changed
    page.get_by_label("Prompt 1", exact=True).fill("a lighthouse at dusk")
    page.get_by_role("button", name="Generate", exact=True).click()
    error = page.locator("#toasts .toast-error")
    expect(error).to_contain_text("Your session expired or the form was open too long")
    expect(error).to_contain_text("Reload the page and try again.")
    assert all("403" in problem or "responseError" in problem for problem in page_problems)
    page_problems.clear()  # the refused request is the point of this test

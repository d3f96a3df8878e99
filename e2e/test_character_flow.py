from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_new_user_signs_up_creates_a_character_and_gets_a_portrait(page, live_server, task_worker):
    page.goto(live_server.url)
    page.get_by_role("link", name="Create a free account").click()
    page.get_by_label("Email").fill("writer@example.com")
    page.locator("#id_password1").fill("a-long-pass-phrase-9")
    page.locator("#id_password2").fill("a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign Up").click()

    page.goto(f"{live_server.url}/studio/characters/")
    expect(page.get_by_text("No characters yet")).to_be_visible()
    page.get_by_role("link", name="Create your first character").click()

    page.get_by_label("Name").fill("Wren Ashdown")
    page.get_by_label("Hair style").select_option("long")
    page.get_by_label("Hair colour").select_option("black")
    prompt = page.locator("#preview-prompt")
    expect(prompt).to_contain_text("black hair")
    sketch_before = page.locator("#preview-sketch").get_attribute("src")

    page.get_by_label("Hair colour").select_option("red")
    expect(prompt).to_contain_text("red hair")
    expect(prompt).not_to_contain_text("black hair")
    expect(page.locator("#preview-sketch")).not_to_have_attribute("src", sketch_before)

    page.get_by_role("button", name="Save character").click()
    expect(page.get_by_role("heading", name=re.compile("Wren Ashdown"))).to_be_visible()

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Generate portrait").click()
    card = page.locator(".portrait-card-col").first
    expect(card).to_have_attribute("data-status", "succeeded", timeout=20_000)
    expect(card.locator("img.portrait-thumb")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the portrait appeared without a page reload"

    page.locator("#user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Create a free account")).to_be_visible()


def test_a_user_editing_past_the_preview_limit_is_told_when_to_try_again(
    page, live_server, signed_in, settings, page_problems
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "preview": 1}
    page.goto(f"{live_server.url}/studio/characters/new/")
    prompt = page.locator("#preview-prompt")
    page.get_by_label("Hair colour").select_option("black")
    expect(prompt).to_contain_text("black hair")
    page.get_by_label("Hair colour").select_option("red")
    # The server's 429 says which limit and when; the toast shows it and the preview stays as it was.
    expect(page.locator("#toasts")).to_contain_text("Too many previews: the limit is 1 a minute.")
    expect(prompt).to_contain_text("black hair")
    assert all("429" in problem or "responseError" in problem for problem in page_problems)
    page_problems.clear()  # the refused request is the point of this test

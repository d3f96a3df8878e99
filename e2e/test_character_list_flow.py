from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_user_scrolls_sorts_and_searches_their_characters(page, live_server, signed_in):
    from studio.tests.factories import CharacterFactory

    for number in range(30):
        CharacterFactory(owner=signed_in, name=f"Hero {number:02}")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/studio/characters/?sort=name")
    page.evaluate("window.__sameDocument = true")
    cards = page.locator("#character-grid > .col[id^=character-]")
    expect(cards).to_have_count(24)
    expect(cards.first).to_contain_text("Hero 00")

    # Infinite scroll: the rest once each, appended without a reload.
    for _ in range(10):
        if page.locator("#character-end").count():
            break
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(150)
    expect(cards).to_have_count(30)
    expect(page.locator("#character-end")).to_contain_text("That's all of them.")
    assert len(set(cards.evaluate_all("cards => cards.map(c => c.id)"))) == 30

    # Sorting swaps the results and the URL says so.
    page.get_by_label("Sort by").select_option("updated")
    expect(page).to_have_url(re.compile(r"sort=updated"))
    expect(cards.first).to_contain_text("Hero 29")
    assert page.evaluate("window.__sameDocument === true")
    assert errors == []


def test_changing_images_keeps_the_seed_being_typed(page, live_server, signed_in):
    from studio.tests.factories import CharacterFactory

    character = CharacterFactory(owner=signed_in, name="Orla")
    page.goto(f"{live_server.url}{character.get_absolute_url()}")
    page.get_by_label("Seed").fill("4")
    page.get_by_label("Images").fill("3")
    page.get_by_label("Images").dispatch_event("change")
    page.get_by_label("Seed").press_sequentially("2")
    expect(page.locator("#cost-estimate")).to_contain_text("3 images")
    expect(page.get_by_label("Seed")).to_have_value("42")
    page.get_by_label("Provider").select_option("local")
    expect(page.get_by_label("Seed")).to_have_value("42")
    expect(page.get_by_label("Images")).to_have_value("3")

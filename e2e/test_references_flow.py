from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def painted_character(signed_in, settings):
    """A character with one painted portrait (small, so the flow paints quickly)."""
    from studio.portraits.generation import queue_character_portrait
    from studio.portraits.jobs import run_portrait_job
    from studio.tests.factories import CharacterFactory

    settings.PORTRAIT_SIZE = 256
    character = CharacterFactory(owner=signed_in, name="Captain Isolde Marrow")
    portrait = queue_character_portrait(character)
    run_portrait_job(portrait.pk)
    return character, portrait


def test_a_portrait_becomes_the_face_reference_of_the_next_one(
    page, live_server, task_worker, painted_character
):
    character, first = painted_character
    page.goto(f"{live_server.url}{character.get_absolute_url()}")
    expect(page.locator("#no-references")).to_be_visible()
    page.get_by_role("button", name=f"Use portrait {first.pk} as a face reference").click()
    strip = page.locator("#reference-strip")
    expect(strip.locator(".reference-item")).to_have_count(1)
    expect(strip).to_contain_text(f"Portrait {first.pk}")
    expect(page.locator("#references-note")).to_have_text(
        re.compile("Local painter uses one reference: the first face reference.")
    )

    page.get_by_role("button", name="Generate portrait").click()
    newest = page.locator(".portrait-card-col").first
    expect(newest).not_to_have_attribute("id", f"portrait-{first.pk}")
    expect(newest).to_have_attribute("data-status", "succeeded", timeout=20_000)
    newest.locator("img.portrait-thumb").click()
    lineage = page.locator(".portrait-lineage")
    expect(lineage).to_contain_text("Made from")
    expect(lineage.get_by_role("link", name=f"Portrait {first.pk}")).to_be_visible()
    expect(lineage.locator(".badge")).to_have_text("face")


def test_a_character_sheet_is_painted_and_downloaded_as_one_png(
    page, live_server, task_worker, painted_character
):
    character, _first = painted_character
    page.goto(f"{live_server.url}{character.get_absolute_url()}")
    page.get_by_role("button", name="Make a character sheet").click()
    cards = page.locator("#portrait-grid .portrait-card-col")
    expect(cards).to_have_count(8)
    expect(page.locator('#portrait-grid .portrait-card-col[data-status="succeeded"]')).to_have_count(
        8, timeout=40_000
    )
    page.reload()
    grid = page.locator(".sheet-grid")
    expect(grid.locator("img")).to_have_count(7)
    for label in (
        "Front view",
        "Three-quarter view",
        "Profile view",
        "Back view",
        "Neutral",
        "Smiling",
        "Angry",
    ):
        expect(grid.get_by_text(label, exact=True)).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download sheet").click()
    download = download_info.value
    assert download.suggested_filename == "captain-isolde-marrow-sheet.png"
    with open(download.path(), "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"

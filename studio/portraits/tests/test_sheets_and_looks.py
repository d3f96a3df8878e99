from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from PIL import Image

from studio.portraits.generation import queue_character_portrait
from studio.portraits.jobs import _request_for, run_portrait_job
from studio.portraits.models import Batch, Portrait
from studio.portraits.providers.local import LocalProvider
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def character(user):
    return CharacterFactory(owner=user, name="Captain Isolde Marrow")


@pytest.fixture
def small_portraits(settings):
    settings.PORTRAIT_SIZE = 128


def _make_sheet(client, character) -> list[Portrait]:
    response = client.post(reverse("studio:character_sheet", args=[character.pk]))
    assert response.status_code == 302
    return list(Portrait.objects.filter(character=character, batch__kind=Batch.Kind.SHEET).order_by("id"))


def test_it_queues_a_sheet_of_four_views_and_three_expressions_as_one_batch(
    logged_in_client, character, small_portraits
):
    portraits = _make_sheet(logged_in_client, character)
    assert len({portrait.batch_id for portrait in portraits}) == 1
    shots = [portrait.parameters["shot"] for portrait in portraits]
    assert shots == [
        {"view": "front", "expression": "neutral"},
        {"view": "three_quarter", "expression": "neutral"},
        {"view": "profile", "expression": "neutral"},
        {"view": "back", "expression": "neutral"},
        {"expression": "neutral"},
        {"expression": "smiling"},
        {"expression": "angry"},
    ]
    # The painter gets the view as an option; the words are in every provider's prompt.
    assert _request_for(portraits[2]).options["view"] == "profile"
    assert "side profile view" in portraits[2].prompt
    assert Batch.objects.get().title == "Character sheet of Captain Isolde Marrow"


def test_other_providers_get_the_view_in_the_prompt_not_as_an_option(logged_in_client, character):
    portraits = _make_sheet(logged_in_client, character)
    Portrait.objects.filter(pk=portraits[6].pk).update(provider="openai")
    angry = Portrait.objects.get(pk=portraits[6].pk)
    assert "expression" not in _request_for(angry).options
    assert "angry expression" in angry.prompt


def test_the_character_page_shows_the_newest_sheet_and_downloads_it_composed(
    logged_in_client, character, small_portraits
):
    assert logged_in_client.get(reverse("studio:character_sheet_png", args=[character.pk])).status_code == 404
    portraits = _make_sheet(logged_in_client, character)
    for portrait in portraits[:-1]:  # the last one is still painting
        run_portrait_job(portrait.pk)
    page = logged_in_client.get(character.get_absolute_url()).text
    assert "Character sheet" in page and "sheet-grid" in page
    for label in (
        "Front view",
        "Three-quarter view",
        "Profile view",
        "Back view",
        "Neutral",
        "Smiling",
        "Angry",
    ):
        assert f'<figcaption class="small text-body-secondary mt-1">{label}</figcaption>' in page
    assert "Painting…" in page or "Queued" in page
    neutral = page.split("sheet-grid", 1)[1].split(">Neutral</figcaption>", 1)[0].rsplit("<figure", 1)[1]
    assert reverse("studio:portrait_detail", args=[portraits[4].pk]) in neutral, "not the neutral front view"
    response = logged_in_client.get(reverse("studio:character_sheet_png", args=[character.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="captain-isolde-marrow-sheet.png"'
    with Image.open(io.BytesIO(response.content)) as sheet:
        assert sheet.size == (1360, 832)  # bounded: 4 x 2 cells of 320 px, a title and labels
        # A painted cell is not the empty placeholder grey; the unpainted one is.
        assert sheet.getpixel((16 + 160, 72 + 160)) != (222, 226, 230)
        assert sheet.getpixel((16 + 2 * 336 + 5, 72 + 372 + 5)) == (222, 226, 230)


def test_the_sheet_download_is_owner_scoped(client, other_user, character):
    client.force_login(other_user)
    assert client.get(reverse("studio:character_sheet_png", args=[character.pk])).status_code == 404
    assert client.post(reverse("studio:character_sheet", args=[character.pk])).status_code == 404


def test_a_portrait_of_an_earlier_version_shows_an_older_look_badge_with_one_click_to_repaint(
    logged_in_client, character, small_portraits
):
    portrait = queue_character_portrait(character)
    run_portrait_job(portrait.pk)
    page = logged_in_client.get(character.get_absolute_url()).text
    assert "older look" not in page
    character.hair_color = "black"
    character.save()
    for url in (
        character.get_absolute_url(),
        portrait.get_absolute_url(),
        reverse("studio:my_gallery"),
        reverse("studio:gallery_portrait", args=[portrait.pk]),
    ):
        assert "older look" in logged_in_client.get(url).text, url
    page = logged_in_client.get(character.get_absolute_url()).text
    assert "Older look: paint the current look of Captain Isolde Marrow" in page
    logged_in_client.post(reverse("studio:portrait_generate", args=[character.pk]))
    newest = Portrait.objects.filter(character=character).order_by("-id").first()
    assert newest.character_version == 2


def _create(client, name="Nadia"):
    data = {"name": name, "gender": "female", "visibility": "private"}
    return client.post(reverse("studio:character_create"), data, follow=True)


def test_saving_a_character_paints_a_portrait_by_default_with_the_free_painter(logged_in_client, user):
    response = _create(logged_in_client)
    assert "A portrait of the new look is queued." in response.text
    character = user.characters.get()
    assert Portrait.objects.filter(character=character).count() == 1
    # A save that does not change the look paints nothing.
    data = {"name": "Nadia", "gender": "female", "visibility": "private", "notes": "quiet"}
    logged_in_client.post(reverse("studio:character_edit", args=[character.pk]), data)
    assert Portrait.objects.filter(character=character).count() == 1
    data["gender"] = "male"
    logged_in_client.post(reverse("studio:character_edit", args=[character.pk]), data)
    assert Portrait.objects.filter(character=character).count() == 2


def test_the_profile_turns_painting_on_save_off(logged_in_client, user):
    page = logged_in_client.get(reverse("account_profile")).text
    assert "Paint a portrait when I save a character" in page and "On" in page and "free" in page
    logged_in_client.post(reverse("account_paint_on_save"), {"paint_on_save": "off"})
    user.refresh_from_db()
    assert user.paint_on_save is False
    _create(logged_in_client)
    assert not Portrait.objects.exists()


def test_a_paid_provider_stays_off_until_turned_on_and_shows_the_cost_per_save(
    logged_in_client, user, settings, monkeypatch
):
    settings.DEFAULT_IMAGE_PROVIDER = "local"
    monkeypatch.setattr(LocalProvider, "estimate_cost", lambda self, *args: Decimal("0.04") * args[-1])
    page = logged_in_client.get(reverse("account_profile")).text
    assert "about $0.040 per save" in page
    assert "Off" in page
    _create(logged_in_client)
    assert not Portrait.objects.exists()
    logged_in_client.post(reverse("account_paint_on_save"), {"paint_on_save": "on"})
    _create(logged_in_client, "Second")
    assert Portrait.objects.count() == 1


def test_painting_on_save_respects_the_daily_cap(logged_in_client, user, settings):
    settings.DAILY_IMAGE_LIMIT = 1
    _create(logged_in_client)
    response = _create(logged_in_client, "Second")
    assert "No portrait was painted on save: That would pass your daily limit of 1 images" in response.text
    assert user.characters.count() == 2 and Portrait.objects.count() == 1


def test_a_bad_choice_on_the_profile_is_a_message_not_an_error(logged_in_client):
    response = logged_in_client.post(
        reverse("account_paint_on_save"), {"paint_on_save": "maybe"}, follow=True
    )
    assert response.status_code == 200 and "Choose on or off." in response.text

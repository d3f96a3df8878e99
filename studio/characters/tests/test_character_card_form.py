"""The collapsed "Character card" section of the character form, the description and the exact age."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.characters.models import Character
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db

BOOK = {
    "name": "Valley lore",
    "entries": [{"keys": ["mist"], "content": "Fog."}, {"keys": ["x"], "content": "Y"}],
}
STORED = {
    "personality": "Dry.\nPatient.",
    "alternate_greetings": ["Hello.", "Two\nlines."],
    "tags": ["lighthouse", "日本語"],
    "character_book": BOOK,
    "extensions": {"chub": {"id": 7}},
    "unknown_future_field": [1, 2],
    "modification_date": 1700000000,
}


def _form(character: Character, **changes: object) -> dict:
    data = {
        **{name: value for name, value in character.attribute_values().items()},
        "name": character.name,
        "visibility": "private",
        "card_personality": "Dry.\r\nPatient.",  # a browser sends textarea lines as CRLF
        "card_alternate_greetings": ["Hello.", "Two\r\nlines.", ""],
        "card_tags": "lighthouse, 日本語",
        "card_creator": "",
        "card_character_version": "",
    }
    return {**data, **changes}


def test_it_shows_the_card_fields_collapsed_with_the_lorebook_read_only(logged_in_client, user):
    character = CharacterFactory(owner=user, card=STORED)
    page = logged_in_client.get(reverse("studio:character_edit", args=[character.pk])).content.decode()

    assert '<details class="card mb-3" id="character-card-section">' in page  # collapsed
    assert "Dry.\nPatient.</textarea>" in page
    assert page.count('name="card_alternate_greetings"') == 3  # two greetings and an empty box
    assert 'value="lighthouse, 日本語"' in page
    assert "Lorebook “Valley lore”: 2 entries" in page


def test_saving_unchanged_card_fields_keeps_the_card_exactly(logged_in_client, user):
    character = CharacterFactory(owner=user, card=STORED)
    response = logged_in_client.post(reverse("studio:character_edit", args=[character.pk]), _form(character))
    assert response.status_code == 302
    character.refresh_from_db()
    assert character.card == STORED


def test_it_edits_the_card_fields_and_keeps_what_the_form_does_not_show(logged_in_client, user):
    character = CharacterFactory(owner=user, card=STORED)
    form = _form(
        character,
        card_scenario="At the lighthouse.",
        card_alternate_greetings=["Hello.", "", "A third one."],
        card_tags="lighthouse",
    )
    logged_in_client.post(reverse("studio:character_edit", args=[character.pk]), form)
    character.refresh_from_db()
    assert character.card["scenario"] == "At the lighthouse."
    assert character.card["alternate_greetings"] == ["Hello.", "A third one."]
    assert character.card["tags"] == ["lighthouse"]
    assert character.card["character_book"] == BOOK and character.card["extensions"] == {"chub": {"id": 7}}
    assert character.card["unknown_future_field"] == [1, 2]
    assert "modification_date" not in character.card  # the export now says when it was edited


def test_a_new_character_gets_only_the_card_fields_that_were_filled(logged_in_client, user):
    logged_in_client.post(
        reverse("studio:character_create"),
        {"name": "Ann", "visibility": "private", "card_first_mes": "Hi!", "card_alternate_greetings": [""]},
    )
    assert Character.objects.get(owner=user).card == {"first_mes": "Hi!"}


def test_the_exact_age_decides_the_range_and_the_prompt(logged_in_client, user):
    response = logged_in_client.post(
        reverse("studio:character_create"),
        {"name": "Mara", "gender": "female", "age": "teen", "age_years": "35", "visibility": "private"},
    )
    assert response.status_code == 302
    mara = Character.objects.get(owner=user)
    assert (mara.age_years, mara.age) == (35, "adult")
    page = logged_in_client.get(mara.get_absolute_url()).content.decode()
    assert "a 35-year-old woman" in page
    assert "35 years (Adult (30-44))" in page


def test_it_refuses_an_implausible_age(logged_in_client, user):
    response = logged_in_client.post(
        reverse("studio:character_create"), {"name": "Mara", "age_years": "400", "visibility": "private"}
    )
    assert response.status_code == 400
    assert not Character.objects.exists()


def test_the_live_preview_uses_the_exact_age(logged_in_client, htmx_headers):
    response = logged_in_client.post(
        reverse("studio:character_preview"), {"gender": "male", "age_years": "80"}, **htmx_headers
    )
    assert "an 80-year-old man" in response.content.decode()


def test_the_description_is_kept_out_of_the_prompt(logged_in_client, user):
    logged_in_client.post(
        reverse("studio:character_create"),
        {"name": "Ann", "description": "A cartographer.", "visibility": "private"},
    )
    ann = Character.objects.get(owner=user)
    assert ann.description == "A cartographer."
    assert (
        "cartographer"
        not in logged_in_client.get(ann.get_absolute_url()).content.decode().split("Prompt")[-1]
    )

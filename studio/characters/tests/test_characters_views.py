from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from studio.characters.models import Character
from studio.portraits.models import Batch, Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

VALID_FORM = {
    "name": "Ada Quill",
    "gender": "female",
    "hair_color": "red",
    "hair_style": "bob",
    "accessories": ["glasses", "scarf"],
    "visibility": "private",
}


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("studio:character_list"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_it_lists_only_my_characters(logged_in_client, user, other_user):
    CharacterFactory(owner=user, name="Mine")
    CharacterFactory(owner=other_user, name="Someone else's")
    response = logged_in_client.get(reverse("studio:character_list"))
    assert "Mine" in response.text
    assert "Someone else" not in response.text


def test_it_shows_an_empty_state_to_a_new_user(logged_in_client):
    response = logged_in_client.get(reverse("studio:character_list"))
    assert "No characters yet" in response.text
    assert "Create your first character" in response.text


def test_it_filters_by_name_and_returns_only_the_results_partial_to_htmx(
    logged_in_client, user, htmx_headers
):
    CharacterFactory(owner=user, name="Marlowe")
    CharacterFactory(owner=user, name="Tess")
    response = logged_in_client.get(
        reverse("studio:character_list"),
        {"q": "marl"},
        HTTP_HX_TARGET="character-results",
        **htmx_headers,
    )
    assert "Marlowe" in response.text
    assert "Tess" not in response.text
    assert "<html" not in response.text


def test_it_says_when_a_search_matches_nothing(logged_in_client, user):
    CharacterFactory(owner=user, name="Marlowe")
    response = logged_in_client.get(reverse("studio:character_list"), {"q": "zzz"})
    assert "No character matches" in response.text


def test_it_creates_a_character_with_its_attributes(logged_in_client, user):
    response = logged_in_client.post(reverse("studio:character_create"), VALID_FORM)
    character = Character.objects.get(owner=user, name="Ada Quill")
    assert response.status_code == 302
    assert response["Location"] == character.get_absolute_url()
    assert character.hair_color == "red"
    assert character.accessories == ["glasses", "scarf"]


def test_it_shows_form_errors_and_keeps_what_was_typed(logged_in_client, user):
    CharacterFactory(owner=user, name="Ada Quill")
    response = logged_in_client.post(
        reverse("studio:character_create"), {**VALID_FORM, "hair_color": "plaid"}
    )
    assert response.status_code == 400
    assert "You already have a character with this name." in response.text
    assert "Select a valid choice" in response.text
    assert 'value="Ada Quill"' in response.text
    assert Character.objects.filter(owner=user).count() == 1


def test_it_allows_the_same_name_for_different_owners(logged_in_client, other_user):
    CharacterFactory(owner=other_user, name="Ada Quill")
    response = logged_in_client.post(reverse("studio:character_create"), VALID_FORM)
    assert response.status_code == 302


def test_it_renders_the_preview_without_saving_when_js_is_off(logged_in_client, user):
    response = logged_in_client.post(reverse("studio:character_create"), {**VALID_FORM, "_preview": "1"})
    assert response.status_code == 200
    assert "with a chin-length red bob" in response.text
    assert not Character.objects.filter(owner=user).exists()


def test_it_previews_the_exact_prompt_and_a_sketch_from_unsaved_data(logged_in_client, htmx_headers):
    response = logged_in_client.post(reverse("studio:character_preview"), VALID_FORM, **htmx_headers)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="preview"' in response.text
    assert "with a chin-length red bob" in response.text
    assert "glasses and a scarf" in response.text
    assert 'src="data:image/png;base64,' in response.text


def test_it_links_the_sticky_bar_to_the_preview_for_phones_without_js(logged_in_client):
    page = logged_in_client.get(reverse("studio:character_create")).text

    bar = page.split('class="d-flex flex-wrap gap-2 sticky-bottom', 1)[1].split("</div>", 1)[0]
    assert 'href="#preview-panel"' in bar and "Preview</a>" in bar
    assert 'id="preview-panel"' in page
    assert 'href="#character-form"' in page.split('id="preview-panel"', 1)[1]  # and back to the form


def test_it_shows_the_portraits_before_the_panels_on_a_phone(logged_in_client, user):
    page = logged_in_client.get(CharacterFactory(owner=user).get_absolute_url()).text

    panels = page.split('aria-labelledby="generator-heading"', 1)[0].rsplit("<div", 1)[1]
    assert "order-last order-lg-first" in panels  # after the portraits below lg, beside them from lg up


def test_it_previews_partial_garbage_without_failing(logged_in_client, htmx_headers):
    response = logged_in_client.post(
        reverse("studio:character_preview"), {"hair_color": "nope", "accessories": ["bogus"]}, **htmx_headers
    )
    assert response.status_code == 200
    assert "nope" not in response.text


def test_it_edits_a_character_and_bumps_its_version(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Ada")
    response = logged_in_client.post(
        reverse("studio:character_edit", args=[character.pk]), {**VALID_FORM, "name": "Ada"}
    )
    assert response.status_code == 302
    character.refresh_from_db()
    assert character.hair_color == "red"
    assert character.version == 2


def test_it_shows_the_character_with_its_prompt_and_portraits_newest_first(logged_in_client, user):
    character = CharacterFactory(owner=user, hair_color="blonde")
    older = PortraitFactory(character=character)
    newer = PortraitFactory(character=character)
    response = logged_in_client.get(character.get_absolute_url())
    assert "blonde hair" in response.text
    assert response.text.index(f'id="portrait-{newer.pk}"') < response.text.index(f'id="portrait-{older.pk}"')


@pytest.mark.parametrize(
    ("route", "method"),
    [
        ("studio:character_detail", "get"),
        ("studio:character_edit", "get"),
        ("studio:character_edit", "post"),
        ("studio:character_delete", "get"),
        ("studio:character_delete", "post"),
        ("studio:portrait_generate", "post"),
    ],
)
def test_it_answers_404_for_another_users_character_on_every_route(
    logged_in_client, other_user, route, method
):
    character = CharacterFactory(owner=other_user)
    response = getattr(logged_in_client, method)(reverse(route, args=[character.pk]), VALID_FORM)
    assert response.status_code == 404
    assert Character.objects.filter(pk=character.pk, name=character.name).exists()


def test_it_asks_before_deleting_with_a_fallback_page(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Doomed")
    response = logged_in_client.get(reverse("studio:character_delete", args=[character.pk]))
    assert "Delete “Doomed”?" in response.text
    assert "<html" in response.text


def test_it_returns_only_the_confirm_partial_to_htmx(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user, name="Doomed")
    response = logged_in_client.get(reverse("studio:character_delete", args=[character.pk]), **htmx_headers)
    assert "Delete “Doomed”?" in response.text
    assert "<html" not in response.text


def test_it_deletes_a_character_with_its_portraits_and_files(logged_in_client, user):
    character = CharacterFactory(owner=user)
    portrait = PortraitFactory(character=character)
    from studio.painter import render_png

    portrait.store_image(render_png({}, seed=1, size=64))
    image_path = portrait.image.path
    response = logged_in_client.post(reverse("studio:character_delete", args=[character.pk]))
    assert response.status_code == 302
    assert not Character.objects.filter(pk=character.pk).exists()
    assert not Portrait.objects.filter(pk=portrait.pk).exists()
    import os

    assert not os.path.exists(image_path)


def test_it_redirects_htmx_deletes_through_the_client(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user)
    response = logged_in_client.post(reverse("studio:character_delete", args=[character.pk]), **htmx_headers)
    assert response["HX-Redirect"] == reverse("studio:character_list")


# --- progress while portraits are painted: one poller for the page ----------------------------------------


@pytest.fixture
def batch_in_flight(user):
    character = CharacterFactory(owner=user, name="Iris Vane")
    batch = Batch.objects.create(owner=user, character=character, kind=Batch.Kind.CHARACTER)
    done = PortraitFactory(character=character, batch=batch, status="succeeded")
    running = PortraitFactory(character=character, batch=batch, status="running")
    queued = PortraitFactory(character=character, batch=batch, status="queued")
    return SimpleNamespace(character=character, batch=batch, done=done, running=running, queued=queued)


def _poll(client, character, *watched: Portrait):
    return client.get(
        character.get_absolute_url(),
        {"active_card": [f"{portrait.pk}:{portrait.status}" for portrait in watched]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="character-activity",
    )


def test_it_shows_the_batch_progress_bar_and_polls_once_for_the_whole_page(logged_in_client, batch_in_flight):
    flight = batch_in_flight
    page = logged_in_client.get(flight.character.get_absolute_url()).text
    bar = page[page.index(f'id="batch-progress-{flight.batch.pk}"') :]
    assert f'aria-label="Batch {flight.batch.pk} progress" aria-valuenow="33"' in bar
    assert 'aria-valuetext="1 painted, 1 painting, 1 queued"' in bar
    assert ">1 painted, 1 painting, 1 queued</span>" in bar
    assert page.count("every 1s") == 1, "one poller for the page, not one per card or per batch"
    activity = page[page.index('id="character-activity"') :]
    assert activity.index("every 1s") < activity.index(">"), "the poller is the activity region"
    assert f'name="active_card" value="{flight.running.pk}:running"' in page
    assert f'name="active_card" value="{flight.queued.pk}:queued"' in page
    assert "15%" not in page and "60%" not in page, "no made-up per-card progress"


def test_the_poller_refreshes_only_the_cards_that_changed(logged_in_client, batch_in_flight):
    flight = batch_in_flight
    Portrait.objects.filter(pk=flight.running.pk).update(status="succeeded")
    response = _poll(logged_in_client, flight.character, flight.running, flight.queued)
    assert response.text.lstrip().startswith('<div id="character-activity"')
    assert "every 1s" in response.text.split(">", 1)[0], "still polling: one job is queued"
    assert "2 painted, 1 queued" in response.text
    assert "jobsChanged" in response["HX-Trigger"], "the badge and the Today line hear of it"
    card = response.text[response.text.index(f'id="portrait-{flight.running.pk}"') :]
    assert card.startswith(f'id="portrait-{flight.running.pk}" data-status="succeeded" hx-swap-oob="true"')
    assert f'id="portrait-{flight.queued.pk}"' not in response.text, "an unchanged card is not sent again"
    assert "<nav" not in response.text, "only the activity region and the changed cards"


def test_the_poller_stops_when_nothing_is_active_and_shows_the_finished_batch(
    logged_in_client, batch_in_flight
):
    flight = batch_in_flight
    Portrait.objects.filter(pk__in=[flight.running.pk, flight.queued.pk]).update(status="succeeded")
    response = _poll(logged_in_client, flight.character, flight.running, flight.queued)
    poller = response.text.split(">", 1)[0]
    assert "every 1s" not in poller and "portraitsChanged from:body delay:50ms" in poller
    assert "3 painted</span>" in response.text
    assert response.text.count('hx-swap-oob="true"') == 2
    assert 'name="active_card"' not in response.text


def test_the_poller_removes_a_card_deleted_meanwhile(logged_in_client, batch_in_flight):
    flight = batch_in_flight
    Portrait.objects.filter(pk=flight.queued.pk).delete()
    response = _poll(logged_in_client, flight.character, flight.queued)
    assert f'<div id="portrait-{flight.queued.pk}" hx-swap-oob="delete"></div>' in response.text


def test_the_poller_ignores_cards_of_another_character(logged_in_client, user, batch_in_flight):
    flight = batch_in_flight
    other = PortraitFactory(character=CharacterFactory(owner=user), status="succeeded")
    response = _poll(logged_in_client, flight.character, Portrait(pk=other.pk, status="queued"))
    assert f'id="portrait-{other.pk}"' not in response.text


def test_a_page_with_nothing_in_flight_does_not_poll(logged_in_client, user):
    character = CharacterFactory(owner=user)
    PortraitFactory(character=character, status="succeeded")
    page = logged_in_client.get(character.get_absolute_url()).text
    assert "every 1s" not in page
    assert 'hx-trigger="portraitsChanged from:body delay:50ms"' in page, "a new portrait wakes the poller"


def test_it_links_the_characters_own_gallery(logged_in_client, user):
    character = CharacterFactory(owner=user)
    PortraitFactory(character=character, status="succeeded")
    page = logged_in_client.get(character.get_absolute_url()).text
    gallery = reverse("studio:character_gallery", args=[character.pk])
    assert f'<a class="btn btn-sm btn-outline-secondary" href="{gallery}">' in page
    assert "Gallery" in page[page.index(f'href="{gallery}"') :][:200]
    assert "See all portraits" not in page, "every portrait is already on the page"


def test_it_says_when_the_page_shows_only_the_newest_portraits(logged_in_client, user):
    character = CharacterFactory(owner=user)
    PortraitFactory.create_batch(49, character=character, status="succeeded")
    page = logged_in_client.get(character.get_absolute_url()).text
    assert page.count('class="col portrait-card-col"') == 48
    gallery = reverse("studio:character_gallery", args=[character.pk])
    assert f'Showing the newest 48. <a href="{gallery}">See all portraits in the gallery</a>' in page


def test_every_page_title_names_the_page_and_the_studio(logged_in_client, user):
    anonymous = Client()
    assert "<title>Welcome · Dali Studio</title>" in anonymous.get(reverse("home")).text
    assert "<title>Log in · Dali Studio</title>" in anonymous.get(reverse("account_login")).text
    character = CharacterFactory(owner=user, name="Captain <Mara>")
    page = logged_in_client.get(reverse("studio:character_detail", args=[character.pk])).text
    assert "<title>Captain &lt;Mara&gt; · Dali Studio</title>" in page, "escaped once, with its separator"


def test_the_preview_measures_the_prompt_against_the_providers_limits(
    logged_in_client, htmx_headers, settings
):
    settings.IMAGE_PROVIDERS = ["local", "huggingface"]  # limits 10,000 and 2,000
    settings.HUGGINGFACE_API_TOKEN = "hf-test"
    short = logged_in_client.post(reverse("studio:character_preview"), VALID_FORM, **htmx_headers)
    assert re.search(r'id="prompt-length">\d+ / 10000 characters', short.text)
    assert "prompt-length-problem" not in short.text
    long = VALID_FORM | {"distinguishing_features": "scar " * 600}
    warned = logged_in_client.post(reverse("studio:character_preview"), long, **htmx_headers)
    assert "Too long for Hugging Face" in warned.text


def test_the_preview_leaves_out_providers_without_their_key(logged_in_client, htmx_headers, settings):
    settings.IMAGE_PROVIDERS = ["local", "openai", "huggingface"]
    settings.OPENAI_API_KEY = settings.HUGGINGFACE_API_TOKEN = ""  # a plain `make run`: the painter only
    long = VALID_FORM | {"distinguishing_features": "scar " * 600}
    response = logged_in_client.post(reverse("studio:character_preview"), long, **htmx_headers)
    assert re.search(r'id="prompt-length">\d+ / 10000 characters', response.text), "not / 32000"
    assert "prompt-length-problem" not in response.text, "not too long for a provider it cannot use"
    assert "Hugging Face" not in response.text


def test_saving_a_character_too_long_for_every_provider_warns(logged_in_client, user, settings):
    settings.IMAGE_PROVIDERS = ["huggingface"]
    settings.HUGGINGFACE_API_TOKEN = "hf-test"
    data = VALID_FORM | {"distinguishing_features": "scar " * 600}
    response = logged_in_client.post(reverse("studio:character_create"), data, follow=True)
    assert Character.objects.filter(owner=user, name="Ada Quill").exists()
    assert "longer than any image provider here takes (at most 2,000)" in response.text
    fine = logged_in_client.post(reverse("studio:character_create"), VALID_FORM | {"name": "Bo"}, follow=True)
    assert "longer than any image provider" not in fine.text
    settings.IMAGE_PROVIDERS = ["huggingface", "openai"]
    settings.OPENAI_API_KEY = ""  # OpenAI (32,000) would take it, but it cannot be used without its key
    keyless = logged_in_client.post(reverse("studio:character_create"), data | {"name": "Cy"}, follow=True)
    assert "longer than any image provider here takes (at most 2,000)" in keyless.text
